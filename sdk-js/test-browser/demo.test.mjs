// The demo page and the SDK's media in a real browser, against the real server with media on:
// three people join through the page, the moderator creates a break-out room and invites two
// of them through the UI, they accept; audio flows between them and not to the parent; a canvas
// and a screen share reach the other member; the moderator listens in, talks in (push-to-talk)
// and broadcasts from the listen-in grid; destroy-all brings everyone back.
//
// Needs Chromium (or Chrome): $CHROME_PATH, or chromium / chromium-browser / google-chrome on
// the PATH. Skipped without one. Run with `npm run test:browser`.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startServer } from '../test-support/server.mjs';

const candidates = [process.env.CHROME_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']
  .filter((p) => p && existsSync(p));
const chrome = candidates[0];

let server;
let browser;
const problems = [];

before(async (t) => {
  if (!chrome) return;
  const { default: puppeteer } = await import('puppeteer-core');
  // --dev: the demo page mints its tokens through POST /demo/join (development mode only).
  server = await startServer({ media: true, args: ['--dev'], diagnostic: (m) => t.diagnostic(m) });
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
    defaultViewport: { width: 1400, height: 900 },
  });
});

after(async () => {
  await browser?.close();
  server?.stop();
});

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

async function join(name, role) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => problems.push(`[${name}] page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`[${name}] console error: ${m.text()}`);
  });
  page.on('dialog', (d) => d.accept());
  await page.goto(server.base + '/');
  await page.$eval('#join-name', (el, v) => { el.value = v; }, name);
  await page.click(`input[name=role][value=${role}]`);
  await page.click('#join-button');
  await page.waitForSelector('#room-view:not([hidden])', { timeout: 10_000 });
  await until(`${name}'s media to connect`, () => page.evaluate(() => {
    const s = window.alcoveRoom.media.state;
    return s.state === 'connected' && s.connectionState === 'connected';
  }));
  return page;
}

const press = (page, selector) => page.$eval(selector, (b) => b.click());
const here = (page) => page.$eval('#here-name', (e) => e.textContent);
const clickText = async (page, xpath) => {
  const [el] = await page.$$(`xpath/${xpath}`);
  assert.ok(el, `no element ${xpath}`);
  await el.click();
};
const state = (page) => page.evaluate(() => {
  const r = window.alcoveRoom;
  return {
    clientId: r.clientId,
    talkersRoomId: r.talkersRoomId,
    talkers: [...r.talkers].map(([slot, t]) => ({ slot, clientId: t.clientId })),
    levels: [...r.talkers.keys()].map((slot) => r.slotLevel(slot)),
  };
});

test('demo: break-out room with audio, canvas and screen share in a real browser', { skip: !chrome && 'no Chromium found' }, async () => {
  const ada = await join('Ada', 'moderator');
  const ben = await join('Ben', 'participant');
  const chiara = await join('Chiara', 'participant');
  const ids = {};
  for (const [n, p] of Object.entries({ ada, ben, chiara })) ids[n] = (await state(p)).clientId;

  // Everyone hears everyone in the main room.
  await until('Ada to have two talkers', async () => (await state(ada)).talkers.length === 2);

  // Ada creates one room of two places and invites Ben and Chiara through the UI.
  await ada.$eval('#cr-rooms', (el) => { el.value = '1'; });
  await ada.click('#btn-create');
  await ada.waitForSelector('.room-card');
  for (const box of await ada.$$('#people .person input[type=checkbox]')) await box.click();
  await clickText(ada, './/button[contains(., "Invite selected")]');
  for (const p of [ben, chiara]) {
    await p.waitForSelector('.invitation');
    await clickText(p, './/div[contains(@class,"invitation")]//button[contains(., "Join")]');
  }
  await until('both in Breakout 1', async () => (await here(ben)) === 'Breakout 1' && (await here(chiara)) === 'Breakout 1');

  // Slots are re-mapped without renegotiation: Ben hears Chiara, Ada hears nobody.
  const br = await until('Ben to hear Chiara', async () => {
    const s = await state(ben);
    return s.talkers.some((t) => t.clientId === ids.chiara) && s.talkersRoomId;
  });
  assert.notEqual(br, await ada.evaluate(() => window.alcoveRoom.roomId));
  await until('Ada to hear nobody (isolation)', async () => (await state(ada)).talkers.length === 0);
  await until('audio level from Chiara at Ben', async () => (await state(ben)).levels.some((l) => l > 0), 15_000);

  // Ben streams the canvas; Chiara receives frames; Ada (in the main room) does not.
  await ben.click('#btn-canvas');
  await until('canvas frames at Chiara', () => chiara.evaluate(() => {
    const v = /** @type {HTMLVideoElement} */ (document.getElementById('canvas-video'));
    return !document.getElementById('canvas-figure').hidden && v.videoWidth > 0;
  }));
  assert.equal(await ada.$eval('#canvas-figure', (e) => e.hidden), true);

  // Chiara shares her screen; Ben receives frames.
  await chiara.click('#btn-share');
  await until('screen share frames at Ben', () => ben.evaluate(() => {
    const v = /** @type {HTMLVideoElement} */ (document.getElementById('share-video'));
    return !document.getElementById('share-figure').hidden && v.videoWidth > 0;
  }));

  // Facilitation through the page's controls. `press` clicks in the page (the lists are
  // redrawn on every state change, so a mouse click at a position may hit a replaced node).
  // A timer on the room: Ben sees the countdown.
  await ada.$eval('.room-card .timer-seconds', (el) => { el.value = '600'; el.dispatchEvent(new Event('input')); });
  await press(ada, '.room-card .set-timer');
  await until('the countdown at Ben', () => ben.evaluate(() => {
    const t = document.getElementById('here-timer');
    return !t.hidden && /closes in \d+:\d\d/.test(t.textContent);
  }));
  // Help: Ben asks, Ada sees the queue and dismisses it.
  await press(ben, '#btn-help');
  await ada.waitForSelector(`#help-queue .help-item[data-client-id="${ids.ben}"]`);
  const [dismiss] = await ada.$$('xpath/.//li[contains(@class,"help-item")]//button[contains(., "Dismiss")]');
  assert.ok(dismiss, 'a Dismiss button in the help queue');
  await dismiss.evaluate((b) => b.click());
  await until('Ben can ask again', () => ben.$eval('#btn-help', (b) => !b.hidden));
  // A broadcast reaches Ben.
  await ada.$eval('#bc-text', (el) => { el.value = 'Five minutes left'; });
  await press(ada, '#btn-broadcast');
  await until('the broadcast at Ben', () => ben.$eval('#broadcasts', (e) => e.textContent.includes('Five minutes left')));
  // Mute Ben, ask him to unmute, he unmutes.
  await press(ada, `#people .person[data-client-id="${ids.ben}"] .mute-btn`);
  await until('Ben sees he is muted', () => ben.$eval('#mod-mute', (e) => !e.hidden));
  await ada.waitForSelector(`#people .person[data-client-id="${ids.ben}"] .ask-unmute-btn`);
  await press(ada, `#people .person[data-client-id="${ids.ben}"] .ask-unmute-btn`);
  await until('Ben is asked', () => ben.$eval('#btn-unmute-self', (b) => !b.hidden));
  await press(ben, '#btn-unmute-self');
  await until('Ben unmuted', () => ben.$eval('#mod-mute', (e) => e.hidden));
  // Rename: Ben's page follows.
  await ada.$eval('.room-card .rename-input', (el) => { el.value = 'Red'; el.dispatchEvent(new Event('input')); });
  await press(ada, '.room-card .rename-btn');
  await until('Ben in "Red"', async () => (await here(ben)) === 'Red');

  // Listen-in (issue 11) through the page: Ada's tile for the room, its Listen toggle; Ben and
  // Chiara see the banner naming her; Ada hears them from the main room. Push-to-talk held:
  // Ben hears Ada, and no longer once released. Broadcast to all rooms: Ben hears Ada and sees
  // who speaks.
  await ada.waitForSelector('#listen-grid .listen-tile');
  await press(ada, '#listen-grid .listen-tile .listen-btn');
  for (const p of [ben, chiara]) {
    await until('the "being listened to" banner', () => p.$eval('#monitored', (e) => !e.hidden && e.textContent.includes('listened to by Ada')));
  }
  await until('Ada hears Ben and Chiara while listening', async () => {
    const s = await state(ada);
    return s.talkers.some((t) => t.clientId === ids.ben) && s.talkers.some((t) => t.clientId === ids.chiara);
  });
  await until('the tile shows Ada listening', () => ada.$eval('#listen-grid .listen-tile', (e) => e.classList.contains('listening')));
  const hearsAda = async () => (await state(ben)).talkers.some((t) => t.clientId === ids.ada);
  assert.equal(await hearsAda(), false, 'Ben does not hear Ada before she talks in');
  await ada.$eval('#listen-grid .ptt-btn', (b) => b.dispatchEvent(new PointerEvent('pointerdown', { bubbles: true })));
  await until('Ben hears Ada while push-to-talk is held', hearsAda);
  await until('the banner says Ada talks', () => ben.$eval('#monitored', (e) => e.textContent.includes('Ada is talking')));
  await ada.evaluate(() => document.dispatchEvent(new PointerEvent('pointerup', { bubbles: true })));
  await until('Ben no longer hears Ada once released', async () => !(await hearsAda()));
  await press(ada, '#listen-grid .listen-tile .listen-btn');
  await until('the banner is gone once Ada stops listening', () => ben.$eval('#monitored', (e) => e.hidden));
  await press(ada, '#btn-audio-broadcast');
  await until('Ben sees Ada speaking to every room', () => ben.$eval('#audio-broadcast', (e) => !e.hidden && e.textContent.includes('Ada')));
  await until('Ben hears Ada during the broadcast', hearsAda);
  await press(ada, '#btn-audio-broadcast');
  await until('the broadcast ended at Ben', () => ben.$eval('#audio-broadcast', (e) => e.hidden));
  await until('Ben no longer hears Ada after the broadcast', async () => !(await hearsAda()));

  // Destroy-all: both return to the main room, their sharing ends, Ada hears them again.
  await ada.click('#btn-destroy-all');
  await until('both back in the main room', async () => (await here(ben)) === 'Main room' && (await here(chiara)) === 'Main room');
  assert.equal(await ben.evaluate(() => window.alcoveRoom.media.localCanvasTrack), null);
  assert.equal(await chiara.evaluate(() => window.alcoveRoom.media.localShareTrack), null);
  await until('Ada to hear both again', async () => (await state(ada)).talkers.length === 2);

  assert.deepEqual(problems, []);
});
