// Camera video (protocol 4, docs/protocol.md §13.9): `videoSlotsUpdated` keeps `room.videoSlots`
// (slot → {clientId, name}) and `room.videoSlotsRoomId`, and is dispatched under its wire type;
// a map for a break-out room empties the slots (against a fake socket).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from '../src/alcove.js';
import { DEFAULT_VIDEO_SLOTS, PROTOCOL_VERSION, supportsVideoSlots } from '../src/protocol.js';
import { FakeWebSocket } from '../test-support/fake-socket.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const roomConnected = JSON.parse(readFileSync(`${repo}crates/proto/fixtures/server.roomConnected.json`, 'utf8'));
const fixture = JSON.parse(readFileSync(`${repo}crates/proto/fixtures/server.videoSlotsUpdated.json`, 'utf8'));
const BR1 = roomConnected.breakout_rooms[0].room_id;

test('protocol 4 is the one that brings video slots', () => {
  assert.equal(PROTOCOL_VERSION, 4);
  assert.equal(DEFAULT_VIDEO_SLOTS, 4);
  assert.equal(supportsVideoSlots(3), false);
  assert.equal(supportsVideoSlots(4), true);
});

test('videoSlotsUpdated keeps the video slot map and is dispatched', async () => {
  const p = connect('ws://fake/v1/signal', 'tok', { WebSocket: /** @type {any} */ (FakeWebSocket), media: false });
  const ws = FakeWebSocket.instances.at(-1);
  const hello = await ws.nextSent();
  ws.deliver({ ...roomConnected, id: hello.id, version: 4 });
  const room = await p;
  const seen = [];
  room.on('videoSlotsUpdated', (f) => seen.push(f.publishers.length));
  ws.deliver(fixture);
  assert.deepEqual(seen, [2]);
  assert.equal(room.videoSlotsRoomId, fixture.room_id);
  assert.deepEqual(room.videoSlots.get(0), { clientId: fixture.publishers[0].clientId, name: fixture.publishers[0].name });
  assert.deepEqual(room.videoSlots.get(2), { clientId: fixture.publishers[1].clientId, name: fixture.publishers[1].name });
  assert.equal(room.videoSlots.has(1), false, 'a slot not listed is empty');
  // In a break-out room: the server sends the room's id and no publishers.
  ws.deliver({ type: 'videoSlotsUpdated', room_id: BR1, publishers: [] });
  assert.deepEqual(seen, [2, 0]);
  assert.equal(room.videoSlotsRoomId, BR1);
  assert.equal(room.videoSlots.size, 0);
  room.disconnect();
});
