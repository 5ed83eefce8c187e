// Resume against the REAL server: the client's transport is destroyed without a closing
// handshake (`ws._socket.destroy()`, what a network failure looks like to the server); the SDK
// resumes on its own into the same break-out room with the same handle and the same clientId,
// nobody sees it leave, and a pending invitation survives. With a short grace period (1 s) a
// client that comes back too late gets 4108 and the room closes for good.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { connect } from '../src/alcove.js';
import { startServer } from '../test-support/server.mjs';

let server;
let shortGrace;

before(async (t) => {
  const diagnostic = (m) => t.diagnostic(m);
  [server, shortGrace] = await Promise.all([
    startServer({ media: false, diagnostic }),
    startServer({ media: false, args: ['--resume-grace', '1'], diagnostic }),
  ]);
});

after(() => {
  server?.stop();
  shortGrace?.stop();
});

/**
 * Waits until `pred()` holds (checked every 20 ms), failing with `what` after `ms`.
 * @param {() => boolean} pred @param {string} what @param {number} [ms]
 */
async function until(pred, what, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Returns once every frame that earlier operations sent to `c` has arrived: a request that
 * changes nothing (`muteRoom` with no flag, answered 1155) is answered after them, because
 * the family handles requests in order and queues a client's frames in order.
 */
async function sync(c) {
  await assert.rejects(c.room.request('muteRoom', { audio: false, video: false }), (e) => e.result === 1155);
}

async function parentRoom(srv) {
  const { room } = await srv.rest('POST', '/v1/rooms', {
    name: 'sdk-js resume', owner_ref: 'sdk-js', settings: { mode: 'group', max_active_talkers: 6 },
  });
  return room.room_id;
}

async function client(srv, roomId, name, role, options = {}) {
  const { token } = await srv.rest('POST', `/v1/rooms/${roomId}/tokens`, { name, role, user_ref: `u-${name}` });
  const room = await connect(srv.signalUrl, token, { WebSocket, media: false, ...options });
  const frames = [];
  room.on('frame', (f) => frames.push(f));
  return { room, frames, id: room.clientId };
}

/** Destroys the client's TCP socket: no close frame, the server sees the transport end. */
function dropTransport(room) {
  const ws = /** @type {any} */ (room)._connection.socket;
  ws._socket.destroy();
}

test('a dropped client resumes into the same break-out room with the same handle', async () => {
  const roomId = await parentRoom(server);
  const ada = await client(server, roomId, 'Ada', 'moderator');
  const ben = await client(server, roomId, 'Ben', 'participant');
  const created = await ada.room.createBreakOutRoom({ participants: 2, audio: true, video: false, canvas: false, share: false, max_rooms: 2 });
  const [BR1, BR2] = created.msg.rooms;
  const joined = ben.room.once('connectedBreakoutRoom', { timeoutMs: 5000 });
  await ada.room.inviteToBreakOutRoom({ clients: [ben.id], room_id: BR1, force_join: true });
  await joined;
  const handle = ben.room.breakoutRoom;
  assert.equal(handle?.roomId, BR1);

  const events = [];
  ben.room.on('reconnecting', (d) => events.push(['reconnecting', d.attempt, d.code]));
  ben.room.on('reconnected', (d) => events.push(['reconnected', d.attempts, d.mediaKept]));
  const back = ben.room.once('reconnected', { timeoutMs: 10_000 });
  const adaSeen = ada.frames.length;
  dropTransport(ben.room);
  const { frame } = await back;
  assert.equal(events[0][0], 'reconnecting');
  assert.equal(events[0][2], 1006);
  assert.deepEqual(events.at(-1), ['reconnected', events.length - 1, false]);
  assert.equal(frame.type, 'roomConnected');
  assert.equal(frame.resumed, true);
  assert.equal(frame.clientId, ben.id);
  assert.equal(ben.room.clientId, ben.id, 'same clientId');
  assert.equal(ben.room.connectionState, 'connected');
  assert.deepEqual(ben.room.location, { breakout: BR1 });
  assert.equal(ben.room.paused, true);
  assert.equal(ben.room.breakoutRoom, handle, 'the same break-out handle');
  assert.equal(handle.connected, true);

  // The connection works: pause/resume round trip, then leave the BR through the same handle.
  await ben.room.resume();
  assert.equal(ben.room.paused, false);
  const left = await handle.disconnect();
  assert.equal(left.type, 'didDisconnectedBreakoutRoom');
  assert.equal(ben.room.location, 'parent');
  await sync(ada);
  const adaTypes = ada.frames.slice(adaSeen).map((f) => f.type);
  assert.ok(!adaTypes.includes('userDisconnected'), `Ada never saw Ben leave: ${adaTypes}`);
  assert.ok(adaTypes.includes('userPaused'), `Ada saw Ben resume: ${adaTypes}`);

  // A pending invitation survives a drop; accepting it after the resume works.
  const invited = ben.room.once('invitationForBreakoutRoom', { timeoutMs: 5000 });
  await ada.room.inviteToBreakOutRoom({ clients: [ben.id], room_id: BR2, force_join: false });
  await invited;
  const back2 = ben.room.once('reconnected', { timeoutMs: 10_000 });
  dropTransport(ben.room);
  await back2;
  assert.deepEqual([...ben.room.invitations.keys()], [BR2]);
  const br2 = await ben.room.joinBreakoutRoom({ role: 'participant', room_id: BR2 });
  assert.equal(br2.roomId, BR2);
  assert.equal(ben.room.breakoutRoom, br2);

  ben.room.disconnect();
  ada.room.disconnect();
});

test('coming back after the grace period: 4108 and the room closes for good', async () => {
  const roomId = await parentRoom(shortGrace);
  const ada = await client(shortGrace, roomId, 'Ada', 'moderator');
  // Ben's WebSocket cannot reach the server while `blocked` (a network still down).
  let blocked = false;
  class FlakyWebSocket extends WebSocket {
    constructor(url) {
      super(blocked ? 'ws://127.0.0.1:1/v1/signal' : url);
    }
  }
  const ben = await client(shortGrace, roomId, 'Ben', 'participant', {
    WebSocket: FlakyWebSocket, reconnectDelayMs: 200, reconnectMaxDelayMs: 400,
  });
  const attempts = [];
  ben.room.on('reconnecting', (d) => attempts.push(d.attempt));
  const closed = ben.room.once('close', { timeoutMs: 30_000 });
  blocked = true;
  const droppedAt = Date.now();
  dropTransport(ben.room);
  // The server's grace (1 s) runs out: Ada sees Ben leave, never before the grace is over.
  await until(() => ada.frames.some((f) => f.type === 'userDisconnected' && f.clientId === ben.id),
    'after the grace period Ben left the family');
  assert.ok(Date.now() - droppedAt >= 1000, `Ben left ${Date.now() - droppedAt} ms after the drop`);
  assert.ok(attempts.length >= 1, `retried while the network was down: ${attempts}`);
  blocked = false;
  const info = await closed;
  assert.equal(info.error?.result, 4108, JSON.stringify(info));
  assert.equal(ben.room.connectionState, 'closed');
  assert.equal(ben.room.closed, true);
  assert.ok(attempts.length >= 2, `retried while the network was down: ${attempts}`);
  await assert.rejects(ben.room.pause(), (e) => e.code === 'closed');
  ada.room.disconnect();
});

test('resume credentials rotate: the SDK resumes drop after drop with the newest one', async () => {
  const roomId = await parentRoom(server);
  const ada = await client(server, roomId, 'Ada', 'participant');
  const seen = [/** @type {any} */ (ada.room)._resumeToken];
  for (let i = 1; i <= 3; i += 1) {
    const back = ada.room.once('reconnected', { timeoutMs: 15_000 });
    dropTransport(ada.room);
    const { frame } = await back;
    assert.equal(frame.resumed, true);
    assert.equal(ada.room.clientId, ada.id, 'same clientId');
    const token = /** @type {any} */ (ada.room)._resumeToken;
    assert.equal(token, frame.resume_token, 'the SDK keeps the credential of the latest resume');
    assert.ok(!seen.includes(token), `drop ${i}: a new credential`);
    seen.push(token);
    await ada.room.pause();
  }
  ada.room.disconnect();
});
