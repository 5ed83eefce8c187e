// @ts-check
/**
 * @module room
 *
 * The parent-room handle (the vendor's `EnxRoom`): the break-out methods of the contract under
 * their seed names, a live picture of the family (users with location / paused / muted, live
 * break-out rooms with members and pending invitations, this client's invitations), and the
 * media calls (media.js does the WebRTC work).
 *
 * Every method returns a Promise of its acknowledgement and, in addition, the acknowledgement is
 * dispatched as an event named after the seed callback (`ackPause`, `connectedBreakoutRoom`,
 * …). A failed acknowledgement (`result` ≠ 0) is dispatched too, then rejects the promise with
 * an {@link AlcoveError} carrying `.result` and `.ack`. Every notification is dispatched as an
 * event named after its wire type. Listeners get the frame object (`e.detail` with
 * `addEventListener`, the first argument with `on`).
 *
 * Besides the wire names the room dispatches these SDK events:
 * - `frame`: every server frame, after the state was updated (detail: the frame);
 * - `statechange`: the family picture changed (detail: the frame that changed it);
 * - `reconnecting`: the connection dropped (closed without `disconnect()`, by a network
 *   failure or a server restart) and the room is trying to resume it; fired before each
 *   attempt (detail: `{attempt, code, reason}`, the close code of the drop);
 * - `reconnected`: resumed: same `clientId`, same place; the state was refreshed from the
 *   resumed `roomConnected` (detail: `{frame, attempts, mediaKept}`); media restores itself;
 * - `close`: the signalling connection closed for good: `disconnect()`, closed by the server,
 *   or a resume that failed (detail: `{code, reason, error?}`; `error` is the
 *   {@link AlcoveError} of a failed resume, `result` 4108 when the grace period was over);
 * - `mediastatechange`: media progress (detail: `{state, error?}`), see media.js;
 * - `slotAudible`: a slot's new talker is actually playing, e.g. the first audio of the new
 *   room after a move (detail: `{slot, clientId, roomId, ms}`), see "The slot gate" in media.js;
 * - `protocolerror`: the server sent a frame the SDK could not decode (detail: the error).
 *
 * Facilitation (issue 10): every new request has a method here (`setBreakoutDuration`,
 * `broadcastMessage`, `requestHelp`, `cancelHelp`, `dismissHelp`, `moveToBreakoutRoom`,
 * `setSelfSelect`, `renameBreakoutRoom`, `savePlan`, `listPlans`, `applyPlan`, `muteMember`,
 * `askToUnmute`, `unmuteSelf`), every new notification is an event of its wire name
 * (`breakoutTimer`, `breakoutTimerWarning`, `broadcastReceived`, `helpRequested`,
 * `helpAnswered`, `helpDismissed`, `helpResolved`, `breakoutRoomsUpdated`, `memberMuted`,
 * `unmuteAsked`), and the state they change is kept: {@link Room#roomList},
 * {@link Room#helpRequests}, {@link Room#helpRequest}, {@link Room#mutedByModerator},
 * {@link Room#unmuteAskedBy}, {@link Room#moderatorMuted}, timers on the room entries, and the
 * server clock ({@link Room#serverNow}, {@link Room#timeLeft}). A `didDisconnectedBreakoutRoom`
 * with `reason: "moved"` is a switch to the room its `location` names (the parent stays
 * paused), never a return to the parent; `owner_notice` moves nobody.
 *
 * Camera video (issue 14, protocol 4): `setVideoSlot`; moderators pin cameras with `pinUsers` /
 * `unpinUsers` (speakers first, then pinned, then recent speakers on every video slot in the
 * parent); every client gets `updatePinUsers`, kept as {@link Room#pinnedUsers}.
 *
 * Listen-in (issue 11): `listenTo`, `stopListening`, `talkTo`, `startBroadcast`,
 * `stopBroadcast` (moderators in the parent); events `monitoredBy`, `audioBroadcast`,
 * `listeningChanged`; state {@link Room#listening}, {@link Room#listenParent},
 * {@link Room#talking}, {@link Room#broadcasting} / {@link Room#broadcastRooms} (this client),
 * {@link Room#monitoredBy} (who listens to a room this client is in) and
 * {@link Room#audioBroadcasts} (broadcasts this client hears).
 *
 * Order: for one frame the room first updates its state, then dispatches the frame's event on
 * the room, then on the break-out handle it concerns (if any), then `frame` and `statechange`,
 * and only then settles the request's promise.
 */

import { BreakoutRoom } from './breakout.js';
import { clone } from './clone.js';
import { Connection } from './connection.js';
import { Emitter } from './events.js';
import { MediaSession } from './media.js';
import { AlcoveError, ErrorCode, SUPPORTED_VERSIONS, breakoutOf, isAck, isSuccess, supportsUsersUpdated } from './protocol.js';

/** @typedef {import('./protocol.js').ServerFrame} ServerFrame */
/** @typedef {import('./protocol.js').UserInfo} UserInfo */
/** @typedef {import('./protocol.js').UserRef} UserRef */
/** @typedef {import('./protocol.js').BreakoutRoomInfo} BreakoutRoomInfo */
/** @typedef {import('./protocol.js').RoomSettings} RoomSettings */
/** @typedef {import('./protocol.js').RoomDefinition} RoomDefinition */
/** @typedef {import('./protocol.js').Invitee} Invitee */
/** @typedef {import('./protocol.js').Joinee} Joinee */
/** @typedef {import('./protocol.js').StreamInfo} StreamInfo */
/** @typedef {import('./protocol.js').MediaFlags} MediaFlags */
/** @typedef {import('./protocol.js').VideoLayer} VideoLayer */
/** @typedef {import('./protocol.js').Location} Location */
/** @typedef {import('./protocol.js').RoomSummary} RoomSummary */
/** @typedef {import('./protocol.js').HelpRequest} HelpRequest */
/** @typedef {import('./protocol.js').BreakoutTimer} BreakoutTimer */
/** @typedef {import('./protocol.js').MonitoredBy} MonitoredBy */
/** @typedef {import('./media.js').MediaOptions} MediaOptions */

/**
 * A pending invitation held by this client (from `invitationForBreakoutRoom`).
 * @typedef {{room_id: string, requestor: UserRef, force_join: boolean}} Invitation
 */

/**
 * Someone sharing in this client's current room (`shareStarted` / `canvasStarted`).
 * @typedef {{room_id: string, clientId: string, name: string}} Sharing
 */

/**
 * Options of {@link Room} / `connect()`.
 *
 * - `reconnect`: resume a dropped connection (default true);
 * - `reconnectWindowMs`: how long to keep trying (default 30000, the server's default grace
 *   period);
 * - `reconnectDelayMs` / `reconnectMaxDelayMs`: the backoff between attempts, doubling from
 *   the first to the second (defaults 100 and 2000).
 * @typedef {{
 *   WebSocket?: import('./connection.js').WebSocketConstructor,
 *   timeoutMs?: number,
 *   reconnect?: boolean,
 *   reconnectWindowMs?: number,
 *   reconnectDelayMs?: number,
 *   reconnectMaxDelayMs?: number,
 * } & MediaOptions} RoomOptions
 */

/**
 * Where the signalling connection is: `connecting` (before `roomConnected`), `connected`,
 * `reconnecting` (dropped; resuming), `closed` (for good).
 * @typedef {"connecting" | "connected" | "reconnecting" | "closed"} ConnectionStateName
 */

/**
 * A resume in progress.
 * @typedef {{info: {code: number, reason: string}, attempt: number, deadline: number,
 *   timer: ReturnType<typeof setTimeout> | undefined, conn: Connection | null}} Reconnecting
 */

/** Default of `reconnectWindowMs`. */
export const DEFAULT_RECONNECT_WINDOW_MS = 30_000;

/** Close codes after which the room does not try to resume (the server meant it). */
const FINAL_CLOSE_CODES = [1000, 1008, 1009];

/**
 * The parent-room handle. Get one from `connect()` in alcove.js.
 */
export class Room extends Emitter {
  /**
   * Prefer `connect()`. This constructor opens nothing; {@link Room#join} does.
   * @param {string} url signalling URL
   * @param {RoomOptions} [options]
   */
  constructor(url, options = {}) {
    super();
    /** @type {RoomOptions} */
    this.options = options;
    /** @private */
    this._url = url;
    /** @private */
    this._connection = this._newConnection();
    /** @type {ConnectionStateName} Where the signalling connection is. */
    this.connectionState = 'connecting';
    /** @type {string | null} The credential to resume this client's place after a drop. @private */
    this._resumeToken = null;
    /** `disconnect()` was called. @private */
    this._leaving = false;
    /** @type {Reconnecting | null} @private */
    this._reconnecting = null;
    /** This connection's client id (from `roomConnected`). */
    this.clientId = '';
    /** The parent room's id. */
    this.roomId = '';
    /** The parent room's name. */
    this.name = '';
    /** Negotiated protocol version. */
    this.version = 0;
    /** @type {RoomSettings | null} The parent room's settings. */
    this.settings = null;
    /** @type {Map<string, UserInfo>} Everyone connected to the family, this client included, by clientId. */
    this.users = new Map();
    /**
     * Live break-out rooms this client knows of, by room id, in creation order. Moderators learn
     * every room (`breakoutRoomCreated`); others know the rooms in `roomConnected`, the rooms
     * they created, were invited to or joined.
     * @type {Map<string, BreakoutRoomInfo>}
     */
    this.breakoutRooms = new Map();
    /** @type {Map<string, Invitation>} This client's pending invitations, by break-out room id. */
    this.invitations = new Map();
    /** @type {BreakoutRoom | null} The handle of the break-out room this client is in, if any. */
    this.breakoutRoom = null;
    /**
     * Who is heard in which of this client's audio slots (from the latest
     * `activeTalkersUpdated`): slot index → `{clientId, name}`.
     * @type {Map<number, UserRef>}
     */
    this.talkers = new Map();
    /** @type {string | null} The room the talker map is for. */
    this.talkersRoomId = null;
    /**
     * Whose camera is on which of this client's video slots (protocol 4, from the latest
     * `videoSlotsUpdated`): slot index → `{clientId, name}`. Empty in a break-out room
     * (cameras are forwarded in the parent room only).
     * @type {Map<number, UserRef>}
     */
    this.videoSlots = new Map();
    /** @type {string | null} The room the video slot map is for. */
    this.videoSlotsRoomId = null;
    /**
     * The parent room's pinned clients, first pinned first (protocol 4, from the latest
     * `updatePinUsers`; empty after `roomConnected` until the server repeats a non-empty list).
     * @type {string[]}
     */
    this.pinnedUsers = [];
    /** @type {Sharing | null} The screen share in this client's current room. */
    this.share = null;
    /** @type {Sharing | null} The canvas stream in this client's current room. */
    this.canvas = null;
    /** True once the connection has closed. */
    this.closed = false;
    /** @type {{code: number, reason: string} | null} */
    this.closeInfo = null;
    /** @type {MediaSession} The WebRTC side (see media.js). */
    this.media = new MediaSession(this, options);
    /** @type {Map<string, BreakoutRoom>} @private */
    this._handles = new Map();
    /**
     * The room list: every live break-out room by id, in creation order, as every client
     * sees it (name, member count, places, self-select, timer). Filled from
     * `roomConnected.breakout_rooms` and kept current by `breakoutRoomsUpdated` (protocol 3)
     * and `breakoutTimer`.
     * @type {Map<string, RoomSummary>}
     */
    this.roomList = new Map();
    /**
     * Server clock minus this client's clock, in ms, measured at `roomConnected`
     * (`server_time`, taken at the middle of the connect round trip). 0 until known.
     */
    this.clockOffsetMs = 0;
    /** @type {number | null} When the latest `connect` went out (local ms). @private */
    this._connectSentAt = null;
    /**
     * Pending help requests by requester clientId, oldest first (moderators; from
     * `roomConnected.help_requests`, `helpRequested`, `helpResolved`).
     * @type {Map<string, HelpRequest>}
     */
    this.helpRequests = new Map();
    /** @type {HelpRequest | null} This client's own pending help request. */
    this.helpRequest = null;
    /** True while a moderator has muted this client (its audio is dropped by the server). */
    this.mutedByModerator = false;
    /** @type {UserRef | null} The moderator who asked this client to unmute, if one did. */
    this.unmuteAskedBy = null;
    /**
     * Other clients muted by a moderator, as announced (`memberMuted`, `ackMuteMember`).
     * @type {Set<string>}
     */
    this.moderatorMuted = new Set();
    /**
     * What this client listened to when its connection dropped (the parent mode is not in
     * the resumed `listeningChanged`). @private
     * @type {{room: string, parent: "mixed" | "paused" | null} | null}
     */
    this._listenedBefore = null;
    /** @type {string | null} The break-out room this client (a moderator) listens to. */
    this.listening = null;
    /** @type {"mixed" | "paused" | null} What it hears of the parent meanwhile (null: not listening). */
    this.listenParent = null;
    /** True while this client talks into the room it listens to. */
    this.talking = false;
    /** True while this client broadcasts its voice to the break-out rooms. */
    this.broadcasting = false;
    /**
     * The break-out rooms this client's broadcast reaches (besides the parent), as its latest
     * ack or `listeningChanged` listed them; empty when not broadcasting.
     * @type {string[]}
     */
    this.broadcastRooms = [];
    /**
     * Who listens to (and talks into) the break-out room this client is in, by room id (from
     * `monitoredBy`; a room nobody monitors has no entry). Members always get it: there is no
     * silent listening.
     * @type {Map<string, MonitoredBy>}
     */
    this.monitoredBy = new Map();
    /**
     * Moderators whose audio broadcast reaches this client now, by clientId (from
     * `audioBroadcast`).
     * @type {Map<string, UserRef>}
     */
    this.audioBroadcasts = new Map();
  }

  // ---------------------------------------------------------------------------------------
  // Connection.

  /**
   * A signalling connection whose frames and close reach this room while it is the room's
   * connection (or the one a resume is trying).
   * @returns {Connection}
   * @private
   */
  _newConnection() {
    /** @type {Connection} */
    const conn = new Connection(this._url, {
      WebSocket: this.options.WebSocket,
      timeoutMs: this.options.timeoutMs,
      onFrame: (frame, request) => {
        if (conn === this._connection || conn === this._reconnecting?.conn) this._onFrame(frame, request);
      },
      onClose: (info) => {
        if (conn === this._connection) this._onClose(info);
      },
      onProtocolError: (err) => this.emit('protocolerror', err),
    });
    return conn;
  }

  /**
   * Opens the WebSocket and sends `connect` with `token`. Resolves with the `roomConnected`
   * frame; rejects with an {@link AlcoveError} (`result` 4101 token invalid, 4103 reused, …).
   * @param {string} token a token minted by `POST /v1/rooms/{room_id}/tokens`
   * @returns {Promise<ServerFrame>}
   */
  async join(token) {
    await this._connection.open();
    let ack;
    try {
      this._connectSentAt = Date.now();
      ack = await this._connection.request('connect', { token, versions: [...SUPPORTED_VERSIONS] });
    } catch (e) {
      this._connection.close();
      throw e;
    }
    if (ack.type !== 'roomConnected' || !isSuccess(ack)) {
      this._connection.close(1000, 'connect refused');
      throw AlcoveError.fromAck(ack);
    }
    if (this.connectionState === 'connecting') this.connectionState = 'connected';
    return ack;
  }

  /**
   * Leaves the family: closes the signalling connection and the peer connection. Also stops a
   * resume in progress. The room never reconnects after this.
   */
  disconnect() {
    this._leaving = true;
    this.media.close();
    const r = this._reconnecting;
    if (r) {
      this._reconnecting = null;
      if (r.timer !== undefined) clearTimeout(r.timer);
      r.conn?.close(1000, 'client left');
      this._finalClose({ code: 1000, reason: 'client left' });
      return;
    }
    this._connection.close(1000, 'client left');
  }

  /** This client's own entry in {@link users}. */
  get me() {
    return this.users.get(this.clientId);
  }

  /** This client's role in the parent room. */
  get role() {
    return this.me?.role;
  }

  /** Where this client is: `"parent"` or `{breakout: room_id}`. */
  get location() {
    return this.me?.location ?? 'parent';
  }

  /** Is this client's parent link paused? */
  get paused() {
    return this.me?.paused ?? false;
  }

  /** This client's parent mute state. */
  get muted() {
    return this.me?.muted ?? { audio: false, video: false };
  }

  /**
   * The handle of a break-out room this client is in or was in (null if never).
   * @param {string} roomId
   */
  breakoutHandle(roomId) {
    return this._handles.get(roomId) ?? null;
  }

  // ---------------------------------------------------------------------------------------
  // Seed methods (names exactly as the contract).

  /**
   * Seed `createBreakOutRoom(roomDefinition)`. Resolves with `ackCreateBreakOutRoom`
   * (`msg.rooms` lists the new room ids); moderators then get one `breakoutRoomCreated` each.
   * @param {RoomDefinition} roomDefinition `{participants, audio, video, canvas, share, max_rooms}` (`max_rooms` defaults to 1)
   * @returns {Promise<ServerFrame>}
   */
  createBreakOutRoom(roomDefinition) {
    return this.request('createBreakOutRoom', { ...roomDefinition });
  }

  /**
   * Seed `inviteToBreakOutRoom(invitee)`. Resolves with `ackInviteBreakOutRoom`
   * (`invited`, `failed` per client).
   * @param {Invitee} invitee `{clients, room_id, force_join}`
   * @returns {Promise<ServerFrame>}
   */
  inviteToBreakOutRoom(invitee) {
    return this.request('inviteToBreakOutRoom', { ...invitee });
  }

  /**
   * Seed `createAndInviteBreakoutRoom(roomDefinition)`: creates the rooms and spreads the
   * parent's participants over them. Resolves with `ackCreateAndInviteBreakOutRoom`
   * (`msg: {rooms, invitations, unassigned}`).
   * @param {RoomDefinition} roomDefinition as for create, plus optional `force_join`
   * @returns {Promise<ServerFrame>}
   */
  createAndInviteBreakoutRoom(roomDefinition) {
    return this.request('createAndInviteBreakoutRoom', { ...roomDefinition });
  }

  /**
   * Seed `joinBreakoutRoom(joinee, streamInfo)`. Resolves with the {@link BreakoutRoom} handle
   * (the `connectedBreakoutRoom` frame is `handle.info` and is dispatched as that event); a
   * refusal dispatches `failedJoinBreakOutRoom` and rejects with its `result`. From inside
   * another break-out room this is a one-step switch (Alcove): the ack is the new room's
   * `connectedBreakoutRoom`, then `didDisconnectedBreakoutRoom` (`reason: "moved"`) for the old
   * one; the parent stays paused throughout. Without an invitation it needs a self-select room
   * (or the moderator role).
   * @param {Joinee} joinee `{role: "participant" | "moderator", room_id}`
   * @param {StreamInfo} [streamInfo] `{audio, video}`; default `{audio: true, video: false}`
   * @returns {Promise<BreakoutRoom>}
   */
  async joinBreakoutRoom(joinee, streamInfo = { audio: true, video: false }) {
    const ack = await this.request('joinBreakoutRoom', {
      role: joinee.role,
      room_id: joinee.room_id,
      stream_info: { audio: streamInfo.audio ?? true, video: streamInfo.video ?? false },
    });
    const handle = this._handles.get(ack.room_id);
    if (!handle) throw new AlcoveError('connectedBreakoutRoom without a room', { code: 'protocol', ack });
    return handle;
  }

  /**
   * Seed `rejectBreakOutRoom(roomId)`. Resolves with `ackRejectBreakoutRoom`.
   * @param {string | {room_id: string}} roomId the break-out room of the invitation
   * @returns {Promise<ServerFrame>}
   */
  rejectBreakOutRoom(roomId) {
    const room_id = typeof roomId === 'string' ? roomId : roomId.room_id;
    return this.request('rejectBreakOutRoom', { room_id });
  }

  /**
   * Seed `pause()`: stop hearing the parent and being heard there. Resolves with `ackPause`.
   * @returns {Promise<ServerFrame>}
   */
  pause() {
    return this.request('pause');
  }

  /**
   * Seed `resume()`: hear the parent (and be heard there unless muted) again. Resolves with
   * `ackResume`.
   * @returns {Promise<ServerFrame>}
   */
  resume() {
    return this.request('resume');
  }

  /**
   * Seed `muteRoom({audio, video})`: the flags set to true stop reaching the parent. Resolves
   * with `ackMuteRoom`.
   * @param {Partial<MediaFlags>} [flags] default `{audio: true, video: false}`
   * @returns {Promise<ServerFrame>}
   */
  muteRoom(flags = { audio: true, video: false }) {
    return this.request('muteRoom', { audio: !!flags.audio, video: !!flags.video });
  }

  /**
   * Seed `unmuteRoom({audio, video})`: the flags set to true reach the parent again. Resolves
   * with `ackUnmuteRoom`.
   * @param {Partial<MediaFlags>} [flags] default `{audio: true, video: false}`
   * @returns {Promise<ServerFrame>}
   */
  unmuteRoom(flags = { audio: true, video: false }) {
    return this.request('unmuteRoom', { audio: !!flags.audio, video: !!flags.video });
  }

  /**
   * Seed `clearAllBreakOutSession()`: leave every break-out room and resume the parent.
   * Resolves with `didDisconnectedBreakoutRoom` (`room_id` null when the caller was in none).
   * @returns {Promise<ServerFrame>}
   */
  clearAllBreakOutSession() {
    return this.request('clearAllBreakOutSession');
  }

  /**
   * Seed `destroyAllBreakOutSession()` (moderators): end every break-out room of the family.
   * Resolves with `ackDestroyAllBreakOutSession` (`msg.rooms`: the rooms destroyed).
   * @returns {Promise<ServerFrame>}
   */
  destroyAllBreakOutSession() {
    return this.request('destroyAllBreakOutSession');
  }

  // ---------------------------------------------------------------------------------------
  // Facilitation (Alcove, beyond the seed; `FACILITATION_METHODS` in protocol.js).

  /**
   * Sets, changes or clears a break-out room's timer (moderators; 5003 otherwise, 1736 for a
   * room that is not live, 1155 for values out of range). Members and moderators get
   * `breakoutTimer`, then `breakoutTimerWarning` once at `warning_at`; at the end everyone in
   * the room returns to the parent (`didDisconnectedBreakoutRoom` reason `timeout`). Resolves
   * with `ackSetBreakoutDuration` (`timer: {room_id, ends_at, warning_at}`).
   * @param {string} roomId the break-out room
   * @param {number | null} seconds from now until the room ends (1..=86400); null or 0 clears
   * @param {{warning?: number}} [options] `warning`: seconds before the end (default 60; 0: none)
   * @returns {Promise<ServerFrame>}
   */
  setBreakoutDuration(roomId, seconds, options = {}) {
    return this.request('setBreakoutDuration', { room_id: roomId, duration: seconds ?? null, warning: options.warning });
  }

  /**
   * Sends a text to every client in the chosen rooms (moderators; 5003). Each gets
   * `broadcastReceived {from, text, at, room_id}`. Resolves with `ackBroadcastMessage`
   * (`recipients`). 1155 for an empty or too long (> 1000 characters) text or `rooms: []`,
   * 1736 for an unknown room, 4006 past 10 broadcasts a minute.
   * @param {string} text
   * @param {string[]} [rooms] break-out room ids and/or the parent's id; default: every room
   * @returns {Promise<ServerFrame>}
   */
  broadcastMessage(text, rooms) {
    return this.request('broadcastMessage', { text, rooms: rooms === undefined ? undefined : [...rooms] });
  }

  /**
   * Asks the moderators for help (a member of a break-out room; 1741 otherwise). Pressing
   * again while a request is pending changes nothing (`already_pending: true`). Resolves with
   * `ackRequestHelp` (`request`); later `helpAnswered` (a moderator joined) or `helpDismissed`.
   * @returns {Promise<ServerFrame>}
   */
  requestHelp() {
    return this.request('requestHelp');
  }

  /**
   * Withdraws this client's help request (1760 when none is pending). Resolves with
   * `ackCancelHelp`.
   * @returns {Promise<ServerFrame>}
   */
  cancelHelp() {
    return this.request('cancelHelp');
  }

  /**
   * Closes a member's help request without joining (moderators; 5003; 1760 when that client
   * has none pending). Resolves with `ackDismissHelp`.
   * @param {string} clientId the requester
   * @returns {Promise<ServerFrame>}
   */
  dismissHelp(clientId) {
    return this.request('dismissHelp', { clientId });
  }

  /**
   * Moves a client into a break-out room in one step (moderators; 5003): from the parent a
   * forced join, from another break-out room straight across, never through the parent.
   * 1736 room not live, 1740 client not connected, 1743 already there, 1738 full. Resolves
   * with `ackMoveToBreakoutRoom`.
   * @param {string} clientId
   * @param {string} roomId
   * @returns {Promise<ServerFrame>}
   */
  moveToBreakoutRoom(clientId, roomId) {
    return this.request('moveToBreakoutRoom', { clientId, room_id: roomId });
  }

  /**
   * Turns self-select on or off (moderators; 5003): in a self-select room any participant may
   * join without an invitation (`joinBreakoutRoom`). Resolves with `ackSetSelfSelect`.
   * @param {boolean} on
   * @param {string} [roomId] one room (1736 when not live); default: every live room
   * @returns {Promise<ServerFrame>}
   */
  setSelfSelect(on, roomId) {
    return this.request('setSelfSelect', { room_id: roomId, on: !!on });
  }

  /**
   * Renames a break-out room (moderators; 5003; 1736; 1155 for an empty or > 64 character
   * name). Resolves with `ackRenameBreakoutRoom`; everyone gets `breakoutRoomsUpdated`.
   * @param {string} roomId
   * @param {string} name
   * @returns {Promise<ServerFrame>}
   */
  renameBreakoutRoom(roomId, name) {
    return this.request('renameBreakoutRoom', { room_id: roomId, name });
  }

  /**
   * Saves the live break-out rooms and who is in (or invited to) each as a named plan of this
   * app (moderators; 5003; 1155 bad name; 1736 when no room is live). Saving under an existing
   * name replaces it. Resolves with `ackSavePlan` (`plan`).
   * @param {string} name
   * @returns {Promise<ServerFrame>}
   */
  savePlan(name) {
    return this.request('savePlan', { name });
  }

  /**
   * Lists the app's saved plans (moderators; 5003). Resolves with `ackListPlans`
   * (`plans: [{name, rooms, members, saved_at}]`).
   * @returns {Promise<ServerFrame>}
   */
  listPlans() {
    return this.request('listPlans');
  }

  /**
   * Creates a saved plan's rooms and invites (or, with `forceJoin`, moves) the connected
   * members it names (moderators; 5003; 1761 unknown plan; then create's checks). Resolves
   * with `ackApplyPlan` (`rooms`, `invitations`, `unmatched`).
   * @param {string} name
   * @param {{forceJoin?: boolean}} [options]
   * @returns {Promise<ServerFrame>}
   */
  applyPlan(name, options = {}) {
    return this.request('applyPlan', { name, force_join: options.forceJoin ? true : undefined });
  }

  /**
   * Mutes one member, or every non-moderator member of a break-out room (moderators; 5003;
   * 1740 / 1736; 1155 unless exactly one target). Their audio is dropped by the server until
   * they unmute after being asked (`askToUnmute`). Resolves with `ackMuteMember` (`muted`: the
   * clients newly muted); `memberMuted` to the targets, their room and every moderator.
   * @param {{clientId: string} | {roomId: string}} target
   * @returns {Promise<ServerFrame>}
   */
  muteMember(target) {
    const t = /** @type {{clientId?: string, roomId?: string}} */ (target);
    return this.request('muteMember', { clientId: t.clientId, room_id: t.roomId });
  }

  /**
   * Asks a member muted by a moderator to unmute (moderators; 5003; 1740). The member gets
   * `unmuteAsked` and decides (`unmuteSelf`). Resolves with `ackAskToUnmute`.
   * @param {string} clientId
   * @returns {Promise<ServerFrame>}
   */
  askToUnmute(clientId) {
    return this.request('askToUnmute', { clientId });
  }

  /**
   * Unmutes this client after a moderator asked it to (1762 when muted and not asked; a
   * success that changes nothing when not muted by a moderator). Resolves with
   * `ackUnmuteSelf`.
   * @returns {Promise<ServerFrame>}
   */
  unmuteSelf() {
    return this.request('unmuteSelf');
  }

  // ---------------------------------------------------------------------------------------
  // Listen-in, talk-in and audio broadcast (Alcove, issue 11; `LISTEN_METHODS` in protocol.js).

  /**
   * Hears a break-out room without leaving the parent (moderators in the parent): the room's
   * talkers take this client's audio slots first, the parent's the rest (`parent: "mixed"`,
   * the default) or none (`"paused"`). Its own voice keeps going to the parent only. Listening
   * to another room switches in one step (talk-in off in the new room). Refusals: 5003 not a
   * moderator, 1765 not in the parent, 1736 no such live room, 1763 the room forbids listen-in.
   * Resolves with `ackListenTo` (`listening`, `talking`); the room's members get `monitoredBy`.
   * @param {string} roomId
   * @param {{parent?: "mixed" | "paused"}} [options]
   * @returns {Promise<ServerFrame>}
   */
  listenTo(roomId, options = {}) {
    return this.request('listenTo', { room_id: roomId, parent: options.parent });
  }

  /**
   * Ends listening and talking in (always succeeds; nothing changes when not listening).
   * Resolves with `ackStopListening`; the room's members get `monitoredBy`.
   * @returns {Promise<ServerFrame>}
   */
  stopListening() {
    return this.request('stopListening');
  }

  /**
   * While listening to `roomId`: this client's voice also goes into that room (`on: true`) or
   * no longer (`on: false`); `parent: false` whispers (not heard in the parent meanwhile).
   * Refusals: 5003, 1765, 1764 not listening to that room. Resolves with `ackTalkTo`; the
   * room's members get `monitoredBy` (`talking`) when it changed.
   * @param {string} roomId
   * @param {boolean} on
   * @param {{parent?: boolean}} [options] `parent`: still heard in the parent (default true)
   * @returns {Promise<ServerFrame>}
   */
  talkTo(roomId, on, options = {}) {
    return this.request('talkTo', { room_id: roomId, on: !!on, parent: options.parent });
  }

  /**
   * Speaks into every break-out room (or the chosen ones) and the parent at once, on a slot no
   * talker takes over (moderators in the parent). Calling it again changes the rooms only.
   * Refusals: 5003, 1765, 1155 `rooms` empty, 1736 a room that is not live. Resolves with
   * `ackStartBroadcast` (`broadcasting`: the rooms reached); everyone reached gets
   * `audioBroadcast {from, on: true}` when it starts.
   * @param {string[]} [rooms] break-out room ids; default every room, also ones created later
   * @returns {Promise<ServerFrame>}
   */
  startBroadcast(rooms) {
    return this.request('startBroadcast', { rooms: rooms === undefined ? undefined : [...rooms] });
  }

  /**
   * Ends this client's broadcast (always succeeds). Resolves with `ackStopBroadcast`; everyone
   * told of the start gets `audioBroadcast {from, on: false}`.
   * @returns {Promise<ServerFrame>}
   */
  stopBroadcast() {
    return this.request('stopBroadcast');
  }

  /**
   * The moderators listening to a break-out room (empty when none, or unknown to this client:
   * members learn it for their own room).
   * @param {string} [roomId] default: the room this client is in
   * @returns {UserRef[]}
   */
  listeners(roomId) {
    const id = roomId ?? breakoutOf(this.location);
    return id ? this.monitoredBy.get(id)?.moderators ?? [] : [];
  }

  // ---------------------------------------------------------------------------------------
  // The server clock and timers.

  /** The server's clock now (Unix ms), from this client's clock and {@link clockOffsetMs}. */
  serverNow() {
    return Date.now() + this.clockOffsetMs;
  }

  /**
   * Milliseconds until a server time (`ends_at`, `warning_at`): never negative (0 once
   * passed).
   * @param {number} serverTime absolute server Unix ms
   */
  msUntil(serverTime) {
    return Math.max(0, serverTime - this.serverNow());
  }

  /**
   * The countdown of a break-out room's timer in ms (never negative: 0 once the end passed
   * and the server has not closed the room yet), or null when the room has no timer (or is
   * unknown).
   * @param {string} roomId
   * @returns {number | null}
   */
  timeLeft(roomId) {
    const endsAt = this.roomList.get(roomId)?.ends_at ?? this.breakoutRooms.get(roomId)?.ends_at;
    return typeof endsAt === 'number' ? this.msUntil(endsAt) : null;
  }

  // ---------------------------------------------------------------------------------------
  // Media (one RTCPeerConnection for the whole family; see media.js).

  /**
   * Negotiates media (done by `connect()` unless `media: false`). Resolves when the answer is
   * applied.
   * @returns {Promise<void>}
   */
  startMedia() {
    return this.media.start();
  }

  /** @returns {RTCPeerConnection | null} the one peer connection of this client */
  get peerConnection() {
    return this.media.pc;
  }

  /**
   * The receiving track of audio slot `i` (who is in it: `room.talkers.get(i)`).
   * @param {number} i
   * @returns {MediaStreamTrack | null}
   */
  slotTrack(i) {
    return this.media.slotTrack(i);
  }

  /**
   * Audio level (0..1) last heard in slot `i`, from the receiver's RTP audio-level data.
   * @param {number} i
   */
  slotLevel(i) {
    return this.media.slotLevel(i);
  }

  /**
   * The receiving track of video slot `i` (whose camera: `room.videoSlots.get(i)`).
   * @param {number} i
   * @returns {MediaStreamTrack | null}
   */
  videoSlotTrack(i) {
    return this.media.videoSlotTrack(i);
  }

  /**
   * Publishes this client's camera (protocol 4; shown in the parent room only).
   * @param {MediaTrackConstraints | boolean | MediaStreamTrack} [video] constraints, or a track
   * @returns {Promise<MediaStreamTrack>}
   */
  publishCamera(video) {
    return this.media.publishCamera(video);
  }

  /** @returns {Promise<void>} stops publishing the camera */
  unpublishCamera() {
    return this.media.unpublishCamera();
  }

  /**
   * Tells the server how video slot `slot` is shown, so that it forwards the simulcast layer
   * that fits (protocol 4, issue 14): `height` is the slot's rendered height in device pixels
   * (CSS height × `devicePixelRatio`; rounded here), 0 when the slot is not shown (nothing is
   * forwarded on it); `maxLayer` caps the layer (`"low"`, `"medium"`, `"high"`, the default).
   * The server picks a layer per receiver and slot from this and the receiver's estimated
   * bandwidth. Resolves with `ackSetVideoSlot`; rejects with an {@link AlcoveError} carrying
   * the ack's `result` when refused (a slot that was not negotiated, a bad layer).
   * @param {number} slot index into `mids.video_slots`
   * @param {{height: number, maxLayer?: VideoLayer}} options
   * @returns {Promise<ServerFrame>}
   */
  setVideoSlot(slot, options) {
    const height = Math.max(0, Math.round(Number(options?.height) || 0));
    return this.request('setVideoSlot', { slot, height, max_layer: options?.maxLayer });
  }

  /**
   * Pins clients' cameras (moderators, protocol 4, issue 14): on every receiver's video slots
   * in the parent they rank right after the active speakers, in pin order (appended after
   * those already pinned; at most 16). Every client gets `updatePinUsers`. Resolves with
   * `ackPinUsers`; rejects with an {@link AlcoveError}: 5003 not a moderator, 1155 protocol
   * 1–3 / an empty list / more than 16, 5126 a client that is not in the family.
   * @param {string[]} clientIds
   * @returns {Promise<ServerFrame>}
   */
  pinUsers(clientIds) {
    return this.request('pinUsers', { clientIds: [...clientIds] });
  }

  /**
   * Unpins clients' cameras (moderators, protocol 4); one not pinned is no change. Resolves
   * with `ackUnpinUsers`; rejects like {@link Room#pinUsers} (without the bound).
   * @param {string[]} clientIds
   * @returns {Promise<ServerFrame>}
   */
  unpinUsers(clientIds) {
    return this.request('unpinUsers', { clientIds: [...clientIds] });
  }

  /** @returns {MediaStreamTrack | null} the receiving track of the room's screen share */
  shareTrack() {
    return this.media.shareTrack();
  }

  /** @returns {MediaStreamTrack | null} the receiving track of the room's canvas stream */
  canvasTrack() {
    return this.media.canvasTrack();
  }

  /**
   * Shares the screen in the current room: `getDisplayMedia`, then `startShare`.
   * @param {DisplayMediaStreamOptions} [constraints]
   * @returns {Promise<ServerFrame>} `ackStartShare`
   */
  shareScreen(constraints) {
    return this.media.shareScreen(constraints);
  }

  /** @returns {Promise<ServerFrame>} `ackStopShare` */
  stopShare() {
    return this.media.stopShare();
  }

  /**
   * Streams a canvas in the current room: `canvas.captureStream(fps)`, then `startCanvas`.
   * @param {HTMLCanvasElement} canvas
   * @param {number} [fps] default 15
   * @returns {Promise<ServerFrame>} `ackStartCanvas`
   */
  shareCanvas(canvas, fps) {
    return this.media.shareCanvas(canvas, fps);
  }

  /** @returns {Promise<ServerFrame>} `ackStopCanvas` */
  stopCanvas() {
    return this.media.stopCanvas();
  }

  // ---------------------------------------------------------------------------------------
  // Requests.

  /**
   * Sends any request and resolves with its acknowledgement; rejects with an
   * {@link AlcoveError} when `result` ≠ 0 (after the acknowledgement's event was dispatched).
   * The seed methods above are the usual way in.
   * @param {string} type a client message type
   * @param {Record<string, unknown>} [body]
   * @returns {Promise<ServerFrame>}
   */
  async request(type, body = {}) {
    const ack = await this._connection.request(type, body);
    if (!isSuccess(ack)) throw AlcoveError.fromAck(ack);
    return ack;
  }

  // ---------------------------------------------------------------------------------------
  // State: every frame updates the picture, then is dispatched.

  /**
   * @param {ServerFrame} frame
   * @param {{type: string, id: number, body: Record<string, unknown>} | null} request
   * @private
   */
  _onFrame(frame, request) {
    if (frame.type === 'usersUpdated') {
      this._onUsersUpdated(frame);
      return;
    }
    const changed = this._apply(frame, request);
    this.emit(frame.type, frame);
    const handle = this._handleFor(frame);
    if (handle) handle.emit(frame.type, frame);
    this.emit('frame', frame);
    if (changed) this.emit('statechange', frame);
  }

  /**
   * Protocol 2's batched presence (`usersUpdated`: the latest state of every user whose
   * presence changed in one family step, and who left). It is applied as the per-user frames a
   * version-1 server sends (`userConnected`, `userMoved`, `userPaused`, `userMuted`,
   * `userDisconnected`), built from the difference with the user list, so an app sees the
   * same events and the same list whichever version the server speaks. This client's own entry
   * updates its list entry without an event (version 1 never told a client about itself).
   * The batch itself is then emitted as `usersUpdated`.
   * @param {ServerFrame} f
   * @private
   */
  _onUsersUpdated(f) {
    const users = Array.isArray(f.users) ? f.users : [];
    const left = Array.isArray(f.left) ? f.left : [];
    for (const u of /** @type {UserInfo[]} */ (users)) {
      const before = this.users.get(u.clientId);
      if (u.clientId === this.clientId) {
        this.users.set(u.clientId, clone(u));
        continue;
      }
      if (!before) {
        this._onFrame({ type: 'userConnected', ...clone(u) }, null);
        continue;
      }
      if (breakoutOf(before.location) !== breakoutOf(u.location)) {
        this._onFrame({ type: 'userMoved', clientId: u.clientId, location: clone(u.location) }, null);
      }
      if (before.paused !== u.paused) {
        this._onFrame({ type: 'userPaused', clientId: u.clientId, paused: u.paused }, null);
      }
      if (before.muted.audio !== u.muted.audio || before.muted.video !== u.muted.video) {
        this._onFrame({ type: 'userMuted', clientId: u.clientId, muted: { ...u.muted } }, null);
      }
      // Anything else (name, data) is taken as it is.
      this.users.set(u.clientId, clone(u));
    }
    for (const clientId of /** @type {string[]} */ (left)) {
      const before = this.users.get(clientId);
      if (before) this._onFrame({ type: 'userDisconnected', clientId, name: before.name }, null);
    }
    this.emit('usersUpdated', f);
  }

  /**
   * Applies one frame to the family picture. Returns whether anything changed.
   * @param {ServerFrame} f
   * @param {{type: string, id: number, body: Record<string, unknown>} | null} req
   * @returns {boolean}
   * @private
   */
  _apply(f, req) {
    const ok = isSuccess(f);
    switch (f.type) {
      case 'roomConnected': {
        if (!ok) return false;
        const wasIn = this.breakoutRoom?.roomId ?? null;
        if (typeof f.resume_token === 'string') this._resumeToken = f.resume_token;
        this.clientId = f.clientId;
        this.version = f.version;
        this.roomId = f.room.room_id;
        this.name = f.room.name;
        this.settings = f.room.settings;
        this.users = new Map(f.users.map((/** @type {UserInfo} */ u) => [u.clientId, clone(u)]));
        this.breakoutRooms = new Map(f.breakout_rooms.map((/** @type {BreakoutRoomInfo} */ b) => [b.room_id, clone(b)]));
        // A fresh client holds no invitation; a resumed one gets its pending ones.
        const before = this.invitations;
        this.invitations = new Map();
        const held = new Set([
          ...(Array.isArray(f.invitations) ? f.invitations : []),
          ...[...this.breakoutRooms.values()].filter((b) => b.invitations.includes(this.clientId)).map((b) => b.room_id),
        ]);
        for (const roomId of held) {
          const b = this.breakoutRooms.get(roomId);
          this.invitations.set(roomId, before.get(roomId) ?? {
            room_id: roomId, requestor: b?.owner ?? { clientId: '', name: '' }, force_join: false,
          });
        }
        if (typeof f.server_time === 'number' && f.server_time > 0) {
          const now = Date.now();
          const sent = this._connectSentAt ?? now;
          this.clockOffsetMs = f.server_time - Math.round((sent + now) / 2);
        }
        this.roomList = new Map([...this.breakoutRooms.values()].map((b) => [b.room_id, summaryOf(b)]));
        this.helpRequests = new Map((Array.isArray(f.help_requests) ? f.help_requests : [])
          .map((/** @type {HelpRequest} */ h) => [h.clientId, { ...h }]));
        this.mutedByModerator = !!f.muted_by_moderator;
        if (!this.mutedByModerator) this.unmuteAskedBy = null;
        // The server repeats a non-empty pin list right after roomConnected.
        this.pinnedUsers = [];
        for (const c of [...this.moderatorMuted]) if (!this.users.has(c)) this.moderatorMuted.delete(c);
        // A pending request of this client survives a resume only in the same room.
        if (this.helpRequest && this.helpRequest.room_id !== breakoutOf(this.users.get(f.clientId)?.location)) this.helpRequest = null;
        if (f.resumed) this._resumedPlace(wasIn, !!f.media_kept);
        return true;
      }
      case 'userConnected': {
        const { type: _t, id: _i, ...user } = f;
        this.users.set(f.clientId, /** @type {UserInfo} */ (user));
        return true;
      }
      case 'userDisconnected': {
        this.users.delete(f.clientId);
        this.moderatorMuted.delete(f.clientId);
        this.audioBroadcasts.delete(f.clientId);
        for (const b of this.breakoutRooms.values()) {
          removeMember(b, f.clientId);
          b.invitations = b.invitations.filter((c) => c !== f.clientId);
        }
        this._clearSharing(f.clientId);
        return true;
      }
      case 'userMoved': {
        this._setLocation(f.clientId, f.location);
        return true;
      }
      case 'userPaused': {
        const u = this.users.get(f.clientId);
        if (u) u.paused = f.paused;
        return true;
      }
      case 'userMuted': {
        const u = this.users.get(f.clientId);
        if (u) u.muted = { ...f.muted };
        return true;
      }
      case 'ackCreateBreakOutRoom':
      case 'ackCreateAndInviteBreakOutRoom': {
        if (!ok || typeof f.msg !== 'object' || f.msg === null) return false;
        const def = req?.body ?? {};
        for (const roomId of f.msg.rooms ?? []) {
          if (this.breakoutRooms.has(roomId)) continue;
          const me = this.me;
          this.breakoutRooms.set(roomId, {
            room_id: roomId,
            name: '',
            owner: { clientId: this.clientId, name: me?.name ?? '' },
            participants: Number(def.participants) || 0,
            audio: !!def.audio,
            canvas: !!def.canvas,
            share: !!def.share,
            members: [],
            invitations: [],
          });
        }
        for (const inv of f.msg.invitations ?? []) {
          const b = this.breakoutRooms.get(inv.room_id);
          if (b) addInvitations(b, inv.clients);
        }
        return true;
      }
      case 'breakoutRoomCreated': {
        const { type: _t, id: _i, ...info } = f;
        const known = this.breakoutRooms.get(f.room_id);
        this.breakoutRooms.set(f.room_id, {
          .../** @type {BreakoutRoomInfo} */ (info),
          members: known?.members ?? [],
          invitations: known?.invitations ?? [],
        });
        if (!this.roomList.has(f.room_id)) this.roomList.set(f.room_id, summaryOf(/** @type {BreakoutRoomInfo} */ (this.breakoutRooms.get(f.room_id))));
        return true;
      }
      case 'ackInviteBreakOutRoom': {
        if (!ok) return false;
        const b = req && typeof req.body.room_id === 'string' ? this.breakoutRooms.get(req.body.room_id) : undefined;
        if (b && Array.isArray(f.invited)) addInvitations(b, f.invited);
        return !!b;
      }
      case 'breakoutRoomInvited': {
        const b = this.breakoutRooms.get(f.room_id);
        if (b) addInvitations(b, f.clients);
        return !!b;
      }
      case 'invitationForBreakoutRoom': {
        this.invitations.set(f.room_id, { room_id: f.room_id, requestor: f.requestor, force_join: !!f.force_join });
        const b = this.breakoutRooms.get(f.room_id);
        if (b) addInvitations(b, [this.clientId]);
        return true;
      }
      case 'ackRejectBreakoutRoom': {
        if (!ok || !req || typeof req.body.room_id !== 'string') return false;
        this.invitations.delete(req.body.room_id);
        const b = this.breakoutRooms.get(req.body.room_id);
        if (b) b.invitations = b.invitations.filter((c) => c !== this.clientId);
        return true;
      }
      case 'breakoutRoomInviteRejected': {
        const b = this.breakoutRooms.get(f.room_id);
        if (b) b.invitations = b.invitations.filter((c) => c !== f.clientId);
        return !!b;
      }
      case 'connectedBreakoutRoom': {
        if (!ok) return false;
        const { type: _t, id: _i, result: _r, ...info } = f;
        const room = /** @type {BreakoutRoomInfo} */ (clone(info));
        this.breakoutRooms.set(f.room_id, room);
        this.roomList.set(f.room_id, { ...summaryOf(room), ...pickTimer(this.roomList.get(f.room_id)), ...pickTimer(room) });
        this.invitations.delete(f.room_id);
        // A help request is tied to the room it was made in.
        if (this.helpRequest && this.helpRequest.room_id !== f.room_id) this.helpRequest = null;
        const me = this.me;
        if (me) {
          me.location = { breakout: f.room_id };
          me.paused = true;
        }
        let handle = this._handles.get(f.room_id);
        if (!handle) {
          handle = new BreakoutRoom(this, f.room_id);
          this._handles.set(f.room_id, handle);
        }
        handle._connected(/** @type {ServerFrame} */ (f));
        this.breakoutRoom = handle;
        this._locationChanged();
        return true;
      }
      case 'userJoinedBreakoutRoom': {
        const b = this.breakoutRooms.get(f.room_id);
        if (b && !b.members.some((m) => m.clientId === f.clientId)) {
          b.members.push({ clientId: f.clientId, name: f.name });
        }
        if (b) b.invitations = b.invitations.filter((c) => c !== f.clientId);
        return !!b;
      }
      case 'didUserDisconnectedFromBreakoutRoom': {
        const b = this.breakoutRooms.get(f.room);
        if (b) removeMember(b, f.clientId);
        return !!b;
      }
      case 'didDisconnectedBreakoutRoom': {
        if (!ok) return false;
        const reason = /** @type {import('./protocol.js').LeaveReason | undefined} */ (typeof f.reason === 'string' ? f.reason : undefined);
        // A notice to a room's owner who stays where it is: nobody moved.
        if (reason === 'owner_notice') return false;
        const current = breakoutOf(this.location);
        const mine = isAck(f) && req !== null; // ack of our disconnect / clearAll
        const movedTo = reason === 'moved' ? breakoutOf(f.location) : null;
        if (movedTo) {
          // One-step switch (moved by a moderator, or joined another room): out of room_id,
          // already in `location` (its connectedBreakoutRoom came first); the parent stays
          // paused, so this is NOT a return to the parent.
          const from = typeof f.room_id === 'string' ? f.room_id : null;
          const me = this.me;
          if (me && breakoutOf(me.location) !== movedTo) {
            me.location = { breakout: movedTo };
            me.paused = true;
          }
          if (from) {
            const b = this.breakoutRooms.get(from);
            if (b) removeMember(b, this.clientId);
            const old = this._handles.get(from);
            if (old) old._disconnected(f);
            if (this.helpRequest?.room_id === from) this.helpRequest = null;
          }
          const now = this._handles.get(movedTo);
          if (now && this.breakoutRoom !== now) this.breakoutRoom = now;
          return true;
        }
        const left = mine ? (f.room_id ?? current) : (f.room_id !== null && f.room_id === current ? f.room_id : null);
        if (left) {
          // Without a reason (an older server) an unsolicited frame for our room meant destroy-all.
          const ended = reason === 'timeout' || reason === 'destroyed' || (!mine && reason === undefined);
          const me = this.me;
          if (me) {
            me.location = 'parent';
            me.paused = false;
            if (ended) me.muted = { audio: false, video: false }; // the return resets the mute state
          }
          if (ended) {
            this.mutedByModerator = false;
            this.unmuteAskedBy = null;
          }
          this.helpRequest = null;
          const b = this.breakoutRooms.get(left);
          if (b) removeMember(b, this.clientId);
          if (ended) this._forgetRoom(left);
          const handle = this._handles.get(left);
          if (handle) handle._disconnected(f);
          if (this.breakoutRoom && this.breakoutRoom.roomId === left) this.breakoutRoom = null;
          this._locationChanged();
          return true;
        }
        if (mine) {
          const me = this.me;
          if (me) me.paused = false;
          return true;
        }
        return false;
      }
      case 'didDestroyedBreakoutRoom':
      case 'breakoutInvitationWithdrawn': {
        this._forgetRoom(f.room_id);
        return true;
      }
      case 'ackDestroyAllBreakOutSession': {
        if (!ok || typeof f.msg !== 'object' || f.msg === null) return false;
        for (const roomId of f.msg.rooms ?? []) this._forgetRoom(roomId);
        return true;
      }
      case 'ackPause':
      case 'ackResume': {
        if (!ok) return false;
        const me = this.me;
        if (me) me.paused = f.type === 'ackPause';
        return true;
      }
      case 'ackMuteRoom':
      case 'ackUnmuteRoom': {
        if (!ok || !req) return false;
        const me = this.me;
        if (!me) return false;
        if (f.muted && typeof f.muted === 'object') {
          // The server echoes the resulting state (protocol with issue 10).
          me.muted = { audio: !!f.muted.audio, video: !!f.muted.video };
          return true;
        }
        const value = f.type === 'ackMuteRoom';
        me.muted = {
          audio: req.body.audio ? value : me.muted.audio,
          video: req.body.video ? value : me.muted.video,
        };
        return true;
      }
      // ----- facilitation -----
      case 'breakoutRoomsUpdated': {
        for (const r of /** @type {RoomSummary[]} */ (Array.isArray(f.rooms) ? f.rooms : [])) {
          const before = this.roomList.get(r.room_id);
          /** @type {RoomSummary} */
          const entry = { ...r, ends_at: r.ends_at ?? null };
          // `warning_at` is not in the list: keep the one learnt while the end is the same.
          entry.warning_at = before && before.ends_at === entry.ends_at ? before.warning_at ?? null : null;
          this.roomList.set(r.room_id, entry);
          const b = this.breakoutRooms.get(r.room_id);
          if (b) {
            b.name = r.name;
            b.self_select = r.self_select;
            b.participants = r.participants;
            if (b.ends_at !== entry.ends_at) {
              b.ends_at = entry.ends_at;
              b.warning_at = entry.warning_at;
            }
          }
        }
        for (const roomId of /** @type {string[]} */ (Array.isArray(f.removed) ? f.removed : [])) this._forgetRoom(roomId);
        return true;
      }
      case 'breakoutTimer':
      case 'ackSetBreakoutDuration': {
        const t = /** @type {BreakoutTimer | undefined} */ (f.type === 'breakoutTimer' ? f : f.timer);
        if (!ok || !t || typeof t.room_id !== 'string') return false;
        const timer = { ends_at: t.ends_at ?? null, warning_at: t.warning_at ?? null };
        const e = this.roomList.get(t.room_id);
        if (e) Object.assign(e, timer);
        const b = this.breakoutRooms.get(t.room_id);
        if (b) Object.assign(b, timer);
        return true;
      }
      case 'helpRequested': {
        const { type: _t, id: _i, ...h } = f;
        this.helpRequests.set(f.clientId, /** @type {HelpRequest} */ (h));
        return true;
      }
      case 'helpResolved':
        return this.helpRequests.delete(f.clientId);
      case 'ackDismissHelp':
        // The caller gets no helpResolved of its own dismissal.
        return ok && !!req && this.helpRequests.delete(String(req.body.clientId));
      case 'ackRequestHelp':
        if (!ok || !f.request) return false;
        this.helpRequest = { ...f.request };
        return true;
      case 'ackCancelHelp':
        if (!ok) return false;
        this.helpRequest = null;
        return true;
      case 'helpAnswered':
      case 'helpDismissed':
        this.helpRequest = null;
        return true;
      case 'ackMuteMember':
        if (!ok || !Array.isArray(f.muted)) return false;
        for (const c of f.muted) {
          if (c === this.clientId) this.mutedByModerator = true;
          else this.moderatorMuted.add(c);
        }
        return f.muted.length > 0;
      case 'memberMuted':
        if (f.clientId === this.clientId) {
          this.mutedByModerator = !!f.muted;
          this.unmuteAskedBy = null;
        } else if (f.muted) {
          this.moderatorMuted.add(f.clientId);
        } else {
          this.moderatorMuted.delete(f.clientId);
        }
        return true;
      case 'unmuteAsked':
        this.unmuteAskedBy = f.by ?? null;
        return true;
      case 'ackUnmuteSelf':
        if (!ok) return false;
        this.mutedByModerator = false;
        this.unmuteAskedBy = null;
        return true;
      // ----- listen-in -----
      case 'ackListenTo':
      case 'ackStopListening':
      case 'ackTalkTo':
      case 'ackStartBroadcast':
      case 'ackStopBroadcast':
      case 'listeningChanged': {
        if (!ok) return false;
        const listening = typeof f.listening === 'string' ? f.listening : null;
        if (f.type === 'ackListenTo') {
          const parent = req?.body.parent;
          this.listenParent = parent === 'paused' ? 'paused' : 'mixed';
        }
        if (listening !== this.listening) {
          // Switched or ended: the old room's buffered audio is not wanted any more. As for a
          // move, every slot closes now and the next map reopens the talkers still heard.
          if (this.listening !== null) this.media._roomChanged();
          this.listening = listening;
          if (listening === null) this.listenParent = null;
          else if (f.type !== 'ackListenTo') {
            const before = this._listenedBefore;
            this.listenParent = before?.room === listening ? before.parent : this.listenParent ?? 'mixed';
          }
        }
        this._listenedBefore = null;
        this.talking = !!f.talking && listening !== null;
        const rooms = Array.isArray(f.broadcasting) ? [...f.broadcasting] : [];
        // `broadcast` says it (also a broadcast to every room while none is live: no rooms).
        this.broadcasting = !!f.broadcast;
        this.broadcastRooms = this.broadcasting ? rooms : [];
        return true;
      }
      case 'monitoredBy': {
        const m = /** @type {MonitoredBy} */ ({
          room_id: f.room_id,
          moderators: Array.isArray(f.moderators) ? f.moderators.map((/** @type {UserRef} */ u) => ({ ...u })) : [],
          talking: Array.isArray(f.talking) ? [...f.talking] : [],
        });
        if (m.moderators.length === 0) this.monitoredBy.delete(m.room_id);
        else this.monitoredBy.set(m.room_id, m);
        return true;
      }
      case 'audioBroadcast': {
        const from = f.from;
        if (!from || typeof from.clientId !== 'string') return false;
        if (f.on) this.audioBroadcasts.set(from.clientId, { clientId: from.clientId, name: from.name });
        else this.audioBroadcasts.delete(from.clientId);
        return true;
      }
      case 'activeTalkersUpdated': {
        this.talkersRoomId = f.room_id;
        this.talkers = new Map(f.talkers.map((/** @type {import('./protocol.js').Talker} */ t) => [t.slot, { clientId: t.clientId, name: t.name }]));
        this.media._talkersChanged(f.room_id);
        return true;
      }
      case 'videoSlotsUpdated': {
        if (!Array.isArray(f.publishers)) return false;
        this.videoSlotsRoomId = f.room_id;
        this.videoSlots = new Map(f.publishers.map((/** @type {import('./protocol.js').Talker} */ p) => [p.slot, { clientId: p.clientId, name: p.name }]));
        return true;
      }
      case 'updatePinUsers':
        if (!Array.isArray(f.clientIds)) return false;
        this.pinnedUsers = f.clientIds.map(String);
        return true;
      case 'shareStarted':
        this.share = { room_id: f.room_id, clientId: f.clientId, name: f.name };
        return true;
      case 'canvasStarted':
        this.canvas = { room_id: f.room_id, clientId: f.clientId, name: f.name };
        return true;
      case 'shareStopped':
        if (!this.share || this.share.clientId === f.clientId) this.share = null;
        if (f.clientId === this.clientId) this.media._localShareEnded('share');
        return true;
      case 'canvasStopped':
        if (!this.canvas || this.canvas.clientId === f.clientId) this.canvas = null;
        if (f.clientId === this.clientId) this.media._localShareEnded('canvas');
        return true;
      case 'ackStartShare':
        if (ok) this.share = { room_id: this._currentRoomId(), clientId: this.clientId, name: this.me?.name ?? '' };
        return ok;
      case 'ackStartCanvas':
        if (ok) this.canvas = { room_id: this._currentRoomId(), clientId: this.clientId, name: this.me?.name ?? '' };
        return ok;
      case 'ackStopShare':
        if (this.share?.clientId === this.clientId) this.share = null;
        return true;
      case 'ackStopCanvas':
        if (this.canvas?.clientId === this.clientId) this.canvas = null;
        return true;
      case 'roomDisconnected':
        this.closed = true;
        return true;
      default:
        return false;
    }
  }

  /**
   * After a resume: the break-out handle of the room this client is in (the same handle as
   * before the drop when it did not move), shares and talkers that may be stale forgotten.
   * @param {string | null} wasIn the break-out room this client was in before the drop
   * @param {boolean} mediaKept
   * @private
   */
  _resumedPlace(wasIn, mediaKept) {
    const now = breakoutOf(this.location);
    if (wasIn && wasIn !== now) {
      // Moved back while dropped (destroy-all, say).
      const old = this._handles.get(wasIn);
      if (old) old._disconnected(null);
      this.breakoutRoom = null;
    }
    if (now) {
      let handle = this._handles.get(now);
      if (!handle) {
        handle = new BreakoutRoom(this, now);
        this._handles.set(now, handle);
      }
      handle._resumed(this.breakoutRooms.get(now) ?? null);
      this.breakoutRoom = handle;
    }
    if (wasIn !== now) this._locationChanged();
    // Notifications sent during the drop are lost: keep only what the new picture confirms.
    const room = this._currentRoomId();
    const here = (/** @type {Sharing | null} */ s) => {
      if (!s || !mediaKept) return null; // a restarted server forgot every share
      const u = this.users.get(s.clientId);
      return u && (breakoutOf(u.location) ?? this.roomId) === room ? s : null;
    };
    this.share = here(this.share);
    this.canvas = here(this.canvas);
    // Who monitors this client's room and what this client listens to are told again right
    // after the resumed roomConnected (`monitoredBy`; `listeningChanged` "Listening kept"),
    // only when they still hold: forget what may have ended meanwhile (the parent mode is
    // remembered for the room that comes back: the frame does not carry it).
    this.monitoredBy = new Map();
    this._listenedBefore = this.listening === null ? null : { room: this.listening, parent: this.listenParent };
    this.listening = null;
    this.listenParent = null;
    this.talking = false;
    this.broadcasting = false;
    this.broadcastRooms = [];
    if (!mediaKept) {
      // A new peer connection (a restarted server): broadcasts heard did not survive.
      this.audioBroadcasts = new Map();
      // A new peer connection: the server announces its slots after the new sdpAnswer.
      this.talkers = new Map();
      this.talkersRoomId = null;
      this.media._talkersChanged(null);
      this.videoSlots = new Map();
      this.videoSlotsRoomId = null;
    }
  }

  /** The id of the room this client is in now (parent or break-out). @private */
  _currentRoomId() {
    return breakoutOf(this.location) ?? this.roomId;
  }

  /**
   * @param {string} clientId
   * @param {Location} location
   * @private
   */
  _setLocation(clientId, location) {
    const u = this.users.get(clientId);
    if (u) u.location = location;
    const target = breakoutOf(location);
    for (const b of this.breakoutRooms.values()) {
      if (b.room_id !== target) removeMember(b, clientId);
    }
    if (target) {
      const b = this.breakoutRooms.get(target);
      if (b) {
        if (!b.members.some((m) => m.clientId === clientId)) b.members.push({ clientId, name: u?.name ?? '' });
        b.invitations = b.invitations.filter((c) => c !== clientId);
      }
    }
    this._clearSharing(clientId);
  }

  /**
   * A sharer that left the room (moved, dropped) no longer shares.
   * @param {string} clientId
   * @private
   */
  _clearSharing(clientId) {
    if (this.share?.clientId === clientId) this.share = null;
    if (this.canvas?.clientId === clientId) this.canvas = null;
  }

  /**
   * This client moved: the server stopped its share / canvas and re-maps its slots.
   * @private
   */
  _locationChanged() {
    // The jitter buffers still hold the old room: silence them until the new room's map.
    this.media._roomChanged();
    // Who monitors a room is told to its members: only the current room's entry holds (a
    // monitored room entered announces itself after the move).
    const here = breakoutOf(this.location);
    for (const id of [...this.monitoredBy.keys()]) if (id !== here) this.monitoredBy.delete(id);
    if (here !== null) {
      // Listening and broadcasting need the parent; the server ends them (listeningChanged).
      this.listening = null;
      this.listenParent = null;
      this.talking = false;
      this.broadcasting = false;
      this.broadcastRooms = [];
    }
    this.share = null;
    this.canvas = null;
    this.media._localShareEnded('share');
    this.media._localShareEnded('canvas');
  }

  /**
   * A break-out room is gone: forget it and any invitation to it.
   * @param {string} roomId
   * @private
   */
  _forgetRoom(roomId) {
    this.breakoutRooms.delete(roomId);
    this.monitoredBy.delete(roomId);
    this.roomList.delete(roomId);
    this.invitations.delete(roomId);
    // Protocol 2: the usersUpdated at the end of the same step moves the members back (and
    // raises their userMoved); changing the list here would hide those events.
    if (supportsUsersUpdated(this.version)) return;
    for (const u of this.users.values()) {
      // Members were moved back with their own userMoved; this only catches stale entries.
      if (breakoutOf(u.location) === roomId && u.clientId !== this.clientId) u.location = 'parent';
    }
  }

  /**
   * The break-out handle a frame concerns, if this client has one for the frame's room.
   * @param {ServerFrame} f
   * @returns {BreakoutRoom | undefined}
   * @private
   */
  _handleFor(f) {
    const roomId = typeof f.room_id === 'string' ? f.room_id : typeof f.room === 'string' ? f.room : null;
    if (!roomId) return undefined;
    return this._handles.get(roomId);
  }

  /**
   * The room's connection closed: resume when it dropped, else close for good.
   * @param {{code: number, reason: string}} info
   * @private
   */
  _onClose(info) {
    if (this.connectionState === 'closed') return;
    const resumable = !this._leaving
      && !this.closed
      && this.connectionState === 'connected'
      && this.options.reconnect !== false
      && !!this._resumeToken
      && !FINAL_CLOSE_CODES.includes(info.code);
    if (!resumable) {
      this._finalClose(info);
      return;
    }
    // Requests in flight were rejected with code "closed" by the connection; new ones are
    // rejected the same way until the resume succeeded.
    this.connectionState = 'reconnecting';
    this._reconnecting = {
      info,
      attempt: 0,
      deadline: Date.now() + (this.options.reconnectWindowMs ?? DEFAULT_RECONNECT_WINDOW_MS),
      timer: undefined,
      conn: null,
    };
    void this._attempt(this._reconnecting);
  }

  /**
   * One resume attempt: a new WebSocket, `connect` with `resume`. On a transport failure, or
   * 4109 (the server still sees the old connection open and is checking whether it is gone),
   * the next attempt follows after the backoff while the window lasts; any other refusal
   * (4108: grace period over, or the credential was used) is final. The credential is single
   * use: the resumed `roomConnected` carries the next one (stored by `_apply`).
   * @param {Reconnecting} r
   * @private
   */
  async _attempt(r) {
    if (this._reconnecting !== r) return;
    r.timer = undefined;
    r.attempt += 1;
    this.emit('reconnecting', { attempt: r.attempt, code: r.info.code, reason: r.info.reason });
    if (this._reconnecting !== r) return; // a listener called disconnect()
    const conn = this._newConnection();
    r.conn = conn;
    /** @type {ServerFrame | null} */
    let ack = null;
    /** @type {unknown} */
    let failure = null;
    const limit = Math.max(1, Math.min(this.options.timeoutMs ?? 10_000, r.deadline - Date.now()));
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    try {
      ack = await Promise.race([
        (async () => {
          await conn.open();
          this._connectSentAt = Date.now();
          return conn.request('connect', { resume: this._resumeToken, versions: [...SUPPORTED_VERSIONS] });
        })(),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new AlcoveError(`resume attempt: no answer within ${limit} ms`, { code: 'timeout' })), limit);
        }),
      ]);
    } catch (e) {
      failure = e;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
    if (this._reconnecting !== r) {
      conn.close(1000, 'client left');
      return;
    }
    if (ack && ack.type === 'roomConnected' && isSuccess(ack)) {
      this._reconnecting = null;
      this._connection = conn;
      this.connectionState = 'connected';
      this.emit('reconnected', { frame: ack, attempts: r.attempt, mediaKept: !!ack.media_kept });
      void this.media._resumed(!!ack.media_kept);
      return;
    }
    r.conn = null;
    if (ack && ack.result !== ErrorCode.ResumeWhileAttached) {
      // The server answered no: the place is gone (grace period over, room ended).
      conn.close(1000, 'resume refused');
      this._reconnecting = null;
      this._finalClose(r.info, AlcoveError.fromAck(ack));
      return;
    }
    conn.close(1000, 'resume attempt failed');
    const first = this.options.reconnectDelayMs ?? 100;
    const delay = Math.min(this.options.reconnectMaxDelayMs ?? 2000, first * 2 ** (r.attempt - 1));
    if (Date.now() + delay >= r.deadline) {
      this._reconnecting = null;
      const why = failure instanceof Error ? failure.message : String(failure);
      this._finalClose(r.info, new AlcoveError(`resume failed: no server within the reconnect window (${why})`, { code: 'closed', cause: failure }));
      return;
    }
    r.timer = setTimeout(() => void this._attempt(r), delay);
  }

  /**
   * Closed for good.
   * @param {{code: number, reason: string}} info
   * @param {AlcoveError} [error] why a resume failed
   * @private
   */
  _finalClose(info, error) {
    if (this.connectionState === 'closed') return;
    this.connectionState = 'closed';
    this.closed = true;
    this.closeInfo = info;
    this.media.close();
    this.emit('close', error ? { ...info, error } : info);
  }
}

/**
 * @param {BreakoutRoomInfo} b
 * @param {string} clientId
 */
function removeMember(b, clientId) {
  b.members = b.members.filter((m) => m.clientId !== clientId);
}

/**
 * @param {BreakoutRoomInfo} b
 * @param {string[]} clients
 */
function addInvitations(b, clients) {
  for (const c of clients) {
    if (!b.invitations.includes(c) && !b.members.some((m) => m.clientId === c)) b.invitations.push(c);
  }
}

/**
 * A room's entry of the room list, from what this client knows of it.
 * @param {BreakoutRoomInfo} b
 * @returns {RoomSummary}
 */
function summaryOf(b) {
  return {
    room_id: b.room_id,
    name: b.name,
    members: b.members.length,
    participants: b.participants,
    self_select: !!b.self_select,
    ends_at: b.ends_at ?? null,
    warning_at: b.warning_at ?? null,
  };
}

/**
 * The timer fields of a room entry that has them.
 * @param {{ends_at?: number | null, warning_at?: number | null} | undefined} e
 */
function pickTimer(e) {
  return e && typeof e.ends_at === 'number' ? { ends_at: e.ends_at, warning_at: e.warning_at ?? null } : {};
}

/** The vendor's name for the parent-room handle. */
export { Room as EnxRoom };
