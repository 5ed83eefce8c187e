// The demo page and the SDK's media in a real browser, against the real server with media on:
// three people join through the page, the moderator creates a break-out room and invites two
// of them through the UI, they accept; audio flows between them and not to the parent; a canvas
// and a screen share reach the other member; destroy-all brings everyone back.
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

  // Destroy-all: both return to the main room, their sharing ends, Ada hears them again.
  await ada.click('#btn-destroy-all');
  await until('both back in the main room', async () => (await here(ben)) === 'Main room' && (await here(chiara)) === 'Main room');
  assert.equal(await ben.evaluate(() => window.alcoveRoom.media.localCanvasTrack), null);
  assert.equal(await chiara.evaluate(() => window.alcoveRoom.media.localShareTrack), null);
  await until('Ada to hear both again', async () => (await state(ada)).talkers.length === 2);

  assert.deepEqual(problems, []);
});
