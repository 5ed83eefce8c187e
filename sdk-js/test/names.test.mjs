// The name mapping seed method → wire type → acknowledgement / callback is complete, and each
// seed method sends what it should and dispatches its callback (against a fake socket).

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BreakoutRoom, Room, connect } from '../src/alcove.js';
import { ACK_TYPES, AlcoveError, CLIENT_TYPES, SEED_CALLBACKS, SEED_METHODS, SERVER_TYPES } from '../src/protocol.js';
import { FakeWebSocket } from '../test-support/fake-socket.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));

test('every seed method is an SDK method sending a client type answered by its callbacks', () => {
  assert.equal(Object.keys(SEED_METHODS).length, 12);
  for (const [seed, m] of Object.entries(SEED_METHODS)) {
    assert.equal(m.method, seed, 'the SDK method has the seed name');
    const proto = m.handle === 'room' ? Room.prototype : BreakoutRoom.prototype;
    assert.equal(typeof proto[m.method], 'function', `${m.handle}.${m.method} exists`);
    assert.ok(CLIENT_TYPES.includes(m.type), `${m.type} is a client type`);
    assert.deepEqual([...m.callbacks].sort(), [...ACK_TYPES[m.type]].sort(), `${seed}: callbacks = acks of ${m.type}`);
    for (const c of m.callbacks) {
      assert.ok(SERVER_TYPES.includes(c), `${c} is a server type`);
      assert.ok(SEED_CALLBACKS.includes(c) || c === 'ackDestroyAllBreakOutSession', `${c} is a seed callback`);
    }
  }
});

test('every client type has its acknowledgement types, and every seed callback is a server type', () => {
  assert.deepEqual(Object.keys(ACK_TYPES).sort(), [...CLIENT_TYPES].sort());
  for (const acks of Object.values(ACK_TYPES)) for (const a of acks) assert.ok(SERVER_TYPES.includes(a), a);
  for (const c of SEED_CALLBACKS) assert.ok(SERVER_TYPES.includes(c), c);
});

test('the seed document names no method or callback the SDK lacks', (t) => {
  const candidates = [`${repo}../shared/reference/seed-breakout-room.md`, `${repo}shared/reference/seed-breakout-room.md`];
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    t.skip('seed-breakout-room.md not found beside the repository');
    return;
  }
  const doc = readFileSync(file, 'utf8');
  const methods = new Set([...doc.matchAll(/\bEnx(?:Room)?\.([a-zA-Z]+)/g)].map((m) => m[1]));
  assert.ok(methods.size >= 12, `found the seed methods: ${[...methods]}`);
  for (const m of methods) assert.ok(m in SEED_METHODS, `seed method ${m} is mapped`);
  const callbacks = new Set(
    [...doc.matchAll(/^- `-?(?:room:)?([a-zA-Z]+)`\s*–/gm)]
      .map((m) => m[1])
      .filter((n) => /^(ack|did|breakoutRoom|invitationFor|connected|failed|userJoined)/.test(n)),
  );
  assert.ok(callbacks.size >= 15, `found the seed callbacks: ${[...callbacks]}`);
  for (const c of callbacks) assert.ok(SEED_CALLBACKS.includes(c), `seed callback ${c} is listed`);
  for (const c of SEED_CALLBACKS) assert.ok(callbacks.has(c), `SEED_CALLBACKS entry ${c} is in the seed`);
});

const roomConnected = JSON.parse(readFileSync(`${repo}crates/proto/fixtures/server.roomConnected.json`, 'utf8'));
const BR1 = roomConnected.breakout_rooms[0].room_id;

/** A connected room over a fake socket, as Dev (a participant) of the roomConnected fixture. */
async function connected() {
  const p = connect('ws://fake/v1/signal', 'tok', { WebSocket: /** @type {any} */ (FakeWebSocket), media: false });
  const ws = FakeWebSocket.instances.at(-1);
  const hello = await ws.nextSent();
  assert.deepEqual(hello, { type: 'connect', id: 0, token: 'tok', versions: [1, 2, 3, 4] });
  ws.deliver({ ...roomConnected, id: hello.id });
  const room = await p;
  return { room, ws };
}

test('connect: roomConnected fills the family picture', async () => {
  const { room } = await connected();
  assert.equal(room.clientId, roomConnected.clientId);
  assert.equal(room.roomId, roomConnected.room.room_id);
  assert.equal(room.settings.max_active_talkers, 6);
  assert.equal(room.users.size, 4);
  assert.equal(room.breakoutRooms.size, 2);
  assert.deepEqual(room.location, 'parent');
  assert.equal(room.role, 'participant');
  room.disconnect();
});

test('connect: a refused token rejects with the error code', async () => {
  const p = connect('ws://fake/v1/signal', 'bad', { WebSocket: /** @type {any} */ (FakeWebSocket), media: false });
  const ws = FakeWebSocket.instances.at(-1);
  const hello = await ws.nextSent();
  ws.deliver({ type: 'error', id: hello.id, result: 4101, msg: 'Token validation failed' });
  await assert.rejects(p, (e) => e instanceof AlcoveError && e.result === 4101 && e.ack.type === 'error');
});

/** [seed call, expected wire frame (without id), ack frame (without id)] */
const cases = [
  [(r) => r.createBreakOutRoom({ participants: 2, audio: true, video: false, canvas: false, share: true, max_rooms: 1 }),
    { type: 'createBreakOutRoom', participants: 2, audio: true, video: false, canvas: false, share: true, max_rooms: 1 },
    { type: 'ackCreateBreakOutRoom', result: 0, msg: { rooms: ['X-br1'] } }],
  [(r) => r.inviteToBreakOutRoom({ clients: ['c-1'], room_id: BR1, force_join: false }),
    { type: 'inviteToBreakOutRoom', clients: ['c-1'], room_id: BR1, force_join: false },
    { type: 'ackInviteBreakOutRoom', result: 0, msg: 'Success', invited: ['c-1'], failed: [] }],
  [(r) => r.createAndInviteBreakoutRoom({ participants: 2, audio: true, video: false, canvas: false, share: true, max_rooms: 1, force_join: true }),
    { type: 'createAndInviteBreakoutRoom', participants: 2, audio: true, video: false, canvas: false, share: true, max_rooms: 1, force_join: true },
    { type: 'ackCreateAndInviteBreakOutRoom', result: 0, msg: { rooms: ['X-br2'], invitations: [{ room_id: 'X-br2', clients: [] }], unassigned: [] } }],
  [(r) => r.rejectBreakOutRoom(BR1), { type: 'rejectBreakOutRoom', room_id: BR1 }, { type: 'ackRejectBreakoutRoom', result: 0, msg: 'Success' }],
  [(r) => r.pause(), { type: 'pause' }, { type: 'ackPause', result: 0, msg: 'Room paused' }],
  [(r) => r.resume(), { type: 'resume' }, { type: 'ackResume', result: 0, msg: 'Room resumed' }],
  [(r) => r.muteRoom({ audio: true, video: false }), { type: 'muteRoom', audio: true, video: false }, { type: 'ackMuteRoom', result: 0, msg: 'Room muted' }],
  [(r) => r.unmuteRoom({ audio: true, video: false }), { type: 'unmuteRoom', audio: true, video: false }, { type: 'ackUnmuteRoom', result: 0, msg: 'Room unmuted' }],
  [(r) => r.clearAllBreakOutSession(), { type: 'clearAllBreakOutSession' },
    { type: 'didDisconnectedBreakoutRoom', room_id: null, moderatorId: '', msg: 'Breakout Room disconnected', result: 0 }],
  [(r) => r.destroyAllBreakOutSession(), { type: 'destroyAllBreakOutSession' }, { type: 'ackDestroyAllBreakOutSession', result: 0, msg: { rooms: [] } }],
];

test('each seed method sends its wire type, resolves with the ack and dispatches the seed callback', async () => {
  const { room, ws } = await connected();
  for (const [call, wire, ack] of cases) {
    const seen = [];
    const off = room.on(ack.type, (d) => seen.push(d));
    const heard = new Promise((resolve) => room.addEventListener(ack.type, (e) => resolve(e.detail), { once: true }));
    const p = call(room);
    const sent = await ws.nextSent();
    const { id, ...rest } = sent;
    assert.deepEqual(rest, wire);
    ws.deliver({ ...ack, id });
    const got = await p;
    assert.deepEqual(got, { ...ack, id });
    assert.deepEqual(seen, [{ ...ack, id }], `${ack.type} dispatched once via on()`);
    assert.deepEqual(await heard, { ...ack, id }, `${ack.type} dispatched via addEventListener`);
    off();
  }
  room.disconnect();
});

test('a failed ack dispatches its callback and rejects with .result and .ack', async () => {
  const { room, ws } = await connected();
  const events = [];
  room.on('failedJoinBreakOutRoom', (d) => events.push(d));
  const p = room.joinBreakoutRoom({ role: 'participant', room_id: BR1 }, { audio: true, video: false });
  const sent = await ws.nextSent();
  assert.deepEqual(sent, { type: 'joinBreakoutRoom', id: sent.id, role: 'participant', room_id: BR1, stream_info: { audio: true, video: false } });
  const ack = { type: 'failedJoinBreakOutRoom', id: sent.id, result: 1737, msg: 'No invitation to this Break-Out Room' };
  ws.deliver(ack);
  await assert.rejects(p, (e) => e instanceof AlcoveError && e.result === 1737 && e.ack.type === 'failedJoinBreakOutRoom');
  assert.deepEqual(events, [ack]);
  room.disconnect();
});

test('join resolves with a break-out handle; disconnect() on it returns to the parent', async () => {
  const { room, ws } = await connected();
  const p = room.joinBreakoutRoom({ role: 'participant', room_id: BR1 });
  const sent = await ws.nextSent();
  const info = { ...roomConnected.breakout_rooms[0] };
  info.members = [...info.members, { clientId: room.clientId, name: 'Dev Patel' }];
  // The ack and a notification arrive in one read: the handle sees both, in order.
  ws.deliver({ type: 'connectedBreakoutRoom', id: sent.id, result: 0, ...info },
    { type: 'userJoinedBreakoutRoom', clientId: 'c-x', name: 'Xi', room_id: BR1 });
  const br = await p;
  assert.ok(br instanceof BreakoutRoom);
  assert.equal(br.roomId, BR1);
  assert.equal(br.name, 'Breakout 1');
  assert.equal(room.breakoutRoom, br);
  assert.deepEqual(room.location, { breakout: BR1 });
  assert.equal(room.paused, true);
  assert.deepEqual(room.breakoutRooms.get(BR1).members.map((m) => m.clientId), ['c-91e0d4a7b3c2', room.clientId, 'c-x']);

  const onHandle = [];
  br.on('didDisconnectedBreakoutRoom', (d) => onHandle.push(d));
  const d = br.disconnect();
  const sent2 = await ws.nextSent();
  assert.deepEqual(sent2, { type: 'disconnect', id: sent2.id, room_id: BR1 });
  ws.deliver({ type: 'didDisconnectedBreakoutRoom', id: sent2.id, room_id: BR1, moderatorId: '', msg: 'Breakout Room disconnected', result: 0 });
  assert.equal((await d).result, 0);
  assert.equal(onHandle.length, 1);
  assert.equal(br.connected, false);
  assert.equal(room.breakoutRoom, null);
  assert.equal(room.location, 'parent');
  assert.equal(room.paused, false);
  room.disconnect();
});

test('notifications update the picture and are dispatched under their wire type', async () => {
  const { room, ws } = await connected();
  const log = [];
  room.on('frame', (f) => log.push(f.type));
  ws.deliver(
    { type: 'invitationForBreakoutRoom', room_id: BR1, requestor: { clientId: 'c-3f9a1c2b7d04', name: 'Ada Lovelace' }, force_join: true },
    { type: 'connectedBreakoutRoom', result: 0, ...roomConnected.breakout_rooms[0] },
    { type: 'userMoved', clientId: 'c-5b7e2f0a9d61', location: { breakout: BR1 } },
    { type: 'userPaused', clientId: 'c-5b7e2f0a9d61', paused: true },
    { type: 'userMuted', clientId: 'c-5b7e2f0a9d61', muted: { audio: true, video: false } },
    { type: 'activeTalkersUpdated', room_id: BR1, talkers: [{ clientId: 'c-5b7e2f0a9d61', name: 'Chiara Rossi', slot: 1 }] },
    { type: 'userDisconnected', clientId: 'c-91e0d4a7b3c2', name: 'Ben Okafor' },
  );
  assert.deepEqual(log, ['invitationForBreakoutRoom', 'connectedBreakoutRoom', 'userMoved', 'userPaused', 'userMuted', 'activeTalkersUpdated', 'userDisconnected']);
  assert.ok(room.breakoutRoom instanceof BreakoutRoom, 'a forced join creates the handle');
  assert.equal(room.invitations.size, 0, 'the invitation was consumed');
  const chiara = room.users.get('c-5b7e2f0a9d61');
  assert.deepEqual(chiara.location, { breakout: BR1 });
  assert.equal(chiara.paused, true);
  assert.deepEqual(chiara.muted, { audio: true, video: false });
  assert.deepEqual(room.talkers.get(1), { clientId: 'c-5b7e2f0a9d61', name: 'Chiara Rossi' });
  assert.equal(room.users.has('c-91e0d4a7b3c2'), false);
  assert.deepEqual(room.breakoutRooms.get(BR1).members.map((m) => m.clientId), ['c-5b7e2f0a9d61']);
  room.disconnect();
});

test('a request without an ack rejects after the timeout; a closed socket rejects pending requests', async () => {
  const p = connect('ws://fake/v1/signal', 'tok', { WebSocket: /** @type {any} */ (FakeWebSocket), media: false, timeoutMs: 50 });
  const ws = FakeWebSocket.instances.at(-1);
  const hello = await ws.nextSent();
  ws.deliver({ ...roomConnected, id: hello.id });
  const room = await p;
  await assert.rejects(room.pause(), (e) => e instanceof AlcoveError && e.code === 'timeout');
  const pending = room.resume();
  const closed = room.once('close');
  ws.close(1000, 'room ended');
  await assert.rejects(pending, (e) => e instanceof AlcoveError && e.code === 'closed');
  assert.deepEqual(await closed, { code: 1000, reason: 'room ended' });
  assert.equal(room.closed, true);
  await assert.rejects(room.pause(), (e) => e.code === 'closed');
});

test('media calls without WebRTC fail clearly', async () => {
  const { room } = await connected();
  assert.equal(room.media.enabled, false);
  assert.equal(room.peerConnection, null);
  assert.equal(room.slotTrack(0), null);
  await assert.rejects(room.startMedia(), (e) => e instanceof AlcoveError && e.code === 'media');
  await assert.rejects(room.shareScreen(), (e) => e instanceof AlcoveError && e.code === 'media');
  room.disconnect();
});
