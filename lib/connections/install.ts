/**
 * The install flow: the link a marketplace sends customers to, and the callback
 * that turns the one-time `code` into a stored, encrypted connection.
 */
import { createHash, randomBytes } from 'node:crypto';
import { BrokerError, isBrokerError } from '../errors';
import { logger } from '../logger';
import { buildAuthorizationUrl, newPkce, newState } from '../oauth/authorize';
import { exchangeCode } from '../oauth/token-endpoint';
import type { Provider } from '../providers/schema';
import { credentialsFor, enabledProvider, tokenEndpointOptions, type BrokerContext } from './context';
import { validateConnectionId, type ClientCredentials, type ConnectionRecord, type InstallState } from '../model';
import { seal } from './sealing';
import { connectionCreated, grantReplaced, type NewGrant } from './transitions';

export interface InstallRequest {
  provider: string;
  connectionId?: string;
  returnTo?: string;
  /** Base URL this request reached the broker at; used for redirect_uri unless `publicUrl` is configured. */
  requestBaseUrl: string;
}

export interface CallbackRequest {
  provider: string;
  /** The callback's query parameters, as received. */
  query: Record<string, string | undefined>;
  requestBaseUrl: string;
}

/** A successful install. */
export interface InstallSuccess {
  connectionId: string;
  provider: string;
  tenant: string | null;
  reinstalled: boolean;
  returnTo?: string;
}

/**
 * The provider sent the user back with `?error=`; nothing was stored. `returnTo` is
 * set when the state was ours and valid, so the edge can send the user back to the app.
 */
export class InstallDenied extends BrokerError {
  constructor(
    readonly providerError: string,
    readonly returnTo: string | undefined,
  ) {
    super('authorization_denied', `The provider did not authorize the app (${providerError})`, { provider: { error: providerError } });
  }
}

const MAX_PARAM = 2048;

export function callbackUrl(ctx: BrokerContext, provider: string, requestBaseUrl: string): string {
  const base = (ctx.config.publicUrl ?? requestBaseUrl).replace(/\/+$/, '');
  return `${base}/oauth/${encodeURIComponent(provider)}/callback`;
}

/** Builds the provider's authorize URL and stores the single-use state behind it. */
export async function startInstall(ctx: BrokerContext, request: InstallRequest): Promise<URL> {
  const provider = enabledProvider(ctx, request.provider);
  if (provider.auth_mode !== 'OAUTH2' || !provider.authorization_url) {
    throw new BrokerError('invalid_request', `Provider "${provider.key}" uses client credentials; register a connection with PUT /connections/{id}`);
  }
  if (request.connectionId !== undefined) validateConnectionId(request.connectionId);
  const returnTo = request.returnTo === undefined ? undefined : checkReturnTo(ctx, request.returnTo);
  const { client_id } = await credentialsFor(ctx, provider);
  const now = ctx.clock.now();
  const state = newState();
  const pkce = provider.disable_pkce ? undefined : await newPkce();
  const redirectUri = callbackUrl(ctx, provider.key, request.requestBaseUrl);
  const installState: InstallState = {
    nonce: state,
    provider: provider.key,
    codeVerifier: pkce?.verifier,
    returnTo,
    connectionId: request.connectionId,
    redirectUri,
    scopes: provider.default_scopes,
    createdAt: now,
    expiresAt: now + ctx.config.stateTtlMs,
  };
  await ctx.store.putState(installState);
  return buildAuthorizationUrl(provider, {
    clientId: client_id,
    redirectUri,
    state,
    scopes: provider.default_scopes,
    optionalScopes: provider.default_optional_scopes,
    codeChallenge: pkce?.challenge,
  });
}

/** `return_to` must be an absolute http(s) URL whose origin is on the allowlist: no open redirect. */
export function checkReturnTo(ctx: BrokerContext, returnTo: string): string {
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

/** Consumes the state, exchanges the code, and stores the connection encrypted. */
export async function completeCallback(ctx: BrokerContext, request: CallbackRequest): Promise<InstallSuccess> {
  const provider = enabledProvider(ctx, request.provider);
  const { query } = request;
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value.length > MAX_PARAM) throw new BrokerError('invalid_request', `Callback parameter "${key}" is too long`);
  }
  const state = await consumeCallbackState(ctx, provider, query.state);

  if (query.error !== undefined) {
    // Only the OAuth error code travels on (it is a short ASCII token by RFC 6749 §4.1.2.1); the description stays out.
    const code = /^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$/.test(query.error) ? query.error : 'invalid_error';
    throw new InstallDenied(code, state?.returnTo);
  }
  if (!query.code) throw new BrokerError('invalid_request', 'The callback has no authorization code');

  const credentials = await credentialsFor(ctx, provider);
  const result = await exchangeCode(
    provider,
    credentials,
    {
      code: query.code,
      redirectUri: state?.redirectUri ?? callbackUrl(ctx, provider.key, request.requestBaseUrl),
      codeVerifier: state?.codeVerifier,
    },
    tokenEndpointOptions(ctx),
  ).catch((err: unknown) => {
    // The provider refusing the code (expired, already used: RFC 6749 §5.2 invalid_grant) is the
    // person's to fix by starting again, not a provider outage.
    if (isBrokerError(err, 'provider_error') && err.provider?.error === 'invalid_grant') {
      throw new BrokerError('invalid_request', 'The provider refused the authorization code (expired or already used); start the install again', {
        cause: err,
        provider: { error: 'invalid_grant' },
      });
    }
    throw err;
  });
  const connectionId = state?.connectionId ?? (result.tenant ? tenantConnectionId(provider.key, result.tenant) : newConnectionId());
  const scopes = result.grantedScopes ?? state?.scopes ?? provider.default_scopes;
  const { record, reinstalled } = await upsertConnection(ctx, provider, connectionId, {
    token: result.tokens,
    scopes,
    tenant: result.tenant,
    metadata: result.metadata,
  });
  await ctx.events.publish({
    type: 'connection.created',
    detail: { connection_id: record.id, provider: provider.key, tenant: record.tenant ?? null, reinstalled },
    at: ctx.clock.now(),
  });
  logger.info('connection installed', { connection_id: record.id, provider: provider.key, reinstalled });
  return { connectionId: record.id, provider: provider.key, tenant: record.tenant ?? null, reinstalled, returnTo: state?.returnTo };
}

async function consumeCallbackState(ctx: BrokerContext, provider: Provider, nonce: string | undefined): Promise<InstallState | undefined> {
  if (nonce === undefined || nonce === '') {
    if (provider.allow_stateless_callback) return undefined; // marketplace-initiated install (HighLevel)
    throw new BrokerError('invalid_state', 'The callback has no state; start the install again from the install link');
  }
  const state = await ctx.store.consumeState(nonce);
  if (!state) throw new BrokerError('invalid_state', 'The install link has expired or was already used; start the install again');
  if (state.provider !== provider.key) throw new BrokerError('invalid_state', 'The state does not belong to this provider; start the install again');
  return state;
}

/**
 * A stable id from the provider-side account, so re-installing the same account updates the
 * same connection. A tenant id that had to be altered to fit gets a hash of the original, so
 * two accounts never share an id.
 */
function tenantConnectionId(providerKey: string, tenant: string): string {
  const safe = tenant.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 90);
  if (safe === tenant) return `${providerKey}:${safe}`;
  // `:` never survives in `safe`, so this form cannot collide with an unaltered tenant's id.
  return `${providerKey}:${safe}:${createHash('sha256').update(tenant).digest('base64url').slice(0, 12)}`;
}

function newConnectionId(): string {
  return `conn_${randomBytes(16).toString('base64url')}`;
}

/** A grant to store, before sealing: the token set (none yet for some client-credentials connections), inline credentials, and what came with them. */
export type FreshGrant = Omit<NewGrant, 'sealed' | 'random'> & { clientCredentials?: ClientCredentials };

/** Creates the connection, or replaces the grant of an existing one (re-install), with conditional writes. */
export async function upsertConnection(
  ctx: BrokerContext,
  provider: Provider,
  id: string,
  fresh: FreshGrant,
): Promise<{ record: ConnectionRecord; reinstalled: boolean }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const now = ctx.clock.now();
    const existing = await ctx.store.get(id, { consistent: true });
    if (existing && existing.provider !== provider.key) {
      throw new BrokerError('conflict', `Connection ${id} belongs to provider "${existing.provider}"`);
    }
    // The install link is public and `connection_id` is the caller's choice: a consent by another
    // provider account must never take over an existing connection (and its tenant's API calls).
    if (existing && existing.status !== 'revoked' && existing.tenant !== undefined && fresh.tenant !== undefined && existing.tenant !== fresh.tenant) {
      throw new BrokerError('conflict', `Connection ${id} belongs to another ${provider.key} account; install without connection_id, or revoke it first`);
    }
    const { token, clientCredentials, ...facts } = fresh;
    const sealed = await seal(ctx.cipher, { id, provider: provider.key }, { token, clientCredentials });
    const grant = { ...facts, token, sealed, random: ctx.random() };
    try {
      if (!existing) {
        return { record: await ctx.store.create(connectionCreated(id, provider, grant, now, ctx.config)), reinstalled: false };
      }
      return { record: await ctx.store.update(id, existing.version, grantReplaced(existing, provider, grant, now, ctx.config)), reinstalled: true };
    } catch (err) {
      if (!isBrokerError(err, 'conflict')) throw err;
    }
  }
  throw new BrokerError('conflict', `Connection ${id} is being changed concurrently; try again`);
}
