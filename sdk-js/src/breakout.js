// @ts-check
/**
 * @module breakout
 *
 * The break-out room handle the contract hands an app when it joins a break-out room (the
 * vendor's second `EnxRoom`). Alcove keeps one connection for the whole family (SPEC §2.1), so
 * this handle opens nothing: it names the room, keeps its latest info, re-dispatches the frames
 * about its room, and `disconnect()` sends the `disconnect` request on the family's connection.
 *
 * Events dispatched on the handle (same frame objects as on the parent room):
 * `connectedBreakoutRoom`, `userJoinedBreakoutRoom`, `didUserDisconnectedFromBreakoutRoom`,
 * `didDisconnectedBreakoutRoom`, `didDestroyedBreakoutRoom`, `activeTalkersUpdated`,
 * `shareStarted` / `shareStopped`, `canvasStarted` / `canvasStopped`, and the facilitation
 * frames about it (`breakoutTimer`, `breakoutTimerWarning`, `broadcastReceived` delivered in
 * it, `helpAnswered`, `helpDismissed`, `helpRequested` / `helpResolved` for moderators) — each
 * only when its `room_id` (or `room`) is this room. After a one-step move out of this room
 * (`didDisconnectedBreakoutRoom` with `reason: "moved"`) `connected` is false and the parent's
 * `breakoutRoom` is the new room's handle.
 */

import { Emitter } from './events.js';
import { clone } from './clone.js';

/** @typedef {import('./protocol.js').ServerFrame} ServerFrame */
/** @typedef {import('./protocol.js').BreakoutRoomInfo} BreakoutRoomInfo */

export class BreakoutRoom extends Emitter {
  /**
   * Created by the parent room on `connectedBreakoutRoom` (a join, or a forced join).
   * @param {import('./room.js').Room} parent
   * @param {string} roomId
   */
  constructor(parent, roomId) {
    super();
    /** The parent-room handle (the family's connection). */
    this.parent = parent;
    /** This break-out room's id. */
    this.roomId = roomId;
    /** @type {ServerFrame | null} The `connectedBreakoutRoom` frame of the latest join. */
    this.joinAck = null;
    /** Is this client in the room now? */
    this.connected = false;
    /** @type {BreakoutRoomInfo | null} @private */
    this._lastInfo = null;
  }

  /** The room's name ("Breakout 1", …; kept current by renames). */
  get name() {
    return this.parent.roomList.get(this.roomId)?.name ?? this.info?.name ?? '';
  }

  /** Milliseconds left on this room's timer (never negative), or null without one. */
  timeLeft() {
    return this.parent.timeLeft(this.roomId);
  }

  /**
   * The room as the parent currently knows it (members, invitations), or as it was when this
   * client left it.
   * @returns {BreakoutRoomInfo | null}
   */
  get info() {
    return this.parent.breakoutRooms.get(this.roomId) ?? this._lastInfo;
  }

  /**
   * Seed `EnxRoom.disconnect()` on the break-out handle: leave this room and return to the
   * parent (resumed automatically). Resolves with `didDisconnectedBreakoutRoom`; that frame is
   * also dispatched on this handle and on the parent room.
   * @returns {Promise<ServerFrame>}
   */
  disconnect() {
    return this.parent.request('disconnect', { room_id: this.roomId });
  }

  /**
   * Shares the screen in this room (it must be the client's current room).
   * @param {DisplayMediaStreamOptions} [constraints]
   */
  shareScreen(constraints) {
    return this.parent.shareScreen(constraints);
  }

  /** Stops sharing the screen. */
  stopShare() {
    return this.parent.stopShare();
  }

  /**
   * Streams a canvas in this room.
   * @param {HTMLCanvasElement} canvas
   * @param {number} [fps]
   */
  shareCanvas(canvas, fps) {
    return this.parent.shareCanvas(canvas, fps);
  }

  /** Stops the canvas stream. */
  stopCanvas() {
    return this.parent.stopCanvas();
  }

  /**
   * @param {ServerFrame} frame the `connectedBreakoutRoom` frame
   * @internal
   */
  _connected(frame) {
    this.joinAck = frame;
    this.connected = true;
    const { type: _t, id: _i, result: _r, ...info } = frame;
    this._lastInfo = /** @type {BreakoutRoomInfo} */ (clone(info));
  }

  /**
   * This client is in the room after a resume (the parent's state was refreshed from the
   * resumed `roomConnected`).
   * @param {BreakoutRoomInfo | null} info
   * @internal
   */
  _resumed(info) {
    if (info) this._lastInfo = clone(info);
    this.connected = true;
  }

  /**
   * @param {ServerFrame | null} _frame the `didDisconnectedBreakoutRoom` frame (null: the
   *   client learnt it from a resume)
   * @internal
   */
  _disconnected(_frame) {
    const info = this.parent.breakoutRooms.get(this.roomId);
    if (info) this._lastInfo = clone(info);
    this.connected = false;
  }
}
