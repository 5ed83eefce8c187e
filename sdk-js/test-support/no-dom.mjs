// Preload (`node --import ./test-support/no-dom.mjs`): makes Node's globals look like React
// Native's before any SDK module is imported, so the tests that run under it prove the SDK
// needs no DOM and no browser-only global.
//
// Removed: EventTarget, Event, CustomEvent, structuredClone, window, document, self,
// RTCPeerConnection, MediaStream, AudioContext. `URL` becomes React Native's (Libraries/Blob/
// URL.js): it keeps the string, appends a `/`, and throws on `protocol`, `pathname`, `host`, ….
// Added, as React Native has them: `WebSocket` (the `ws` package: RN's is a global) and a
// `navigator` without `mediaDevices`.
//
// Test support code that needs a real URL imports it from `node:url`, and the REST helper uses
// `node:http` (Node's `fetch` reads the global URL).

import WebSocket from 'ws';

const removed = ['EventTarget', 'Event', 'CustomEvent', 'structuredClone', 'window', 'document', 'self',
  'RTCPeerConnection', 'MediaStream', 'AudioContext'];
// ALCOVE_NO_DOM_KEEP=Event,…: globals to keep (the Node WebRTC package the media test injects,
// werift, dispatches Node `Event`s of its own; the SDK never touches them).
const keep = new Set((process.env.ALCOVE_NO_DOM_KEEP ?? '').split(',').filter(Boolean));
for (const name of removed.filter((n) => !keep.has(n))) {
  delete globalThis[name];
  if (name in globalThis) throw new Error(`no-dom: could not remove ${name}`);
}

/** React Native's URL: most accessors are "not implemented". */
class ReactNativeURL {
  constructor(url, base) {
    if (base !== undefined) throw new Error('no-dom URL: a base URL is not supported here');
    this._url = String(url);
    if (!this._url.endsWith('/')) this._url += '/';
  }
  get href() { return this.toString(); }
  toString() { return this._url; }
  toJSON() { return this._url; }
}
for (const prop of ['hash', 'host', 'hostname', 'origin', 'password', 'pathname', 'port', 'protocol', 'search', 'username']) {
  Object.defineProperty(ReactNativeURL.prototype, prop, {
    get() { throw new Error(`URL.${prop} is not implemented`); },
    set() { throw new Error(`URL.${prop} is not implemented`); },
  });
}
globalThis.URL = ReactNativeURL;
globalThis.WebSocket = WebSocket;
Object.defineProperty(globalThis, 'navigator', { value: { product: 'ReactNative' }, configurable: true, writable: true });

/** Set for the tests that check they run under this preload. */
globalThis.__alcoveNoDom = true;
