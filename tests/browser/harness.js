// Browser side of the media test. The test opens a page of the Alcove server's own origin and
// adds this file as a module script, so the page loads the real SDK from /sdk/alcove.js.
// Everything the Node side needs is on `window.T`.
//
// What it does in the page:
// * wraps RTCPeerConnection before the SDK creates one, to count every peer connection,
//   createOffer / setLocalDescription / setRemoteDescription call, `negotiationneeded` event and
//   connection-state change;
// * connects with the SDK (which negotiates media once);
// * puts a WebAudio AnalyserNode on every audio slot's receiver track and, every 10 ms, finds
//   the dominant frequency of each slot → which test tone → which clientId, and compares it with
//   the SDK's slot map from `activeTalkersUpdated` (`room.talkers`);
// * streams a screen share or an animated canvas, and reads inbound video stats per slot.

const BAND_HZ = [200, 1300];
/** Peak level (dB, AnalyserNode scale) a slot needs before its peak counts as a tone. */
const MIN_PEAK_DB = -60;
/** How far (Hz) the peak may be from a test tone. */
const TONE_TOLERANCE_HZ = 50;

const T = {
  ready: true,
  /** @type {any} */ room: null,
  /** @type {any} */ sdk: null,
  pcs: /** @type {RTCPeerConnection[]} */ ([]),
  calls: { createOffer: 0, createAnswer: 0, setLocalDescription: 0, setRemoteDescription: 0, restartIce: 0 },
  negotiationNeeded: { beforeAnswer: 0, afterAnswer: 0 },
  answerApplied: false,
  /** [epoch ms, connectionState] for every change */
  connStates: /** @type {[number, string][]} */ ([]),
  iceStates: /** @type {[number, string][]} */ ([]),
  /** Frames the test cares about, as they arrived. */
  log: /** @type {any[]} */ ([]),
  /** tone Hz → clientId */
  toneOwner: /** @type {Record<string, string>} */ ({}),
  tones: /** @type {number[]} */ ([]),
  /** when T.join was called, and the first analyser frame with any audio on any slot */
  joinStartedAt: /** @type {number | null} */ (null),
  firstAudioAt: /** @type {number | null} */ (null),
  /** @type {AudioContext | null} */ ctx: null,
  analysers: /** @type {AnalyserNode[]} */ ([]),
  /** per slot: the tone heard in the latest frame (or null) */
  current: /** @type {(number | null)[]} */ ([]),
  win: newWindow(),
  watchers: new Map(),
  /** per slot: the talker the latest map puts on it, and the different talker it carried before */
  slotCur: /** @type {(string | null)[]} */ ([]),
  slotPrev: /** @type {(string | null)[]} */ ([]),
  canvasTimer: /** @type {any} */ (null),
  sampler: /** @type {any} */ (null),
};
// @ts-ignore
window.T = T;

function now() {
  return performance.timeOrigin + performance.now();
}

function newWindow() {
  return {
    since: now(),
    frames: 0,
    /** tone → frames in which some slot carried it */
    tone: /** @type {Record<string, number>} */ ({}),
    /** tone → slots it was heard on */
    slots: /** @type {Record<string, number[]>} */ ({}),
    /** frames with a peak above the threshold that matched no test tone */
    unknown: 0,
    /** slot detections whose tone's owner is not the clientId `room.talkers` names for the slot */
    mismatches: 0,
    mismatchSamples: /** @type {string[]} */ ([]),
  };
}

// ---- peer-connection tracing (installed before the SDK is imported) -------------------------

const NativePC = window.RTCPeerConnection;
class TracedPeerConnection extends NativePC {
  /** @param {RTCConfiguration} [config] */
  constructor(config) {
    super(config);
    T.pcs.push(this);
    this.addEventListener('negotiationneeded', () => {
      if (T.answerApplied) T.negotiationNeeded.afterAnswer++;
      else T.negotiationNeeded.beforeAnswer++;
    });
    this.addEventListener('connectionstatechange', () => T.connStates.push([now(), this.connectionState]));
    this.addEventListener('iceconnectionstatechange', () => T.iceStates.push([now(), this.iceConnectionState]));
  }
  /** @param {any[]} a */
  createOffer(...a) {
    T.calls.createOffer++;
    // @ts-ignore
    return super.createOffer(...a);
  }
  /** @param {any[]} a */
  createAnswer(...a) {
    T.calls.createAnswer++;
    // @ts-ignore
    return super.createAnswer(...a);
  }
  /** @param {any[]} a */
  setLocalDescription(...a) {
    T.calls.setLocalDescription++;
    // @ts-ignore
    return super.setLocalDescription(...a);
  }
  /** @param {any[]} a */
  async setRemoteDescription(...a) {
    T.calls.setRemoteDescription++;
    // @ts-ignore
    const r = await super.setRemoteDescription(...a);
    T.answerApplied = true;
    return r;
  }
  restartIce() {
    T.calls.restartIce++;
    return super.restartIce();
  }
}
window.RTCPeerConnection = TracedPeerConnection;

// ---- connect ---------------------------------------------------------------------------------

const LOGGED = [
  'activeTalkersUpdated', 'shareStarted', 'shareStopped', 'canvasStarted', 'canvasStopped',
  'connectedBreakoutRoom', 'didDisconnectedBreakoutRoom', 'ackDestroyAllBreakOutSession',
  'breakoutTimer', 'breakoutTimerWarning',
  'monitoredBy', 'audioBroadcast', 'listeningChanged',
];

/**
 * Connects with the SDK and waits until media is negotiated and the peer connection is up.
 * `T.joinStartedAt` → `T.firstAudioAt` is then the fresh-join time (first room-mate heard).
 * @param {string} signalUrl
 * @param {string} token
 * @param {{slotGate?: boolean, simulcast?: boolean}} [opts] `simulcast`: the SDK's camera
 *   simulcast option (left to the SDK's default when absent)
 */
T.join = async (signalUrl, token, opts = {}) => {
  T.sdk = await import('/sdk/alcove.js');
  T.firstAudioAt = null;
  T.joinStartedAt = now();
  const room = await T.sdk.connect(signalUrl, token, {
    // A pure tone must reach the wire as it is: no echo cancellation, noise suppression or AGC.
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    // A deadline, not a measurement: on a machine starved of CPU (five browsers and the
    // server on two loaded cores) an acknowledgement can take longer than the SDK's 10 s.
    timeoutMs: 60_000,
    slotGate: opts.slotGate !== false,
    ...(opts.simulcast === undefined ? {} : { simulcast: opts.simulcast }),
  });
  T.room = room;
  // Every signalling frame this page got, and when the latest came (for diagnostics).
  T.framesIn = 0;
  T.lastFrameAt = null;
  room.on('frame', (/** @type {any} */ f) => {
    T.framesIn++;
    T.lastFrameAt = now();
    T.lastFrameType = f.type;
  });
  room.on('slotAudible', slotAudible);
  for (const type of LOGGED) {
    room.on(type, (/** @type {any} */ f) => {
      T.log.push({
        at: now(), type, room_id: f.room_id ?? null, clientId: f.clientId ?? null,
        talkers: f.talkers ? f.talkers.map((/** @type {any} */ t) => [t.slot, t.clientId]) : undefined,
        result: f.result,
        reason: f.reason,
        location: f.location,
        // Where the SDK says this client is once it applied the frame.
        here: room.location,
        paused: room.paused,
      });
    });
  }
  room.on('activeTalkersUpdated', talkersArrived);
  room.on('connectedBreakoutRoom', moved);
  room.on('didDisconnectedBreakoutRoom', moved);
  await room.startMedia();
  const pc = room.peerConnection;
  if (pc.connectionState !== 'connected') {
    await new Promise((resolve, reject) => {
      // A deadline, not a measurement (as the SDK's `timeoutMs` above): ICE and DTLS of five
      // browsers on two starved cores can take well over ten seconds.
      const timer = setTimeout(() => reject(new Error(`peer connection not connected: ${pc.connectionState}`)), 30_000);
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'connected') {
          clearTimeout(timer);
          resolve(undefined);
        }
      });
    });
  }
  startAnalysers();
  return { clientId: room.clientId, slots: room.media.slotTransceivers.length, mids: room.media.mids };
};

/** @param {Record<string, string>} toneOwner */
T.setTones = (toneOwner) => {
  T.toneOwner = toneOwner;
  T.tones = Object.keys(toneOwner).map(Number);
};

/** Leaves the family (the page stays open for a fresh join). */
T.leave = async () => {
  T.room?.disconnect();
  if (T.sampler) clearInterval(T.sampler);
  T.sampler = null;
  await T.ctx?.close();
  T.ctx = null;
  T.analysers = [];
  T.current = [];
  T.watchers.clear();
  T.pcs.length = 0;
};

// ---- audio analysis --------------------------------------------------------------------------

function startAnalysers() {
  const ctx = new AudioContext();
  T.ctx = ctx;
  T.analysers = [];
  T.current = [];
  const n = T.room.media.slotTransceivers.length;
  for (let i = 0; i < n; i++) {
    const track = T.room.slotTrack(i);
    const src = ctx.createMediaStreamSource(new MediaStream([track]));
    const an = ctx.createAnalyser();
    an.fftSize = 2048;
    an.smoothingTimeConstant = 0;
    src.connect(an);
    T.analysers.push(an);
    T.current.push(null);
  }
  const bins = new Float32Array(T.analysers[0]?.frequencyBinCount ?? 0);
  T.sampler = setInterval(() => sample(bins), 10);
}

/** @param {Float32Array} bins */
function sample(bins) {
  if (!T.ctx || T.ctx.state !== 'running') {
    void T.ctx?.resume();
    return;
  }
  const t = now();
  const binHz = T.ctx.sampleRate / (2 * bins.length);
  const lo = Math.floor(BAND_HZ[0] / binHz);
  const hi = Math.ceil(BAND_HZ[1] / binHz);
  const w = T.win;
  w.frames++;
  const heardThisFrame = new Set();
  T.analysers.forEach((an, slot) => {
    an.getFloatFrequencyData(bins);
    let best = lo;
    for (let b = lo; b <= hi; b++) if (bins[b] > bins[best]) best = b;
    let tone = null;
    if (bins[best] >= MIN_PEAK_DB) {
      if (T.firstAudioAt === null) T.firstAudioAt = t;
      // Parabolic interpolation around the peak bin.
      const a = bins[best - 1], b = bins[best], c = bins[best + 1];
      const d = a - 2 * b + c;
      const off = d !== 0 ? (0.5 * (a - c)) / d : 0;
      const hz = (best + off) * binHz;
      tone = T.tones.find((f) => Math.abs(f - hz) <= TONE_TOLERANCE_HZ) ?? null;
      if (tone === null) w.unknown++;
    }
    T.current[slot] = tone;
    if (tone === null) return;
    heardThisFrame.add(tone);
    (w.slots[tone] ??= []).includes(slot) || w.slots[tone].push(slot);
    const mapped = T.room.talkers.get(slot)?.clientId ?? null;
    if (mapped !== T.toneOwner[tone]) {
      w.mismatches++;
      if (w.mismatchSamples.length < 5) w.mismatchSamples.push(`slot ${slot}: heard ${tone} Hz (${T.toneOwner[tone]}), map says ${mapped}`);
    }
  });
  for (const tone of heardThisFrame) w.tone[tone] = (w.tone[tone] ?? 0) + 1;
  for (const [, wt] of T.watchers) {
    // Old-room tones: the last frame (after the request) in which any slot still carried one.
    if (wt.old.length && T.current.some((tone) => tone !== null && wt.old.includes(tone))) {
      wt.lastOld = t;
      wt.oldFrames++;
    }
    if (wt.first !== null) {
      // How many more frames carried one of the tones (a blip or a stream).
      if (T.current.some((tone) => tone !== null && wt.tones.includes(tone))) wt.hits++;
      continue;
    }
    T.current.forEach((tone, slot) => {
      if (wt.first === null && tone !== null && wt.tones.includes(tone)) {
        wt.first = t;
        wt.tone = tone;
        wt.slot = slot;
        wt.hits = 1;
        // What the SDK said then: the slot map and whether the slot's gate was open.
        wt.mapAtFirst = [...T.room.talkers.entries()].map(([s, u]) => [s, u.clientId]);
        wt.openAtFirst = T.room.media.slotOpen(slot);
        wt.prevAtFirst = T.slotPrev[slot] ?? null;
      }
    });
  }
}

/** Starts a new listening window. */
T.resetWindow = () => {
  T.win = newWindow();
};

/** The current window, plus the slot map as the SDK holds it now. */
T.readWindow = () => ({
  ...T.win,
  ms: now() - T.win.since,
  talkers: [...T.room.talkers.entries()].map(([slot, u]) => [slot, u.clientId]),
  talkersRoomId: T.room.talkersRoomId,
  location: T.room.location,
  ctxState: T.ctx?.state ?? null,
});

/**
 * Arms a watcher: records the first frame (after now) in which any of `tones` is heard, and the
 * last frame in which any of `old` (the old room's tones) still is.
 * @param {string} key
 * @param {number[]} tones
 * @param {number[]} [old]
 */
T.arm = async (key, tones, old = []) => {
  const jb = await Promise.all(T.room.media.slotTransceivers.map((/** @type {RTCRtpTransceiver} */ tr) => jitterBuffer(tr)));
  T.watchers.set(key, {
    jb,
    tones,
    armedAt: now(),
    // A tone already sounding when the watcher is armed would make the measurement worthless.
    presentAtArm: T.current.some((tone) => tone !== null && tones.includes(tone)),
    mapAt: null, // first activeTalkersUpdated that puts one of the tones' owners on a slot
    first: null, // first analyser frame in which a slot carries one of the tones
    tone: null,
    slot: null,
    old,
    lastOld: null, // last analyser frame in which a slot carried an old-room tone
    oldFrames: 0,
    hits: 0, // frames carrying one of the tones since the first
    mapAtFirst: null,
    openAtFirst: null,
    prevAtFirst: null, // the talker the slot carried before its current one
    moveAt: null, // this page's own connectedBreakoutRoom / didDisconnectedBreakoutRoom
    dropAt: null, // first activeTalkersUpdated naming none of the old room's talkers
    audibleAt: null, // the SDK's first slotAudible for one of the tones' owners
    audible: null,
  });
};
/** @param {any} e a slotAudible detail */
function slotAudible(e) {
  const t = now();
  for (const [, wt] of T.watchers) {
    if (wt.audibleAt !== null) continue;
    const owners = wt.tones.map((/** @type {number} */ tone) => T.toneOwner[tone]);
    if (owners.includes(e.clientId)) {
      wt.audibleAt = t;
      wt.audible = e;
    }
  }
}
/** This page's own move notification (or ack): the SDK's gate closes on it. */
function moved() {
  const t = now();
  for (const [, wt] of T.watchers) if (wt.moveAt === null) wt.moveAt = t;
}
/** @param {any} f an activeTalkersUpdated frame */
function talkersArrived(f) {
  const t = now();
  // Each slot's history: who it carried before its current talker (an empty spell in between
  // does not count).
  const n = Math.max(T.slotCur.length, ...f.talkers.map((/** @type {any} */ x) => x.slot + 1));
  for (let i = 0; i < n; i++) {
    const cur = f.talkers.find((/** @type {any} */ x) => x.slot === i)?.clientId ?? null;
    const was = T.slotCur[i] ?? null;
    if (cur !== was && cur !== null && was !== null) T.slotPrev[i] = was;
    if (cur !== was && cur === null && was !== null) T.slotPrev[i] = was;
    T.slotCur[i] = cur;
  }
  for (const [, wt] of T.watchers) {
    // The first map without any old-room talker: the SDK's gate closes their slots on it.
    const oldOwners = wt.old.map((/** @type {number} */ tone) => T.toneOwner[tone]);
    if (wt.dropAt === null && oldOwners.length && !f.talkers.some((/** @type {any} */ x) => oldOwners.includes(x.clientId))) wt.dropAt = t;
    if (wt.mapAt !== null) continue;
    const owners = wt.tones.map((/** @type {number} */ tone) => T.toneOwner[tone]);
    if (f.talkers.some((/** @type {any} */ x) => owners.includes(x.clientId))) wt.mapAt = t;
  }
}
/** @param {string} key */
T.watcher = (key) => {
  const w = T.watchers.get(key);
  return w ? { ...w, jb: undefined } : null;
};

/** @param {RTCRtpTransceiver} tr */
async function jitterBuffer(tr) {
  const out = { delay: 0, target: 0, emitted: 0 };
  (await tr.receiver.getStats()).forEach((/** @type {any} */ s) => {
    if (s.type === 'inbound-rtp') {
      out.delay += s.jitterBufferDelay ?? 0;
      out.target += s.jitterBufferTargetDelay ?? 0;
      out.emitted += s.jitterBufferEmittedCount ?? 0;
    }
  });
  return out;
}

/**
 * The mean jitter-buffer delay and target delay (ms) of the audio the detection slot played
 * between the watcher's arming and now: how much of a move's latency is the receiver's buffer.
 * @param {string} key
 */
T.jitterSince = async (key) => {
  const w = T.watchers.get(key);
  if (!w || w.slot === null) return null;
  const before = w.jb[w.slot];
  const after = await jitterBuffer(T.room.media.slotTransceivers[w.slot]);
  const n = after.emitted - before.emitted;
  if (n <= 0) return null;
  return { delayMs: Math.round((1000 * (after.delay - before.delay)) / n), targetMs: Math.round((1000 * (after.target - before.target)) / n) };
};

/**
 * Each slot's jitter-buffer delay over the next `ms`: (Δ jitterBufferDelay / Δ
 * jitterBufferEmittedCount) and the target delay, for the slots that played audio meanwhile,
 * with the talker the SDK maps there.
 * @param {number} ms
 */
T.jitterWindow = async (ms) => {
  const trs = T.room.media.slotTransceivers;
  const before = await Promise.all(trs.map((/** @type {RTCRtpTransceiver} */ tr) => jitterBuffer(tr)));
  await new Promise((r) => setTimeout(r, ms));
  const after = await Promise.all(trs.map((/** @type {RTCRtpTransceiver} */ tr) => jitterBuffer(tr)));
  return after.map((a, slot) => {
    const n = a.emitted - before[slot].emitted;
    return {
      slot,
      talker: T.room.talkers.get(slot)?.clientId ?? null,
      emitted: n,
      delayMs: n > 0 ? Math.round((1000 * (a.delay - before[slot].delay)) / n) : null,
      targetMs: n > 0 ? Math.round((1000 * (a.target - before[slot].target)) / n) : null,
    };
  });
};

// ---- break-out operations, timed in the page ------------------------------------------------

/** @param {() => Promise<any>} fn */
async function timed(fn) {
  const t0 = now();
  try {
    const ack = await fn();
    return { t0, tAck: now(), ok: true, ack: ack && ack.type ? { type: ack.type, result: ack.result, msg: ack.msg, room_id: ack.room_id } : null };
  } catch (e) {
    return { t0, tAck: now(), ok: false, error: String(e && /** @type {any} */ (e).message || e), result: /** @type {any} */ (e)?.result };
  }
}

/** @param {any} def */
T.createBreakOutRoom = (def) => timed(() => T.room.createBreakOutRoom(def));
/** @param {string[]} clients @param {string} roomId */
T.forceInvite = (clients, roomId) => timed(() => T.room.inviteToBreakOutRoom({ clients, room_id: roomId, force_join: true }));
/** @param {string[]} clients @param {string} roomId */
T.invite = (clients, roomId) => timed(() => T.room.inviteToBreakOutRoom({ clients, room_id: roomId, force_join: false }));
/** @param {string} roomId */
T.joinBreakout = (roomId) => timed(async () => {
  const br = await T.room.joinBreakoutRoom({ role: 'participant', room_id: roomId }, { audio: true, video: false });
  return br.joinAck;
});
T.disconnectBreakout = () => {
  const br = T.room.breakoutRoom;
  if (!br) return Promise.resolve({ ok: false, error: 'not in a break-out room' });
  return timed(() => br.disconnect());
};
T.destroyAll = () => timed(() => T.room.destroyAllBreakOutSession());
/** @param {string} clientId @param {string} roomId */
T.moveTo = (clientId, roomId) => timed(() => T.room.moveToBreakoutRoom(clientId, roomId));
/** @param {string} roomId @param {number} seconds @param {number} warning */
T.setTimer = (roomId, seconds, warning) => timed(() => T.room.setBreakoutDuration(roomId, seconds, { warning }));
/** Listen-in (issue 11). @param {string} roomId @param {"mixed" | "paused"} [parent] */
T.listenTo = (roomId, parent) => timed(() => T.room.listenTo(roomId, { parent }));
T.stopListening = () => timed(() => T.room.stopListening());
/** @param {string} roomId @param {boolean} on @param {boolean} [parent] */
T.talkTo = (roomId, on, parent) => timed(() => T.room.talkTo(roomId, on, { parent }));
/** @param {string[]} [rooms] */
T.startBroadcast = (rooms) => timed(() => T.room.startBroadcast(rooms));
T.stopBroadcast = () => timed(() => T.room.stopBroadcast());
/** The SDK's listen-in state of this client. */
T.listenState = () => ({
  listening: T.room.listening,
  talking: T.room.talking,
  broadcasting: T.room.broadcasting,
  monitoredBy: [...T.room.monitoredBy.values()],
  audioBroadcasts: [...T.room.audioBroadcasts.values()],
});
/**
 * Records, from now, every location this client's SDK reports on a state change (`"parent"`
 * or a break-out room id), to show a one-step move never passes through the parent.
 */
T.trackLocation = () => {
  /** @type {string[]} */
  const seen = [];
  T.room.on('statechange', () => {
    const b = T.room.location?.breakout;
    const here = b ? b : 'parent';
    if (seen[seen.length - 1] !== here) seen.push(here);
  });
  T.locations = seen;
};

// ---- screen share, canvas, video stats -------------------------------------------------------

T.shareScreen = () => timed(() => T.room.shareScreen({ video: { width: 640, height: 360, frameRate: 10 }, audio: false }));

T.shareCanvas = () => timed(() => {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 180;
  document.body.appendChild(canvas);
  const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  let frame = 0;
  const draw = () => {
    frame++;
    g.fillStyle = `hsl(${(frame * 7) % 360} 70% 50%)`;
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = '#fff';
    g.fillRect((frame * 5) % canvas.width, 60, 40, 40);
    g.font = '20px sans-serif';
    g.fillText(`canvas ${frame}`, 10, 30);
  };
  draw();
  T.canvasTimer = setInterval(draw, 50);
  return T.room.shareCanvas(canvas, 10);
});

/** @param {RTCRtpTransceiver | null} tr */
async function inbound(tr) {
  const out = { framesDecoded: 0, bytesReceived: 0, packetsReceived: 0, frameWidth: 0, frameHeight: 0, present: false };
  if (!tr) return out;
  const stats = await tr.receiver.getStats();
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp') {
      out.present = true;
      out.framesDecoded += s.framesDecoded ?? 0;
      out.bytesReceived += s.bytesReceived ?? 0;
      out.packetsReceived += s.packetsReceived ?? 0;
      out.frameWidth = Math.max(out.frameWidth, s.frameWidth ?? 0);
      out.frameHeight = Math.max(out.frameHeight, s.frameHeight ?? 0);
    }
  });
  return out;
}

/** Inbound video on this page's share slot and canvas slot (summed over every SSRC seen). */
T.videoStats = async () => ({
  share: await inbound(T.room.media.shareSlotTransceiver),
  canvas: await inbound(T.room.media.canvasSlotTransceiver),
});

/** The SDK's own view of this client's sharing. */
T.localSharing = () => ({
  localShareTrack: T.room.media.localShareTrack?.readyState ?? null,
  localCanvasTrack: T.room.media.localCanvasTrack?.readyState ?? null,
  shareSender: T.room.media.shareTransceiver?.sender.track?.readyState ?? null,
  canvasSender: T.room.media.canvasTransceiver?.sender.track?.readyState ?? null,
  share: T.room.share,
  canvas: T.room.canvas,
});

/** Everything about the one peer connection, for the end-of-test checks. */
T.pcReport = () => ({
  pcCount: T.pcs.length,
  sameAsSdk: T.pcs[0] === T.room.peerConnection,
  connectionState: T.room.peerConnection?.connectionState ?? null,
  signalingState: T.room.peerConnection?.signalingState ?? null,
  calls: T.calls,
  negotiationNeeded: T.negotiationNeeded,
  connStates: T.connStates,
  iceStates: T.iceStates,
  mediaState: T.room.media.state.state,
});

// ---- camera video (protocol 4; video.test.mjs) ------------------------------------------------

/**
 * Publishes Chromium's fake camera (a moving pattern) at `width`×`height`.
 * @param {number} width @param {number} height
 */
T.publishCamera = (width, height) => timed(async () => {
  const track = await T.room.publishCamera({ width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: 15 } });
  T.cameraSettings = track.getSettings();
  return null;
});

/** Stops publishing the camera. */
T.unpublishCamera = () => timed(async () => {
  await T.room.unpublishCamera();
  return null;
});

/** The video slot map (slot → clientId) and each video slot's inbound counters. */
T.videoSlots = async () => ({
  roomId: T.room.videoSlotsRoomId,
  location: T.room.location,
  map: [...T.room.videoSlots.entries()].map(([slot, u]) => [slot, u.clientId]),
  slots: await Promise.all(T.room.media.videoSlotTransceivers.map((t) => inbound(t))),
  mids: T.room.media.mids,
  pcs: T.pcs.length,
  offers: T.calls.createOffer,
  camera: T.cameraSettings ?? null,
  framesIn: T.framesIn,
  sinceLastFrameMs: T.lastFrameAt === null ? null : Math.round(now() - T.lastFrameAt),
  lastFrameType: T.lastFrameType ?? null,
});

/**
 * What a user would see on each video slot: the slot's track played in a `<video>` element (one
 * per slot, made on first use), and the mean colour of the middle of the frame it shows now
 * (rows 40–90 %, clear of the moving square along the top edge of video5.test.mjs's cameras),
 * with the element's frame size.
 */
T.videoColours = () => {
  T.slotVideos ??= [];
  T.colourCanvas ??= document.createElement('canvas');
  const canvas = T.colourCanvas;
  canvas.width = 16;
  canvas.height = 16;
  const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d', { willReadFrequently: true }));
  return T.room.media.videoSlotTransceivers.map((/** @type {RTCRtpTransceiver} */ tr, /** @type {number} */ slot) => {
    let v = T.slotVideos[slot];
    if (!v || v.srcObject?.getVideoTracks()[0] !== tr.receiver.track) {
      v = document.createElement('video');
      v.muted = true;
      v.autoplay = true;
      v.playsInline = true;
      // Small on screen (compositing five pages' tiles costs CPU); drawImage reads the full frame.
      v.width = 32;
      v.height = 24;
      v.srcObject = new MediaStream([tr.receiver.track]);
      document.body.appendChild(v);
      void v.play().catch(() => {});
      T.slotVideos[slot] = v;
    }
    if (v.readyState < 2 || !v.videoWidth) return { rgb: null, width: v.videoWidth, height: v.videoHeight };
    const sy = Math.floor(v.videoHeight * 0.4);
    const sh = Math.floor(v.videoHeight * 0.5);
    g.drawImage(v, 0, sy, v.videoWidth, sh, 0, 0, 16, 16);
    const px = g.getImageData(0, 0, 16, 16).data;
    const sum = [0, 0, 0];
    for (let i = 0; i < px.length; i += 4) for (let c = 0; c < 3; c++) sum[c] += px[i + c];
    const n = px.length / 4;
    return { rgb: sum.map((s) => Math.round(s / n)), width: v.videoWidth, height: v.videoHeight };
  });
};

/** Each audio slot's inbound counters (packets keep arriving while a receiver is throttled?). */
T.audioSlots = async () => Promise.all(T.room.media.slotTransceivers.map((/** @type {RTCRtpTransceiver} */ t) => inbound(t)));

/** This page's side of the selected ICE candidate pair: the UDP port the server sends to. */
T.localPort = async () => {
  const stats = await T.room.peerConnection.getStats();
  /** @type {any} */
  let pair = null;
  stats.forEach((/** @type {any} */ r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
  });
  const local = pair ? stats.get(pair.localCandidateId) : null;
  return local ? { port: local.port, protocol: local.protocol } : null;
};

/** The camera sender's encodings and what each sends (simulcast: one entry per RID). */
T.cameraSend = async () => {
  const tr = T.room.media.cameraTransceiver;
  /** @type {any[]} */
  const out = [];
  (await tr.sender.getStats()).forEach((/** @type {any} */ s) => {
    if (s.type === 'outbound-rtp') out.push({ rid: s.rid ?? null, frameHeight: s.frameHeight ?? 0, framesSent: s.framesSent ?? 0, limitation: s.qualityLimitationReason ?? null });
  });
  const sdp = T.room.peerConnection.localDescription?.sdp ?? '';
  return { encodings: tr.sender.getParameters().encodings.map((/** @type {any} */ e) => e.rid ?? null), outbound: out, simulcastLine: sdp.match(/a=simulcast:send [^\r\n]+/)?.[0] ?? null };
};
