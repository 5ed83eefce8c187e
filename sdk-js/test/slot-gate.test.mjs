// The slot gate of media.js, as a state machine: which slot tracks are enabled when, driven by
// the frames a real server sends (fixtures) and by what the receivers report as played out
// (`getSynchronizationSources`). A fake RTCPeerConnection stands in for the browser here; the
// real-browser effect is measured by tests/browser (old room silent within ~a frame of the ack).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from '../src/alcove.js';
import { FakeWebSocket } from '../test-support/fake-socket.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name) => JSON.parse(readFileSync(`${repo}crates/proto/fixtures/server.${name}.json`, 'utf8'));
const connected = fixture('roomConnected');
const PARENT = connected.room.room_id;
const ADA = connected.users[0].clientId; // in the parent
const BEN = connected.users[1].clientId; // in BR1
const BR1 = connected.breakout_rooms[0].room_id;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A receiver whose played-out frame the test sets: RTP time advancing 48 per ms while playing. */
class FakeReceiver {
  constructor(n) {
    this.track = { id: `track${n}`, enabled: true };
    this.playing = null; // {rtp0, t0, level}
  }
  play(rtp, level = 0.3) {
    this.playing = { rtp0: rtp, t0: performance.now(), level };
  }
  stop() {
    if (this.playing) this.playing = { ...this.playing, stoppedAt: performance.now() };
  }
  /** The RTP time being played now. */
  rtpNow() {
    const p = this.playing;
    const end = p.stoppedAt ?? performance.now();
    return (p.rtp0 + Math.round(48 * (end - p.t0))) >>> 0;
  }
  getSynchronizationSources() {
    const p = this.playing;
    if (!p) return [];
    const ts = p.stoppedAt ?? performance.now();
    return [{ source: 1, timestamp: ts, rtpTimestamp: this.rtpNow(), audioLevel: p.level }];
  }
  async getStats() {
    return new Map(); // no jitter-buffer stats yet: the gate assumes 150 ms
  }
}

class FakePc {
  constructor() {
    this.transceivers = [];
    this.signalingState = 'stable';
    this.iceGatheringState = 'complete';
    this.connectionState = 'new';
    this.localDescription = null;
  }
  addEventListener() {}
  removeEventListener() {}
  addTransceiver(kind, init) {
    const n = this.transceivers.length;
    const t = { mid: String(n), direction: init.direction, sender: { track: null, replaceTrack: async () => {} }, receiver: new FakeReceiver(n) };
    this.transceivers.push(t);
    return t;
  }
  async createOffer() { return { type: 'offer', sdp: 'offer' }; }
  async setLocalDescription(d) { this.localDescription = d; }
  async setRemoteDescription() {}
  close() {}
}

async function start(options = {}) {
  const n = FakeWebSocket.instances.length;
  const p = connect('ws://fake/v1/signal', 'tok', {
    WebSocket: /** @type {any} */ (FakeWebSocket), RTCPeerConnection: /** @type {any} */ (FakePc),
    audio: false, audioContainer: null, ...options,
  });
  let ws;
  while (!(ws = FakeWebSocket.instances[n])) await sleep(2);
  await ws.nextSent();
  ws.deliver({ ...connected, id: 0 });
  const room = await p;
  const offer = await ws.nextSent();
  ws.deliver({ type: 'sdpAnswer', id: offer.id, result: 0, msg: 'Success', sdp: 'answer' });
  await room.startMedia();
  const audible = [];
  room.on('slotAudible', (d) => audible.push(d));
  const rx = (i) => room.media.slotTransceivers[i].receiver;
  const talkers = (roomId, list) => ws.deliver({ type: 'activeTalkersUpdated', room_id: roomId, talkers: list.map(([slot, clientId]) => ({ slot, clientId, name: clientId })) });
  return { room, ws, rx, audible, talkers };
}

/** Waits until `fn()` is true (at most `ms`). */
async function until(fn, ms = 1000) {
  const end = performance.now() + ms;
  while (!fn() && performance.now() < end) await sleep(5);
  return fn();
}

test('slots play only while the map names a talker; a move silences them at the ack and until the old buffer has played out', async () => {
  const { room, ws, rx, audible, talkers } = await start();
  const enabled = () => room.media.slotTransceivers.map((t) => t.receiver.track.enabled);
  assert.deepEqual(enabled(), [false, false, false, false, false, false], 'no talker, no playback');

  // Ada speaks in the parent, in slot 0: it plays at once (nothing was buffered before).
  talkers(PARENT, [[0, ADA]]);
  rx(0).play(10_000);
  assert.ok(await until(() => enabled()[0]), 'slot 0 opens');
  assert.ok(await until(() => audible.length === 1));
  assert.deepEqual({ ...audible[0], ms: 0 }, { slot: 0, clientId: ADA, roomId: PARENT, ms: 0 });
  await sleep(60);

  // Forced into BR1: the ack silences slot 0 synchronously, while its buffer still plays Ada.
  ws.deliver({ ...fixture('connectedBreakoutRoom'), id: undefined, room_id: BR1 });
  assert.equal(enabled()[0], false, 'silenced in the same task as the ack');
  const closedAt = performance.now();
  const boundary = rx(0).rtpNow() + 48 * (150 + 20);
  talkers(BR1, [[0, BEN]]);
  // Ada's buffered audio keeps playing (the RTP time advances): the slot stays silent ...
  await sleep(100);
  assert.equal(enabled()[0], false, 'still the old buffer');
  assert.equal(audible.length, 1);
  // ... until the played RTP time passes the estimate: then it is Ben's audio, heard.
  assert.ok(await until(() => enabled()[0], 500), 'opens once the old buffer played out');
  const openedAfter = performance.now() - closedAt;
  assert.ok(((rx(0).rtpNow() - boundary) >>> 0) < 0x80000000, 'not before the boundary');
  assert.ok(openedAfter >= 160 && openedAfter < 300, `opened after ${openedAfter} ms`);
  assert.ok(await until(() => audible.length === 2));
  assert.equal(audible[1].clientId, BEN);
  assert.equal(audible[1].roomId, BR1);
  assert.ok(audible[1].ms >= 160, 'counted from the ack');

  // A map that takes Ben's slot away silences it at once.
  talkers(BR1, []);
  assert.equal(enabled()[0], false);
  room.disconnect();
});

test('a slot whose buffer ran dry opens at once; the same talker across a move plays on; slotGate: false never gates', async () => {
  const { room, ws, rx, talkers } = await start();
  const en = (i) => room.media.slotTransceivers[i].receiver.track.enabled;
  talkers(PARENT, [[0, ADA], [1, BEN]]);
  rx(0).play(1000);
  rx(1).play(5000);
  assert.ok(await until(() => en(0) && en(1)));
  // Slot 1 goes to someone else, but its buffer is already empty (nothing played for 100 ms).
  rx(1).stop();
  await sleep(100);
  talkers(PARENT, [[0, ADA], [1, 'c-someone-else']]);
  assert.ok(await until(() => en(1), 50), 'opens without waiting for an estimate');
  // A move where Ada stays on slot 0 (a resumed BR member still hears the parent).
  ws.deliver({ ...fixture('connectedBreakoutRoom'), id: undefined, room_id: BR1 });
  assert.equal(en(0), false);
  talkers(BR1, [[0, ADA]]);
  assert.ok(await until(() => en(0), 50), 'the same talker plays on at once');
  room.disconnect();

  const off = await start({ slotGate: false });
  const en2 = (i) => off.room.media.slotTransceivers[i].receiver.track.enabled;
  assert.ok([0, 1, 2, 3, 4, 5].every(en2), 'every slot plays');
  off.talkers(PARENT, [[0, ADA]]);
  off.ws.deliver({ ...fixture('connectedBreakoutRoom'), id: undefined, room_id: BR1 });
  assert.ok(en2(0), 'not gated');
  off.room.disconnect();
});
