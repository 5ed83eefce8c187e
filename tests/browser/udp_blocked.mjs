// Chromium on a network that blocks UDP (issue 16). Run through ./udp_blocked.sh: a network
// namespace with only `lo`, where an nftables rule drops UDP. Three Chromium pages (M, A, B),
// each capturing its own tone, join one room through the browser SDK:
//
// 0. Baseline: no firewall (path "udp"), the same checks and timings as below.
// 1. ICE over TCP: the server runs with --tcp-listen; all UDP is dropped. Every page connects
//    over the passive TCP candidate (the SDK reports `state.path` "tcp"); B hears M and A in the
//    parent, only M once A is forced into a break-out room, then only A once B is moved in
//    (timed: request → first frame of A's tone at B).
// 2. TURN over TCP: the server runs without --tcp-listen but with --turn-url / --turn-secret for
//    a coturn (Debian's turnserver) on 127.0.0.1; UDP is dropped except between coturn's relay
//    ports and the server's media port. Every page relays through coturn (path "relay"); the
//    same hearing checks.
//
// Prints `connect()` → first audio from a room-mate and the move time for each phase.

import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeTone } from './tones.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const BIN = process.env.ALCOVE_BIN ?? join(ROOT, 'target/debug/alcove');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
];
const PEOPLE = [
  { name: 'M', role: 'moderator', hz: 300 },
  { name: 'A', role: 'participant', hz: 500 },
  { name: 'B', role: 'participant', hz: 700 },
];
const SECRET = 'alcove-browser-turn-secret';
/** coturn's relay ports: the only UDP the firewall lets through in phase 2. */
const RELAY_PORTS = [50000, 50100];
const HEARD_FRACTION = 0.1;

/** Per phase: the move time at B and connect() → first audio of each page. */
const results = [];
let passed = 0;
let failed = 0;
function check(label, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok     ${label}`);
  } else {
    failed++;
    console.log(`FAILED ${label}${detail === undefined ? '' : `\n       ${JSON.stringify(detail)}`}`);
  }
}

/** Replaces the namespace's firewall: UDP dropped, except `allow` (an nft rule fragment). */
function firewall(allow) {
  execFileSync('nft', ['flush', 'ruleset']);
  const rules = [
    'table inet alcove_udp_blocked {',
    '  chain out {',
    '    type filter hook output priority 0; policy accept;',
    ...(allow ? [`    ${allow} accept`] : []),
    '    meta l4proto udp counter drop',
    '  }',
    '}',
  ].join('\n');
  execFileSync('nft', ['-f', '-'], { input: rules });
}

/** UDP packets the firewall's drop rule has dropped so far. */
function droppedUdp() {
  const m = execFileSync('nft', ['list', 'ruleset']).toString().match(/counter packets (\d+)/);
  return m ? Number(m[1]) : 0;
}

async function startServer(tmp, name, extra) {
  const dataDir = join(tmp, `data-${name}`);
  const logPath = join(tmp, `server-${name}.log`);
  const log = openSync(logPath, 'w');
  const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--udp-listen', `127.0.0.1:${extra.udpPort ?? 0}`, '--data-dir', dataDir, ...extra.args], {
    stdio: ['ignore', log, log],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  const deadline = Date.now() + 30_000;
  let base = null;
  while (base === null) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}: ${readFileSync(logPath, 'utf8')}`);
    base = readFileSync(logPath, 'utf8').match(/listening on (http:\/\/[0-9.:]+)/)?.[1] ?? null;
    if (base === null && Date.now() > deadline) throw new Error(`server did not start: ${readFileSync(logPath, 'utf8')}`);
    if (base === null) await sleep(20);
  }
  const creds = JSON.parse(readFileSync(join(dataDir, 'dev-credentials.json'), 'utf8'));
  const auth = 'Basic ' + Buffer.from(`${creds.app_id}:${creds.app_key}`).toString('base64');
  const post = async (path, body) => {
    const r = await fetch(base + path, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const j = await r.json();
    if (!r.ok || j.result !== 0) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(j)}`);
    return j;
  };
  return { proc, base, logPath, post };
}

async function startCoturn(tmp, port) {
  const proc = spawn('turnserver', [
    '-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`,
    '--use-auth-secret', `--static-auth-secret=${SECRET}`, '--realm=alcove.test',
    '--no-udp', '--no-tls', '--no-dtls', '--no-cli', '--allow-loopback-peers', '--no-multicast-peers',
    `--min-port=${RELAY_PORTS[0]}`, `--max-port=${RELAY_PORTS[1]}`,
    '--no-stdout-log', '--simple-log', `--log-file=${join(tmp, 'turn.log')}`,
    `--userdb=${join(tmp, 'turndb')}`, `--pidfile=${join(tmp, 'turn.pid')}`,
  ], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise((res) => {
      import('node:net').then(({ connect }) => {
        const s = connect(port, '127.0.0.1', () => { s.destroy(); res(true); });
        s.on('error', () => res(false));
      });
    });
    if (up) return proc;
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error('coturn did not start');
    await sleep(20);
  }
}

async function openPage(who, base, tmp) {
  const wav = join(tmp, `${who.name}-${who.hz}Hz.wav`);
  writeTone(wav, who.hz);
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: [...CHROMIUM_FLAGS, `--use-file-for-fake-audio-capture=${wav}`],
    ignoreDefaultArgs: ['--mute-audio'],
  });
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`[${who.name}] page error: ${e.message}`));
  await page.route(`${base}/favicon.ico`, (route) => route.fulfill({ status: 204 }));
  await page.goto(`${base}/healthz`);
  await page.addScriptTag({ content: readFileSync(join(HERE, 'harness.js'), 'utf8'), type: 'module' });
  await page.waitForFunction(() => window.T?.ready === true);
  return { ...who, browser, page, clientId: '' };
}

const call = (p, fn, ...args) => p.page.evaluate(([f, a]) => window.T[f](...a), [fn, args]);

/** Waits (deadline 30 s) until `p` steadily hears exactly `want` in a 1 s window. */
async function hears(p, ps, want, label) {
  const nameOf = Object.fromEntries(ps.map((x) => [String(x.hz), x.name]));
  const deadline = Date.now() + 30_000;
  let last = null;
  for (;;) {
    await call(p, 'resetWindow');
    await sleep(1000);
    const w = await call(p, 'readWindow');
    const steady = Object.entries(w.tone).filter(([, n]) => n >= HEARD_FRACTION * w.frames).map(([t]) => nameOf[t] ?? t).sort();
    const any = Object.keys(w.tone).map((t) => nameOf[t] ?? t).sort();
    last = { steady, any, frames: w.frames };
    if (steady.join() === [...want].sort().join() && any.join() === steady.join()) break;
    if (Date.now() > deadline) break;
  }
  check(label, last.steady.join() === [...want].sort().join() && last.any.join() === last.steady.join(), last);
}

async function phase(name, tmp, serverArgs, expectPath, udpPort) {
  const t0 = Date.now();
  const server = await startServer(tmp, name, { args: serverArgs, udpPort });
  const ps = [];
  try {
    const room = (await server.post('/v1/rooms', { name: `udp blocked: ${name}`, owner_ref: 'tests/browser', settings: { mode: 'group', max_active_talkers: 6 } })).room;
    ps.push(...(await Promise.all(PEOPLE.map((who) => openPage(who, server.base, tmp)))));
    const [M, A, B] = ps;
    const signal = `ws://127.0.0.1:${new URL(server.base).port}/v1/signal`;
    await Promise.all(ps.map(async (p) => {
      const { token } = await server.post(`/v1/rooms/${room.room_id}/tokens`, { name: p.name, role: p.role, user_ref: `u-${p.name}` });
      const info = await call(p, 'join', signal, token, {});
      p.clientId = info.clientId;
    }));
    const toneOwner = Object.fromEntries(ps.map((p) => [String(p.hz), p.clientId]));
    await Promise.all(ps.map((p) => call(p, 'setTones', toneOwner)));
    for (const p of ps) {
      const path = await p.page.evaluate(async () => {
        const deadline = Date.now() + 5000;
        while (window.T.room.media.state.path === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        return window.T.room.media.state.path;
      });
      check(`${name}: ${p.name}'s SDK reports path "${expectPath}"`, path === expectPath, path);
    }
    await hears(B, ps, ['M', 'A'], `${name}: B hears M and A in the parent`);
    const firsts = [];
    for (const p of ps) {
      const first = Math.round(await p.page.evaluate(() => window.T.firstAudioAt - window.T.joinStartedAt));
      firsts.push(first);
      console.log(`# ${name}: ${p.name}: connect() → first audio from a room-mate: ${first} ms (three join at once)`);
    }
    const created = await call(M, 'createBreakOutRoom', { participants: 2, audio: true, video: false, canvas: false, share: false, max_rooms: 1 });
    check(`${name}: a break-out room is created`, created.ok, created);
    const br = created.ack.msg.rooms[0];
    // A goes first (B then hears only M), then B joins A: the move is timed at B.
    const movedA = await call(M, 'forceInvite', [A.clientId], br);
    check(`${name}: A is moved into the break-out room`, movedA.ok, movedA);
    await hears(B, ps, ['M'], `${name}: B hears only M once A left the parent`);
    await call(B, 'arm', 'move', [500], [300]);
    const moved = await call(M, 'forceInvite', [B.clientId], br);
    check(`${name}: B is moved into the break-out room`, moved.ok, moved);
    await hears(B, ps, ['A'], `${name}: B hears only A in the break-out room`);
    const w = await call(B, 'watcher', 'move');
    const heardAt = w.first === null ? null : Math.round(w.first - moved.t0);
    const silentAt = w.lastOld === null ? 0 : Math.round(w.lastOld - moved.t0);
    console.log(`# ${name}: move request → B hears its new room: ${heardAt} ms; old room last heard: ${silentAt} ms`);
    results.push({ name, heardAt, firstAudio: firsts });
    if (expectPath !== 'udp') check(`${name}: the firewall dropped the browsers' UDP`, droppedUdp() > 0, droppedUdp());
    console.log(`# ${name}: phase wall time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await Promise.all(ps.map((p) => p.browser.close().catch(() => {})));
    server.proc.kill('SIGTERM');
    if (failed > 0) console.log(`# server log (tail):\n${readFileSync(server.logPath, 'utf8').split('\n').slice(-20).join('\n')}`);
  }
}

async function main() {
  const t0 = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), 'alcove-udp-blocked-'));
  let coturn = null;
  try {
    // The baseline: UDP allowed (no firewall), same server flags as phase 1.
    execFileSync('nft', ['flush', 'ruleset']);
    await phase('UDP', tmp, ['--tcp-listen', '127.0.0.1:0'], 'udp');
    firewall(null);
    // The TCP port: the OS picks it (port 0); the candidate carries the bound port.
    await phase('ICE-TCP', tmp, ['--tcp-listen', '127.0.0.1:0'], 'tcp');

    // TURN: coturn's port and Alcove's UDP port are fixed here because the firewall names
    // them; in this private namespace nothing else binds them.
    const turnPort = 34780;
    const udpPort = 34781;
    coturn = await startCoturn(tmp, turnPort);
    // UDP only between coturn's relay ports and Alcove's media port (the namespace's ephemeral
    // ports are set below both by udp_blocked.sh, so no browser socket can pass as coturn).
    firewall(`udp sport ${RELAY_PORTS[0]}-${RELAY_PORTS[1]} udp dport ${udpPort} accept\n    udp sport ${udpPort} udp dport ${RELAY_PORTS[0]}-${RELAY_PORTS[1]}`);
    await phase('TURN', tmp, ['--turn-url', `turn:127.0.0.1:${turnPort}?transport=tcp`, '--turn-secret', SECRET], 'relay', udpPort);
  } catch (e) {
    check('the scenario ran to the end', false, e instanceof Error ? e.stack : String(e));
  } finally {
    coturn?.kill('SIGTERM');
    if (process.env.KEEP_TMP) console.log(`# kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
  const med = (xs) => { const v = [...xs].sort((a, b) => a - b); return v.length ? v[v.length >> 1] : null; };
  for (const r of results) {
    console.log(`# ${r.name}: connect() → first audio, median of 3 pages: ${med(r.firstAudio)} ms; move → new room heard: ${r.heardAt} ms`);
  }
  console.log(`# wall time: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
