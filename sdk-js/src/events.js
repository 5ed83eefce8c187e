// @ts-check
/**
 * @module events
 *
 * A tiny base class for the SDK's handles: a standard `EventTarget` (so
 * `handle.addEventListener(name, e => e.detail)` works), plus `on(name, fn)` which hands the
 * listener the detail directly and returns a function that removes it, and `once(name)` which
 * resolves with the next detail.
 */

/**
 * @template [T=any]
 * @callback Listener
 * @param {T} detail
 * @returns {void}
 */

export class Emitter extends EventTarget {
  constructor() {
    super();
    /** @type {Map<Listener, Map<string, EventListener>>} */
    this._wrapped = new Map();
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
    /** @type {EventListener} */
    const wrapper = (e) => fn(/** @type {CustomEvent} */ (e).detail);
    let byName = this._wrapped.get(fn);
    if (!byName) {
      byName = new Map();
      this._wrapped.set(fn, byName);
    }
    if (byName.has(name)) return () => this.off(name, fn);
    byName.set(name, wrapper);
    this.addEventListener(name, wrapper);
    return () => this.off(name, fn);
  }

  /**
   * Removes a listener added with {@link on}.
   * @param {string} name
   * @param {Listener} fn
   */
  off(name, fn) {
    const byName = this._wrapped.get(fn);
    const wrapper = byName?.get(name);
    if (!byName || !wrapper) return;
    this.removeEventListener(name, wrapper);
    byName.delete(name);
    if (byName.size === 0) this._wrapped.delete(fn);
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
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
