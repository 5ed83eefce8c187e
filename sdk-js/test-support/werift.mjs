// A real WebRTC stack for Node, from npm: werift (pure TypeScript: ICE, DTLS, SRTP, RTP), with
// Opus from opusscript (libopus compiled to JavaScript). What the media test injects into the
// SDK as the platform's WebRTC, exactly as platform/react-native.js injects react-native-webrtc:
// `{RTCPeerConnection, mediaDevices, MediaStream}`.
//
// - `NodePeerConnection`: werift's RTCPeerConnection with the RFC 6464 audio-level header
//   extension offered (the server picks talkers by it) and loopback host candidates.
// - `toneMicrophone(hz)`: a `mediaDevices` whose microphone plays a sine tone: every 20 ms an
//   Opus frame of the tone, with its audio level, written to the track the SDK sends.
// - `listen(media)`: decodes what each audio slot of an SDK media session receives.

import OpusScript from 'opusscript';
import { MediaStream, MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket, useAudioLevelIndication, useSdesMid } from 'werift';

const RATE = 48_000;
const FRAME = 960; // 20 ms
const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

export class NodePeerConnection extends RTCPeerConnection {
  constructor(config = {}) {
    super({
      iceServers: config.iceServers ?? [],
      bundlePolicy: config.bundlePolicy ?? 'max-bundle',
      iceAdditionalHostAddresses: ['127.0.0.1'],
      iceUseIpv6: false,
      headerExtensions: { audio: [useSdesMid(), useAudioLevelIndication()] },
    });
  }
}

/** The extmap id the answer gives the audio-level extension, or null. */
function audioLevelId(pc) {
  const m = new RegExp(`a=extmap:(\\d+)(?:/\\w+)? ${AUDIO_LEVEL_URI}`).exec(pc.remoteDescription?.sdp ?? '');
  return m ? Number(m[1]) : null;
}

/**
 * A microphone that plays a tone of `hz` (amplitude 0.3, about −10 dBov) once the SDK sends it.
 * @param {number} hz
 * @returns {{mediaDevices: {getUserMedia(): Promise<MediaStream>}, start(pc: RTCPeerConnection): void, stop(): void, frames: number}}
 */
export function toneMicrophone(hz) {
  const track = new MediaStreamTrack({ kind: 'audio' });
  const encoder = new OpusScript(RATE, 1, OpusScript.Application.AUDIO);
  let timer = null;
  let seq = Math.floor(Math.random() * 0xffff);
  let ts = Math.floor(Math.random() * 0xffffffff);
  let phase = 0;
  const mic = {
    frames: 0,
    mediaDevices: { getUserMedia: async () => new MediaStream([track]) },
    /** Starts the 20 ms frames once the answer (with the extension id) is applied. */
    start(pc) {
      if (timer) return;
      timer = setInterval(() => {
        const id = audioLevelId(pc);
        if (id === null) return;
        const pcm = Buffer.alloc(FRAME * 2);
        for (let i = 0; i < FRAME; i++) {
          pcm.writeInt16LE(Math.round(0.3 * 32767 * Math.sin(phase)), 2 * i);
          phase += (2 * Math.PI * hz) / RATE;
        }
        phase %= 2 * Math.PI;
        const payload = encoder.encode(pcm, FRAME);
        const header = new RtpHeader({
          payloadType: 111,
          sequenceNumber: seq,
          timestamp: ts >>> 0,
          marker: false,
          extension: true,
          extensions: [{ id, payload: Buffer.from([0x80 | 10]) }], // voice, −10 dBov
        });
        seq = (seq + 1) & 0xffff;
        ts = (ts + FRAME) >>> 0;
        track.writeRtp(new RtpPacket(header, payload));
        mic.frames++;
      }, 20);
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      encoder.delete();
    },
  };
  return mic;
}

/**
 * Decodes the audio every slot of `media` (an SDK MediaSession on werift) receives.
 * `take(ms)` collects for `ms` and returns, per slot, the decoded samples (Int16) and the
 * number of packets.
 */
export function listen(media) {
  const decoders = new Map();
  /** @type {Map<number, {packets: number, pcm: number[]}> | null} */
  let sink = null;
  const watched = new Set();
  const watch = (slot, track) => {
    if (watched.has(track)) return;
    watched.add(track);
    track.onReceiveRtp.subscribe((rtp) => {
      if (!sink || rtp.payload.length < 3) return;
      let dec = decoders.get(slot);
      if (!dec) {
        dec = new OpusScript(RATE, 1);
        decoders.set(slot, dec);
      }
      let pcm;
      try {
        pcm = dec.decode(rtp.payload);
      } catch {
        return;
      }
      const entry = sink.get(slot) ?? { packets: 0, pcm: [] };
      entry.packets++;
      for (let i = 0; i + 1 < pcm.length; i += 2) entry.pcm.push(pcm.readInt16LE(i));
      sink.set(slot, entry);
    });
  };
  const hook = () => {
    media.slotTransceivers.forEach((t, slot) => {
      for (const track of t.receiver.tracks) watch(slot, track);
      if (!t.__alcoveWatched) {
        t.__alcoveWatched = true;
        t.onTrack.subscribe((track) => watch(slot, track));
      }
    });
  };
  return {
    async take(ms) {
      hook();
      sink = new Map();
      await new Promise((r) => setTimeout(r, ms));
      const got = sink;
      sink = null;
      return got;
    },
    close() {
      for (const d of decoders.values()) d.delete();
    },
  };
}

/**
 * The share of the signal's energy at `hz` (Goertzel, over the whole buffer): about 1 for a
 * pure tone at `hz`, about 0 for silence or another tone.
 * @param {number[]} samples
 * @param {number} hz
 */
export function toneShare(samples, hz) {
  if (samples.length === 0) return 0;
  const w = (2 * Math.PI * hz) / RATE;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (const x of samples) {
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += x * x;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  if (energy === 0) return 0;
  // A pure tone of N samples gives power = energy * N / 2.
  return Math.min(1, power / (energy * samples.length / 2));
}
