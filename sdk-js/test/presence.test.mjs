// Protocol 2's batched presence (`usersUpdated`) gives an app the same events and the same user
// list as the per-user frames of protocol 1 (against a fake socket, from the fixtures).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from '../src/alcove.js';
import { FakeWebSocket } from '../test-support/fake-socket.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name) => JSON.parse(readFileSync(`${repo}crates/proto/fixtures/${name}.json`, 'utf8'));
const roomConnected = fixture('server.roomConnected');
const BR1 = roomConnected.breakout_rooms[0].room_id;
const [ada, ben, chiara] = roomConnected.users;
const me = roomConnected.clientId;

async function connected() {
  const p = connect('ws://fake/v1/signal', 'tok', { WebSocket: /** @type {any} */ (FakeWebSocket), media: false });
  const ws = FakeWebSocket.instances.at(-1);
  const hello = await ws.nextSent();
  assert.deepEqual(hello.versions, [1, 2, 3, 4], 'the SDK offers protocol 1 to 4');
  ws.deliver({ ...roomConnected, id: hello.id });
  return { room: await p, ws };
}

const PRESENCE = ['userConnected', 'userDisconnected', 'userMoved', 'userPaused', 'userMuted'];

/** Every presence event the room dispatches, as `type:clientId`. */
function record(room) {
  const seen = [];
  for (const t of PRESENCE) room.on(t, (d) => seen.push(`${t}:${d.clientId}`));
  return seen;
}

/** Ada moves into BR1 (paused), Ben comes back and is muted, Chiara leaves, Eve arrives. */
const eve = { ...chiara, clientId: 'c-eeeeeeeeeeee', name: 'Eve' };
const v1Frames = [
  { type: 'userMoved', clientId: ada.clientId, location: { breakout: BR1 } },
  { type: 'userPaused', clientId: ada.clientId, paused: true },
  { type: 'userMoved', clientId: ben.clientId, location: 'parent' },
  { type: 'userPaused', clientId: ben.clientId, paused: false },
  { type: 'userMuted', clientId: ben.clientId, muted: { audio: !ben.muted.audio, video: false } },
  { type: 'userDisconnected', clientId: chiara.clientId, name: chiara.name },
  { type: 'userConnected', ...eve },
];
const batch = {
  type: 'usersUpdated',
  users: [
    { ...ada, location: { breakout: BR1 }, paused: true },
    { ...ben, location: 'parent', paused: false, muted: { audio: !ben.muted.audio, video: false } },
    { ...eve },
    // Its own entry: listed, no event.
    { ...roomConnected.users.find((u) => u.clientId === me), paused: true },
  ],
  left: [chiara.clientId],
};

test('usersUpdated dispatches the per-user events of protocol 1 and leaves the same list', async () => {
  const one = await connected();
  const seen1 = record(one.room);
  for (const f of v1Frames) one.ws.deliver(f);

  const two = await connected();
  const seen2 = record(two.room);
  const batches = [];
  two.room.on('usersUpdated', (d) => batches.push(d));
  two.ws.deliver(batch);

  assert.deepEqual(new Set(seen2), new Set(seen1));
  assert.equal(seen2.length, seen1.length);
  assert.equal(batches.length, 1, 'the batch itself is dispatched too');
  const others = (room) => [...room.users.values()].filter((u) => u.clientId !== me);
  assert.deepEqual(others(two.room), others(one.room));
  assert.equal(two.room.users.get(me).paused, true, 'its own entry is applied');
  assert.ok(!two.room.users.has(chiara.clientId));
  // Ada is a member of BR1 in the family picture, as with userMoved.
  assert.ok(two.room.breakoutRooms.get(BR1).members.some((m) => m.clientId === ada.clientId));
  one.room.disconnect();
  two.room.disconnect();
});

test('the batch fixture: only real changes are events, its own entry and unknown leavers none', async () => {
  const { room, ws } = await connected();
  const seen = record(room);
  ws.deliver(fixture('server.usersUpdated'));
  // Ben stays where he was and is unmuted; Dev (itself) is updated silently; the unknown
  // leaver is ignored.
  assert.deepEqual(seen, [`userMuted:${ben.clientId}`]);
  assert.equal(room.users.get(ben.clientId).muted.audio, false);
  assert.equal(room.users.get(me).muted.audio, true);
  room.disconnect();
});
