// Helpers shared by the SDK tests that run against the real server (facilitation, listen-in):
// connected clients that record every frame, fresh parent rooms, waits with a deadline, and
// refusal checks. Every wait is for a frame, with a deadline.

import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { AlcoveError, Room } from '../src/alcove.js';

/** How long a test waits for a frame it expects. */
export const DEADLINE_MS = 15_000;

/**
 * The helpers bound to one started server (see `startServer` in ./server.mjs).
 * @param {{signalUrl: string, rest: Function}} server
 */
export function clientsOf(server) {
  /**
   * A connected client: its room handle and every frame it received, in order.
   * @param {string} roomId
   * @param {string} name
   * @param {'moderator' | 'participant' | 'viewer'} role
   */
  async function client(roomId, name, role) {
    const { token } = await server.rest('POST', `/v1/rooms/${roomId}/tokens`, { name, role, user_ref: `u-${name}` });
    const room = new Room(server.signalUrl, { WebSocket, media: false });
    const frames = [];
    room.on('frame', (f) => frames.push(f));
    await room.join(token);
    return { room, frames, id: room.clientId, name, ref: { clientId: room.clientId, name } };
  }

  /** A fresh parent room (group mode, 8 talkers). */
  async function parentRoom(name) {
    const { room } = await server.rest('POST', '/v1/rooms', {
      name, owner_ref: 'sdk-js', settings: { mode: 'group', max_active_talkers: 8 },
    });
    return room.room_id;
  }

  return { client, parentRoom };
}

/**
 * Resolves with the next frame `type` at `c` (optionally matching `filter`); fails after the
 * deadline. Call it BEFORE the action that causes the frame.
 */
export function next(c, type, filter) {
  return c.room.once(type, { filter, timeoutMs: DEADLINE_MS });
}

/**
 * Every frame `c` got before this returns: the server answers a client's requests in order
 * and queues its frames in order, so a request that changes nothing (`muteRoom` with no flag,
 * answered 1155) comes back after every frame caused earlier.
 */
export async function sync(c) {
  await assert.rejects(c.room.request('muteRoom', { audio: false, video: false }), (e) => e.result === 1155);
  return c.frames.filter((f) => !(f.type === 'ackMuteRoom' && f.result === 1155));
}

/** Asserts that `promise` rejects with the server's error `code` on an ack of type `ackType`. */
export async function refused(promise, code, ackType) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof AlcoveError, `not an AlcoveError: ${e}`);
    assert.equal(e.result, code, `expected ${code}, got ${e.result}: ${e.message}`);
    if (ackType) assert.equal(e.ack.type, ackType);
    return true;
  });
}
