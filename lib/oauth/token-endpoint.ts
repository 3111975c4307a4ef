/**
 * The back-channel half: code exchange, refresh, client credentials and revocation, each as a
 * request builder plus one shared response processor (the oauth4webapi shape).
 *
 * Why not oauth4webapi's own `authorizationCodeGrantRequest` / `refreshTokenGrantRequest` /
 * `clientCredentialsGrantRequest`: they always POST a form body with `grant_type`, and the
 * catalogue has to express providers that do not (RD Station: JSON body without `grant_type`;
 * Marketo: GET with every parameter in the query; extra headers such as HighLevel `Version`).
 * Its strict processors would also reject responses these providers really send (no
 * `token_type`, `expires_in` as a string, a `status` field as the error code). So the requests
 * are built here from the `Provider` entry, and oauth4webapi is used where it fits (state, PKCE).
 *
 * Errors never carry a token, code, code_verifier or client secret: not in `message`, not in
 * `details`, not in `cause`. The provider's `error_description` is left out on purpose (it can
 * echo anything); only its error code, after a charset check, and the HTTP status are kept.
 */
import type { ClientCredentials, TokenSet } from '../model';
import { BrokerError, type ProviderExchange, type ProviderFailure } from '../errors';
import { isPlainObject } from '../plain-object';
import { connectionValueProblem, fullMatch } from '../providers/connection-config';
import { valueAtPath } from '../providers/response-path';
import type { Provider } from '../providers/schema';
import { expandValueTemplate } from '../providers/template';
import { providerUrl } from './provider-url';
import { MAX_RESPONSE_BYTES, readCapped } from './response-cap';

export type TokenGrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';

export type TokenGrantParameters =
  | { grant_type: 'authorization_code'; code: string; redirectUri: string; codeVerifier?: string }
  | { grant_type: 'refresh_token'; refreshToken: string }
  | { grant_type: 'client_credentials'; scopes?: string[] };

export interface TokenEndpointOptions {
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Whole-exchange budget (connect, headers and body). Default 10 000 ms. */
  timeoutMs?: number;
  /** Epoch ms; used for `expires_at` and `Retry-After` dates. */
  now?: () => number;
}

export interface TokenGrantResult {
  /**
   * The normalised token set. After a refresh, `refresh_token: undefined` means the provider
   * did not rotate it: the CALLER must keep the refresh token it already has.
   */
  tokens: TokenSet;
  /**
   * From the response's `granted_scopes_path` (RFC 6749 `scope`, HubSpot `scopes`), split on the
   * provider's separator, whitespace or commas; undefined when absent.
   */
  grantedScopes?: string[];
  /** The catalogue's `token_response_metadata` paths present in the response, as strings, keyed by path. */
  metadata: Record<string, string>;
  /** First of the catalogue's `tenant_fields` present in `metadata`. */
  tenant?: string;
  /**
   * Connection values the response carries (`connection_config` parameters with a
   * `token_response_path`: Salesforce `instance_url`), each checked against its declaration.
   */
  connectionConfig: Record<string, string>;
  httpStatus: number;
}

/** A token or revocation request, ready to send. */
export interface TokenEndpointRequest {
  url: URL;
  method: 'GET' | 'POST' | 'DELETE';
  /** Lower-cased names. */
  headers: Record<string, string>;
  body?: string;
  /** Values in this request that must never reach an error (used to scrub the provider's error code). */
  secretValues: string[];
}

export interface ProcessTokenResponseOptions {
  now?: () => number;
  /** Values to scrub from anything copied out of the response into an error. */
  secretValues?: string[];
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** On a 2xx only an OAuth `error` field means failure; `status` etc. may be ordinary payload there. */
const SUCCESS_ERROR_CODE_PATHS = ['error'] as const;
/** An access token closer to expiry than this is refreshed before a revocation authenticates with it (absent `refresh_skew_s`). */
const DEFAULT_REVOCATION_SKEW_S = 60;
/** What a provider error code may look like to be copied into an error; anything else is dropped. */
const DISPLAYABLE_CODE = /^[A-Za-z0-9_.:\- ]{1,100}$/;

type ExchangeKind = ProviderExchange;

export interface BufferedResponse {
  status: number;
  headers: Headers;
  text: string;
}

export interface ProcessContext {
  now: () => number;
  secretValues: readonly string[];
}

/** Authorization code exchange (RFC 6749 §4.1.3, https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3; PKCE RFC 7636 §4.5). */
export async function exchangeCode(
  provider: Provider,
  credentials: ClientCredentials,
  p: { code: string; redirectUri: string; codeVerifier?: string; connectionConfig?: Record<string, string> },
  options: TokenEndpointOptions = {},
): Promise<TokenGrantResult> {
  const grant: TokenGrantParameters = {
    grant_type: 'authorization_code',
    code: p.code,
    redirectUri: p.redirectUri,
    ...(p.codeVerifier !== undefined ? { codeVerifier: p.codeVerifier } : {}),
  };
  return runGrant(provider, buildTokenRequest(provider, credentials, grant, p.connectionConfig), 'authorization_code', options);
}

/**
 * Refresh token grant (RFC 6749 §6, https://www.rfc-editor.org/rfc/rfc6749#section-6).
 * A result without `tokens.refresh_token` means the old one stays valid: the caller keeps it.
 */
export async function refreshGrant(
  provider: Provider,
  credentials: ClientCredentials,
  p: { refreshToken: string; connectionConfig?: Record<string, string> },
  options: TokenEndpointOptions = {},
): Promise<TokenGrantResult> {
  const grant: TokenGrantParameters = { grant_type: 'refresh_token', refreshToken: p.refreshToken };
  return runGrant(provider, buildTokenRequest(provider, credentials, grant, p.connectionConfig), 'refresh_token', options);
}

/** Client credentials grant (RFC 6749 §4.4, https://www.rfc-editor.org/rfc/rfc6749#section-4.4). */
export async function clientCredentialsGrant(
  provider: Provider,
  credentials: ClientCredentials,
  p: { scopes?: string[]; connectionConfig?: Record<string, string> } = {},
  options: TokenEndpointOptions = {},
): Promise<TokenGrantResult> {
  const grant: TokenGrantParameters = { grant_type: 'client_credentials', ...(p.scopes !== undefined ? { scopes: p.scopes } : {}) };
  return runGrant(provider, buildTokenRequest(provider, credentials, grant, p.connectionConfig), 'client_credentials', options);
}

/**
 * Token revocation per `provider.revocation` (RFC 7009 §2.1, https://www.rfc-editor.org/rfc/rfc7009#section-2.1).
 * Resolves without a request when the provider defines no revocation or the token set lacks
 * the token to revoke: the caller decides what "revoked" means then.
 *
 * When the revocation needs a live access token (it revokes the access token, or authenticates
 * with it: RD Station does both) and the stored one has expired, the grant is refreshed first
 * and the fresh access token revoked. The fresh pair is never stored: the caller is revoking the
 * connection, and revoking the access token ends the grant (RD's SDK README). A refresh that
 * finds the grant already dead leaves nothing to revoke and resolves.
 */
export async function revokeToken(
  provider: Provider,
  credentials: ClientCredentials,
  p: { tokens: TokenSet; connectionConfig?: Record<string, string> },
  options: TokenEndpointOptions = {},
): Promise<void> {
  const tokens = await liveTokensForRevocation(provider, credentials, p, options);
  if (tokens === undefined) return;
  const request = buildRevocationRequest(provider, credentials, tokens, p.connectionConfig);
  if (request === undefined) return;
  const response = await send(provider, request, 'revocation', options);
  const failure = classifyFailure(provider, response, 'revocation', context(options, request.secretValues));
  if (failure !== undefined) throw failure;
}

/** The token set to revoke with: the stored one, or a refreshed one when the revocation needs a live access token; undefined = grant already dead. */
async function liveTokensForRevocation(
  provider: Provider,
  credentials: ClientCredentials,
  p: { tokens: TokenSet; connectionConfig?: Record<string, string> },
  options: TokenEndpointOptions,
): Promise<TokenSet | undefined> {
  const { revocation } = provider;
  const { tokens } = p;
  const needsLiveAccess =
    revocation !== undefined && (revocation.token === 'access_token' || revocation.auth === 'bearer_access_token' || revocation.auth === 'access_token_header');
  const skewMs = (provider.refresh_skew_s ?? DEFAULT_REVOCATION_SKEW_S) * 1000;
  const now = (options.now ?? Date.now)();
  const stale = tokens.expires_at !== undefined && tokens.expires_at - skewMs <= now;
  if (!needsLiveAccess || !stale || tokens.refresh_token === undefined) return tokens;
  try {
    const refreshed = await refreshGrant(provider, credentials, { refreshToken: tokens.refresh_token, connectionConfig: p.connectionConfig }, options);
    return { ...refreshed.tokens, refresh_token: refreshed.tokens.refresh_token ?? tokens.refresh_token };
  } catch (err) {
    if (err instanceof BrokerError && err.code === 'needs_reauth') return undefined;
    throw err;
  }
}

/** Builds a token endpoint request from the catalogue entry (RFC 6749 §3.2, https://www.rfc-editor.org/rfc/rfc6749#section-3.2). */
export function buildTokenRequest(
  provider: Provider,
  credentials: ClientCredentials,
  grant: TokenGrantParameters,
  connectionConfig?: Record<string, string>,
): TokenEndpointRequest {
  const isRefresh = grant.grant_type === 'refresh_token';
  const url =
    isRefresh && provider.refresh_url !== undefined
      ? providerUrl(provider.refresh_url, { connectionConfig }, provider, 'refresh_url')
      : providerUrl(provider.token_url, { connectionConfig }, provider, 'token_url');

  // Grant-defining parameters first; catalogue extras never override them.
  const params = new Map<string, string>();
  const secretValues = [credentials.client_secret];
  if (!provider.omit_grant_type) params.set('grant_type', grant.grant_type);
  switch (grant.grant_type) {
    case 'authorization_code':
      params.set('code', grant.code);
      params.set('redirect_uri', grant.redirectUri);
      secretValues.push(grant.code);
      // disable_pkce: the provider gets no PKCE parameter at either end (see buildAuthorizationUrl).
      if (grant.codeVerifier !== undefined && !provider.disable_pkce) {
        params.set('code_verifier', grant.codeVerifier);
        secretValues.push(grant.codeVerifier);
      }
      break;
    case 'refresh_token':
      params.set('refresh_token', grant.refreshToken);
      secretValues.push(grant.refreshToken);
      break;
    case 'client_credentials': {
      const scope = [...new Set((grant.scopes ?? []).filter((s) => s !== ''))].join(provider.scope_separator);
      if (scope !== '') params.set('scope', scope);
      break;
    }
  }

  // Catalogue parameter and header values may use `${connectionConfig.x}` (filled verbatim: the encoder below escapes them).
  const fill = (value: string) => expandValueTemplate(value, { connectionConfig }, provider.key);
  const headers: Record<string, string> = { accept: 'application/json' };
  for (const [name, value] of Object.entries(provider.token_headers)) {
    headers[name.toLowerCase()] = fill(value);
  }
  if (provider.token_request_auth_method === 'basic') {
    headers.authorization = basicAuthorization(credentials);
  } else {
    params.set('client_id', credentials.client_id);
    params.set('client_secret', credentials.client_secret);
  }

  const extras = isRefresh ? provider.refresh_params : provider.token_params;
  for (const [name, value] of Object.entries(extras)) {
    if (!params.has(name)) params.set(name, fill(value));
  }

  const method = provider.token_request_method;
  if (method === 'GET' || provider.body_format === 'query') {
    // Marketo wants everything, the client secret included, in the query: the provider's
    // contract, not a choice. Such URLs are never logged or put into errors.
    for (const [name, value] of params) url.searchParams.set(name, value);
    return { url, method, headers, secretValues };
  }
  if (provider.body_format === 'json') {
    headers['content-type'] = 'application/json';
    return { url, method, headers, body: JSON.stringify(Object.fromEntries(params)), secretValues };
  }
  headers['content-type'] = 'application/x-www-form-urlencoded';
  return { url, method, headers, body: new URLSearchParams([...params]).toString(), secretValues };
}

/**
 * Builds the revocation request, or undefined when there is nothing to call (RFC 7009 §2.1,
 * https://www.rfc-editor.org/rfc/rfc7009#section-2.1). The catalogue's `revocation` block says
 * where the token goes (body, path, query, or nowhere when the call revokes the token it
 * authenticates with), how the body is encoded, and how the call authenticates.
 */
export function buildRevocationRequest(
  provider: Provider,
  credentials: ClientCredentials,
  tokens: TokenSet,
  connectionConfig?: Record<string, string>,
): TokenEndpointRequest | undefined {
  const revocation = provider.revocation;
  if (revocation === undefined) return undefined;
  const token = revocation.token === 'refresh_token' ? tokens.refresh_token : tokens.access_token;
  if (token === undefined || token === '') return undefined;

  const secretValues = [credentials.client_secret, tokens.access_token, ...(tokens.refresh_token ? [tokens.refresh_token] : [])];
  // `${token}` is only filled when the catalogue says the token goes in the path.
  const inPath = revocation.token_in === 'path';
  const url = providerUrl(revocation.url, { connectionConfig, token: inPath ? token : undefined }, provider, 'revocation.url');

  const params = new Map<string, string>();
  if (revocation.token_in === 'body' || revocation.token_in === 'query') {
    params.set('token', token);
    if (revocation.send_token_type_hint) params.set('token_type_hint', revocation.token);
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  for (const [name, value] of Object.entries(revocation.headers)) {
    headers[name.toLowerCase()] = expandValueTemplate(value, { connectionConfig }, provider.key);
  }
  switch (revocation.auth) {
    case 'client_secret_post':
      params.set('client_id', credentials.client_id);
      params.set('client_secret', credentials.client_secret);
      break;
    case 'basic':
      headers.authorization = basicAuthorization(credentials);
      break;
    case 'bearer_access_token':
      headers.authorization = `Bearer ${tokens.access_token}`;
      break;
    case 'access_token_header':
      // Shopify: `X-Shopify-Access-Token: <token>`, no scheme. The schema requires the name here.
      headers[(revocation.auth_header ?? 'authorization').toLowerCase()] = tokens.access_token;
      break;
    case 'none':
      break;
  }
  const request = { method: revocation.method, headers, secretValues };
  if (revocation.token_in === 'query') {
    // Zoho's contract: `?token=` on the URL. Such URLs are never logged or put into errors.
    for (const [name, value] of params) url.searchParams.set(name, value);
    return { url, ...request };
  }
  if (params.size === 0) return { url, ...request };
  if (revocation.body_format === 'json') {
    headers['content-type'] = 'application/json';
    return { url, ...request, body: JSON.stringify(Object.fromEntries(params)) };
  }
  headers['content-type'] = 'application/x-www-form-urlencoded';
  return { url, ...request, body: new URLSearchParams([...params]).toString() };
}

/**
 * Validates a token endpoint response for any grant and normalises it into a `TokenGrantResult`
 * (RFC 6749 §5.1–5.2, https://www.rfc-editor.org/rfc/rfc6749#section-5.1); throws `BrokerError` only.
 * The body is read as `send` reads it: at most `MAX_RESPONSE_BYTES`, else `provider_error`.
 */
export async function processTokenResponse(
  provider: Provider,
  response: Response,
  grant: TokenGrantType,
  options: ProcessTokenResponseOptions = {},
): Promise<TokenGrantResult> {
  let text: string | undefined;
  try {
    text = await readCapped(response);
  } catch {
    throw new BrokerError('provider_unavailable', `Provider ${provider.key}: the token response body could not be read`, {
      provider: { grant, network: true, httpStatus: response.status },
    });
  }
  if (text === undefined) throw answerTooLarge(provider, grant, response.status);
  return interpretTokenResponse(provider, { status: response.status, headers: response.headers, text }, grant, context(options, options.secretValues ?? []));
}

async function runGrant(provider: Provider, request: TokenEndpointRequest, grant: TokenGrantType, options: TokenEndpointOptions): Promise<TokenGrantResult> {
  const response = await send(provider, request, grant, options);
  return interpretTokenResponse(provider, response, grant, context(options, request.secretValues));
}

export function context(options: { now?: () => number }, secretValues: readonly string[]): ProcessContext {
  return { now: options.now ?? Date.now, secretValues };
}

/**
 * Sends the request and buffers the body (at most `MAX_RESPONSE_BYTES`), all under one timeout, never following a redirect;
 * transport failures become BrokerErrors that quote no URL. Every call to a provider that
 * carries a secret or a token goes through here (token-endpoint.ts, tenant-request.ts).
 */
export async function send(provider: Provider, request: TokenEndpointRequest, kind: ExchangeKind, options: TokenEndpointOptions): Promise<BufferedResponse> {
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // A timer cleared as soon as the answer is in, not `AbortSignal.timeout`: that one's timer and
  // signal live for the whole timeout, so a worker at 1,000 refreshes/s would carry 10,000 of them.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('The provider call timed out', 'TimeoutError')), timeoutMs);
  timer.unref?.();
  const { signal } = controller;
  try {
    const response = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      // A redirect would replay the credentials to wherever it points; treat it as an error instead.
      redirect: 'manual',
      signal,
    });
    const text = await readCapped(response);
    if (text === undefined) {
      controller.abort();
      throw answerTooLarge(provider, kind, response.status);
    }
    return { status: response.status, headers: response.headers, text };
  } catch (err) {
    if (err instanceof BrokerError) throw err;
    if (signal.aborted) {
      throw new BrokerError('provider_timeout', `Provider ${provider.key}: no ${exchangeLabel(kind)} response within ${timeoutMs} ms`, {
        provider: { grant: kind, timeoutMs },
      });
    }
    // No `cause`: fetch errors can quote the URL, and Marketo's URL carries the client secret.
    const networkError = networkErrorCode(err);
    throw new BrokerError('provider_unavailable', `Provider ${provider.key}: ${exchangeLabel(kind)} endpoint unreachable`, {
      provider: { grant: kind, network: true, networkError },
    });
  } finally {
    clearTimeout(timer);
  }
}

/** An answer over `MAX_RESPONSE_BYTES`: the provider's error (it is broken, not down), refused unparsed. */
function answerTooLarge(provider: Provider, kind: ExchangeKind, httpStatus: number): BrokerError {
  return new BrokerError('provider_error', `Provider ${provider.key}: the ${exchangeLabel(kind)} response is larger than ${MAX_RESPONSE_BYTES / 1024} KiB`, {
    provider: { grant: kind, httpStatus },
  });
}

/** The one validation path: status, error body, JSON, then each field. */
function interpretTokenResponse(provider: Provider, response: BufferedResponse, grant: TokenGrantType, ctx: ProcessContext): TokenGrantResult {
  const failure = classifyFailure(provider, response, grant, ctx);
  if (failure !== undefined) throw failure;

  const json = parseJson(response.text);
  if (!isPlainObject(json)) {
    throw new BrokerError('provider_error', `Provider ${provider.key}: the ${exchangeLabel(grant)} response is not a JSON object`, {
      provider: { grant, httpStatus: response.status },
    });
  }
  const invalid = (field: string, expected: string): BrokerError =>
    new BrokerError('provider_error', `Provider ${provider.key}: the ${exchangeLabel(grant)} response has ${field} missing or not ${expected}`, {
      provider: { grant, httpStatus: response.status },
      details: { field },
    });

  const accessToken = own(json, 'access_token');
  if (typeof accessToken !== 'string' || accessToken === '') throw invalid('access_token', 'a non-empty string');

  const rawTokenType = own(json, 'token_type');
  let tokenType: string;
  if (rawTokenType === undefined || rawTokenType === null || rawTokenType === '') tokenType = provider.default_token_type;
  else if (typeof rawTokenType === 'string') tokenType = rawTokenType;
  else throw invalid('token_type', 'a string');

  const expiresIn = expiresInSeconds(own(json, 'expires_in'));
  if (expiresIn === 'invalid') throw invalid('expires_in', 'a non-negative number');
  const lifetime = tokenLifetimeS(expiresIn, provider);
  const expiresAt = lifetime === undefined ? undefined : ctx.now() + Math.round(lifetime * 1000);

  const refreshToken = optionalString(own(json, 'refresh_token'));
  if (refreshToken === 'invalid') throw invalid('refresh_token', 'a string');
  // A refresh token's end is known for a new one, and (idle limits) for the one just used to refresh.
  const refreshExpiresAt = refreshToken !== undefined || grant === 'refresh_token' ? refreshTokenEnd(provider, json, ctx.now()) : undefined;
  if (refreshExpiresAt === 'invalid') throw invalid(provider.refresh_token_expires_in_path ?? 'refresh_token_expires_in', 'a non-negative number');
  const idToken = optionalString(own(json, 'id_token'));
  if (idToken === 'invalid') throw invalid('id_token', 'a string');
  const scope = scopeString(valueAtPath(json, provider.granted_scopes_path), provider.scope_separator);
  if (scope === 'invalid') throw invalid(provider.granted_scopes_path, 'a string or a list of strings');

  const tokens: TokenSet = {
    access_token: accessToken,
    token_type: tokenType.toLowerCase(),
    ...(refreshToken !== undefined ? { refresh_token: refreshToken } : {}),
    ...(expiresAt !== undefined ? { expires_at: expiresAt } : {}),
    ...(refreshExpiresAt !== undefined ? { refresh_expires_at: refreshExpiresAt } : {}),
    ...(scope !== undefined ? { scope } : {}),
    ...(idToken !== undefined ? { id_token: idToken } : {}),
  };
  const metadata = metadataOf(json, provider.token_response_metadata);
  const tenant = tenantOf(provider, metadata);
  const connectionConfig = connectionValuesOf(provider, json, grant, response.status);
  return {
    tokens,
    ...(scope !== undefined ? { grantedScopes: splitScopes(scope, provider.scope_separator) } : {}),
    metadata,
    ...(tenant !== undefined ? { tenant } : {}),
    connectionConfig,
    httpStatus: response.status,
  };
}

/**
 * The account the response names: the first `tenant_fields` value present, or, with a
 * `tenant_pattern`, what its capture group takes from that value (Salesforce's org id inside the
 * identity URL); a value the pattern does not match names none.
 */
function tenantOf(provider: Provider, metadata: Record<string, string>): string | undefined {
  const value = provider.tenant_fields.map((field) => metadata[field]).find((v) => v !== undefined && v !== '');
  if (value === undefined || provider.tenant_pattern === undefined) return value;
  const captured = fullMatch(provider.tenant_pattern).exec(value)?.[1];
  return captured === undefined || captured === '' ? undefined : captured;
}

/**
 * The connection values a token response carries (`connection_config.<name>.token_response_path`).
 * They decide where later calls go (Salesforce's `instance_url`), so each is checked against its
 * declaration like a value an admin sends; a code exchange without a required one is refused.
 */
function connectionValuesOf(provider: Provider, json: JsonObject, grant: TokenGrantType, httpStatus: number): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, definition] of Object.entries(provider.connection_config)) {
    if (definition.token_response_path === undefined) continue;
    const value = valueAtPath(json, definition.token_response_path);
    const fail = (expected: string) =>
      new BrokerError('provider_error', `Provider ${provider.key}: the ${exchangeLabel(grant)} response has ${definition.token_response_path} ${expected}`, {
        provider: { grant, httpStatus },
        details: { field: definition.token_response_path },
      });
    if (value === undefined || value === null || value === '') {
      if (grant === 'authorization_code' && !definition.optional) throw fail('missing');
      continue;
    }
    if (typeof value !== 'string') throw fail('not a string');
    if (connectionValueProblem(provider, name, value) !== undefined) throw fail('in a form the catalogue does not accept');
    values[name] = value;
  }
  return values;
}

/** When a refresh token dies: the provider's own figure or its idle limit from now, whichever is first; 'invalid' for a malformed figure. */
function refreshTokenEnd(provider: Provider, json: JsonObject, now: number): number | undefined | 'invalid' {
  const ends: number[] = [];
  if (provider.refresh_token_expires_in_path !== undefined) {
    const seconds = expiresInSeconds(valueAtPath(json, provider.refresh_token_expires_in_path));
    if (seconds === 'invalid') return 'invalid';
    // The same ten-year ceiling as an access token's (TOKEN_LIFETIME_BOUNDS): every end is a date a client can hold.
    if (seconds !== undefined) ends.push(now + Math.round(Math.min(seconds, TOKEN_LIFETIME_BOUNDS.maxS) * 1000));
  }
  if (provider.refresh_token_idle_ttl_s !== undefined) ends.push(now + provider.refresh_token_idle_ttl_s * 1000);
  if (ends.length === 0) return undefined;
  const end = Math.min(...ends);
  return Number.isSafeInteger(end) ? end : 'invalid';
}

/** Maps a non-success response (or a 2xx carrying an OAuth `error`) to a BrokerError; undefined when it is a success. */
export function classifyFailure(provider: Provider, response: BufferedResponse, kind: ExchangeKind, ctx: ProcessContext): BrokerError | undefined {
  const { status } = response;
  const success = status >= 200 && status < 300;
  const body = parseJson(response.text);
  const providerCode = providerErrorCode(body, success ? SUCCESS_ERROR_CODE_PATHS : provider.error_code_paths);
  if (success && providerCode === undefined) return undefined;

  const shownCode = providerCode === undefined ? undefined : displayableCode(providerCode, ctx.secretValues);
  const failure: ProviderFailure = { grant: kind, httpStatus: status, error: shownCode };
  const suffix = shownCode !== undefined ? ` (${shownCode})` : '';

  // A code the catalogue calls transient is an outage whatever the status: Zoho throttles with HTTP 200.
  if (status === 429 || status >= 500 || (providerCode !== undefined && provider.transient_errors.includes(providerCode))) {
    const retryAfter = retryAfterSeconds(response.headers.get('retry-after'), ctx.now);
    return new BrokerError('provider_unavailable', `Provider ${provider.key}: ${exchangeLabel(kind)} endpoint answered HTTP ${status}${suffix}; try later`, {
      provider: { ...failure, retryAfterS: retryAfter },
    });
  }
  const grantCanDie = kind === 'refresh_token' || kind === 'client_credentials';
  if (
    grantCanDie &&
    ((providerCode !== undefined && provider.dead_grant_errors.includes(providerCode)) || provider.dead_grant_statuses.includes(status))
  ) {
    return new BrokerError('needs_reauth', `Provider ${provider.key} rejected the ${exchangeLabel(kind)}${suffix}: the grant is no longer valid, reconnect`, {
      provider: failure,
    });
  }
  return new BrokerError('provider_error', `Provider ${provider.key}: ${exchangeLabel(kind)} endpoint answered HTTP ${status}${suffix}`, { provider: failure });
}

function exchangeLabel(kind: ExchangeKind): string {
  switch (kind) {
    case 'authorization_code':
      return 'code exchange';
    case 'refresh_token':
      return 'token refresh';
    case 'client_credentials':
      return 'client credentials';
    case 'revocation':
      return 'revocation';
    case 'tenant_request':
      return 'account look-up';
  }
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before being joined and base64-encoded. */
function basicAuthorization(credentials: ClientCredentials): string {
  const encoded = `${formUrlEncode(credentials.client_id)}:${formUrlEncode(credentials.client_secret)}`;
  return `Basic ${Buffer.from(encoded, 'utf8').toString('base64')}`;
}

function formUrlEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

const NOT_JSON = Symbol('not JSON');

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

type JsonObject = Record<string, unknown>;

/** Own properties only: a body field named `constructor` must not find Object.prototype's. */
function own(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** The first non-empty string at one of `paths` (the catalogue's `error_code_paths`). */
function providerErrorCode(body: unknown, paths: readonly string[]): string | undefined {
  if (!isPlainObject(body)) return undefined;
  for (const path of paths) {
    const value = valueAtPath(body, path);
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/** The provider's error code as it may appear in an error, or undefined when it looks like anything but a code. */
function displayableCode(code: string, secretValues: readonly string[]): string | undefined {
  if (!DISPLAYABLE_CODE.test(code)) return undefined;
  if (secretValues.some((secret) => secret.length >= 4 && code.includes(secret))) return undefined;
  return code;
}

function networkErrorCode(err: unknown): string | undefined {
  const cause = err instanceof Error ? err.cause : undefined;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? cause.code : undefined;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,39}$/.test(code) ? code : undefined;
}

/**
 * The longest wait a provider's Retry-After is read as. Without a bound, `Retry-After: 9…9`
 * (400 digits) or a date in the year 9999 became an infinite or unstorable back-off; the
 * refresh policy may cap lower.
 */
export const RETRY_AFTER_MAX_S = 24 * 3600;

/** Retry-After (RFC 9110 §10.2.3: delay-seconds or an HTTP date) as whole seconds in [0, RETRY_AFTER_MAX_S]. */
function retryAfterSeconds(header: string | null, now: () => number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Math.min(Number(value), RETRY_AFTER_MAX_S);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, Math.ceil((at - now()) / 1000)), RETRY_AFTER_MAX_S);
}

/**
 * The lifetimes the broker stores, in seconds (docs/design.md, "Bounds on what providers say").
 * Below `minS` a token would be refreshed on nearly every getToken (the on-demand skew is half
 * the lifetime), so a shorter one is raised to it; above `maxS` (ten years) the expiry would
 * soon be past what a `Date` holds, so a longer one is lowered to it.
 */
export const TOKEN_LIFETIME_BOUNDS = { minS: 10, maxS: 10 * 365 * 24 * 3600 } as const;

/**
 * The lifetime to store for a token whose response said `expiresIn` (undefined: absent), by the
 * rule above: absent → the catalogue's `default_expires_in` (or no expiry); 0 → no expiry when
 * the catalogue says `expires_in_zero: never_expires` (Mailchimp), else the minimum; then
 * clamped to `TOKEN_LIFETIME_BOUNDS`. Negative and non-finite values never get here (provider_error).
 */
export function tokenLifetimeS(expiresIn: number | undefined, provider: Pick<Provider, 'default_expires_in' | 'expires_in_zero'>): number | undefined {
  if (expiresIn === 0 && provider.expires_in_zero === 'never_expires') return undefined;
  const stated = expiresIn ?? provider.default_expires_in;
  if (stated === undefined) return undefined;
  return Math.min(Math.max(stated, TOKEN_LIFETIME_BOUNDS.minS), TOKEN_LIFETIME_BOUNDS.maxS);
}

/** `expires_in` as a number of seconds: a finite non-negative number or numeric string; anything else is 'invalid'. */
function expiresInSeconds(value: unknown): number | undefined | 'invalid' {
  if (value === undefined || value === null) return undefined;
  const seconds = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value.trim()) : value;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds : 'invalid';
}

/** Absent, null and '' all mean "not sent" (a refresh then keeps the old refresh token). */
function optionalString(value: unknown): string | undefined | 'invalid' {
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' ? value : 'invalid';
}

/** `scope` is a string per RFC 6749 §5.1; a list of strings is accepted and joined. */
function scopeString(value: unknown, separator: string): string | undefined | 'invalid' {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((s): s is string => typeof s === 'string')) return value.join(separator);
  return 'invalid';
}

function splitScopes(scope: string, separator: string): string[] {
  const parts = (separator === '' ? [scope] : scope.split(separator)).flatMap((part) => part.split(/[\s,]+/));
  return [...new Set(parts.filter((s) => s !== ''))];
}

/** The values at `paths` as strings (objects as JSON), keyed by path; absent and null ones left out. */
export function metadataOf(json: unknown, paths: readonly string[]): Record<string, string> {
  const entries: [string, string][] = [];
  for (const field of paths) {
    const value = valueAtPath(json, field);
    if (value === undefined || value === null) continue;
    entries.push([field, typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value)]);
  }
  // fromEntries defines own properties, so a field named `__proto__` cannot touch the prototype.
  return Object.fromEntries(entries);
}
