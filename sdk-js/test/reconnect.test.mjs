// The reconnect state machine against a fake socket: a drop (close without a closing
// handshake) is resumed with the resume token, within the window, with backoff; the state is
// refreshed from the resumed roomConnected; acks in flight and requests during the drop reject
// with code "closed"; 4108, the end of the window, disconnect() and deliberate server closes end
// the room for good. Media (a fake RTCPeerConnection): an ICE restart when the server kept the
// peer connection, a new one with the same layout when it did not.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from '../src/alcove.js';
import { FakeWebSocket } from '../test-support/fake-socket.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixture = JSON.parse(readFileSync(`${repo}crates/proto/fixtures/server.roomConnected.json`, 'utf8'));
const DEV = fixture.clientId;
const ADA = fixture.users[0].clientId;
const BR1 = fixture.breakout_rooms[0].room_id;
const BR2 = fixture.breakout_rooms[1].room_id;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The next FakeWebSocket created after `n` existed (deadline 10 s). */
async function socketAfter(n) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (FakeWebSocket.instances.length > n) return FakeWebSocket.instances[n];
    await sleep(5);
  }
  throw new Error('no new socket within 10 s');
}

/**
 * Waits until `pred()` holds (checked every 5 ms), failing with `what` after 10 s.
 * @param {() => boolean} pred @param {string} what
 */
async function until(pred, what) {
  const deadline = Date.now() + 10_000;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`not within 10 s: ${what}`);
    await sleep(5);
  }
}

/** Every detail of event `name` on `room`, as they come. */
function collect(room, name) {
  const out = [];
  room.on(name, (d) => out.push(d));
  return out;
}

/** Dev of the fixture, connected over a fake socket, holding resume token `r1.first`. */
async function connected(options = {}) {
  const before = FakeWebSocket.instances.length;
  const p = connect('ws://fake/v1/signal', 'tok', { WebSocket: /** @type {any} */ (FakeWebSocket), media: false, ...options });
  const ws = await socketAfter(before);
  const hello = await ws.nextSent();
  assert.deepEqual(hello, { type: 'connect', id: 0, token: 'tok', versions: [1, 2, 3, 4] });
  ws.deliver({ ...fixture, id: 0, resume_token: 'r1.first' });
  const room = await p;
  return { room, ws };
}

/** The fixture as a resumed roomConnected, Dev at `location`, with `extra` fields. */
function resumed(location, extra = {}) {
  const users = structuredClone(fixture.users);
  const dev = users.find((u) => u.clientId === DEV);
  dev.location = location;
  dev.paused = location !== 'parent';
  const rooms = structuredClone(fixture.breakout_rooms);
  if (location !== 'parent') rooms[0].members.push({ clientId: DEV, name: 'Dev Patel' });
  return { ...fixture, id: 0, users, breakout_rooms: rooms, resumed: true, media_kept: false, resume_token: 'r1.second', ...extra };
}

/** Forces Dev into BR1 (an unsolicited connectedBreakoutRoom). */
function forceIntoBr1(ws) {
  const info = structuredClone(fixture.breakout_rooms[0]);
  info.members.push({ clientId: DEV, name: 'Dev Patel' });
  ws.deliver({ type: 'connectedBreakoutRoom', result: 0, ...info });
}

test('a drop resumes into the same break-out room, same handle; acks in flight and requests meanwhile reject with "closed"', async () => {
  const { room, ws } = await connected();
  forceIntoBr1(ws);
  const handle = room.breakoutRoom;
  assert.ok(handle && handle.roomId === BR1 && handle.connected);
  const reconnecting = collect(room, 'reconnecting');
  const reconnected = collect(room, 'reconnected');
  const closes = collect(room, 'close');

  const inFlight = room.pause();
  assert.equal((await ws.nextSent()).type, 'pause');
  const n = FakeWebSocket.instances.length;
  ws.drop();
  await assert.rejects(inFlight, (e) => e.code === 'closed');
  const ws2 = await socketAfter(n);
  assert.equal(room.connectionState, 'reconnecting');
  assert.equal(room.closed, false);
  assert.deepEqual(reconnecting, [{ attempt: 1, code: 1006, reason: '' }]);
  await assert.rejects(room.muteRoom(), (e) => e.code === 'closed', 'a request during the drop');

  assert.deepEqual(await ws2.nextSent(), { type: 'connect', id: 0, resume: 'r1.first', versions: [1, 2, 3, 4] });
  ws2.deliver(resumed({ breakout: BR1 }, { invitations: [BR2] }));
  await sleep(0);
  assert.equal(room.connectionState, 'connected');
  assert.equal(reconnected.length, 1);
  assert.equal(reconnected[0].attempts, 1);
  assert.equal(reconnected[0].mediaKept, false);
  assert.equal(reconnected[0].frame.resumed, true);
  assert.deepEqual(closes, []);
  // The picture is the resumed one.
  assert.equal(room.clientId, DEV);
  assert.deepEqual(room.location, { breakout: BR1 });
  assert.equal(room.paused, true);
  assert.equal(room.breakoutRoom, handle, 'the same handle');
  assert.equal(handle.connected, true);
  assert.deepEqual([...room.invitations.keys()], [BR2]);
  assert.deepEqual(room.invitations.get(BR2).requestor, { clientId: ADA, name: 'Ada Lovelace' });

  // Requests go out on the new socket and resolve.
  const p = room.resume();
  const req = await ws2.nextSent();
  assert.deepEqual(req, { type: 'resume', id: 1 });
  ws2.deliver({ type: 'ackResume', id: req.id, result: 0, msg: 'Room resumed' });
  assert.equal((await p).type, 'ackResume');
  assert.equal(room.paused, false);

  // A second drop uses the latest resume token.
  const m = FakeWebSocket.instances.length;
  ws2.drop();
  const ws3 = await socketAfter(m);
  assert.equal((await ws3.nextSent()).resume, 'r1.second');
  ws3.deliver(resumed({ breakout: BR1 }));
  await sleep(0);
  assert.equal(reconnected.length, 2);
  room.disconnect();
  assert.deepEqual(closes, [{ code: 1000, reason: 'client left' }]);
});

test('failed attempts back off and are retried within the window', async () => {
  const { room, ws } = await connected({ reconnectDelayMs: 10, reconnectMaxDelayMs: 40 });
  const reconnecting = collect(room, 'reconnecting');
  const n = FakeWebSocket.instances.length;
  FakeWebSocket.refuseNext = 3;
  const t0 = Date.now();
  ws.drop();
  const ws4 = await socketAfter(n + 3);
  assert.equal(ws4.readyState === 1 || ws4.readyState === 0, true);
  assert.ok(Date.now() - t0 >= 10 + 20 + 40 - 5, 'backoff 10, 20, 40 ms');
  assert.deepEqual(reconnecting.map((r) => r.attempt), [1, 2, 3, 4]);
  const hello = await ws4.nextSent();
  ws4.deliver({ ...resumed('parent'), id: hello.id });
  await room.once('reconnected', { timeoutMs: 10_000 }).catch(() => {});
  assert.equal(room.connectionState, 'connected');
  room.disconnect();
});

test('a refused resume (4108) closes for good with the error', async () => {
  const { room, ws } = await connected();
  const closes = collect(room, 'close');
  const n = FakeWebSocket.instances.length;
  ws.drop();
  const ws2 = await socketAfter(n);
  await ws2.nextSent();
  ws2.deliver({ type: 'error', id: 0, result: 4108, msg: 'Resume failed: the grace period is over, connect again' });
  await until(() => room.connectionState === 'closed', 'closed after 4108');
  assert.equal(room.closed, true);
  assert.equal(closes.length, 1);
  assert.equal(closes[0].code, 1006);
  assert.equal(closes[0].error.result, 4108);
  await sleep(50);
  assert.equal(FakeWebSocket.instances.length, n + 1, 'no further attempt');
  await assert.rejects(room.pause(), (e) => e.code === 'closed');
});

test('no server within the window: closed for good', async () => {
  const { room, ws } = await connected({ reconnectWindowMs: 120, reconnectDelayMs: 10, reconnectMaxDelayMs: 20 });
  FakeWebSocket.refuseNext = 1_000;
  try {
    ws.drop();
    const info = await room.once('close', { timeoutMs: 10_000 });
    assert.equal(info.error.code, 'closed');
    assert.match(info.error.message, /reconnect window/);
    assert.equal(room.connectionState, 'closed');
  } finally {
    FakeWebSocket.refuseNext = 0;
  }
});

test('disconnect(), a server close with a closing handshake, and roomDisconnected do not reconnect', async () => {
  {
    const { room } = await connected();
    const n = FakeWebSocket.instances.length;
    room.disconnect();
    await sleep(20);
    assert.equal(FakeWebSocket.instances.length, n);
    assert.equal(room.connectionState, 'closed');
  }
  for (const code of [1000, 1008, 1009]) {
    const { room, ws } = await connected();
    const n = FakeWebSocket.instances.length;
    const reconnecting = collect(room, 'reconnecting');
    ws.close(code, 'server said so');
    const info = await room.once('close', { timeoutMs: 10_000 });
    assert.equal(info.code, code);
    await sleep(20);
    assert.equal(FakeWebSocket.instances.length, n, `no attempt after ${code}`);
    assert.deepEqual(reconnecting, []);
  }
  {
    const { room, ws } = await connected();
    const n = FakeWebSocket.instances.length;
    ws.deliver({ type: 'roomDisconnected', result: 4107, msg: 'Room ended' });
    ws.drop(); // even without a closing handshake: the room ended
    await room.once('close', { timeoutMs: 10_000 });
    await sleep(20);
    assert.equal(FakeWebSocket.instances.length, n);
  }
  {
    const { room, ws } = await connected({ reconnect: false });
    const n = FakeWebSocket.instances.length;
    ws.drop();
    const info = await room.once('close', { timeoutMs: 10_000 });
    assert.equal(info.code, 1006);
    await sleep(20);
    assert.equal(FakeWebSocket.instances.length, n, 'reconnect: false');
  }
});

test('disconnect() while reconnecting stops the resume', async () => {
  const { room, ws } = await connected({ reconnectDelayMs: 30 });
  const closes = collect(room, 'close');
  FakeWebSocket.refuseNext = 1;
  const n = FakeWebSocket.instances.length;
  ws.drop();
  await socketAfter(n); // the refused first attempt
  assert.equal(room.connectionState, 'reconnecting');
  // Counted at disconnect(): on a slow machine the next attempt (30 ms later) may already be
  // under way, and that is fine; none may start after it.
  const m = FakeWebSocket.instances.length;
  room.disconnect();
  assert.deepEqual(closes, [{ code: 1000, reason: 'client left' }]);
  await sleep(80); // more than the backoff: an attempt would have started by now
  assert.equal(FakeWebSocket.instances.length, m, 'no attempt after disconnect()');
});

test('moved back to the parent while dropped: the break-out handle is disconnected', async () => {
  const { room, ws } = await connected();
  forceIntoBr1(ws);
  const handle = room.breakoutRoom;
  const n = FakeWebSocket.instances.length;
  ws.drop();
  const ws2 = await socketAfter(n);
  await ws2.nextSent();
  ws2.deliver(resumed('parent'));
  await sleep(0);
  assert.equal(room.location, 'parent');
  assert.equal(room.breakoutRoom, null);
  assert.equal(handle.connected, false);
  room.disconnect();
});

// ---------------------------------------------------------------------------------------------
// Media restore with a fake RTCPeerConnection.

class FakePc {
  /** @type {FakePc[]} */
  static all = [];

  constructor(config) {
    this.config = config;
    this.index = FakePc.all.length;
    FakePc.all.push(this);
    this.transceivers = [];
    this.offers = [];
    this.iceRestarts = 0;
    this.closed = false;
    this.signalingState = 'stable';
    this.iceGatheringState = 'complete';
    this.connectionState = 'new';
    this.localDescription = null;
    this.remoteDescription = null;
  }

  addEventListener() {}

  removeEventListener() {}

  addTransceiver(kind, init) {
    const n = this.transceivers.length;
    const t = {
      mid: `${this.index}.${n}`,
      kind: typeof kind === 'string' ? kind : kind.kind,
      direction: init.direction,
      sender: { track: null, replaceTrack: async () => {} },
      receiver: { track: { id: `pc${this.index}-track${n}` } },
    };
    this.transceivers.push(t);
    return t;
  }

  async createOffer(options) {
    this.offers.push(options ?? null);
    return { type: 'offer', sdp: `offer ${this.index}/${this.offers.length}${options?.iceRestart ? ' ice-restart' : ''}` };
  }

  async setLocalDescription(d) {
    if (d.type === 'rollback') {
      this.signalingState = 'stable';
      return;
    }
    this.localDescription = d;
    this.signalingState = 'have-local-offer';
  }

  async setRemoteDescription(d) {
    this.remoteDescription = d;
    this.signalingState = 'stable';
  }

  restartIce() {
    this.iceRestarts += 1;
  }

  close() {
    this.closed = true;
  }
}

/** Answers the next sdpOffer on `ws`; returns it. */
async function answerOffer(ws) {
  const offer = await ws.nextSent();
  assert.equal(offer.type, 'sdpOffer');
  ws.deliver({ type: 'sdpAnswer', id: offer.id, result: 0, msg: 'Success', sdp: `answer to ${offer.sdp}` });
  return offer;
}

test('media after a resume: an ICE restart on the kept peer connection, else a new one with the same layout', async () => {
  const { room, ws } = await connected({
    media: true, RTCPeerConnection: /** @type {any} */ (FakePc), audio: false, audioContainer: null,
  });
  const first = await answerOffer(ws);
  await room.startMedia();
  const pc = room.peerConnection;
  assert.ok(pc instanceof FakePc);
  assert.equal(first.mids.audio_slots.length, 6);
  assert.equal(room.media.state.state, 'connected');
  const track0 = room.slotTrack(0);

  // Dropped, the server kept the peer connection: ICE restart, same transceivers.
  let n = FakeWebSocket.instances.length;
  ws.drop();
  let ws2 = await socketAfter(n);
  await ws2.nextSent();
  ws2.deliver(resumed('parent', { media_kept: true }));
  const again = await answerOffer(ws2);
  assert.equal(pc.iceRestarts, 1, 'pc.restartIce()');
  assert.deepEqual(pc.offers.at(-1), { iceRestart: true });
  assert.match(again.sdp, /ice-restart/);
  assert.deepEqual(again.mids, first.mids, 'same m-line layout');
  await room.once('mediastatechange', { filter: (s) => s.state === 'connected', timeoutMs: 10_000 });
  assert.equal(room.peerConnection, pc, 'the same peer connection');
  assert.equal(room.slotTrack(0), track0);
  assert.equal(room.media.state.restarts, 1);
  assert.equal(room.media.state.lastRestore, 'ice-restart');
  assert.equal(pc.remoteDescription.sdp, `answer to ${again.sdp}`);

  // Dropped again, the server restarted (no media kept): a new peer connection.
  n = FakeWebSocket.instances.length;
  ws2.drop();
  const ws3 = await socketAfter(n);
  await ws3.nextSent();
  ws3.deliver(resumed('parent', { media_kept: false }));
  const fresh = await answerOffer(ws3);
  await room.once('mediastatechange', { filter: (s) => s.state === 'connected', timeoutMs: 10_000 });
  const pc2 = room.peerConnection;
  assert.notEqual(pc2, pc);
  assert.equal(pc.closed, true, 'the old peer connection is closed');
  assert.equal(pc2.iceRestarts, 0);
  assert.deepEqual(pc2.transceivers.map((t) => [t.kind, t.direction]), pc.transceivers.map((t) => [t.kind, t.direction]), 'same layout');
  assert.equal(fresh.mids.audio_slots.length, 6);
  assert.notDeepEqual(fresh.mids, first.mids, 'the new transceivers');
  assert.equal(room.slotTrack(0), pc2.transceivers[3].receiver.track, 'slotTrack(i) is the new slot track');
  assert.equal(room.media.state.restarts, 2);
  assert.equal(room.media.state.lastRestore, 'new-peer-connection');
  room.disconnect();
  assert.equal(pc2.closed, true);
  assert.equal(room.media.state.state, 'closed');
});

test('a restore cut off by another drop is done by the next resume', async () => {
  const { room, ws } = await connected({
    media: true, RTCPeerConnection: /** @type {any} */ (FakePc), audio: false, audioContainer: null,
  });
  await answerOffer(ws);
  await room.startMedia();
  const pc = room.peerConnection;
  let n = FakeWebSocket.instances.length;
  ws.drop();
  const ws2 = await socketAfter(n);
  await ws2.nextSent();
  ws2.deliver(resumed('parent', { media_kept: true }));
  const cut = await ws2.nextSent(); // the ICE-restart offer; no answer: the connection drops
  assert.equal(cut.type, 'sdpOffer');
  n = FakeWebSocket.instances.length;
  ws2.drop();
  const ws3 = await socketAfter(n);
  await ws3.nextSent();
  await sleep(5);
  assert.equal(room.media.state.state, 'restoring', 'not failed: waiting for the resume');
  ws3.deliver(resumed('parent', { media_kept: true }));
  await answerOffer(ws3);
  await room.once('mediastatechange', { filter: (s) => s.state === 'connected', timeoutMs: 10_000 });
  assert.equal(room.peerConnection, pc);
  assert.equal(pc.iceRestarts, 2);
  assert.equal(room.media.state.restarts, 1);
  room.disconnect();
});
