// Listen-in, talk-in and audio broadcast (issue 11) through the SDK against the REAL server over
// real WebSockets: each request's happy path and its refusals with their codes, and the state
// the SDK keeps from the new frames (this client's listening / talking / broadcasting, who
// monitors the room a member is in, the broadcasts a client hears), including the end of a
// listen-in when the room listened to ends.
//
// The server binary is built with `cargo build -p alcove-server` (or taken from $ALCOVE_BIN),
// started on 127.0.0.1:0 (signalling only: --no-media; the audio itself is checked in
// tests/browser). Every wait is for a frame, with a deadline.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ErrorCode, LISTEN_METHODS, Room } from '../src/alcove.js';
import { startServer } from '../test-support/server.mjs';
import { clientsOf, DEADLINE_MS, next, refused, sync } from '../test-support/clients.mjs';

let server;
let client;
let parentRoom;

before(async (t) => {
  server = await startServer({ media: false, diagnostic: (m) => t.diagnostic(m) });
  ({ client, parentRoom } = clientsOf(server));
});

after(() => server?.stop());

const def = { participants: 3, audio: true, video: false, canvas: false, share: false, max_rooms: 2, self_select: true };

test('LISTEN_METHODS names a room method for every listen-in request', () => {
  for (const [method, m] of Object.entries(LISTEN_METHODS)) {
    assert.equal(typeof Room.prototype[method], 'function', method);
    assert.equal(m.ack, `ack${m.type[0].toUpperCase()}${m.type.slice(1)}`);
  }
});

test('listenTo, switch, talkTo, stopListening: the moderator state and monitoredBy at the members', async () => {
  const p = await parentRoom('listen');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const cleo = await client(p, 'Cleo', 'participant');
  const { msg: { rooms: [BR1, BR2] } } = await ada.room.createBreakOutRoom(def);
  await ben.room.joinBreakoutRoom({ role: 'participant', room_id: BR1 });
  await cleo.room.joinBreakoutRoom({ role: 'participant', room_id: BR2 });

  // Listen to BR1: Ben sees Ada; Cleo (BR2) is told nothing.
  const seen = next(ben, 'monitoredBy');
  const ack = await ada.room.listenTo(BR1);
  assert.equal(ack.type, 'ackListenTo');
  assert.equal(ack.listening, BR1);
  assert.equal(ada.room.listening, BR1);
  assert.equal(ada.room.listenParent, 'mixed');
  assert.equal(ada.room.talking, false);
  const m1 = await seen;
  assert.equal(m1.room_id, BR1);
  assert.deepEqual(m1.moderators, [ada.ref]);
  assert.deepEqual(m1.talking, []);
  assert.deepEqual(ben.room.listeners(), [ada.ref], 'a member sees who listens');
  assert.ok(!(await sync(cleo)).some((f) => f.type === 'monitoredBy'), 'BR2 is not told of BR1');

  // Talk in: Ben sees Ada talking; a whisper (parent: false) is a talk-in too.
  const talking = next(ben, 'monitoredBy', (f) => f.talking.length > 0);
  const t = await ada.room.talkTo(BR1, true, { parent: false });
  assert.equal(t.talking, true);
  assert.equal(ada.room.talking, true);
  assert.deepEqual((await talking).talking, [ada.id]);
  assert.deepEqual(ben.room.monitoredBy.get(BR1).talking, [ada.id]);

  // Switch to BR2 in one step (parent paused): Ben is told nobody listens, Cleo that Ada does;
  // talk-in is off in the new room.
  const benFree = next(ben, 'monitoredBy', (f) => f.moderators.length === 0);
  const cleoSeen = next(cleo, 'monitoredBy');
  const sw = await ada.room.listenTo(BR2, { parent: 'paused' });
  assert.equal(sw.listening, BR2);
  assert.equal(sw.talking, false);
  assert.equal(ada.room.listening, BR2);
  assert.equal(ada.room.listenParent, 'paused');
  assert.equal(ada.room.talking, false);
  assert.deepEqual((await benFree).room_id, BR1);
  assert.deepEqual(ben.room.listeners(), []);
  assert.equal(ben.room.monitoredBy.size, 0);
  assert.deepEqual((await cleoSeen).moderators, [ada.ref]);
  assert.deepEqual(cleo.room.listeners(), [ada.ref]);

  // A member entering a monitored room is told at once.
  const benSeesAgain = next(ben, 'monitoredBy', (f) => f.room_id === BR2);
  await ben.room.joinBreakoutRoom({ role: 'participant', room_id: BR2 });
  assert.deepEqual((await benSeesAgain).moderators, [ada.ref]);
  assert.deepEqual(ben.room.listeners(), [ada.ref]);

  // talkTo a room not listened to: 1764; stop, then talkTo: 1764 too.
  await refused(ada.room.talkTo(BR1, true), ErrorCode.NotListening, 'ackTalkTo');
  const cleoFree = next(cleo, 'monitoredBy', (f) => f.moderators.length === 0);
  const stop = await ada.room.stopListening();
  assert.equal(stop.type, 'ackStopListening');
  assert.equal(stop.listening, undefined);
  assert.equal(ada.room.listening, null);
  assert.equal(ada.room.listenParent, null);
  await cleoFree;
  assert.deepEqual(cleo.room.listeners(), []);
  await refused(ada.room.talkTo(BR2, true), 1764);
  // stopListening again: a success that changes nothing.
  assert.equal((await ada.room.stopListening()).result, 0);
  for (const c of [ada, ben, cleo]) c.room.disconnect();
});

test('refusals: participant 5003, from inside a room 1765, allow_listen_in:false 1763, unknown room 1736', async () => {
  const p = await parentRoom('listen refusals');
  const ada = await client(p, 'Ada', 'moderator');
  const max = await client(p, 'Max', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const { msg: { rooms: [BR1] } } = await ada.room.createBreakOutRoom({ ...def, max_rooms: 1 });
  const { msg: { rooms: [closed] } } = await ada.room.createBreakOutRoom({ ...def, max_rooms: 1, allow_listen_in: false });

  // A well-formed id of no live room (the last hex digit changed).
  const gone = BR1.slice(0, -1) + (BR1.endsWith('0') ? '1' : '0');
  await refused(ben.room.listenTo(BR1), ErrorCode.Unauthorized, 'ackListenTo');
  await refused(ben.room.talkTo(BR1, true), 5003, 'ackTalkTo');
  await refused(ben.room.startBroadcast(), 5003, 'ackStartBroadcast');
  assert.equal(ben.room.listening, null);

  await refused(ada.room.listenTo(closed), ErrorCode.ListenInNotAllowed, 'ackListenTo');
  await refused(ada.room.listenTo(gone), ErrorCode.BreakoutRoomNotFound, 'ackListenTo');
  await refused(ada.room.startBroadcast([]), ErrorCode.InvalidParameters, 'ackStartBroadcast');
  await refused(ada.room.startBroadcast([gone]), 1736, 'ackStartBroadcast');
  assert.equal(ada.room.listening, null);
  assert.equal(ada.room.broadcasting, false);

  // A moderator inside a break-out room: 1765 for every listen-in request.
  await max.room.joinBreakoutRoom({ role: 'moderator', room_id: BR1 });
  await refused(max.room.listenTo(BR1), ErrorCode.NotInParent, 'ackListenTo');
  await refused(max.room.talkTo(BR1, true), 1765, 'ackTalkTo');
  await refused(max.room.startBroadcast(), 1765, 'ackStartBroadcast');
  // A refusal changes no state: Ada still listens to BR1 after Ben's failed attempts.
  await ada.room.listenTo(BR1);
  await refused(ada.room.listenTo(closed), 1763);
  assert.equal(ada.room.listening, BR1);
  for (const c of [ada, max, ben]) c.room.disconnect();
});

test('a broadcast reaches every room (audioBroadcast on/off), then the chosen rooms only', async () => {
  const p = await parentRoom('broadcast');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const cleo = await client(p, 'Cleo', 'participant');
  const dan = await client(p, 'Dan', 'participant');
  const { msg: { rooms: [BR1, BR2] } } = await ada.room.createBreakOutRoom(def);
  await ben.room.joinBreakoutRoom({ role: 'participant', room_id: BR1 });
  await cleo.room.joinBreakoutRoom({ role: 'participant', room_id: BR2 });

  const heard = [ben, cleo, dan].map((c) => next(c, 'audioBroadcast', (f) => f.on));
  const ack = await ada.room.startBroadcast();
  assert.deepEqual([...ack.broadcasting].sort(), [BR1, BR2].sort());
  assert.equal(ada.room.broadcasting, true);
  assert.deepEqual([...ada.room.broadcastRooms].sort(), [BR1, BR2].sort());
  for (const f of await Promise.all(heard)) assert.deepEqual(f.from, ada.ref);
  for (const c of [ben, cleo, dan]) assert.deepEqual([...c.room.audioBroadcasts.values()], [ada.ref]);
  assert.ok(!(await sync(ada)).some((f) => f.type === 'audioBroadcast'), 'the broadcaster is not told of itself');

  const off = [ben, cleo, dan].map((c) => next(c, 'audioBroadcast', (f) => !f.on));
  await ada.room.stopBroadcast();
  assert.equal(ada.room.broadcasting, false);
  assert.deepEqual(ada.room.broadcastRooms, []);
  await Promise.all(off);
  for (const c of [ben, cleo, dan]) assert.equal(c.room.audioBroadcasts.size, 0);

  // BR1 only: Ben and the parent (Dan) are told, Cleo in BR2 is not.
  const cleoSeen = cleo.frames.length;
  const benOn = next(ben, 'audioBroadcast', (f) => f.on);
  const danOn = next(dan, 'audioBroadcast', (f) => f.on);
  const only = await ada.room.startBroadcast([BR1]);
  assert.deepEqual(only.broadcasting, [BR1]);
  await Promise.all([benOn, danOn]);
  assert.equal(cleo.room.audioBroadcasts.size, 0);
  assert.ok(!(await sync(cleo)).slice(cleoSeen).some((f) => f.type === 'audioBroadcast'), 'BR2 not reached');
  await ada.room.stopBroadcast();
  for (const c of [ada, ben, cleo, dan]) c.room.disconnect();
});

test('the room listened to ends: listeningChanged to the moderator, its members leave with no monitor left', async () => {
  const p = await parentRoom('listen ends');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const { msg: { rooms: [BR1] } } = await ada.room.createBreakOutRoom({ ...def, max_rooms: 1 });
  await ben.room.joinBreakoutRoom({ role: 'participant', room_id: BR1 });
  const seen = next(ben, 'monitoredBy');
  await ada.room.listenTo(BR1);
  await ada.room.talkTo(BR1, true);
  await seen;
  assert.equal(ben.room.monitoredBy.size, 1);

  const changed = next(ada, 'listeningChanged');
  const back = next(ben, 'didDisconnectedBreakoutRoom');
  await ada.room.destroyAllBreakOutSession();
  const lc = await changed;
  assert.equal(lc.result, 0);
  assert.equal(lc.listening, undefined);
  assert.equal(lc.talking, false);
  assert.equal(ada.room.listening, null);
  assert.equal(ada.room.talking, false);
  await back;
  assert.equal(ben.room.location, 'parent');
  assert.equal(ben.room.monitoredBy.size, 0, 'no stale monitor once the room is gone');
  for (const c of [ada, ben]) c.room.disconnect();
});

test('a broadcasting, listening moderator that joins a room: both end (listeningChanged)', async () => {
  const p = await parentRoom('listen leave');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const { msg: { rooms: [BR1, BR2] } } = await ada.room.createBreakOutRoom(def);
  await ben.room.joinBreakoutRoom({ role: 'participant', room_id: BR1 });
  await ada.room.listenTo(BR1);
  await ada.room.startBroadcast();
  assert.equal(ada.room.broadcasting, true);

  const changed = next(ada, 'listeningChanged');
  const benFree = next(ben, 'monitoredBy', (f) => f.moderators.length === 0);
  const benOff = next(ben, 'audioBroadcast', (f) => !f.on);
  await ada.room.joinBreakoutRoom({ role: 'moderator', room_id: BR2 });
  const lc = await changed;
  assert.equal(lc.listening, undefined);
  assert.equal(ada.room.listening, null);
  assert.equal(ada.room.broadcasting, false);
  assert.deepEqual(ada.room.broadcastRooms, []);
  await Promise.all([benFree, benOff]);
  assert.deepEqual(ben.room.listeners(), []);
  assert.equal(ben.room.audioBroadcasts.size, 0);
  for (const c of [ada, ben]) c.room.disconnect();
});

/** Drops the signalling transport without a closing handshake (a network failure). */
function dropTransport(room) {
  /** @type {any} */ (room)._connection.socket._socket.destroy();
}

test('resume: the moderator still listens and talks in (listeningChanged "kept"), the member still sees it', async () => {
  const p = await parentRoom('listen resume');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const { msg: { rooms: [BR1] } } = await ada.room.createBreakOutRoom({ ...def, max_rooms: 1 });
  await ben.room.joinBreakoutRoom({ role: 'participant', room_id: BR1 });
  await ada.room.listenTo(BR1, { parent: 'paused' });
  await ada.room.talkTo(BR1, true);
  await ada.room.startBroadcast([BR1]);

  // The moderator drops and resumes: its state comes back from the server.
  const kept = next(ada, 'listeningChanged');
  const adaBack = next(ada, 'reconnected');
  dropTransport(ada.room);
  const lc = await kept;
  await adaBack;
  assert.equal(lc.listening, BR1);
  assert.equal(ada.room.connectionState, 'connected');
  assert.equal(ada.room.listening, BR1);
  assert.equal(ada.room.listenParent, 'paused', 'the parent mode is kept for the same room');
  assert.equal(ada.room.talking, true);
  assert.equal(ada.room.broadcasting, true);
  assert.deepEqual(ada.room.broadcastRooms, [BR1]);

  // The member drops and resumes: told again who listens.
  const seen = next(ben, 'monitoredBy');
  const benResumed = next(ben, 'reconnected');
  dropTransport(ben.room);
  const m = await seen;
  await benResumed;
  assert.deepEqual(m.moderators, [ada.ref]);
  assert.deepEqual(ben.room.listeners(), [ada.ref]);
  assert.deepEqual(ben.room.monitoredBy.get(BR1).talking, [ada.id]);

  // Listening ends around Ben's drop (before or after his resume, whichever comes first):
  // either way he holds no stale monitor afterwards.
  const benBack = next(ben, 'reconnected');
  const benGone = ben.room.once('reconnecting', { timeoutMs: DEADLINE_MS });
  dropTransport(ben.room);
  await benGone;
  await ada.room.stopListening();
  await benBack;
  await sync(ben);
  assert.deepEqual(ben.room.listeners(), [], 'nothing stale after a resume');
  for (const c of [ada, ben]) c.room.disconnect();
});
