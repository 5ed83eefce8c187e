// The vendor facade (compat/enablex.js, bundled by scripts/build-enablex.mjs into EnxRtc.js) in
// headless Chromium against the real server: three pages written the way the vendor's Web SDK
// apps are (a classic `<script src=".../EnxRtc.js">`, `EnxRtc.joinRoom(token, config,
// callback)`, `room.addEventListener("kebab-case-name", e => e.message)`, callback acks), served
// by the Alcove server itself (`--web-dir`), so two of them find the signalling URL from the
// page's origin and one from `config.signal_url`. The moderator and two participants run every
// vendor break-out call; each page records the vendor events it receives and the test asserts
// their names and payload shapes, the callbacks' shapes, and the error objects of an
// unsupported call and of refused calls.
//
// Needs Chromium: $CHROME_PATH, or chromium / chromium-browser / google-chrome. Skipped
// without one. Run with `npm run test:browser` (or `node --test test-browser/enablex.test.mjs`).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startServer } from '../test-support/server.mjs';

const sdk = fileURLToPath(new URL('../', import.meta.url));
const candidates = [process.env.CHROME_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']
  .filter((p) => p && existsSync(p));
const chrome = candidates[0];

// A vendor-style app page: joins with the token from its URL, keeps the room in `app.room`,
// listens to the vendor's events on the parent room and on every break-out room object it
// gets (from the join callback, as the vendor's sample does, or from `breakout-room-connected`
// on a forced join), and records them as JSON (`window.events`).
// (The server's Content-Security-Policy allows scripts from its own origin only, so the app's
// script is a file next to the page.)
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>vendor app</title><link rel="icon" href="data:,">
<script src="/sdk/EnxRtc.js"></script>
</head><body>
<script src="enablex-app.js"></script>
</body></html>`;

const APP = `
  var PARENT_EVENTS = ['room-connected', 'room-disconnected', 'room-error', 'user-connected', 'user-disconnected',
    'breakout-room-created', 'breakout-room-invited', 'breakout-invite-rejected', 'join-breakout-room',
    'breakout-room-joining', 'breakout-room-connected', 'breakout-room-error', 'user-joined-breakout-room',
    'user-disconnected-breakout-room', 'breakout-room-disconnect', 'breakout-room-disconnected',
    'breakout-room-destroyed', 'share-started', 'share-stopped', 'network-disconnected', 'network-reconnected'];
  var BR_EVENTS = ['room-connected', 'room-disconnected', 'user-connected', 'user-disconnected', 'active-talkers-updated'];
  var params = new URLSearchParams(location.search);
  window.events = [];
  window.app = { room: null, br: null, joined: null };
  // JSON of what an app sees: room and stream objects become markers.
  window.ser = function (v) {
    return JSON.parse(JSON.stringify(v === undefined ? null : v, function (k, x) {
      if (x && typeof x === 'object' && typeof x.disconnect === 'function' && 'isBreakOutRoom' in x) return { $room: x.roomID, br: x.isBreakOutRoom };
      if (x && typeof x === 'object' && typeof x.getID === 'function') return { $stream: x.getID(), local: x.local };
      return x;
    }));
  };
  function record(where, room, names) {
    names.forEach(function (n) {
      room.addEventListener(n, function (event, message) {
        events.push({ where: where, type: event.type, message: ser(event.message), clientId: event.clientId, same: message === event.message });
      });
    });
  }
  window.watchBreakout = function (br) {
    app.br = br;
    record('br:' + br.roomID, br, BR_EVENTS);
  };
  // Calls room[method](...args, callback) and resolves with the callback's arguments.
  window.call = function (target, method) {
    var args = Array.prototype.slice.call(arguments, 2);
    return new Promise(function (resolve) {
      args.push(function () { resolve(ser(Array.prototype.slice.call(arguments))); });
      var r = target === 'br' ? app.br : app.room;
      r[method].apply(r, args);
    });
  };
  var config = { audio: true, video: false, data: true, attributes: { name: params.get('name') } };
  if (params.get('signal_url')) config.signal_url = params.get('signal_url');
  window.localStream = EnxRtc.joinRoom(params.get('token'), config, function (success, error) {
    app.joined = ser([success, error]);
    if (!success) return;
    app.room = success.room;
    record('parent', app.room, PARENT_EVENTS);
    app.room.addEventListener('breakout-room-connected', function (event) { watchBreakout(event.message.room); });
  });
`;

let server;
let browser;
let web;
const problems = [];

before(async (t) => {
  if (!chrome) return;
  // The classic script, built as a user builds it (into dist/), then served by the server
  // with the page: --web-dir serves DIR/demo/ at /demo/ and DIR/sdk-js/src/ at /sdk/.
  execFileSync(process.execPath, [join(sdk, 'scripts/build-enablex.mjs')], { cwd: sdk });
  web = mkdtempSync(join(tmpdir(), 'alcove-enx-'));
  mkdirSync(join(web, 'demo'));
  mkdirSync(join(web, 'sdk-js/src'), { recursive: true });
  copyFileSync(join(sdk, 'dist/EnxRtc.js'), join(web, 'sdk-js/src/EnxRtc.js'));
  writeFileSync(join(web, 'demo/enablex.html'), PAGE);
  writeFileSync(join(web, 'demo/enablex-app.js'), APP);
  const { default: puppeteer } = await import('puppeteer-core');
  server = await startServer({ media: true, args: ['--web-dir', web], diagnostic: (m) => t.diagnostic(m) });
  browser = await puppeteer.launch({
    executablePath: chrome,
    headless: true,
    args: [
      '--no-sandbox',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      '--auto-select-desktop-capture-source=Entire screen',
    ],
  });
});

after(async () => {
  await browser?.close();
  server?.stop();
  if (web) rmSync(web, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (or throws after `ms`). */
async function until(what, fn, ms = 10_000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

async function token(roomId, name, role) {
  return (await server.rest('POST', `/v1/rooms/${roomId}/tokens`, { name, role, user_ref: `u-${name}` })).token;
}

/**
 * Opens the vendor app page for a new user; resolves once its joinRoom callback ran.
 * `extra`: more query parameters (`signal_url`); `base`: where the page is served (default the
 * Alcove server).
 */
async function open(roomId, name, role, extra = {}, base = server.base) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => problems.push(`[${name}] page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`[${name}] console error: ${m.text()}`);
  });
  const tok = await token(roomId, name, role);
  const q = new URLSearchParams({ token: tok, name, ...extra });
  await page.goto(`${base}/demo/enablex.html?${q}`);
  const [success, error] = await until(`${name} to join`, () => page.evaluate(() => window.app.joined));
  assert.equal(error, null, `${name}: joinRoom error ${JSON.stringify(error)}`);
  const clientId = await page.evaluate(() => window.app.room.clientId);
  return { page, name, clientId, token: tok, success };
}

/** The events `p` recorded (optionally only `type`, only where). */
const events = (p, type, where) => p.page.evaluate((t, w) => window.events.filter((e) => (!t || e.type === t) && (!w || e.where === w)), type, where);

/** Waits for the `n`-th event `type` at `p` (matching `filter`) and returns it. */
async function event(p, type, { where, filter = () => true, n = 1 } = {}) {
  return until(`${p.name}: ${type}${where ? ` on ${where}` : ''}`, async () => {
    const got = (await events(p, type, where)).filter(filter);
    return got.length >= n ? got[n - 1] : null;
  });
}

const call = (p, method, ...args) => p.page.evaluate((m, a) => window.call('room', m, ...a), method, args);
const callBr = (p, method, ...args) => p.page.evaluate((m, a) => window.call('br', m, ...a), method, args);
/** The user as another client's Alcove state sees it (muted / paused / location). */
const seenBy = (p, clientId) => p.page.evaluate((c) => {
  const u = window.app.room.alcove.users.get(c);
  return u && { muted: u.muted, paused: u.paused, location: u.location };
}, clientId);

test('vendor break-out flow through EnxRtc.js in Chromium', { skip: !chrome && 'no Chromium found', timeout: 60_000 }, async () => {
  const { room } = await server.rest('POST', '/v1/rooms', {
    name: 'Vendor class', owner_ref: 'enx', settings: { mode: 'group', max_active_talkers: 6 },
  });
  const parentId = room.room_id;
  const ada = await open(parentId, 'Ada', 'moderator');
  const ben = await open(parentId, 'Ben', 'participant');
  // Chiara's page is given the URL, the way the token response hands it out (`signal_url`).
  const chiara = await open(parentId, 'Chiara', 'participant', { signal_url: server.signalUrl });

  // joinRoom: the callback's success object, then room-connected on the room, and the local
  // stream joinRoom returned.
  assert.deepEqual(Object.keys(ada.success).sort(), ['localBreakoutStream', 'localStream', 'publishId', 'room', 'roomData', 'streams']);
  assert.deepEqual(ada.success.room, { $room: parentId, br: false });
  assert.equal(ada.success.roomData.room.room_id, parentId);
  assert.equal(ada.success.roomData.me.name, 'Ada');
  assert.equal(ada.success.roomData.me.role, 'moderator');
  const connected = await event(ada, 'room-connected', { where: 'parent' });
  assert.equal(connected.message.room.room_id, parentId);
  assert.equal(connected.message.clientId, ada.clientId);
  assert.ok(connected.same, 'listeners get (event, event.message)');
  assert.deepEqual(await ada.page.evaluate(() => ({ local: window.localStream.local, audio: window.localStream.ifAudio(), id: window.localStream.getID() })), { local: true, audio: true, id: ada.success.publishId });
  // user-connected: the user JSON, also at the top of the event (vendor apps read event.clientId).
  const benJoined = await event(ada, 'user-connected', { filter: (e) => e.message.clientId === ben.clientId });
  assert.equal(benJoined.clientId, ben.clientId);
  assert.equal(benJoined.message.name, 'Ben');
  assert.equal(benJoined.message.role, 'participant');
  await event(ada, 'user-connected', { filter: (e) => e.message.clientId === chiara.clientId });
  assert.deepEqual((await ada.page.evaluate(() => [...window.app.room.userList.keys()])).sort(), [ada.clientId, ben.clientId, chiara.clientId].sort());

  // A reused token: the joinRoom callback gets (null, error) with the vendor's error shape.
  const reused = await ada.page.evaluate((t) => new Promise((r) => window.EnxRtc.joinRoom(t, {}, (s, e) => r(window.ser([s, e])))), ben.token);
  assert.equal(reused[0], null);
  assert.equal(reused[1].result, 4103);
  assert.equal(reused[1].error, 'Token already used');
  assert.equal(typeof reused[1].desc, 'string');

  // createBreakOutRoom without max_rooms: one room. Moderators get breakout-room-created.
  const def = { participants: 2, audio: true, video: false, canvas: false, share: false };
  const [created] = await call(ada, 'createBreakOutRoom', def);
  assert.equal(created.result, 0);
  assert.equal(created.msg.rooms.length, 1);
  const br1 = created.msg.rooms[0];
  const createdEv = await event(ada, 'breakout-room-created');
  assert.equal(createdEv.message.room_id, br1);
  assert.equal(createdEv.message.name, 'Breakout 1');
  assert.deepEqual(createdEv.message.owner, { clientId: ada.clientId, name: 'Ada' });
  assert.equal(createdEv.message.participants, 2);

  // A refused call: a participant destroying all rooms gets the vendor error object.
  const [refused] = await call(ben, 'destroyAllBreakOutSession');
  assert.equal(refused.result, 5003);
  assert.equal(refused.error, 'Unauthorized Access');
  assert.match(refused.desc, /moderator/i);
  assert.equal(refused.msg, refused.desc);
  // A refused create (participants out of range) likewise, with the server's code.
  const [tooBig] = await call(ada, 'createBreakOutRoom', { ...def, participants: 9 });
  assert.equal(tooBig.result, 1725);
  // An unsupported vendor call answers its callback with 1170; without a callback it does
  // nothing and throws nothing.
  const [unsupported] = await call(ben, 'startRecord');
  assert.deepEqual(unsupported, { result: 1170, error: 'Not supported', desc: 'EnxRoom.startRecord is not supported by Alcove', msg: 'EnxRoom.startRecord is not supported by Alcove' });
  assert.equal(await ben.page.evaluate(() => { window.app.room.hardMute(); window.app.room.sendMessage('hi', true, []); return 'no throw'; }), 'no throw');
  // Every unsupported vendor method: the same answer, with or without arguments, no throw.
  const everyUnsupported = await ben.page.evaluate(() => Promise.all(window.EnxRtc.UNSUPPORTED_ROOM_METHODS.map((name) => {
    window.app.room[name]();
    return new Promise((resolve) => window.app.room[name]('x', {}, (e) => resolve([name, e.result, e.error, e.desc])));
  })));
  assert.ok(everyUnsupported.length >= 40);
  for (const [name, result, error, desc] of everyUnsupported) {
    assert.deepEqual([result, error, desc], [1170, 'Not supported', `EnxRoom.${name} is not supported by Alcove`]);
  }

  // inviteToBreakoutRoom: the invitee gets join-breakout-room, moderators breakout-room-invited.
  const [invited] = await call(ada, 'inviteToBreakoutRoom', { clients: [ben.clientId], room_id: br1 });
  assert.equal(invited.result, 0);
  assert.equal(invited.msg, 'Success');
  assert.deepEqual(invited.invited, [ben.clientId]);
  const invitation = await event(ben, 'join-breakout-room');
  assert.equal(invitation.message.room_id, br1);
  assert.equal(invitation.message.requestor.id, ada.clientId);
  assert.equal(invitation.message.requestor.name, 'Ada');
  assert.equal(invitation.message.force_join, false);
  const invitedEv = await event(ada, 'breakout-room-invited');
  assert.equal(invitedEv.message.room_id, br1);
  assert.deepEqual(invitedEv.message.clients, [ben.clientId]);

  // Reject: Chiara is invited and declines; moderators get breakout-invite-rejected.
  await call(ada, 'inviteToBreakoutRoom', { clients: [chiara.clientId], room_id: br1 });
  await event(chiara, 'join-breakout-room');
  const [rejected] = await call(chiara, 'rejectBreakoutRoomInvite', br1);
  assert.deepEqual(rejected, { result: 0, msg: 'Success' });
  const rejectedEv = await event(ada, 'breakout-invite-rejected');
  assert.deepEqual(rejectedEv.message, { room_id: br1, clientId: chiara.clientId, name: 'Chiara' });
  // A join without an invitation fails: callback (null, error), event breakout-room-error.
  const [noRoom, noInvite] = await call(chiara, 'joinBreakOutRoom', { role: 'participant', room_id: br1 }, { audio: true, video: false });
  assert.equal(noRoom, null);
  assert.equal(noInvite.result, 1737);
  assert.equal((await event(chiara, 'breakout-room-error')).message.result, 1737);

  // joinBreakOutRoom: the callback hands a break-out room object; its room-connected follows
  // (the page listens in the callback, as the vendor's sample does).
  const [joined, joinError] = await ben.page.evaluate((id) => new Promise((resolve) => {
    window.app.room.joinBreakOutRoom({ role: 'participant', room_id: id }, { audio: true, video: false }, (result, error) => {
      if (result) window.watchBreakout(result.room);
      resolve(window.ser([result, error]));
    });
  }), br1);
  assert.equal(joinError, null);
  assert.deepEqual(joined.room, { $room: br1, br: true });
  assert.equal(joined.roomData.room.settings.room_type, 'breakout-room');
  const brConnected = await event(ben, 'room-connected', { where: `br:${br1}` });
  assert.equal(brConnected.message.room.room_id, br1);
  assert.equal(brConnected.message.room.name, 'Breakout 1');
  assert.equal(brConnected.message.room.settings.room_type, 'breakout-room');
  for (const p of [ada, chiara]) {
    const j = await event(p, 'user-joined-breakout-room');
    assert.equal(j.message.clientId, ben.clientId);
    assert.equal(j.message.room_id, br1);
  }
  // Break-out calls belong on the parent: on the break-out room object they answer 5067.
  const [fromBr] = await callBr(ben, 'createBreakOutRoom', def);
  assert.equal(fromBr.result, 5067);

  // pause / resume / mute / unmute of the parent, with the vendor's ack texts; the others see it.
  assert.deepEqual(await call(ben, 'resumeRoom'), [{ result: 0, msg: 'Room resumed' }]);
  await until('Ada to see Ben resumed', async () => (await seenBy(ada, ben.clientId))?.paused === false);
  assert.deepEqual(await call(ben, 'pauseRoom'), [{ result: 0, msg: 'Room paused' }]);
  await until('Ada to see Ben paused', async () => (await seenBy(ada, ben.clientId))?.paused === true);
  const [muted] = await call(ben, 'muteRoom', { audio: true, video: false });
  assert.equal(muted.result, 0);
  assert.equal(muted.msg, 'Room muted');
  await until('Ada to see Ben muted', async () => (await seenBy(ada, ben.clientId))?.muted.audio === true);
  const [unmuted] = await call(ben, 'unMuteRoom', { audio: true, video: false });
  assert.equal(unmuted.msg, 'Room unmuted');
  await until('Ada to see Ben unmuted', async () => (await seenBy(ada, ben.clientId))?.muted.audio === false);
  const [badMute] = await call(ben, 'muteRoom', { audio: false, video: false });
  assert.equal(badMute.result, 1155);
  // resumeRoom lifts the mute muteRoom set (the vendor's resume unmutes the parent).
  await call(ben, 'muteRoom', { audio: true, video: false });
  await until('Ada to see Ben muted again', async () => (await seenBy(ada, ben.clientId))?.muted.audio === true);
  assert.deepEqual(await call(ben, 'resumeRoom'), [{ result: 0, msg: 'Room resumed' }]);
  await until('Ada to see Ben resumed and unmuted', async () => {
    const u = await seenBy(ada, ben.clientId);
    return u && u.paused === false && u.muted.audio === false;
  });

  // The break-out room object's disconnect(): room-disconnected on it, breakout-room-disconnect
  // on the parent; the moderator sees the user leave, and the emptied room destroyed.
  await ben.page.evaluate(() => window.app.br.disconnect());
  const brGone = await event(ben, 'room-disconnected', { where: `br:${br1}` });
  assert.deepEqual(brGone.message.cause, { cause: 2006, msg: 'normal-disconnect' });
  assert.equal(brGone.message.room_id, br1);
  for (const name of ['breakout-room-disconnect', 'breakout-room-disconnected']) {
    const e = await event(ben, name);
    assert.equal(e.message.room_id, br1);
    assert.equal(e.message.msg, 'Breakout Room disconnected');
    assert.equal(e.message.result, 0);
  }
  const left = await event(ada, 'user-disconnected-breakout-room');
  assert.deepEqual({ clientId: left.message.clientId, room: left.message.room }, { clientId: ben.clientId, room: br1 });
  assert.deepEqual((await event(ada, 'breakout-room-destroyed')).message, { room_id: br1 });
  assert.equal((await seenBy(ada, ben.clientId)).location, 'parent');

  // createAndInviteBreakOutRoom: force-joined by default (as the vendor's Web SDK does):
  // breakout-room-joining, then breakout-room-connected with the room object, then its
  // room-connected.
  const [both] = await call(ada, 'createAndInviteBreakOutRoom', def);
  assert.equal(both.result, 0);
  assert.equal(both.msg.rooms.length, 1);
  const br2 = both.msg.rooms[0];
  assert.deepEqual(both.msg.invitations[0].clients.sort(), [ben.clientId, chiara.clientId].sort());
  for (const p of [ben, chiara]) {
    const joining = await event(p, 'breakout-room-joining');
    assert.equal(joining.message.room_id, br2);
    assert.equal(joining.message.force_join, true);
    const c = await event(p, 'breakout-room-connected');
    assert.deepEqual(c.message.room, { $room: br2, br: true });
    assert.equal(c.message.roomData.room.room_id, br2);
    await event(p, 'room-connected', { where: `br:${br2}` });
  }
  assert.equal((await event(ada, 'breakout-room-created', { n: 2 })).message.room_id, br2);
  assert.equal((await event(ada, 'breakout-room-invited', { n: 3 })).message.room_id, br2);
  // Whoever was moved in second is announced to the first on the break-out room object.
  await until('a user-connected in the break-out room', async () =>
    (await events(ben, 'user-connected', `br:${br2}`)).length + (await events(chiara, 'user-connected', `br:${br2}`)).length === 1);
  // The break-out room object's active talkers, in the vendor's shape.
  const talkers = await event(ben, 'active-talkers-updated', { where: `br:${br2}` });
  assert.ok(Array.isArray(talkers.message.activeList));
  assert.equal(typeof talkers.message.active, 'boolean');
  // (`pinned`: the vendor's flag on each entry, true for the parent room's pinned clients.)
  for (const t of talkers.message.activeList) assert.deepEqual(Object.keys(t).sort(), ['clientId', 'mediatype', 'name', 'pinned', 'reason', 'streamId', 'videomuted']);

  // remoteStreams: Chiara's audio slot in the break-out room, as a vendor stream object whose
  // play() makes the vendor's #stream<ID> player (the app's talker code looks it up by id);
  // the parent object lists none while Ben is away from it.
  const played = await until('Chiara among the break-out room\'s remote streams', () => ben.page.evaluate((c) => {
    const st = Object.values(window.app.br.remoteStreams.getAll()).find((x) => x.clientId === c);
    if (!st) return null;
    const box = document.body.appendChild(document.createElement('div'));
    box.id = 'players';
    st.play('players', {});
    const el = document.getElementById(`stream${st.getID()}`);
    return {
      name: st.getAttributes().name, local: st.local, audio: st.ifAudio(), track: !!st.stream,
      inBox: !!el && el.parentNode === box, same: window.app.br.remoteStreams.get(st.getID()) === st,
      parent: Object.keys(window.app.room.remoteStreams.getAll()).length,
    };
  }, chiara.clientId), 15_000);
  assert.deepEqual(played, { name: 'Chiara', local: false, audio: true, track: true, inBox: true, same: true, parent: 0 });

  // clearAllBreakOutSession from inside: Chiara leaves; her room object disconnects, Ben's
  // room object sees her go, the moderator sees her leave the room.
  const [clearedIn] = await call(chiara, 'clearAllBreakOutSession');
  assert.equal(clearedIn.result, 0);
  assert.equal(clearedIn.room_id, br2);
  assert.equal(clearedIn.msg, 'Breakout Room disconnected');
  assert.equal((await event(chiara, 'room-disconnected', { where: `br:${br2}` })).message.reason, 'left');
  assert.equal((await event(chiara, 'breakout-room-disconnect', { filter: (e) => e.message.room_id === br2 })).message.reason, 'left');
  const chiaraLeft = (await event(ben, 'user-disconnected', { where: `br:${br2}` })).message;
  assert.deepEqual([chiaraLeft.clientId, chiaraLeft.name, chiaraLeft.role], [chiara.clientId, 'Chiara', 'participant']);
  await event(ada, 'user-disconnected-breakout-room', { filter: (e) => e.message.clientId === chiara.clientId && e.message.room === br2 });

  // Ben mutes the parent from the break-out room: destroy-all will reset it.
  await call(ben, 'muteRoom', { audio: true, video: false });
  await until('Ada to see Ben muted in br2', async () => (await seenBy(ada, ben.clientId))?.muted.audio === true);

  // destroyAllBreakOutSession: the caller's callback lists the rooms and the caller gets
  // breakout-room-destroyed per room; the members' room objects disconnect and they are back
  // in the parent, resumed and unmuted.
  const destroyedBefore = (await events(ada, 'breakout-room-destroyed')).length;
  const [destroyed] = await call(ada, 'destroyAllBreakOutSession');
  assert.deepEqual(destroyed, { result: 0, msg: { rooms: [br2] } });
  const d = await event(ada, 'breakout-room-destroyed', { n: destroyedBefore + 1 });
  assert.deepEqual(d.message, { room_id: br2 });
  const gone = await event(ben, 'room-disconnected', { where: `br:${br2}` });
  assert.equal(gone.message.reason, 'destroyed');
  assert.equal((await event(ben, 'breakout-room-disconnect', { filter: (e) => e.message.room_id === br2 })).message.reason, 'destroyed');
  assert.deepEqual((await event(ben, 'breakout-room-destroyed', { filter: (e) => e.message.room_id === br2 })).message, { room_id: br2 });
  await until('Ben back, resumed and unmuted', async () => {
    const u = await seenBy(ada, ben.clientId);
    return u && u.location === 'parent' && u.paused === false && u.muted.audio === false;
  });
  // Every destroyed room reached Ada exactly once.
  assert.deepEqual((await events(ada, 'breakout-room-destroyed')).map((e) => e.message.room_id), [br1, br2]);
  // The break-out room object is closed: its disconnect() does nothing now.
  assert.equal(await ben.page.evaluate(() => { window.app.br.disconnect(); return window.app.br.connected; }), false);

  // Screen share in the parent: startScreenShare's callback, share-started / share-stopped at
  // the others, the share as remote stream 101 with a vendor player showing it.
  const [shared] = await call(chiara, 'startScreenShare');
  assert.equal(shared.result, 0);
  assert.equal(shared.streamId, 101);
  const started = await event(ada, 'share-started', { where: 'parent' });
  assert.deepEqual(started.message, { clientId: chiara.clientId, name: 'Chiara', streamId: 101, room_id: parentId });
  assert.deepEqual(await until('the share at Ada', () => ada.page.evaluate(() => {
    const st = window.app.room.remoteStreams.get(101);
    if (!st) return null;
    const box = document.body.appendChild(document.createElement('div'));
    box.id = 'screen';
    st.play('screen');
    const video = document.querySelector('#stream101 video');
    return video && video.srcObject ? { screen: st.ifScreen(), video: true } : null;
  })), { screen: true, video: true });
  assert.deepEqual(await call(chiara, 'stopScreenShare'), [{ result: 0, msg: 'Screen share stopped' }]);
  assert.equal((await event(ada, 'share-stopped', { where: 'parent' })).message.clientId, chiara.clientId);

  // clearAllBreakOutSession from the parent: the vendor ack shape, no room.
  const [cleared] = await call(chiara, 'clearAllBreakOutSession');
  assert.equal(cleared.result, 0);
  assert.equal(cleared.room_id, null);
  assert.equal(cleared.msg, 'Breakout Room disconnected');

  // Leaving the parent: room-disconnected with the normal cause; the others see user-disconnected.
  await chiara.page.evaluate(() => window.app.room.disconnect());
  assert.deepEqual((await event(chiara, 'room-disconnected', { where: 'parent' })).message.cause, { cause: 2006, msg: 'normal-disconnect' });
  const chiaraGone = (await event(ada, 'user-disconnected')).message;
  assert.deepEqual([chiaraGone.clientId, chiaraGone.name, chiaraGone.role], [chiara.clientId, 'Chiara', 'participant']);

  // The vendor's two-step form: EnxRtc.EnxRoom({token}).connect() → room-connected, or
  // room-error with the vendor error object (a used token).
  const dan = await token(parentId, 'Dan', 'participant');
  const twoStep = await ada.page.evaluate((t) => new Promise((resolve) => {
    const r = window.EnxRtc.EnxRoom({ token: t });
    r.addEventListener('room-connected', (e) => { resolve(window.ser({ room: e.message.room.room_id, me: e.message.me.name })); r.disconnect(); });
    r.addEventListener('room-error', (e) => resolve(window.ser({ error: e.message })));
    r.connect();
  }), dan);
  assert.deepEqual(twoStep, { room: parentId, me: 'Dan' });
  const usedAgain = await ada.page.evaluate((t) => new Promise((resolve) => {
    const r = window.EnxRtc.EnxRoom({ token: t });
    r.addEventListener('room-error', (e) => resolve(window.ser(e.message)));
    r.connect();
  }), dan);
  assert.equal(usedAgain.result, 4103);
  // joinRoom given the token response as it is ({token, signal_url}).
  const eve = await token(parentId, 'Eve', 'participant');
  const fromResponse = await ada.page.evaluate((t, url) => new Promise((resolve) => {
    window.EnxRtc.joinRoom({ token: t, signal_url: url }, { audio: false }, (ok, err) => {
      resolve(window.ser({ room: ok && ok.room, err }));
      if (ok) ok.room.disconnect();
    });
  }), eve, server.signalUrl);
  assert.deepEqual(fromResponse, { room: { $room: parentId, br: false }, err: null });

  // A page the Alcove server did not serve (about:blank): no signalling URL from the origin.
  // joinRoom answers 1161 until one is given; EnxRtc.signalUrl is one way.
  const blank = await (await browser.createBrowserContext()).newPage();
  await blank.goto('about:blank');
  await blank.addScriptTag({ path: join(sdk, 'dist/EnxRtc.js') });
  const noUrl = await blank.evaluate((t) => new Promise((resolve) => window.EnxRtc.joinRoom(t, {}, (ok, err) => resolve([ok, err]))), await token(parentId, 'Fay', 'participant'));
  assert.equal(noUrl[0], null);
  assert.equal(noUrl[1].result, 1161);
  assert.match(noUrl[1].desc, /signal_url/);
  // Pages on another origin (an app's own web server) name the Alcove server by their script
  // tag alone (EnxRtc.js loaded from the Alcove server, or data-signal-url), or by
  // EnxRtc.signalUrl.
  const pages = {
    '/': '<script src="/EnxRtc.js"></script>',
    '/script-from-alcove': `<script src="${server.base}/sdk/EnxRtc.js"></script>`,
    '/data-attribute': `<script src="/EnxRtc.js" data-signal-url="${server.signalUrl}"></script>`,
  };
  const appServer = createServer((req, res) => {
    const js = req.url === '/EnxRtc.js';
    res.writeHead(200, { 'Content-Type': js ? 'text/javascript' : 'text/html' });
    res.end(js ? readFileSync(join(sdk, 'dist/EnxRtc.js')) : `<!doctype html>${pages[req.url] ?? ''}`);
  });
  await new Promise((resolve) => appServer.listen(0, '127.0.0.1', resolve));
  const appBase = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (appServer.address()).port}`;
  const elsewhere = await (await browser.createBrowserContext()).newPage();
  /** Joins from `path` of the app's server with a new token; `url`: set as EnxRtc.signalUrl. */
  const joinFrom = async (path, name, url) => {
    await elsewhere.goto(appBase + path);
    return elsewhere.evaluate((t, u) => new Promise((resolve) => {
      if (u) window.EnxRtc.signalUrl = u;
      window.EnxRtc.joinRoom(t, { audio: false }, (ok, err) => {
        resolve({ room: ok && ok.room.roomID, name: ok && ok.room.me.name, err });
        if (ok) ok.room.disconnect();
      });
    }), await token(parentId, name, 'participant'), url);
  };
  assert.deepEqual(await joinFrom('/script-from-alcove', 'Gus'), { room: parentId, name: 'Gus', err: null });
  assert.deepEqual(await joinFrom('/data-attribute', 'Hal'), { room: parentId, name: 'Hal', err: null });
  const lost = await joinFrom('/', 'Ida');
  assert.equal(lost.err.result, 1171, 'the app server is not the Alcove server');
  const withUrl = await joinFrom('/', 'Fay', server.signalUrl);
  appServer.close();
  assert.deepEqual(withUrl, { room: parentId, name: 'Fay', err: null });

  assert.deepEqual(problems, []);
});

/**
 * A TCP proxy to the server that can cut every connection at once (a network drop: no closing
 * handshake) and refuse new ones while `down`.
 * @param {number} port the server's HTTP port
 */
function startProxy(port) {
  const pairs = new Set();
  let down = false;
  const proxy = createNetServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(port, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve) => {
    proxy.listen(0, '127.0.0.1', () => {
      const { port: p } = /** @type {import('node:net').AddressInfo} */ (proxy.address());
      resolve({
        url: `ws://127.0.0.1:${p}/v1/signal`,
        /** Cuts every connection; refuses new ones until `up()`. */
        cut() {
          down = true;
          for (const { client, upstream } of pairs) {
            client.destroy();
            upstream.destroy();
          }
          pairs.clear();
        },
        up() {
          down = false;
        },
        close: () => proxy.close(),
      });
    });
  });
}

test('a network drop: network-disconnected / network-reconnected; a break-out room destroyed meanwhile is closed', { skip: !chrome && 'no Chromium found', timeout: 60_000 }, async () => {
  const { room } = await server.rest('POST', '/v1/rooms', {
    name: 'Drops', owner_ref: 'enx', settings: { mode: 'group', max_active_talkers: 6 },
  });
  const proxy = await startProxy(Number(new URL(server.base).port));
  // Jo's page comes from an app's own server (the Alcove server's CSP lets its pages connect
  // to its own origin only) and connects through the proxy.
  const files = {
    '/demo/enablex.html': ['text/html', PAGE],
    '/demo/enablex-app.js': ['text/javascript', APP],
    '/sdk/EnxRtc.js': ['text/javascript', readFileSync(join(sdk, 'dist/EnxRtc.js'))],
  };
  const appServer = createServer((req, res) => {
    const [type, body] = files[new URL(req.url ?? '/', 'http://x').pathname] ?? ['text/plain', ''];
    res.writeHead(body ? 200 : 404, { 'Content-Type': type });
    res.end(body);
  });
  await new Promise((resolve) => appServer.listen(0, '127.0.0.1', resolve));
  const appBase = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (appServer.address()).port}`;
  try {
    const mod = await open(room.room_id, 'Kim', 'moderator');
    const jo = await open(room.room_id, 'Jo', 'participant', { signal_url: proxy.url }, appBase);
    const [created] = await call(mod, 'createBreakOutRoom', { participants: 2, audio: true, video: false, canvas: false, share: false });
    const br = created.msg.rooms[0];
    await call(mod, 'inviteToBreakoutRoom', { clients: [jo.clientId], room_id: br, force_join: true });
    await event(jo, 'room-connected', { where: `br:${br}` });

    // Jo's network goes away; meanwhile the moderator ends every break-out room.
    proxy.cut();
    await event(jo, 'network-disconnected');
    const [destroyed] = await call(mod, 'destroyAllBreakOutSession');
    assert.deepEqual(destroyed.msg.rooms, [br]);
    await until('Kim to see Jo back in the parent', async () => (await seenBy(mod, jo.clientId))?.location === 'parent');
    proxy.up();

    // Jo resumes: same client, in the parent; the break-out room object is closed.
    await event(jo, 'network-reconnected');
    const gone = await event(jo, 'room-disconnected', { where: `br:${br}` });
    assert.equal(gone.message.reason, 'destroyed');
    assert.equal(await jo.page.evaluate(() => window.app.room.clientId), jo.clientId);
    assert.equal(await jo.page.evaluate(() => window.app.br.connected), false);
    assert.equal((await events(jo, 'room-disconnected', 'parent')).length, 0, 'the parent room stays connected');
  } finally {
    proxy.close();
    appServer.close();
  }
  // Chromium logs each refused reconnect attempt through the cut proxy: expected here.
  assert.deepEqual(problems.filter((p) => !(p.startsWith('[Jo]') && p.includes(`WebSocket connection to '${proxy.url}' failed`))), []);
});
