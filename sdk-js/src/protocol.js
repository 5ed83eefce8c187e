// @ts-check
/**
 * @module protocol
 *
 * The Alcove signalling wire, and nothing else: frame encode/decode, the message type names,
 * which acknowledgement answers which request, the seed (vendor contract) name mapping, and the
 * error codes. No I/O lives here.
 *
 * Every frame is one JSON object with a string `type`. A request carries a numeric `id` and is
 * answered by exactly one acknowledgement with the same `id` (its `result` is 0 on success, an
 * error code otherwise). Server frames without `id` are notifications. The Rust definitions are
 * in `crates/proto/src/signal.rs`; the golden examples in `crates/proto/fixtures/` are parsed by
 * this SDK's tests, so a wire change shows up here.
 */

/**
 * The newest protocol version this SDK speaks (`connect.versions`). Version 2 batches presence
 * into one `usersUpdated` per family step; the SDK turns it back into the per-user events.
 * Version 3 adds the room list: every client gets `breakoutRoomsUpdated` (kept as
 * `room.roomList`). Version 4 adds camera video: a camera m-line and video slots in the offer,
 * and `videoSlotsUpdated` (kept as `room.videoSlots`).
 */
export const PROTOCOL_VERSION = 4;

/** Every protocol version this SDK speaks, newest last. */
export const SUPPORTED_VERSIONS = Object.freeze([1, 2, 3, 4]);

/** The video slots offered unless `connect(…, {videoSlots})` says otherwise (protocol 4). */
export const DEFAULT_VIDEO_SLOTS = 4;

/**
 * The camera's simulcast layers (issue 14), lowest first: the RIDs the server knows (`q`
 * quarter, `h` half, `f` full resolution) and how each is scaled down from the capture. Sent
 * as the camera transceiver's `sendEncodings` when `connect(…, {simulcast})` is on.
 * @type {ReadonlyArray<Readonly<{rid: string, scaleResolutionDownBy: number}>>}
 */
export const CAMERA_SIMULCAST = Object.freeze([
  Object.freeze({ rid: 'q', scaleResolutionDownBy: 4 }),
  Object.freeze({ rid: 'h', scaleResolutionDownBy: 2 }),
  Object.freeze({ rid: 'f', scaleResolutionDownBy: 1 }),
]);

/** Whether the camera is sent as simulcast unless `connect(…, {simulcast})` says otherwise. */
export const DEFAULT_SIMULCAST = true;

/**
 * Presence comes batched as `usersUpdated` (protocol 2 on); mirrors
 * `ProtocolVersion::supports_users_updated` in crates/proto/src/version.rs.
 * @param {number | undefined} version the negotiated version (`roomConnected.version`)
 * @returns {boolean}
 */
export function supportsUsersUpdated(version) {
  return typeof version === 'number' && version >= 2;
}

/**
 * Every client gets the room list (`breakoutRoomsUpdated`, protocol 3 on); mirrors
 * `ProtocolVersion::supports_room_list` in crates/proto/src/version.rs.
 * @param {number | undefined} version the negotiated version (`roomConnected.version`)
 * @returns {boolean}
 */
export function supportsRoomList(version) {
  return typeof version === 'number' && version >= 3;
}

/**
 * The offer may carry a camera and video slots, announced with `videoSlotsUpdated` (protocol 4
 * on); mirrors `ProtocolVersion::supports_video_slots` in crates/proto/src/version.rs.
 * @param {number | undefined} version the negotiated version (`roomConnected.version`)
 * @returns {boolean}
 */
export function supportsVideoSlots(version) {
  return typeof version === 'number' && version >= 4;
}

// ---------------------------------------------------------------------------------------------
// Types shared with the rest of the SDK (JSDoc only).

/**
 * `{clientId, name}`: a user named in a notification.
 * @typedef {{clientId: string, name: string}} UserRef
 */

/**
 * Where a client is: `"parent"` or `{breakout: room_id}`.
 * @typedef {"parent" | {breakout: string}} Location
 */

/** @typedef {{audio: boolean, video: boolean}} MediaFlags */

/**
 * A connected user as others see it (`roomConnected.users`, `userConnected`).
 * @typedef {{clientId: string, name: string, role: Role, user_ref: string, data?: unknown,
 *   location: Location, paused: boolean, muted: MediaFlags}} UserInfo
 */

/** @typedef {"moderator" | "participant" | "viewer"} Role */

/**
 * A live break-out room with its members and pending invitations. `self_select`: any
 * participant may join without an invitation; `ends_at` / `warning_at`: its timer (absolute
 * server Unix ms; absent without a timer / warning).
 * @typedef {{room_id: string, name: string, owner: UserRef, participants: number,
 *   audio: boolean, canvas: boolean, share: boolean, members: UserRef[],
 *   invitations: string[], self_select?: boolean, ends_at?: number | null,
 *   warning_at?: number | null}} BreakoutRoomInfo
 */

/**
 * A break-out room as every client sees it: an entry of the room list (`breakoutRoomsUpdated`,
 * and `roomConnected.breakout_rooms`). `members` is a count (moderators included); `ends_at`
 * (absolute server Unix ms) is present while the room has a timer, `warning_at` when this
 * client learnt it (`breakoutTimer`, `roomConnected`).
 * @typedef {{room_id: string, name: string, members: number, participants: number,
 *   self_select: boolean, ends_at?: number | null, warning_at?: number | null}} RoomSummary
 */

/**
 * A room's timer (`breakoutTimer`, `ackSetBreakoutDuration.timer`); nulls: no timer / no
 * warning. Times are absolute server Unix ms.
 * @typedef {{room_id: string, ends_at: number | null, warning_at: number | null}} BreakoutTimer
 */

/**
 * A pending help request (`helpRequested`, `roomConnected.help_requests`,
 * `ackRequestHelp.request`); `at` is server Unix ms.
 * @typedef {{room_id: string, clientId: string, name: string, at: number}} HelpRequest
 */

/**
 * Why a client left a break-out room (`didDisconnectedBreakoutRoom.reason`): `left` (its own
 * disconnect / clear-all), `moved` (into another break-out room in one step: `location` names
 * it; the parent stays paused), `destroyed` (destroy-all), `timeout` (the room's timer ran
 * out), `owner_notice` (the receiver did not move: it owns the room and is told a member left).
 * @typedef {"left" | "moved" | "destroyed" | "timeout" | "owner_notice"} LeaveReason
 */

/**
 * One room of a saved plan.
 * @typedef {{name: string, participants: number, canvas: boolean, share: boolean,
 *   duration?: number, self_select: boolean, members: string[]}} PlanRoom
 */

/** @typedef {{name: string, rooms: PlanRoom[]}} Plan */

/** @typedef {{name: string, rooms: number, members: number, saved_at: number}} PlanSummary */

/**
 * Parent room settings as the server sends them (every default filled in).
 * @typedef {{mode: "group" | "lecture", max_active_talkers: number, moderators: number,
 *   participants: number, screen_share: boolean, canvas: boolean,
 *   breakout_creators: "moderators_and_participants" | "moderators_only",
 *   max_breakout_rooms: number, breakout_empty_timeout: number}} RoomSettings
 */

/**
 * The seed's `roomDefinition` for `createBreakOutRoom` / `createAndInviteBreakoutRoom`, with
 * Alcove's optional facilitation fields: `duration` (seconds, 1..=86400: the room's timer),
 * `warning` (seconds before the end, default 60, 0: none), `self_select` (participants may
 * join without an invitation), `names` (the rooms' names, in order), `policy`
 * (create-and-invite: `"random"` or `"meet_new"`, fewest pairs who met before).
 * @typedef {{participants: number, audio: boolean, video: boolean, canvas: boolean,
 *   share: boolean, max_rooms?: number, force_join?: boolean, duration?: number,
 *   warning?: number, self_select?: boolean, names?: string[],
 *   policy?: "random" | "meet_new"}} RoomDefinition
 */

/**
 * The seed's `invitee` for `inviteToBreakOutRoom`.
 * @typedef {{clients: string[], room_id: string, force_join?: boolean}} Invitee
 */

/**
 * The seed's `joinee` for `joinBreakoutRoom`.
 * @typedef {{role: "participant" | "moderator", room_id: string}} Joinee
 */

/** @typedef {{audio?: boolean, video?: boolean}} StreamInfo */

/** @typedef {{clientId: string, name: string, slot: number}} Talker */

/**
 * A camera simulcast layer, as `setVideoSlot`'s `max_layer` names it: `low` is RID `q`,
 * `medium` `h`, `high` `f` ({@link CAMERA_SIMULCAST}).
 * @typedef {"low" | "medium" | "high"} VideoLayer
 */

/**
 * Which `mid` of the offer carries what (`sdpOffer.mids`).
 * @typedef {{mic?: string, share?: string, canvas?: string, audio_slots: string[],
 *   share_slot?: string, canvas_slot?: string, camera?: string, video_slots?: string[]}} MediaMids
 */

/**
 * Any server frame after decoding: the JSON object itself. `type` names the message; `id` is
 * present on acknowledgements only. The other fields depend on `type` (see docs/protocol.md).
 * @typedef {{type: string, id?: number, result?: number, msg?: any, [field: string]: any}} ServerFrame
 */

/**
 * A client request: `type`, `id` and the type's fields.
 * @typedef {{type: string, id: number, [field: string]: any}} ClientFrame
 */

// ---------------------------------------------------------------------------------------------
// Message types.

/** Every `type` a client may send, in the order of `ClientMessage` in signal.rs. */
export const CLIENT_TYPES = Object.freeze([
  'connect',
  'createBreakOutRoom',
  'inviteToBreakOutRoom',
  'createAndInviteBreakoutRoom',
  'joinBreakoutRoom',
  'rejectBreakOutRoom',
  'pause',
  'resume',
  'muteRoom',
  'unmuteRoom',
  'disconnect',
  'clearAllBreakOutSession',
  'destroyAllBreakOutSession',
  'sdpOffer',
  'startShare',
  'stopShare',
  'startCanvas',
  'stopCanvas',
  'setBreakoutDuration',
  'broadcastMessage',
  'requestHelp',
  'cancelHelp',
  'dismissHelp',
  'moveToBreakoutRoom',
  'setSelfSelect',
  'renameBreakoutRoom',
  'savePlan',
  'listPlans',
  'applyPlan',
  'muteMember',
  'askToUnmute',
  'unmuteSelf',
  // Issue 11 (listen-in, talk-in, audio broadcast; `LISTEN_METHODS`).
  'listenTo',
  'stopListening',
  'talkTo',
  'startBroadcast',
  'stopBroadcast',
  // Issue 14 (camera simulcast layers; protocol 4).
  'setVideoSlot',
  // Issue 14 (pinned cameras; protocol 4, moderators).
  'pinUsers',
  'unpinUsers',
]);

/**
 * Every server `type` with the fields it always carries (optional fields are not listed).
 * Mirrors `ServerMessage` in signal.rs and the structs it wraps.
 * @type {Readonly<Record<string, readonly string[]>>}
 */
export const SERVER_FIELDS = Object.freeze({
  roomConnected: ['result', 'version', 'clientId', 'room', 'users', 'breakout_rooms'],
  error: ['result', 'msg'],
  ackCreateBreakOutRoom: ['result', 'msg'],
  breakoutRoomCreated: ['room_id', 'name', 'owner', 'participants', 'audio', 'canvas', 'share'],
  ackInviteBreakOutRoom: ['result', 'msg'],
  invitationForBreakoutRoom: ['room_id', 'requestor', 'force_join'],
  breakoutRoomInvited: ['room_id', 'clients', 'requestor'],
  ackCreateAndInviteBreakOutRoom: ['result', 'msg'],
  connectedBreakoutRoom: ['result', 'room_id', 'name', 'owner', 'participants', 'audio', 'canvas',
    'share', 'members', 'invitations', 'self_select'],
  failedJoinBreakOutRoom: ['result', 'msg'],
  userJoinedBreakoutRoom: ['clientId', 'name', 'room_id'],
  ackRejectBreakoutRoom: ['result', 'msg'],
  breakoutRoomInviteRejected: ['room_id', 'clientId', 'name'],
  ackPause: ['result', 'msg'],
  ackResume: ['result', 'msg'],
  ackMuteRoom: ['result', 'msg'],
  ackUnmuteRoom: ['result', 'msg'],
  didDisconnectedBreakoutRoom: ['msg', 'result'],
  didUserDisconnectedFromBreakoutRoom: ['clientId', 'name', 'room'],
  didDestroyedBreakoutRoom: ['room_id'],
  ackDestroyAllBreakOutSession: ['result', 'msg'],
  breakoutInvitationWithdrawn: ['room_id', 'reason'],
  userConnected: ['clientId', 'name', 'role', 'user_ref', 'location', 'paused', 'muted'],
  userDisconnected: ['clientId', 'name'],
  userMoved: ['clientId', 'location'],
  userPaused: ['clientId', 'paused'],
  userMuted: ['clientId', 'muted'],
  usersUpdated: ['users', 'left'],
  roomDisconnected: ['result', 'msg'],
  sdpAnswer: ['result', 'msg'],
  ackStartShare: ['result', 'msg'],
  ackStopShare: ['result', 'msg'],
  ackStartCanvas: ['result', 'msg'],
  ackStopCanvas: ['result', 'msg'],
  shareStarted: ['room_id', 'clientId', 'name'],
  shareStopped: ['room_id', 'clientId', 'reason'],
  canvasStarted: ['room_id', 'clientId', 'name'],
  canvasStopped: ['room_id', 'clientId', 'reason'],
  activeTalkersUpdated: ['room_id', 'talkers'],
  videoSlotsUpdated: ['room_id', 'publishers'],
  ackSetBreakoutDuration: ['result', 'msg'],
  breakoutTimer: ['room_id', 'ends_at', 'warning_at'],
  breakoutTimerWarning: ['room_id', 'ends_at'],
  ackBroadcastMessage: ['result', 'msg', 'recipients'],
  broadcastReceived: ['from', 'text', 'at', 'room_id'],
  ackRequestHelp: ['result', 'msg', 'already_pending'],
  ackCancelHelp: ['result', 'msg'],
  helpRequested: ['room_id', 'clientId', 'name', 'at'],
  ackDismissHelp: ['result', 'msg'],
  helpAnswered: ['room_id', 'by'],
  helpDismissed: ['room_id', 'by'],
  helpResolved: ['room_id', 'clientId', 'outcome'],
  ackMoveToBreakoutRoom: ['result', 'msg'],
  ackSetSelfSelect: ['result', 'msg'],
  ackRenameBreakoutRoom: ['result', 'msg'],
  breakoutRoomsUpdated: ['rooms'],
  ackSavePlan: ['result', 'msg'],
  ackListPlans: ['result', 'msg', 'plans'],
  ackApplyPlan: ['result', 'msg', 'rooms', 'invitations', 'unmatched'],
  ackMuteMember: ['result', 'msg', 'muted'],
  memberMuted: ['clientId', 'muted'],
  ackAskToUnmute: ['result', 'msg'],
  unmuteAsked: ['by'],
  ackUnmuteSelf: ['result', 'msg'],
  // Issue 11 (listen-in; `LISTEN_METHODS`).
  ackListenTo: ['result', 'msg', 'talking'],
  ackStopListening: ['result', 'msg', 'talking'],
  ackTalkTo: ['result', 'msg', 'talking'],
  ackStartBroadcast: ['result', 'msg', 'talking'],
  ackStopBroadcast: ['result', 'msg', 'talking'],
  monitoredBy: ['room_id', 'moderators', 'talking'],
  audioBroadcast: ['from', 'on'],
  listeningChanged: ['result', 'msg', 'talking'],
  // Issue 14 (camera simulcast layers).
  ackSetVideoSlot: ['result', 'msg'],
  // Issue 14 (pinned cameras).
  ackPinUsers: ['result', 'msg'],
  ackUnpinUsers: ['result', 'msg'],
  updatePinUsers: ['room_id', 'clientIds'],
});

/** Every server `type`. */
export const SERVER_TYPES = Object.freeze(Object.keys(SERVER_FIELDS));

/**
 * The fields each client request must carry besides `type` and `id`. Room definitions are
 * checked by the server in the contract's order, so none are required here.
 * @type {Readonly<Record<string, readonly string[]>>}
 */
export const CLIENT_FIELDS = Object.freeze({
  // `token`, or `resume` (the `resume_token` of an earlier connection): one of the two.
  connect: [],
  createBreakOutRoom: [],
  inviteToBreakOutRoom: ['clients', 'room_id'],
  createAndInviteBreakoutRoom: [],
  joinBreakoutRoom: ['role', 'room_id'],
  rejectBreakOutRoom: ['room_id'],
  pause: [],
  resume: [],
  muteRoom: [],
  unmuteRoom: [],
  disconnect: ['room_id'],
  clearAllBreakOutSession: [],
  destroyAllBreakOutSession: [],
  sdpOffer: ['sdp', 'mids'],
  startShare: [],
  stopShare: [],
  startCanvas: [],
  stopCanvas: [],
  setBreakoutDuration: ['room_id'],
  broadcastMessage: ['text'],
  requestHelp: [],
  cancelHelp: [],
  dismissHelp: ['clientId'],
  moveToBreakoutRoom: ['clientId', 'room_id'],
  setSelfSelect: ['on'],
  renameBreakoutRoom: ['room_id', 'name'],
  savePlan: ['name'],
  listPlans: [],
  applyPlan: ['name'],
  // `clientId` or `room_id`: exactly one of the two.
  muteMember: [],
  askToUnmute: ['clientId'],
  unmuteSelf: [],
  listenTo: ['room_id'],
  stopListening: [],
  talkTo: ['room_id', 'on'],
  startBroadcast: [],
  stopBroadcast: [],
  setVideoSlot: ['slot', 'height'],
  pinUsers: ['clientIds'],
  unpinUsers: ['clientIds'],
});

/**
 * The acknowledgement type(s) that answer each request type. A request may in addition be
 * answered by `error` when the connection cannot take it (4004, 4005) or its `type` is unknown.
 * @type {Readonly<Record<string, readonly string[]>>}
 */
export const ACK_TYPES = Object.freeze({
  connect: ['roomConnected', 'error'],
  createBreakOutRoom: ['ackCreateBreakOutRoom'],
  inviteToBreakOutRoom: ['ackInviteBreakOutRoom'],
  createAndInviteBreakoutRoom: ['ackCreateAndInviteBreakOutRoom'],
  joinBreakoutRoom: ['connectedBreakoutRoom', 'failedJoinBreakOutRoom'],
  rejectBreakOutRoom: ['ackRejectBreakoutRoom'],
  pause: ['ackPause'],
  resume: ['ackResume'],
  muteRoom: ['ackMuteRoom'],
  unmuteRoom: ['ackUnmuteRoom'],
  disconnect: ['didDisconnectedBreakoutRoom'],
  clearAllBreakOutSession: ['didDisconnectedBreakoutRoom'],
  destroyAllBreakOutSession: ['ackDestroyAllBreakOutSession'],
  sdpOffer: ['sdpAnswer'],
  startShare: ['ackStartShare'],
  stopShare: ['ackStopShare'],
  startCanvas: ['ackStartCanvas'],
  stopCanvas: ['ackStopCanvas'],
  setBreakoutDuration: ['ackSetBreakoutDuration'],
  broadcastMessage: ['ackBroadcastMessage'],
  requestHelp: ['ackRequestHelp'],
  cancelHelp: ['ackCancelHelp'],
  dismissHelp: ['ackDismissHelp'],
  moveToBreakoutRoom: ['ackMoveToBreakoutRoom'],
  setSelfSelect: ['ackSetSelfSelect'],
  renameBreakoutRoom: ['ackRenameBreakoutRoom'],
  savePlan: ['ackSavePlan'],
  listPlans: ['ackListPlans'],
  applyPlan: ['ackApplyPlan'],
  muteMember: ['ackMuteMember'],
  askToUnmute: ['ackAskToUnmute'],
  unmuteSelf: ['ackUnmuteSelf'],
  listenTo: ['ackListenTo'],
  stopListening: ['ackStopListening'],
  talkTo: ['ackTalkTo'],
  startBroadcast: ['ackStartBroadcast'],
  stopBroadcast: ['ackStopBroadcast'],
  setVideoSlot: ['ackSetVideoSlot'],
  pinUsers: ['ackPinUsers'],
  unpinUsers: ['ackUnpinUsers'],
});

/**
 * Seed (vendor contract) method → the SDK method that implements it, the handle it lives on,
 * the wire `type` it sends and the seed callbacks (= SDK event names) that answer it.
 * `docs/protocol.md` §9 is the same table in prose.
 * @type {Readonly<Record<string, {handle: "room" | "breakout", method: string, type: string,
 *   callbacks: readonly string[]}>>}
 */
export const SEED_METHODS = Object.freeze({
  createBreakOutRoom: { handle: 'room', method: 'createBreakOutRoom', type: 'createBreakOutRoom', callbacks: ['ackCreateBreakOutRoom'] },
  inviteToBreakOutRoom: { handle: 'room', method: 'inviteToBreakOutRoom', type: 'inviteToBreakOutRoom', callbacks: ['ackInviteBreakOutRoom'] },
  createAndInviteBreakoutRoom: { handle: 'room', method: 'createAndInviteBreakoutRoom', type: 'createAndInviteBreakoutRoom', callbacks: ['ackCreateAndInviteBreakOutRoom'] },
  joinBreakoutRoom: { handle: 'room', method: 'joinBreakoutRoom', type: 'joinBreakoutRoom', callbacks: ['connectedBreakoutRoom', 'failedJoinBreakOutRoom'] },
  rejectBreakOutRoom: { handle: 'room', method: 'rejectBreakOutRoom', type: 'rejectBreakOutRoom', callbacks: ['ackRejectBreakoutRoom'] },
  pause: { handle: 'room', method: 'pause', type: 'pause', callbacks: ['ackPause'] },
  resume: { handle: 'room', method: 'resume', type: 'resume', callbacks: ['ackResume'] },
  muteRoom: { handle: 'room', method: 'muteRoom', type: 'muteRoom', callbacks: ['ackMuteRoom'] },
  unmuteRoom: { handle: 'room', method: 'unmuteRoom', type: 'unmuteRoom', callbacks: ['ackUnmuteRoom'] },
  disconnect: { handle: 'breakout', method: 'disconnect', type: 'disconnect', callbacks: ['didDisconnectedBreakoutRoom'] },
  clearAllBreakOutSession: { handle: 'room', method: 'clearAllBreakOutSession', type: 'clearAllBreakOutSession', callbacks: ['didDisconnectedBreakoutRoom'] },
  destroyAllBreakOutSession: { handle: 'room', method: 'destroyAllBreakOutSession', type: 'destroyAllBreakOutSession', callbacks: ['ackDestroyAllBreakOutSession'] },
});

/**
 * Alcove's facilitation requests (issue 10; beyond the seed): SDK method on the room handle →
 * the wire `type` it sends, its acknowledgement, and the notifications it causes for others
 * (each dispatched as an event of that name). `docs/protocol.md` has every frame.
 * @type {Readonly<Record<string, {type: string, ack: string, notifications: readonly string[]}>>}
 */
export const FACILITATION_METHODS = Object.freeze({
  setBreakoutDuration: { type: 'setBreakoutDuration', ack: 'ackSetBreakoutDuration', notifications: ['breakoutTimer', 'breakoutTimerWarning', 'breakoutRoomsUpdated'] },
  broadcastMessage: { type: 'broadcastMessage', ack: 'ackBroadcastMessage', notifications: ['broadcastReceived'] },
  requestHelp: { type: 'requestHelp', ack: 'ackRequestHelp', notifications: ['helpRequested'] },
  cancelHelp: { type: 'cancelHelp', ack: 'ackCancelHelp', notifications: ['helpResolved'] },
  dismissHelp: { type: 'dismissHelp', ack: 'ackDismissHelp', notifications: ['helpDismissed', 'helpResolved'] },
  moveToBreakoutRoom: { type: 'moveToBreakoutRoom', ack: 'ackMoveToBreakoutRoom', notifications: ['connectedBreakoutRoom', 'didDisconnectedBreakoutRoom', 'userJoinedBreakoutRoom', 'didUserDisconnectedFromBreakoutRoom', 'helpAnswered', 'helpResolved', 'breakoutRoomsUpdated'] },
  setSelfSelect: { type: 'setSelfSelect', ack: 'ackSetSelfSelect', notifications: ['breakoutRoomsUpdated'] },
  renameBreakoutRoom: { type: 'renameBreakoutRoom', ack: 'ackRenameBreakoutRoom', notifications: ['breakoutRoomsUpdated'] },
  savePlan: { type: 'savePlan', ack: 'ackSavePlan', notifications: [] },
  listPlans: { type: 'listPlans', ack: 'ackListPlans', notifications: [] },
  applyPlan: { type: 'applyPlan', ack: 'ackApplyPlan', notifications: ['breakoutRoomCreated', 'invitationForBreakoutRoom', 'breakoutRoomInvited', 'connectedBreakoutRoom', 'breakoutRoomsUpdated'] },
  muteMember: { type: 'muteMember', ack: 'ackMuteMember', notifications: ['memberMuted'] },
  askToUnmute: { type: 'askToUnmute', ack: 'ackAskToUnmute', notifications: ['unmuteAsked'] },
  unmuteSelf: { type: 'unmuteSelf', ack: 'ackUnmuteSelf', notifications: ['memberMuted'] },
});

/**
 * Alcove's listen-in, talk-in and audio broadcast (issue 11; moderators in the parent): SDK
 * method on the room handle → the wire `type` it sends, its acknowledgement, and the
 * notifications it causes for others (each dispatched as an event of that name).
 * `docs/protocol.md` ("listenTo / stopListening / talkTo", "startBroadcast / stopBroadcast").
 * @type {Readonly<Record<string, {type: string, ack: string, notifications: readonly string[]}>>}
 */
export const LISTEN_METHODS = Object.freeze({
  listenTo: { type: 'listenTo', ack: 'ackListenTo', notifications: ['monitoredBy'] },
  stopListening: { type: 'stopListening', ack: 'ackStopListening', notifications: ['monitoredBy'] },
  talkTo: { type: 'talkTo', ack: 'ackTalkTo', notifications: ['monitoredBy'] },
  startBroadcast: { type: 'startBroadcast', ack: 'ackStartBroadcast', notifications: ['audioBroadcast'] },
  stopBroadcast: { type: 'stopBroadcast', ack: 'ackStopBroadcast', notifications: ['audioBroadcast'] },
});

/**
 * The listen-in state of a moderator, as its acks and `listeningChanged` carry it: the room it
 * listens to (absent: none), whether it talks into it, whether it broadcasts (`broadcast`), and
 * the break-out rooms its broadcast reaches (absent or empty: none, or none is live).
 * @typedef {{result: number, msg: string, listening?: string, talking: boolean,
 *   broadcast?: boolean, broadcasting?: string[]}} ListenState
 */

/**
 * Who monitors a break-out room (`monitoredBy`): the moderators listening to it, and the ids
 * of those of them talking into it. Empty lists: nobody.
 * @typedef {{room_id: string, moderators: UserRef[], talking: string[]}} MonitoredBy
 */

/**
 * A moderator's audio broadcast reaching this client's room (`audioBroadcast`).
 * @typedef {{from: UserRef, on: boolean}} AudioBroadcast
 */

/**
 * Every callback named by the seed, each of which is one server `type` and one SDK event name.
 */
export const SEED_CALLBACKS = Object.freeze([
  'ackCreateBreakOutRoom',
  'breakoutRoomCreated',
  'ackInviteBreakOutRoom',
  'invitationForBreakoutRoom',
  'breakoutRoomInvited',
  'ackCreateAndInviteBreakOutRoom',
  'connectedBreakoutRoom',
  'failedJoinBreakOutRoom',
  'userJoinedBreakoutRoom',
  'ackRejectBreakoutRoom',
  'breakoutRoomInviteRejected',
  'ackPause',
  'ackResume',
  'ackMuteRoom',
  'ackUnmuteRoom',
  'didDisconnectedBreakoutRoom',
  'didUserDisconnectedFromBreakoutRoom',
  'didDestroyedBreakoutRoom',
]);

// ---------------------------------------------------------------------------------------------
// Error codes (crates/proto/src/error_code.rs; docs/errors.md says when each happens).

/** Stable numeric error codes sent in `result`. Numbers are never reused. */
export const ErrorCode = Object.freeze({
  Internal: 1138,
  InvalidParameters: 1155,
  ParticipantsMissing: 1724,
  ParticipantsOverCapacity: 1725,
  RoomLimitExceeded: 1726,
  RequiredParameterMissing: 1734,
  VideoNotSupported: 1735,
  BreakoutRoomNotFound: 1736,
  NotInvited: 1737,
  BreakoutRoomFull: 1738,
  AlreadyInBreakoutRoom: 1739,
  ClientNotConnected: 1740,
  NotInBreakoutRoom: 1741,
  RoleNotAllowed: 1742,
  AlreadyMember: 1743,
  SdpRejected: 1750,
  SharingNotAllowed: 1751,
  SharingBusy: 1752,
  NotSharing: 1753,
  MediaAlreadyNegotiated: 1754,
  Unauthorized: 5003,
  BreakoutNotAvailable: 5067,
  MalformedFrame: 4001,
  UnknownMessageType: 4002,
  FrameTooLarge: 4003,
  NotConnected: 4004,
  AlreadyConnected: 4005,
  RateLimited: 4006,
  TokenInvalid: 4101,
  TokenExpired: 4102,
  TokenReused: 4103,
  RoomNotFound: 4104,
  RoomFull: 4105,
  UnsupportedVersion: 4106,
  RoomEnded: 4107,
  ResumeFailed: 4108,
  ResumeWhileAttached: 4109,
  BadRequest: 4400,
  AuthenticationFailed: 4401,
  NotFound: 4404,
  NoHelpRequest: 1760,
  PlanNotFound: 1761,
  MutedByModerator: 1762,
  ListenInNotAllowed: 1763,
  NotListening: 1764,
  NotInParent: 1765,
  PinInvalidClient: 5126,
});

/** The server's default message for each code (the `msg` may be more specific). */
export const ERROR_MESSAGES = Object.freeze({
  1138: 'Internal Server Error',
  1155: 'Invalid options/parameters',
  1724: 'Participant Count not found',
  1725: 'Participant Count is more than Parent Room Size',
  1726: 'Permissible limit to create Break-Out Room has exceeded',
  1734: 'Required parameter missing',
  1735: 'Video is not supported in Break-Out Rooms',
  1736: 'Break-Out Room not found',
  1737: 'No invitation to this Break-Out Room',
  1738: 'Break-Out Room is full',
  1739: 'Already in a Break-Out Room',
  1740: 'Client is not connected in this room',
  1741: 'Not a member of this Break-Out Room',
  1742: 'Role not allowed',
  1743: 'Already a member of this Break-Out Room',
  1750: 'SDP offer rejected',
  1751: 'Not enabled in this room',
  1752: 'Someone else is already sharing in this room',
  1753: 'Not sharing',
  1754: 'Media already negotiated on this connection',
  5003: 'Unauthorized Access',
  5067: 'Break-Out Room not available',
  4001: 'Malformed frame',
  4002: 'Unknown message type',
  4003: 'Frame too large',
  4004: 'Not connected: send connect first',
  4005: 'Already connected',
  4006: 'Too many requests',
  4101: 'Token validation failed',
  4102: 'Token expired',
  4103: 'Token already used',
  4104: 'Room not found',
  4105: 'Room is full',
  4106: 'Unsupported protocol version',
  4107: 'Room ended',
  4108: 'Resume failed: the grace period is over, connect again',
  4109: 'Still connected: the old connection has not ended yet, retry',
  4400: 'Bad request',
  4401: 'Authentication failed',
  4404: 'Not found',
  1760: 'No pending help request',
  1761: 'Plan not found',
  1762: 'Muted by a moderator: wait to be asked to unmute',
  1763: 'Listen-in is not allowed in this Break-Out Room',
  1764: 'Not listening to this Break-Out Room',
  1765: 'Only from the parent room',
  5126: 'Invalid client to pin',
});

/**
 * The name of an error code (`1737` → `"NotInvited"`), or undefined for a number that is not
 * one of ours.
 * @param {number} code
 * @returns {string | undefined}
 */
export function errorName(code) {
  for (const [name, value] of Object.entries(ErrorCode)) {
    if (value === code) return name;
  }
  return undefined;
}

/**
 * An error from Alcove: a failed acknowledgement (`result` ≠ 0, `ack` is the frame), a refused
 * connect, a timeout, or a closed connection. `code` is a short machine-readable tag:
 * `"ack"` (the server said no; see `result`), `"timeout"`, `"closed"`, `"protocol"`
 * (an undecodable frame), `"media"` (a browser media API failed).
 */
export class AlcoveError extends Error {
  /**
   * @param {string} message
   * @param {{code?: string, result?: number | null, ack?: ServerFrame | null, cause?: unknown}} [options]
   */
  constructor(message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AlcoveError';
    /** @type {string} */
    this.code = options.code ?? 'ack';
    /** @type {number | null} The server's error code, when the server answered. */
    this.result = options.result ?? null;
    /** @type {ServerFrame | null} The acknowledgement frame, when the server answered. */
    this.ack = options.ack ?? null;
  }

  /**
   * The error for a failed acknowledgement.
   * @param {ServerFrame} ack
   */
  static fromAck(ack) {
    const result = typeof ack.result === 'number' ? ack.result : null;
    const text = typeof ack.msg === 'string' && ack.msg !== ''
      ? ack.msg
      : (result !== null ? (/** @type {Record<number, string>} */ (ERROR_MESSAGES))[result] : undefined) ?? 'request failed';
    return new AlcoveError(`${ack.type} ${result ?? '?'}: ${text}`, { code: 'ack', result, ack });
  }
}

// ---------------------------------------------------------------------------------------------
// Encode / decode.

/**
 * @param {unknown} v
 * @returns {v is Record<string, unknown>}
 */
function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Is this a request id the server accepts (a non-negative integer that fits in 64 bits; the SDK
 * stays within JavaScript's safe integers)?
 * @param {unknown} id
 * @returns {id is number}
 */
export function isRequestId(id) {
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0;
}

/**
 * Builds a request frame object. `body` holds the type's fields; `type` and `id` in it are
 * ignored.
 * @param {string} type a client type from {@link CLIENT_TYPES}
 * @param {number} id the request id
 * @param {Record<string, unknown>} [body]
 * @returns {ClientFrame}
 */
export function requestFrame(type, id, body = {}) {
  if (!CLIENT_TYPES.includes(type)) throw new TypeError(`unknown request type ${JSON.stringify(type)}`);
  if (!isRequestId(id)) throw new TypeError(`request id must be a non-negative safe integer, got ${id}`);
  /** @type {ClientFrame} */
  const frame = { type, id };
  for (const [k, v] of Object.entries(body)) {
    if (k === 'type' || k === 'id' || v === undefined) continue;
    frame[k] = v;
  }
  return frame;
}

/**
 * Encodes a request as the text of one WebSocket frame.
 * @param {string} type
 * @param {number} id
 * @param {Record<string, unknown>} [body]
 * @returns {string}
 */
export function encodeRequest(type, id, body) {
  return JSON.stringify(requestFrame(type, id, body));
}

/**
 * Encodes any frame object (client or server) as JSON text.
 * @param {Record<string, unknown>} frame
 * @returns {string}
 */
export function encodeFrame(frame) {
  return JSON.stringify(frame);
}

/**
 * Splits a request frame into its parts: the inverse of {@link requestFrame}.
 * @param {ClientFrame} frame
 * @returns {{type: string, id: number, body: Record<string, unknown>}}
 */
export function splitRequest(frame) {
  const { type, id, ...body } = frame;
  return { type, id, body };
}

/**
 * Decodes the text of a client frame (what an SDK sends; used by tests and mock servers).
 * Checks what the server checks before it looks at the fields: a JSON object, a numeric `id`,
 * a known `type`, and the type's required fields.
 * @param {string} text
 * @returns {ClientFrame}
 */
export function decodeClientFrame(text) {
  const value = parseObject(text);
  if (!isRequestId(value.id)) throw protocolError('request `id` must be a non-negative integer', value);
  if (typeof value.type !== 'string') throw protocolError('missing `type`', value);
  const fields = CLIENT_FIELDS[value.type];
  if (!fields) throw protocolError(`unknown request type ${JSON.stringify(value.type)}`, value);
  for (const f of fields) {
    if (!(f in value)) throw protocolError(`${value.type}: missing field \`${f}\``, value);
  }
  return /** @type {ClientFrame} */ (value);
}

/**
 * Decodes the text of a server frame. Throws an {@link AlcoveError} with code `"protocol"` when
 * the text is not a JSON object with a string `type`, when `id` is present but not a request id,
 * or when a known type lacks one of its fields. Frames of an unknown `type` are returned as they
 * are (a newer server may add types; clients ignore what they do not know).
 * @param {string} text
 * @returns {ServerFrame}
 */
export function decodeServerFrame(text) {
  const value = parseObject(text);
  if (typeof value.type !== 'string') throw protocolError('server frame without `type`', value);
  if ('id' in value && value.id !== null && !isRequestId(value.id)) {
    throw protocolError('server frame with a malformed `id`', value);
  }
  if (value.id === null) delete value.id;
  const fields = SERVER_FIELDS[value.type];
  if (fields) {
    for (const f of fields) {
      if (!(f in value)) throw protocolError(`${value.type}: missing field \`${f}\``, value);
    }
  }
  return /** @type {ServerFrame} */ (value);
}

/**
 * Is this server frame an acknowledgement (it carries a request id)?
 * @param {ServerFrame} frame
 */
export function isAck(frame) {
  return isRequestId(frame.id);
}

/**
 * Did this acknowledgement succeed? `result` 0 means success; frames without `result` count as
 * successful.
 * @param {ServerFrame} frame
 */
export function isSuccess(frame) {
  return frame.result === undefined || frame.result === 0;
}

/**
 * The location as a break-out room id, or null for the parent.
 * @param {Location | undefined | null} location
 * @returns {string | null}
 */
export function breakoutOf(location) {
  return isObject(location) && typeof location.breakout === 'string' ? location.breakout : null;
}

/**
 * @param {string} text
 * @returns {Record<string, any>}
 */
function parseObject(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new AlcoveError(`malformed frame: ${e instanceof Error ? e.message : e}`, { code: 'protocol', cause: e });
  }
  if (!isObject(value)) throw new AlcoveError('malformed frame: not a JSON object', { code: 'protocol' });
  return value;
}

/**
 * @param {string} message
 * @param {Record<string, any>} frame
 */
function protocolError(message, frame) {
  return new AlcoveError(`malformed frame: ${message}`, { code: 'protocol', ack: /** @type {ServerFrame} */ (frame) });
}
