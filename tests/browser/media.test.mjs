// Real-browser test of Alcove's media plane: five Chromium processes, each capturing its own
// pure tone as its microphone, connect through the browser SDK served by the server. Every page
// analyses each of its audio slots (WebAudio FFT → dominant frequency → tone → clientId) and
// the test asserts who hears whom through break-out moves, that one peer connection carries
// every move without renegotiation, that screen share and canvas reach only the sharer's
// break-out room, and prints how long a move takes until the browser hears the new room.
//
// Run it through ./run.sh (a network namespace with only `lo`). Environment:
//   ALCOVE_BIN  the server binary (default <repo>/target/debug/alcove)
//   CHROMIUM    the browser (default /usr/bin/chromium)
//   KEEP_TMP=1  keep the temp dir (server log, WAV files)
//   SLOT_GATE=0 connect with the SDK's slot gate off (`slotGate: false`), to compare
//
// It also measures what a person hears during moves (docs: the issue's targets) and prints them
// as rows for the README's performance table: request → new room heard; request → new room
// heard AND old room silent; fresh join / complete move; the worst per-slot jitter-buffer delay
// after 10 moves and 5 fresh joins. Its timing guards — old-room audio heard more than 300 ms
// after the new room (or by the old room, of the mover, more than 300 ms after it learnt of the
// move), a jitter-buffer delay above 300 ms after the churn that is not the browser's own target
// (never above 600 ms) — are printed, and asserted only with TIMING_GUARDS=1 (a quiet machine).

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
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

/** The participants: name, role, tone. BR1 = A, B; BR2 = C, D; M stays in the parent. */
const PEOPLE = [
  { name: 'M', role: 'moderator', hz: 300 },
  { name: 'A', role: 'participant', hz: 500 },
  { name: 'B', role: 'participant', hz: 700 },
  { name: 'C', role: 'participant', hz: 900 },
  { name: 'D', role: 'participant', hz: 1100 },
];
const NAMES = PEOPLE.map((p) => p.name);
/**
 * A page "hears" a tone when some slot carries it in at least this share of the window's
 * frames. This test checks routing (who hears whom), not audio quality: on two cores starved by
 * five browsers and other load, Chromium renders a routed tone in only a third of the frames
 * (measured: 24–43 %). A tone that is not routed to a page shows in none of its frames (checked
 * strictly: "hears no one else, in any frame"), so a tenth of the frames is a clear presence.
 */
const HEARD_FRACTION = 0.1;
const WINDOW_MS = 1000;
/** After a move, how long the test keeps listening for the old room. */
const OBSERVE_MS = 1500;
/** Regression guards (the issue's targets are tighter; they are printed, not asserted). */
const MAX_OLD_AFTER_NEW_MS = 300;
const MAX_JITTER_BUFFER_MS = 300;
/**
 * A delay above MAX_JITTER_BUFFER_MS is still the browser's own choice (not a slot left behind
 * by a move) when it is within one 20 ms frame of the jitter buffer's own target: a starved
 * Chromium raises its target for network jitter it measured. The regression this guards
 * against (slot time not following the clock) held 0.7–1.9 s with the target far below, so any
 * delay above HARD_MAX_JITTER_BUFFER_MS fails whatever the target.
 */
const JITTER_TARGET_SLACK_MS = 20;
const HARD_MAX_JITTER_BUFFER_MS = 600;
/** @param {{delayMs: number, targetMs: number | null}} j */
const jitterBufferOk = (j) =>
  j.delayMs <= MAX_JITTER_BUFFER_MS ||
  (j.delayMs <= HARD_MAX_JITTER_BUFFER_MS && j.targetMs !== null && j.delayMs <= j.targetMs + JITTER_TARGET_SLACK_MS);
const SLOT_GATE = process.env.SLOT_GATE !== '0';
/**
 * The timing guards (old-room audio after the new room, the old room hearing the mover after
 * it learnt of the move, jitter-buffer delay after the churn) are measurements of how fast a
 * move sounds, so by default they are printed, not asserted: on a starved machine (the
 * flake hunt runs the suite under `stress-ng`) Chromium plays late whatever the server does,
 * and timing must not decide a test's outcome. `TIMING_GUARDS=1` asserts them (the README's
 * performance runs, on a quiet machine). Who hears whom, forbidden tones and every
 * "hears X eventually" stay asserted always.
 */
const TIMING_GUARDS = process.env.TIMING_GUARDS === '1';
/**
 * `LISTEN_ONLY=1` runs the parent phase, the listen-in phase (issue 11) and the one-peer-
 * connection checks only: for working on listen-in without the whole scenario.
 */
const LISTEN_ONLY = process.env.LISTEN_ONLY === '1';

// ---- results ---------------------------------------------------------------------------------

let passed = 0;
let failed = 0;
let timingMissed = 0;
/**
 * @param {string} label
 * @param {boolean} ok
 * @param {unknown} [detail] printed when the check fails
 */
function check(label, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok     ${label}`);
  } else {
    failed++;
    console.log(`FAILED ${label}${detail === undefined ? '' : `\n       ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`);
  }
}

/**
 * A timing guard: a check under `TIMING_GUARDS=1`, else printed (as `timing` when met,
 * `TIMING` when missed) and counted, never failing the run.
 * @param {string} label
 * @param {boolean} ok
 * @param {unknown} [detail]
 */
function timing(label, ok, detail) {
  if (TIMING_GUARDS) return check(label, ok, detail);
  if (ok) {
    console.log(`timing ${label}`);
  } else {
    timingMissed++;
    console.log(`TIMING ${label} (missed; not asserted without TIMING_GUARDS=1)${detail === undefined ? '' : `\n       ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`);
  }
}

/** @param {Iterable<string>} a @param {Iterable<string>} b */
function sameSet(a, b) {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
/** @param {number[]} xs */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---- server ----------------------------------------------------------------------------------

/**
 * Starts the server on port 0 (the OS picks a free port: nothing is probed and given up) and
 * reads the address it prints into its log; that line comes once its sockets are bound, its
 * database is open and the development credentials are written.
 */
async function startServer(tmp) {
  const dataDir = join(tmp, 'data');
  const logPath = join(tmp, 'server.log');
  const log = openSync(logPath, 'w');
  const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--udp-listen', '127.0.0.1:0', '--data-dir', dataDir], {
    stdio: ['ignore', log, log],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  const deadline = Date.now() + 30_000;
  let base = null;
  while (base === null) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}: ${readFileSync(logPath, 'utf8')}`);
    base = readFileSync(logPath, 'utf8').match(/listening on (http:\/\/[0-9.:]+)/)?.[1] ?? null;
    if (base === null && Date.now() > deadline) throw new Error(`server did not start within 30 s: ${readFileSync(logPath, 'utf8')}`);
    if (base === null) await sleep(20);
  }
  const creds = JSON.parse(readFileSync(join(dataDir, 'dev-credentials.json'), 'utf8'));
  const auth = 'Basic ' + Buffer.from(`${creds.app_id}:${creds.app_key}`).toString('base64');
  /** @param {string} path @param {unknown} body */
  const post = async (path, body) => {
    const r = await fetch(base + path, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const j = await r.json();
    if (!r.ok || j.result !== 0) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(j)}`);
    return j;
  };
  return { proc, base, logPath, post, auth };
}

// ---- browsers --------------------------------------------------------------------------------

/**
 * @param {{name: string, hz: number}} who
 * @param {string} base
 * @param {string} tmp
 */
async function openPage(who, base, tmp) {
  const wav = join(tmp, `${who.name}-${who.hz}Hz.wav`);
  writeTone(wav, who.hz);
  // playwright-core gives every launch its own fresh temporary --user-data-dir. Its default
  // --mute-audio is dropped so remote audio is rendered exactly as for a user.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, `--use-file-for-fake-audio-capture=${wav}`],
    ignoreDefaultArgs: ['--mute-audio'],
  });
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`[${who.name}] page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[${who.name}] console error: ${m.text()}`);
  });
  // The page is a real document of the server's origin (its /healthz answer), so the browser
  // treats it like the demo page (same origin, loopback address space: a page fulfilled by
  // request interception would be a public-address-space page and Chromium's Local Network
  // Access checks would block its WebSocket to 127.0.0.1). The harness goes in as a module script.
  await page.route(`${base}/favicon.ico`, (route) => route.fulfill({ status: 204 }));
  await page.goto(`${base}/healthz`);
  await page.addScriptTag({ content: readFileSync(join(HERE, 'harness.js'), 'utf8'), type: 'module' });
  await page.waitForFunction(() => /** @type {any} */ (window).T?.ready === true);
  return { ...who, browser, page, clientId: '', tone: who.hz };
}

/**
 * @param {any} p a participant with a page
 * @param {string} fn a T.* function name
 * @param {unknown[]} args
 */
function call(p, fn, ...args) {
  return p.page.evaluate(([f, a]) => /** @type {any} */ (window).T[f](...a), [fn, args]);
}

/**
 * Polls `fn(arg)` in the page until it is true (at most 20 s); a check records the outcome.
 * @param {any} p @param {(arg: any) => boolean} fn @param {unknown} arg @param {string} label
 */
async function waitFor(p, fn, arg, label) {
  const deadline = Date.now() + 20_000;
  let ok = false;
  while (!(ok = await p.page.evaluate(fn, arg)) && Date.now() < deadline) await sleep(20);
  check(label, ok);
}

// ---- listening -------------------------------------------------------------------------------

/** @param {any[]} ps */
async function listen(ps, ms) {
  await Promise.all(ps.map((p) => call(p, 'resetWindow')));
  await sleep(ms);
  return Promise.all(ps.map((p) => call(p, 'readWindow')));
}

/**
 * What a window says a page heard: names heard steadily, and names heard in any frame at all.
 * @param {any} w a T.readWindow() result
 * @param {Record<string, string>} toneName tone → name
 */
function hearing(w, toneName) {
  const steady = [];
  const any = [];
  for (const [tone, n] of Object.entries(w.tone)) {
    const name = toneName[tone] ?? `?${tone}`;
    any.push(name);
    if (n >= HEARD_FRACTION * w.frames) steady.push(name);
  }
  return { steady: steady.sort(), any: any.sort() };
}

/**
 * Waits (up to `timeoutMs`) until every page steadily hears exactly its expected set, then
 * listens for one more window and checks it strictly: the expected names steadily, nobody else
 * in any frame on any slot, the SDK's slot map (activeTalkersUpdated) naming exactly the expected
 * clients, and every detected tone on the slot the map gives its owner.
 *
 * A strict window that fails only because the page was starved (too few analysis frames,
 * silence, a glitch that matches no tone) is repeated until the deadline: on a machine short
 * of CPU, audio stalls for a moment without anything being routed wrongly. A tone heard where
 * it must not be (isolation) or on the wrong slot is never repeated: it fails at once.
 * @param {string} phase
 * @param {any[]} ps
 * @param {Record<string, string[]>} expected name → names it must hear
 */
async function expectHearing(phase, ps, expected, timeoutMs = 20_000) {
  const toneName = Object.fromEntries(ps.map((p) => [String(p.tone), p.name]));
  const idOf = Object.fromEntries(ps.map((p) => [p.name, p.clientId]));
  const nameOfId = Object.fromEntries(ps.map((p) => [p.clientId, p.name]));
  const deadline = Date.now() + timeoutMs;
  let repeats = 0;
  for (;;) {
    for (;;) {
      const ws = await listen(ps, 300);
      const settled = ps.every((p, i) => {
        const h = hearing(ws[i], toneName);
        return sameSet(h.steady, expected[p.name]) && sameSet(h.any, expected[p.name]);
      });
      if (settled || Date.now() > deadline) break;
    }
    const ws = await listen(ps, WINDOW_MS);
    /** @type {[string, boolean, unknown][]} */
    const results = [];
    let misrouted = false;
    ps.forEach((p, i) => {
      const w = ws[i];
      const h = hearing(w, toneName);
      const want = expected[p.name];
      const detail = { frames: w.frames, tones: w.tone, slots: w.slots, talkers: w.talkers.map(([s, c]) => [s, nameOfId[c] ?? c]), location: w.location, ctx: w.ctxState };
      results.push([`${phase}: ${p.name} hears ${want.length ? want.join(', ') : 'nobody'}`, sameSet(h.steady, want) && w.frames > 50, detail]);
      const extra = h.any.filter((n) => !want.includes(n));
      if (extra.length > 0 || w.mismatches > 0) misrouted = true;
      results.push([`${phase}: ${p.name} hears no one else, in any frame on any slot`, extra.length === 0 && w.unknown === 0, { extra, unknown: w.unknown, ...detail }]);
      results.push([`${phase}: ${p.name}'s slot map (activeTalkersUpdated) names exactly ${want.length ? want.join(', ') : 'nobody'}`,
        sameSet(w.talkers.map(([, c]) => c), want.map((n) => idOf[n])), detail]);
      results.push([`${phase}: ${p.name} hears each tone on the slot the map gives its owner`, w.mismatches === 0, { mismatches: w.mismatches, samples: w.mismatchSamples }]);
    });
    const passedAll = results.every(([, ok]) => ok);
    if (passedAll || misrouted || Date.now() > deadline) {
      if (repeats > 0) console.log(`# ${phase}: strict window repeated ${repeats}x (starved windows: too few frames, silence or glitches)`);
      for (const [label, ok, detail] of results) check(label, ok, detail);
      return;
    }
    repeats++;
  }
}

/** @param {string[]} names */
const hzOf = (names) => names.map((n) => PEOPLE.find((x) => x.name === n).hz);

/**
 * Arms `watchers` ({p, from, old}) and runs `action` (which returns the page-side timing of the
 * request); then listens for OBSERVE_MS. For each watcher it records when the first frame of a
 * new-room tone (`from`) was heard and when the last frame of an old-room tone (`old`) was,
 * both from the request, and the SDK's `slotAudible` for the new room.
 * @param {string} label
 * @param {{p: any, from: string[], old?: string[], mover?: boolean}[]} watchers
 * @param {() => Promise<any>} action
 * @param {any[]} latencies
 */
async function timedMove(label, watchers, action, latencies) {
  const key = `w${Math.random().toString(16).slice(2)}`;
  await Promise.all(watchers.map((w) => call(w.p, 'arm', key, hzOf(w.from), hzOf(w.old ?? []))));
  const r = await action();
  check(`${label}: request acknowledged`, r.ok, r);
  const deadline = Date.now() + 20_000;
  for (const w of watchers) {
    if (!w.from.length) continue;
    let wt;
    for (;;) {
      wt = await call(w.p, 'watcher', key);
      if (wt.first !== null || Date.now() > deadline) break;
      await sleep(20);
    }
    check(`${label}: ${w.p.name} did not hear ${w.from.join('/')} before the move`, !wt.presentAtArm, wt);
    check(`${label}: ${w.p.name} hears its new room (${w.from.join('/')}) after the move`, wt.first !== null, wt);
  }
  await sleep(Math.max(0, r.t0 + OBSERVE_MS - Date.now()));
  for (const w of watchers) {
    const wt = await call(w.p, 'watcher', key);
    const rel = (/** @type {number | null} */ t) => (t === null ? null : Math.round(t - r.t0));
    const rec = {
      who: w.p.name, mover: !!w.mover, move: label, from: w.from, old: w.old ?? [],
      ack: Math.round(r.tAck - r.t0),
      ms: rel(wt.first), // new room heard
      lastOld: rel(wt.lastOld), // old room last heard
      oldFrames: wt.oldFrames,
      heard: PEOPLE.find((x) => x.hz === wt.tone)?.name,
      map: rel(wt.mapAt),
      audible: rel(wt.audibleAt),
      // When this page learnt that the old room is gone (its move notification, or the first map
      // without the old talkers): the SDK's gate closes then.
      learnt: [rel(wt.moveAt), rel(wt.dropAt)].filter((x) => x !== null).reduce((a, b) => Math.min(a, b), Infinity),
      slot: wt.slot,
      jb: w.from.length && wt.first !== null ? await call(w.p, 'jitterSince', key) : null,
    };
    if (w.from.length && wt.first !== null) {
      // Complete: the new room is heard and the old one silent.
      rec.complete = Math.max(rec.ms, rec.lastOld ?? 0);
      if (rec.old.length) {
        timing(`${label}: ${w.p.name} hears no old-room audio (${rec.old.join('/')}) more than ${MAX_OLD_AFTER_NEW_MS} ms after the new room`,
          rec.lastOld === null || rec.lastOld - rec.ms <= MAX_OLD_AFTER_NEW_MS, rec);
      }
    }
    if (rec.learnt === Infinity) rec.learnt = null;
    if (rec.old.length) {
      // The SDK's part, whatever the machine's load: no old-room audio more than 300 ms after
      // the page learnt that the old room is gone.
      timing(`${label}: ${w.p.name} hears ${rec.old.join('/')} at most ${MAX_OLD_AFTER_NEW_MS} ms after learning of the move`,
        rec.lastOld === null || (rec.learnt !== null && rec.lastOld - rec.learnt <= MAX_OLD_AFTER_NEW_MS), rec);
    }
    latencies.push(rec);
  }
  return r;
}

// ---- the report ------------------------------------------------------------------------------

/** @param {(number | null)[]} xs */
const stats = (xs) => {
  const v = /** @type {number[]} */ (xs.filter((x) => x !== null));
  return v.length ? { min: Math.min(...v), median: median(v), max: Math.max(...v), n: v.length } : null;
};

/**
 * Prints every move and the issue's targets, the latter as README table rows.
 * @param {any[]} latencies @param {number[]} freshJoins @param {any[]} jitterAfterChurn
 */
function report(latencies, freshJoins, jitterAfterChurn) {
  console.log(`# moves (ms from the request sent in the page; slot gate ${SLOT_GATE ? 'on' : 'off'}): ack, activeTalkersUpdated, new room first heard, old room last heard, SDK slotAudible`);
  for (const l of latencies) {
    const jb = l.jb ? `; jitter buffer meanwhile ${l.jb.delayMs} ms (target ${l.jb.targetMs})` : '';
    const role = l.mover ? 'mover' : 'listener';
    console.log(`#   ${l.move}: ${l.who} (${role}) ack ${l.ack}, learnt ${l.learnt}, map ${l.map}, heard ${l.from.join('/') || '-'}: ${l.ms}, old ${l.old.join('/') || '-'} last: ${l.lastOld} (${l.oldFrames} frames), slotAudible ${l.audible}${jb}`);
  }
  const movers = latencies.filter((l) => l.mover && l.ms !== null);
  const heard = stats(movers.map((l) => l.ms));
  const complete = stats(movers.map((l) => l.complete));
  const oldAfterNew = stats(movers.filter((l) => l.old.length).map((l) => (l.lastOld === null ? 0 : Math.max(0, l.lastOld - l.ms))));
  const moverHeardByOld = stats(latencies.filter((l) => !l.mover && !l.from.length && l.old.length).map((l) => l.lastOld ?? 0));
  const gateLag = stats(latencies.filter((l) => l.old.length && l.learnt !== null).map((l) => (l.lastOld === null ? 0 : Math.max(0, l.lastOld - l.learnt))));
  const learnt = stats(latencies.filter((l) => l.learnt !== null).map((l) => l.learnt));
  const audibleLag = stats(movers.filter((l) => l.audible !== null).map((l) => l.audible - l.ms));
  const fresh = stats(freshJoins);
  const worst = jitterAfterChurn.reduce((a, b) => (a && a.delayMs >= b.delayMs ? a : b), null);
  const f = (/** @type {any} */ x) => (x ? `median ${x.median} ms, max ${x.max} ms (min ${x.min}, n=${x.n})` : 'n/a');
  console.log(`# request → new room heard (movers): ${f(heard)}`);
  console.log(`# request → new room heard AND old room silent (movers): ${f(complete)}`);
  console.log(`# old-room audio after the new room was heard (movers): ${f(oldAfterNew)}`);
  console.log(`# request → the old room stops hearing the mover (last frame): ${f(moverHeardByOld)}`);
  console.log(`# SDK slotAudible − analyser's first new-room frame (movers): ${f(audibleLag)}`);
  console.log(`# request → the page learns of the move (its notification or map): ${f(learnt)}`);
  console.log(`# old-room audio after the page learnt of the move (the gate's own latency, analyser window included): ${f(gateLag)}`);
  console.log(`# fresh join (connect() → first room-mate heard): ${f(fresh)}`);
  const ratio = fresh && complete ? (fresh.median / complete.median).toFixed(1) : 'n/a';
  console.log(`# fresh join / complete move, ratio of medians: ${ratio}`);
  if (worst) console.log(`# worst per-slot jitter-buffer delay after the churn: ${worst.delayMs} ms (target ${worst.targetMs} ms; ${worst.who} slot ${worst.slot}; ${jitterAfterChurn.length} slots)`);
  const top = [...jitterAfterChurn].sort((a, b) => b.delayMs - a.delayMs).slice(0, 6);
  console.log(`# slowest slots after the churn: ${top.map((j) => `${j.who} slot ${j.slot} (${j.talkerName}) ${j.delayMs}/${j.targetMs} ms`).join('; ')}`);
  console.log('# README rows (Chromium 5 pages with tones, this run, slot gate ' + (SLOT_GATE ? 'on' : 'off') + '):');
  console.log(`# | request → new room heard **and** old room silent, median / max | ${complete ? `${complete.median} ms / ${complete.max} ms` : 'n/a'} | < 150 ms / < 300 ms |`);
  console.log(`# | request → new room heard, median | ${heard ? `${heard.median} ms` : 'n/a'} | < 100 ms |`);
  console.log(`# | fresh join / complete move, ratio of medians | ${ratio} (fresh ${fresh ? fresh.median : 'n/a'} ms) | ≥ 3 |`);
  console.log(`# | worst per-slot jitter-buffer delay after ${new Set(latencies.map((l) => l.move)).size} moves and ${freshJoins.length} fresh joins | ${worst ? `${worst.delayMs} ms` : 'n/a'} | < 100 ms |`);
}

// ---- listen-in (issue 11) --------------------------------------------------------------------

/**
 * A listen-in guard's tone may show for a moment on a slot that sat empty and then got a new
 * talker: Chromium plays 20–40 ms of what the slot carried before (its decoder / jitter-buffer
 * state), i.e. audio this page heard legitimately before the split. Such a blip is told apart
 * from a routing leak by all of: at most this many analyser frames (10 ms each) over the whole
 * phase, on a slot the SDK's map gives to someone allowed, whose previous talker was the very
 * client whose tone it is. It is printed; anything else fails.
 */
const STALE_BLIP_FRAMES = 6;

/**
 * Checks a listen-in guard (`never heard X`): no frame at all, or only a stale-slot blip.
 * @param {string} label @param {any} g a watcher @param {string[]} forbidden clientIds
 * @param {(g: any) => any} when
 */
function guardCheck(label, g, forbidden, when) {
  if (g.first === null) return check(label, true);
  const owner = (g.mapAtFirst ?? []).find(([s]) => s === g.slot)?.[1] ?? null;
  const blip = g.hits <= STALE_BLIP_FRAMES && forbidden.includes(g.prevAtFirst) && !forbidden.includes(owner);
  if (blip) console.log(`# ${label}: a stale-slot blip (${g.hits} frame(s) of ${g.tone} Hz on slot ${g.slot}, now mapped to ${owner}, before that to ${g.prevAtFirst}): ${JSON.stringify(when(g).steps ?? [])}`);
  check(`${label}${blip ? ' (one stale-slot blip, printed)' : ''}`, blip, when(g));
}

/**
 * Waits (deadline 20 s) until `p`'s SDK state satisfies `fn` (run in the page on `T.listenState()`).
 * @param {any} p @param {string} fn a function body over `s` @param {unknown} arg @param {string} label
 */
async function waitListen(p, fn, arg, label) {
  const deadline = Date.now() + 20_000;
  let s;
  for (;;) {
    s = await p.page.evaluate(([body, a]) => new Function('s', 'arg', body)(/** @type {any} */ (window).T.listenState(), a), [fn, arg]);
    if (s || Date.now() > deadline) break;
    await sleep(50);
  }
  check(label, !!s, await call(p, 'listenState'));
}

/**
 * The listen-in phase, from everyone in the parent: BR1 = A+B, BR2 = C, parent = M (moderator)
 * + D. M listens to BR1 (hears A, B and D, never C), talks in (A and B hear M only then), walks
 * between BR1 and BR2 by ear (timed: request → first audio of the new room at M), listens with
 * the parent paused, stops; then broadcasts (everyone hears M, still nobody another room).
 * Guards armed for the whole phase: C never hears A or B, A and B never hear C.
 * @param {any[]} ps @param {Record<string, any>} byName @param {any[]} switches
 */
async function listenIn(ps, byName, switches) {
  const { M, A, B, C, D } = byName;
  /** @type {[number, string][]} When each step was requested (epoch ms), to place a guard's hit. */
  const marks = [];
  const mark = (/** @type {string} */ what) => marks.push([Date.now(), what]);
  /** A guard's first hit relative to the steps. @param {any} g */
  const when = (g) => (g.first === null ? g : { ...g, steps: marks.map(([t, w]) => `${w} @ ${Math.round(t - g.first)} ms`) });
  const made = await call(M, 'createBreakOutRoom', { participants: 2, audio: true, video: false, canvas: false, share: false, max_rooms: 2 });
  check('listen-in: moderator creates BR1 and BR2', made.ok && made.ack?.msg?.rooms?.length === 2, made);
  const [L1, L2] = made.ack.msg.rooms;
  for (const [p, to] of [[A, L1], [B, L1], [C, L2]]) {
    const r = await call(M, 'moveTo', p.clientId, to);
    check(`listen-in: moveToBreakoutRoom(${p.name}, ${to === L1 ? 'BR1' : 'BR2'}) acknowledged`, r.ok, r);
  }
  const split = { M: ['D'], D: ['M'], A: ['B'], B: ['A'], C: [] };
  await expectHearing('listen-in: BR1 = A+B, BR2 = C, parent = M+D', ps, split);
  // From here to the end of the phase: no BR1 tone in BR2, no BR2 tone in BR1.
  await call(C, 'arm', 'never-br1', hzOf(['A', 'B']));
  for (const p of [A, B]) await call(p, 'arm', 'never-br2', hzOf(['C']));

  // 1. M listens to BR1 (parent mixed): hears A, B and D; its voice stays in the parent.
  mark('listenTo BR1');
  const l1 = await call(M, 'listenTo', L1);
  check('listen-in: listenTo(BR1) acknowledged', l1.ok && l1.ack?.type === 'ackListenTo', l1);
  for (const p of [A, B]) {
    await waitListen(p, 'return s.monitoredBy.some((m) => m.room_id === arg.room && m.moderators.some((u) => u.clientId === arg.m))',
      { room: L1, m: M.clientId }, `listen-in: ${p.name} (BR1) sees that M listens (monitoredBy)`);
  }
  const listening = { M: ['A', 'B', 'D'], D: ['M'], A: ['B'], B: ['A'], C: [] };
  await expectHearing('listen-in: M listens to BR1 (parent mixed)', ps, listening);

  // 2. Talk-in: BR1 hears M while it is on, and only then.
  mark('talkTo BR1 on');
  const t1 = await call(M, 'talkTo', L1, true);
  check('listen-in: talkTo(BR1, on) acknowledged', t1.ok, t1);
  await waitListen(A, 'return s.monitoredBy.some((m) => m.talking.includes(arg))', M.clientId, 'listen-in: A sees that M talks into BR1');
  await expectHearing('listen-in: M talks into BR1', ps, { M: ['A', 'B', 'D'], D: ['M'], A: ['B', 'M'], B: ['A', 'M'], C: [] });
  mark('talkTo BR1 off');
  const t0 = await call(M, 'talkTo', L1, false);
  check('listen-in: talkTo(BR1, off) acknowledged', t0.ok, t0);
  await expectHearing('listen-in: talk-in off, M still listens to BR1', ps, listening);
  for (const p of [A, B]) await call(p, 'arm', 'no-m-at-br1', hzOf(['M']));

  // 3. Walking from room to room by ear: each switch timed from the request (sent in M's
  //    page) to the first analyser frame of the new room's tone at M.
  mark('switches');
  const s1 = await timedMove('listen switch 1: BR1 → BR2', [{ p: M, mover: true, from: ['C'], old: ['A', 'B'] }], () => call(M, 'listenTo', L2), switches);
  check('listen-in: switch acknowledged', s1.ok && s1.ack?.type === 'ackListenTo', s1);
  await expectHearing('listen-in: M switched to BR2 (hears C and D, never A or B)', ps, { M: ['C', 'D'], D: ['M'], A: ['B'], B: ['A'], C: [] });
  await waitListen(C, 'return s.monitoredBy.some((m) => m.moderators.some((u) => u.clientId === arg))', M.clientId, 'listen-in: C (BR2) sees that M listens');
  await waitListen(A, 'return s.monitoredBy.length === 0', null, 'listen-in: A (BR1) sees nobody listens any more');
  for (let k = 2; k <= 4; k++) {
    await timedMove(`listen switch ${k}: BR2 → BR1`, [{ p: M, mover: true, from: ['A', 'B'], old: ['C'] }], () => call(M, 'listenTo', L1), switches);
    await timedMove(`listen switch ${k}: BR1 → BR2`, [{ p: M, mover: true, from: ['C'], old: ['A', 'B'] }], () => call(M, 'listenTo', L2), switches);
  }

  // 4. The parent paused while listening: M hears BR1 only; then stopListening.
  mark('listenTo BR1 paused');
  const lp = await call(M, 'listenTo', L1, 'paused');
  check('listen-in: listenTo(BR1, {parent: "paused"}) acknowledged', lp.ok, lp);
  await expectHearing('listen-in: M listens to BR1 with the parent paused', ps, { M: ['A', 'B'], D: ['M'], A: ['B'], B: ['A'], C: [] });
  mark('stopListening');
  const st = await call(M, 'stopListening');
  check('listen-in: stopListening acknowledged', st.ok, st);
  await waitListen(A, 'return s.monitoredBy.length === 0', null, 'listen-in: A sees nobody listens after stopListening');
  await expectHearing('listen-in: stopped listening', ps, split);
  for (const p of [A, B]) {
    const g = await call(p, 'watcher', 'no-m-at-br1');
    guardCheck(`listen-in: ${p.name} (BR1) never heard M while talk-in was off (switches, paused, stop)`, g, [M.clientId], when);
  }

  // 5. Audio broadcast: every room hears M, and still no room hears another.
  mark('startBroadcast');
  const b1 = await call(M, 'startBroadcast');
  check('listen-in: startBroadcast() acknowledged', b1.ok && b1.ack?.type === 'ackStartBroadcast', b1);
  for (const p of [A, B, C, D]) {
    await waitListen(p, 'return s.audioBroadcasts.some((u) => u.clientId === arg)', M.clientId, `listen-in: ${p.name} is told M broadcasts (audioBroadcast)`);
  }
  await expectHearing('listen-in: M broadcasts to every room', ps, { M: ['D'], D: ['M'], A: ['B', 'M'], B: ['A', 'M'], C: ['M'] });
  mark('stopBroadcast');
  const b0 = await call(M, 'stopBroadcast');
  check('listen-in: stopBroadcast acknowledged', b0.ok, b0);
  await waitListen(C, 'return s.audioBroadcasts.length === 0', null, 'listen-in: C is told the broadcast ended');
  await expectHearing('listen-in: broadcast over', ps, split);

  const cg = await call(C, 'watcher', 'never-br1');
  guardCheck('listen-in: BR2 (C) never heard BR1 (A, B) at any point', cg, [A.clientId, B.clientId], when);
  for (const p of [A, B]) {
    const g = await call(p, 'watcher', 'never-br2');
    guardCheck(`listen-in: ${p.name} (BR1) never heard BR2 (C) at any point`, g, [C.clientId], when);
  }
  const end = await call(M, 'destroyAll');
  check('listen-in: destroy-all ends BR1 and BR2', end.ok, end);
}

/**
 * Prints every listen switch and the switch latency (printed, never asserted).
 * @param {any[]} switches
 */
function reportListen(switches) {
  if (!switches.length) return;
  console.log('# listen switches (ms from the request sent in the moderator\'s page): ack, first audio of the new room, old room last heard');
  for (const l of switches) {
    console.log(`#   ${l.move}: ack ${l.ack}, heard ${l.from.join('/')}: ${l.ms} (${l.heard ?? '-'}), old ${l.old.join('/')} last: ${l.lastOld} (${l.oldFrames} frames), slotAudible ${l.audible}`);
  }
  const f = (/** @type {any} */ x) => (x ? `median ${x.median} ms, min ${x.min}, max ${x.max} (n=${x.n})` : 'n/a');
  const toBr2 = stats(switches.filter((l) => l.move.endsWith('BR1 → BR2')).map((l) => l.ms));
  const all = stats(switches.map((l) => l.ms));
  const complete = stats(switches.map((l) => l.complete ?? null));
  console.log(`# listen switch latency, listenTo BR1 → BR2 (request → first audio from BR2 at the moderator): ${f(toBr2)}`);
  console.log(`# listen switch latency, every switch (both directions): ${f(all)}`);
  console.log(`# listen switch, new room heard AND old room silent: ${f(complete)}`);
  console.log(`# | listen switch (listenTo BR1 → BR2) → first audio of BR2, Chromium, median | ${toBr2 ? `${toBr2.median} ms` : 'n/a'} | < 200 ms |`);
}

// ---- the scenario ----------------------------------------------------------------------------

async function main() {
  const t0 = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), 'alcove-browser-'));
  /** @type {any} */
  let server = null;
  /** @type {any[]} */
  let ps = [];
  const latencies = [];
  /** @type {number[]} */
  const freshJoins = [];
  /** @type {any[]} */
  const jitterAfterChurn = [];
  /** @type {any[]} */
  const listenSwitches = [];
  try {
    server = await startServer(tmp);
    const room = (await server.post('/v1/rooms', {
      name: 'browser media test', owner_ref: 'tests/browser',
      settings: { mode: 'group', max_active_talkers: 6, screen_share: true, canvas: true },
    })).room;
    ps = await Promise.all(PEOPLE.map((who) => openPage(who, server.base, tmp)));
    const byName = Object.fromEntries(ps.map((p) => [p.name, p]));
    const { M, A, B, C, D } = byName;
    const signal = `ws://127.0.0.1:${new URL(server.base).port}/v1/signal`;
    await Promise.all(ps.map(async (p) => {
      const { token } = await server.post(`/v1/rooms/${room.room_id}/tokens`, { name: p.name, role: p.role, user_ref: `u-${p.name}` });
      const info = await call(p, 'join', signal, token, { slotGate: SLOT_GATE });
      p.clientId = info.clientId;
      check(`${p.name}: media negotiated with 6 audio slots + share/canvas slots`, info.slots === 6 && !!info.mids?.share_slot && !!info.mids?.canvas_slot, info);
    }));
    const toneOwner = Object.fromEntries(ps.map((p) => [String(p.tone), p.clientId]));
    await Promise.all(ps.map((p) => call(p, 'setTones', toneOwner)));
    console.log(`# ${ps.length} browsers connected in ${Date.now() - t0} ms`);

    // 1. Parent: everyone hears everyone else.
    const others = (n) => NAMES.filter((x) => x !== n);
    await expectHearing('parent', ps, Object.fromEntries(NAMES.map((n) => [n, others(n)])), 30_000);
    for (const p of ps) {
      const first = await p.page.evaluate(() => /** @type {any} */ (window).T.firstAudioAt - /** @type {any} */ (window).T.joinStartedAt);
      console.log(`# ${p.name}: join() called → first audio on a slot: ${Math.round(first)} ms (all five join at once)`);
    }

    phases: {
    if (LISTEN_ONLY) break phases;
    // 2. Two break-out rooms; A then C go first (their rooms are empty), then B joins A and D
    //    joins C: B and D each hear their new room's member, who was paused out of the parent.
    const created = await call(M, 'createBreakOutRoom', { participants: 2, audio: true, video: false, canvas: true, share: true, max_rooms: 2 });
    check('moderator creates two break-out rooms (share + canvas)', created.ok && created.ack?.msg?.rooms?.length === 2, created);
    const [BR1, BR2] = created.ack.msg.rooms;
    for (const [p, br] of [[A, BR1], [C, BR2]]) {
      const r = await call(M, 'forceInvite', [p.clientId], br);
      check(`force_join ${p.name} into ${br === BR1 ? 'BR1' : 'BR2'}: acknowledged`, r.ok, r);
    }
    await expectHearing('A alone in BR1, C alone in BR2 (both paused)', ps, { M: ['B', 'D'], A: [], B: ['M', 'D'], C: [], D: ['M', 'B'] });
    await timedMove('force_join B into BR1', [{ p: B, mover: true, from: ['A'], old: ['M', 'D'] }, { p: M, from: [], old: ['B'] }, { p: D, from: [], old: ['B'] }], () => call(M, 'forceInvite', [B.clientId], BR1), latencies);
    // D is invited without force_join and joins itself (joinBreakoutRoom on the parent handle).
    const inv = await call(M, 'invite', [D.clientId], BR2);
    check('invite D to BR2 (no force_join): acknowledged', inv.ok && inv.ack?.result === 0, inv);
    await waitFor(D, (br) => /** @type {any} */ (window).T.room.invitations.has(br), BR2, 'D holds the invitation to BR2');
    await timedMove('D joinBreakoutRoom(BR2)', [{ p: D, mover: true, from: ['C'], old: ['M'] }, { p: M, from: [], old: ['D'] }], () => call(D, 'joinBreakout', BR2), latencies);
    for (const [p, br] of [[A, BR1], [B, BR1], [C, BR2], [D, BR2]]) {
      const loc = await p.page.evaluate(() => /** @type {any} */ (window).T.room.location);
      check(`${p.name} is in ${br === BR1 ? 'BR1' : 'BR2'} (forced join)`, loc?.breakout === br, loc);
    }
    await expectHearing('split (BR1 = A+B, BR2 = C+D, M alone in the parent)', ps, { M: [], A: ['B'], B: ['A'], C: ['D'], D: ['C'] });

    // 3. Screen share (A) and canvas (B) inside BR1.
    const share = await call(A, 'shareScreen');
    check('A shares its screen in BR1 (getDisplayMedia + startShare)', share.ok, share);
    const canvas = await call(B, 'shareCanvas');
    check('B streams an animated canvas in BR1 (captureStream + startCanvas)', canvas.ok, canvas);
    const videoStats = async () => Object.fromEntries(await Promise.all(ps.map(async (p) => [p.name, await call(p, 'videoStats')])));
    // Waits (deadline 20 s) for B to decode A's share and A to decode B's canvas, then for
    // both counts to grow: conditions, not fixed waits.
    const videoBy = Date.now() + 20_000;
    let v1 = await videoStats();
    while (!(v1.B.share.framesDecoded > 0 && v1.A.canvas.framesDecoded > 0) && Date.now() < videoBy) {
      await sleep(100);
      v1 = await videoStats();
    }
    let v2 = await videoStats();
    while (!(v2.B.share.framesDecoded > v1.B.share.framesDecoded && v2.A.canvas.framesDecoded > v1.A.canvas.framesDecoded) && Date.now() < videoBy) {
      await sleep(100);
      v2 = await videoStats();
    }
    const grows = (n, slot) => v2[n][slot].framesDecoded > v1[n][slot].framesDecoded && v1[n][slot].framesDecoded > 0;
    const silent = (n, slot) => v2[n][slot].framesDecoded === 0 && v2[n][slot].bytesReceived === 0 && v2[n][slot].packetsReceived === 0;
    check('B decodes A\'s screen share on its share slot (framesDecoded grows)', grows('B', 'share'), { before: v1.B.share, after: v2.B.share });
    check('A decodes B\'s canvas on its canvas slot (framesDecoded grows)', grows('A', 'canvas'), { before: v1.A.canvas, after: v2.A.canvas });
    check('A receives nothing on its own share slot; B nothing on its own canvas slot', silent('A', 'share') && silent('B', 'canvas'), { A: v2.A.share, B: v2.B.canvas });
    for (const n of ['C', 'D', 'M']) {
      check(`${n} (${n === 'M' ? 'parent' : 'BR2'}) receives no packet on its share or canvas slot`, silent(n, 'share') && silent(n, 'canvas'), v2[n]);
    }
    // The notifications travel over the signalling connection, the frames over UDP: on a
    // starved machine the media can be decoded before the page has read the notification, so
    // wait for both notifications (deadline 20 s), then check each arrived exactly once.
    const readLogs = async () => Object.fromEntries(await Promise.all(ps.map(async (p) => [p.name, await p.page.evaluate(() => /** @type {any} */ (window).T.log)])));
    let logs = await readLogs();
    const started = (n, type) => logs[n].filter((e) => e.type === type);
    const notifiedBy = Date.now() + 20_000;
    while (!(started('B', 'shareStarted').length > 0 && started('A', 'canvasStarted').length > 0) && Date.now() < notifiedBy) {
      await sleep(100);
      logs = await readLogs();
    }
    check('shareStarted reaches B once (A\'s share, BR1)', started('B', 'shareStarted').length === 1 && started('B', 'shareStarted')[0].clientId === A.clientId && started('B', 'shareStarted')[0].room_id === BR1, started('B', 'shareStarted'));
    check('canvasStarted reaches A once (B\'s canvas, BR1)', started('A', 'canvasStarted').length === 1 && started('A', 'canvasStarted')[0].clientId === B.clientId && started('A', 'canvasStarted')[0].room_id === BR1, started('A', 'canvasStarted'));
    check('no shareStarted to A (the sharer), C, D or M', ['A', 'C', 'D', 'M'].every((n) => started(n, 'shareStarted').length === 0), Object.fromEntries(['A', 'C', 'D', 'M'].map((n) => [n, started(n, 'shareStarted')])));
    check('no canvasStarted to B (the sharer), C, D or M', ['B', 'C', 'D', 'M'].every((n) => started(n, 'canvasStarted').length === 0), Object.fromEntries(['B', 'C', 'D', 'M'].map((n) => [n, started(n, 'canvasStarted')])));
    await expectHearing('BR1 sharing', ps, { M: [], A: ['B'], B: ['A'], C: ['D'], D: ['C'] });

    // 4. B leaves BR1 (disconnect on its handle): it hears the parent (M) again; its canvas ends.
    await timedMove('B disconnect() from BR1', [{ p: B, mover: true, from: ['M'], old: ['A'] }, { p: A, from: [], old: ['B'] }], () => call(B, 'disconnectBreakout'), latencies);
    await expectHearing('B back in the parent', ps, { M: ['B'], A: [], B: ['M'], C: ['D'], D: ['C'] });
    const logs2 = Object.fromEntries(await Promise.all(ps.map(async (p) => [p.name, await p.page.evaluate(() => /** @type {any} */ (window).T.log)])));
    check('A gets canvasStopped when B leaves BR1', logs2.A.some((e) => e.type === 'canvasStopped' && e.clientId === B.clientId), logs2.A.filter((e) => e.type.startsWith('canvas')));
    const bLocal = await call(B, 'localSharing');
    check('B\'s SDK ended its canvas when it left BR1 (track stopped, sender cleared)', bLocal.localCanvasTrack === null && bLocal.canvasSender === null && bLocal.canvas === null, bLocal);
    const aLocal = await call(A, 'localSharing');
    check('A\'s SDK still shares its screen in BR1, and knows of no canvas', aLocal.localShareTrack === 'live' && aLocal.shareSender === 'live' && aLocal.canvas === null, aLocal);
    const v3 = Object.fromEntries(await Promise.all(ps.map(async (p) => [p.name, await call(p, 'videoStats')])));
    await sleep(700);
    const v4 = Object.fromEntries(await Promise.all(ps.map(async (p) => [p.name, await call(p, 'videoStats')])));
    check('B (now in the parent) no longer receives A\'s screen share', v4.B.share.packetsReceived === v3.B.share.packetsReceived, { before: v3.B.share, after: v4.B.share });
    check('A no longer receives a canvas (B left)', v4.A.canvas.packetsReceived === v3.A.canvas.packetsReceived, { before: v3.A.canvas, after: v4.A.canvas });
    check('M (parent) still receives no share/canvas packet', silent('M', 'share') && v4.M.share.packetsReceived === 0 && v4.M.canvas.packetsReceived === 0, v4.M);

    // 5. destroyAllBreakOutSession: everyone is back in the parent and hears everyone.
    await timedMove('destroyAllBreakOutSession', [
      { p: A, mover: true, from: ['M', 'B', 'C', 'D'] },
      { p: C, mover: true, from: ['M', 'A', 'B'] },
      { p: D, mover: true, from: ['M', 'A', 'B'] },
    ], () => call(M, 'destroyAll'), latencies);
    const aLocal2 = await call(A, 'localSharing');
    check('A\'s SDK ended its screen share when destroy-all moved it to the parent', aLocal2.localShareTrack === null && aLocal2.shareSender === null && aLocal2.share === null, aLocal2);
    await expectHearing('after destroyAllBreakOutSession', ps, Object.fromEntries(NAMES.map((n) => [n, others(n)])));

    // 6. Churn: eleven more moves, each with talkers on both sides, timed like the ones above.
    const made = await call(M, 'createBreakOutRoom', { participants: 2, audio: true, video: false, canvas: false, share: false, max_rooms: 2 });
    check('moderator creates two more break-out rooms for the churn', made.ok && made.ack?.msg?.rooms?.length === 2, made);
    const [BR3, BR4] = made.ack.msg.rooms;
    await timedMove('churn: force_join A into BR3', [{ p: A, from: [], old: ['M', 'B', 'C', 'D'] }, { p: M, from: [], old: ['A'] }],
      () => call(M, 'forceInvite', [A.clientId], BR3), latencies);
    await timedMove('churn: force_join C into BR4', [{ p: C, from: [], old: ['M', 'B', 'D'] }, { p: M, from: [], old: ['C'] }],
      () => call(M, 'forceInvite', [C.clientId], BR4), latencies);
    for (let round = 1; round <= 2; round++) {
      await timedMove(`churn ${round}: force_join B into BR3`,
        [{ p: B, mover: true, from: ['A'], old: ['M', 'D'] }, { p: A, from: ['B'] }, { p: M, from: [], old: ['B'] }, { p: D, from: [], old: ['B'] }],
        () => call(M, 'forceInvite', [B.clientId], BR3), latencies);
      await timedMove(`churn ${round}: B disconnect() from BR3`,
        [{ p: B, mover: true, from: ['M', 'D'], old: ['A'] }, { p: M, from: ['B'] }, { p: A, from: [], old: ['B'] }],
        () => call(B, 'disconnectBreakout'), latencies);
      await timedMove(`churn ${round}: force_join D into BR4`,
        [{ p: D, mover: true, from: ['C'], old: ['M', 'B'] }, { p: C, from: ['D'] }, { p: M, from: [], old: ['D'] }, { p: B, from: [], old: ['D'] }],
        () => call(M, 'forceInvite', [D.clientId], BR4), latencies);
      await timedMove(`churn ${round}: D disconnect() from BR4`,
        [{ p: D, mover: true, from: ['M', 'B'], old: ['C'] }, { p: M, from: ['D'] }, { p: C, from: [], old: ['D'] }],
        () => call(D, 'disconnectBreakout'), latencies);
    }
    await timedMove('churn: destroyAllBreakOutSession', [
      { p: A, mover: true, from: ['M', 'B', 'D'], old: [] },
      { p: C, mover: true, from: ['M', 'B', 'D'], old: [] },
    ], () => call(M, 'destroyAll'), latencies);
    await expectHearing('after the churn', ps, Object.fromEntries(NAMES.map((n) => [n, others(n)])));

    // 6a. One-step move (issue 10): the moderator moves A from room X straight into room Y.
    //     A never hears the parent (M, D) on the way, the parent never hears A, and A hears
    //     Y's member (C) afterwards. Timed like the moves above, reported on their own lines.
    const facilitationMoves = [];
    const made2 = await call(M, 'createBreakOutRoom', { participants: 2, audio: true, video: false, canvas: false, share: false, max_rooms: 2 });
    check('moderator creates rooms X and Y for the one-step move', made2.ok && made2.ack?.msg?.rooms?.length === 2, made2);
    const [X, Y] = made2.ack.msg.rooms;
    for (const [p, to] of [[A, X], [B, X], [C, Y]]) {
      const r = await call(M, 'moveTo', p.clientId, to);
      check(`moveToBreakoutRoom(${p.name}, ${to === X ? 'X' : 'Y'}) from the parent acknowledged`, r.ok, r);
    }
    await expectHearing('X = A+B, Y = C, parent = M+D', ps, { M: ['D'], D: ['M'], A: ['B'], B: ['A'], C: [] });
    await call(A, 'trackLocation');
    const guard = 'never-the-parent';
    await call(A, 'arm', guard, hzOf(['M', 'D']));
    await call(M, 'arm', guard, hzOf(['A']));
    await call(D, 'arm', guard, hzOf(['A']));
    await timedMove('moveToBreakoutRoom(A, X → Y)',
      [{ p: A, mover: true, from: ['C'], old: ['B'] }, { p: C, from: ['A'] }, { p: B, from: [], old: ['A'] }],
      () => call(M, 'moveTo', A.clientId, Y), facilitationMoves);
    await expectHearing('after the one-step move (X = B, Y = A+C)', ps, { M: ['D'], D: ['M'], A: ['C'], C: ['A'], B: [] });
    const aGuard = await call(A, 'watcher', guard);
    check('A never heard the parent (M, D) during or after its move from X to Y', aGuard.first === null, aGuard);
    for (const p of [M, D]) {
      const g = await call(p, 'watcher', guard);
      check(`${p.name} (parent) never heard A during its move from X to Y`, g.first === null, g);
    }
    const aLocations = await A.page.evaluate(() => /** @type {any} */ (window).T.locations);
    check('A\'s SDK never put A in the parent during the move (locations seen: X then Y)', JSON.stringify(aLocations) === JSON.stringify([Y]) || JSON.stringify(aLocations) === JSON.stringify([X, Y]), aLocations);
    const aLog = await A.page.evaluate(() => /** @type {any} */ (window).T.log);
    const movedNotice = aLog.filter((e) => e.type === 'didDisconnectedBreakoutRoom' && e.room_id === X);
    check('A got didDisconnectedBreakoutRoom(X) with reason "moved", location Y, still paused in Y',
      movedNotice.length === 1 && movedNotice[0].reason === 'moved' && movedNotice[0].location?.breakout === Y && movedNotice[0].here?.breakout === Y && movedNotice[0].paused === true, movedNotice);

    // 6b. A room timer (issue 10): Y (A + C) gets 4 s with a 2 s warning. The warning arrives
    //     once (members and the moderator); at the end A and C are back in the parent and hear
    //     it (M, D); B, in X, hears nobody. Only deadlines here: the server's frames decide.
    //     (The server skips a warning whose moment it only reaches after the end, so the two
    //     are 2 s apart: a server starved for longer than that would fail "once".)
    const setT = await call(M, 'setTimer', Y, 4, 2);
    check('setBreakoutDuration(Y, 4 s, warning 2 s) acknowledged', setT.ok, setT);
    const timedOut = (log) => log.some((e) => e.type === 'didDisconnectedBreakoutRoom' && e.room_id === Y && e.reason === 'timeout');
    const endBy = Date.now() + 20_000;
    /** @type {Record<string, any[]>} */
    let tlogs = {};
    for (;;) {
      tlogs = Object.fromEntries(await Promise.all([A, C, M].map(async (p) => [p.name, await p.page.evaluate(() => /** @type {any} */ (window).T.log)])));
      if ((timedOut(tlogs.A) && timedOut(tlogs.C)) || Date.now() > endBy) break;
      await sleep(100);
    }
    for (const n of ['A', 'C']) {
      const end = tlogs[n].filter((e) => e.type === 'didDisconnectedBreakoutRoom' && e.room_id === Y);
      check(`${n}: the timer's end returns it to the parent (didDisconnectedBreakoutRoom reason "timeout", location parent)`,
        end.length === 1 && end[0].reason === 'timeout' && end[0].location === 'parent' && end[0].here === 'parent', end);
    }
    await expectHearing('after Y\'s timer ended (X = B alone)', ps, { M: ['A', 'C', 'D'], A: ['M', 'C', 'D'], C: ['M', 'A', 'D'], D: ['M', 'A', 'C'], B: [] });
    for (const n of ['A', 'C', 'M']) {
      const warnings = tlogs[n].filter((e) => e.type === 'breakoutTimerWarning' && e.room_id === Y);
      check(`${n}: the timer warning for Y arrived once`, warnings.length === 1, tlogs[n].filter((e) => e.type.startsWith('breakoutTimer')));
    }
    for (const l of facilitationMoves) {
      console.log(`#   ${l.move}: ${l.who} (${l.mover ? 'mover' : 'listener'}) ack ${l.ack}, learnt ${l.learnt}, heard ${l.from.join('/') || '-'}: ${l.ms}, old ${l.old.join('/') || '-'} last: ${l.lastOld}, slotAudible ${l.audible}`);
    }
    const endX = await call(M, 'destroyAll');
    check('destroy-all ends X', endX.ok, endX);
    await expectHearing('after the facilitation moves', ps, Object.fromEntries(NAMES.map((n) => [n, others(n)])));
    } // phases 2–6b

    // 6c. Listen-in, talk-in and audio broadcast (issue 11).
    await listenIn(ps, byName, listenSwitches);
    await expectHearing('after listen-in', ps, Object.fromEntries(NAMES.map((n) => [n, others(n)])));

    // 7. One peer connection per client, negotiated once, connected throughout.
    for (const p of ps) {
      const r = await call(p, 'pcReport');
      check(`${p.name}: one RTCPeerConnection, the SDK's, for the whole test`, r.pcCount === 1 && r.sameAsSdk, r);
      check(`${p.name}: negotiated once (1 createOffer, 1 setLocalDescription, 1 setRemoteDescription, no ICE restart)`,
        r.calls.createOffer === 1 && r.calls.setLocalDescription === 1 && r.calls.setRemoteDescription === 1 && r.calls.createAnswer === 0 && r.calls.restartIce === 0, r.calls);
      check(`${p.name}: no negotiationneeded after the answer`, r.negotiationNeeded.afterAnswer === 0, r.negotiationNeeded);
      const states = r.connStates.map(([, s]) => s);
      const firstConnected = states.indexOf('connected');
      const ice = r.iceStates.map(([, s]) => s);
      // A starved machine can miss ICE consent checks for a few seconds: the browser then
      // reports `disconnected` and recovers on its own, on the same connection, with no ICE
      // restart (checked above). That is reported, not failed; `failed` or `closed` fail.
      const drops = states.slice(firstConnected).filter((s) => s === 'disconnected').length;
      if (drops > 0) {
        const how = r.connectionState === 'connected' ? 'recovered without a restart' : `not recovered (now ${r.connectionState})`;
        console.log(`# ${p.name}: ${drops} ICE disconnect(s), ${how}: ${ice.join(' → ')}`);
      }
      check(`${p.name}: connectionState reached connected and ended connected, never failed or closed`,
        r.connectionState === 'connected' && firstConnected >= 0 && !states.some((s) => ['failed', 'closed'].includes(s)) && r.signalingState === 'stable',
        { states, ice, now: r.connectionState });
      check(`${p.name}: ICE never failed, closed or restarted`, ice.includes('connected') && !ice.some((s) => ['failed', 'closed'].includes(s)) && ice.filter((s) => s === 'checking').length <= 1, ice);
    }

    tail: {
    if (LISTEN_ONLY) break tail;
    // 8. Five fresh joins: D leaves and connects again with a new token (a new signalling
    //    connection and peer connection, as a new user would); connect() → first room-mate
    //    heard. Each new D reuses the slots the previous one left in the others' maps.
    for (let k = 1; k <= 5; k++) {
      await call(D, 'leave');
      await sleep(700);
      const { token } = await server.post(`/v1/rooms/${room.room_id}/tokens`, { name: 'D', role: 'participant', user_ref: `u-D${k}` });
      const info = await call(D, 'join', signal, token, { slotGate: SLOT_GATE });
      D.clientId = info.clientId;
      const owners = Object.fromEntries(ps.map((p) => [String(p.tone), p.clientId]));
      await Promise.all(ps.map((p) => call(p, 'setTones', owners)));
      const deadline = Date.now() + 5000;
      let first = null;
      while (Date.now() < deadline) {
        first = await D.page.evaluate(() => /** @type {any} */ (window).T.firstAudioAt);
        if (first !== null) break;
        await sleep(20);
      }
      const started = await D.page.evaluate(() => /** @type {any} */ (window).T.joinStartedAt);
      check(`fresh join ${k}: D hears a room-mate`, first !== null);
      if (first !== null) freshJoins.push(Math.round(first - started));
      await sleep(800);
    }
    await expectHearing('after five fresh joins of D', ps, Object.fromEntries(NAMES.map((n) => [n, others(n)])));

    // 9. Every slot's jitter buffer after the churn: Δ jitterBufferDelay / Δ emitted over 2 s.
    const jbs = await Promise.all(ps.map(async (p) => [p.name, await call(p, 'jitterWindow', 2000)]));
    for (const [name, slots] of jbs) {
      for (const sl of slots) if (sl.talker !== null && sl.delayMs !== null) jitterAfterChurn.push({ who: name, ...sl });
    }
    const worst = jitterAfterChurn.reduce((a, b) => (a && a.delayMs >= b.delayMs ? a : b), null);
    const late = jitterAfterChurn.filter((j) => !jitterBufferOk(j));
    check('the jitter buffer of at least one talker slot was measured after the churn', worst !== null, jbs);
    timing(
      `every per-slot jitter-buffer delay after the churn is at most ${MAX_JITTER_BUFFER_MS} ms, or within ${JITTER_TARGET_SLACK_MS} ms of the browser's own target and at most ${HARD_MAX_JITTER_BUFFER_MS} ms`,
      late.length === 0,
      late.length ? late : worst,
    );
    } // phases 8–9

    // 10. What Chromium heard above was sealed by the server's shards themselves (the direct
    // SRTP path of audio slots, crates/core/src/media/srtp.rs), never by str0m's send streams.
    const metrics = await (await fetch(`${server.base}/metrics`, { headers: { authorization: server.auth } })).text();
    const forwarded = (path) => metrics.split('\n')
      .filter((l) => l.startsWith('alcove_audio_forwarded_packets_total{') && l.includes(`path="${path}"`))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    check('the audio Chromium heard went out on the direct SRTP path', forwarded('direct') > 0 && forwarded('str0m') === 0,
      { direct: forwarded('direct'), str0m: forwarded('str0m') });
  } catch (e) {
    check('the scenario ran to the end', false, e instanceof Error ? e.stack : String(e));
  } finally {
    await Promise.all(ps.map((p) => p.browser.close().catch(() => {})));
    if (server) {
      server.proc.kill('SIGTERM');
      if (failed > 0) {
        const log = readFileSync(server.logPath, 'utf8');
        if (log.trim()) console.log(`# server log (tail):\n${log.split('\n').slice(-40).join('\n')}`);
      }
    }
    // Move latencies (also when the scenario stopped early).
    const names = Object.fromEntries(ps.map((p) => [p.clientId, p.name]));
    report(latencies, freshJoins, jitterAfterChurn.map((j) => ({ ...j, talkerName: names[j.talker] ?? `${j.talker} (an earlier D?)` })));
    reportListen(listenSwitches);
    if (process.env.KEEP_TMP) console.log(`# kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`# browser test wall time: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed${TIMING_GUARDS ? '' : `; timing guards: ${timingMissed} missed (printed, not asserted: TIMING_GUARDS=1 asserts them)`}`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
