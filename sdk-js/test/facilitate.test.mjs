// Facilitation (issue 10) through the SDK against the REAL server over real WebSockets: every
// new request's happy path and a bad input with its error code, and the state the SDK keeps
// from the new frames (room list, timers and the server clock, help queue, moderator mute,
// one-step moves that never pass through the parent).
//
// The server binary is built with `cargo build -p alcove-server` (or taken from $ALCOVE_BIN),
// started on 127.0.0.1:0 (signalling only: --no-media). Nothing here waits for a time to pass
// to decide an outcome: every wait is for a frame, with a deadline. The room timer test sets a
// 3 s timer and waits for the server's frames (deadline 15 s).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ErrorCode, SUPPORTED_VERSIONS } from '../src/alcove.js';
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

const def = { participants: 2, audio: true, video: false, canvas: false, share: false, max_rooms: 1 };

test('protocol 3: roomConnected carries server_time; the room list reaches participants too', async () => {
  assert.deepEqual(SUPPORTED_VERSIONS, [1, 2, 3, 4]);
  const p = await parentRoom('room list');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  assert.ok(ben.room.version >= 3, `version ${ben.room.version}`);
  const hello = ben.frames.find((f) => f.type === 'roomConnected');
  assert.equal(typeof hello.server_time, 'number');
  // Same machine: the measured offset is the connect round trip's error, not a clock skew.
  assert.ok(Math.abs(ben.room.clockOffsetMs) < 5_000, `offset ${ben.room.clockOffsetMs}`);

  const listed = next(ben, 'breakoutRoomsUpdated');
  const ack = await ada.room.createBreakOutRoom({ ...def, max_rooms: 3, names: ['  Alpha ', 'Beta'], self_select: true });
  const [A, B, C] = ack.msg.rooms;
  const upd = await listed;
  assert.deepEqual(upd.rooms.map((r) => [r.room_id, r.name, r.members, r.participants, r.self_select]),
    [[A, 'Alpha', 0, 2, true], [B, 'Beta', 0, 2, true], [C, 'Breakout 3', 0, 2, true]]);
  assert.deepEqual([...ben.room.roomList.keys()], [A, B, C], 'a participant keeps the list');
  assert.equal(ada.room.breakoutRooms.get(A).name, 'Alpha');

  // A later client gets the list in roomConnected.
  const chiara = await client(p, 'Chiara', 'participant');
  assert.deepEqual([...chiara.room.roomList.values()].map((r) => r.name), ['Alpha', 'Beta', 'Breakout 3']);

  // A bad name in the definition: 1155.
  await refused(ada.room.createBreakOutRoom({ ...def, names: [''] }), ErrorCode.InvalidParameters, 'ackCreateBreakOutRoom');
  await refused(ada.room.createBreakOutRoom({ ...def, names: ['x'.repeat(65)] }), 1155);
  for (const c of [ada, ben, chiara]) c.room.disconnect();
});

test('timers: set, clear, warning once, the end brings members back to the parent unmuted', async () => {
  const p = await parentRoom('timers');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const { msg: { rooms: [BR] } } = await ada.room.createBreakOutRoom({ ...def, self_select: true });
  await ben.room.joinBreakoutRoom({ role: 'participant', room_id: BR });

  // Refusals: participants 5003, unknown room 1736, out of range 1155.
  await refused(ben.room.setBreakoutDuration(BR, 60), ErrorCode.Unauthorized, 'ackSetBreakoutDuration');
  await refused(ada.room.setBreakoutDuration('r-none', 60), ErrorCode.BreakoutRoomNotFound);
  await refused(ada.room.setBreakoutDuration(BR, 86_401), ErrorCode.InvalidParameters);
  await refused(ada.room.setBreakoutDuration(BR, 60, { warning: 86_401 }), ErrorCode.InvalidParameters);

  // A long timer: the ack carries it, the member is told, the countdown is within it.
  let told = next(ben, 'breakoutTimer');
  const set = await ada.room.setBreakoutDuration(BR, 600);
  assert.equal(set.timer.room_id, BR);
  assert.equal(set.timer.ends_at - set.timer.warning_at, 60_000, 'default warning 60 s');
  const timer = await told;
  assert.deepEqual({ ...timer }, { type: 'breakoutTimer', room_id: BR, ends_at: set.timer.ends_at, warning_at: set.timer.warning_at });
  for (const c of [ada, ben]) {
    const left = c.room.timeLeft(BR);
    assert.ok(left > 0 && left <= 600_000 + 5_000, `${c.name}: timeLeft ${left}`);
  }
  assert.equal(ben.room.breakoutRoom.info.ends_at, set.timer.ends_at);
  assert.equal(ben.room.msUntil(0), 0, 'a countdown never goes negative');
  assert.equal(ben.room.timeLeft('r-none'), null);

  // Cleared: nulls.
  told = next(ben, 'breakoutTimer');
  const cleared = await ada.room.setBreakoutDuration(BR, null);
  assert.equal(cleared.timer.ends_at, null);
  assert.equal((await told).ends_at, null);
  assert.equal(ben.room.timeLeft(BR), null);
  assert.equal(ada.room.timeLeft(BR), null);

  // A moderator mutes Ben: the timer's end clears it.
  const muted = next(ben, 'memberMuted', (f) => f.clientId === ben.id);
  await ada.room.muteMember({ clientId: ben.id });
  await muted;
  assert.equal(ben.room.mutedByModerator, true);
  const unmutedAtEnd = next(ben, 'memberMuted', (f) => f.clientId === ben.id && f.muted === false);

  // 3 s with a 2 s warning: the warning once, then the end. (The server skips a warning it
  // only gets to after the end; 2 s apart, only a server starved that long would.)
  const warned = next(ben, 'breakoutTimerWarning');
  const ended = next(ben, 'didDisconnectedBreakoutRoom');
  const destroyed = next(ada, 'didDestroyedBreakoutRoom');
  await ada.room.setBreakoutDuration(BR, 3, { warning: 2 });
  const w = await warned;
  assert.equal(w.room_id, BR);
  const end = await ended;
  assert.deepEqual({ room_id: end.room_id, reason: end.reason, location: end.location }, { room_id: BR, reason: 'timeout', location: 'parent' });
  assert.equal((await destroyed).room_id, BR);
  const all = await sync(ben);
  assert.equal(all.filter((f) => f.type === 'breakoutTimerWarning').length, 1, 'the warning arrives once');
  assert.equal(ben.room.location, 'parent');
  assert.equal(ben.room.paused, false);
  await unmutedAtEnd;
  assert.equal(ben.room.mutedByModerator, false, 'the end clears the moderator mute');
  assert.equal(ben.room.breakoutRoom, null);
  assert.equal(ben.room.roomList.has(BR), false);
  await sync(ada);
  assert.equal(ada.room.roomList.has(BR), false);
  assert.equal(ada.room.users.get(ben.id).location, 'parent');

  // A room created with a timer in its definition.
  const { msg: { rooms: [BR2] } } = await ada.room.createBreakOutRoom({ ...def, duration: 900, warning: 0 });
  await sync(ada);
  const entry = ada.room.breakoutRooms.get(BR2);
  assert.ok(ada.room.timeLeft(BR2) > 0, 'the definition started a timer');
  assert.equal(entry.warning_at ?? null, null, 'warning 0: none');
  await refused(ada.room.createBreakOutRoom({ ...def, duration: 0 }), ErrorCode.InvalidParameters);
  for (const c of [ada, ben]) c.room.disconnect();
});

test('broadcast: to every room or the chosen ones, sanitised; refusals and the rate limit', async () => {
  const p = await parentRoom('broadcast');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const chiara = await client(p, 'Chiara', 'participant');
  const { msg: { rooms: [BR] } } = await ada.room.createBreakOutRoom(def);
  await ada.room.moveToBreakoutRoom(ben.id, BR);
  await sync(ben);
  assert.deepEqual(ben.room.location, { breakout: BR });

  const atBen = next(ben, 'broadcastReceived');
  const atChiara = next(chiara, 'broadcastReceived');
  const ack = await ada.room.broadcastMessage('  Five minutes\u0007 left\n ');
  assert.equal(ack.type, 'ackBroadcastMessage');
  assert.equal(ack.recipients, 2);
  const [b, c] = [await atBen, await atChiara];
  assert.deepEqual({ from: b.from, text: b.text, room_id: b.room_id }, { from: ada.ref, text: 'Five minutes left', room_id: BR });
  assert.equal(c.room_id, p);
  assert.equal(typeof b.at, 'number');

  // Only the break-out room.
  const onlyBen = next(ben, 'broadcastReceived');
  assert.equal((await ada.room.broadcastMessage('BR only', [BR])).recipients, 1);
  assert.equal((await onlyBen).text, 'BR only');
  assert.equal((await sync(chiara)).filter((f) => f.type === 'broadcastReceived').length, 1, 'Chiara got only the first');

  await refused(ben.room.broadcastMessage('hi'), ErrorCode.Unauthorized, 'ackBroadcastMessage');
  await refused(ada.room.broadcastMessage(' \u0001 '), ErrorCode.InvalidParameters);
  await refused(ada.room.broadcastMessage('x'.repeat(1001)), ErrorCode.InvalidParameters);
  await refused(ada.room.broadcastMessage('hi', []), ErrorCode.InvalidParameters);
  await refused(ada.room.broadcastMessage('hi', ['r-none']), ErrorCode.BreakoutRoomNotFound);

  // 10 a minute: two went out; eight more pass, the next is refused.
  for (let i = 0; i < 8; i++) await ada.room.broadcastMessage(`n${i}`, [p]);
  await refused(ada.room.broadcastMessage('one too many', [p]), ErrorCode.RateLimited);
  for (const x of [ada, ben, chiara]) x.room.disconnect();
});

test('help: request (coalesced), cancel, dismiss, answered by a moderator joining; the queue as state', async () => {
  const p = await parentRoom('help');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const chiara = await client(p, 'Chiara', 'participant');
  const { msg: { rooms: [BR] } } = await ada.room.createBreakOutRoom(def);
  await ada.room.moveToBreakoutRoom(ben.id, BR);
  await sync(ben);

  await refused(chiara.room.requestHelp(), ErrorCode.NotInBreakoutRoom, 'ackRequestHelp');
  await refused(ben.room.cancelHelp(), ErrorCode.NoHelpRequest, 'ackCancelHelp');

  let asked = next(ada, 'helpRequested');
  const first = await ben.room.requestHelp();
  assert.equal(first.already_pending, false);
  assert.deepEqual({ room_id: first.request.room_id, clientId: first.request.clientId }, { room_id: BR, clientId: ben.id });
  assert.deepEqual(ben.room.helpRequest?.room_id, BR);
  const req = await asked;
  assert.equal(req.clientId, ben.id);
  assert.deepEqual([...ada.room.helpRequests.keys()], [ben.id]);
  assert.equal((await ben.room.requestHelp()).already_pending, true, 'a second press coalesces');

  // A moderator connecting later gets the queue in roomConnected.
  const dana = await client(p, 'Dana', 'moderator');
  assert.deepEqual([...dana.room.helpRequests.keys()], [ben.id]);

  // Cancel.
  let resolved = next(ada, 'helpResolved');
  await ben.room.cancelHelp();
  assert.equal((await resolved).outcome, 'cancelled');
  assert.equal(ben.room.helpRequest, null);
  assert.equal(ada.room.helpRequests.size, 0);
  assert.equal((await sync(ada)).filter((f) => f.type === 'helpRequested').length, 1, 'the coalesced press told nobody');

  // Dismiss.
  await ben.room.requestHelp();
  await sync(ada);
  await refused(ben.room.dismissHelp(ben.id), ErrorCode.Unauthorized, 'ackDismissHelp');
  await refused(ada.room.dismissHelp(chiara.id), ErrorCode.NoHelpRequest);
  const dismissed = next(ben, 'helpDismissed');
  resolved = next(dana, 'helpResolved');
  await ada.room.dismissHelp(ben.id);
  assert.deepEqual((await dismissed).by, ada.ref);
  assert.equal((await resolved).outcome, 'dismissed');
  assert.equal(ada.room.helpRequests.size, 0, 'the dismissing moderator drops it from its queue');
  assert.equal(ben.room.helpRequest, null);

  // Answered: a moderator joins the room.
  asked = next(ada, 'helpRequested');
  await ben.room.requestHelp();
  await asked;
  const answered = next(ben, 'helpAnswered');
  resolved = next(ada, 'helpResolved');
  await dana.room.joinBreakoutRoom({ role: 'moderator', room_id: BR });
  assert.deepEqual((await answered).by, dana.ref);
  const r = await resolved;
  assert.equal(r.outcome, 'answered');
  assert.deepEqual(r.by, dana.ref);
  assert.equal(ada.room.helpRequests.size, 0);
  assert.equal(ben.room.helpRequest, null);
  for (const x of [ada, ben, chiara, dana]) x.room.disconnect();
});

test('moves in one step, switch by join, self-select, rename', async () => {
  const p = await parentRoom('moves');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const chiara = await client(p, 'Chiara', 'participant');
  const dev = await client(p, 'Dev', 'participant');
  const { msg: { rooms: [A, B, C] } } = await ada.room.createBreakOutRoom({ ...def, max_rooms: 3, names: ['A', 'B', 'C'] });

  // From the parent: a forced join.
  await ada.room.moveToBreakoutRoom(ben.id, A);
  await sync(ben);
  assert.deepEqual(ben.room.location, { breakout: A });
  const handleA = ben.room.breakoutRoom;

  // From A straight to B: Ben's location is never the parent and his parent stays paused.
  /** @type {any[]} */
  const seen = [];
  const off = ben.room.on('statechange', () => seen.push({ location: ben.room.location, paused: ben.room.paused }));
  const moved = next(ben, 'didDisconnectedBreakoutRoom');
  const ack = await ada.room.moveToBreakoutRoom(ben.id, B);
  assert.equal(ack.type, 'ackMoveToBreakoutRoom');
  const notice = await moved;
  off();
  assert.deepEqual({ room_id: notice.room_id, reason: notice.reason, location: notice.location }, { room_id: A, reason: 'moved', location: { breakout: B } });
  assert.ok(seen.length > 0);
  for (const s of seen) {
    assert.notEqual(s.location, 'parent', 'a move is not a return to the parent');
    assert.equal(s.paused, true);
  }
  assert.deepEqual(ben.room.location, { breakout: B });
  assert.equal(ben.room.breakoutRoom.roomId, B);
  assert.equal(handleA.connected, false);
  const benFrames = await sync(ben);
  const i = benFrames.findIndex((f) => f.type === 'connectedBreakoutRoom' && f.room_id === B);
  const j = benFrames.findIndex((f) => f === notice);
  assert.ok(i >= 0 && i < j, 'connectedBreakoutRoom (B) comes before the moved notice');
  await sync(ada);
  assert.equal(ada.room.roomList.has(A), false, 'A, emptied, is gone');
  assert.equal(ada.room.roomList.get(B).members, 1);

  // Refusals.
  await refused(ben.room.moveToBreakoutRoom(chiara.id, B), ErrorCode.Unauthorized, 'ackMoveToBreakoutRoom');
  await refused(ada.room.moveToBreakoutRoom(chiara.id, 'r-none'), ErrorCode.BreakoutRoomNotFound);
  await refused(ada.room.moveToBreakoutRoom('c-nobody', B), ErrorCode.ClientNotConnected);
  await refused(ada.room.moveToBreakoutRoom(ben.id, B), ErrorCode.AlreadyMember);
  await ada.room.moveToBreakoutRoom(chiara.id, B);
  await refused(ada.room.moveToBreakoutRoom(dev.id, B), ErrorCode.BreakoutRoomFull);

  // Self-select: without it, no invitation → 1737; with it, Dev joins C on his own.
  await refused(dev.room.joinBreakoutRoom({ role: 'participant', room_id: C }), ErrorCode.NotInvited, 'failedJoinBreakOutRoom');
  await refused(ben.room.setSelfSelect(true, C), ErrorCode.Unauthorized, 'ackSetSelfSelect');
  await refused(ada.room.setSelfSelect(true, 'r-none'), ErrorCode.BreakoutRoomNotFound);
  const listed = next(dev, 'breakoutRoomsUpdated', (f) => f.rooms.some((r) => r.room_id === C));
  await ada.room.setSelfSelect(true, C);
  assert.equal((await listed).rooms.find((r) => r.room_id === C).self_select, true);
  assert.equal(dev.room.roomList.get(C).self_select, true);
  const handleC = await dev.room.joinBreakoutRoom({ role: 'participant', room_id: C });
  assert.equal(handleC.roomId, C);

  // Switch by join: Dev, in C, joins B (self-select on for all; B has a free place after Chiara leaves).
  await ada.room.setSelfSelect(true);
  await chiara.room.breakoutRoom.disconnect();
  const switched = next(dev, 'didDisconnectedBreakoutRoom');
  const handleB = await dev.room.joinBreakoutRoom({ role: 'participant', room_id: B });
  assert.equal(handleB.roomId, B);
  const sw = await switched;
  assert.deepEqual({ room_id: sw.room_id, reason: sw.reason, location: sw.location }, { room_id: C, reason: 'moved', location: { breakout: B } });
  assert.deepEqual(dev.room.location, { breakout: B });
  assert.equal(dev.room.paused, true);
  assert.equal(dev.room.breakoutRoom, handleB);
  assert.equal(handleC.connected, false);
  await refused(dev.room.joinBreakoutRoom({ role: 'participant', room_id: B }), ErrorCode.AlreadyInBreakoutRoom);

  // Rename.
  const renamed = next(chiara, 'breakoutRoomsUpdated', (f) => f.rooms.some((r) => r.room_id === B && r.name === 'Big room'));
  assert.equal((await ada.room.renameBreakoutRoom(B, '  Big room ')).type, 'ackRenameBreakoutRoom');
  await renamed;
  assert.equal(chiara.room.roomList.get(B).name, 'Big room');
  await sync(ben);
  assert.equal(ben.room.breakoutRoom.name, 'Big room');
  await refused(ben.room.renameBreakoutRoom(B, 'x'), ErrorCode.Unauthorized, 'ackRenameBreakoutRoom');
  await refused(ada.room.renameBreakoutRoom('r-none', 'x'), ErrorCode.BreakoutRoomNotFound);
  await refused(ada.room.renameBreakoutRoom(B, '  '), ErrorCode.InvalidParameters);
  await refused(ada.room.renameBreakoutRoom(B, 'x'.repeat(65)), ErrorCode.InvalidParameters);
  for (const x of [ada, ben, chiara, dev]) x.room.disconnect();
});

test('moderation: mute a member or a room, ask to unmute, unmute self', async () => {
  const p = await parentRoom('moderation');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const chiara = await client(p, 'Chiara', 'participant');
  const { msg: { rooms: [BR] } } = await ada.room.createBreakOutRoom(def);
  await ada.room.moveToBreakoutRoom(ben.id, BR);
  await ada.room.moveToBreakoutRoom(chiara.id, BR);
  await sync(chiara);

  // Not muted: unmuteSelf is a success that changes nothing.
  assert.equal((await chiara.room.unmuteSelf()).type, 'ackUnmuteSelf');

  // One member.
  const atBen = next(ben, 'memberMuted');
  const atChiara = next(chiara, 'memberMuted');
  const ack = await ada.room.muteMember({ clientId: ben.id });
  assert.deepEqual(ack.muted, [ben.id]);
  for (const f of [await atBen, await atChiara]) {
    assert.deepEqual({ clientId: f.clientId, muted: f.muted, by: f.by }, { clientId: ben.id, muted: true, by: ada.ref });
  }
  assert.equal(ben.room.mutedByModerator, true);
  assert.ok(ada.room.moderatorMuted.has(ben.id));
  assert.ok(chiara.room.moderatorMuted.has(ben.id));

  // Ben may not unmute until asked.
  await refused(ben.room.unmuteSelf(), ErrorCode.MutedByModerator, 'ackUnmuteSelf');
  await refused(ben.room.askToUnmute(chiara.id), ErrorCode.Unauthorized, 'ackAskToUnmute');
  await refused(ada.room.askToUnmute('c-nobody'), ErrorCode.ClientNotConnected);
  const asked = next(ben, 'unmuteAsked');
  assert.equal((await ada.room.askToUnmute(ben.id)).type, 'ackAskToUnmute');
  assert.deepEqual((await asked).by, ada.ref);
  assert.deepEqual(ben.room.unmuteAskedBy, ada.ref);
  const unmuted = next(ada, 'memberMuted', (f) => f.clientId === ben.id);
  await ben.room.unmuteSelf();
  const u = await unmuted;
  assert.deepEqual({ muted: u.muted, by: u.by }, { muted: false, by: ada.ref });
  assert.equal(ben.room.mutedByModerator, false);
  assert.equal(ben.room.unmuteAskedBy, null);
  assert.equal(ada.room.moderatorMuted.has(ben.id), false);

  // The whole room (its non-moderator members).
  const roomAck = await ada.room.muteMember({ roomId: BR });
  assert.deepEqual([...roomAck.muted].sort(), [ben.id, chiara.id].sort());
  await sync(chiara);
  assert.equal(chiara.room.mutedByModerator, true);

  // Refusals.
  await refused(ben.room.muteMember({ clientId: chiara.id }), ErrorCode.Unauthorized, 'ackMuteMember');
  await refused(ada.room.muteMember(/** @type {any} */ ({})), ErrorCode.InvalidParameters);
  await refused(ada.room.muteMember(/** @type {any} */ ({ clientId: ben.id, roomId: BR })), ErrorCode.InvalidParameters);
  await refused(ada.room.muteMember({ clientId: 'c-nobody' }), ErrorCode.ClientNotConnected);
  await refused(ada.room.muteMember({ roomId: 'r-none' }), ErrorCode.BreakoutRoomNotFound);

  // muteRoom / unmuteRoom acks echo the resulting parent mute state.
  const m = await ben.room.muteRoom({ audio: true, video: false });
  assert.deepEqual(m.muted, { audio: true, video: false });
  assert.deepEqual(ben.room.muted, { audio: true, video: false });
  const um = await ben.room.unmuteRoom({ audio: true, video: false });
  assert.deepEqual(um.muted, { audio: false, video: false });
  for (const x of [ada, ben, chiara]) x.room.disconnect();
});

test('plans: save the live assignment, list, apply with force join; refusals', async () => {
  const p = await parentRoom('plans');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const chiara = await client(p, 'Chiara', 'participant');

  await refused(ada.room.savePlan('Week 1'), ErrorCode.BreakoutRoomNotFound, 'ackSavePlan');
  const { msg: { rooms: [R1, R2] } } = await ada.room.createBreakOutRoom({ ...def, max_rooms: 2, names: ['Red', 'Blue'], duration: 1200 });
  await ada.room.moveToBreakoutRoom(ben.id, R1);
  await ada.room.inviteToBreakOutRoom({ clients: [chiara.id], room_id: R2 });

  await refused(ben.room.savePlan('Week 1'), ErrorCode.Unauthorized, 'ackSavePlan');
  await refused(ada.room.savePlan('  '), ErrorCode.InvalidParameters);
  const saved = await ada.room.savePlan('Week 1');
  assert.equal(saved.type, 'ackSavePlan');
  assert.equal(saved.plan.name, 'Week 1');
  assert.deepEqual(saved.plan.rooms.map((r) => [r.name, r.members, r.duration]), [['Red', ['u-Ben'], 1200], ['Blue', ['u-Chiara'], 1200]]);

  await refused(ben.room.listPlans(), ErrorCode.Unauthorized, 'ackListPlans');
  const list = await ada.room.listPlans();
  const week = list.plans.find((x) => x.name === 'Week 1');
  assert.deepEqual({ rooms: week.rooms, members: week.members }, { rooms: 2, members: 2 });
  assert.equal(typeof week.saved_at, 'number');

  await ada.room.destroyAllBreakOutSession();
  await sync(ben);
  assert.equal(ben.room.location, 'parent');

  await refused(ben.room.applyPlan('Week 1'), ErrorCode.Unauthorized, 'ackApplyPlan');
  await refused(ada.room.applyPlan('No such plan'), ErrorCode.PlanNotFound);
  const benJoined = next(ben, 'connectedBreakoutRoom');
  const chiaraJoined = next(chiara, 'connectedBreakoutRoom');
  const applied = await ada.room.applyPlan('Week 1', { forceJoin: true });
  assert.equal(applied.rooms.length, 2);
  assert.deepEqual(applied.unmatched, []);
  const [b, c] = [await benJoined, await chiaraJoined];
  assert.deepEqual([b.name, c.name], ['Red', 'Blue']);
  assert.deepEqual(ben.room.location, { breakout: applied.rooms[0] });
  assert.ok(ben.room.timeLeft(applied.rooms[0]) > 0, 'the plan\'s timer runs');
  for (const x of [ada, ben, chiara]) x.room.disconnect();
});

test('a resumed client gets its facilitation state back: moderator mute, help queue, timers, room list', async () => {
  const p = await parentRoom('resume');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const { msg: { rooms: [BR] } } = await ada.room.createBreakOutRoom({ ...def, names: ['Green'], duration: 900, warning: 30 });
  await ada.room.moveToBreakoutRoom(ben.id, BR);
  await sync(ben);
  await ada.room.muteMember({ clientId: ben.id });
  await ben.room.requestHelp();
  await sync(ben);
  await sync(ada);
  const endsAt = ada.room.roomList.get(BR).ends_at;
  assert.equal(typeof endsAt, 'number');

  // Drop both transports (no close handshake): the SDK resumes each on its own.
  for (const c of [ada, ben]) {
    const back = c.room.once('reconnected', { timeoutMs: DEADLINE_MS });
    /** @type {any} */ (c.room)._connection.socket._socket.destroy();
    await back;
  }
  assert.equal(ben.room.mutedByModerator, true, 'roomConnected.muted_by_moderator');
  assert.deepEqual([...ada.room.helpRequests.keys()], [ben.id], 'roomConnected.help_requests');
  for (const c of [ada, ben]) {
    const e = c.room.roomList.get(BR);
    assert.deepEqual({ name: e.name, ends_at: e.ends_at, warning_at: e.warning_at }, { name: 'Green', ends_at: endsAt, warning_at: endsAt - 30_000 });
  }
  assert.deepEqual(ben.room.location, { breakout: BR });
  assert.equal(ben.room.helpRequest?.room_id, BR, 'its own request is still pending in the same room');
  for (const x of [ada, ben]) x.room.disconnect();
});
