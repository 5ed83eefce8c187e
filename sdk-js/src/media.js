// @ts-check
/**
 * @module media
 *
 * The client's one `RTCPeerConnection` for the whole family (SPEC §2.1, §2.2, §4).
 *
 * It is negotiated once, right after `roomConnected`, and never again: a move between rooms is a
 * slot re-map on the server, announced with `activeTalkersUpdated`. The offer's m-lines are, in
 * this order:
 *
 * 1. audio, sendonly, the microphone                          → `mids.mic`
 * 2. video, sendonly, no track until `shareScreen()`          → `mids.share`
 * 3. video, sendonly, no track until `shareCanvas()`          → `mids.canvas`
 * 4. `max_active_talkers` × audio, recvonly, slot 0 first      → `mids.audio_slots`
 * 5. video, recvonly, the room's screen share                  → `mids.share_slot`
 * 6. video, recvonly, the room's canvas                        → `mids.canvas_slot`
 * 7. protocol 4: video, sendonly, no track until `publishCamera()` → `mids.camera`
 * 8. protocol 4: `videoSlots` (default 4) × video, recvonly      → `mids.video_slots`
 *
 * Camera video (docs/protocol.md §13.9) is forwarded in the parent room only: the server maps
 * the parent's camera publishers onto each client's video slots (`videoSlotsUpdated`, kept as
 * `room.videoSlots`); in a break-out room the video slots carry nothing and this client's
 * camera reaches nobody, though its track stays on until `unpublishCamera()`.
 *
 * Starting a share puts a track on the (already negotiated) sender with `replaceTrack`, then
 * tells the server with `startShare` / `startCanvas`; stopping reverses both.
 *
 * This module is the portable core: it uses only the WebRTC API (`RTCPeerConnection`,
 * `mediaDevices`), taken from the options (`RTCPeerConnection`, `mediaDevices`, `MediaStream`;
 * platform/react-native.js passes react-native-webrtc's) or else from the globals, and no DOM.
 * Playing the slots and metering the microphone is the platform's {@link AudioOutput}: in a
 * browser (the main entry, alcove.js) each audio slot plays through its own hidden
 * `<audio autoplay>` element (platform/browser.js). Browsers may block playback until the user
 * interacted with the page: `state.autoplayBlocked` says so and `resumeAudio()` (call it from a
 * click handler) retries. React Native plays received tracks natively: no output is needed.
 *
 * **The slot gate** (docs/protocol.md §13.8). A slot is one continuous RTP stream whatever the
 * talker, so after a re-map the browser's jitter buffer still holds (and plays) up to its delay
 * of the previous talker's audio: after a move, the old room. The SDK therefore gates each
 * slot's playback by the slot map it receives: it disables the slot's receiving track
 * (`track.enabled = false`: silence for the `<audio>` element and for every other consumer of
 * `slotTrack(i)`) the moment
 * - this client's move is acknowledged (`connectedBreakoutRoom`, a forced one included, and
 *   `didDisconnectedBreakoutRoom` / destroy-all returning it to the parent): every occupied slot;
 * - `activeTalkersUpdated` takes a slot's talker away or gives the slot to someone else;
 * and enables it again once the slot's talker belongs to the new map *and* the audio being
 * played out is the new talker's: the played RTP time (`getSynchronizationSources()`) has
 * passed what was buffered when the gate closed (played RTP time then + the slot's measured
 * jitter-buffer delay + 20 ms), or the buffer ran dry (nothing played for 60 ms, once that
 * delay has passed), or 250 ms after that estimate at the
 * latest. A slot that was silent needs no wait. The same talker keeping its slot through a move
 * (a parent talker heard before and after) is enabled at once. When a new talker's first
 * audio of the room is actually playing, the room emits `slotAudible {slot, clientId, roomId,
 * ms}` (`ms`: since the gate closed or the slot was assigned). `slotGate: false` turns the gate
 * off (slots play whatever arrives, as before).
 *
 * After the room resumed a dropped signalling connection (event `reconnected`), media restores
 * itself (state `restoring`, then `connected` again; `state.restarts` counts the restores):
 * - the server kept this client's peer connection (`media_kept`): `pc.restartIce()` and a new
 *   offer on the same transceivers, sent as `sdpOffer` (the network path may have changed);
 * - it did not (the server restarted): the old `RTCPeerConnection` is closed and a new one with
 *   the same layout is negotiated, reusing the microphone. The slot `<audio>` elements stay and
 *   play the new tracks; `slotTrack(i)` returns the new track (an app that holds the old track
 *   object takes the new one on `mediastatechange`). A local screen share or canvas ends (the
 *   server forgot it): share again.
 */

import { AlcoveError, CAMERA_SIMULCAST, DEFAULT_SIMULCAST, DEFAULT_VIDEO_SLOTS, supportsVideoSlots } from './protocol.js';

/** @typedef {import('./protocol.js').ServerFrame} ServerFrame */
/** @typedef {import('./protocol.js').MediaMids} MediaMids */

/**
 * Media options (part of the `connect()` options).
 * @typedef {{
 *   media?: boolean,
 *   audio?: boolean | MediaTrackConstraints | MediaStream,
 *   slotGate?: boolean,
 *   videoSlots?: number,
 *   simulcast?: boolean,
 *   iceServers?: RTCIceServer[],
 *   iceGatheringTimeoutMs?: number,
 *   audioContainer?: HTMLElement | null,
 *   audioOutput?: AudioOutputFactory | null,
 *   RTCPeerConnection?: typeof RTCPeerConnection,
 *   mediaDevices?: MediaDevicesLike,
 *   MediaStream?: typeof MediaStream,
 * }} MediaOptions
 *
 * - `media`: negotiate media after connecting (default: true when the platform has
 *   `RTCPeerConnection`, false otherwise, e.g. in Node).
 * - `audio`: microphone constraints for `getUserMedia`, a ready `MediaStream`, or `false` to
 *   send no microphone (the m-line is still offered, without a track). Default `true`, which
 *   asks for {@link DEFAULT_AUDIO_CONSTRAINTS} (echo cancellation, noise suppression and
 *   automatic gain control on, what a call with loudspeakers needs); an object is merged over
 *   those defaults, so `{noiseSuppression: false}` turns off only that one (a music lesson
 *   wants `{echoCancellation: false, noiseSuppression: false, autoGainControl: false}`). The
 *   constraints actually asked for are in `state.micConstraints`.
 * - `slotGate`: mute a slot's playback while its jitter buffer still holds a previous talker
 *   after a move or re-map (default true; see "The slot gate" above).
 * - `videoSlots`: camera receive slots to negotiate (protocol 4; default 4, at most 16); 0
 *   offers neither video slots nor a camera m-line.
 * - `simulcast`: send the camera as three simulcast layers ({@link CAMERA_SIMULCAST}: RIDs
 *   `q`, `h`, `f` at a quarter, half and full resolution), from which the server picks one per
 *   receiver and slot (docs/protocol.md §13.9). A browser sends only as many layers as the
 *   camera's resolution allows (Chromium: one below 320×180 or so, two below 640×360). Set
 *   when the peer connection is built: it applies to the one camera m-line.
 * - `iceServers`: passed to the `RTCPeerConnection`, before the TURN servers of
 *   `roomConnected.ice_servers` (credentials the server minted; renewed on every resume).
 * - `iceGatheringTimeoutMs`: how long to wait for ICE gathering before sending the offer anyway
 *   (default 2000).
 * - `audioContainer` (browser layer): where the hidden `<audio>` elements go (default
 *   `document.body`); `null` to create none (the app plays `room.slotTrack(i)` itself).
 * - `audioOutput`: what plays the slots and meters the microphone (a factory, see
 *   {@link AudioOutput}); default {@link MediaSession.defaultAudioOutput} (the browser layer
 *   when the main entry was loaded: it needs a `document`); `null` for none.
 * - `RTCPeerConnection`, `mediaDevices`, `MediaStream`: the platform's WebRTC (default: the
 *   globals, when present). platform/react-native.js fills them from react-native-webrtc; in
 *   Node, pass a WebRTC package's.
 */

/**
 * The part of `navigator.mediaDevices` the SDK uses (`getDisplayMedia` only for screen
 * sharing).
 * @typedef {{
 *   getUserMedia(constraints: {audio: MediaTrackConstraints | boolean, video: boolean}): Promise<MediaStream>,
 *   getDisplayMedia?: (constraints?: DisplayMediaStreamOptions) => Promise<MediaStream>,
 * }} MediaDevicesLike
 */

/**
 * The platform's audio side, outside the portable core: plays the receiving slot tracks and
 * meters the microphone. The browser layer (platform/browser.js) uses `<audio>` elements and
 * WebAudio.
 * - `play(tracks)`: the slot tracks after a negotiation (again, with the new tracks, after a
 *   new peer connection);
 * - `resume()`: start or retry playback (autoplay policies); resolves false while blocked;
 * - `watchMic(stream)` / `micLevel()`: the microphone meter (0..1);
 * - `close()`: release everything (a later `play` starts again);
 * - `elements`: the `<audio>` elements, if any.
 * @typedef {{
 *   play(tracks: MediaStreamTrack[]): void,
 *   resume(): Promise<boolean>,
 *   watchMic(stream: MediaStream): void,
 *   micLevel(): number,
 *   close(): void,
 *   readonly elements: HTMLAudioElement[],
 * }} AudioOutput
 */

/**
 * Makes the {@link AudioOutput} of one media session (null: none on this platform).
 * @typedef {(options: MediaOptions) => AudioOutput | null} AudioOutputFactory
 */

/**
 * The microphone processing asked for when `audio` is `true` (the default), and the base an
 * `audio` constraints object is merged over. Browsers default to the same, but saying it makes
 * the behaviour the same everywhere and visible in `state.micConstraints`.
 * @type {Readonly<MediaTrackConstraints>}
 */
export const DEFAULT_AUDIO_CONSTRAINTS = Object.freeze({
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
});

/**
 * Where media is: `idle` (not started), `negotiating`, `connected` (answer applied; ICE/DTLS
 * may still be settling, see `connectionState`), `restoring` (after a resume: an ICE restart or a new
 * peer connection is being negotiated), `failed`, `closed`, `disabled` (no media on this
 * platform or by option).
 * @typedef {"idle" | "negotiating" | "connected" | "restoring" | "failed" | "closed" | "disabled"} MediaStateName
 */

/**
 * `connectionState`: the peer connection's `connectionState` (ICE and DTLS together: `new`,
 * `connecting`, `connected`, `disconnected`, `failed`, `closed`); `iceConnectionState`: its
 * `iceConnectionState` (ICE alone); `iceState`: **deprecated**, the same value as
 * `connectionState` (its old name, which said ICE while it held the connection state).
 * `restarts`: restores completed after resumes; `lastRestore`: how the latest one was done
 * (`"ice-restart"` on the kept peer connection, `"new-peer-connection"` after a server restart).
 * `micConstraints`: what `getUserMedia` was asked for (null: no microphone requested, or a
 * ready `MediaStream` was given).
 * @typedef {{state: MediaStateName, error: Error | null, micError: Error | null,
 *   autoplayBlocked: boolean, connectionState: string, iceConnectionState: string,
 *   iceState: string, restarts: number,
 *   lastRestore: "ice-restart" | "new-peer-connection" | null,
 *   micConstraints: MediaTrackConstraints | null,
 *   path: "udp" | "tcp" | "relay" | null}} MediaState
 * `path`: how the media goes once connected (`udp`, ICE over `tcp`, or a TURN `relay`).
 */

/**
 * One audio slot's playback gate (see "The slot gate" in the module docs).
 * - `talker`: the clientId the latest slot map puts on the slot (null: empty);
 * - `open`: the slot's track is enabled;
 * - `moved`: closed by this client's move; `talker` is still the old room's;
 * - `waitRtp`: the played RTP time after which the audio is the new talker's (null: none to
 *   wait for); `deadline`: when to open anyway (performance.now() ms); `closedAt`: when closed;
 * - `audible`: the `slotAudible` still to emit for a new talker;
 * - `jbMs`: the slot's latest jitter-buffer delay (ms); `jb`: the cumulative stats it came from.
 * - `dryAfter`: before this time a pause in playout does not count as a dry buffer (a busy
 *   machine stalls playout for tens of ms while the old audio is still buffered);
 * @typedef {{talker: string | null, open: boolean, moved: boolean, waitRtp: number | null,
 *   deadline: number, dryAfter: number, closedAt: number,
 *   audible: {clientId: string, roomId: string, since: number} | null,
 *   jbMs: number | null, jb: {delay: number, emitted: number} | null}} SlotGate
 */

/** `slotLevel` ignores audio-level reports older than this. */
const LEVEL_MAX_AGE_MS = 1000;
/** The gate waits this much beyond the measured jitter-buffer delay. */
const GATE_MARGIN_MS = 20;
/** Assumed jitter-buffer delay of a slot before its stats were read once. */
const GATE_DEFAULT_JB_MS = 150;
/** The gate opens at the latest this long after its estimate (stats or RTP time misleading). */
const GATE_SLACK_MS = 250;
/** A slot whose last played frame is older than this has nothing buffered. */
const GATE_DRY_MS = 60;
/** How often pending gates are checked. */
const GATE_POLL_MS = 10;
/** How often each slot's jitter-buffer delay is sampled. */
const GATE_STATS_MS = 1000;
/** A played frame at least this loud (linear, 0..1; −60 dBov) counts as audible. */
const AUDIBLE_MIN_LEVEL = 0.001;
/** `slotAudible` is given up after this long without audio. */
const AUDIBLE_GIVE_UP_MS = 10_000;

export class MediaSession {
  /**
   * The audio output used when the options name none (`audioOutput` undefined). The main
   * entry (alcove.js) sets it to the browser layer's; the core alone has none.
   * @type {AudioOutputFactory | null}
   */
  static defaultAudioOutput = null;

  /**
   * @param {import('./room.js').Room} room
   * @param {MediaOptions} options
   */
  constructor(room, options) {
    /** @private */
    this._room = room;
    /** @private */
    this._options = options;
    /** @private @type {RTCIceServer[]} TURN servers of the latest `roomConnected`. */
    this._turn = [];
    room.on('roomConnected', (/** @type {any} */ f) => {
      if (!Array.isArray(f?.ice_servers)) return;
      this._turn = f.ice_servers.map((/** @type {any} */ i) => ({ urls: i.urls, username: i.username, credential: i.credential }));
      try { this.pc?.setConfiguration({ ...this.pc.getConfiguration(), iceServers: this._iceServers() }); } catch { /* a closed pc */ }
    });
    /** @type {RTCPeerConnection | null} */
    this.pc = null;
    /** @type {RTCRtpTransceiver | null} */
    this.micTransceiver = null;
    /** @type {RTCRtpTransceiver | null} */
    this.shareTransceiver = null;
    /** @type {RTCRtpTransceiver | null} */
    this.canvasTransceiver = null;
    /** @type {RTCRtpTransceiver[]} */
    this.slotTransceivers = [];
    /** @type {RTCRtpTransceiver | null} */
    this.shareSlotTransceiver = null;
    /** @type {RTCRtpTransceiver | null} */
    this.canvasSlotTransceiver = null;
    /** @type {RTCRtpTransceiver | null} The camera (protocol 4). */
    this.cameraTransceiver = null;
    /** @type {RTCRtpTransceiver[]} The video slots (protocol 4). */
    this.videoSlotTransceivers = [];
    /** @type {MediaStreamTrack | null} The local camera track while publishing. */
    this.localCameraTrack = null;
    /** Whether the camera m-line sends simulcast layers (option `simulcast`; fixed at connect). */
    this.simulcast = options.simulcast ?? DEFAULT_SIMULCAST;
    /** @type {MediaMids | null} The mids sent in `sdpOffer`. */
    this.mids = null;
    /** @type {MediaStream | null} The microphone stream. */
    this.micStream = null;
    /** @type {MediaStreamTrack | null} The local screen-share track while sharing. */
    this.localShareTrack = null;
    /** @type {MediaStreamTrack | null} The local canvas track while streaming a canvas. */
    this.localCanvasTrack = null;
    /** @type {AudioOutput | null | undefined} The platform's audio output (undefined: not made yet). @private */
    this._output = undefined;
    /** @type {MediaState} */
    this.state = {
      state: 'idle', error: null, micError: null, autoplayBlocked: false,
      connectionState: 'new', iceConnectionState: 'new', iceState: 'new',
      restarts: 0, lastRestore: null, micConstraints: null, path: null,
    };
    /** @type {SlotGate[]} One per audio slot. @private */
    this._gates = [];
    /** @type {ReturnType<typeof setInterval> | null} @private */
    this._gateTimer = null;
    /** @type {ReturnType<typeof setInterval> | null} @private */
    this._statsTimer = null;
    /** @type {Promise<void> | null} @private */
    this._starting = null;
    /** @type {Promise<void> | null} The restore in flight after a resume. @private */
    this._restoring = null;
    /** Bumped by every resume: a restore for an older connection gives up. @private */
    this._epoch = 0;
    /** The first negotiation succeeded. @private */
    this._negotiated = false;
  }

  /** The `<audio>` elements playing the slots (browser layer), one per audio slot. */
  get audioElements() {
    return this._output?.elements ?? [];
  }

  /**
   * The platform's audio output, made on first use.
   * @returns {AudioOutput | null}
   * @private
   */
  _audio() {
    if (this._output === undefined) {
      const make = this._options.audioOutput === undefined ? MediaSession.defaultAudioOutput : this._options.audioOutput;
      this._output = make ? make(this._options) : null;
    }
    return this._output;
  }

  /** Is media available on this platform and not turned off by option? */
  get enabled() {
    return this._options.media !== false && typeof this._Pc() === 'function';
  }

  /**
   * Negotiates the peer connection (once; later calls return the same promise).
   * @returns {Promise<void>}
   */
  start() {
    if (!this._starting) {
      this._starting = this._start().catch((e) => {
        const err = e instanceof Error ? e : new Error(String(e));
        if (this.state.state !== 'disabled') {
          this._teardown();
          this._setState({ state: 'failed', error: err });
        }
        throw err;
      });
    }
    return this._starting;
  }

  /** @private */
  async _start() {
    const Pc = this._Pc();
    if (this._options.media === false || typeof Pc !== 'function') {
      this._setState({ state: 'disabled' });
      throw new AlcoveError('media is not available (no RTCPeerConnection, or media: false)', { code: 'media' });
    }
    const settings = this._room.settings;
    if (!settings) throw new AlcoveError('media: not connected to a room', { code: 'media' });
    this._setState({ state: 'negotiating' });
    // 1. Microphone (sendonly). No microphone is not fatal: the m-line is offered without a track.
    const mic = await this._microphone();
    const pc = this._build(Pc, mic, Math.max(1, settings.max_active_talkers | 0));
    await this._negotiate(pc);
    this._negotiated = true;
    this._attachAudio();
    this._startJitterSampling();
    this._setState({ state: 'connected' });
  }

  /**
   * A new peer connection with the SDK's layout (see the module docs); becomes `this.pc`.
   * @param {typeof RTCPeerConnection} Pc
   * @param {MediaStreamTrack | null} mic
   * @param {number} slots
   * @returns {RTCPeerConnection}
   * @private
   */
  _build(Pc, mic, slots) {
    const pc = new Pc({ iceServers: this._iceServers(), bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    this.pc = pc;
    pc.addEventListener('connectionstatechange', () => {
      if (this.pc === pc) this._setState({ connectionState: pc.connectionState, iceState: pc.connectionState });
      if (this.pc === pc && pc.connectionState === 'connected') this._reportPath(pc);
    });
    pc.addEventListener('iceconnectionstatechange', () => {
      if (this.pc === pc) this._setState({ iceConnectionState: pc.iceConnectionState });
    });
    // 1. Microphone (sendonly), with or without a track.
    this.micTransceiver = pc.addTransceiver(mic ?? 'audio', {
      direction: 'sendonly',
      streams: this.micStream ? [this.micStream] : [],
    });
    // 2, 3. Screen share and canvas (sendonly, no track until used).
    this.shareTransceiver = pc.addTransceiver('video', { direction: 'sendonly' });
    this.canvasTransceiver = pc.addTransceiver('video', { direction: 'sendonly' });
    // 4. Audio slots.
    this.slotTransceivers = [];
    for (let i = 0; i < slots; i++) {
      this.slotTransceivers.push(pc.addTransceiver('audio', { direction: 'recvonly' }));
    }
    // 5, 6. The room's screen share and canvas.
    this.shareSlotTransceiver = pc.addTransceiver('video', { direction: 'recvonly' });
    this.canvasSlotTransceiver = pc.addTransceiver('video', { direction: 'recvonly' });
    // 7, 8. Camera and video slots (protocol 4).
    const video = this._videoSlotCount();
    this.cameraTransceiver = null;
    this.videoSlotTransceivers = [];
    if (video > 0) {
      this.cameraTransceiver = pc.addTransceiver(this.localCameraTrack ?? 'video', this._cameraInit());
      for (let i = 0; i < video; i++) {
        this.videoSlotTransceivers.push(pc.addTransceiver('video', { direction: 'recvonly' }));
      }
    }
    this._resetGates();
    return pc;
  }

  /**
   * The camera transceiver's init: sendonly, with the simulcast layers when `simulcast` is on.
   * @returns {RTCRtpTransceiverInit}
   * @private
   */
  _cameraInit() {
    if (!this.simulcast) return { direction: 'sendonly' };
    return { direction: 'sendonly', sendEncodings: CAMERA_SIMULCAST.map((e) => ({ ...e })) };
  }

  /** @private @returns {RTCIceServer[]} the app's ICE servers, then the minted TURN ones */
  _iceServers() {
    return [...(this._options.iceServers ?? []), ...this._turn];
  }

  /**
   * Sets `state.path` from the selected candidate pair's local candidate.
   * @param {RTCPeerConnection} pc
   * @private
   */
  async _reportPath(pc) {
    try {
      const stats = await pc.getStats();
      /** @type {any} */
      let pair = null;
      stats.forEach((/** @type {any} */ r) => {
        if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
      });
      stats.forEach((/** @type {any} */ r) => {
        if (!pair && r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r;
      });
      const local = pair ? stats.get(pair.localCandidateId) : null;
      if (!local || this.pc !== pc) return;
      const path = local.candidateType === 'relay' ? 'relay' : local.protocol === 'tcp' ? 'tcp' : 'udp';
      this._setState({ path });
    } catch { /* stats unavailable: path stays as it was */ }
  }

  /**
   * Offers (`sdpOffer` with the transceivers' mids) and applies the answer.
   * @param {RTCPeerConnection} pc
   * @param {{iceRestart?: boolean}} [options]
   * @private
   */
  async _negotiate(pc, options = {}) {
    if (pc.signalingState === 'have-local-offer') {
      // An offer whose answer the drop cut off: roll it back first.
      await pc.setLocalDescription({ type: 'rollback' });
    }
    const offer = await pc.createOffer(options.iceRestart ? { iceRestart: true } : undefined);
    await pc.setLocalDescription(offer);
    await this._iceGathered(pc, this._options.iceGatheringTimeoutMs ?? 2000);
    const local = pc.localDescription;
    if (!local) throw new AlcoveError('media: no local description', { code: 'media' });
    const mic = this.micTransceiver;
    const share = this.shareTransceiver;
    const canvas = this.canvasTransceiver;
    const shareSlot = this.shareSlotTransceiver;
    const canvasSlot = this.canvasSlotTransceiver;
    /** @type {MediaMids} */
    const mids = {
      mic: mic?.mid ?? undefined,
      share: share?.mid ?? undefined,
      canvas: canvas?.mid ?? undefined,
      audio_slots: this.slotTransceivers.map((t) => t.mid ?? ''),
      share_slot: shareSlot?.mid ?? undefined,
      canvas_slot: canvasSlot?.mid ?? undefined,
    };
    if (this.cameraTransceiver) {
      mids.camera = this.cameraTransceiver.mid ?? undefined;
      mids.video_slots = this.videoSlotTransceivers.map((t) => t.mid ?? '');
    }
    this.mids = mids;
    const answer = await this._room.request('sdpOffer', { sdp: local.sdp, mids });
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  }

  /**
   * Restores media after the room resumed its signalling connection (called by the room on
   * `reconnected`): an ICE restart on the kept peer connection when `mediaKept`, else a new
   * peer connection with the same layout. Media that never started stays as it is; a start
   * that the drop interrupted is tried again. Resolves when done (failures are reported in
   * `state`; a new drop during the restore leaves it to the next resume).
   * @param {boolean} mediaKept the resumed `roomConnected.media_kept`
   * @returns {Promise<void>}
   * @internal
   */
  _resumed(mediaKept) {
    const epoch = ++this._epoch;
    const st = this.state.state;
    if (st === 'idle' || st === 'disabled' || st === 'closed' || !this._starting) return Promise.resolve();
    if (st === 'negotiating') return Promise.resolve(); // its sdpOffer goes on the new connection
    if (st === 'failed' && !this._negotiated) {
      // The first negotiation failed. Cut off by the drop: start over; refused: leave it.
      const cutOff = this.state.error instanceof AlcoveError && this.state.error.code === 'closed';
      if (!cutOff) return Promise.resolve();
      this._starting = null;
      return this.start().catch(() => {});
    }
    const closed = () => this.state.state === 'closed';
    const run = async () => {
      // Wait for an earlier restore (for an older connection) to give up.
      if (this._restoring) await this._restoring.catch(() => {});
      if (epoch !== this._epoch || closed()) return;
      this._setState({ state: 'restoring', error: null });
      const kind = mediaKept && this.pc ? 'ice-restart' : 'new-peer-connection';
      try {
        if (kind === 'ice-restart') {
          const pc = /** @type {RTCPeerConnection} */ (this.pc);
          if (typeof pc.restartIce === 'function') pc.restartIce(); // the offer asks for it too
          await this._negotiate(pc, { iceRestart: true });
        } else {
          await this._rebuild();
        }
        if (epoch !== this._epoch || closed()) return;
        this._setState({ state: 'connected', restarts: this.state.restarts + 1, lastRestore: kind });
      } catch (e) {
        if (closed()) return;
        const err = e instanceof Error ? e : new Error(String(e));
        if (epoch !== this._epoch || (err instanceof AlcoveError && err.code === 'closed')) {
          // Another drop: the next resume restores.
          return;
        }
        this._setState({ state: 'failed', error: err });
      }
    };
    const p = run();
    this._restoring = p;
    void p.finally(() => {
      if (this._restoring === p) this._restoring = null;
    });
    return p;
  }

  /**
   * Replaces the peer connection by a new one with the same layout (the server lost ours),
   * reusing the microphone and the slot `<audio>` elements.
   * @private
   */
  async _rebuild() {
    const Pc = this._Pc();
    if (typeof Pc !== 'function') throw new AlcoveError('media: no RTCPeerConnection', { code: 'media' });
    void this._localShareEnded('share');
    void this._localShareEnded('canvas');
    this.localCameraTrack?.stop();
    this.localCameraTrack = null;
    const old = this.pc;
    const slots = this.slotTransceivers.length || Math.max(1, this._room.settings?.max_active_talkers ?? 1);
    const mic = this.micStream?.getAudioTracks()[0] ?? null;
    try {
      old?.close();
    } catch {
      // Already closed.
    }
    const pc = this._build(Pc, mic, slots);
    const cs = pc.connectionState ?? 'new';
    this._setState({ connectionState: cs, iceState: cs, iceConnectionState: pc.iceConnectionState ?? 'new' });
    await this._negotiate(pc);
    if (this.pc !== pc) return;
    // The same output (the same <audio> elements in a browser) plays the new slot tracks.
    this._attachAudio();
  }

  /**
   * The microphone track, or null (with `state.micError` set) when there is none.
   * @returns {Promise<MediaStreamTrack | null>}
   * @private
   */
  async _microphone() {
    const audio = this._options.audio ?? true;
    if (audio === false) return null;
    try {
      let stream;
      if (isStream(audio)) {
        stream = audio;
      } else {
        const devices = this._devices();
        if (!devices) throw new Error('no navigator.mediaDevices (a secure context — https or localhost — is needed)');
        /** @type {MediaTrackConstraints} */
        const constraints = audio === true ? { ...DEFAULT_AUDIO_CONSTRAINTS } : { ...DEFAULT_AUDIO_CONSTRAINTS, ...audio };
        this._setState({ micConstraints: constraints });
        stream = await devices.getUserMedia({ audio: constraints, video: false });
      }
      this.micStream = stream;
      const track = stream.getAudioTracks()[0] ?? null;
      if (track) this._audio()?.watchMic(stream);
      return track;
    } catch (e) {
      this._setState({ micError: e instanceof Error ? e : new Error(String(e)) });
      return null;
    }
  }

  /**
   * @param {RTCPeerConnection} pc
   * @param {number} timeoutMs
   * @private
   */
  _iceGathered(pc, timeoutMs) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', check);
        resolve(undefined);
      };
      const check = () => {
        if (pc.iceGatheringState === 'complete') done();
      };
      const timer = setTimeout(done, timeoutMs);
      pc.addEventListener('icegatheringstatechange', check);
    });
  }

  /** Hands the slot tracks to the platform's audio output and starts playback. @private */
  _attachAudio() {
    const out = this._audio();
    if (!out) return;
    out.play(this.slotTransceivers.map((t) => t.receiver.track));
    void this.resumeAudio();
  }

  /**
   * Starts (or retries) playback of the slots by the platform's audio output (in a browser,
   * every slot's `<audio>` element). Call it from a user gesture when `state.autoplayBlocked`
   * is true.
   * @returns {Promise<boolean>} true when everything plays (always, without an output)
   */
  async resumeAudio() {
    const out = this._audio();
    const ok = out ? await out.resume() : true;
    this._setState({ autoplayBlocked: !ok });
    return ok;
  }

  /**
   * The microphone's current level, 0..1 (RMS), or 0 without a microphone or without a meter
   * (the browser layer meters it with WebAudio).
   */
  localLevel() {
    return this._output?.micLevel() ?? 0;
  }

  /**
   * The receiving track of audio slot `i`.
   * @param {number} i
   * @returns {MediaStreamTrack | null}
   */
  slotTrack(i) {
    return this.slotTransceivers[i]?.receiver.track ?? null;
  }

  /**
   * The latest audio level (0..1) received in slot `i`, from the RTP audio-level header
   * extension as the browser reports it; 0 when nothing was heard in the last second.
   * @param {number} i
   */
  slotLevel(i) {
    const receiver = this.slotTransceivers[i]?.receiver;
    if (!receiver || typeof receiver.getSynchronizationSources !== 'function') return 0;
    let level = 0;
    for (const s of receiver.getSynchronizationSources()) {
      // Browsers disagree on the clock of `timestamp`; accept either.
      const age = Math.min(Math.abs(Date.now() - s.timestamp), Math.abs(performance.now() - s.timestamp));
      if (age <= LEVEL_MAX_AGE_MS && typeof s.audioLevel === 'number') level = Math.max(level, s.audioLevel);
    }
    return level;
  }

  // ---- the slot gate (see the module docs) ----------------------------------------------------

  /** Every slot empty and silent: a new peer connection, whose map the server sends next. @private */
  _resetGates() {
    this._gates = this.slotTransceivers.map(() => ({
      talker: null, open: false, moved: false, waitRtp: null, deadline: 0, dryAfter: 0, closedAt: 0, audible: null, jbMs: null, jb: null,
    }));
    this._gates.forEach((_, i) => this._applyGate(i));
  }

  /**
   * Is slot `i` playing (its gate open, or gating turned off)?
   * @param {number} i
   */
  slotOpen(i) {
    const g = this._gates[i];
    return !!g && (g.open || this._options.slotGate === false);
  }

  /**
   * The latest jitter-buffer delay of slot `i` in ms (`jitterBufferDelay /
   * jitterBufferEmittedCount` over the last second), null before it was measured.
   * @param {number} i
   */
  slotJitterBufferMs(i) {
    return this._gates[i]?.jbMs ?? null;
  }

  /**
   * @param {number} i
   * @private
   */
  _applyGate(i) {
    const track = this.slotTransceivers[i]?.receiver.track;
    const g = this._gates[i];
    if (!track || !g) return;
    const enabled = g.open || this._options.slotGate === false;
    if (track.enabled !== enabled) track.enabled = enabled;
  }

  /**
   * The latest frame slot `i` played: its RTP time, how long ago (ms), its level.
   * @param {number} i
   * @returns {{rtp: number, age: number, level: number} | null}
   * @private
   */
  _played(i) {
    const receiver = this.slotTransceivers[i]?.receiver;
    if (!receiver || typeof receiver.getSynchronizationSources !== 'function') return null;
    /** @type {{rtp: number, age: number, level: number} | null} */
    let best = null;
    for (const s of receiver.getSynchronizationSources()) {
      // Browsers disagree on the clock of `timestamp`; accept either.
      const age = Math.min(Math.abs(Date.now() - s.timestamp), Math.abs(performance.now() - s.timestamp));
      if (typeof s.rtpTimestamp === 'number' && (!best || age < best.age)) {
        best = { rtp: s.rtpTimestamp, age, level: s.audioLevel ?? 0 };
      }
    }
    return best;
  }

  /**
   * Silences slot `i` now and works out when the audio it plays will be new: once the played
   * RTP time passes what is buffered now (the played time + the slot's jitter-buffer delay).
   * @param {number} i
   * @param {number} now performance.now()
   * @private
   */
  _close(i, now) {
    const g = this._gates[i];
    const p = this._played(i);
    const jb = g.jbMs ?? GATE_DEFAULT_JB_MS;
    if (p && p.age < GATE_DRY_MS) {
      // Opus slots run at 48 kHz: 48 RTP ticks per ms.
      g.waitRtp = (p.rtp + Math.round(48 * (jb + GATE_MARGIN_MS))) >>> 0;
      g.deadline = now + jb + GATE_MARGIN_MS + GATE_SLACK_MS;
      g.dryAfter = now + jb;
    } else {
      // Nothing buffered: the next audio is new.
      g.waitRtp = null;
      g.deadline = now;
      g.dryAfter = now;
    }
    g.closedAt = now;
    g.open = false;
    this._applyGate(i);
  }

  /**
   * This client's move was acknowledged: every occupied slot still carries the old room (its
   * jitter buffer does, at least) and falls silent until the new room's map names its talker.
   * @internal
   */
  _roomChanged() {
    const now = performance.now();
    this._gates.forEach((g, i) => {
      if (g.talker === null) return;
      if (g.open) this._close(i, now);
      g.moved = true;
      g.audible = null;
    });
    this._schedule();
  }

  /**
   * A new slot map (`room.talkers`, for `roomId`): slots that lost their talker fall silent at
   * once; slots with a new talker fall silent until the buffered audio of the previous one has
   * played out.
   * @param {string | null} roomId
   * @internal
   */
  _talkersChanged(roomId) {
    const now = performance.now();
    this._gates.forEach((g, i) => {
      const next = this._room.talkers.get(i)?.clientId ?? null;
      if (next === null) {
        // Whatever is still buffered belongs to someone this client no longer hears.
        if (g.open) this._close(i, now);
        g.talker = null;
        g.moved = false;
        g.audible = null;
        return;
      }
      if (next === g.talker) {
        if (g.moved) {
          // The same talker on both sides of the move: its buffered audio is its own.
          g.moved = false;
          g.waitRtp = null;
          g.deadline = now;
          g.dryAfter = now;
        }
        return;
      }
      // slotAudible's `ms` counts from this client's move (the slot closed then), else from now.
      const since = g.moved ? g.closedAt : now;
      if (g.open) this._close(i, now);
      g.talker = next;
      g.moved = false;
      g.audible = roomId ? { clientId: next, roomId, since } : null;
    });
    this._schedule();
  }

  /** Runs the gate check while some gate or `slotAudible` is pending. @private */
  _schedule() {
    const pending = this._gates.some((g) => (!g.open && g.talker !== null && !g.moved) || g.audible !== null);
    if (pending && this._gateTimer === null) {
      this._gateTimer = setInterval(() => this._checkGates(), GATE_POLL_MS);
    } else if (!pending && this._gateTimer !== null) {
      clearInterval(this._gateTimer);
      this._gateTimer = null;
    }
  }

  /** @private */
  _checkGates() {
    const now = performance.now();
    this._gates.forEach((g, i) => {
      const p = this._played(i);
      const passed = () => g.waitRtp === null || (p !== null && ((p.rtp - g.waitRtp) >>> 0) < 0x80000000);
      if (!g.open && g.talker !== null && !g.moved) {
        const dry = (!p || p.age >= GATE_DRY_MS) && now >= g.dryAfter;
        if (passed() || dry || now >= g.deadline) {
          // Dry or past the deadline: whatever plays from now on is the new talker.
          if (!passed()) g.waitRtp = null;
          g.open = true;
          this._applyGate(i);
        }
      }
      const a = g.audible;
      if (a && g.open) {
        if (p && p.age < GATE_DRY_MS && p.level >= AUDIBLE_MIN_LEVEL && passed()) {
          g.audible = null;
          g.waitRtp = null;
          this._room.emit('slotAudible', { slot: i, clientId: a.clientId, roomId: a.roomId, ms: Math.round(now - a.since) });
        } else if (now - a.since > AUDIBLE_GIVE_UP_MS) {
          g.audible = null;
        }
      }
    });
    this._schedule();
  }

  /** Samples every slot's jitter-buffer delay once a second (the gate's estimate). @private */
  _startJitterSampling() {
    if (this._statsTimer !== null) return;
    this._statsTimer = setInterval(() => void this._sampleJitter(), GATE_STATS_MS);
  }

  /** @private */
  async _sampleJitter() {
    await Promise.all(this.slotTransceivers.map(async (t, i) => {
      const g = this._gates[i];
      if (!g || typeof t.receiver.getStats !== 'function') return;
      let delay = 0;
      let emitted = 0;
      try {
        (await t.receiver.getStats()).forEach((/** @type {any} */ s) => {
          if (s.type === 'inbound-rtp') {
            delay += s.jitterBufferDelay ?? 0;
            emitted += s.jitterBufferEmittedCount ?? 0;
          }
        });
      } catch {
        return; // closing
      }
      if (this._gates[i] !== g) return;
      if (g.jb && emitted > g.jb.emitted) g.jbMs = (1000 * (delay - g.jb.delay)) / (emitted - g.jb.emitted);
      g.jb = { delay, emitted };
    }));
  }

  /**
   * How many video slots to offer: `videoSlots` (default 4, at most 16) when the server speaks
   * protocol 4, else none.
   * @returns {number}
   * @private
   */
  _videoSlotCount() {
    if (!supportsVideoSlots(this._room.version)) return 0;
    const n = this._options.videoSlots ?? DEFAULT_VIDEO_SLOTS;
    return Math.max(0, Math.min(16, n | 0));
  }

  /**
   * The receiving track of video slot `i` (whose camera: `room.videoSlots.get(i)`).
   * @param {number} i
   * @returns {MediaStreamTrack | null}
   */
  videoSlotTrack(i) {
    return this.videoSlotTransceivers[i]?.receiver.track ?? null;
  }

  /** @returns {number} the number of video slots negotiated */
  get videoSlotCount() {
    return this.videoSlotTransceivers.length;
  }

  /**
   * Publishes a camera: `getUserMedia({video})` (or the given track), put on the negotiated
   * camera sender with `replaceTrack`. No request: the server sees the frames. Forwarded in
   * the parent room only.
   * @param {MediaTrackConstraints | boolean | MediaStreamTrack} [video] constraints, or a track
   * @returns {Promise<MediaStreamTrack>} the published track
   */
  async publishCamera(video = true) {
    if (this.state.state === 'connected' && !this.cameraTransceiver) {
      throw new AlcoveError('camera: not negotiated (the server speaks protocol 3 or older, or videoSlots is 0)', { code: 'media' });
    }
    const sender = this._sender(this.cameraTransceiver, 'camera');
    let track;
    if (typeof video === 'object' && video !== null && typeof (/** @type {any} */ (video).stop) === 'function') {
      track = /** @type {MediaStreamTrack} */ (video);
    } else {
      const devices = this._devices();
      if (!devices) throw new AlcoveError('camera: no mediaDevices on this platform', { code: 'media' });
      const stream = await devices.getUserMedia({ audio: false, video: /** @type {any} */ (video) });
      track = stream.getVideoTracks()[0];
      if (!track) throw new AlcoveError('camera: no video track', { code: 'media' });
    }
    const old = this.localCameraTrack;
    await sender.replaceTrack(track);
    this.localCameraTrack = track;
    if (old && old !== track) old.stop();
    return track;
  }

  /**
   * Stops publishing the camera (the server stops showing it within a second).
   * @returns {Promise<void>}
   */
  async unpublishCamera() {
    const track = this.localCameraTrack;
    this.localCameraTrack = null;
    try {
      await this.cameraTransceiver?.sender.replaceTrack(null);
    } catch {
      // The connection is closing.
    }
    track?.stop();
  }

  /** @returns {MediaStreamTrack | null} */
  shareTrack() {
    return this.shareSlotTransceiver?.receiver.track ?? null;
  }

  /** @returns {MediaStreamTrack | null} */
  canvasTrack() {
    return this.canvasSlotTransceiver?.receiver.track ?? null;
  }

  /**
   * @param {DisplayMediaStreamOptions} [constraints]
   * @returns {Promise<ServerFrame>}
   */
  async shareScreen(constraints = { video: true, audio: false }) {
    const sender = this._sender(this.shareTransceiver, 'share');
    if (this.localShareTrack) throw new AlcoveError('already sharing the screen', { code: 'media' });
    const devices = this._devices();
    if (!devices || typeof devices.getDisplayMedia !== 'function') {
      throw new AlcoveError('screen sharing is not available in this browser', { code: 'media' });
    }
    const stream = await devices.getDisplayMedia(constraints);
    const track = stream.getVideoTracks()[0];
    if (!track) throw new AlcoveError('no video track to share', { code: 'media' });
    stream.getAudioTracks().forEach((t) => t.stop());
    return this._startSending(sender, track, 'share');
  }

  /** @returns {Promise<ServerFrame>} */
  stopShare() {
    return this._stopSending(this.shareTransceiver, 'share');
  }

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {number} [fps]
   * @returns {Promise<ServerFrame>}
   */
  async shareCanvas(canvas, fps = 15) {
    const sender = this._sender(this.canvasTransceiver, 'canvas');
    if (this.localCanvasTrack) throw new AlcoveError('already streaming a canvas', { code: 'media' });
    if (typeof canvas.captureStream !== 'function') {
      throw new AlcoveError('canvas.captureStream is not available in this browser', { code: 'media' });
    }
    const track = canvas.captureStream(fps).getVideoTracks()[0];
    if (!track) throw new AlcoveError('the canvas gave no video track', { code: 'media' });
    return this._startSending(sender, track, 'canvas');
  }

  /** @returns {Promise<ServerFrame>} */
  stopCanvas() {
    return this._stopSending(this.canvasTransceiver, 'canvas');
  }

  /**
   * @param {RTCRtpSender} sender
   * @param {MediaStreamTrack} track
   * @param {"share" | "canvas"} kind
   * @private
   */
  async _startSending(sender, track, kind) {
    await sender.replaceTrack(track);
    if (kind === 'share') this.localShareTrack = track;
    else this.localCanvasTrack = track;
    try {
      const ack = await this._room.request(kind === 'share' ? 'startShare' : 'startCanvas');
      // The browser's own "stop sharing" button ends the track: tell the server.
      track.addEventListener('ended', () => {
        if ((kind === 'share' ? this.localShareTrack : this.localCanvasTrack) === track) {
          this._stopSending(kind === 'share' ? this.shareTransceiver : this.canvasTransceiver, kind).catch(() => {});
        }
      });
      return ack;
    } catch (e) {
      await this._localShareEnded(kind);
      throw e;
    }
  }

  /**
   * @param {RTCRtpTransceiver | null} transceiver
   * @param {"share" | "canvas"} kind
   * @private
   */
  async _stopSending(transceiver, kind) {
    this._sender(transceiver, kind);
    try {
      return await this._room.request(kind === 'share' ? 'stopShare' : 'stopCanvas');
    } finally {
      await this._localShareEnded(kind);
    }
  }

  /**
   * Drops the local share / canvas track without telling the server (it already knows: the
   * client moved, or the server stopped it).
   * @param {"share" | "canvas"} kind
   * @internal
   */
  async _localShareEnded(kind) {
    const track = kind === 'share' ? this.localShareTrack : this.localCanvasTrack;
    if (!track) return;
    if (kind === 'share') this.localShareTrack = null;
    else this.localCanvasTrack = null;
    track.stop();
    const sender = (kind === 'share' ? this.shareTransceiver : this.canvasTransceiver)?.sender;
    try {
      await sender?.replaceTrack(null);
    } catch {
      // The connection is closing.
    }
  }

  /**
   * @param {RTCRtpTransceiver | null} transceiver
   * @param {string} what
   * @returns {RTCRtpSender}
   * @private
   */
  _sender(transceiver, what) {
    if (!this.pc || !transceiver || this.state.state !== 'connected') {
      throw new AlcoveError(`${what}: media is not connected (state ${this.state.state})`, { code: 'media' });
    }
    return transceiver.sender;
  }

  /** Closes the peer connection and releases the microphone. */
  close() {
    if (this.state.state === 'closed') return;
    this._teardown();
    if (this.state.state !== 'idle' && this.state.state !== 'disabled' && this.state.state !== 'failed') {
      this._setState({ state: 'closed' });
    }
  }

  /** @private */
  _teardown() {
    if (this._gateTimer !== null) clearInterval(this._gateTimer);
    if (this._statsTimer !== null) clearInterval(this._statsTimer);
    this._gateTimer = null;
    this._statsTimer = null;
    void this._localShareEnded('share');
    void this._localShareEnded('canvas');
    this.micStream?.getTracks().forEach((t) => t.stop());
    this._output?.close();
    try {
      this.pc?.close();
    } catch {
      // Already closed.
    }
  }

  /**
   * @param {Partial<MediaState>} patch
   * @private
   */
  _setState(patch) {
    this.state = { ...this.state, ...patch };
    this._room.emit('mediastatechange', this.state);
  }

  /** @private */
  _Pc() {
    return this._options.RTCPeerConnection ?? /** @type {typeof RTCPeerConnection | undefined} */ (globalThis.RTCPeerConnection);
  }

  /** @private */
  _devices() {
    // globalThis.navigator: React Native has one without mediaDevices (until registerGlobals()).
    return this._options.mediaDevices ?? /** @type {{navigator?: {mediaDevices?: MediaDevicesLike}}} */ (globalThis).navigator?.mediaDevices;
  }
}

/**
 * Is `value` a `MediaStream` (of whichever WebRTC implementation)?
 * @param {unknown} value
 * @returns {value is MediaStream}
 */
function isStream(value) {
  return typeof value === 'object' && value !== null && typeof (/** @type {any} */ (value).getAudioTracks) === 'function';
}
