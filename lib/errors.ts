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
  /** An install asked for a scope the operator does not allow for this provider (catalogue `allowed_scopes`). */
  scope_not_allowed: 400,
  /** The provider sent the user back with `?error=` (denied consent etc.). */
  authorization_denied: 400,
  /** A connection named a secret that is not its provider's (`secret_name` / `allowed_secret_names`). */
  secret_not_allowed: 400,
  /** The callback's RFC 9207 `iss` names another authorization server (mix-up), or is missing where required. */
  issuer_mismatch: 400,
  /** The provider's id_token failed validation (signature, iss, aud, exp, nonce) or is missing where required. */
  id_token_invalid: 400,
  /** A signed install link whose signature or content does not verify. */
  install_link_invalid: 400,
  /** A signed install link past its expiry. */
  install_link_expired: 400,
  /** A signed install link that already created or re-authorized a connection. */
  install_link_used: 409,
  /** The grant belongs to another provider account than the connection it was meant to re-authorize. */
  tenant_conflict: 409,
  /** Admin route without a valid bearer key / IAM identity. */
  unauthorized: 401,
  unknown_provider: 404,
  /** The provider is in the catalogue but this deployment has no client credentials for it (its secret is missing or still the placeholder). */
  provider_not_configured: 404,
  /** The provider's catalogue entry was skipped at load (an auth mode or template the broker does not serve); the message says why. */
  provider_not_supported: 404,
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
  /**
   * Another worker is refreshing this connection and the caller's deadline came before its
   * result did (the stored token had expired or the caller forced a refresh): try again after Retry-After.
   */
  refresh_in_progress: 503,
  /** The refresh queue did not take some jobs (SQS throttled or failed); they stay due and the next scheduler run sends them. */
  queue_unavailable: 503,
  /** Configuration is wrong (catalogue, missing secret): fails loudly at start or first use. */
  configuration_error: 500,
  /** A ciphertext did not decrypt under this connection's context (tampered or moved). */
  decrypt_failed: 500,
  internal_error: 500,
} as const;

export type BrokerErrorCode = keyof typeof ERROR_STATUS;

/** The token-endpoint exchange a provider failure came from. */
export type ProviderExchange = 'authorization_code' | 'refresh_token' | 'client_credentials' | 'revocation' | 'tenant_request';

/**
 * What a provider failure is known by: typed facts the use cases branch on (the provider's
 * error code, its HTTP status, its Retry-After) instead of reading a bag by string key.
 * Never a secret: `error` is only kept after a charset check (lib/oauth/token-endpoint.ts).
 */
export interface ProviderFailure {
  /** Which exchange failed. */
  grant?: ProviderExchange;
  /** The provider could not be reached, or its answer could not be read. */
  network?: boolean;
  /** The transport's error code (`ECONNREFUSED`, ...), when it gave one. */
  networkError?: string;
  /** The exchange's time budget, when it ran out. */
  timeoutMs?: number;
  httpStatus?: number;
  /** The provider's own error code (`invalid_grant`, `BAD_REFRESH_TOKEN`, ...). */
  error?: string;
  /** Seconds before trying again: the provider's Retry-After, or the broker's back-off. */
  retryAfterS?: number;
}

export type ErrorDetails = Record<string, string | number | boolean | undefined>;

export interface BrokerErrorOptions {
  cause?: unknown;
  /** The provider's side of the failure; also shown to callers in `details` under snake_case names. */
  provider?: ProviderFailure;
  /** Other non-secret facts for callers and logs (the offending field, the connection id...). */
  details?: ErrorDetails;
  /** Seconds before trying again when it is the broker's own advice, not the provider's (`refresh_in_progress`). */
  retryAfterS?: number;
}

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly code: BrokerErrorCode;
  readonly provider?: ProviderFailure;
  /** What callers see: the provider facts (`provider_error`, `http_status`, `retry_after_s`...), then the other details. */
  readonly details: ErrorDetails;

  constructor(code: BrokerErrorCode, message: string, options: BrokerErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    if (options.provider) this.provider = options.provider;
    const retryAfter = options.retryAfterS === undefined ? {} : { retry_after_s: options.retryAfterS };
    this.details = { ...providerDetails(options.provider), ...retryAfter, ...options.details };
  }

  /** The same error, advising a retry after `retryAfterS` seconds: the broker's decision, in place of the provider's Retry-After. */
  withRetryAfter(retryAfterS: number): BrokerError {
    return new BrokerError(this.code, this.message, {
      cause: this.cause,
      ...(this.provider ? { provider: { ...this.provider, retryAfterS } } : {}),
      details: { ...this.details, retry_after_s: retryAfterS },
    });
  }

  /** Seconds the caller should wait before trying again (the HTTP `Retry-After`), when the error says. */
  get retryAfterS(): number | undefined {
    const value = this.details.retry_after_s;
    return typeof value === 'number' ? value : undefined;
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

/** The code a provider failure is recorded under: the provider's own error code, else its HTTP status. */
export function providerErrorCode(err: unknown): string | undefined {
  if (!isBrokerError(err) || !err.provider) return undefined;
  const { error, httpStatus } = err.provider;
  return error ?? (httpStatus === undefined ? undefined : String(httpStatus));
}

export function isBrokerError(err: unknown, code?: BrokerErrorCode): err is BrokerError {
  return err instanceof BrokerError && (code === undefined || err.code === code);
}

/** The JSON body the edge returns for any error: never a stack, never a secret. */
export function errorBody(err: unknown): { error: { code: BrokerErrorCode; message: string; details?: ErrorDetails } } {
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

/** The API's names for the provider facts, in the order the error bodies have always listed them. */
function providerDetails(provider: ProviderFailure | undefined): ErrorDetails {
  if (!provider) return {};
  const named: ErrorDetails = {
    grant: provider.grant,
    network: provider.network,
    network_error: provider.networkError,
    timeout_ms: provider.timeoutMs,
    http_status: provider.httpStatus,
    provider_error: provider.error,
    retry_after_s: provider.retryAfterS,
  };
  return Object.fromEntries(Object.entries(named).filter(([, value]) => value !== undefined));
}
