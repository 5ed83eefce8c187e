// The SDK against the REAL server over real WebSockets: create, invite, join, reject, pause /
// mute, disconnect, forced join, destroy-all, clear-all, create-and-invite, with the exact
// acknowledgements and the exact events each client receives.
//
// The server binary is built with `cargo build -p alcove-server` (or taken from $ALCOVE_BIN),
// started on 127.0.0.1:0 (signalling only: --no-media) with a fresh data dir, and driven through its REST API with the
// development credentials it writes. Media is not tested here (Node has no WebRTC).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { AlcoveError, BreakoutRoom, connect } from '../src/alcove.js';
import { startServer } from '../test-support/server.mjs';

let server;
let rest;

before(async (t) => {
  server = await startServer({ media: false, diagnostic: (m) => t.diagnostic(m) });
  rest = server.rest;
});

after(() => server?.stop());

/** Every frame a client receives, taken in steps. */
class Recorder {
  constructor(room) {
    this.room = room;
    this.frames = [];
    this.mark = 0;
    this.wake = () => {};
    room.on('frame', (f) => {
      // The room list (protocol 3) reaches every client on every room change; it has its own
      // test (facilitate.test.mjs), this one follows the seed's frames.
      if (f.type === 'breakoutRoomsUpdated') return;
      this.frames.push(f);
      this.wake();
    });
  }

  /**
   * Every frame since the last take: waits for `n` new frames (deadline 20 s; some are caused
   * by events the family learns of on its own, such as another client's connection closing),
   * then, on a live connection, sends a request that changes nothing (`muteRoom` with no flag,
   * answered 1155): the family answers a client's requests in order and queues its frames in
   * order, so any extra frame an earlier operation caused is in front of that answer (the
   * probe's own answer is left out). No time window decides what counts.
   * @param {number} n
   */
  async take(n) {
    return this.until(() => this.frames.length >= this.mark + n);
  }

  /**
   * Like `take`, but waits until `done()` holds (deadline 20 s) instead of for a number of
   * frames: for presence a slow reader may receive merged (`usersUpdated` batches that wait
   * merge, latest state wins), so the number of frames is not fixed, the end state is.
   * @param {() => boolean} done
   */
  async until(done) {
    const deadline = Date.now() + 20_000;
    while (!done() && Date.now() < deadline) {
      await new Promise((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    /** @type {any} */
    let probe = null;
    if (!this.room.closed) {
      await this.room.request('muteRoom', { audio: false, video: false }).then(
        (ack) => assert.fail(`the sync probe succeeded: ${JSON.stringify(ack)}`),
        (e) => {
          assert.equal(e.result, 1155, `the sync probe is answered 1155: ${e}`);
          probe = e.ack;
        },
      );
    }
    const got = this.frames.slice(this.mark).filter((f) => !(probe && f.id === probe.id && f.type === probe.type));
    this.mark = this.frames.length;
    return got;
  }
}

/** Asserts the types of the next frames of each recorder; returns the frames, per recorder. */
async function expectFrames(expectations) {
  const results = await Promise.all(expectations.map(([rec, types]) => rec.take(types.length)));
  expectations.forEach(([rec, types], i) => {
    assert.deepEqual(results[i].map((f) => f.type), types, `frames received by ${rec.room.me?.name}`);
  });
  return results;
}

const noId = ({ id: _id, ...rest }) => rest;

async function client(roomId, name, role) {
  const { token } = await rest('POST', `/v1/rooms/${roomId}/tokens`, { name, role, user_ref: `u-${name}` });
  const room = await connect(server.signalUrl, token, { WebSocket, media: false });
  return { room, rec: new Recorder(room), id: room.clientId, name };
}

test('break-out lifecycle against the real server', async () => {
  const { room: parent } = await rest('POST', '/v1/rooms', {
    name: 'sdk-js test', owner_ref: 'sdk-js', settings: { mode: 'group', max_active_talkers: 6 },
  });
  const ada = await client(parent.room_id, 'Ada', 'moderator');
  const ben = await client(parent.room_id, 'Ben', 'participant');
  const chiara = await client(parent.room_id, 'Chiara', 'participant');
  await expectFrames([[ada.rec, ['userConnected', 'userConnected']], [ben.rec, ['userConnected']], [chiara.rec, []]]);
  assert.equal(chiara.room.users.size, 3);
  assert.equal(ada.room.role, 'moderator');
  assert.equal(ada.room.settings.max_active_talkers, 6);
  const adaRef = { clientId: ada.id, name: 'Ada' };

  // --- create ------------------------------------------------------------------------------
  const def = { participants: 2, audio: true, video: false, canvas: true, share: true, max_rooms: 2 };
  const created = await ada.room.createBreakOutRoom(def);
  assert.equal(created.type, 'ackCreateBreakOutRoom');
  assert.equal(created.result, 0);
  assert.equal(created.msg.rooms.length, 2);
  const [BR1, BR2] = created.msg.rooms;
  let [adaF] = await expectFrames([
    [ada.rec, ['ackCreateBreakOutRoom', 'breakoutRoomCreated', 'breakoutRoomCreated']],
    [ben.rec, []], [chiara.rec, []],
  ]);
  assert.deepEqual(noId(adaF[0]), { type: 'ackCreateBreakOutRoom', result: 0, msg: { rooms: [BR1, BR2] } });
  assert.deepEqual(adaF[1], { type: 'breakoutRoomCreated', room_id: BR1, name: 'Breakout 1', owner: adaRef, participants: 2, audio: true, canvas: true, share: true });
  assert.deepEqual(adaF[2], { type: 'breakoutRoomCreated', room_id: BR2, name: 'Breakout 2', owner: adaRef, participants: 2, audio: true, canvas: true, share: true });
  assert.deepEqual([...ada.room.breakoutRooms.keys()], [BR1, BR2]);
  assert.equal(ada.room.breakoutRooms.get(BR1).name, 'Breakout 1');

  // create refused: too many participants (1725), video (1735); the callback fires and the promise rejects
  await assert.rejects(ben.room.createBreakOutRoom({ ...def, participants: 9 }), (e) => e instanceof AlcoveError && e.result === 1725 && e.ack.type === 'ackCreateBreakOutRoom');
  await assert.rejects(ben.room.createBreakOutRoom({ ...def, video: true }), (e) => e.result === 1735);
  await expectFrames([[ben.rec, ['ackCreateBreakOutRoom', 'ackCreateBreakOutRoom']], [ada.rec, []]]);

  // --- invite ------------------------------------------------------------------------------
  const invited = await ada.room.inviteToBreakOutRoom({ clients: [ben.id, chiara.id], room_id: BR1, force_join: false });
  assert.deepEqual(noId(invited), { type: 'ackInviteBreakOutRoom', result: 0, msg: 'Success', invited: [ben.id, chiara.id], failed: [] });
  let benF, chiaraF;
  [adaF, benF, chiaraF] = await expectFrames([
    [ada.rec, ['ackInviteBreakOutRoom', 'breakoutRoomInvited']],
    [ben.rec, ['invitationForBreakoutRoom']],
    [chiara.rec, ['invitationForBreakoutRoom']],
  ]);
  assert.deepEqual(adaF[1], { type: 'breakoutRoomInvited', room_id: BR1, clients: [ben.id, chiara.id], requestor: adaRef });
  assert.deepEqual(benF[0], { type: 'invitationForBreakoutRoom', room_id: BR1, requestor: adaRef, force_join: false });
  assert.deepEqual(chiaraF[0], benF[0]);
  assert.deepEqual([...ben.room.invitations.keys()], [BR1]);
  assert.deepEqual(ada.room.breakoutRooms.get(BR1).invitations, [ben.id, chiara.id]);

  // --- join --------------------------------------------------------------------------------
  const benBr = await ben.room.joinBreakoutRoom({ role: 'participant', room_id: BR1 }, { audio: true, video: false });
  assert.ok(benBr instanceof BreakoutRoom);
  assert.equal(benBr.roomId, BR1);
  assert.equal(benBr.name, 'Breakout 1');
  [adaF, benF, chiaraF] = await expectFrames([
    [ada.rec, ['userMoved', 'userPaused']],
    [ben.rec, ['connectedBreakoutRoom']],
    [chiara.rec, ['userMoved', 'userPaused']],
  ]);
  assert.deepEqual(noId(benF[0]), {
    type: 'connectedBreakoutRoom', result: 0, room_id: BR1, name: 'Breakout 1', owner: adaRef, participants: 2,
    audio: true, canvas: true, share: true, members: [{ clientId: ben.id, name: 'Ben' }], invitations: [chiara.id], self_select: false,
  });
  assert.deepEqual(adaF, [
    { type: 'userMoved', clientId: ben.id, location: { breakout: BR1 } },
    { type: 'userPaused', clientId: ben.id, paused: true },
  ]);
  assert.deepEqual(ben.room.location, { breakout: BR1 });
  assert.equal(ben.room.paused, true);
  assert.equal(ben.room.invitations.size, 0);
  assert.deepEqual(ada.room.breakoutRooms.get(BR1).members, [{ clientId: ben.id, name: 'Ben' }]);
  assert.deepEqual(chiara.room.users.get(ben.id).location, { breakout: BR1 });

  // --- reject, and a join without invitation -----------------------------------------------
  const rejected = await chiara.room.rejectBreakOutRoom(BR1);
  assert.deepEqual(noId(rejected), { type: 'ackRejectBreakoutRoom', result: 0, msg: 'Success' });
  await assert.rejects(chiara.room.joinBreakoutRoom({ role: 'participant', room_id: BR1 }), (e) => e.result === 1737 && e.ack.type === 'failedJoinBreakOutRoom');
  [adaF] = await expectFrames([
    [ada.rec, ['breakoutRoomInviteRejected']],
    [ben.rec, []],
    [chiara.rec, ['ackRejectBreakoutRoom', 'failedJoinBreakOutRoom']],
  ]);
  assert.deepEqual(adaF[0], { type: 'breakoutRoomInviteRejected', room_id: BR1, clientId: chiara.id, name: 'Chiara' });
  assert.deepEqual(ada.room.breakoutRooms.get(BR1).invitations, []);

  // --- pause / resume / mute the parent from inside the break-out room ----------------------
  assert.deepEqual(noId(await ben.room.muteRoom({ audio: true, video: false })), { type: 'ackMuteRoom', result: 0, msg: 'Room muted', muted: { audio: true, video: false } });
  assert.deepEqual(noId(await ben.room.resume()), { type: 'ackResume', result: 0, msg: 'Room resumed' });
  assert.deepEqual(noId(await ben.room.pause()), { type: 'ackPause', result: 0, msg: 'Room paused' });
  await expectFrames([[ben.rec, ['ackMuteRoom', 'ackResume', 'ackPause']]]);
  // Three steps, each its own presence batch: a reader that keeps up sees userMuted,
  // userPaused (false), userPaused (true); one that fell behind gets the waiting batches merged
  // (latest state wins: only userMuted, or userPaused events around it). Either way it ends
  // with Ben muted and paused, and sees nothing else.
  for (const who of [ada, chiara]) {
    const seen = (/** @type {any} */ u) => u?.paused === true && u?.muted?.audio === true;
    const frames = await who.rec.until(() => seen(who.room.users.get(ben.id)));
    const types = frames.map((f) => f.type);
    assert.ok(types.includes('userMuted'), `${who.name} is told Ben muted: ${types}`);
    assert.ok(types.every((t) => t === 'userMuted' || t === 'userPaused'), `${who.name}: only presence: ${types}`);
    assert.deepEqual(frames.find((f) => f.type === 'userMuted'), { type: 'userMuted', clientId: ben.id, muted: { audio: true, video: false } });
    assert.ok(seen(who.room.users.get(ben.id)), `${who.name} sees Ben muted and paused`);
  }
  assert.deepEqual(ben.room.muted, { audio: true, video: false });
  assert.equal(ben.room.paused, true);
  assert.equal(ada.room.users.get(ben.id).paused, true);

  // --- disconnect (break-out handle): back to the parent, the empty room is destroyed -------
  const left = await benBr.disconnect();
  assert.deepEqual(noId(left), { type: 'didDisconnectedBreakoutRoom', room_id: BR1, moderatorId: '', msg: 'Breakout Room disconnected', result: 0, reason: 'left', location: 'parent' });
  // Protocol 2: the presence of a step (usersUpdated, applied as userMoved / userPaused)
  // comes after the step's other notifications.
  [adaF] = await expectFrames([
    [ada.rec, ['didDestroyedBreakoutRoom', 'userMoved', 'userPaused']],
    [ben.rec, ['didDisconnectedBreakoutRoom']],
    [chiara.rec, ['userMoved', 'userPaused']],
  ]);
  assert.deepEqual(adaF[0], { type: 'didDestroyedBreakoutRoom', room_id: BR1 });
  assert.equal(ben.room.location, 'parent');
  assert.equal(ben.room.paused, false);
  assert.deepEqual(ben.room.muted, { audio: true, video: false }, 'the mute state survives leaving');
  assert.equal(ben.room.breakoutRoom, null);
  assert.equal(benBr.connected, false);
  assert.deepEqual([...ada.room.breakoutRooms.keys()], [BR2]);

  // --- forced join ---------------------------------------------------------------------------
  const forced = await ada.room.inviteToBreakOutRoom({ clients: [chiara.id], room_id: BR2, force_join: true });
  assert.deepEqual(forced.invited, [chiara.id]);
  [adaF, benF, chiaraF] = await expectFrames([
    [ada.rec, ['ackInviteBreakOutRoom', 'breakoutRoomInvited', 'userMoved', 'userPaused']],
    [ben.rec, ['userMoved', 'userPaused']],
    [chiara.rec, ['invitationForBreakoutRoom', 'connectedBreakoutRoom']],
  ]);
  assert.equal(chiaraF[0].force_join, true);
  assert.equal(chiaraF[1].id, undefined, 'a forced join is an unsolicited connectedBreakoutRoom');
  assert.equal(chiaraF[1].room_id, BR2);
  assert.ok(chiara.room.breakoutRoom instanceof BreakoutRoom);
  assert.equal(chiara.room.breakoutRoom.roomId, BR2);
  assert.deepEqual(chiara.room.location, { breakout: BR2 });

  // --- destroy-all: participants may not; the moderator ends every room ----------------------
  await assert.rejects(ben.room.destroyAllBreakOutSession(), (e) => e.result === 5003 && e.ack.type === 'ackDestroyAllBreakOutSession');
  await expectFrames([[ben.rec, ['ackDestroyAllBreakOutSession']], [ada.rec, []]]);
  const chiaraBr = chiara.room.breakoutRoom;
  const destroyed = await ada.room.destroyAllBreakOutSession();
  assert.deepEqual(noId(destroyed), { type: 'ackDestroyAllBreakOutSession', result: 0, msg: { rooms: [BR2] } });
  [adaF, benF, chiaraF] = await expectFrames([
    [ada.rec, ['ackDestroyAllBreakOutSession', 'didDisconnectedBreakoutRoom', 'userMoved', 'userPaused']],
    [ben.rec, ['userMoved', 'userPaused']],
    [chiara.rec, ['didDisconnectedBreakoutRoom']],
  ]);
  const gone = { type: 'didDisconnectedBreakoutRoom', room_id: BR2, moderatorId: '', msg: 'Breakout Room disconnected', result: 0 };
  assert.deepEqual(adaF[1], { ...gone, reason: 'owner_notice', location: 'parent' }, 'the owner is told (it moves nowhere)');
  assert.deepEqual(chiaraF[0], { ...gone, reason: 'destroyed', location: 'parent' }, 'the member is told (no id: a notification)');
  assert.equal(chiara.room.location, 'parent');
  assert.equal(chiara.room.paused, false);
  assert.equal(chiara.room.breakoutRoom, null);
  assert.equal(chiaraBr.connected, false);
  assert.equal(ada.room.breakoutRooms.size, 0);
  assert.equal(ada.room.users.get(chiara.id).location, 'parent');

  // --- clear-all from the parent -------------------------------------------------------------
  const cleared = await ben.room.clearAllBreakOutSession();
  assert.deepEqual(noId(cleared), { type: 'didDisconnectedBreakoutRoom', room_id: null, moderatorId: '', msg: 'Breakout Room disconnected', result: 0, reason: 'left', location: 'parent' });
  await expectFrames([[ben.rec, ['didDisconnectedBreakoutRoom']], [ada.rec, []], [chiara.rec, []]]);

  // --- create-and-invite: 3 participants in the parent, one room of 2 -------------------------
  const dev = await client(parent.room_id, 'Dev', 'participant');
  await expectFrames([[ada.rec, ['userConnected']], [ben.rec, ['userConnected']], [chiara.rec, ['userConnected']]]);
  const auto = await ada.room.createAndInviteBreakoutRoom({ ...def, max_rooms: 1, force_join: false });
  assert.equal(auto.type, 'ackCreateAndInviteBreakOutRoom');
  const [BR3] = auto.msg.rooms;
  assert.equal(auto.msg.invitations.length, 1);
  assert.equal(auto.msg.invitations[0].room_id, BR3);
  const assigned = auto.msg.invitations[0].clients;
  assert.equal(assigned.length, 2);
  assert.equal(auto.msg.unassigned.length, 1);
  assert.deepEqual([...assigned, ...auto.msg.unassigned].sort(), [ben.id, chiara.id, dev.id].sort());
  const participants = [ben, chiara, dev];
  const results = await expectFrames([
    [ada.rec, ['ackCreateAndInviteBreakOutRoom', 'breakoutRoomCreated', 'breakoutRoomInvited']],
    ...participants.map((p) => [p.rec, assigned.includes(p.id) ? ['invitationForBreakoutRoom'] : []]),
  ]);
  assert.equal(results[0][1].name, 'Breakout 1', 'the name counter restarts when no room is live');
  assert.deepEqual(results[0][2], { type: 'breakoutRoomInvited', room_id: BR3, clients: assigned, requestor: adaRef });
  for (const p of participants) {
    assert.equal(p.room.invitations.has(BR3), assigned.includes(p.id));
  }

  // destroy-all withdraws the pending invitations
  await ada.room.destroyAllBreakOutSession();
  const after = await expectFrames([
    [ada.rec, ['ackDestroyAllBreakOutSession', 'didDisconnectedBreakoutRoom']],
    ...participants.map((p) => [p.rec, assigned.includes(p.id) ? ['breakoutInvitationWithdrawn'] : []]),
  ]);
  assert.deepEqual(after[0][1], { type: 'didDisconnectedBreakoutRoom', room_id: BR3, moderatorId: '', msg: 'Breakout Room disconnected', result: 0, reason: 'owner_notice', location: 'parent' }, 'the owner is told');
  for (const [i, p] of participants.entries()) {
    if (assigned.includes(p.id)) {
      assert.deepEqual(after[i + 1][0], { type: 'breakoutInvitationWithdrawn', room_id: BR3, reason: 'destroyed_all' });
      assert.equal(p.room.invitations.size, 0);
    }
  }

  // --- leaving ---------------------------------------------------------------------------------
  dev.room.disconnect();
  const [adaLeft] = await expectFrames([[ada.rec, ['userDisconnected']]]);
  assert.deepEqual(adaLeft[0], { type: 'userDisconnected', clientId: dev.id, name: 'Dev' });
  assert.equal(ada.room.users.has(dev.id), false);
  for (const c of [ada, ben, chiara]) c.room.disconnect();
});

test('a used token is refused with 4103 and the socket closes', async () => {
  const { room: parent } = await rest('POST', '/v1/rooms', { name: 'tokens', owner_ref: 'sdk-js' });
  const { token } = await rest('POST', `/v1/rooms/${parent.room_id}/tokens`, { name: 'Eve', role: 'viewer', user_ref: '' });
  const url = server.signalUrl;
  const eve = await connect(url, token, { WebSocket, media: false });
  await assert.rejects(connect(url, token, { WebSocket, media: false }), (e) => e instanceof AlcoveError && e.result === 4103 && e.ack.type === 'error');
  await assert.rejects(eve.createBreakOutRoom({ participants: 2, audio: true, video: false, canvas: false, share: false, max_rooms: 1 }), (e) => e.result === 5003);
  eve.disconnect();
});
