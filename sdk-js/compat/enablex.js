/**
 * @module compat/enablex
 *
 * A drop-in for web apps written against the vendor's Web SDK (`EnxRtc.js`): the vendor's
 * room and break-out room surface (`EnxRtc.joinRoom(token, config, callback)`, the `EnxRoom`
 * methods with callback-style acknowledgements, `addEventListener` with the vendor's
 * kebab-case event names and `{message}` payloads), built over the Alcove SDK (`../src/*`,
 * public API only). `scripts/build-enablex.mjs` bundles it into `dist/EnxRtc.js`, a classic
 * script that defines the global `EnxRtc`, so an app changes its `<script src>` and nothing
 * else. The mapping table (vendor call → Alcove) is in `compat/README.md`.
 *
 * Where the vendor's model differs from Alcove's, the facade follows the vendor:
 * - a break-out room is an `EnxRoom` of its own, with `room-connected` / `room-disconnected`
 *   and `disconnect()` (Alcove keeps one connection; the facade's object is a view of it);
 * - `resumeRoom` also lifts a mute that `muteRoom` set through the facade;
 * - `createBreakOutRoom` / `createAndInviteBreakOutRoom` take a definition without
 *   `max_rooms` (1 room);
 * - the moderator who calls `destroyAllBreakOutSession` gets `breakout-room-destroyed` for
 *   every room, as everyone else does;
 * - a call Alcove does not implement answers its callback with the vendor's error object
 *   `{result: 1170, error: "Not supported", desc}`; nothing throws.
 */

import { AlcoveError, ERROR_MESSAGES, connect } from '../src/alcove.js';

/** @typedef {import('../src/room.js').Room} Room */
/** @typedef {import('../src/protocol.js').ServerFrame} ServerFrame */
/** @typedef {(...args: any[]) => unknown} Callback */

/** @type {Record<number, string>} */
const MESSAGES = ERROR_MESSAGES;

/** Vendor client-side error codes the facade uses (the vendor's Web SDK table). */
export const VendorError = Object.freeze({
  /** Invalid options/parameters. */
  INVALID_PARAMETERS: 1155,
  /** Server connection failure (no answer, or no signalling URL). */
  CONNECTION_FAILURE: 1161,
  /** Not supported (this call does not exist on Alcove). */
  NOT_SUPPORTED: 1170,
  /** Room not connected. */
  NOT_CONNECTED: 1171,
  /** Break-Out Room not available (a break-out call made on a break-out room). */
  BREAKOUT_NOT_AVAILABLE: 5067,
});

/** Vendor disconnect causes carried by `room-disconnected` (`message.cause`). */
const CAUSE_NORMAL = { cause: 2006, msg: 'normal-disconnect' };
const CAUSE_UNEXPECTED = { cause: 2002, msg: 'unexpected-disconnection' };

/** Pseudo stream ids the vendor gives screen share and canvas. */
const SHARE_STREAM_ID = 101;
const CANVAS_STREAM_ID = 102;
/**
 * Ids of the local microphone streams (parent room, break-out room): apart from the slots
 * (0…15) and 101 / 102, so `#stream<ID>` players never collide.
 */
const LOCAL_STREAM_ID = 1000;
const LOCAL_BREAKOUT_STREAM_ID = 1001;

/**
 * The vendor's error object: `{result, error, desc}`, plus `msg` (the vendor's server acks
 * carry their text in `msg`; apps read either).
 * @param {number} result
 * @param {string} error
 * @param {string} [desc]
 */
export function vendorError(result, error, desc) {
  return { result, error, desc: desc ?? error, msg: desc ?? error };
}

/**
 * The vendor-shaped error for a failed Alcove call: the server's code and text when the
 * server answered, else 1161 (no answer in time) or 1171 (not connected).
 * @param {unknown} e
 */
function errorOf(e) {
  if (e instanceof AlcoveError && typeof e.result === 'number') {
    const ack = /** @type {Record<string, any>} */ (e.ack ?? {});
    const text = typeof ack.msg === 'string' && ack.msg ? ack.msg : (MESSAGES[e.result] ?? e.message);
    const out = { ...stripFrame(ack), ...vendorError(e.result, MESSAGES[e.result] ?? text, text) };
    return out;
  }
  if (e instanceof AlcoveError && e.code === 'timeout') return vendorError(VendorError.CONNECTION_FAILURE, 'Server connection failure', e.message);
  if (e instanceof AlcoveError && e.code === 'closed') return vendorError(VendorError.NOT_CONNECTED, 'Room not connected', e.message);
  return vendorError(VendorError.CONNECTION_FAILURE, 'Server connection failure', String(e && /** @type {any} */ (e).message || e));
}

/**
 * A frame without the wire's `type` and `id`: the vendor's acknowledgement object.
 * @param {any} frame
 * @returns {Record<string, any>}
 */
function stripFrame(frame) {
  if (!frame || typeof frame !== 'object') return {};
  const { type: _t, id: _i, ...rest } = frame;
  return rest;
}

/**
 * Calls an app callback later, reporting (not propagating) what it throws.
 * @param {unknown} fn
 * @param {...unknown} args
 */
function callLater(fn, ...args) {
  if (typeof fn !== 'function') return;
  Promise.resolve().then(() => /** @type {Callback} */ (fn)(...args)).catch(reportAsync);
}

/**
 * Reports an error thrown by app code the way an uncaught error is reported.
 * @param {unknown} e
 */
function reportAsync(e) {
  setTimeout(() => { throw e; }, 0);
}

/**
 * The last function among `args` (the vendor's methods take their callback last).
 * @param {unknown[]} args
 * @returns {Callback | undefined}
 */
function lastCallback(args) {
  for (let i = args.length - 1; i >= 0; i--) if (typeof args[i] === 'function') return /** @type {Callback} */ (args[i]);
  return undefined;
}

/**
 * `"parent"` / `{breakout}` → the break-out room id or null.
 * @param {any} location
 * @returns {string | null}
 */
function breakoutIdOf(location) {
  return location && typeof location === 'object' && typeof location.breakout === 'string' ? location.breakout : null;
}

/**
 * An Alcove user info → the vendor's user JSON.
 * @param {any} u
 */
function vendorUser(u) {
  if (!u) return null;
  return {
    clientId: u.clientId,
    name: u.name,
    role: u.role,
    user_ref: u.user_ref,
    data: u.data,
    permissions: { publish: u.role !== 'viewer', subscribe: true, record: false, stats: false, controlhandlers: u.role === 'moderator' },
    audioMuted: !!(u.muted && u.muted.audio),
    videoMuted: true,
    location: u.location,
  };
}

/**
 * An event object as the vendor's `addEventListener` listeners get it.
 * @param {string} type
 * @param {unknown} message
 * @param {Record<string, unknown>} [extra]
 * @returns {{type: string, message: unknown, [field: string]: unknown}}
 */
function vendorEvent(type, message, extra) {
  return { type, message, ...(extra ?? {}) };
}

/**
 * `ws(s)://<host>/v1/signal` for an `http(s)` URL (the Alcove server's address), else null.
 * @param {string} url
 * @returns {string | null}
 */
function signalUrlOfOrigin(url) {
  const m = /^(https?):\/\/([^/?#]+)/i.exec(url);
  if (!m) return null;
  return `${m[1].toLowerCase() === 'https' ? 'wss' : 'ws'}://${m[2]}/v1/signal`;
}

/**
 * What the `<script>` tag that loaded this file says, read once while it runs (a classic
 * script: `document.currentScript`): its `data-signal-url` attribute, and its `src`.
 */
const LOADED_BY = (() => {
  const el = /** @type {any} */ (globalThis.document)?.currentScript;
  if (!el || typeof el.getAttribute !== 'function') return { signalUrl: null, src: null };
  return { signalUrl: el.getAttribute('data-signal-url') || null, src: typeof el.src === 'string' && el.src ? el.src : null };
})();

/**
 * Where the signalling WebSocket is, the first found of: `config.signal_url`,
 * `config.urls.signal_url` (or `.signal`), `EnxRtc.signalUrl`, the `data-signal-url`
 * attribute of the `<script>` tag that loaded `EnxRtc.js`, the origin that script came from
 * when it is not the page's (`<script src="https://alcove.example.com/…/EnxRtc.js">`), the
 * page's own origin (a page served by the Alcove server). Each origin becomes
 * `ws(s)://<host>/v1/signal`. Null when none applies.
 * @param {any} config
 * @returns {string | null}
 */
export function signalUrlFor(config) {
  const c = config ?? {};
  const urls = c.urls;
  const given = c.signal_url
    ?? (typeof urls === 'string' ? urls : (urls && (urls.signal_url ?? urls.signal)))
    ?? EnxRtc.signalUrl
    ?? LOADED_BY.signalUrl;
  if (typeof given === 'string' && given !== '') return given;
  const loc = globalThis.location;
  const page = loc && (loc.protocol === 'http:' || loc.protocol === 'https:') ? signalUrlOfOrigin(loc.href) : null;
  const script = LOADED_BY.src ? signalUrlOfOrigin(LOADED_BY.src) : null;
  return script ?? page;
}

// -------------------------------------------------------------------------------------------
// Events.

/** The vendor's listener registry: `addEventListener(name, fn)`, `fn(event, event.message)`. */
class VendorTarget {
  constructor() {
    /** @type {Map<string, Set<Function>>} @internal */
    this._listeners = new Map();
  }

  /**
   * Calls `fn(event)` for every event `name` (the vendor's kebab-case names).
   * @param {string} name
   * @param {Function} fn
   */
  addEventListener(name, fn) {
    if (typeof fn !== 'function') return;
    let set = this._listeners.get(name);
    if (!set) {
      set = new Set();
      this._listeners.set(name, set);
    }
    set.add(fn);
  }

  /**
   * Removes a listener added with {@link addEventListener}.
   * @param {string} name
   * @param {Function} fn
   */
  removeEventListener(name, fn) {
    this._listeners.get(name)?.delete(fn);
  }

  /**
   * Removes every listener of `name`, or every listener when `name` is omitted.
   * @param {string} [name]
   */
  removeAllEventListeners(name) {
    if (name === undefined) this._listeners.clear();
    else this._listeners.delete(name);
  }

  /**
   * Dispatches a vendor event object (`{type, message, …}`) to the listeners of its type. A
   * listener that throws does not stop the others.
   * @param {{type: string, message?: unknown}} event
   */
  dispatchEvent(event) {
    const set = this._listeners.get(event.type);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(event, event.message);
      } catch (e) {
        reportAsync(e);
      }
    }
  }

  /**
   * @param {string} type
   * @param {unknown} message
   * @param {Record<string, unknown>} [extra]
   * @internal
   */
  _emit(type, message, extra) {
    this.dispatchEvent(vendorEvent(type, message, extra));
  }
}

// -------------------------------------------------------------------------------------------
// Streams.

/**
 * The vendor's `EnxStream`, as far as it means something on Alcove: the local microphone
 * (`muteAudio` / `unmuteAudio` switch its track), attributes, and the screen-share / canvas
 * pseudo streams (ids 101 / 102). Playback is the SDK's own (hidden `<audio>` elements), so
 * `play()` is a no-op; video calls answer "Not supported".
 */
export class EnxStream extends VendorTarget {
  /**
   * @param {{audio?: boolean, video?: boolean, data?: boolean, screen?: boolean, canvas?: boolean,
   *   attributes?: Record<string, unknown>, id?: number, clientId?: string}} [spec]
   * @param {EnxRoom | null} [room]
   * @param {boolean} [local]
   */
  constructor(spec = {}, room = null, local = true) {
    super();
    /** @internal */
    this._spec = spec ?? {};
    /** @internal */
    this._room = room;
    /** True for this client's own stream. */
    this.local = local;
    /** The client the stream belongs to (the local client once connected). */
    this.clientId = spec.clientId ?? room?.clientId ?? '';
  }

  /** The stream id: the slot of a remote audio stream, 101 screen share, 102 canvas, 1000 the local microphone (1001 in a break-out room). */
  getID() {
    return this._spec.id ?? LOCAL_STREAM_ID;
  }

  /** The attributes given at creation (`{name, …}`). */
  getAttributes() {
    return this._spec.attributes ?? {};
  }

  /** Does the stream carry audio? */
  ifAudio() {
    return this._spec.audio !== false && !this.ifScreen() && !this.ifCanvas();
  }

  /** Does the stream carry camera video? (never on Alcove's facade) */
  ifVideo() {
    return false;
  }

  /** Is this the screen-share stream? */
  ifScreen() {
    return !!this._spec.screen;
  }

  /** Is this the canvas stream? */
  ifCanvas() {
    return !!this._spec.canvas;
  }

  /** Is there a data channel? (no: Alcove has none) */
  ifData() {
    return false;
  }

  /** The `MediaStream` behind it (the microphone, or the share / canvas track), when known. */
  get stream() {
    const alcove = this._room?._alcove;
    if (!alcove) return null;
    if (this.ifScreen()) return trackStream(alcove.shareTrack());
    if (this.ifCanvas()) return trackStream(alcove.canvasTrack());
    if (!this.local) return trackStream(alcove.slotTrack(this.getID()));
    return alcove.media?.micStream ?? null;
  }

  /**
   * The vendor's player: puts a player element `#stream<ID>` (class `enx-player`) into the
   * element `elementId`, as the vendor's player does, so app code that finds players by that id
   * works. Audio is played by the SDK already (hidden `<audio>` per slot), so an audio player is
   * an empty box; the screen-share and canvas streams get a `<video>`. Without a DOM, or
   * without that element, it does nothing; it never throws.
   * @param {string} [elementId]
   * @param {unknown} [_options]
   */
  play(elementId, _options) {
    const doc = globalThis.document;
    if (!doc || typeof elementId !== 'string') return;
    const container = doc.getElementById(elementId);
    if (!container) return;
    const id = `stream${this.getID()}`;
    let player = doc.getElementById(id);
    if (!player) {
      player = doc.createElement('div');
      player.id = id;
      player.className = 'enx-player';
    }
    if (player.parentNode !== container) container.appendChild(player);
    if (this.ifScreen() || this.ifCanvas()) {
      let video = /** @type {HTMLVideoElement | null} */ (player.querySelector('video'));
      if (!video) {
        video = doc.createElement('video');
        video.autoplay = true;
        video.muted = true;
        video.playsInline = true;
        player.appendChild(video);
      }
      const stream = this.stream;
      if (stream) video.srcObject = stream;
    }
    /** The player element of the latest `play()`. */
    this.player = player;
  }

  /** Nothing to stop: leave with `room.disconnect()`. */
  stop() {}

  /**
   * Mutes the local microphone (its track stops sending). Callback `{result: 0}`.
   * @param {Function} [callback]
   */
  muteAudio(callback) {
    this._setMic(false, callback);
  }

  /**
   * Unmutes the local microphone. Callback `{result: 0}`.
   * @param {Function} [callback]
   */
  unmuteAudio(callback) {
    this._setMic(true, callback);
  }

  /**
   * @param {boolean} enabled
   * @param {unknown} callback
   * @internal
   */
  _setMic(enabled, callback) {
    const mic = this.local ? this._room?._alcove?.media?.micStream : null;
    if (!mic) {
      callLater(callback, vendorError(1159, 'Stream not found', 'no local microphone on this connection'));
      return;
    }
    for (const t of mic.getAudioTracks()) t.enabled = enabled;
    callLater(callback, { result: 0, msg: enabled ? 'Audio unmuted' : 'Audio muted' });
  }
}

/** @param {MediaStreamTrack | null} track */
function trackStream(track) {
  return track && typeof MediaStream === 'function' ? new MediaStream([track]) : null;
}

const STREAM_UNSUPPORTED = ['muteVideo', 'unmuteVideo', 'setVideoQuality', 'switchCamera', 'switchMicrophone', 'applyVideoBackground', 'sendData'];
for (const name of STREAM_UNSUPPORTED) {
  Object.defineProperty(EnxStream.prototype, name, {
    /** @param {...unknown} args */
    value(...args) {
      callLater(lastCallback(args), vendorError(VendorError.NOT_SUPPORTED, 'Not supported', `EnxStream.${name} is not supported by Alcove`));
    },
    writable: true,
    configurable: true,
  });
}

// -------------------------------------------------------------------------------------------
// Rooms.

/**
 * The vendor's `EnxRoom`. The parent room comes from `EnxRtc.joinRoom` (or
 * `EnxRtc.EnxRoom({token}).connect()`); a break-out room comes from `joinBreakOutRoom` (or a
 * forced join, event `breakout-room-connected`) and has `isBreakOutRoom` true.
 */
export class EnxRoom extends VendorTarget {
  /**
   * @param {{token?: string, signal_url?: string, urls?: unknown}} [spec] `token`: an Alcove
   *   token (`POST /v1/rooms/{room_id}/tokens`)
   */
  constructor(spec = {}) {
    super();
    /** @internal */
    this._spec = spec ?? {};
    /** @type {import('../src/room.js').Room | null} The Alcove room handle (for Alcove's own features). */
    this._alcove = null;
    /** True for a break-out room object. */
    this.isBreakOutRoom = false;
    /** @type {EnxRoom | null} The parent room (break-out room objects only). */
    this.parentRoom = null;
    /** @type {string | null} The break-out room id (break-out room objects only). @internal */
    this._brId = null;
    /** @type {any} The `connectedBreakoutRoom` info (break-out room objects only). @internal */
    this._brInfo = null;
    /** Connected now? */
    this.connected = false;
    /** Empty: Alcove has no waiting room. */
    this.waitRoom = false;
    /** @type {Map<string, unknown>} Awaited participants (none: Alcove has no lobby). */
    this.awaitedParticipants = new Map();
    /**
     * The remote streams of this room, as the vendor's `remoteStreams` map: one per audio slot
     * whose talker is in this room (id = the slot, the `streamId` of `active-talkers-updated`),
     * plus the screen share (101) and the canvas (102) while one runs here.
     */
    this.remoteStreams = {
      /** @returns {Record<number, EnxStream>} */
      getAll: () => this._remoteStreams(),
      /** @param {number} id */
      get: (id) => this._remoteStreams()[id],
    };
    /** @type {Map<string, EnxStream>} Remote stream objects, kept per (id, client). @internal */
    this._remoteCache = new Map();
    /** Local streams published in this room. */
    this.localStreams = new Map();
    /** @type {EnxStream | null} @internal */
    this._localStream = null;
    /** Flags a `muteRoom` through the facade set, which `resumeRoom` lifts. @internal */
    this._vendorMuted = { audio: false, video: false };
    /** @type {Map<string, EnxRoom>} Break-out room objects by room id (parent only). @internal */
    this._brs = new Map();
    /** @type {EnxRoom | null} The break-out room this client is in (parent only). @internal */
    this._currentBr = null;
    /** Rooms announced as destroyed to this client (each once). @internal */
    this._destroyed = new Set();
    /** Where each other client is (break-out room id or null), to tell joins from leaves. @internal */
    this._where = new Map();
    /** @type {Map<string, any>} The latest user JSON of everyone seen (for departures). @internal */
    this._known = new Map();
    /** `disconnect()` was called. @internal */
    this._leaving = false;
  }

  /** The underlying Alcove `Room` (the parent's handle also for a break-out room object). */
  get alcove() {
    return this._alcove;
  }

  /** This connection's client id. */
  get clientId() {
    return this._alcove?.clientId ?? '';
  }

  /** The room id (a break-out room object: the break-out room's). */
  get roomID() {
    return this.isBreakOutRoom ? this._brId ?? '' : this._alcove?.roomId ?? '';
  }

  /** Same as {@link roomID}. */
  get roomId() {
    return this.roomID;
  }

  /** The room's settings (a break-out room: `room_type: "breakout-room"` and its definition). */
  get roomSettings() {
    if (this.isBreakOutRoom) {
      const b = this._brInfo ?? {};
      return { mode: 'group', room_type: 'breakout-room', participants: b.participants, audio: b.audio, video: false, canvas: b.canvas, share: b.share };
    }
    return this._alcove?.settings ?? {};
  }

  /** The room's meta JSON, as in the vendor's `room-connected`. */
  get roomJson() {
    return this._roomMeta();
  }

  /** This client's user JSON. */
  get me() {
    return vendorUser(this._alcove?.me) ?? { clientId: '', name: '', role: '' };
  }

  /**
   * Everyone in this room, by clientId (the vendor's `userList`). The parent lists the whole
   * family; a break-out room its members.
   * @returns {Map<string, any>}
   */
  get userList() {
    const a = this._alcove;
    const out = new Map();
    if (!a) return out;
    for (const [id, u] of a.users) {
      if (this.isBreakOutRoom && breakoutIdOf(u.location) !== this._brId) continue;
      out.set(id, vendorUser(u));
    }
    return out;
  }

  // ----- connection -----

  /**
   * Connects with the spec's token (the vendor's two-step form `EnxRtc.EnxRoom({token})`
   * then `room.connect(reconnectOpt)`); dispatches `room-connected` or `room-error`.
   * @param {{allow_reconnect?: boolean}} [reconnectOpt]
   */
  connect(reconnectOpt) {
    if (this.isBreakOutRoom) return;
    this._join(this._spec.token, this._spec, reconnectOpt).then((r) => {
      if (r.error) this._emit('room-error', r.error, r.error);
      else this._emit('room-connected', this._roomMeta(), this._roomMeta());
    }, reportAsync);
  }

  /**
   * @param {unknown} token
   * @param {any} config
   * @param {{allow_reconnect?: boolean}} [reconnectOpt]
   * @returns {Promise<{error: any}>}
   * @internal
   */
  async _join(token, config, reconnectOpt) {
    const url = signalUrlFor(config);
    if (!url) return { error: vendorError(VendorError.CONNECTION_FAILURE, 'Server connection failure', 'no signalling URL: pass config.signal_url (the token response carries it) or serve the page from the Alcove server') };
    if (typeof token !== 'string' || token === '') return { error: vendorError(VendorError.INVALID_PARAMETERS, 'Invalid options/parameters', 'token missing') };
    const c = config ?? {};
    /** @type {Record<string, unknown>} */
    const options = { ...(c.alcove ?? {}) };
    if (c.audio === false && options.audio === undefined) options.audio = false;
    if (reconnectOpt && reconnectOpt.allow_reconnect === false) options.reconnect = false;
    try {
      const alcove = await connect(url, token, options);
      this._attach(alcove);
      this._localStream = new EnxStream({ audio: c.audio !== false, video: false, attributes: c.attributes ?? {}, clientId: alcove.clientId }, this, true);
      return { error: null };
    } catch (e) {
      return { error: errorOf(e) };
    }
  }

  /**
   * Leaves: on the parent, the whole family (closes the connection); on a break-out room
   * object, the break-out room (back to the parent, as the vendor's `disconnect()` does).
   */
  disconnect() {
    if (this.isBreakOutRoom) {
      const parent = this.parentRoom;
      const handle = parent?._alcove?.breakoutHandle(this._brId ?? '');
      if (!handle || !this.connected) return;
      handle.disconnect().catch((e) => {
        parent?._emit('breakout-room-error', errorOf(e), errorOf(e));
      });
      return;
    }
    this._leaving = true;
    this._alcove?.disconnect();
  }

  /**
   * Alcove subscribes every client to its room's audio: `subscribe` only answers success.
   * @param {unknown} [_stream]
   * @param {unknown} [_options]
   * @param {Callback} [callback]
   */
  subscribe(_stream, _options, callback) {
    callLater(lastCallback([_stream, _options, callback]), { result: 0, msg: 'Subscribed' });
  }

  /**
   * The microphone is sent from `joinRoom` on (config `audio`); `publish` answers its stream
   * id. Callback `(streamId)`.
   * @param {unknown} [stream]
   * @param {unknown} [_options]
   * @param {Callback} [callback]
   */
  publish(stream, _options, callback) {
    const cb = lastCallback([stream, _options, callback]);
    if (!this._alcove) {
      callLater(cb, vendorError(VendorError.NOT_CONNECTED, 'Room not connected'));
      return;
    }
    const id = stream instanceof EnxStream ? stream.getID() : (this._localStream?.getID() ?? LOCAL_STREAM_ID);
    if (stream instanceof EnxStream) this.localStreams.set(id, stream);
    callLater(cb, id);
  }

  /**
   * Nothing to unpublish separately: mute with `muteAudio`, or leave. Callback `{result: 0}`.
   * @param {unknown} [_stream]
   * @param {Callback} [callback]
   */
  unpublish(_stream, callback) {
    callLater(lastCallback([_stream, callback]), { result: 0 });
  }

  /**
   * Shares the screen in the room this client is in. Callback `{result}`.
   * @param {Function} [callback]
   * @returns {EnxStream}
   */
  startScreenShare(callback) {
    const s = new EnxStream({ id: SHARE_STREAM_ID, screen: true, clientId: this.clientId }, this, true);
    this._call((a) => a.shareScreen(), callback, () => ({ result: 0, msg: 'Screen share started', streamId: SHARE_STREAM_ID }));
    return s;
  }

  /**
   * Stops sharing the screen. Callback `{result}`.
   * @param {Function} [callback]
   */
  stopScreenShare(callback) {
    this._call((a) => a.stopShare(), callback, () => ({ result: 0, msg: 'Screen share stopped' }));
  }

  // ----- break-out rooms -----

  /**
   * `createBreakOutRoom(roomDefinition, callback)`: callback `{result: 0, msg: {rooms: [id…]}}`
   * or the error. `max_rooms` defaults to 1.
   * @param {{participants: number, audio: boolean, video: boolean, canvas: boolean, share: boolean, max_rooms?: number}} def
   * @param {Function} [callback]
   */
  createBreakOutRoom(def, callback) {
    if (this._refuseInBreakout(callback)) return;
    if (!def || typeof def !== 'object') {
      callLater(callback, vendorError(VendorError.INVALID_PARAMETERS, 'Invalid options/parameters', 'a room definition object is required'));
      return;
    }
    const body = { ...def, max_rooms: def.max_rooms ?? 1 };
    this._call((a) => a.createBreakOutRoom(body), callback);
  }

  /**
   * `createAndInviteBreakOutRoom(roomDefinition, callback)`: creates the rooms and spreads the
   * parent's participants over them, force-joined unless `force_join: false` (as the vendor's
   * Web SDK does). Callback `{result: 0, msg: {rooms, invitations, unassigned}}`.
   * @param {any} def
   * @param {Function} [callback]
   */
  createAndInviteBreakOutRoom(def, callback) {
    if (this._refuseInBreakout(callback)) return;
    if (!def || typeof def !== 'object') {
      callLater(callback, vendorError(VendorError.INVALID_PARAMETERS, 'Invalid options/parameters', 'a room definition object is required'));
      return;
    }
    const body = { ...def, max_rooms: def.max_rooms ?? 1, force_join: def.force_join ?? true };
    this._call((a) => a.createAndInviteBreakoutRoom(body), callback);
  }

  /**
   * `inviteToBreakoutRoom({clients, room_id, force_join}, callback)`: callback
   * `{result: 0, msg: "Success", invited, failed}`.
   * @param {{clients: string[], room_id: string, force_join?: boolean}} invitee
   * @param {Function} [callback]
   */
  inviteToBreakoutRoom(invitee, callback) {
    if (this._refuseInBreakout(callback)) return;
    if (!invitee || typeof invitee !== 'object' || !invitee.room_id) {
      callLater(callback, vendorError(VendorError.INVALID_PARAMETERS, 'Invalid options/parameters', 'room_id is required'));
      return;
    }
    const clients = Array.isArray(invitee.clients) ? invitee.clients : [invitee.clients].filter(Boolean);
    this._call((a) => a.inviteToBreakOutRoom({ ...invitee, clients }), callback);
  }

  /**
   * `joinBreakOutRoom({role, room_id}, streamInfo, callback)`: callback `(result, error)`;
   * `result` is `{room, roomData, streams, localStream}` where `room` is the break-out room's
   * own `EnxRoom` (its `room-connected` follows the callback).
   * @param {{role?: string, room_id: string}} joinee
   * @param {{audio?: boolean, video?: boolean}} [streamInfo]
   * @param {Function} [callback]
   */
  joinBreakOutRoom(joinee, streamInfo, callback) {
    const cb = lastCallback([joinee, streamInfo, callback]);
    if (this.isBreakOutRoom) {
      callLater(cb, null, vendorError(VendorError.BREAKOUT_NOT_AVAILABLE, 'Break-Out Room not available', 'join from the parent room'));
      return;
    }
    if (!this._alcove) {
      callLater(cb, null, vendorError(VendorError.NOT_CONNECTED, 'Room not connected'));
      return;
    }
    if (!joinee || typeof joinee !== 'object' || !joinee.room_id) {
      callLater(cb, null, vendorError(VendorError.INVALID_PARAMETERS, 'Invalid options/parameters', 'room_id and role are required'));
      return;
    }
    const info = typeof streamInfo === 'object' && streamInfo ? streamInfo : {};
    this._alcove.joinBreakoutRoom(
      { role: /** @type {any} */ (joinee.role ?? 'participant'), room_id: joinee.room_id },
      { audio: info.audio ?? true, video: !!info.video },
    ).then(() => {
      const br = this._brs.get(joinee.room_id);
      if (!br) throw new AlcoveError('no break-out room object', { code: 'protocol' });
      callLater(cb, br._joinResult(), null);
      // The app adds its listeners in the callback: room-connected comes after it.
      Promise.resolve().then(() => setTimeout(() => br._announceConnected(), 0));
    }, (e) => {
      const err = errorOf(e);
      this._emit('breakout-room-error', err, err);
      callLater(cb, null, err);
    });
  }

  /**
   * `rejectBreakoutRoomInvite(roomId, callback)`: callback `{result: 0, msg: "Success"}`.
   * @param {string} roomId
   * @param {Function} [callback]
   */
  rejectBreakoutRoomInvite(roomId, callback) {
    if (this._refuseInBreakout(callback)) return;
    if (!roomId) {
      callLater(callback, vendorError(VendorError.INVALID_PARAMETERS, 'Invalid options/parameters', 'room id is required'));
      return;
    }
    this._call((a) => a.rejectBreakOutRoom(roomId), callback);
  }

  /**
   * `pauseRoom(callback)`: stop hearing the parent and being heard there. Callback
   * `{result: 0, msg: "Room paused"}`.
   * @param {Function} [callback]
   */
  pauseRoom(callback) {
    if (this._refuseInBreakout(callback)) return;
    this._call((a) => a.pause(), callback);
  }

  /**
   * `resumeRoom(callback)`: hear the parent and be heard there again; also lifts what a
   * `muteRoom` through this facade muted (the vendor's resume unmutes the parent). Callback
   * `{result: 0, msg: "Room resumed"}`.
   * @param {Function} [callback]
   */
  resumeRoom(callback) {
    if (this._refuseInBreakout(callback)) return;
    this._call(async (a) => {
      const ack = await a.resume();
      const m = this._vendorMuted;
      if (m.audio || m.video) {
        await a.unmuteRoom({ audio: m.audio, video: m.video });
        this._vendorMuted = { audio: false, video: false };
      }
      return ack;
    }, callback);
  }

  /**
   * `muteRoom({audio, video}, callback)`: the flags set to true stop reaching the parent.
   * Callback `{result: 0, msg: "Room muted"}`.
   * @param {{audio?: boolean, video?: boolean}} info
   * @param {Function} [callback]
   */
  muteRoom(info, callback) {
    if (this._refuseInBreakout(callback)) return;
    const flags = { audio: !!(info && info.audio), video: !!(info && info.video) };
    this._call(async (a) => {
      const ack = await a.muteRoom(flags);
      this._vendorMuted = { audio: this._vendorMuted.audio || flags.audio, video: this._vendorMuted.video || flags.video };
      return ack;
    }, callback);
  }

  /**
   * `unMuteRoom({audio, video}, callback)`: the flags set to true reach the parent again (the
   * vendor's documented meaning). With no flag true (`{audio: false, video: false}`, what the
   * vendor's Web SDK sends to resume), whatever is muted is unmuted. Callback
   * `{result: 0, msg: "Room unmuted"}`.
   * @param {{audio?: boolean, video?: boolean}} info
   * @param {Function} [callback]
   */
  unMuteRoom(info, callback) {
    if (this._refuseInBreakout(callback)) return;
    let flags = { audio: !!(info && info.audio), video: !!(info && info.video) };
    if (!flags.audio && !flags.video) flags = { audio: true, video: true };
    this._call(async (a) => {
      const ack = await a.unmuteRoom(flags);
      this._vendorMuted = { audio: this._vendorMuted.audio && !flags.audio, video: this._vendorMuted.video && !flags.video };
      return ack;
    }, callback);
  }

  /**
   * `pinUsers(clientIds, callback)` (moderators): pins these clients' cameras in the parent
   * room (speakers first, then pinned, then recent speakers on every video slot). Callback
   * `{result: 0, msg: "Success"}`; refused with the server's code (5003 not a moderator, 5126
   * a client that is not in the room, 1155 an empty list or more than 16 pinned). Everyone
   * gets `update-pin-users`.
   * @param {string[]} clientIds
   * @param {Function} [callback]
   */
  pinUsers(clientIds, callback) {
    this._pinCall('pinUsers', clientIds, callback);
  }

  /**
   * `unpinUsers(clientIds, callback)` (moderators): unpins these clients' cameras. Callback
   * and refusals as {@link EnxRoom#pinUsers} (without the bound).
   * @param {string[]} clientIds
   * @param {Function} [callback]
   */
  unpinUsers(clientIds, callback) {
    this._pinCall('unpinUsers', clientIds, callback);
  }

  /**
   * @param {'pinUsers' | 'unpinUsers'} method
   * @param {unknown} clientIds
   * @param {Function | undefined} callback
   * @internal
   */
  _pinCall(method, clientIds, callback) {
    if (this._refuseInBreakout(callback)) return;
    if (!Array.isArray(clientIds) || !clientIds.every((c) => typeof c === 'string')) {
      callLater(callback, vendorError(VendorError.INVALID_PARAMETERS, 'Invalid options/parameters', 'an array of client ids is required'));
      return;
    }
    this._call((a) => a[method](clientIds), callback);
  }

  /**
   * `clearAllBreakOutSession(callback)`: leave every break-out room and resume the parent.
   * Callback `{result: 0, msg: "Breakout Room disconnected", room_id}`.
   * @param {Function} [callback]
   */
  clearAllBreakOutSession(callback) {
    if (this._refuseInBreakout(callback)) return;
    this._call((a) => a.clearAllBreakOutSession(), callback);
  }

  /**
   * `destroyAllBreakOutSession(callback)` (moderators): end every break-out room; members
   * return to the parent, resumed and unmuted. Callback `{result: 0, msg: {rooms}}`; the
   * caller also gets `breakout-room-destroyed` per room.
   * @param {Function} [callback]
   */
  destroyAllBreakOutSession(callback) {
    if (this._refuseInBreakout(callback)) return;
    this._call((a) => a.destroyAllBreakOutSession(), callback);
  }

  // ----- internals -----

  /**
   * The remote stream objects of this room now.
   * @returns {Record<number, EnxStream>}
   * @internal
   */
  _remoteStreams() {
    const a = this._alcove;
    /** @type {Record<number, EnxStream>} */
    const out = {};
    if (!a) return out;
    const here = this.isBreakOutRoom ? this._brId : a.roomId;
    /**
     * @param {number} id
     * @param {{clientId: string, name: string}} who
     * @param {Record<string, unknown>} kind
     */
    const streamOf = (id, who, kind) => {
      const key = `${id}/${who.clientId}`;
      let s = this._remoteCache.get(key);
      if (!s) {
        s = new EnxStream({ id, clientId: who.clientId, attributes: { name: who.name }, ...kind }, this, false);
        this._remoteCache.set(key, s);
      }
      return s;
    };
    if (a.talkersRoomId === here && this.connected) {
      for (const [slot, who] of a.talkers) out[slot] = streamOf(slot, who, { audio: true });
    }
    if (a.share && a.share.room_id === here && a.share.clientId !== a.clientId) out[SHARE_STREAM_ID] = streamOf(SHARE_STREAM_ID, a.share, { screen: true, audio: false });
    if (a.canvas && a.canvas.room_id === here && a.canvas.clientId !== a.clientId) out[CANVAS_STREAM_ID] = streamOf(CANVAS_STREAM_ID, a.canvas, { canvas: true, audio: false });
    return out;
  }

  /**
   * Runs an Alcove call and answers the vendor callback with the acknowledgement object
   * (`{result, msg, …}`) or the error object.
   * @param {(alcove: Room) => unknown} run
   * @param {Function | undefined} callback
   * @param {(ack: any) => unknown} [shape]
   * @internal
   */
  _call(run, callback, shape) {
    const alcove = this._alcove;
    if (!alcove) {
      callLater(callback, vendorError(VendorError.NOT_CONNECTED, 'Room not connected'));
      return;
    }
    let p;
    try {
      p = Promise.resolve(run(alcove));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then((ack) => callLater(callback, shape ? shape(ack) : stripFrame(ack)), (e) => callLater(callback, errorOf(e)));
  }

  /**
   * Break-out management is made from the parent room (the vendor refuses it on a break-out
   * room object with 5067).
   * @param {unknown} callback
   * @internal
   */
  _refuseInBreakout(callback) {
    if (!this.isBreakOutRoom) return false;
    callLater(callback, vendorError(VendorError.BREAKOUT_NOT_AVAILABLE, 'Break-Out Room not available', 'call this on the parent room'));
    return true;
  }

  /** The vendor's room meta JSON for `room-connected`. @internal */
  _roomMeta() {
    const a = this._alcove;
    const users = [...this.userList.values()];
    if (this.isBreakOutRoom) {
      const b = this._brInfo ?? {};
      return {
        streams: [],
        users,
        userList: users,
        me: this.me,
        clientId: this.clientId,
        id: this._brId,
        room: { room_id: this._brId, name: b.name, owner: b.owner, mode: 'group', settings: this.roomSettings, room_type: 'breakout-room' },
        members: b.members ?? [],
      };
    }
    return {
      streams: [],
      users,
      userList: users,
      me: this.me,
      clientId: this.clientId,
      id: a?.roomId,
      room: { room_id: a?.roomId, name: a?.name, mode: a?.settings?.mode, settings: a?.settings ?? {} },
    };
  }

  /** The joinRoom / joinBreakOutRoom success object. @internal */
  _joinResult() {
    const local = this._localStream ?? new EnxStream({ audio: true, video: false, clientId: this.clientId }, this, true);
    this._localStream = local;
    return { room: this, roomData: this._roomMeta(), streams: [], localStream: local, localBreakoutStream: local, publishId: local.getID() };
  }

  /** Dispatches `room-connected` once per join. @internal */
  _announceConnected() {
    if (!this.connected || this._announced) return;
    /** @internal */
    this._announced = true;
    const meta = this._roomMeta();
    this._emit('room-connected', meta, meta);
  }

  /**
   * Takes the connected Alcove room: its frames become vendor events.
   * @param {import('../src/room.js').Room} alcove
   * @internal
   */
  _attach(alcove) {
    this._alcove = alcove;
    this.connected = true;
    for (const [id, u] of alcove.users) {
      this._known.set(id, vendorUser(u));
      if (id !== alcove.clientId) this._where.set(id, breakoutIdOf(u.location));
    }
    alcove.on('frame', (f) => {
      try {
        this._onFrame(f);
      } catch (e) {
        reportAsync(e);
      }
    });
    alcove.on('reconnecting', (d) => {
      if (d && d.attempt === 1) this._emit('network-disconnected', { code: d.code, reason: d.reason });
    });
    alcove.on('reconnected', () => {
      // Notifications sent during the drop are not replayed: a break-out room left meanwhile
      // (destroy-all, a timer) is closed from the resumed state.
      const br = this._currentBr;
      if (br && br.connected && breakoutIdOf(alcove.location) !== br._brId) {
        br._closed(CAUSE_NORMAL, { reason: 'destroyed' });
        this._currentBr = null;
      }
      for (const [id, u] of alcove.users) if (id !== alcove.clientId) this._where.set(id, breakoutIdOf(u.location));
      this._emit('network-reconnected', { result: 0 });
    });
    alcove.on('close', (d) => {
      const cause = this._leaving ? CAUSE_NORMAL : CAUSE_UNEXPECTED;
      for (const br of this._brs.values()) br._closed(cause);
      if (!this.connected) return;
      this.connected = false;
      const message = { cause: { ...cause }, code: d?.code, reason: d?.reason };
      this._emit('room-disconnected', message);
    });
  }

  /**
   * The break-out room object for `f` (a `connectedBreakoutRoom`): a new `EnxRoom` per join.
   * @param {any} f
   * @internal
   */
  _newBreakout(f) {
    const br = new EnxRoom();
    br.isBreakOutRoom = true;
    br.parentRoom = this;
    br._alcove = this._alcove;
    br._brId = f.room_id;
    br._brInfo = stripFrame(f);
    br._localStream = new EnxStream({ id: LOCAL_BREAKOUT_STREAM_ID, audio: true, video: false, attributes: this._localStream?.getAttributes() ?? {}, clientId: this.clientId }, br, true);
    br.connected = true;
    this._brs.set(f.room_id, br);
    this._currentBr = br;
    return br;
  }

  /**
   * This break-out room object's connection ended.
   * @param {{cause: number, msg: string}} cause
   * @param {Record<string, unknown>} [extra]
   * @internal
   */
  _closed(cause, extra) {
    if (!this.connected) return;
    this.connected = false;
    this._emit('room-disconnected', { cause: { ...cause }, room_id: this._brId, ...(extra ?? {}) });
  }

  /**
   * The room object a frame about `roomId` is for (the parent's id → the parent).
   * @param {string | undefined} roomId
   * @returns {EnxRoom | null}
   * @internal
   */
  _roomFor(roomId) {
    if (!roomId || roomId === this._alcove?.roomId) return this;
    const br = this._brs.get(roomId);
    return br && br.connected ? br : null;
  }

  /**
   * Announces a destroyed break-out room once.
   * @param {string | undefined} roomId
   * @internal
   */
  _destroyedOnce(roomId) {
    if (!roomId || this._destroyed.has(roomId)) return;
    this._destroyed.add(roomId);
    this._emit('breakout-room-destroyed', { room_id: roomId });
  }

  /**
   * One Alcove frame → the vendor's events.
   * @param {any} f
   * @internal
   */
  _onFrame(f) {
    const me = this._alcove?.clientId;
    switch (f.type) {
      case 'userConnected': {
        this._where.set(f.clientId, breakoutIdOf(f.location));
        const u = vendorUser(f) ?? {};
        this._known.set(f.clientId, u);
        this._emit('user-connected', u, u);
        break;
      }
      case 'userDisconnected': {
        const was = this._where.get(f.clientId);
        this._where.delete(f.clientId);
        const u = { ...(this._known.get(f.clientId) ?? {}), clientId: f.clientId, name: f.name };
        this._known.delete(f.clientId);
        if (was) this._brs.get(was)?._emit('user-disconnected', u, u);
        this._emit('user-disconnected', u, u);
        break;
      }
      case 'userMoved': {
        if (f.clientId === me) break;
        const from = this._where.get(f.clientId) ?? null;
        const to = breakoutIdOf(f.location);
        this._where.set(f.clientId, to);
        const name = this._alcove?.users.get(f.clientId)?.name ?? '';
        if (from && from !== to) this._emit('user-disconnected-breakout-room', { clientId: f.clientId, name, room: from, room_id: from });
        if (to && to !== from) this._emit('user-joined-breakout-room', { clientId: f.clientId, client: f.clientId, name, room_id: to });
        break;
      }
      case 'userJoinedBreakoutRoom': {
        if (f.clientId === me) break;
        const from = this._where.get(f.clientId) ?? null;
        this._where.set(f.clientId, f.room_id);
        if (from !== f.room_id) this._emit('user-joined-breakout-room', { clientId: f.clientId, client: f.clientId, name: f.name, room_id: f.room_id });
        const br = this._roomFor(f.room_id);
        const u = { ...(vendorUser(this._alcove?.users.get(f.clientId)) ?? {}), clientId: f.clientId, name: f.name };
        if (br && br !== this) br._emit('user-connected', u, u);
        break;
      }
      case 'didUserDisconnectedFromBreakoutRoom': {
        if (f.clientId === me) break;
        const br = this._brs.get(f.room);
        const u = { ...(this._known.get(f.clientId) ?? {}), clientId: f.clientId, name: f.name };
        if (br && br.connected) br._emit('user-disconnected', u, u);
        if (this._where.get(f.clientId) === f.room) {
          this._where.set(f.clientId, null);
          this._emit('user-disconnected-breakout-room', { clientId: f.clientId, name: f.name, room: f.room, room_id: f.room });
        }
        break;
      }
      case 'breakoutRoomCreated':
        this._emit('breakout-room-created', stripFrame(f));
        break;
      case 'breakoutRoomInvited':
        this._emit('breakout-room-invited', stripFrame(f));
        break;
      case 'breakoutRoomInviteRejected':
        this._emit('breakout-invite-rejected', stripFrame(f));
        break;
      case 'invitationForBreakoutRoom': {
        const requestor = f.requestor ? { id: f.requestor.clientId, ...f.requestor } : null;
        const message = { room_id: f.room_id, requestor, force_join: !!f.force_join };
        this._emit(f.force_join ? 'breakout-room-joining' : 'join-breakout-room', message);
        break;
      }
      case 'connectedBreakoutRoom': {
        if (f.result !== 0) break;
        const old = this._currentBr;
        const br = this._newBreakout(f);
        if (old && old !== br && old.connected) old._closed(CAUSE_NORMAL, { reason: 'moved' });
        if (f.id === undefined) {
          // A forced join (invitation with force_join): the vendor's SDK joins by itself and
          // tells the app on the parent room.
          const result = br._joinResult();
          this._emit('breakout-room-connected', result, result);
          setTimeout(() => br._announceConnected(), 0);
        }
        break;
      }
      case 'didDisconnectedBreakoutRoom': {
        if (f.result !== 0 || f.reason === 'owner_notice') break;
        const roomId = f.room_id;
        if (f.reason === 'moved') {
          const br = this._brs.get(roomId);
          if (br) br._closed(CAUSE_NORMAL, { reason: 'moved' });
          break;
        }
        if (!roomId) break;
        const br = this._brs.get(roomId);
        if (br) br._closed(CAUSE_NORMAL, { reason: f.reason ?? 'left' });
        if (this._currentBr === br) this._currentBr = null;
        const message = { room_id: roomId, moderatorId: f.moderatorId ?? '', msg: f.msg ?? 'Breakout Room disconnected', result: 0, reason: f.reason ?? 'left' };
        this._emit('breakout-room-disconnect', message);
        this._emit('breakout-room-disconnected', message);
        if (f.reason === 'destroyed' || f.reason === 'timeout') {
          this._vendorMuted = { audio: false, video: false }; // the return unmutes
          this._destroyedOnce(roomId);
        }
        break;
      }
      case 'didDestroyedBreakoutRoom':
        this._destroyedOnce(f.room_id);
        break;
      case 'breakoutInvitationWithdrawn':
        this._destroyedOnce(f.room_id);
        break;
      case 'ackDestroyAllBreakOutSession':
        if (f.result === 0 && f.msg && Array.isArray(f.msg.rooms)) for (const r of f.msg.rooms) this._destroyedOnce(r);
        break;
      case 'activeTalkersUpdated': {
        const target = this._roomFor(f.room_id);
        if (!target) break;
        const activeList = (Array.isArray(f.talkers) ? f.talkers : []).map((/** @type {any} */ t) => ({
          clientId: t.clientId, name: t.name, streamId: t.slot, mediatype: 'audio', videomuted: true, reason: 'user',
          pinned: !!this._alcove?.pinnedUsers.includes(t.clientId),
        }));
        target._emit('active-talkers-updated', { activeList, active: activeList.length > 0, room_id: f.room_id });
        break;
      }
      case 'updatePinUsers':
        // The vendor's `update-pin-users` room management event (to the parent room).
        this._emit('update-pin-users', { clientIds: [...(Array.isArray(f.clientIds) ? f.clientIds : [])], room_id: f.room_id });
        break;
      case 'shareStarted':
      case 'shareStopped':
      case 'canvasStarted':
      case 'canvasStopped': {
        const target = this._roomFor(f.room_id);
        if (!target) break;
        const canvas = f.type.startsWith('canvas');
        const name = canvas ? (f.type === 'canvasStarted' ? 'canvas-started' : 'canvas-stopped') : (f.type === 'shareStarted' ? 'share-started' : 'share-stopped');
        target._emit(name, { clientId: f.clientId, name: f.name, streamId: canvas ? CANVAS_STREAM_ID : SHARE_STREAM_ID, room_id: f.room_id });
        break;
      }
      case 'roomDisconnected':
        // The room ended (deleted, or the server shut down): the close follows.
        this._endedBy = stripFrame(f);
        break;
      default:
        break;
    }
  }
}

/**
 * Vendor `EnxRoom` methods Alcove has no counterpart for. Each answers its callback (the last
 * function argument), asynchronously, with `{result: 1170, error: "Not supported", desc}`
 * and returns undefined; none throws.
 */
export const UNSUPPORTED_ROOM_METHODS = Object.freeze([
  'startRecord', 'stopRecord', 'hardMute', 'hardUnmute', 'hardMuteUserAudio', 'hardUnmuteUserAudio',
  'hardMuteUserVideo', 'hardUnmuteUserVideo', 'sendMessage', 'sendUserData', 'sendFiles', 'recvFiles',
  'cancelUploads', 'cancelDownloads', 'cancelAllUploads', 'cancelAllDownloads', 'switchUserRole',
  'dropUser', 'destroy', 'setTalkerCount', 'getTalkerCount', 'getMaxTalkers', 'setReceiveVideoQuality',
  'setAudioOnlyMode', 'approveAwaitedUser', 'denyAwaitedUser', 'lockRoom', 'unlockRoom',
  'extendConferenceDuration', 'requestFloor', 'cancelFloor', 'finishFloor', 'grantFloor', 'denyFloor',
  'releaseFloor', 'inviteToFloor', 'switchRoomMode', 'makeOutboundCall', 'cancelOutboundCall',
  'startStreaming', 'stopStreaming', 'startLiveRecording', 'stopLiveRecording', 'startCanvas',
  'stopCanvas', 'startAnnotation', 'stopAnnotation', 'addSpotlightUsers',
  'removeSpotlightUsers', 'subscribeMediaStats', 'setAdvancedOptions', 'getAdvancedOptions',
  'changeToAudioOnly', 'startLiveTranscription', 'stopLiveTranscription', 'highlightBorderForClient',
  'changeBgColorForClients', 'sendData', 'postClientLogs',
]);

for (const name of UNSUPPORTED_ROOM_METHODS) {
  Object.defineProperty(EnxRoom.prototype, name, {
    /** @param {...unknown} args */
    value(...args) {
      callLater(lastCallback(args), vendorError(VendorError.NOT_SUPPORTED, 'Not supported', `EnxRoom.${name} is not supported by Alcove`));
    },
    writable: true,
    configurable: true,
  });
}

// The spellings the vendor's own documents and SDK versions use for the same calls.
const ALIASES = {
  createAndInviteBreakoutRoom: 'createAndInviteBreakOutRoom',
  inviteToBreakOutRoom: 'inviteToBreakoutRoom',
  joinBreakoutRoom: 'joinBreakOutRoom',
  rejectBreakOutRoomInvite: 'rejectBreakoutRoomInvite',
  rejectBreakOutRoomInvitation: 'rejectBreakoutRoomInvite',
  rejectBreakOutRoom: 'rejectBreakoutRoomInvite',
  unmuteRoom: 'unMuteRoom',
  createBreakoutRoom: 'createBreakOutRoom',
};
for (const [alias, target] of Object.entries(ALIASES)) {
  Object.defineProperty(EnxRoom.prototype, alias, {
    /** @param {...unknown} args */
    value(...args) {
      return this[target](...args);
    },
    writable: true,
    configurable: true,
  });
}

// -------------------------------------------------------------------------------------------
// The global.

/**
 * The vendor's `EnxRtc` namespace.
 */
export const EnxRtc = {
  /** The facade's version (the vendor's apps log `EnxRtc.version`). */
  version: 'alcove-compat-0.1.0',
  /** The `EnxRoom` methods that answer "Not supported" (1170). */
  UNSUPPORTED_ROOM_METHODS,
  /**
   * The signalling URL to use when `joinRoom`'s config names none; by default the page's own
   * origin (`ws(s)://<host>/v1/signal`), right for a page served by the Alcove server.
   * @type {string | null}
   */
  signalUrl: null,

  /**
   * `EnxRtc.joinRoom(token, config, callback, reconnectOpt)`: connects to the token's room
   * and sends the microphone (config `audio`, default true; `video` is ignored). Callback
   * `(success, error)`: `success` is `{room, roomData, streams, localStream, publishId}`;
   * `error` is `{result, error, desc, msg}` (4101 token invalid, 4102 expired, 4103 used, …).
   * The room's `room-connected` follows the callback. Returns the local stream.
   * Config, beyond the vendor's: `signal_url` (or `urls: {signal_url}`) when the page is not
   * served by the Alcove server; `alcove` (options passed to the Alcove SDK's `connect`).
   * `token` may also be the token response (`{token, signal_url}`) as it is.
   * @param {string | {token: string, signal_url?: string}} token
   * @param {any} [config]
   * @param {Function} [callback]
   * @param {{allow_reconnect?: boolean}} [reconnectOpt]
   * @returns {EnxStream}
   */
  joinRoom(token, config, callback, reconnectOpt) {
    if (token && typeof token === 'object') {
      // The token response itself (`{token, signal_url}`), as an app server may pass it on.
      const res = /** @type {any} */ (token);
      config = { ...(res.signal_url ? { signal_url: res.signal_url } : {}), ...(config ?? {}) };
      token = res.token;
    }
    const room = new EnxRoom({ token: typeof token === 'string' ? token : undefined });
    const local = new EnxStream({ audio: !config || config.audio !== false, video: false, attributes: config?.attributes ?? {} }, room, true);
    room._join(token, config, reconnectOpt).then((r) => {
      if (r.error) {
        callLater(callback, null, r.error);
        return;
      }
      room._localStream = local;
      local.clientId = room.clientId;
      callLater(callback, room._joinResult(), null);
      Promise.resolve().then(() => setTimeout(() => room._announceConnected(), 0));
    }, (e) => callLater(callback, null, errorOf(e)));
    return local;
  },

  /**
   * `EnxRtc.EnxRoom({token})`: a room to `connect()` later.
   * @param {{token: string}} spec
   */
  EnxRoom(spec) {
    return new EnxRoom(spec);
  },

  /**
   * `EnxRtc.EnxStream(spec)`: a local stream description (`{audio, video, attributes}`).
   * @param {any} spec
   */
  EnxStream(spec) {
    return new EnxStream(spec ?? {}, null, true);
  },

  /**
   * `EnxRtc.getDevices(callback)`: the microphones (and cameras) the browser lists. Callback
   * `{result: 0, devices: {mic: [...], cam: [...]}}`.
   * @param {Function} callback
   */
  getDevices(callback) {
    const md = globalThis.navigator?.mediaDevices;
    if (!md || typeof md.enumerateDevices !== 'function') {
      callLater(callback, vendorError(VendorError.NOT_SUPPORTED, 'Not supported', 'no mediaDevices on this platform'));
      return;
    }
    md.enumerateDevices().then((list) => {
      const pick = (/** @type {string} */ kind) => list.filter((d) => d.kind === kind).map((d) => ({ deviceId: d.deviceId, label: d.label }));
      callLater(callback, { result: 0, devices: { mic: pick('audioinput'), cam: pick('videoinput') } });
    }, (e) => callLater(callback, vendorError(1144, 'Permission denied', String(e && e.message || e))));
  },
};

// Vendor globals Alcove has no counterpart for: answer, never throw.
for (const name of ['startLocalRecording', 'stopLocalRecording', 'clientDiagnostics']) {
  /** @type {any} */ (EnxRtc)[name] = (/** @type {unknown[]} */ ...args) => {
    callLater(lastCallback(args), vendorError(VendorError.NOT_SUPPORTED, 'Not supported', `EnxRtc.${name} is not supported by Alcove`));
  };
}

export default EnxRtc;
