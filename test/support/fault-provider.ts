/**
 * A programmable stand-in for a provider's token endpoint, for the faults a
 * real authorization server will not produce on demand: scripted 429/5xx,
 * hangs, non-JSON bodies, latency, revoked grants with each provider's own
 * "dead grant" body, Marketo's same-token-until-expiry, and rotation where
 * reusing an old refresh token does NOT kill the new one.
 *
 * Plain `node:http` on 127.0.0.1, random port. Routes:
 * - `POST /token` (form or JSON body) and `GET /token?…` (Marketo style);
 *   grants `authorization_code`, `refresh_token`, `client_credentials`; a
 *   body without `grant_type` (RD Station) is inferred from `code` /
 *   `refresh_token`.
 * - `GET /authorize` → 302 to `redirect_uri` with a fresh `code` and `state`.
 * - `POST /revoke` (RFC 7009, form or JSON `token`) → 200;
 *   `DELETE /refresh-tokens/:token` (HubSpot) → 204.
 * - `GET /api/me` with `Authorization: Bearer` → 200 for a live token it issued, 401 otherwise.
 * - `GET /jwks`: the public key of the ES256 key that signs `id_token`s, which the code grant
 *   returns when `idTokens` is on (iss = the provider's URL, aud = the client, sub, nonce).
 *
 * The provider stand-ins (test/support/standins/) are this stub with a provider's profile: its
 * own endpoint paths (`paths`), its request rules (`checkTokenRequest`), its error bodies
 * (`errors`), its rotation and reuse rules (`rotateRefreshTokens`, `reusedRefreshToken`), refresh
 * tokens that die when unused (`refreshIdleMs`), what the consent screen decides (`consent`: the
 * account picked, extra callback parameters, whether a refresh token is granted) and its other
 * endpoints (`routes`: revocation shapes, tenant look-ups). Requests reach it through the
 * stand-in network (standins/network.ts), which names the host the caller meant in
 * `x-forwarded-host`: a per-customer host (a Zendesk subdomain, a Shopify shop) is `req.host`.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK } from 'jose';

/** A canned answer. `body`: object → JSON, string → sent as is (text/plain unless `headers` say otherwise). */
export interface ScriptedResponse {
  /** HTTP status; default 200. */
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Never answer (the socket stays open until the client gives up or `close()`). */
  hang?: boolean;
  /** Drop the connection without an answer (the client sees a reset). */
  reset?: boolean;
  /** Extra delay before this answer, on top of `latencyMs`. */
  delayMs?: number;
  /**
   * Run the real handler first (codes consumed, refresh tokens rotated), then answer with this instead —
   * e.g. `{ runHandler: true, hang: true }` is "the provider rotated but the response was lost".
   */
  runHandler?: boolean;
}

/** One request as the stub saw it. */
export interface RecordedRequest {
  method: string;
  /** The host the caller addressed: `x-forwarded-host` from the stand-in network, else the Host header. */
  host: string;
  path: string;
  /** Query-string parameters. */
  query: Record<string, string>;
  /** Query parameters merged with the parsed body (form or JSON); the body wins. */
  params: Record<string, unknown>;
  /** The raw request body. */
  rawBody: string;
  headers: IncomingHttpHeaders;
  /** Client id from the params or from HTTP Basic, when present. */
  clientId: string | undefined;
  /** How the client authenticated. */
  clientAuth: 'basic' | 'post' | 'none';
  /** `clock()` when received (epoch ms). */
  at: number;
}

/** Options for {@link startFaultProvider}. */
export interface FaultProviderOptions {
  /** When set, the token endpoint checks these credentials (401 `invalid_client` otherwise); when absent any client is accepted. */
  client?: { id: string; secret: string };
  /** Delay before every answer, in ms; default 0. Mutable later via `provider.latencyMs`. */
  latencyMs?: number;
  /** Access-token lifetime in seconds; default 3600; `null` = never expires (no `expires_in`). Mutable later via `provider.expiresIn`. */
  expiresIn?: number | null;
  /** Marketo semantics for client_credentials: asking before expiry returns the same token with its remaining `expires_in`. */
  sameTokenUntilExpiry?: boolean;
  /**
   * Rotate refresh tokens (each valid once); default true. When false the same refresh token
   * comes back and stays valid; `omit`: the refresh response carries no refresh token at all
   * (Google, Zoho: keep the one you have).
   */
  rotateRefreshTokens?: boolean | 'omit';
  /**
   * Reuse detection (OAuth 2.0 Security BCP, as oidc-provider does): presenting a refresh token that
   * was already rotated away (and is not honoured by `reusedRefreshToken`) revokes the whole grant —
   * every refresh and access token issued from it.
   */
  reuseDetection?: boolean;
  /** Body answered for a dead, reused or unknown refresh token; default `{ error: 'invalid_grant', … }`. */
  deadGrantBody?: unknown;
  /** Status for a dead grant; default 400. */
  deadGrantStatus?: number;
  /** Epoch-ms clock used for token expiry; default `Date.now`. */
  clock?: () => number;
  /** Called for every request after it is recorded; returning a response short-circuits the route. */
  onRequest?: (req: RecordedRequest) => ScriptedResponse | void | Promise<ScriptedResponse | void>;
  /**
   * Reshapes every successful token response (drop `token_type`, add `locationId`, …). `req` is
   * the token request (a stand-in's answer may depend on a parameter, Shopify's `expiring`).
   */
  shapeTokenResponse?: (body: Record<string, unknown>, grant: string, req?: RecordedRequest) => Record<string, unknown>;
  /**
   * The code grant also returns a signed `id_token` (OpenID Connect). `claims` may override
   * or add claims (a wrong `aud`, another `iss`); `sub` defaults to the code's `extras.sub` or `fault-user`.
   * A function gives each grant its own claims (a stand-in's `iss`, `tid`, `realmid` from the
   * consent's extras), or undefined for no id_token (the consent did not ask for `openid`).
   */
  idTokens?: boolean | { claims?: Record<string, unknown> | ((grant: { extras: Record<string, unknown>; clientId: string | undefined; scope: string | undefined }) => Record<string, unknown> | undefined) };
  /** Mints each access token (a stand-in whose access tokens are JWTs: Xero); default an opaque random string. */
  mintAccessToken?: (grant: { extras: Record<string, unknown>; clientId: string | undefined; scope: string | undefined }) => string;
  /** The provider's own endpoint paths; default `/token`, `/authorize` and `/jwks` (the id_token keys). */
  paths?: { token?: string; authorize?: string; jwks?: string };
  /**
   * The provider's rules for a token request (encoding, client authentication, required
   * parameters), checked after client authentication and before the grant is handled: an
   * answer refuses the request.
   */
  checkTokenRequest?: (req: RecordedRequest, grant: string) => StandInAnswer | void;
  /** The provider's own error answers; each defaults to the RFC 6749 shape (400 `invalid_grant` …). */
  errors?: Partial<Record<StandInError, (description: string) => StandInAnswer>>;
  /**
   * What presenting a refresh token that was already rotated gets: `dead` (default: the dead-grant
   * answer), `valid` (the old one keeps working: Microsoft), `{ graceMs }` (works for that long
   * after its first use: Xero's 30 minutes), `until_new_used` (works until its successor is used: Shopify).
   */
  reusedRefreshToken?: 'dead' | 'valid' | { graceMs: number } | 'until_new_used';
  /** A refresh token not used for this long dies (sliding idle expiry), in ms. */
  refreshIdleMs?: number;
  /** A refresh also ends the grant's earlier access tokens (Zendesk: "delete the previous access and refresh tokens"). */
  refreshRevokesOldAccessTokens?: boolean;
  /** What the consent screen at the authorize endpoint decides; an answer there is an error page instead. */
  consent?: (req: RecordedRequest) => Consent | StandInAnswer;
  /** When true, a code or token is only good at the host that issued it (a per-customer host). */
  hostBound?: boolean;
  /** The exchange does not take `redirect_uri` (Shopify): it is not compared with the authorize request's. */
  ignoreRedirectUriAtExchange?: boolean;
  /** The provider's other endpoints (revocation shapes, tenant look-ups), matched by method and path. */
  routes?: StandInRoute[];
}

/** An answer the stub sends: status, headers, body (object → JSON, string → as is). */
export interface StandInAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** The errors a stand-in answers in its provider's own shape. */
export type StandInError = 'invalid_client' | 'invalid_code' | 'invalid_request' | 'unsupported_grant_type';

/** What the user's consent decides at the authorize endpoint. */
export interface Consent {
  /** Extra token-response fields for this grant (the workspace, the account picked). */
  extras?: Record<string, unknown>;
  /** Extra parameters on the redirect back (QuickBooks `realmId`, Zoho `accounts-server`). */
  callbackParams?: Record<string, string>;
  /** False: the code exchange returns no refresh token (Google without `access_type=offline`). */
  refresh?: boolean;
  /** The host whose token endpoint this code belongs to (Zoho's data centre); default the authorize request's host when `hostBound`. */
  host?: string;
  /** Last touch to the redirect back, once `code` and `state` are on it (Shopify signs the whole query). */
  finish?: (callback: URL) => void;
}

/** What a provider endpoint written in a stand-in may ask of the stub's grant state. */
export interface StandInApi {
  /** The live grant an access token belongs to, or undefined (unknown, expired, revoked). */
  accessGrant(token: string | undefined): LiveGrant | undefined;
  /** The live grant a refresh token belongs to (an active refresh token), or undefined. */
  refreshGrant(token: string | undefined): LiveGrant | undefined;
  /** Ends a whole grant: every access and refresh token of it. */
  revokeGrant(grantId: string): void;
  /** The grant a token (access or refresh, live or not) was issued for. */
  grantOf(token: string): string | undefined;
  /** Ends every grant issued so far (the user removed the app). */
  revokeEveryGrant(): void;
  /** Counts a revocation and records the token (the `revoked` list). */
  recordRevocation(token: string): void;
  now(): number;
}

/** A grant as a stand-in endpoint sees it. */
export interface LiveGrant {
  grantId: string;
  clientId: string | undefined;
  scope: string | undefined;
  extras: Record<string, unknown>;
  host: string | undefined;
}

/** An extra endpoint of a stand-in. `revocation` endpoints count in `calls.revoke`. */
export interface StandInRoute {
  method: string;
  path: string | RegExp;
  revocation?: boolean;
  handle(req: RecordedRequest, api: StandInApi): StandInAnswer | Promise<StandInAnswer>;
}

/** Options for {@link FaultProvider.issueCode}. */
export interface IssueCodeOptions {
  scope?: string;
  /** When set, the exchange must send the same `redirect_uri`. */
  redirectUri?: string;
  /** S256 challenge; when set, the exchange must send the matching `code_verifier`. */
  codeChallenge?: string;
  /**
   * Extra fields for token responses of this grant (and its refreshes), e.g. `{ locationId: 'loc-1' }`.
   * Names starting with `_` are the grant's private facts (for stand-in routes), never sent.
   */
  extras?: Record<string, unknown>;
  clientId?: string;
  /** The authorization request's `nonce`, echoed in the id_token. */
  nonce?: string;
  /** False: the exchange returns no refresh token. Default true. */
  refresh?: boolean;
  /** The host the exchange must reach (with `hostBound`). */
  host?: string;
}

/** Counters kept by the stub. */
export interface FaultProviderCalls {
  /** Every request to `/token`, scripted or not. */
  token: number;
  /** `/token` requests per grant (`grant_type`, or inferred when absent; `unknown` otherwise). */
  byGrant: Record<string, number>;
  /** `POST /revoke` plus `DELETE /refresh-tokens/:token`. */
  revoke: number;
  /** `GET /api/me`. */
  me: number;
  /** Requests per stand-in route, keyed `METHOD path-as-declared`. */
  byRoute: Record<string, number>;
}

/** A running fault provider. */
export interface FaultProvider {
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** `${url}/token`. */
  tokenUrl: string;
  /** `${url}/authorize`. */
  authorizeUrl: string;
  /** Responses consumed in order by the next `/token` requests. */
  script: ScriptedResponse[];
  calls: FaultProviderCalls;
  /** Every request, in order. */
  requests: RecordedRequest[];
  /** Tokens revoked through `/revoke` or `DELETE /refresh-tokens/:token`, in order. */
  revoked: string[];
  /** Per-request hook (starts as the `onRequest` option); tests may replace it at any time. */
  onRequest: FaultProviderOptions['onRequest'];
  /** Delay before every answer (ms); change at will. */
  latencyMs: number;
  /** Lifetime of newly issued access tokens (s); `null` = they never expire and responses carry no `expires_in`. */
  expiresIn: number | null;
  /** The grant state, as stand-in routes see it. */
  api: StandInApi;
  /** Issues a single-use authorization code (`code=good` is always accepted as well, reusably). */
  issueCode(options?: IssueCodeOptions): string;
  /** Every refresh from now on fails with the dead-grant body (this one, or the configured default). */
  revokeAll(body?: unknown, status?: number): void;
  /** Undoes `revokeAll()` for tokens issued afterwards (earlier ones stay dead). */
  restore(): void;
  /** True when this refresh token would currently be accepted. */
  isRefreshTokenValid(token: string): boolean;
  /** Resets counters, the request log and the revoked list. */
  resetCounters(): void;
  /** Stops the server, dropping hung connections. */
  close(): Promise<void>;
}

interface GrantState {
  clientId: string | undefined;
  scope: string | undefined;
  extras: Record<string, unknown>;
  /** One id per consent: every token of it dies with it. */
  grantId: string;
  /** With `hostBound`: the only host its tokens work at. */
  host: string | undefined;
}

interface CodeState extends GrantState {
  redirectUri: string | undefined;
  codeChallenge: string | undefined;
  nonce?: string | undefined;
  refresh: boolean;
}

interface RefreshState extends GrantState {
  status: 'active' | 'used' | 'revoked';
  /** Last time it was issued or used (idle expiry). */
  lastUsedAt: number;
  /** When it was first used (reuse grace). */
  usedAt?: number;
  /** The tokens it was rotated into (more than one when it was presented again). */
  successors: string[];
}

interface AccessState {
  clientId: string | undefined;
  scope: string | undefined;
  expiresAt: number;
  revoked: boolean;
  grantId: string;
}

function token(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('base64url')}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (contentType?.includes('json') || /^\s*[{[]/.test(raw)) {
    try {
      const parsed: unknown = JSON.parse(raw);
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

/** Starts the programmable provider stub on 127.0.0.1 (random port). */
export async function startFaultProvider(options: FaultProviderOptions = {}): Promise<FaultProvider> {
  const clock = options.clock ?? Date.now;
  const rotate = options.rotateRefreshTokens ?? true;
  const defaultDead = {
    status: options.deadGrantStatus ?? 400,
    body: options.deadGrantBody ?? { error: 'invalid_grant', error_description: 'refresh token is invalid, used or revoked' },
  };
  let deadAll: { status: number; body: unknown } | undefined;

  const codes = new Map<string, CodeState>();
  // The key that signs id_tokens; its public half is served at /jwks.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'fault-key', alg: 'ES256', use: 'sig' };
  type IdTokenFacts = { clientId: string | undefined; nonce: string | undefined; sub: string; extras: Record<string, unknown>; scope: string | undefined };
  let pendingIdToken: IdTokenFacts | undefined;
  const idTokenClaims = typeof options.idTokens === 'object' ? (options.idTokens.claims ?? {}) : {};

  async function withIdToken(answer: Answer, facts: IdTokenFacts): Promise<Answer> {
    if (answer.status !== 200 || typeof answer.body !== 'object' || answer.body === null) return answer;
    const extra = typeof idTokenClaims === 'function' ? idTokenClaims({ extras: facts.extras, clientId: facts.clientId, scope: facts.scope }) : idTokenClaims;
    if (extra === undefined) return answer;
    const now = Math.floor(clock() / 1000);
    const claims = { iss: state.url, aud: facts.clientId, sub: facts.sub, iat: now, exp: now + 600, ...(facts.nonce ? { nonce: facts.nonce } : {}), ...extra };
    const idToken = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'fault-key' }).sign(privateKey);
    return { ...answer, body: { ...(answer.body as Record<string, unknown>), id_token: idToken } };
  }
  const refreshTokens = new Map<string, RefreshState>();
  const accessTokens = new Map<string, AccessState>();
  const ccByClient = new Map<string, string>();
  /** Grants ended as a whole (a revocation that kills every token of the consent). */
  const deadGrants = new Set<string>();
  /** Facts of grants whose code was exchanged (kept for grants without a refresh token). */
  const grantFacts = new Map<string, GrantState>();
  const tokenPath = options.paths?.token ?? '/token';
  const authorizePath = options.paths?.authorize ?? '/authorize';
  const reuse = options.reusedRefreshToken ?? 'dead';

  const state: FaultProvider = {
    url: '',
    tokenUrl: '',
    authorizeUrl: '',
    script: [],
    calls: { token: 0, byGrant: {}, revoke: 0, me: 0, byRoute: {} },
    requests: [],
    revoked: [],
    onRequest: options.onRequest,
    latencyMs: options.latencyMs ?? 0,
    expiresIn: options.expiresIn === undefined ? 3600 : options.expiresIn,
    api: undefined as unknown as StandInApi, // set below, once the grant state it reads exists
    issueCode(o = {}) {
      const code = token('code');
      codes.set(code, {
        clientId: o.clientId,
        scope: o.scope,
        extras: o.extras ?? {},
        redirectUri: o.redirectUri,
        codeChallenge: o.codeChallenge,
        nonce: o.nonce,
        refresh: o.refresh ?? true,
        grantId: token('grant'),
        host: o.host,
      });
      return code;
    },
    revokeAll(body, status) {
      deadAll = { status: status ?? defaultDead.status, body: body ?? defaultDead.body };
      for (const rt of refreshTokens.values()) if (rt.status === 'active') rt.status = 'revoked';
    },
    restore() {
      deadAll = undefined;
    },
    isRefreshTokenValid(t) {
      const rt = refreshTokens.get(t);
      return !deadAll && rt !== undefined && refreshUsable(rt) && !deadGrants.has(rt.grantId);
    },
    resetCounters() {
      state.calls.token = 0;
      state.calls.byGrant = {};
      state.calls.revoke = 0;
      state.calls.me = 0;
      state.calls.byRoute = {};
      state.requests.length = 0;
      state.revoked.length = 0;
    },
    close: async () => undefined,
  };

  type Answer = StandInAnswer;

  const defaultErrors: Record<StandInError, (description: string) => Answer> = {
    invalid_client: (d) => ({ status: 401, body: { error: 'invalid_client', error_description: d } }),
    invalid_code: (d) => ({ status: 400, body: { error: 'invalid_grant', error_description: d } }),
    invalid_request: (d) => ({ status: 400, body: { error: 'invalid_request', error_description: d } }),
    unsupported_grant_type: (d) => ({ status: 400, body: { error: 'unsupported_grant_type', error_description: d } }),
  };
  const fail = (kind: StandInError, description: string): Answer => (options.errors?.[kind] ?? defaultErrors[kind])(description);

  function tokenResponse(
    grant: string,
    g: GrantState,
    withRefresh: string | undefined,
    access?: { value: string; expiresIn: number },
    request?: RecordedRequest,
  ): Answer {
    let accessValue = access?.value;
    const expiresIn = access?.expiresIn ?? state.expiresIn;
    if (!accessValue) {
      accessValue = options.mintAccessToken ? options.mintAccessToken({ extras: g.extras, clientId: g.clientId, scope: g.scope }) : token('at');
      const expiresAt = expiresIn === null ? Number.POSITIVE_INFINITY : clock() + expiresIn * 1000;
      accessTokens.set(accessValue, { clientId: g.clientId, scope: g.scope, expiresAt, revoked: false, grantId: g.grantId });
    }
    const body: Record<string, unknown> = {
      access_token: accessValue,
      token_type: 'Bearer',
      ...(expiresIn !== null ? { expires_in: expiresIn } : {}),
      ...(withRefresh ? { refresh_token: withRefresh } : {}),
      ...(g.scope ? { scope: g.scope } : {}),
      ...Object.fromEntries(Object.entries(g.extras).filter(([name]) => !name.startsWith('_'))),
    };
    return { status: 200, body: options.shapeTokenResponse ? options.shapeTokenResponse(body, grant, request) : body };
  }

  function deadGrant(): Answer {
    const d = deadAll ?? defaultDead;
    return { status: d.status, body: d.body };
  }

  function issueRefresh(g: GrantState): string {
    const rt = token('rt');
    // Only the grant's facts carry over: not the use history of the token it replaces.
    const { clientId, scope, extras, grantId, host } = g;
    refreshTokens.set(rt, { clientId, scope, extras, grantId, host, status: deadAll ? 'revoked' : 'active', lastUsedAt: clock(), successors: [] });
    return rt;
  }

  /** Whether a refresh token may be used now: active and not idle too long, or a rotated one the provider still honours. */
  function refreshUsable(rt: RefreshState): boolean {
    const now = clock();
    if (options.refreshIdleMs !== undefined && now - rt.lastUsedAt > options.refreshIdleMs) return false;
    if (rt.status === 'active') return true;
    if (rt.status !== 'used') return false;
    if (reuse === 'valid') return true;
    if (reuse === 'until_new_used') return rt.successors.every((next) => refreshTokens.get(next)?.usedAt === undefined);
    if (typeof reuse === 'object') return rt.usedAt !== undefined && now - rt.usedAt <= reuse.graceMs;
    return false;
  }

  function inferGrant(params: Record<string, unknown>): string {
    const explicit = str(params.grant_type);
    if (explicit) return explicit;
    if (str(params.refresh_token)) return 'refresh_token';
    if (str(params.code)) return 'authorization_code';
    return 'unknown';
  }

  /** With `hostBound`, a grant's tokens only work at its own host. */
  function wrongHost(g: GrantState, r: RecordedRequest): boolean {
    return g.host !== undefined && g.host !== r.host;
  }

  function handleToken(r: RecordedRequest, grant: string): Answer {
    const p = r.params;
    if (options.client) {
      const secret = r.clientAuth === 'basic' ? basicSecret(r.headers.authorization) : str(p.client_secret);
      if (r.clientId !== options.client.id || secret !== options.client.secret) {
        return fail('invalid_client', 'client authentication failed');
      }
    }
    const refused = options.checkTokenRequest?.(r, grant);
    if (refused) return refused;
    switch (grant) {
      case 'authorization_code': {
        const code = str(p.code);
        if (!code) return fail('invalid_request', 'missing code');
        let g: CodeState | undefined;
        if (code === 'good') {
          g = { clientId: r.clientId, scope: str(p.scope), extras: {}, redirectUri: undefined, codeChallenge: undefined, refresh: true, grantId: token('grant'), host: undefined };
        } else {
          g = codes.get(code);
          if (!g) return fail('invalid_code', 'authorization code is invalid or already used');
          codes.delete(code);
          if (g.clientId && r.clientId && g.clientId !== r.clientId) return fail('invalid_code', 'client mismatch');
          if (g.redirectUri && !options.ignoreRedirectUriAtExchange && str(p.redirect_uri) !== g.redirectUri) return fail('invalid_code', 'redirect_uri mismatch');
          if (wrongHost(g, r)) return fail('invalid_code', 'authorization code was issued for another host');
          if (g.codeChallenge) {
            const verifier = str(p.code_verifier);
            if (!verifier || createHash('sha256').update(verifier).digest('base64url') !== g.codeChallenge) {
              return fail('invalid_code', 'PKCE verification failed');
            }
          }
        }
        const grantState: GrantState = { clientId: g.clientId ?? r.clientId, scope: g.scope, extras: g.extras, grantId: g.grantId, host: g.host };
        grantFacts.set(g.grantId, grantState);
        const answer = tokenResponse(grant, grantState, g.refresh ? issueRefresh(grantState) : undefined, undefined, r);
        if (options.idTokens) pendingIdToken = { clientId: grantState.clientId, nonce: g.nonce, sub: typeof g.extras.sub === 'string' ? g.extras.sub : 'fault-user', extras: g.extras, scope: g.scope };
        return answer;
      }
      case 'refresh_token': {
        const presented = str(p.refresh_token);
        if (!presented) return fail('invalid_request', 'missing refresh_token');
        const rt = refreshTokens.get(presented);
        if (rt?.status === 'used' && options.reuseDetection && !refreshUsable(rt)) revokeGrant(rt.grantId);
        if (deadAll || !rt || !refreshUsable(rt) || deadGrants.has(rt.grantId) || wrongHost(rt, r)) return deadGrant();
        if (rt.clientId && r.clientId && rt.clientId !== r.clientId) return fail('invalid_code', 'client mismatch');
        const now = clock();
        rt.usedAt ??= now;
        rt.lastUsedAt = now;
        let next: string | undefined = presented;
        if (rotate === 'omit') {
          next = undefined;
        } else if (rotate) {
          rt.status = 'used';
          next = issueRefresh(rt);
          rt.successors.push(next);
        }
        if (options.refreshRevokesOldAccessTokens) {
          for (const at of accessTokens.values()) if (at.grantId === rt.grantId) at.revoked = true;
        }
        return tokenResponse(grant, rt, next, undefined, r);
      }
      case 'client_credentials': {
        const clientKey = r.clientId ?? '';
        const g: GrantState = { clientId: r.clientId, scope: str(p.scope), extras: {}, grantId: token('grant'), host: undefined };
        if (options.sameTokenUntilExpiry) {
          const current = ccByClient.get(clientKey);
          const at = current ? accessTokens.get(current) : undefined;
          const now = clock();
          if (current && at && !at.revoked && at.expiresAt > now) {
            return tokenResponse(
              grant,
              { ...g, scope: at.scope },
              undefined,
              { value: current, expiresIn: Math.max(0, Math.floor((at.expiresAt - now) / 1000)) },
              r,
            );
          }
          const answer = tokenResponse(grant, g, undefined, undefined, r);
          ccByClient.set(clientKey, (answer.body as { access_token: string }).access_token);
          return answer;
        }
        return tokenResponse(grant, g, undefined, undefined, r);
      }
      default:
        return fail('unsupported_grant_type', `grant_type ${grant} is not supported`);
    }
  }

  /** Reuse detected: every token of the grant dies. */
  function revokeGrant(grantId: string): void {
    for (const rt of refreshTokens.values()) if (rt.grantId === grantId) rt.status = 'revoked';
    for (const at of accessTokens.values()) if (at.grantId === grantId) at.revoked = true;
  }

  function revokeToken(t: string | undefined): void {
    if (!t) return;
    state.revoked.push(t);
    const rt = refreshTokens.get(t);
    if (rt) rt.status = 'revoked';
    const at = accessTokens.get(t);
    if (at) at.revoked = true;
  }

  function handleMe(r: RecordedRequest): Answer {
    const match = /^Bearer\s+(\S+)$/i.exec(r.headers.authorization ?? '');
    const at = match?.[1] ? accessTokens.get(match[1]) : undefined;
    if (!at || at.revoked || deadGrants.has(at.grantId)) return { status: 401, body: { error: 'invalid_token', error_description: 'unknown or revoked token' } };
    if (at.expiresAt <= clock()) return { status: 401, body: { error: 'invalid_token', error_description: 'token expired' } };
    return { status: 200, body: { sub: 'fault-user', client_id: at.clientId, scope: at.scope ?? '' } };
  }

  /** The grant state behind a live token, for stand-in routes. */
  const api: StandInApi = {
    accessGrant(t) {
      const at = t === undefined ? undefined : accessTokens.get(t);
      if (!at || at.revoked || deadGrants.has(at.grantId) || at.expiresAt <= clock()) return undefined;
      return liveGrantOf(at.grantId);
    },
    refreshGrant(t) {
      const rt = t === undefined ? undefined : refreshTokens.get(t);
      if (!rt || deadAll || !refreshUsable(rt) || deadGrants.has(rt.grantId)) return undefined;
      return { grantId: rt.grantId, clientId: rt.clientId, scope: rt.scope, extras: rt.extras, host: rt.host };
    },
    revokeGrant(grantId) {
      deadGrants.add(grantId);
    },
    grantOf(t) {
      return refreshTokens.get(t)?.grantId ?? accessTokens.get(t)?.grantId;
    },
    revokeEveryGrant() {
      for (const at of accessTokens.values()) deadGrants.add(at.grantId);
      for (const rt of refreshTokens.values()) deadGrants.add(rt.grantId);
    },
    recordRevocation(t) {
      state.revoked.push(t);
    },
    now: () => clock(),
  };

  state.api = api;

  /** The grant's facts, taken from any of its refresh tokens (or a bare access-token grant). */
  function liveGrantOf(grantId: string): LiveGrant {
    for (const rt of refreshTokens.values()) {
      if (rt.grantId === grantId) return { grantId, clientId: rt.clientId, scope: rt.scope, extras: rt.extras, host: rt.host };
    }
    const issued = grantFacts.get(grantId);
    return { grantId, clientId: issued?.clientId, scope: issued?.scope, extras: issued?.extras ?? {}, host: issued?.host };
  }

  function authorize(r: RecordedRequest): Answer {
    const redirect = str(r.params.redirect_uri);
    if (!redirect) return { status: 400, body: { error: 'invalid_request', error_description: 'missing redirect_uri' } };
    const decided = options.consent?.(r) ?? {};
    if ('status' in decided) return decided;
    const code = state.issueCode({
      clientId: str(r.params.client_id),
      scope: str(r.params.scope),
      redirectUri: redirect,
      codeChallenge: str(r.params.code_challenge),
      nonce: str(r.params.nonce),
      extras: decided.extras,
      refresh: decided.refresh,
      host: decided.host ?? (options.hostBound ? r.host : undefined),
    });
    const target = new URL(redirect);
    target.searchParams.set('code', code);
    const st = str(r.params.state);
    if (st) target.searchParams.set('state', st);
    for (const [name, value] of Object.entries(decided.callbackParams ?? {})) target.searchParams.set(name, value);
    decided.finish?.(target);
    return { status: 302, headers: { location: target.href } };
  }

  async function route(r: RecordedRequest): Promise<Answer> {
    if (r.path === authorizePath && r.method === 'GET') return authorize(r);
    for (const extra of options.routes ?? []) {
      const matches = typeof extra.path === 'string' ? extra.path === r.path : extra.path.test(r.path);
      if (!matches || extra.method !== r.method) continue;
      const key = `${extra.method} ${String(extra.path)}`;
      state.calls.byRoute[key] = (state.calls.byRoute[key] ?? 0) + 1;
      if (extra.revocation) state.calls.revoke += 1;
      return extra.handle(r, api);
    }
    if (r.path === '/revoke' && r.method === 'POST') {
      state.calls.revoke += 1;
      revokeToken(str(r.params.token));
      return { status: 200 };
    }
    const hubspot = /^\/refresh-tokens\/([^/]+)$/.exec(r.path);
    if (hubspot && r.method === 'DELETE') {
      state.calls.revoke += 1;
      revokeToken(decodeURIComponent(hubspot[1]!));
      return { status: 204 };
    }
    if (r.path === (options.paths?.jwks ?? '/jwks') && r.method === 'GET') {
      return { status: 200, body: { keys: [publicJwk] } };
    }
    if (r.path === '/api/me' && r.method === 'GET') {
      state.calls.me += 1;
      return handleMe(r);
    }
    return { status: 404, body: { error: 'not_found' } };
  }

  function write(res: ServerResponse, answer: Answer): void {
    const headers: Record<string, string> = { 'cache-control': 'no-store', ...answer.headers };
    let payload = '';
    if (answer.body !== undefined) {
      if (typeof answer.body === 'string') {
        payload = answer.body;
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'text/plain; charset=utf-8';
      } else {
        payload = JSON.stringify(answer.body);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json; charset=utf-8';
      }
    }
    headers['content-length'] = String(Buffer.byteLength(payload));
    res.writeHead(answer.status, headers);
    res.end(payload);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const rawBody = await readBody(req);
    const query = Object.fromEntries(url.searchParams);
    const params: Record<string, unknown> = { ...query, ...parseBody(rawBody, req.headers['content-type']) };
    const basicId = basicClientId(req.headers.authorization);
    const forwardedHost = req.headers['x-forwarded-host'];
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      host: (typeof forwardedHost === 'string' ? forwardedHost : undefined) ?? req.headers.host ?? '',
      path: url.pathname,
      query,
      params,
      rawBody,
      headers: req.headers,
      clientId: basicId ?? str(params.client_id),
      clientAuth: basicId !== undefined ? 'basic' : str(params.client_secret) ? 'post' : 'none',
      at: clock(),
    };
    state.requests.push(record);

    const isToken = record.path === tokenPath && (record.method === 'POST' || record.method === 'GET');
    const grant = isToken ? inferGrant(params) : '';
    if (isToken) {
      state.calls.token += 1;
      state.calls.byGrant[grant] = (state.calls.byGrant[grant] ?? 0) + 1;
    }

    const hooked = state.onRequest ? await state.onRequest(record) : undefined;
    const scripted = hooked ?? (isToken ? state.script.shift() : undefined);
    await sleep(state.latencyMs + (scripted?.delayMs ?? 0));

    let real: Answer | undefined;
    if (!scripted || scripted.runHandler) real = isToken ? handleToken(record, grant) : await route(record);
    if (real && pendingIdToken) real = await withIdToken(real, pendingIdToken);
    pendingIdToken = undefined;
    if (scripted) {
      if (scripted.hang) return; // never answer; close() destroys the socket
      if (scripted.reset) {
        req.socket.destroy();
        return;
      }
      if (!scripted.runHandler || scripted.status !== undefined || scripted.body !== undefined) {
        write(res, { status: scripted.status ?? 200, headers: scripted.headers, body: scripted.body });
        return;
      }
    }
    write(res, real!);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) write(res, { status: 500, body: { error: 'server_error', error_description: String(err) } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}`;
  state.tokenUrl = `${state.url}${tokenPath}`;
  state.authorizeUrl = `${state.url}${authorizePath}`;
  let closing: Promise<void> | undefined;
  state.close = () => {
    closing ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    });
    return closing;
  };
  return state;
}

function decodeBasic(header: string | undefined): [string, string] | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return [dec(decoded.slice(0, i)), dec(decoded.slice(i + 1))];
}

function basicClientId(header: string | undefined): string | undefined {
  return decodeBasic(header)?.[0];
}

function basicSecret(header: string | undefined): string | undefined {
  return decodeBasic(header)?.[1];
}
