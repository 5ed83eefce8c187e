// Pinned cameras (issue 14, protocol 4, docs/protocol.md §13.9 "Pinning"): `room.pinUsers` /
// `room.unpinUsers` send the fixtures' frames and settle with their acks (fake socket), and
// against the REAL server over real WebSockets: the refusals with their codes, the pin list
// every client learns (`updatePinUsers`, kept as `room.pinnedUsers`), a newcomer told right
// after roomConnected, a leaver unpinned.
//
// The server binary is built with `cargo build -p alcove-server` (or taken from $ALCOVE_BIN),
// started on 127.0.0.1:0 (signalling only: --no-media; pins are roster state). Every wait is
// for a frame, with a deadline.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, ErrorCode } from '../src/alcove.js';
import { clientsOf, next, refused, sync } from '../test-support/clients.mjs';
import { FakeWebSocket } from '../test-support/fake-socket.mjs';
import { startServer } from '../test-support/server.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixtureOf = (name) => JSON.parse(readFileSync(`${repo}crates/proto/fixtures/${name}.json`, 'utf8'));
const roomConnected = fixtureOf('server.roomConnected');

test('pinUsers / unpinUsers send the fixtures\' frames; updatePinUsers keeps room.pinnedUsers', async () => {
  const p = connect('ws://fake/v1/signal', 'tok', { WebSocket: /** @type {any} */ (FakeWebSocket), media: false });
  const ws = FakeWebSocket.instances.at(-1);
  const hello = await ws.nextSent();
  ws.deliver({ ...roomConnected, id: hello.id, version: 4 });
  const room = await p;
  assert.deepEqual(room.pinnedUsers, []);

  const want = fixtureOf('client.pinUsers');
  const pending = room.pinUsers(want.clientIds);
  const sent = await ws.nextSent();
  assert.deepEqual(sent, { ...want, id: sent.id });
  ws.deliver({ ...fixtureOf('server.ackPinUsers'), id: sent.id });
  assert.equal((await pending).result, 0);

  const seen = [];
  room.on('updatePinUsers', (f) => seen.push(f.clientIds));
  const update = fixtureOf('server.updatePinUsers');
  ws.deliver(update);
  assert.deepEqual(seen, [update.clientIds]);
  assert.deepEqual(room.pinnedUsers, update.clientIds);

  const unpin = fixtureOf('client.unpinUsers');
  const refusedUnpin = room.unpinUsers(unpin.clientIds);
  const sent2 = await ws.nextSent();
  assert.deepEqual(sent2, { ...unpin, id: sent2.id });
  ws.deliver({ ...fixtureOf('server.ackUnpinUsers.error'), id: sent2.id });
  await refused(refusedUnpin, ErrorCode.Unauthorized, 'ackUnpinUsers');
  assert.deepEqual(room.pinnedUsers, update.clientIds, 'a refusal changes nothing');

  // A resume's roomConnected starts without pins (the server repeats a non-empty list).
  ws.deliver({ type: 'updatePinUsers', room_id: update.room_id, clientIds: [] });
  assert.deepEqual(room.pinnedUsers, []);
  room.disconnect();
});

let server;
let client;
let parentRoom;

before(async (t) => {
  server = await startServer({ media: false, diagnostic: (m) => t.diagnostic(m) });
  ({ client, parentRoom } = clientsOf(server));
});

after(() => server?.stop());

test('against the server: moderators pin, everyone learns the list, a leaver is unpinned', async () => {
  const p = await parentRoom('pins');
  const ada = await client(p, 'Ada', 'moderator');
  const ben = await client(p, 'Ben', 'participant');
  const chiara = await client(p, 'Chiara', 'participant');
  assert.equal(ada.room.version, 4);

  // Refusals, in the documented order; none tells anybody.
  await refused(ben.room.pinUsers([chiara.id]), ErrorCode.Unauthorized, 'ackPinUsers');
  await refused(ben.room.unpinUsers([chiara.id]), ErrorCode.Unauthorized, 'ackUnpinUsers');
  await refused(ada.room.pinUsers([]), ErrorCode.InvalidParameters, 'ackPinUsers');
  await refused(ada.room.pinUsers([chiara.id, 'c-nobody']), ErrorCode.PinInvalidClient, 'ackPinUsers');
  await refused(ada.room.unpinUsers(['c-nobody']), 5126, 'ackUnpinUsers');
  assert.equal((await sync(ben)).filter((f) => f.type === 'updatePinUsers').length, 0);

  // Ada pins Chiara, then Ben (and Chiara again: no change of order).
  const toBen = next(ben, 'updatePinUsers');
  const ack = await ada.room.pinUsers([chiara.id]);
  assert.equal(ack.type, 'ackPinUsers');
  assert.equal(ack.result, 0);
  assert.deepEqual((await toBen).clientIds, [chiara.id]);
  const toChiara = next(chiara, 'updatePinUsers', (f) => f.clientIds.length === 2);
  await ada.room.pinUsers([ben.id, chiara.id]);
  assert.deepEqual((await toChiara).clientIds, [chiara.id, ben.id]);
  await sync(ada);
  await sync(ben);
  for (const c of [ada, ben, chiara]) assert.deepEqual(c.room.pinnedUsers, [chiara.id, ben.id], c.name);
  const updatePinUsers = ada.frames.filter((f) => f.type === 'updatePinUsers').at(-1);
  assert.deepEqual(Object.keys(updatePinUsers).sort(), ['clientIds', 'room_id', 'type']);
  assert.equal(updatePinUsers.room_id, p, 'the parent room');

  // A newcomer learns the list right after roomConnected.
  const dev = await client(p, 'Dev', 'participant');
  await sync(dev);
  const types = dev.frames.map((f) => f.type);
  assert.deepEqual(types.slice(0, 2), ['roomConnected', 'updatePinUsers']);
  assert.deepEqual(dev.room.pinnedUsers, [chiara.id, ben.id]);

  // Chiara leaves: unpinned, everyone left is told.
  const unpinned = next(dev, 'updatePinUsers', (f) => f.clientIds.length === 1);
  chiara.room.disconnect();
  assert.deepEqual((await unpinned).clientIds, [ben.id]);
  await sync(ada);
  assert.deepEqual(ada.room.pinnedUsers, [ben.id]);

  // Unpinned: the list is empty again.
  const empty = next(ben, 'updatePinUsers', (f) => f.clientIds.length === 0);
  assert.equal((await ada.room.unpinUsers([ben.id])).result, 0);
  assert.deepEqual((await empty).clientIds, []);
  assert.deepEqual(ben.room.pinnedUsers, []);
  for (const c of [ada, ben, dev]) c.room.disconnect();
});

test('the vendor facade: EnxRoom.pinUsers / unpinUsers answer their callbacks; update-pin-users', async () => {
  const { EnxRtc } = await import('../compat/enablex.js');
  const WebSocket = (await import('ws')).default;
  const p = await parentRoom('pins, vendor facade');
  /** Joins through `EnxRtc.joinRoom` (no microphone, no media): the parent `EnxRoom`. */
  const join = async (name, role) => {
    const { token } = await server.rest('POST', `/v1/rooms/${p}/tokens`, { name, role, user_ref: `u-${name}` });
    const config = { signal_url: server.signalUrl, audio: false, alcove: { WebSocket, media: false } };
    const result = await new Promise((resolve, reject) => {
      EnxRtc.joinRoom(token, config, (ok, err) => (err ? reject(new Error(JSON.stringify(err))) : resolve(ok)));
    });
    return result.room;
  };
  const callback = (room, method, ...args) => new Promise((resolve) => room[method](...args, resolve));
  const ada = await join('Ada', 'moderator');
  const ben = await join('Ben', 'participant');

  // The vendor's error objects: not a moderator, a client not in the room, not an array.
  assert.equal((await callback(ben, 'pinUsers', [ada.clientId])).result, 5003);
  assert.equal((await callback(ada, 'pinUsers', ['c-nobody'])).result, 5126);
  assert.equal((await callback(ada, 'unpinUsers', 'c-nobody')).result, 1155);

  const told = new Promise((resolve) => ben.addEventListener('update-pin-users', (e) => resolve(e.message)));
  const ok = await callback(ada, 'pinUsers', [ben.clientId]);
  assert.deepEqual({ result: ok.result, msg: ok.msg }, { result: 0, msg: 'Success' });
  assert.deepEqual(await told, { clientIds: [ben.clientId], room_id: p });
  assert.equal((await callback(ada, 'unpinUsers', [ben.clientId])).result, 0);
  assert.ok(!EnxRtc.UNSUPPORTED_ROOM_METHODS.includes('pinUsers'));
  ada.disconnect();
  ben.disconnect();
});
