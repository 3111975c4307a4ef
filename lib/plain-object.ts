/**
 * Plain JSON-like objects: the one test for "an object, not an array or null", and the one
 * way to drop `undefined` fields (optional fields are absent, never present-but-undefined).
 */

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A copy of `value` without its `undefined` fields. */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}
