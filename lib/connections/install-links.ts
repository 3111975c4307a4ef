/**
 * Signed install links (connect sessions): the app asks for a link bound to exactly the values
 * it chose — provider, connection id, return_to, connection_config, scopes, tags — and hands it
 * to its customer. The link is `/oauth/{provider}/install?link=<token>`, where the token is those
 * values plus an expiry and a random id, HMAC-SHA256-signed with the broker's signing key.
 *
 * Why a signature and not a stored session: minting costs no table write and works in-process
 * with only the key (`createInstallLink()` in lib/index.ts), and the only thing ever stored is
 * the "used" mark the first callback that stores a connection writes (`link#<id>`). A link can be
 * opened again until it expires (a customer who abandons the consent page can retry).
 *
 * Every value is validated when the link is minted (400, no link) and again when it is opened
 * (the catalogue or the allowlist may have changed since).
 */
import { randomBytes } from 'node:crypto';
import { BrokerError, withInstallAttempt } from '../errors';
import { isPlainObject, refuseUnknownFields } from '../plain-object';
import { validateConnectionConfig } from '../providers/connection-config';
import type { Provider } from '../providers/schema';
import { resolveInstallScopes } from '../providers/scopes';
import { validateConnectionId } from '../model';
import { enabledProvider, type BrokerContext } from './context';
import { installLinkSignatureValid, openSignedToken, signInstallLink } from './signing';

/** What minting needs: no store, no cipher — the in-process minter has only these. */
export type InstallLinkContext = Pick<BrokerContext, 'catalogue' | 'config' | 'signingKey' | 'clock'>;

/** `POST /install-links` and `createInstallLink()`: every field but `provider` optional. */
export interface InstallLinkRequest {
  provider: unknown;
  connection_id?: unknown;
  return_to?: unknown;
  connection_config?: unknown;
  scopes?: unknown;
  tags?: unknown;
  /** Seconds the link stays valid: 60 to 7 days; default `installLinkTtlMs` (24 h). */
  expires_in?: unknown;
}

export interface InstallLink {
  url: string;
  /** ISO 8601. */
  expires_at: string;
}

/** The values a verified link carries. */
export interface InstallLinkClaims {
  provider: string;
  connectionId?: string;
  returnTo?: string;
  connectionConfig?: Record<string, string>;
  scopes?: string[];
  tags?: Record<string, string>;
  /** Epoch ms. */
  expiresAt: number;
  /** Random link id (`jti`), the key of its "used" mark. */
  id: string;
}

/** Browsers, marketplaces and API Gateway all take URLs of a few kB; 2 kB of token keeps the link well inside. */
export const MAX_LINK_TOKEN_CHARS = 2048;
const MIN_TTL_S = 60;
const MAX_TTL_S = 7 * 24 * 3600;
const MAX_TAGS = 10;
const TAG_KEY = /^[A-Za-z0-9_.:-]{1,64}$/;
const TAG_VALUE = /^[\x20-\x7e]{1,256}$/;
const LINK_ID_BYTES = 16;
/** The fields of an `InstallLinkRequest`; any other is refused, never ignored. */
const INSTALL_LINK_FIELDS = ['provider', 'connection_id', 'return_to', 'connection_config', 'scopes', 'tags', 'expires_in'] satisfies Array<keyof InstallLinkRequest>;

/** The token's JSON: short names keep links short. `v` is the format. */
interface LinkPayload {
  v: 1;
  p: string;
  c?: string;
  r?: string;
  cc?: Record<string, string>;
  s?: string[];
  t?: Record<string, string>;
  /** Epoch seconds. */
  exp: number;
  jti: string;
}

/** Validates the request and returns a link bound to it; any bad value → 400 and no link. */
export async function createInstallLink(ctx: InstallLinkContext, request: InstallLinkRequest, requestBaseUrl?: string): Promise<InstallLink> {
  if (!isPlainObject(request) || typeof request.provider !== 'string') {
    throw new BrokerError('invalid_request', 'Body must be JSON with "provider" and optionally connection_id, return_to, connection_config, scopes, tags, expires_in');
  }
  refuseUnknownFields(request as unknown as Record<string, unknown>, INSTALL_LINK_FIELDS);
  const base = (ctx.config.publicUrl ?? requestBaseUrl)?.replace(/\/+$/, '');
  if (base === undefined) throw new BrokerError('configuration_error', 'Set BROKER_PUBLIC_URL (the URL customers reach the broker at) to mint install links in-process');
  const provider = installableProvider(ctx, request.provider);
  const claims = checkLinkValues(ctx, provider, {
    connectionId: optionalString(request.connection_id, 'connection_id'),
    returnTo: optionalString(request.return_to, 'return_to'),
    connectionConfig: request.connection_config,
    scopes: request.scopes,
    tags: request.tags,
  });
  const ttlS = request.expires_in === undefined ? Math.round(ctx.config.installLinkTtlMs / 1000) : ttlSeconds(request.expires_in);
  const exp = Math.floor(ctx.clock.now() / 1000) + ttlS;
  const payload: LinkPayload = {
    v: 1,
    p: provider.key,
    ...(claims.connectionId !== undefined ? { c: claims.connectionId } : {}),
    ...(claims.returnTo !== undefined ? { r: claims.returnTo } : {}),
    ...(claims.connectionConfig !== undefined ? { cc: claims.connectionConfig } : {}),
    ...(claims.scopes !== undefined ? { s: claims.scopes } : {}),
    ...(claims.tags !== undefined ? { t: claims.tags } : {}),
    exp,
    jti: randomBytes(LINK_ID_BYTES).toString('base64url'),
  };
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const token = `${encoded}.${await signInstallLink(ctx.signingKey, encoded)}`;
  if (token.length > MAX_LINK_TOKEN_CHARS) {
    throw new BrokerError('invalid_request', `The install link would be ${token.length} characters of token (at most ${MAX_LINK_TOKEN_CHARS}): shorten return_to, tags or connection_config`);
  }
  const url = new URL(`${base}/oauth/${encodeURIComponent(provider.key)}/install`);
  url.searchParams.set('link', token);
  return { url: url.toString(), expires_at: new Date(exp * 1000).toISOString() };
}

/**
 * Verifies a link opened on `/oauth/{providerKey}/install` and returns what it carries,
 * validated again against today's catalogue and allowlist. Throws `install_link_invalid`
 * (forged, altered, another provider's) or `install_link_expired`.
 */
export async function readInstallLink(ctx: InstallLinkContext, token: string, providerKey: string): Promise<InstallLinkClaims> {
  const invalid = () => new BrokerError('install_link_invalid', 'This install link is not valid (altered or incomplete); ask the app for a new one');
  const payload = await openSignedToken(token, MAX_LINK_TOKEN_CHARS, (encoded, signature) => installLinkSignatureValid(ctx.signingKey, encoded, signature));
  // Signed by us, so well-formed unless the format changed: still checked, never trusted blindly.
  if (!isPlainObject(payload) || payload.v !== 1 || typeof payload.p !== 'string' || typeof payload.exp !== 'number' || typeof payload.jti !== 'string') throw invalid();
  if (payload.p !== providerKey) throw invalid();
  if (payload.exp * 1000 <= ctx.clock.now()) {
    // The signature verified, so its return_to is the app's own: the page may send the person back (if still allowed).
    const returnTo = typeof payload.r === 'string' ? allowedOrUndefined(ctx, payload.r) : undefined;
    throw withInstallAttempt(new BrokerError('install_link_expired', 'This install link has expired; ask the app for a new one'), {
      provider: providerKey,
      link: 'signed',
      returnTo,
      linkSpent: true,
    });
  }
  const provider = installableProvider(ctx, payload.p);
  const claims = checkLinkValues(ctx, provider, {
    connectionId: typeof payload.c === 'string' ? payload.c : undefined,
    returnTo: typeof payload.r === 'string' ? payload.r : undefined,
    connectionConfig: payload.cc,
    scopes: payload.s,
    tags: payload.t,
  });
  return { provider: provider.key, ...claims, expiresAt: payload.exp * 1000, id: payload.jti };
}

/** `return_to` must be an absolute http(s) URL whose origin is on the allowlist: no open redirect. */
export function checkReturnTo(ctx: Pick<BrokerContext, 'config'>, returnTo: string): string {
  let url: URL;
  try {
    url = new URL(returnTo);
  } catch {
    throw new BrokerError('return_to_not_allowed', 'return_to must be an absolute URL on the allowlist');
  }
  const allowed = ctx.config.returnToAllowlist.map((origin) => origin.replace(/\/+$/, ''));
  if (!/^https?:$/.test(url.protocol) || url.username || url.password || !allowed.includes(url.origin)) {
    throw new BrokerError('return_to_not_allowed', `return_to origin ${url.protocol}//${url.host} is not on the allowlist (BROKER_RETURN_TO_ALLOWLIST)`);
  }
  return url.toString();
}

function allowedOrUndefined(ctx: Pick<BrokerContext, 'config'>, returnTo: string): string | undefined {
  try {
    return checkReturnTo(ctx, returnTo);
  } catch {
    return undefined;
  }
}

/** An enabled authorization-code provider (client-credentials ones are registered with PUT /connections/{id}). */
export function installableProvider(ctx: Pick<BrokerContext, 'catalogue' | 'config'>, key: string): Provider {
  const provider = enabledProvider(ctx, key);
  if (provider.auth_mode !== 'OAUTH2' || !provider.authorization_url) {
    throw new BrokerError('invalid_request', `Provider "${provider.key}" uses client credentials; register a connection with PUT /connections/{id}`);
  }
  return provider;
}

type LinkValues = Omit<InstallLinkClaims, 'provider' | 'expiresAt' | 'id'>;

function checkLinkValues(
  ctx: Pick<BrokerContext, 'config'>,
  provider: Provider,
  raw: { connectionId?: string; returnTo?: string; connectionConfig: unknown; scopes: unknown; tags: unknown },
): LinkValues {
  if (raw.connectionId !== undefined) validateConnectionId(raw.connectionId);
  const connectionConfig = raw.connectionConfig === undefined ? undefined : validateConnectionConfig(provider, raw.connectionConfig);
  const scopes = raw.scopes === undefined ? undefined : installScopes(provider, raw.scopes);
  const tags = raw.tags === undefined ? undefined : checkTags(raw.tags);
  return {
    ...(raw.connectionId !== undefined ? { connectionId: raw.connectionId } : {}),
    ...(raw.returnTo !== undefined ? { returnTo: checkReturnTo(ctx, raw.returnTo) } : {}),
    ...(connectionConfig !== undefined && Object.keys(connectionConfig).length > 0 ? { connectionConfig } : {}),
    ...(scopes !== undefined ? { scopes } : {}),
    ...(tags !== undefined ? { tags } : {}),
  };
}

/** The scopes a link asks for: within the catalogue's `allowed_scopes` and defaults (`resolveInstallScopes`), else 400 `scope_not_allowed`. */
function installScopes(provider: Provider, scopes: unknown): string[] | undefined {
  if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string')) {
    throw new BrokerError('invalid_request', 'scopes must be an array of strings', { details: { field: 'scopes' } });
  }
  if (scopes.every((scope) => scope.trim() === '')) return undefined;
  return resolveInstallScopes(provider, { scopes }).scopes;
}

function checkTags(tags: unknown): Record<string, string> {
  const problem = () =>
    new BrokerError('invalid_request', `tags must be an object of at most ${MAX_TAGS} entries, names of A-Z a-z 0-9 _ . : - (≤ 64, not __proto__, constructor or another name every object has), values of printable ASCII (≤ 256)`, {
      details: { field: 'tags' },
    });
  if (!isPlainObject(tags)) throw problem();
  const entries = Object.entries(tags);
  // Not a name every object has (`__proto__`, `constructor`…): DynamoDB's marshalling drops or refuses such a key, so the link would fail when opened.
  const tagName = (name: string) => TAG_KEY.test(name) && !Object.hasOwn(Object.prototype, name);
  if (entries.length > MAX_TAGS || !entries.every(([name, value]) => tagName(name) && typeof value === 'string' && TAG_VALUE.test(value))) throw problem();
  return Object.fromEntries(entries) as Record<string, string>;
}

function ttlSeconds(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_TTL_S || value > MAX_TTL_S) {
    throw new BrokerError('invalid_request', `expires_in must be a whole number of seconds from ${MIN_TTL_S} to ${MAX_TTL_S}`, { details: { field: 'expires_in' } });
  }
  return value;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BrokerError('invalid_request', `${field} must be a string`, { details: { field } });
  return value;
}
