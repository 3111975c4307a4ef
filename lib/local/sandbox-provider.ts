/**
 * The sandbox provider: a real OAuth 2.0 authorization server (panva's
 * `oidc-provider`) on loopback, so the broker's whole install → callback →
 * refresh → revoke life runs offline against genuine protocol behaviour.
 *
 * Routes are oidc-provider's defaults (`/auth`, `/token`, `/token/revocation`, `/jwks`,
 * `/.well-known/openid-configuration`), plus two of ours:
 * `/interaction/:uid` (auto-consent, no clicks) and `/api/me` (a protected
 * resource that answers 200 for a live access token and 401 otherwise).
 *
 * Consent logs in as `SANDBOX_ACCOUNT_ID`, or as the account a `login_hint` on the authorize
 * request names (`&login_hint=mallory`): tests play the victim and the attacker with it, and
 * `npm start`'s one-click flow is unchanged. The account is the id_token's `sub`, which the
 * catalogue makes the sandbox connection's tenant.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  Adapter,
  AdapterPayload,
  ClientMetadata,
  Configuration,
  InteractionResults,
  JWK,
} from 'oidc-provider';

/** A client registered with the sandbox provider. */
export interface SandboxClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

/** Options for {@link startSandboxProvider}. */
export interface SandboxProviderOptions {
  /** TCP port; 0 (the default) picks a free one. The local runtime uses 3001. */
  port?: number;
  /** Loopback address to bind; the issuer is `http://{host}:{port}`. */
  host?: '127.0.0.1';
  /** Registered clients; defaults to {@link SANDBOX_DEFAULT_CLIENT}. */
  clients?: SandboxClient[];
  /** Access-token (and client-credentials token) lifetime in seconds; default 3600. */
  accessTokenTtlS?: number;
  /** Refresh-token lifetime in seconds; default 30 days. */
  refreshTokenTtlS?: number;
  /** Rotate refresh tokens on use (reuse of an old one then kills the grant); default true. */
  rotateRefreshToken?: boolean;
  /**
   * Directory for its keys (`keys.json`) and every grant, token and session (`grants.json`),
   * both mode 0600: a restart on the same directory (and port) keeps what it issued valid.
   * Absent: memory only.
   */
  dataDir?: string;
}

/** Counters of token-endpoint traffic, so tests can assert how often the broker called the provider. */
export interface SandboxProviderStats {
  /** Every `POST /token`, successful or not. */
  tokenRequests: number;
  /** `POST /token` per `grant_type` (`unknown` when absent). */
  byGrant: Record<string, number>;
}

/** A running sandbox provider. */
export interface SandboxProvider {
  /** `http://127.0.0.1:<port>`; also the base of every endpoint. */
  issuer: string;
  port: number;
  /** Token-endpoint counters (live object). */
  stats: SandboxProviderStats;
  /** Simulates a user uninstalling the app: revokes every grant (and its tokens) of a client. Returns how many grants were revoked. */
  revokeGrantsFor(clientId: string): Promise<number>;
  /** Stops the server and drops every open connection. */
  close(): Promise<void>;
}

/** The client registered when none are given (what `npm start` uses with the broker on port 3000). */
export const SANDBOX_DEFAULT_CLIENT: SandboxClient = {
  client_id: 'sandbox-client',
  client_secret: 'sandbox-secret',
  redirect_uris: [
    'http://127.0.0.1:3000/oauth/sandbox/callback',
    'http://localhost:3000/oauth/sandbox/callback',
  ],
};

/** The account an auto-consented authorization logs in as when the request names none (`login_hint`). */
export const SANDBOX_ACCOUNT_ID = 'sandbox-user';

/** What a `login_hint` may name: an account id that is also a clean connection-id suffix. */
const ACCOUNT_HINT = /^[A-Za-z0-9._-]{1,64}$/;

/** Scopes the sandbox knows; other requested scopes are silently not granted. */
export const SANDBOX_SCOPES = ['openid', 'offline_access', 'contacts.read', 'contacts.write'] as const;

/** Scope granted when an authorization request asks for none. */
export const SANDBOX_DEFAULT_SCOPE = 'contacts.read';

const DAY_S = 24 * 60 * 60;

// ---------------------------------------------------------------------------
// Loading oidc-provider quietly

type OidcProviderModule = typeof import('oidc-provider');
let providerModule: Promise<OidcProviderModule> | undefined;

/** Imports oidc-provider once, hiding its "Unsupported runtime" warning (it works on Node 20). */
function loadOidcProvider(): Promise<OidcProviderModule> {
  providerModule ??= (async () => {
    const original = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING: Unsupported runtime')) return;
      original.apply(console, args);
    };
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = original;
    }
  })();
  return providerModule;
}

let signingJwks: { keys: JWK[] } | undefined;

/**
 * One P-256 signing key per process (ID tokens when `openid` is asked); avoids the dev-keys warning.
 * EC rather than RSA: generating it takes ~1 ms instead of ~300 ms.
 */
function jwks(): { keys: JWK[] } {
  signingJwks ??= newJwks();
  return signingJwks;
}

function newJwks(): { keys: JWK[] } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  return { keys: [{ ...jwk, kid: `sandbox-${randomUUID()}`, use: 'sig', alg: 'ES256' }] };
}

/** The keys a sandbox signs with: ID tokens (`jwks`) and its cookies. */
interface SandboxKeys {
  jwks: { keys: JWK[] };
  cookieKeys: string[];
}

/**
 * The sandbox's keys: kept in `dir/keys.json` (mode 0600) when the sandbox has a data directory,
 * so ID tokens and cookies it issued before a restart still verify after it; else new each start.
 */
async function sandboxKeys(dir: string | undefined): Promise<SandboxKeys> {
  if (dir === undefined) return { jwks: jwks(), cookieKeys: [randomBytes(32).toString('base64url')] };
  const path = join(dir, 'keys.json');
  try {
    return JSON.parse(await readFile(path, 'utf8')) as SandboxKeys;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`sandbox provider: ${path} could not be read; delete it to start with new keys`, { cause: err });
  }
  const keys: SandboxKeys = { jwks: newJwks(), cookieKeys: [randomBytes(32).toString('base64url')] };
  await writeFileAtomic(path, JSON.stringify(keys));
  return keys;
}

/** Writes `text` to a temp file beside `path` and renames it over `path` (mode 0600): a reader never sees half a file. */
async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

// ---------------------------------------------------------------------------
// A per-instance adapter (the built-in one warns and is process-global): in memory, and with a
// data directory also in one file, so grants, tokens and sessions outlive a restart of npm start.

interface Entry {
  payload: AdapterPayload;
  expiresAt: number | undefined;
}

class SandboxStore {
  readonly entries = new Map<string, Entry>();
  /** The next write, not started yet: every change made before it starts is in it. */
  #pending: Promise<void> | undefined;
  #last: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string | undefined) {}

  /** A store kept in `file` (read back now, expired entries dropped), or in memory only. */
  static async open(file: string | undefined): Promise<SandboxStore> {
    const store = new SandboxStore(file);
    if (file === undefined) return store;
    let saved: Array<[string, Entry]> = [];
    try {
      saved = JSON.parse(await readFile(file, 'utf8')) as Array<[string, Entry]>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`sandbox provider: ${file} could not be read; delete it to start with no grants`, { cause: err });
    }
    const now = Date.now();
    for (const [key, entry] of saved) if (entry.expiresAt === undefined || entry.expiresAt > now) store.entries.set(key, entry);
    return store;
  }

  get(key: string): AdapterPayload | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  /**
   * Writes every entry to the file after a change; resolves once the change is on disk.
   * Changes that arrive while a write runs share the next one, so a burst costs two writes.
   */
  persist(): Promise<void> {
    if (this.file === undefined) return Promise.resolve();
    if (this.#pending) return this.#pending;
    const file = this.file;
    const next = this.#last.then(() => {
      this.#pending = undefined;
      return writeFileAtomic(file, JSON.stringify([...this.entries]));
    });
    this.#pending = next;
    this.#last = next.catch(() => undefined);
    return next;
  }

  adapter(model: string): Adapter {
    const key = (id: string) => `${model}:${id}`;
    const store = this;
    return {
      async upsert(id, payload, expiresIn) {
        store.entries.set(key(id), {
          payload: structuredClone(payload),
          expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined,
        });
        await store.persist();
      },
      async find(id) {
        return store.get(key(id));
      },
      async findByUid(uid) {
        for (const [k] of store.entries) {
          if (!k.startsWith(`${model}:`)) continue;
          const payload = store.get(k);
          if (payload?.uid === uid) return payload;
        }
        return undefined;
      },
      async findByUserCode(userCode) {
        for (const [k] of store.entries) {
          if (!k.startsWith(`${model}:`)) continue;
          const payload = store.get(k);
          if (payload?.userCode === userCode) return payload;
        }
        return undefined;
      },
      async consume(id) {
        const payload = store.get(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
        await store.persist();
      },
      async destroy(id) {
        store.entries.delete(key(id));
        await store.persist();
      },
      async revokeByGrantId(grantId) {
        for (const [k, entry] of store.entries) {
          if (k.startsWith(`${model}:`) && entry.payload.grantId === grantId) store.entries.delete(k);
        }
        await store.persist();
      },
    };
  }
}

// ---------------------------------------------------------------------------
// HTTP helpers

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendFailurePage(res: ServerResponse, status: number, message: string): void {
  const html = `<!doctype html><meta charset="utf-8"><title>Sandbox provider</title>`
    + `<h1>Sandbox provider: consent failed</h1><p>${escapeHtml(message)}</p>`;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
  res.end(html);
}

// ---------------------------------------------------------------------------

/** Starts a local oidc-provider authorization server with auto-consent, a protected `/api/me`, and token-endpoint counters. */
export async function startSandboxProvider(options: SandboxProviderOptions = {}): Promise<SandboxProvider> {
  const { default: Provider, errors } = await loadOidcProvider();
  const host = options.host ?? '127.0.0.1';
  const accessTtl = options.accessTokenTtlS ?? 3600;
  const refreshTtl = options.refreshTokenTtlS ?? 30 * DAY_S;
  const rotate = options.rotateRefreshToken ?? true;
  const clients = options.clients ?? [SANDBOX_DEFAULT_CLIENT];
  const stats: SandboxProviderStats = { tokenRequests: 0, byGrant: {} };
  if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const store = await SandboxStore.open(options.dataDir === undefined ? undefined : join(options.dataDir, 'grants.json'));
  const keys = await sandboxKeys(options.dataDir);

  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server: Server = createServer((req, res) => {
    if (handler) handler(req, res);
    else sendJson(res, 503, { error: 'temporarily_unavailable' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://${host}:${port}`;

  const clientMetadata: ClientMetadata[] = clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    // client_secret_basic is accepted too: oidc-provider treats post and basic as one family.
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'ES256',
  }));

  const configuration: Configuration = {
    adapter: (model: string) => store.adapter(model),
    clients: clientMetadata,
    jwks: keys.jwks,
    cookies: { keys: keys.cookieKeys },
    scopes: [...SANDBOX_SCOPES],
    claims: { openid: ['sub'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: {
        enabled: true,
        // RFC 7009: a client may revoke only its own tokens.
        allowedPolicy: async (_ctx, client, token) => {
          if (token.clientId !== client.clientId) {
            throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
          }
          return true;
        },
      },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      return { accountId: sub, claims: async () => ({ sub }) };
    },
    // PKCE is verified whenever a code_challenge was sent, but not demanded (HighLevel-style clients omit it).
    pkce: { required: () => false },
    // Refresh tokens for any client allowed the grant, with or without `openid`/`offline_access`.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Tokens outlive the browser session that produced them (a marketplace install has no lasting session).
    expiresWithSession: async () => false,
    rotateRefreshToken: rotate,
    clientBasedCORS: () => false,
    ttl: {
      AccessToken: accessTtl,
      ClientCredentials: accessTtl,
      RefreshToken: refreshTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: DAY_S,
      Grant: Math.max(refreshTtl, 365 * DAY_S),
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><meta charset="utf-8"><title>Sandbox provider error</title>`
        + `<h1>${escapeHtml(String(out.error))}</h1><p>${escapeHtml(String(out.error_description ?? ''))}</p>`;
    },
  };

  let provider: InstanceType<typeof Provider>;
  try {
    provider = new Provider(issuer, configuration);
    // oidc-provider validates static clients lazily (first request); fail at start instead.
    for (const c of clients) {
      const found = await provider.Client.find(c.client_id);
      if (!found) throw new Error(`sandbox provider: client ${c.client_id} did not register`);
    }
  } catch (err) {
    server.close();
    const detail = (err as { error_description?: string }).error_description;
    throw new Error(`sandbox provider: invalid configuration: ${detail ?? (err as Error).message}`, { cause: err });
  }
  // Koa's default error logger prints stack traces for every thrown 5xx; keep tests quiet unless asked.
  // oidc-provider hides the reason of most errors behind a generic description (the real one is `error_detail`);
  // SANDBOX_PROVIDER_DEBUG=1 prints them.
  provider.on('server_error', (_ctx, err) => {
    if (process.env.SANDBOX_PROVIDER_DEBUG) console.error('sandbox provider server_error', err);
  });
  if (process.env.SANDBOX_PROVIDER_DEBUG) {
    const log = (event: string) => (_ctx: unknown, err: Error & { error_detail?: string }) =>
      console.error(`sandbox provider ${event}: ${err.message} (${err.error_detail ?? 'no detail'})`);
    provider.on('grant.error', log('grant.error'));
    provider.on('authorization.error', log('authorization.error'));
    provider.on('revocation.error', log('revocation.error'));
  }

  // Count every POST /token, including failures (client auth, bad grant).
  provider.use(async (ctx, next) => {
    const isToken = ctx.method === 'POST' && ctx.path === '/token';
    if (isToken) stats.tokenRequests += 1;
    try {
      await next();
    } finally {
      if (isToken) {
        const params = (ctx as { oidc?: { params?: { grant_type?: unknown } } }).oidc?.params;
        const grant = typeof params?.grant_type === 'string' ? params.grant_type : 'unknown';
        stats.byGrant[grant] = (stats.byGrant[grant] ?? 0) + 1;
      }
    }
  });

  const callback = provider.callback();

  async function autoConsent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const details = await provider.interactionDetails(req, res);
      const { prompt, params } = details;
      let result: InteractionResults;
      if (prompt.name === 'login') {
        const hint = typeof params.login_hint === 'string' && ACCOUNT_HINT.test(params.login_hint) ? params.login_hint : undefined;
        result = { login: { accountId: hint ?? SANDBOX_ACCOUNT_ID } };
      } else if (prompt.name === 'consent') {
        const accountId = details.session?.accountId ?? SANDBOX_ACCOUNT_ID;
        const grant = details.grantId
          ? (await provider.Grant.find(details.grantId)) ?? new provider.Grant({ accountId, clientId: String(params.client_id) })
          : new provider.Grant({ accountId, clientId: String(params.client_id) });
        const known = new Set<string>(SANDBOX_SCOPES);
        const requested = String(params.scope ?? '').split(' ').filter((s) => known.has(s));
        const missingScope = (prompt.details.missingOIDCScope as string[] | undefined) ?? [];
        const scopes = [...new Set([...requested, ...missingScope])];
        if (scopes.length) grant.addOIDCScope(scopes.join(' '));
        const missingClaims = prompt.details.missingOIDCClaims as string[] | undefined;
        if (missingClaims?.length) grant.addOIDCClaims(missingClaims);
        const missingResourceScopes = prompt.details.missingResourceScopes as Record<string, string[]> | undefined;
        for (const [indicator, s] of Object.entries(missingResourceScopes ?? {})) {
          grant.addResourceScope(indicator, s.join(' '));
        }
        const grantId = await grant.save();
        result = { consent: { grantId } };
      } else {
        throw new Error(`unexpected prompt ${prompt.name}`);
      }
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    } catch (err) {
      if (!res.headersSent) sendFailurePage(res, 400, err instanceof Error ? err.message : String(err));
      else res.end();
    }
  }

  async function me(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const challenge = { 'www-authenticate': 'Bearer realm="sandbox"' };
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match?.[1]) {
      sendJson(res, 401, { error: 'invalid_token', error_description: 'missing bearer token' }, challenge);
      return;
    }
    const value = match[1];
    const user = await provider.AccessToken.find(value);
    if (user) {
      sendJson(res, 200, { sub: user.accountId, scope: user.scope ?? '', client_id: user.clientId });
      return;
    }
    const cc = await provider.ClientCredentials.find(value);
    if (cc) {
      sendJson(res, 200, { sub: cc.clientId, scope: cc.scope ?? '', client_id: cc.clientId });
      return;
    }
    sendJson(
      res,
      401,
      { error: 'invalid_token', error_description: 'access token is unknown, expired or revoked' },
      { 'www-authenticate': 'Bearer realm="sandbox", error="invalid_token"' },
    );
  }

  handler = (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/auth') {
      // oidc-provider answers a request without any scope with access_denied; scope-less providers
      // (RD Station) are common, so such a request gets SANDBOX_DEFAULT_SCOPE instead.
      const url = new URL(req.url ?? '/', issuer);
      if (!url.searchParams.get('scope')?.trim()) {
        url.searchParams.set('scope', SANDBOX_DEFAULT_SCOPE);
        req.url = url.pathname + url.search;
      }
    }
    if (req.method === 'GET' && /^\/interaction\/[^/]+$/.test(path)) {
      void autoConsent(req, res);
    } else if (req.method === 'GET' && path === '/api/me') {
      me(req, res).catch(() => sendJson(res, 500, { error: 'server_error' }));
    } else {
      callback(req, res);
    }
  };

  async function revokeGrantsFor(clientId: string): Promise<number> {
    const grantIds: string[] = [];
    for (const [key, entry] of store.entries) {
      if (key.startsWith('Grant:') && entry.payload.clientId === clientId) grantIds.push(key.slice('Grant:'.length));
    }
    const models = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'Grant'];
    for (const grantId of grantIds) {
      for (const model of models) await store.adapter(model).revokeByGrantId(grantId);
      await store.adapter('Grant').destroy(grantId);
    }
    // Client-credentials tokens of that client die too (the "authorization" is gone).
    for (const [key, entry] of store.entries) {
      if (key.startsWith('ClientCredentials:') && entry.payload.clientId === clientId) store.entries.delete(key);
    }
    await store.persist();
    return grantIds.length;
  }

  let closed: Promise<void> | undefined;
  return {
    issuer,
    port,
    stats,
    revokeGrantsFor,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
