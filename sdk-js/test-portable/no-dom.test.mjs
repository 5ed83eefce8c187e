// The SDK where there is no DOM: run under test-support/no-dom.mjs (npm run test:portable),
// which removes EventTarget, CustomEvent, structuredClone, window, document, … and gives `URL`
// React Native's shape (no `protocol`), as React Native's JavaScript environment has it.
// test:portable also runs the lifecycle (server.test.mjs), facilitation and resume tests under
// the same preload; this file checks what is specific to such a platform: both entries import,
// the emitter, URL handling, and a break-out flow through the React Native entry with the
// platform's global WebSocket and no WebRTC, against the real server.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from '../test-support/server.mjs';

let server;

before(async (t) => {
  assert.equal(globalThis.__alcoveNoDom, true, 'run me with --import ./test-support/no-dom.mjs (npm run test:portable)');
  server = await startServer({ media: false, diagnostic: (m) => t.diagnostic(m) });
});

after(() => server?.stop());

const DEADLINE_MS = 15_000;

test('no browser global is left, and both entries import', async () => {
  for (const name of ['EventTarget', 'CustomEvent', 'Event', 'structuredClone', 'window', 'document', 'RTCPeerConnection', 'MediaStream']) {
    assert.equal(typeof globalThis[name], 'undefined', name);
  }
  assert.throws(() => new URL('ws://h:1/v1/signal').protocol, /not implemented/);
  const main = await import('../src/alcove.js');
  const rn = await import('../src/platform/react-native.js');
  assert.equal(typeof main.connect, 'function');
  assert.equal(rn.Room, main.Room, 'one core behind both entries');
  assert.equal(main.toWebSocketUrl('http://127.0.0.1:7880'), 'ws://127.0.0.1:7880/v1/signal');
  assert.equal(main.toWebSocketUrl('HTTPS://Alcove.Example.com/'), 'wss://alcove.example.com/v1/signal');
  assert.equal(main.toWebSocketUrl('wss://a.example/x/v1/signal?t=1'), 'wss://a.example/x/v1/signal?t=1');
  // The main entry's browser layer is inert without a document.
  assert.equal(main.browserAudioOutput({}), null);
  const copy = main.clone({ a: [1, { b: 'c' }], m: new Map([['k', { v: 1 }]]) });
  assert.deepEqual(copy, { a: [1, { b: 'c' }], m: new Map([['k', { v: 1 }]]) });
});

test('the React Native options: webrtc first, else the globals registerGlobals() installs; no audio output', async () => {
  const { reactNativeOptions } = await import('../src/platform/react-native.js');
  class Pc {}
  class Stream {}
  const devices = { getUserMedia: async () => new Stream() };
  const fromModule = reactNativeOptions({ webrtc: { RTCPeerConnection: Pc, mediaDevices: devices, MediaStream: Stream }, timeoutMs: 5 });
  assert.equal(fromModule.RTCPeerConnection, Pc);
  assert.equal(fromModule.mediaDevices, devices);
  assert.equal(fromModule.MediaStream, Stream);
  assert.equal(fromModule.audioOutput, null);
  assert.equal(fromModule.timeoutMs, 5);
  assert.equal('webrtc' in fromModule, false);
  // registerGlobals(): RTCPeerConnection, MediaStream and navigator.mediaDevices are globals.
  globalThis.RTCPeerConnection = Pc;
  globalThis.MediaStream = Stream;
  globalThis.navigator.mediaDevices = devices;
  try {
    const fromGlobals = reactNativeOptions();
    assert.equal(fromGlobals.RTCPeerConnection, Pc);
    assert.equal(fromGlobals.mediaDevices, devices);
    assert.equal(fromGlobals.MediaStream, Stream);
  } finally {
    delete globalThis.RTCPeerConnection;
    delete globalThis.MediaStream;
    delete globalThis.navigator.mediaDevices;
  }
});

test('the emitter: addEventListener / on / once, in order; a throwing listener stops nobody', async () => {
  const { Emitter } = await import('../src/alcove.js');
  const e = new Emitter();
  const seen = [];
  const byEvent = (ev) => seen.push(['event', ev.type, ev.detail, ev.target === e]);
  e.addEventListener('x', byEvent);
  e.addEventListener('x', byEvent); // twice: once
  const off = e.on('x', (d) => seen.push(['on', d]));
  e.addEventListener('x', { handleEvent: (ev) => seen.push(['object', ev.detail]) }, { once: true });
  const next = e.once('x');
  e.emit('x', 1);
  e.emit('x', 2);
  assert.equal(await next, 1);
  assert.deepEqual(seen, [['event', 'x', 1, true], ['on', 1], ['object', 1], ['event', 'x', 2, true], ['on', 2]]);
  off();
  e.removeEventListener('x', byEvent);
  e.emit('x', 3);
  assert.equal(seen.length, 5);

  // The error goes to the platform's reportError (where there is none: thrown from a fresh
  // task, an uncaught exception), after the dispatch.
  const reported = [];
  globalThis.reportError = (err) => reported.push(err);
  try {
    let second = false;
    e.on('y', () => { throw new Error('listener bug'); });
    e.on('y', () => { second = true; });
    e.emit('y', null);
    assert.equal(second, true);
    assert.deepEqual(reported.map((err) => err.message), ['listener bug']);
  } finally {
    delete globalThis.reportError;
  }
});

test('a break-out flow through the React Native entry: global WebSocket, no WebRTC', async () => {
  const { connect } = await import('../src/platform/react-native.js');
  const { room: parent } = await server.rest('POST', '/v1/rooms', {
    name: 'react native', owner_ref: 'sdk-js', settings: { mode: 'group', max_active_talkers: 4 },
  });
  const token = async (name, role) => (await server.rest('POST', `/v1/rooms/${parent.room_id}/tokens`, { name, role, user_ref: name })).token;
  // No WebSocket option: the platform's global (React Native has one). No RTCPeerConnection:
  // media stays off, signalling works.
  const mod = await connect(server.signalUrl, await token('Mia', 'moderator'));
  const ana = await connect(server.signalUrl.replace('ws://', 'http://'), await token('Ana', 'participant'));
  assert.equal(mod.media.enabled, false);
  assert.equal(ana.media.state.state, 'idle');
  assert.equal(ana.connectionState, 'connected');
  assert.equal(ana.users.size, 2);

  // Invitation, seen through addEventListener (e.detail) and the room list.
  const invited = new Promise((resolve) => ana.addEventListener('invitationForBreakoutRoom', (e) => resolve(e.detail), { once: true }));
  const created = await mod.createBreakOutRoom({ participants: 2, audio: true, video: false, canvas: false, share: false, max_rooms: 1 });
  const [br] = created.msg.rooms;
  await mod.inviteToBreakOutRoom({ clients: [ana.clientId], room_id: br, force_join: false });
  const inv = await invited;
  assert.equal(inv.room_id, br);
  assert.equal(ana.invitations.has(br), true);
  assert.equal(ana.roomList.get(br)?.name, 'Breakout 1');

  // Join; the moderator sees the move; the handle re-dispatches its room's frames.
  const moved = mod.once('userMoved', { filter: (f) => f.clientId === ana.clientId, timeoutMs: DEADLINE_MS });
  const handle = await ana.joinBreakoutRoom({ role: 'participant', room_id: br }, { audio: true, video: false });
  assert.equal(handle.connected, true);
  assert.deepEqual(ana.location, { breakout: br });
  assert.equal(ana.paused, true);
  assert.deepEqual((await moved).location, { breakout: br });
  // The room's state is a copy of the frame, not the frame (clone, not structuredClone).
  handle.joinAck.members.push({ clientId: 'x', name: 'x' });
  assert.deepEqual(ana.breakoutRooms.get(br).members, [{ clientId: ana.clientId, name: 'Ana' }]);

  // Leave, destroy, disconnect.
  const left = new Promise((resolve) => handle.addEventListener('didDisconnectedBreakoutRoom', (e) => resolve(e.detail)));
  await handle.disconnect();
  assert.equal((await left).room_id, br);
  assert.equal(ana.location, 'parent');
  assert.equal(ana.paused, false);
  const again = await mod.createBreakOutRoom({ participants: 2, audio: true, video: false, canvas: false, share: false, max_rooms: 1 });
  const forced = ana.once('connectedBreakoutRoom', { timeoutMs: DEADLINE_MS });
  await mod.inviteToBreakOutRoom({ clients: [ana.clientId], room_id: again.msg.rooms[0], force_join: true });
  await forced;
  const back = ana.once('didDisconnectedBreakoutRoom', { timeoutMs: DEADLINE_MS });
  const destroyed = await mod.destroyAllBreakOutSession();
  assert.deepEqual(destroyed.msg.rooms, again.msg.rooms);
  assert.equal((await back).reason, 'destroyed');
  assert.equal(ana.location, 'parent');
  const gone = mod.once('userDisconnected', { timeoutMs: DEADLINE_MS });
  const closed = new Promise((resolve) => ana.addEventListener('close', (e) => resolve(e.detail)));
  ana.disconnect();
  assert.equal((await closed).code, 1000);
  assert.equal((await gone).clientId, ana.clientId);
  mod.disconnect();
});
