/**
 * Plain JSON-like objects: the one test for "an object, not an array or null", the one
 * way to drop `undefined` fields (optional fields are absent, never present-but-undefined),
 * and the one refusal of fields a request body does not take.
 */
import { BrokerError } from './errors';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A copy of `value` without its `undefined` fields. */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

/**
 * Refuses a body field outside `allowed` (400 `invalid_request` naming it): a misspelt field
 * (`conection_id`, `forceRefresh`) must not be ignored, or the caller gets a link naming no
 * connection, or the old token, and believes it got what it asked for.
 */
export function refuseUnknownFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).find((name) => !allowed.includes(name));
  if (unknown !== undefined) {
    throw new BrokerError('invalid_request', `Unknown field ${JSON.stringify(unknown.slice(0, 40))}; this body takes ${allowed.join(', ')}`, {
      details: { field: unknown.slice(0, 40) },
    });
  }
}
