// @ts-check
/**
 * @module clone
 *
 * A deep copy for the SDK's state, in place of `structuredClone` (missing in React Native's
 * JavaScript engines and in older ones elsewhere). The SDK copies decoded frames (JSON: plain
 * objects, arrays, strings, numbers, booleans, null); `Map`, `Set` and `Date` are copied too,
 * other objects (class instances) are kept by reference.
 */

/**
 * A deep copy of `value`.
 * @template T
 * @param {T} value
 * @returns {T}
 */
export function clone(value) {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return /** @type {T} */ (/** @type {unknown} */ (value.map(clone)));
  if (value instanceof Map) return /** @type {T} */ (/** @type {unknown} */ (new Map([...value].map(([k, v]) => [k, clone(v)]))));
  if (value instanceof Set) return /** @type {T} */ (/** @type {unknown} */ (new Set([...value].map(clone))));
  if (value instanceof Date) return /** @type {T} */ (/** @type {unknown} */ (new Date(value.getTime())));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = clone(v);
  return /** @type {T} */ (out);
}
