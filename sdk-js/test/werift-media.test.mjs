// Media without a browser: the SDK with a real WebRTC stack from npm (werift, injected through
// the React Native entry's `webrtc` option, as react-native-webrtc is in an app) against the
// real server with its media plane. Ada (440 Hz) stays in the parent; Cleo (660 Hz) is in a
// break-out room; Ben listens. Ben hears Ada's tone, then, forced into Cleo's room, Cleo's
// and not Ada's, then, back in the parent, Ada's again — each time from the slot the server's
// slot map gives the room-mate, recognised by its decoded tone.
//
// npm run test:portable runs it again under test-support/no-dom.mjs (React Native's globals;
// Node's `Event` kept for werift's own use): the media path of the core needs no DOM either.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { MediaStream } from 'werift';
import { connect } from '../src/platform/react-native.js';
import { startServer } from '../test-support/server.mjs';
import { NodePeerConnection, listen, toneMicrophone, toneShare } from '../test-support/werift.mjs';

const DEADLINE_MS = 15_000;
/** The collection window per phase (decoded audio, 50 Opus frames). */
const WINDOW_MS = 1000;

let server;
const cleanup = [];

before(async (t) => {
  server = await startServer({ media: true, diagnostic: (m) => t.diagnostic(m) });
});

after(() => {
  for (const f of cleanup.reverse()) f();
  server?.stop();
});

/** Resolves once `pred()` holds, checked on every event `name` of `room` (and now). */
function until(room, name, pred, what) {
  if (pred()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no ${what} within ${DEADLINE_MS} ms`)); }, DEADLINE_MS);
    const off = room.on(name, () => {
      if (!pred()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

test('werift under Node hears its room-mate through a break-out move and back', async (t) => {
  const { room: parent } = await server.rest('POST', '/v1/rooms', {
    name: 'node media', owner_ref: 'sdk-js', settings: { mode: 'group', max_active_talkers: 3 },
  });
  const token = async (name, role) => (await server.rest('POST', `/v1/rooms/${parent.room_id}/tokens`, { name, role, user_ref: name })).token;

  const mia = await connect(server.signalUrl, await token('Mia', 'moderator'), { WebSocket, media: false });
  cleanup.push(() => mia.disconnect());
  /** A client on werift; `hz`: the tone its microphone plays (null: no microphone). */
  const client = async (name, hz) => {
    const mic = hz ? toneMicrophone(hz) : null;
    const room = await connect(server.signalUrl, await token(name, 'participant'), {
      WebSocket,
      webrtc: { RTCPeerConnection: NodePeerConnection, mediaDevices: mic?.mediaDevices ?? { getUserMedia: () => Promise.reject(new Error('no mic')) }, MediaStream },
      audio: hz !== null,
      iceGatheringTimeoutMs: 300,
    });
    cleanup.push(() => { mic?.stop(); room.disconnect(); });
    await room.startMedia();
    assert.equal(room.media.state.state, 'connected', `${name}: media negotiated`);
    mic?.start(room.peerConnection);
    return { room, mic, id: room.clientId };
  };
  const ada = await client('Ada', 440);
  const cleo = await client('Cleo', 660);
  const ben = await client('Ben', null);
  const ear = listen(ben.room.media);
  cleanup.push(() => ear.close());
  assert.equal(ben.room.media.slotTransceivers.length, 3);

  // Cleo goes into a break-out room (forced); Ada and Ben stay in the parent.
  const created = await mia.createBreakOutRoom({ participants: 2, audio: true, video: false, canvas: false, share: false, max_rooms: 1 });
  const [br] = created.msg.rooms;
  const cleoIn = cleo.room.once('connectedBreakoutRoom', { timeoutMs: DEADLINE_MS });
  await mia.inviteToBreakOutRoom({ clients: [cleo.id], room_id: br, force_join: true });
  await cleoIn;

  /** Ben's slot of `who`, once his slot map (for `roomId`) names `who` and not `other`. */
  const slotOf = async (who, other, roomId, what) => {
    const find = (id) => [...ben.room.talkers].find(([, u]) => u.clientId === id)?.[0];
    await until(ben.room, 'activeTalkersUpdated', () => ben.room.talkersRoomId === roomId && find(who.id) !== undefined && find(other.id) === undefined, what);
    return /** @type {number} */ (find(who.id));
  };
  /** Decoded audio per slot over the window (after 200 ms for what was in flight). */
  const hear = async () => {
    await ear.take(200);
    return ear.take(WINDOW_MS);
  };
  const check = (got, slot, hz, otherHz, what) => {
    const mine = got.get(slot);
    assert.ok(mine && mine.packets >= 20, `${what}: packets on slot ${slot}: ${mine?.packets ?? 0}`);
    const share = toneShare(mine.pcm, hz);
    t.diagnostic(`${what}: slot ${slot}, ${mine.packets} packets, ${hz} Hz share ${share.toFixed(2)}`);
    assert.ok(share > 0.5, `${what}: ${hz} Hz on slot ${slot} (share ${share.toFixed(3)})`);
    for (const [s, e] of got) {
      const leak = toneShare(e.pcm, otherHz);
      assert.ok(leak < 0.1, `${what}: no ${otherHz} Hz anywhere (slot ${s}: share ${leak.toFixed(3)})`);
    }
  };

  // 1. In the parent: Ada, never Cleo.
  const parentId = ben.room.roomId;
  let slot = await slotOf(ada, cleo, parentId, 'Ada in Ben\'s slot map (parent)');
  check(await hear(), slot, 440, 660, 'parent');

  // 2. Forced into Cleo's room: Cleo, not Ada (the parent is paused).
  const benIn = ben.room.once('connectedBreakoutRoom', { timeoutMs: DEADLINE_MS });
  await mia.inviteToBreakOutRoom({ clients: [ben.id], room_id: br, force_join: true });
  await benIn;
  slot = await slotOf(cleo, ada, br, 'Cleo in Ben\'s slot map (break-out room)');
  check(await hear(), slot, 660, 440, 'break-out room');

  // 3. Back in the parent: Ada again, not Cleo.
  await ben.room.breakoutRoom.disconnect();
  slot = await slotOf(ada, cleo, parentId, 'Ada in Ben\'s slot map (back in the parent)');
  check(await hear(), slot, 440, 660, 'back in the parent');
  assert.ok(ada.mic.frames > 0 && cleo.mic.frames > 0);
});
