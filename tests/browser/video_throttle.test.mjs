// Real-browser test of issue 14's poor-link rule: "a receiver on a poor link degrades to lower
// layers and then to audio only, never stalls audio".
//
// Two publishers (P, Q) send Chromium's fake camera at 640x360 with the SDK's simulcast (RIDs
// q, h, f: Chromium sends the layers that size allows) and their own tone; two receivers (R,
// S) publish no camera. Once both receivers decode both cameras (R one of them above the lowest
// layer), the server's traffic to R is
// throttled: a `tc` HTB class with a token bucket (300 kbit/s) on `lo`, matched on R's UDP port
// (the local side of its selected candidate pair). Then, polled with a deadline:
//
// * R's video slots drop to a lower layer (the largest decoded frameHeight falls below what it
//   was) or stop receiving frames (audio only);
// * R's audio slots keep receiving (packetsReceived grows) and its analysers still hear both
//   publishers' tones;
// * S (not throttled) keeps decoding both cameras; its frame heights are printed.
//
// Run it through ./run.sh video_throttle.test.mjs (a network namespace with only `lo`, where
// `tc` may change `lo`'s queueing). Environment: ALCOVE_BIN, CHROMIUM, KEEP_TMP=1, RATE (the
// token bucket's rate, default 300kbit).

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeTone } from './tones.mjs';
import { startServer as startServerIn } from './server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const BIN = process.env.ALCOVE_BIN ?? join(ROOT, 'target/debug/alcove');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const RATE = process.env.RATE ?? '300kbit';
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
];
const PEOPLE = [
  { name: 'P', role: 'moderator', hz: 300, camera: true },
  { name: 'Q', role: 'participant', hz: 500, camera: true },
  { name: 'R', role: 'participant', hz: 700, camera: false },
  { name: 'S', role: 'participant', hz: 900, camera: false },
];
const DEADLINE_MS = 45_000;
/** The lowest simulcast layer of a 640x360 camera (RID q, a quarter). */
const LOWEST_HEIGHT = 90;
const HEARD_FRACTION = 0.1;

let failures = 0;
/** @param {string} label @param {boolean} ok @param {unknown} [detail] */
function check(label, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}${ok || detail === undefined ? '' : `\n     ${JSON.stringify(detail)}`}`);
  if (!ok) failures++;
}

/** @param {string} tmp */
const startServer = (tmp) => startServerIn(BIN, ROOT, tmp);

async function openPage(who, base, tmp) {
  const wav = join(tmp, `${who.name}-${who.hz}Hz.wav`);
  writeTone(wav, who.hz);
  const launcher = join(tmp, 'chromium-nice.sh');
  // Below the server's priority: the browsers stand for users' own machines (video5.test.mjs).
  writeFileSync(launcher, `#!/bin/sh\nexec nice -n 5 ${JSON.stringify(CHROMIUM)} "$@"\n`, { mode: 0o755 });
  const browser = await chromium.launch({
    executablePath: launcher,
    headless: true,
    args: [...CHROMIUM_FLAGS, `--use-file-for-fake-audio-capture=${wav}`],
    ignoreDefaultArgs: ['--mute-audio'],
  });
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`[${who.name}] page error: ${e.message}`));
  await page.route(`${base}/favicon.ico`, (route) => route.fulfill({ status: 204 }));
  await page.goto(`${base}/healthz`);
  await page.addScriptTag({ content: readFileSync(join(HERE, 'harness.js'), 'utf8'), type: 'module' });
  await page.waitForFunction(() => /** @type {any} */ (window).T?.ready === true);
  return { ...who, browser, page, clientId: '' };
}

function call(p, fn, ...args) {
  return p.page.evaluate(([f, a]) => /** @type {any} */ (window).T[f](...a), [fn, args]);
}

/**
 * One 2 s window on a receiver: per publisher (by the video map) the frames decoded and the
 * frame height on its slot; audio packets on all audio slots; the tones heard.
 * @param {any} p @param {Record<string, string>} nameOf clientId → name @param {Record<string, string>} toneName
 */
async function sample(p, nameOf, toneName) {
  await call(p, 'resetWindow');
  const v1 = await call(p, 'videoSlots');
  const a1 = await call(p, 'audioSlots');
  await sleep(2000);
  const v2 = await call(p, 'videoSlots');
  const a2 = await call(p, 'audioSlots');
  const w = await call(p, 'readWindow');
  /** @type {Record<string, {frames: number, height: number, packets: number}>} */
  const video = {};
  for (const [slot, who] of v2.map) {
    video[nameOf[who] ?? who] = {
      frames: v2.slots[slot].framesDecoded - (v1.slots[slot]?.framesDecoded ?? 0),
      packets: v2.slots[slot].packetsReceived - (v1.slots[slot]?.packetsReceived ?? 0),
      height: v2.slots[slot].frameHeight,
    };
  }
  const audioPackets = a2.reduce((n, s) => n + s.packetsReceived, 0) - a1.reduce((n, s) => n + s.packetsReceived, 0);
  const heard = Object.entries(w.tone).filter(([, n]) => n >= HEARD_FRACTION * w.frames).map(([tone]) => toneName[tone] ?? tone).sort();
  return { video, audioPackets, heard, frames: w.frames };
}

/** @param {string[]} args */
function tc(args) {
  execFileSync('tc', args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function main() {
  const t0 = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), 'alcove-throttle-'));
  let server = null;
  let ps = [];
  let throttled = false;
  try {
    server = await startServer(tmp);
    const room = (await server.post('/v1/rooms', {
      name: 'browser video throttle test', owner_ref: 'tests/browser', settings: { mode: 'group', max_active_talkers: 4 },
    })).room;
    ps = await Promise.all(PEOPLE.map((who) => openPage(who, server.base, tmp)));
    const byName = Object.fromEntries(ps.map((p) => [p.name, p]));
    const { P, Q, R, S } = byName;
    const signal = `ws://127.0.0.1:${new URL(server.base).port}/v1/signal`;
    await Promise.all(ps.map(async (p) => {
      const { token } = await server.post(`/v1/rooms/${room.room_id}/tokens`, { name: p.name, role: p.role, user_ref: `u-${p.name}` });
      const info = await call(p, 'join', signal, token, { simulcast: true });
      p.clientId = info.clientId;
      if (p.camera) {
        const pub = await call(p, 'publishCamera', 640, 360);
        check(`${p.name}: publishes its fake camera at 640x360`, pub.ok, pub);
      }
    }));
    const nameOf = Object.fromEntries(ps.map((p) => [p.clientId, p.name]));
    const toneName = Object.fromEntries(ps.map((p) => [String(p.hz), p.name]));
    const toneOwner = Object.fromEntries(ps.map((p) => [String(p.hz), p.clientId]));
    await Promise.all(ps.map((p) => call(p, 'setTones', toneOwner)));
    for (const p of [P, Q]) {
      const send = await call(p, 'cameraSend');
      check(`${p.name}: the camera is offered as simulcast q, h, f`, send.simulcastLine === 'a=simulcast:send q;h;f' && send.encodings.join() === 'q,h,f', send);
      console.log(`# ${p.name} sends ${JSON.stringify(send.outbound)}`);
    }

    // 1. Both receivers decode both cameras, R at least one of them above the lowest layer
    //    (else there is no lower layer to go to: on a loaded machine the browser's own uplink
    //    estimate may hold a publisher at its lowest layer for a while).
    const decodesBoth = (s) => ['P', 'Q'].every((n) => (s.video[n]?.frames ?? 0) > 0);
    const aboveLowest = (s) => Object.values(s.video).some((v) => v.frames > 0 && v.height > LOWEST_HEIGHT);
    let before = {};
    const by = Date.now() + DEADLINE_MS;
    for (;;) {
      before = { R: await sample(R, nameOf, toneName), S: await sample(S, nameOf, toneName) };
      if ((decodesBoth(before.R) && aboveLowest(before.R) && decodesBoth(before.S)) || Date.now() > by) break;
    }
    check(`R decodes both cameras before the throttle, one above the lowest layer (${LOWEST_HEIGHT} px)`, decodesBoth(before.R) && aboveLowest(before.R), before.R);
    check('S decodes both cameras before the throttle', decodesBoth(before.S), before.S);
    const topR = Math.max(...Object.values(before.R.video).map((v) => v.height));
    console.log(`# before: R ${JSON.stringify(before.R.video)}; S ${JSON.stringify(before.S.video)}`);

    // 2. Throttle the server's traffic to R.
    const local = await call(R, 'localPort');
    check('R has a UDP candidate pair', local?.protocol === 'udp', local);
    // HTB (this kernel has no prio qdisc): everything in 1:20, unshaped; UDP to R's port in 1:10
    // at RATE, whose token bucket drops what waited more than 300 ms (a poor link, not an
    // endless queue).
    tc(['qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '20']);
    throttled = true;
    tc(['class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:20', 'htb', 'rate', '1gbit', 'quantum', '60000']);
    tc(['class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', RATE, 'ceil', RATE, 'quantum', '1600']);
    tc(['qdisc', 'add', 'dev', 'lo', 'parent', '1:10', 'handle', '10:', 'tbf', 'rate', RATE, 'burst', '16kbit', 'latency', '300ms']);
    tc(['filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32',
      'match', 'ip', 'protocol', '17', '0xff', 'match', 'ip', 'dport', String(local.port), '0xffff', 'flowid', '1:10']);
    const throttledAt = Date.now();

    // 3. R degrades (lower layer or no frames) and keeps its audio; S keeps both cameras.
    const degraded = (s) => Object.values(s.video).every((v) => v.frames === 0 || v.height < topR);
    const audioOk = (s) => s.audioPackets > 0 && ['P', 'Q'].every((n) => s.heard.includes(n));
    let after = {};
    const by2 = Date.now() + DEADLINE_MS;
    for (;;) {
      after = { R: await sample(R, nameOf, toneName), S: await sample(S, nameOf, toneName) };
      if ((degraded(after.R) && audioOk(after.R) && decodesBoth(after.S)) || Date.now() > by2) break;
    }
    console.log(`# throttled R for ${Date.now() - throttledAt} ms: R ${JSON.stringify(after.R.video)}; S ${JSON.stringify(after.S.video)}`);
    check(`R (throttled to ${RATE}) moves below ${topR} px or to audio only on every video slot`, degraded(after.R), after.R);
    check('R keeps receiving audio and hears both publishers', audioOk(after.R), after.R);
    check('S (not throttled) keeps decoding both cameras', decodesBoth(after.S), after.S);

    // 4. The operator sees it: the server counted the congestion it acted on.
    const metrics = await (await fetch(`${server.base}/metrics`, { headers: { authorization: server.auth } })).text();
    const cuts = metrics.split('\n').filter((l) => l.startsWith('alcove_video_congestion_cuts_total'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    check('/metrics counts the congestion cuts (alcove_video_congestion_cuts_total > 0)', cuts > 0, cuts);
  } finally {
    if (throttled) {
      try { tc(['qdisc', 'del', 'dev', 'lo', 'root']); } catch { /* the namespace goes anyway */ }
    }
    await Promise.all(ps.map((p) => p.browser.close().catch(() => {})));
    server?.proc.kill();
    if (process.env.KEEP_TMP === '1') console.log(`# kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`# video_throttle: ${Date.now() - t0} ms`);
  console.log(failures === 0 ? '# video_throttle: all checks passed' : `# video_throttle: ${failures} check(s) failed`);
  process.exit(failures === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
