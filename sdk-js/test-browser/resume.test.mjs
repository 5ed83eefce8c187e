// Resume with real media in a real browser. Three pages connect through a TCP proxy in this
// process (signalling only; media goes straight to the server over UDP). Ben and Chiara are
// moved into a break-out room and hear each other.
//
// 1. The proxy cuts every signalling connection (no closing handshake: a network drop). The
//    SDK resumes; the server kept the peer connections, so media does an ICE restart on the
//    same RTCPeerConnection, and Ben and Chiara still hear each other.
// 2. The server is killed (SIGKILL) and started again on the same ports and data dir. The SDK
//    resumes into the same break-out room; the server lost the peer connections, so media
//    builds new ones with the same layout, and Ben and Chiara hear each other again (the slot
//    <audio> elements play the new tracks), Ada in the parent still hears neither.
//
// Needs Chromium (see demo.test.mjs). Run with `npm run test:browser`.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { after, before, test } from 'node:test';
import { serverBinary } from '../test-support/server.mjs';

const candidates = [process.env.CHROME_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']
  .filter((p) => p && existsSync(p));
const chrome = candidates[0];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (or throws after `ms`). */
async function until(what, fn, ms = 30_000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/**
 * The server, restartable on the same HTTP port and data dir. The first start binds port 0
 * (the OS picks; no port is probed and then given up) and reads the address the server
 * prints; a restart binds that same HTTP address again (the proxy and the SDKs know it) and
 * a new media port (after a restart every client negotiates a new peer connection anyway).
 */
class Server {
  constructor(bin, dataDir) {
    this.bin = bin;
    this.dataDir = dataDir;
    this.listen = '127.0.0.1:0';
    this.base = null;
    this.port = null;
    this.child = null;
    this.stderr = '';
  }

  async start() {
    const args = ['serve', '--listen', this.listen, '--udp-listen', '127.0.0.1:0', '--data-dir', this.dataDir];
    const child = spawn(this.bin, args, { env: { ...process.env, ALCOVE_LOG: process.env.ALCOVE_LOG ?? 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr.on('data', (d) => { this.stderr += d; });
    // The line comes once the sockets are bound, the database is open and the credentials
    // are written: the server is ready.
    const base = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${out}\n${this.stderr}`)), 30_000);
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${out}\n${this.stderr}`));
      });
    });
    this.base = base;
    this.port = Number(new URL(base).port);
    this.listen = `127.0.0.1:${this.port}`;
  }

  /** SIGKILL; resolves once the process is gone (its sockets closed). */
  kill9() {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    return gone;
  }

  async rest(method, path, body) {
    const creds = JSON.parse(readFileSync(joinPath(this.dataDir, 'dev-credentials.json'), 'utf8'));
    const auth = `Basic ${Buffer.from(`${creds.app_id}:${creds.app_key}`).toString('base64')}`;
    const res = await fetch(this.base + path, {
      method, headers: { Authorization: auth, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    const json = await res.json();
    assert.equal(json.result, 0, `${method} ${path}: ${JSON.stringify(json)}`);
    return json;
  }
}

/** A TCP proxy to the server's HTTP port that can cut every connection at once. */
function startProxy(target) {
  const pairs = new Set();
  const proxy = createServer((down) => {
    const up = tcpConnect(target, '127.0.0.1');
    const pair = { down, up };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
    down.pipe(up);
    up.pipe(down);
  });
  return new Promise((resolve) => {
    proxy.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (proxy.address());
      resolve({
        url: `ws://127.0.0.1:${port}/v1/signal`,
        /** Destroys every proxied connection: both ends see the transport end, no close frame. */
        cut() {
          for (const { down, up } of pairs) {
            down.destroy();
            up.destroy();
          }
          pairs.clear();
        },
        close: () => proxy.close(),
      });
    });
  });
}

let server;
let proxy;
let browser;
let dataDir;
const problems = [];

before(async (t) => {
  if (!chrome) return;
  const { default: puppeteer } = await import('puppeteer-core');
  dataDir = mkdtempSync(joinPath(tmpdir(), 'alcove-js-resume-'));
  server = new Server(serverBinary((m) => t.diagnostic(m)), dataDir);
  await server.start();
  proxy = await startProxy(server.port);
  browser = await puppeteer.launch({
    executablePath: chrome,
    headless: true,
    args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
  });
});

after(async () => {
  await browser?.close();
  proxy?.close();
  await server?.kill9();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function join(roomId, name, role) {
  const { token } = await server.rest('POST', `/v1/rooms/${roomId}/tokens`, { name, role, user_ref: `u-${name}` });
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => problems.push(`[${name}] page error: ${e.message}`));
  await page.goto(`${server.base}/healthz`);
  await page.evaluate(async (url, tok) => {
    const sdk = await import('/sdk/alcove.js');
    const room = await sdk.connect(url, tok);
    /** @type {any} */ (window).room = room;
    /** @type {any} */ (window).events = [];
    for (const n of ['reconnecting', 'reconnected', 'close']) {
      room.on(n, (d) => /** @type {any} */ (window).events.push([n, d?.attempt ?? d?.mediaKept ?? d?.code ?? null]));
    }
    await room.startMedia();
    /** @type {any} */ (window).firstPc = room.peerConnection;
  }, proxy.url, token);
  await until(`${name}'s media to connect`, () => page.evaluate(() => {
    const s = /** @type {any} */ (window).room.media.state;
    return s.state === 'connected' && s.connectionState === 'connected';
  }));
  return page;
}

const look = (page) => page.evaluate(() => {
  const r = /** @type {any} */ (window).room;
  const talkers = [...r.talkers].map(([slot, t]) => ({ slot, clientId: t.clientId, level: r.slotLevel(slot) }));
  const audios = [...document.querySelectorAll('audio[data-alcove-slot]')];
  return {
    clientId: r.clientId,
    connectionState: r.connectionState,
    location: r.location,
    breakoutRoom: r.breakoutRoom?.roomId ?? null,
    media: { state: r.media.state.state, connectionState: r.media.state.connectionState, restarts: r.media.state.restarts, lastRestore: r.media.state.lastRestore },
    samePc: r.peerConnection === /** @type {any} */ (window).firstPc,
    talkers,
    audioTracksAreSlotTracks: audios.length > 0 && audios.every((el, i) => el.srcObject?.getAudioTracks()[0] === r.slotTrack(i)),
    events: /** @type {any} */ (window).events,
  };
});

/** `page` hears `clientId`: it is in a slot with an audio level. */
const hears = async (page, clientId) => (await look(page)).talkers.some((t) => t.clientId === clientId && t.level > 0);

test('resume in the browser: ICE restart after a drop, new peer connections after kill -9 and a restart', { skip: !chrome && 'no Chromium found', timeout: 180_000 }, async () => {
  const { room } = await server.rest('POST', '/v1/rooms', { name: 'resume', owner_ref: 'sdk-js', settings: { mode: 'group', max_active_talkers: 6 } });
  const ada = await join(room.room_id, 'Ada', 'moderator');
  const ben = await join(room.room_id, 'Ben', 'participant');
  const chiara = await join(room.room_id, 'Chiara', 'participant');
  const id = { ada: (await look(ada)).clientId, ben: (await look(ben)).clientId, chiara: (await look(chiara)).clientId };
  const br = await ada.evaluate(async (ids) => {
    const r = /** @type {any} */ (window).room;
    const ack = await r.createBreakOutRoom({ participants: 2, audio: true, video: false, canvas: false, share: false, max_rooms: 1 });
    const roomId = ack.msg.rooms[0];
    await r.inviteToBreakOutRoom({ clients: ids, room_id: roomId, force_join: true });
    return roomId;
  }, [id.ben, id.chiara]);
  await until('Ben to hear Chiara', () => hears(ben, id.chiara));
  await until('Chiara to hear Ben', () => hears(chiara, id.ben));

  // 1. A network drop of the signalling: resume, ICE restart on the same peer connection.
  proxy.cut();
  for (const [name, page] of [['Ada', ada], ['Ben', ben], ['Chiara', chiara]]) {
    const s = await until(`${name}: resumed, ICE restarted`, async () => {
      const s = await look(page);
      return s.connectionState === 'connected' && s.media.restarts === 1 && s.media.state === 'connected' && s.media.connectionState === 'connected' && s;
    });
    assert.equal(s.media.lastRestore, 'ice-restart', name);
    assert.equal(s.samePc, true, `${name}: the same RTCPeerConnection`);
    assert.deepEqual(s.events.map((e) => e[0]).filter((n) => n !== 'reconnecting'), ['reconnected'], name);
  }
  const b1 = await look(ben);
  assert.deepEqual(b1.location, { breakout: br });
  assert.equal(b1.breakoutRoom, br);
  await until('Ben to hear Chiara after the ICE restart', () => hears(ben, id.chiara));
  await until('Chiara to hear Ben after the ICE restart', () => hears(chiara, id.ben));

  // 2. kill -9 and a restart on the same HTTP port and data dir: new peer connections.
  await server.kill9();
  await server.start();
  for (const [name, page] of [['Ada', ada], ['Ben', ben], ['Chiara', chiara]]) {
    const s = await until(`${name}: resumed, new peer connection`, async () => {
      const s = await look(page);
      return s.connectionState === 'connected' && s.media.restarts === 2 && s.media.state === 'connected' && s.media.connectionState === 'connected' && s;
    }, 40_000);
    assert.equal(s.media.lastRestore, 'new-peer-connection', name);
    assert.equal(s.samePc, false, `${name}: a new RTCPeerConnection`);
    assert.equal(s.audioTracksAreSlotTracks, true, `${name}: the slot <audio> elements play the new tracks`);
    assert.equal(s.clientId, id[name.toLowerCase()], `${name}: same clientId`);
  }
  const b2 = await look(ben);
  assert.deepEqual(b2.location, { breakout: br }, 'Ben is still in the break-out room');
  assert.equal(b2.breakoutRoom, br);
  await until('Ben to hear Chiara after the restart', () => hears(ben, id.chiara), 20_000);
  await until('Chiara to hear Ben after the restart', () => hears(chiara, id.ben), 20_000);
  const a = await until('Ada in the parent to hear neither (her slot map names neither)', async () => {
    const a = await look(ada);
    return !a.talkers.some((t) => t.clientId === id.ben || t.clientId === id.chiara) && a;
  }, 20_000);
  assert.deepEqual(a.talkers.filter((t) => t.clientId === id.ben || t.clientId === id.chiara), [], 'Ada in the parent hears neither');
  assert.deepEqual(problems, []);
  for (const p of [ada, ben, chiara]) await p.evaluate(() => /** @type {any} */ (window).room.disconnect());
});
