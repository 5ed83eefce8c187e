// @ts-check
/**
 * @module events
 *
 * The base class of the SDK's handles: a small emitter of its own, so the SDK needs no DOM
 * (`EventTarget` and `CustomEvent` do not exist in React Native or older Node). It keeps the
 * browser-style surface the SDK has always had:
 *
 * - `handle.addEventListener(name, (e) => e.detail)` / `removeEventListener(name, fn)`
 *   (options `{once}` and `{signal}`, listener objects with `handleEvent`), where `e` is
 *   `{type, detail, target, currentTarget}`;
 * - `handle.on(name, fn)`, which hands the listener the detail directly and returns a function
 *   that removes it, `off(name, fn)`, and `once(name)`, which resolves with the next detail.
 *
 * Listeners run synchronously, in the order they were added (whichever of the two styles),
 * each once per event. A listener added during a dispatch waits for the next event; one
 * removed during a dispatch is not called any more.
 */

/**
 * @template [T=any]
 * @callback Listener
 * @param {T} detail
 * @returns {void}
 */

/**
 * What a listener added with `addEventListener` receives (the shape of a DOM `CustomEvent`
 * as far as the SDK's users read it).
 * @template [T=any]
 * @typedef {{type: string, detail: T, target: Emitter, currentTarget: Emitter, timeStamp: number}} AlcoveEvent
 */

/**
 * A listener for `addEventListener`: a function or an object with `handleEvent`.
 * @typedef {((event: AlcoveEvent) => void) | {handleEvent(event: AlcoveEvent): void}} EventListenerLike
 */

/**
 * The part of `AbortSignal` the emitter uses (`{signal}` removes the listener on abort).
 * @typedef {{aborted: boolean, addEventListener(type: 'abort', fn: () => void, options?: {once?: boolean}): void}} AbortSignalLike
 */

/**
 * One registered listener. `detail`: added with `on` (called with the detail), else with
 * `addEventListener` (called with the event).
 * @typedef {{fn: Listener | EventListenerLike, detail: boolean, once: boolean, removed: boolean}} Entry
 */

/**
 * Reports an error thrown by a listener without stopping the dispatch: `reportError` where the
 * platform has it (browsers), else thrown from a fresh task (an uncaught exception: Node's
 * `uncaughtException`, React Native's global error handler), as `EventTarget` does.
 * @param {unknown} err
 */
function reportListenerError(err) {
  const report = /** @type {{reportError?: (e: unknown) => void}} */ (globalThis).reportError;
  if (typeof report === 'function') {
    report(err);
    return;
  }
  setTimeout(() => {
    throw err;
  }, 0);
}

export class Emitter {
  constructor() {
    /** @type {Map<string, Entry[]>} @private */
    this._listeners = new Map();
  }

  /**
   * @param {string} name
   * @param {Listener | EventListenerLike} fn
   * @param {boolean} detail
   * @param {{once?: boolean, signal?: AbortSignalLike}} options
   * @returns {boolean} false when this listener was already registered for `name`
   * @private
   */
  _add(name, fn, detail, options) {
    if (options.signal?.aborted) return false;
    let list = this._listeners.get(name);
    if (!list) {
      list = [];
      this._listeners.set(name, list);
    }
    if (list.some((e) => e.fn === fn && e.detail === detail)) return false;
    list.push({ fn, detail, once: !!options.once, removed: false });
    options.signal?.addEventListener('abort', () => this._remove(name, fn, detail), { once: true });
    return true;
  }

  /**
   * @param {string} name
   * @param {Listener | EventListenerLike} fn
   * @param {boolean} detail
   * @private
   */
  _remove(name, fn, detail) {
    const list = this._listeners.get(name);
    if (!list) return;
    const i = list.findIndex((e) => e.fn === fn && e.detail === detail);
    if (i < 0) return;
    list[i].removed = true;
    list.splice(i, 1);
    if (list.length === 0) this._listeners.delete(name);
  }

  /**
   * Calls `listener(event)` for every event `name`; `event.detail` is the frame or the SDK
   * event's detail. Adding the same listener twice for one name adds it once.
   * @param {string} name
   * @param {EventListenerLike | null | undefined} listener
   * @param {boolean | {once?: boolean, signal?: AbortSignalLike}} [options] `once`: remove it
   *   after the first event; `signal`: remove it when the signal aborts
   */
  addEventListener(name, listener, options) {
    if (!listener) return;
    this._add(name, listener, false, typeof options === 'object' && options !== null ? options : {});
  }

  /**
   * Removes a listener added with {@link addEventListener}.
   * @param {string} name
   * @param {EventListenerLike | null | undefined} listener
   */
  removeEventListener(name, listener) {
    if (listener) this._remove(name, listener, false);
  }

  /**
   * Dispatches `event` (`{type, detail}`) to the listeners of `event.type`, like `emit`.
   * @param {{type: string, detail?: unknown}} event
   * @returns {boolean} always true (SDK events cannot be cancelled)
   */
  dispatchEvent(event) {
    this.emit(event.type, event.detail);
    return true;
  }

  /**
   * Calls `fn(detail)` for every event `name`. Returns a function that removes the listener.
   * @param {string} name an event name: a wire type (`ackPause`, `userMoved`, …) or one of the
   *   SDK's own events (`statechange`, `frame`, `close`, `reconnecting`,
   *   `reconnected`, `mediastatechange`)
   * @param {Listener} fn
   * @returns {() => void}
   */
  on(name, fn) {
    this._add(name, fn, true, {});
    return () => this.off(name, fn);
  }

  /**
   * Removes a listener added with {@link on}.
   * @param {string} name
   * @param {Listener} fn
   */
  off(name, fn) {
    this._remove(name, fn, true);
  }

  /**
   * Resolves with the detail of the next event `name` (optionally the next one for which
   * `filter(detail)` is true). Rejects after `timeoutMs` if given.
   * @param {string} name
   * @param {{filter?: (detail: any) => boolean, timeoutMs?: number}} [options]
   * @returns {Promise<any>}
   */
  once(name, options = {}) {
    return new Promise((resolve, reject) => {
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let timer;
      const off = this.on(name, (detail) => {
        if (options.filter && !options.filter(detail)) return;
        off();
        if (timer !== undefined) clearTimeout(timer);
        resolve(detail);
      });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          off();
          reject(new Error(`no ${name} within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
    });
  }

  /**
   * Dispatches `name` with `detail` to every listener. A listener that throws does not stop the
   * others or the SDK (the error is reported the way the platform reports listener errors).
   * @param {string} name
   * @param {unknown} detail
   */
  emit(name, detail) {
    const list = this._listeners.get(name);
    if (!list || list.length === 0) return;
    /** @type {AlcoveEvent | null} */
    let event = null;
    for (const entry of list.slice()) {
      if (entry.removed) continue;
      if (entry.once) this._remove(name, entry.fn, entry.detail);
      try {
        if (entry.detail) {
          /** @type {Listener} */ (entry.fn)(detail);
        } else {
          event ??= { type: name, detail, target: this, currentTarget: this, timeStamp: Date.now() };
          const fn = /** @type {EventListenerLike} */ (entry.fn);
          if (typeof fn === 'function') fn.call(this, event);
          else fn.handleEvent(event);
        }
      } catch (err) {
        reportListenerError(err);
      }
    }
  }
}
