// Camera video (protocol 4, docs/protocol.md §13.9): `videoSlotsUpdated` keeps `room.videoSlots`
// (slot → {clientId, name}) and `room.videoSlotsRoomId`, and is dispatched under its wire type;
// a map for a break-out room empties the slots; `room.setVideoSlot` sends the fixture's frame
// and settles with its ack (against a fake socket). The simulcast layers the camera offers.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from '../src/alcove.js';
import { CAMERA_SIMULCAST, DEFAULT_SIMULCAST, DEFAULT_VIDEO_SLOTS, ErrorCode, PROTOCOL_VERSION, supportsVideoSlots } from '../src/protocol.js';
import { FakeWebSocket } from '../test-support/fake-socket.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const roomConnected = JSON.parse(readFileSync(`${repo}crates/proto/fixtures/server.roomConnected.json`, 'utf8'));
const fixture = JSON.parse(readFileSync(`${repo}crates/proto/fixtures/server.videoSlotsUpdated.json`, 'utf8'));
const BR1 = roomConnected.breakout_rooms[0].room_id;
const fixtureOf = (name) => JSON.parse(readFileSync(`${repo}crates/proto/fixtures/${name}.json`, 'utf8'));

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

async function connected() {
  const p = connect('ws://fake/v1/signal', 'tok', { WebSocket: /** @type {any} */ (FakeWebSocket), media: false });
  const ws = FakeWebSocket.instances.at(-1);
  const hello = await ws.nextSent();
  ws.deliver({ ...roomConnected, id: hello.id, version: 4 });
  return { room: await p, ws };
}

test('setVideoSlot sends {slot, height, max_layer} as the fixture does and resolves with ackSetVideoSlot', async () => {
  const { room, ws } = await connected();
  const want = fixtureOf('client.setVideoSlot');
  const ack = fixtureOf('server.ackSetVideoSlot');
  // A rendered height in device pixels need not be whole: the SDK rounds it.
  const pending = room.setVideoSlot(want.slot, { height: want.height - 0.4, maxLayer: want.max_layer });
  const sent = await ws.nextSent();
  assert.deepEqual(sent, { ...want, id: sent.id });
  ws.deliver({ ...ack, id: sent.id });
  const got = await pending;
  assert.equal(got.type, 'ackSetVideoSlot');
  assert.equal(got.result, 0);
  // No cap: no max_layer on the wire (the server's default is "high"); 0 = not shown.
  const hide = room.setVideoSlot(0, { height: 0 });
  const sent2 = await ws.nextSent();
  assert.deepEqual(sent2, { type: 'setVideoSlot', id: sent2.id, slot: 0, height: 0 });
  ws.deliver({ ...ack, id: sent2.id });
  await hide;
  room.disconnect();
});

test('setVideoSlot rejects with the refusal of an error ack (1155, its msg)', async () => {
  const { room, ws } = await connected();
  const refusal = fixtureOf('server.ackSetVideoSlot.error');
  const pending = room.setVideoSlot(7, { height: 360 });
  const sent = await ws.nextSent();
  ws.deliver({ ...refusal, id: sent.id });
  await assert.rejects(pending, (/** @type {any} */ e) => e.result === ErrorCode.InvalidParameters && e.message.includes(refusal.msg));
  room.disconnect();
});

test('the camera offers three simulcast layers by default: q, h, f at 1/4, 1/2 and full resolution', () => {
  assert.equal(DEFAULT_SIMULCAST, true);
  assert.deepEqual(CAMERA_SIMULCAST.map((e) => [e.rid, e.scaleResolutionDownBy]), [['q', 4], ['h', 2], ['f', 1]]);
});
