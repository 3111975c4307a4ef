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
  /** Access-token lifetime in seconds; default 3600. Mutable later via `provider.expiresIn`. */
  expiresIn?: number;
  /** Marketo semantics for client_credentials: asking before expiry returns the same token with its remaining `expires_in`. */
  sameTokenUntilExpiry?: boolean;
  /** Rotate refresh tokens (each valid once); default true. When false the same refresh token comes back and stays valid. */
  rotateRefreshTokens?: boolean;
  /**
   * Reuse detection (OAuth 2.0 Security BCP, as oidc-provider does): presenting a refresh token that
   * was already rotated away revokes the whole grant — every refresh and access token issued from it.
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
  /** Reshapes every successful token response (drop `token_type`, add `locationId`, …). */
  shapeTokenResponse?: (body: Record<string, unknown>, grant: string) => Record<string, unknown>;
  /**
   * The code grant also returns a signed `id_token` (OpenID Connect). `claims` may override
   * or add claims (a wrong `aud`, another `iss`); `sub` defaults to the code's `extras.sub` or `fault-user`.
   */
  idTokens?: boolean | { claims?: Record<string, unknown> };
}

/** Options for {@link FaultProvider.issueCode}. */
export interface IssueCodeOptions {
  scope?: string;
  /** When set, the exchange must send the same `redirect_uri`. */
  redirectUri?: string;
  /** S256 challenge; when set, the exchange must send the matching `code_verifier`. */
  codeChallenge?: string;
  /** Extra fields for token responses of this grant (and its refreshes), e.g. `{ locationId: 'loc-1' }`. */
  extras?: Record<string, unknown>;
  clientId?: string;
  /** The authorization request's `nonce`, echoed in the id_token. */
  nonce?: string;
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
  /** Lifetime of newly issued access tokens (s); change at will. */
  expiresIn: number;
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
  /** The grant a token belongs to (one per code exchange), for reuse detection. */
  grantId?: string;
}

interface CodeState extends GrantState {
  redirectUri: string | undefined;
  codeChallenge: string | undefined;
  nonce?: string | undefined;
}

interface RefreshState extends GrantState {
  status: 'active' | 'used' | 'revoked';
}

interface AccessState {
  clientId: string | undefined;
  scope: string | undefined;
  expiresAt: number;
  revoked: boolean;
  grantId?: string;
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
  let pendingIdToken: { clientId: string | undefined; nonce: string | undefined; sub: string } | undefined;
  const idTokenClaims = typeof options.idTokens === 'object' ? (options.idTokens.claims ?? {}) : {};

  async function withIdToken(answer: Answer, facts: { clientId: string | undefined; nonce: string | undefined; sub: string }): Promise<Answer> {
    if (answer.status !== 200 || typeof answer.body !== 'object' || answer.body === null) return answer;
    const now = Math.floor(clock() / 1000);
    const claims = { iss: state.url, aud: facts.clientId, sub: facts.sub, iat: now, exp: now + 600, ...(facts.nonce ? { nonce: facts.nonce } : {}), ...idTokenClaims };
    const idToken = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'fault-key' }).sign(privateKey);
    return { ...answer, body: { ...(answer.body as Record<string, unknown>), id_token: idToken } };
  }
  const refreshTokens = new Map<string, RefreshState>();
  const accessTokens = new Map<string, AccessState>();
  const ccByClient = new Map<string, string>();

  const state: FaultProvider = {
    url: '',
    tokenUrl: '',
    authorizeUrl: '',
    script: [],
    calls: { token: 0, byGrant: {}, revoke: 0, me: 0 },
    requests: [],
    revoked: [],
    onRequest: options.onRequest,
    latencyMs: options.latencyMs ?? 0,
    expiresIn: options.expiresIn ?? 3600,
    issueCode(o = {}) {
      const code = token('code');
      codes.set(code, {
        clientId: o.clientId,
        scope: o.scope,
        extras: o.extras ?? {},
        redirectUri: o.redirectUri,
        codeChallenge: o.codeChallenge,
        nonce: o.nonce,
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
      return !deadAll && refreshTokens.get(t)?.status === 'active';
    },
    resetCounters() {
      state.calls.token = 0;
      state.calls.byGrant = {};
      state.calls.revoke = 0;
      state.calls.me = 0;
      state.requests.length = 0;
      state.revoked.length = 0;
    },
    close: async () => undefined,
  };

  type Answer = { status: number; headers?: Record<string, string>; body?: unknown };

  function tokenResponse(grant: string, g: GrantState, withRefresh: string | undefined, access?: { value: string; expiresIn: number }): Answer {
    let accessValue = access?.value;
    let expiresIn = access?.expiresIn ?? state.expiresIn;
    if (!accessValue) {
      accessValue = token('at');
      accessTokens.set(accessValue, { clientId: g.clientId, scope: g.scope, expiresAt: clock() + expiresIn * 1000, revoked: false, grantId: g.grantId });
    }
    const body: Record<string, unknown> = {
      access_token: accessValue,
      token_type: 'Bearer',
      expires_in: expiresIn,
      ...(withRefresh ? { refresh_token: withRefresh } : {}),
      ...(g.scope ? { scope: g.scope } : {}),
      ...g.extras,
    };
    return { status: 200, body: options.shapeTokenResponse ? options.shapeTokenResponse(body, grant) : body };
  }

  function deadGrant(): Answer {
    const d = deadAll ?? defaultDead;
    return { status: d.status, body: d.body };
  }

  function invalidGrant(description: string): Answer {
    return { status: 400, body: { error: 'invalid_grant', error_description: description } };
  }

  function issueRefresh(g: GrantState): string {
    const rt = token('rt');
    refreshTokens.set(rt, { ...g, status: deadAll ? 'revoked' : 'active' });
    return rt;
  }

  function inferGrant(params: Record<string, unknown>): string {
    const explicit = str(params.grant_type);
    if (explicit) return explicit;
    if (str(params.refresh_token)) return 'refresh_token';
    if (str(params.code)) return 'authorization_code';
    return 'unknown';
  }

  function handleToken(r: RecordedRequest, grant: string): Answer {
    const p = r.params;
    if (options.client) {
      const secret = r.clientAuth === 'basic' ? basicSecret(r.headers.authorization) : str(p.client_secret);
      if (r.clientId !== options.client.id || secret !== options.client.secret) {
        return { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } };
      }
    }
    switch (grant) {
      case 'authorization_code': {
        const code = str(p.code);
        if (!code) return { status: 400, body: { error: 'invalid_request', error_description: 'missing code' } };
        let g: CodeState | undefined;
        if (code === 'good') {
          g = { clientId: r.clientId, scope: str(p.scope), extras: {}, redirectUri: undefined, codeChallenge: undefined };
        } else {
          g = codes.get(code);
          if (!g) return invalidGrant('authorization code is invalid or already used');
          codes.delete(code);
          if (g.clientId && r.clientId && g.clientId !== r.clientId) return invalidGrant('client mismatch');
          if (g.redirectUri && str(p.redirect_uri) !== g.redirectUri) return invalidGrant('redirect_uri mismatch');
          if (g.codeChallenge) {
            const verifier = str(p.code_verifier);
            if (!verifier || createHash('sha256').update(verifier).digest('base64url') !== g.codeChallenge) {
              return invalidGrant('PKCE verification failed');
            }
          }
        }
        const grantState: GrantState = { clientId: g.clientId ?? r.clientId, scope: g.scope, extras: g.extras, grantId: token('grant') };
        const answer = tokenResponse(grant, grantState, issueRefresh(grantState));
        if (options.idTokens) pendingIdToken = { clientId: grantState.clientId, nonce: g.nonce, sub: typeof g.extras.sub === 'string' ? g.extras.sub : 'fault-user' };
        return answer;
      }
      case 'refresh_token': {
        const presented = str(p.refresh_token);
        if (!presented) return { status: 400, body: { error: 'invalid_request', error_description: 'missing refresh_token' } };
        const rt = refreshTokens.get(presented);
        if (rt?.status === 'used' && options.reuseDetection && rt.grantId) revokeGrant(rt.grantId);
        if (deadAll || !rt || rt.status !== 'active') return deadGrant();
        if (rt.clientId && r.clientId && rt.clientId !== r.clientId) return invalidGrant('client mismatch');
        let next = presented;
        if (rotate) {
          rt.status = 'used';
          next = issueRefresh(rt);
        }
        return tokenResponse(grant, rt, next);
      }
      case 'client_credentials': {
        const clientKey = r.clientId ?? '';
        const g: GrantState = { clientId: r.clientId, scope: str(p.scope), extras: {} };
        if (options.sameTokenUntilExpiry) {
          const current = ccByClient.get(clientKey);
          const at = current ? accessTokens.get(current) : undefined;
          const now = clock();
          if (current && at && !at.revoked && at.expiresAt > now) {
            return tokenResponse(grant, { ...g, scope: at.scope }, undefined, {
              value: current,
              expiresIn: Math.max(0, Math.floor((at.expiresAt - now) / 1000)),
            });
          }
          const answer = tokenResponse(grant, g, undefined);
          ccByClient.set(clientKey, (answer.body as { access_token: string }).access_token);
          return answer;
        }
        return tokenResponse(grant, g, undefined);
      }
      default:
        return { status: 400, body: { error: 'unsupported_grant_type' } };
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
    if (!at || at.revoked) return { status: 401, body: { error: 'invalid_token', error_description: 'unknown or revoked token' } };
    if (at.expiresAt <= clock()) return { status: 401, body: { error: 'invalid_token', error_description: 'token expired' } };
    return { status: 200, body: { sub: 'fault-user', client_id: at.clientId, scope: at.scope ?? '' } };
  }

  function route(r: RecordedRequest): Answer {
    if (r.path === '/authorize' && r.method === 'GET') {
      const redirect = str(r.params.redirect_uri);
      if (!redirect) return { status: 400, body: { error: 'invalid_request', error_description: 'missing redirect_uri' } };
      const code = state.issueCode({
        clientId: str(r.params.client_id),
        scope: str(r.params.scope),
        redirectUri: redirect,
        codeChallenge: str(r.params.code_challenge),
        nonce: str(r.params.nonce),
      });
      const target = new URL(redirect);
      target.searchParams.set('code', code);
      const st = str(r.params.state);
      if (st) target.searchParams.set('state', st);
      return { status: 302, headers: { location: target.href } };
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
    if (r.path === '/jwks' && r.method === 'GET') {
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
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
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

    const isToken = record.path === '/token' && (record.method === 'POST' || record.method === 'GET');
    const grant = isToken ? inferGrant(params) : '';
    if (isToken) {
      state.calls.token += 1;
      state.calls.byGrant[grant] = (state.calls.byGrant[grant] ?? 0) + 1;
    }

    const hooked = state.onRequest ? await state.onRequest(record) : undefined;
    const scripted = hooked ?? (isToken ? state.script.shift() : undefined);
    await sleep(state.latencyMs + (scripted?.delayMs ?? 0));

    let real: Answer | undefined;
    if (!scripted || scripted.runHandler) real = isToken ? handleToken(record, grant) : route(record);
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
  state.tokenUrl = `${state.url}/token`;
  state.authorizeUrl = `${state.url}/authorize`;
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
