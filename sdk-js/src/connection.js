// @ts-check
/**
 * @module connection
 *
 * One signalling WebSocket: request ids, the table of requests waiting for their
 * acknowledgement (matched by `id`, 10 s timeout by default), and delivery of every decoded
 * frame to one handler, synchronously and in arrival order. What a frame *means* is the room's
 * business (room.js), not this module's.
 */

import { AlcoveError, decodeServerFrame, encodeRequest, isRequestId } from './protocol.js';

/** @typedef {import('./protocol.js').ServerFrame} ServerFrame */

/**
 * The part of the WebSocket API the SDK uses. The browser's `WebSocket` and the `ws` package
 * (Node) both provide it.
 * @typedef {{
 *   readonly readyState: number,
 *   send(data: string): void,
 *   close(code?: number, reason?: string): void,
 *   onopen: ((ev: any) => any) | null,
 *   onmessage: ((ev: {data: any}) => any) | null,
 *   onclose: ((ev: {code: number, reason: string}) => any) | null,
 *   onerror: ((ev: any) => any) | null,
 * }} WebSocketLike
 */

/** @typedef {new (url: string) => WebSocketLike} WebSocketConstructor */

/**
 * A request sent and not yet acknowledged.
 * @typedef {{id: number, type: string, body: Record<string, unknown>,
 *   resolve: (ack: ServerFrame) => void, reject: (err: Error) => void,
 *   timer: ReturnType<typeof setTimeout> | undefined}} Pending
 */

/**
 * Called for every frame the server sends, before the matching request's promise settles.
 * `request` is the request the frame acknowledges (null for notifications and for late acks).
 * @callback FrameHandler
 * @param {ServerFrame} frame
 * @param {{type: string, id: number, body: Record<string, unknown>} | null} request
 * @returns {void}
 */

/** Default time to wait for an acknowledgement. */
export const DEFAULT_ACK_TIMEOUT_MS = 10_000;

const OPEN = 1;

export class Connection {
  /**
   * @param {string} url the signalling URL, `ws(s)://host:port/v1/signal` (an `http(s)://` URL
   *   is turned into the matching `ws(s)://` one)
   * @param {{WebSocket?: WebSocketConstructor, timeoutMs?: number, onFrame?: FrameHandler,
   *   onClose?: (info: {code: number, reason: string}) => void,
   *   onProtocolError?: (err: AlcoveError) => void}} [options]
   */
  constructor(url, options = {}) {
    /** The signalling URL. */
    this.url = toWebSocketUrl(url);
    const Ctor = options.WebSocket ?? /** @type {WebSocketConstructor | undefined} */ (globalThis.WebSocket);
    if (!Ctor) {
      throw new AlcoveError('no WebSocket implementation: pass options.WebSocket (e.g. the `ws` package in Node)', { code: 'closed' });
    }
    /** @private */
    this._Ctor = Ctor;
    /** Milliseconds to wait for each acknowledgement. */
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    /** @type {FrameHandler} */
    this.onFrame = options.onFrame ?? (() => {});
    /** @type {(info: {code: number, reason: string}) => void} */
    this.onClose = options.onClose ?? (() => {});
    /** @type {(err: AlcoveError) => void} */
    this.onProtocolError = options.onProtocolError ?? (() => {});
    /** @type {WebSocketLike | null} */
    this.socket = null;
    /** @type {Map<number, Pending>} */
    this.pending = new Map();
    /** The id of the next request; `connect` is 0 by convention. */
    this.nextId = 0;
    /** True once the socket has closed (or failed to open). */
    this.closed = false;
    /** @type {{code: number, reason: string} | null} */
    this.closeInfo = null;
  }

  /**
   * Opens the WebSocket. Resolves when it is open; rejects if it closes first.
   * @returns {Promise<void>}
   */
  open() {
    return new Promise((resolve, reject) => {
      let opened = false;
      /** @type {WebSocketLike} */
      let ws;
      try {
        ws = new this._Ctor(this.url);
      } catch (e) {
        this.closed = true;
        reject(new AlcoveError(`cannot open ${this.url}: ${e instanceof Error ? e.message : e}`, { code: 'closed', cause: e }));
        return;
      }
      this.socket = ws;
      ws.onopen = () => {
        opened = true;
        resolve();
      };
      ws.onmessage = (ev) => this._receive(ev.data);
      ws.onerror = () => {
        // The close event that follows carries the code; nothing to do here.
      };
      ws.onclose = (ev) => {
        const info = { code: ev?.code ?? 1006, reason: ev?.reason ?? '' };
        this._closed(info);
        if (!opened) {
          reject(new AlcoveError(`cannot open ${this.url} (close code ${info.code}${info.reason ? `: ${info.reason}` : ''})`, { code: 'closed' }));
        }
      };
    });
  }

  /**
   * Sends a request and resolves with its acknowledgement, whatever its `result` (the caller
   * decides what a failure means). Rejects with an {@link AlcoveError} whose code is
   * `"timeout"` when no acknowledgement came within the timeout, or `"closed"` when the
   * connection is (or becomes) closed.
   * @param {string} type a client message type
   * @param {Record<string, unknown>} [body] the type's fields
   * @param {{timeoutMs?: number}} [options]
   * @returns {Promise<ServerFrame>}
   */
  request(type, body = {}, options = {}) {
    const ws = this.socket;
    if (this.closed || !ws || ws.readyState !== OPEN) {
      return Promise.reject(new AlcoveError(`${type}: not connected`, { code: 'closed' }));
    }
    const id = this.nextId++;
    let text;
    try {
      text = encodeRequest(type, id, body);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.timeoutMs;
      /** @type {Pending} */
      const pending = { id, type, body, resolve, reject, timer: undefined };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        pending.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new AlcoveError(`${type}: no acknowledgement within ${timeoutMs} ms`, { code: 'timeout' }));
        }, timeoutMs);
      }
      this.pending.set(id, pending);
      try {
        ws.send(text);
      } catch (e) {
        this.pending.delete(id);
        if (pending.timer !== undefined) clearTimeout(pending.timer);
        reject(new AlcoveError(`${type}: send failed: ${e instanceof Error ? e.message : e}`, { code: 'closed', cause: e }));
      }
    });
  }

  /**
   * Closes the WebSocket (normal closure). Pending requests reject with code `"closed"`.
   * @param {number} [code]
   * @param {string} [reason]
   */
  close(code = 1000, reason = 'client closed') {
    const ws = this.socket;
    if (ws && !this.closed) {
      try {
        ws.close(code, reason);
      } catch {
        // Already closing.
      }
    }
    this._closed({ code, reason });
  }

  /**
   * @param {unknown} data
   * @private
   */
  _receive(data) {
    if (typeof data !== 'string') {
      this.onProtocolError(new AlcoveError('malformed frame: binary frame from the server', { code: 'protocol' }));
      return;
    }
    /** @type {ServerFrame} */
    let frame;
    try {
      frame = decodeServerFrame(data);
    } catch (e) {
      this.onProtocolError(e instanceof AlcoveError ? e : new AlcoveError(String(e), { code: 'protocol' }));
      return;
    }
    const pending = isRequestId(frame.id) ? this.pending.get(frame.id) : undefined;
    if (pending) {
      this.pending.delete(pending.id);
      if (pending.timer !== undefined) clearTimeout(pending.timer);
    }
    const request = pending ? { type: pending.type, id: pending.id, body: pending.body } : null;
    try {
      this.onFrame(frame, request);
    } finally {
      pending?.resolve(frame);
    }
  }

  /**
   * @param {{code: number, reason: string}} info
   * @private
   */
  _closed(info) {
    if (this.closed) return;
    this.closed = true;
    this.closeInfo = info;
    for (const p of this.pending.values()) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      p.reject(new AlcoveError(`${p.type}: connection closed (${info.code}${info.reason ? ` ${info.reason}` : ''})`, { code: 'closed' }));
    }
    this.pending.clear();
    this.onClose(info);
  }
}

/**
 * `http(s)://…` → `ws(s)://…`; a URL whose path is empty or `/` gets `/v1/signal`
 * (`ws://host:7880` → `ws://host:7880/v1/signal`). The scheme and host are lower-cased; the
 * rest is kept as written. Anything that is not an absolute `scheme://authority…` URL is
 * returned unchanged (the WebSocket reports it). String work only: React Native's `URL` does
 * not implement `protocol` or `pathname`.
 * @param {string} url
 * @returns {string}
 */
export function toWebSocketUrl(url) {
  const m = /^\s*([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(.*?)\s*$/.exec(url);
  if (!m) return url;
  let scheme = m[1].toLowerCase();
  const authority = m[2];
  let path = m[3];
  const rest = m[4];
  if (scheme === 'http') scheme = 'ws';
  else if (scheme === 'https') scheme = 'wss';
  if (path === '' || path === '/') path = '/v1/signal';
  // Lower-case the host, not the user info (`user:Pass@Host`).
  const at = authority.lastIndexOf('@');
  const host = authority.slice(at + 1).toLowerCase();
  return `${scheme}://${authority.slice(0, at + 1)}${host}${path}${rest}`;
}
