/**
 * One error style for the whole broker: a `BrokerError` with a stable `code`.
 * The HTTP status is derived from the code in one table, so the edge (handlers,
 * local server) never guesses. Messages are for people and never carry a secret:
 * no token, code, client secret or key ever goes into `message` or `details`.
 */
export const ERROR_STATUS = {
  /** Malformed request input (bad query/body/path parameter). */
  invalid_request: 400,
  /** The `state` on a callback is missing, unknown, expired, replayed or for another provider. */
  invalid_state: 400,
  /** `return_to` is not on the allowlist (no open redirect). */
  return_to_not_allowed: 400,
  /** The provider sent the user back with `?error=` (denied consent etc.). */
  authorization_denied: 400,
  /** Admin route without a valid bearer key / IAM identity. */
  unauthorized: 401,
  unknown_provider: 404,
  connection_not_found: 404,
  /** A write lost a race on `version`; the caller may retry. */
  conflict: 409,
  /** The grant is dead (invalid_grant, revoked, consent withdrawn): the user must install again. */
  needs_reauth: 424,
  /** The connection was revoked on purpose. */
  connection_revoked: 410,
  /** The provider answered with something we cannot use (bad JSON, missing fields, OAuth error). */
  provider_error: 502,
  /** The provider is rate limiting us or failing with 5xx; the token was kept, try later. */
  provider_unavailable: 503,
  /** The provider did not answer in time. */
  provider_timeout: 504,
  /** Configuration is wrong (catalogue, missing secret): fails loudly at start or first use. */
  configuration_error: 500,
  /** A ciphertext did not decrypt under this connection's context (tampered or moved). */
  decrypt_failed: 500,
  internal_error: 500,
} as const;

export type BrokerErrorCode = keyof typeof ERROR_STATUS;

export interface BrokerErrorOptions {
  cause?: unknown;
  /** Non-secret facts for callers and logs (e.g. the provider's error code, retry-after seconds). */
  details?: Record<string, string | number | boolean | undefined>;
}

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly code: BrokerErrorCode;
  readonly details: Record<string, string | number | boolean | undefined>;

  constructor(code: BrokerErrorCode, message: string, options: BrokerErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  /** HTTP status for this error, from the one mapping table. */
  get status(): number {
    return ERROR_STATUS[this.code];
  }

  /** Whether `message` may be shown to the caller (4xx and the provider 5xx family, like middy's `expose`). */
  get expose(): boolean {
    return this.status < 500 || this.status >= 502;
  }
}

export function isBrokerError(err: unknown, code?: BrokerErrorCode): err is BrokerError {
  return err instanceof BrokerError && (code === undefined || err.code === code);
}

/** The JSON body the edge returns for any error: never a stack, never a secret. */
export function errorBody(err: unknown): { error: { code: BrokerErrorCode; message: string; details?: BrokerError['details'] } } {
  if (err instanceof BrokerError) {
    const message = err.expose ? err.message : 'Internal error';
    const details = err.expose && Object.keys(err.details).length > 0 ? err.details : undefined;
    return { error: { code: err.code, message, ...(details ? { details } : {}) } };
  }
  return { error: { code: 'internal_error', message: 'Internal error' } };
}

export function errorStatus(err: unknown): number {
  return err instanceof BrokerError ? err.status : 500;
}
