/**
 * The install flow: the link a marketplace sends customers to, and the callback that turns
 * the one-time `code` into a stored, encrypted connection.
 *
 * Two kinds of link (docs/security.md): the public `/oauth/{provider}/install` chooses nothing
 * but an allowlisted `return_to`, and creates a connection whose id comes from the tenant the
 * provider proves, or is random; a signed link (install-links.ts) carries the app's own choices
 * (connection id, connection_config, scopes, tags) and is used up by the callback that stores.
 */
import { createHash, randomBytes } from 'node:crypto';
import { BrokerError, isBrokerError, withInstallAttempt, type InstallAttempt } from '../errors';
import { logger } from '../logger';
import { buildAuthorizationUrl, newState, pkceChallenge } from '../oauth/authorize';
import { checkAuthorizationResponseIssuer, metadataFromClaims, tenantFromClaims, validateIdToken } from '../oauth/id-token';
import { lookUpTenant } from '../oauth/tenant-request';
import { exchangeCode, type TokenGrantResult } from '../oauth/token-endpoint';
import { BROKER_METRICS } from '../ports';
import { connectionValueProblem, decidedByProvider, hostValueProblems } from '../providers/connection-config';
import type { Provider } from '../providers/schema';
import { urlTemplates } from '../providers/url-positions';
import { credentialsFor, enabledProvider, tokenEndpointOptions, type BrokerContext } from './context';
import { checkReturnTo, installableProvider, readInstallLink } from './install-links';
import type { ClientCredentials, ConnectionRecord, InstallLinkUse, InstallState } from '../model';
import { revokeOrphanedGrant } from './provider-revocation';
import { seal } from './sealing';
import { oidcNonceFor, pkceVerifierFor } from './signing';
import { connectionCreated, grantReplaced, reauthorizationRefusal, type NewGrant, type ReauthorizationRule } from './transitions';
import { refreshPolicyFor } from './refresh-policy';

export interface InstallRequest {
  provider: string;
  /** The token of a signed install link (`?link=`): the app's choices, verified. */
  link?: string;
  /** Only a signed link may choose the connection; given on a public link it is refused with a message saying so. */
  connectionId?: string;
  returnTo?: string;
  /** Base URL this request reached the broker at; used for redirect_uri unless `publicUrl` is configured. */
  requestBaseUrl: string;
}

export interface CallbackRequest {
  provider: string;
  /**
   * The callback's query parameters, as received. The person can edit them: `code`, `state`,
   * `iss` and `error` are read, the catalogue's `callback_metadata` is recorded as such, and a
   * `connection_config.<name>.callback_param` value must be one of the entry's own hosts; none of
   * them decides who a connection belongs to.
   */
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

/** What an install link decided before consent: the app's choices (signed link) or only a return_to (public link). */
type InstallChoices = Pick<InstallState, 'connectionId' | 'returnTo' | 'connectionConfig' | 'tags' | 'link'> & { scopes?: string[] };

/**
 * Builds the provider's authorize URL and stores the single-use state behind it. The state
 * item holds nothing secret and no KMS call is made: the PKCE verifier and the OIDC nonce are
 * derived from the state with the signing key (signing.ts), here and again at the callback.
 */
export async function startInstall(ctx: BrokerContext, request: InstallRequest): Promise<URL> {
  const provider = installableProvider(ctx, request.provider);
  const choices = request.link !== undefined ? await signedChoices(ctx, provider, request) : publicChoices(ctx, provider, request);
  const { client_id } = await credentialsFor(ctx, provider);
  const now = ctx.clock.now();
  const state = newState();
  const redirectUri = callbackUrl(ctx, provider.key, request.requestBaseUrl);
  const scopes = choices.scopes ?? provider.default_scopes;
  await ctx.store.putState({
    nonce: state,
    provider: provider.key,
    returnTo: choices.returnTo,
    connectionId: choices.connectionId,
    redirectUri,
    scopes,
    connectionConfig: choices.connectionConfig,
    tags: choices.tags,
    link: choices.link,
    createdAt: now,
    expiresAt: now + ctx.config.stateTtlMs,
  });
  return buildAuthorizationUrl(provider, {
    clientId: client_id,
    redirectUri,
    state,
    scopes,
    optionalScopes: provider.default_optional_scopes,
    codeChallenge: provider.disable_pkce ? undefined : await pkceChallenge(await pkceVerifierFor(ctx.signingKey, state)),
    nonce: provider.oidc?.nonce ? await oidcNonceFor(ctx.signingKey, state) : undefined,
    connectionConfig: choices.connectionConfig,
  });
}

/** A public link chooses only where to send the person afterwards. */
function publicChoices(ctx: BrokerContext, provider: Provider, request: InstallRequest): InstallChoices {
  if (request.connectionId !== undefined) {
    // Otherwise a stranger could pre-claim a predictable id, or re-authorize someone else's connection.
    throw new BrokerError(
      'invalid_request',
      'connection_id is only accepted in a signed install link (the app mints one with POST /install-links): a public install link creates a new connection named after the account that signs in',
      { details: { field: 'connection_id' } },
    );
  }
  // Values the provider itself supplies (the token response, its redirect) are not the link's to carry.
  const needed = Object.entries(provider.connection_config)
    .filter(([, field]) => !field.optional && !decidedByProvider(field))
    .map(([name]) => name);
  if (needed.length > 0) {
    throw new BrokerError('invalid_request', `Provider "${provider.key}" needs per-connection values (${needed.join(', ')}): install it with a signed install link that carries them`);
  }
  return { returnTo: request.returnTo === undefined ? undefined : checkReturnTo(ctx, request.returnTo) };
}

/** A signed link's values, verified and checked again against today's catalogue and allowlist. */
async function signedChoices(ctx: BrokerContext, provider: Provider, request: InstallRequest): Promise<InstallChoices> {
  if (request.connectionId !== undefined || request.returnTo !== undefined) {
    throw new BrokerError('invalid_request', 'A signed install link carries its own connection_id and return_to: open it as the app gave it');
  }
  const claims = await readInstallLink(ctx, request.link!, provider.key);
  if (await ctx.store.isInstallLinkUsed(claims.id)) {
    throw withInstallAttempt(linkUsed(), { provider: provider.key, link: 'signed', returnTo: claims.returnTo, linkSpent: true });
  }
  if (claims.connectionId !== undefined) {
    // Minting reads no table (createInstallLink runs anywhere): the callback would refuse this
    // grant anyway (transitions.ts reauthorizationRefusal) and revoke it; say so before consent.
    const existing = await ctx.store.get(claims.connectionId);
    if (existing !== undefined && existing.provider !== provider.key) {
      throw withInstallAttempt(new BrokerError('conflict', `Connection ${claims.connectionId} belongs to provider "${existing.provider}"`), {
        provider: provider.key,
        link: 'signed',
        returnTo: claims.returnTo,
        linkSpent: false,
      });
    }
  }
  return {
    connectionId: claims.connectionId,
    returnTo: claims.returnTo,
    connectionConfig: claims.connectionConfig,
    tags: claims.tags,
    scopes: claims.scopes,
    // A state opened just before the link expires may call back up to stateTtlMs later: the mark must outlive it.
    link: { id: claims.id, usedMarkUntil: claims.expiresAt + ctx.config.stateTtlMs },
  };
}

function linkUsed(): BrokerError {
  return new BrokerError('install_link_used', 'This install link was already used to connect an account; ask the app for a new link if you need to connect again');
}

/**
 * Consumes the state, checks who issued the code, exchanges it, and stores the connection
 * encrypted. From the exchange on the provider has issued live tokens: whatever stops them
 * being stored (a refused id_token, another account, a used link, a lost race) revokes them.
 */
export async function completeCallback(ctx: BrokerContext, request: CallbackRequest): Promise<InstallSuccess> {
  const provider = enabledProvider(ctx, request.provider);
  const { query } = request;
  for (const [key, value] of Object.entries(query)) {
    // The name is the sender's text with no bound of its own: quoted short, like an unknown admin field.
    if (value !== undefined && value.length > MAX_PARAM) throw new BrokerError('invalid_request', `Callback parameter "${key.slice(0, 40)}" is too long`);
  }
  const state = await consumeCallbackState(ctx, provider, query.state);
  try {
    return await exchangeAndStore(ctx, provider, request, state);
  } catch (err) {
    // From here the broker knows how the person got here: their error page can offer a way on.
    throw state ? withInstallAttempt(err, attemptOf(ctx, provider, state, err)) : err;
  }
}

/** Where a callback with our `state` stood, for the page (lib/http/pages.ts): which link, its return_to, whether it can be used again. */
function attemptOf(ctx: BrokerContext, provider: Provider, state: InstallState, err: unknown): InstallAttempt {
  if (!state.link) return { provider: provider.key, link: 'public', returnTo: state.returnTo };
  const linkExpiresAt = state.link.usedMarkUntil - ctx.config.stateTtlMs;
  return { provider: provider.key, link: 'signed', returnTo: state.returnTo, linkSpent: isBrokerError(err, 'install_link_used') || ctx.clock.now() >= linkExpiresAt };
}

async function exchangeAndStore(ctx: BrokerContext, provider: Provider, request: CallbackRequest, state: InstallState | undefined): Promise<InstallSuccess> {
  const { query } = request;
  // RFC 9207 §2.4: before anything else, even an error, comes from the server we sent the person to.
  checkAuthorizationResponseIssuer(provider, query.iss);

  if (query.error !== undefined) {
    // Only the OAuth error code travels on (it is a short ASCII token by RFC 6749 §4.1.2.1); the description stays out.
    const code = /^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$/.test(query.error) ? query.error : 'invalid_error';
    throw new InstallDenied(code, state?.returnTo);
  }
  if (!query.code) throw new BrokerError('invalid_request', 'The callback has no authorization code');
  // Values the provider's redirect decides (Zoho's accounts server), held to the entry's own hosts before the code or secret goes there.
  const exchangeConfig = connectionConfigOf(state?.connectionConfig, callbackConnectionValues(provider, query));

  const credentials = await credentialsFor(ctx, provider);
  const result = await exchangeCode(
    provider,
    credentials,
    {
      code: query.code,
      redirectUri: state?.redirectUri ?? callbackUrl(ctx, provider.key, request.requestBaseUrl),
      // A marketplace-initiated install (no state of ours) sent no challenge, so it has no verifier.
      codeVerifier: state && !provider.disable_pkce ? await pkceVerifierFor(ctx.signingKey, state.nonce) : undefined,
      connectionConfig: exchangeConfig,
    },
    tokenEndpointOptions(ctx),
  ).catch((err: unknown) => {
    // The provider refusing the code (expired, already used: RFC 6749 §5.2 invalid_grant; the
    // codes the catalogue reads as a dead grant, Zoho's HTTP-200 invalid_code) is the person's to
    // fix by starting again, not a provider outage.
    const refusedCode = isBrokerError(err, 'provider_error') ? err.provider?.error : undefined;
    if (refusedCode !== undefined && (refusedCode === 'invalid_grant' || provider.dead_grant_errors.includes(refusedCode))) {
      throw new BrokerError('invalid_request', 'The provider refused the authorization code (expired or already used); start the install again', {
        cause: err,
        provider: { error: refusedCode },
      });
    }
    throw err;
  });

  // Values the provider's answer decides (Salesforce's instance_url) join the link's and the callback's; each was checked on the way in.
  const connectionConfig = connectionConfigOf(exchangeConfig, result.connectionConfig);
  let target: string | undefined = state?.connectionId;
  try {
    const owner = await grantOwner(ctx, provider, result, { clientId: credentials.client_id, state, connectionConfig });
    target ??= owner.tenant !== undefined ? tenantConnectionId(provider.key, owner.tenant) : newConnectionId();
    const { record, reinstalled } = await upsertConnection(
      ctx,
      provider,
      target,
      {
        token: result.tokens,
        scopes: result.grantedScopes ?? state?.scopes ?? provider.default_scopes,
        tenant: owner.tenant,
        tenants: owner.tenants,
        // The callback's own parameters first: a value from an authenticated source wins a clash of names.
        metadata: { ...callbackMetadata(provider, query), ...result.metadata, ...owner.metadata },
        connectionConfig,
        tags: state?.tags,
      },
      // Only an app-minted link names a connection; every other install must prove the same account.
      { reauthorize: state?.connectionId !== undefined ? 'chosen_by_app' : 'same_known_tenant', link: state?.link },
    );
    await ctx.events.publish({
      type: 'connection.created',
      detail: { connection_id: record.id, provider: provider.key, tenant: record.tenant ?? null, reinstalled },
      at: ctx.clock.now(),
    });
    logger.info('connection installed', { connection_id: record.id, provider: provider.key, reinstalled, tenant_source: owner.source ?? null });
    ctx.metrics.record({ name: BROKER_METRICS.installs, value: 1, provider: provider.key });
    return { connectionId: record.id, provider: provider.key, tenant: record.tenant ?? null, reinstalled, returnTo: state?.returnTo };
  } catch (err) {
    if (!writeOutcomeUnknown.has(err as object)) {
      await revokeOrphanedGrant(ctx, provider, result.tokens, {
        connectionId: target,
        // Zoho's revocation goes to the accounts server that issued the grant.
        connectionConfig,
        reason: isBrokerError(err) ? err.code : 'internal_error',
      });
    }
    throw err;
  }
}

/**
 * Who the new grant belongs to, from authenticated sources only, the first that names an
 * account: the token response (over TLS, to our authenticated client), a validated id_token, the
 * connection value whose host redeemed the code (a Shopify shop), or the provider's answer to a
 * call made with the new token (`tenant_request`, which may list several accounts: Xero). The
 * callback's query string, which the person can edit, is never one (docs/security.md).
 */
interface GrantOwner {
  tenant?: string;
  /** Every account, when the look-up lists several. */
  tenants?: string[];
  source?: 'token_response' | 'id_token' | 'exchange_host' | 'tenant_request';
  /** What the id_token's `metadata_claims` and the look-up's `metadata` add. */
  metadata: Record<string, string>;
}

async function grantOwner(
  ctx: BrokerContext,
  provider: Provider,
  result: TokenGrantResult,
  facts: { clientId: string; state: InstallState | undefined; connectionConfig: Record<string, string> | undefined },
): Promise<GrantOwner> {
  const claims = await validateIdToken(provider, result.tokens.id_token, {
    clientId: facts.clientId,
    // Sent only with a state of ours: a marketplace-initiated install has no nonce to check.
    nonce: facts.state && provider.oidc?.nonce ? await oidcNonceFor(ctx.signingKey, facts.state.nonce) : undefined,
    // The id_token's times are the issuer's wall clock; the broker's Clock (which tests move to age tokens) is not theirs.
    now: Date.now(),
    fetch: ctx.fetch,
    timeoutMs: ctx.config.providerTimeoutMs,
  });
  // Made whenever the entry has one: its answer also carries metadata (Mailchimp's data centre).
  const lookup = provider.tenant_request !== undefined ? await lookUpTenant(provider, result.tokens, facts.connectionConfig, tokenEndpointOptions(ctx)) : undefined;
  const metadata = { ...metadataFromClaims(provider, claims), ...lookup?.metadata };

  if (result.tenant !== undefined) return { tenant: result.tenant, source: 'token_response', metadata };
  const fromClaims = tenantFromClaims(provider, claims);
  if (fromClaims !== undefined) return { tenant: fromClaims, source: 'id_token', metadata };
  const hostKey = provider.tenant_connection_config;
  const fromHost = hostKey !== undefined && facts.connectionConfig !== undefined && Object.hasOwn(facts.connectionConfig, hostKey) ? facts.connectionConfig[hostKey] : undefined;
  if (fromHost !== undefined && fromHost !== '') return { tenant: fromHost, source: 'exchange_host', metadata };
  if (lookup !== undefined) return { tenant: lookup.tenant, ...(lookup.tenants ? { tenants: lookup.tenants } : {}), source: 'tenant_request', metadata };
  return { metadata };
}

/**
 * The `connection_config` values the provider's redirect names (`callback_param`: Zoho's
 * `accounts-server`, the data centre whose token endpoint the code belongs to). The person can
 * edit the query, so each value must pass its entry's `enum`/`pattern` and the host rule before
 * the code, the PKCE verifier or the client secret is sent there; a missing one takes its
 * `default_value`.
 */
function callbackConnectionValues(provider: Provider, query: CallbackRequest['query']): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, definition] of Object.entries(provider.connection_config)) {
    const param = definition.callback_param;
    if (param === undefined) continue;
    const given = Object.hasOwn(query, param) ? query[param] : undefined;
    const value = given === undefined || given === '' ? definition.default_value : given;
    if (value === undefined) {
      if (definition.optional) continue;
      throw new BrokerError('invalid_request', `The callback has no "${param}" parameter, which provider "${provider.key}" always sends; start the install again`, { details: { field: `connection_config.${name}` } });
    }
    const refused = connectionValueProblem(provider, name, value) ?? hostValueProblems(provider, { [name]: value }, urlTemplates(provider))[0]?.message;
    if (refused !== undefined) {
      // The value is not echoed: it is the person's to write.
      throw new BrokerError('invalid_request', `The callback's "${param}" does not name one of provider "${provider.key}"'s own servers; nothing was sent to it. Start the install again`, {
        details: { field: `connection_config.${name}` },
      });
    }
    values[name] = value;
  }
  return values;
}

/** The catalogue's `callback_metadata`, recorded under `callback.<name>`: facts the person could have edited, never a tenant. */
function callbackMetadata(provider: Provider, query: CallbackRequest['query']): Record<string, string> {
  const entries = provider.callback_metadata.flatMap((name): Array<[string, string]> => {
    const value = Object.hasOwn(query, name) ? query[name] : undefined;
    return value === undefined || value === '' ? [] : [[`callback.${name}`, value]];
  });
  return Object.fromEntries(entries);
}

/** Connection values from two sources in one map (the later wins), or undefined when there are none (nothing to store). */
function connectionConfigOf(earlier: Readonly<Record<string, string>> | undefined, later: Readonly<Record<string, string>>): Record<string, string> | undefined {
  const merged = { ...earlier, ...later };
  return Object.keys(merged).length > 0 ? merged : undefined;
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
export type FreshGrant = Omit<NewGrant, 'sealed' | 'random' | 'policy'> & { clientCredentials?: ClientCredentials };

export interface UpsertOptions {
  /** Who may replace an existing connection's grant (transitions.ts). */
  reauthorize: ReauthorizationRule;
  /** The signed link this grant came from: marked used just before the first write. */
  link?: InstallLinkUse;
}

/**
 * Errors from a connection write whose outcome is unknown (not a refused condition): the grant
 * may be stored, so its tokens must not be revoked as an orphan.
 */
const writeOutcomeUnknown = new WeakSet<object>();

/** Creates the connection, or replaces the grant of an existing one (re-install), with conditional writes. */
export async function upsertConnection(
  ctx: BrokerContext,
  provider: Provider,
  id: string,
  fresh: FreshGrant,
  options: UpsertOptions,
): Promise<{ record: ConnectionRecord; reinstalled: boolean }> {
  let linkClaimed = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    const now = ctx.clock.now();
    const existing = await ctx.store.get(id, { consistent: true });
    const refusal = existing && reauthorizationRefusal(existing, { provider: provider.key, tenant: fresh.tenant, tenants: fresh.tenants }, options.reauthorize);
    if (refusal) {
      if (linkClaimed) await ctx.store.releaseInstallLink(options.link!.id);
      throw refusal;
    }
    if (options.link && !linkClaimed) {
      // Exactly one callback per link gets past this; the others find it used.
      if (!(await ctx.store.claimInstallLink(options.link.id, options.link.usedMarkUntil))) throw linkUsed();
      linkClaimed = true;
    }
    const { token, clientCredentials, ...facts } = fresh;
    const sealed = await seal(ctx.cipher, { id, provider: provider.key }, { token, clientCredentials });
    const grant = { ...facts, token, sealed, policy: refreshPolicyFor(provider, ctx.config), random: ctx.random() };
    try {
      if (!existing) {
        return { record: await ctx.store.create(connectionCreated(id, provider, grant, now, ctx.config)), reinstalled: false };
      }
      return { record: await ctx.store.update(id, existing.version, grantReplaced(existing, provider, grant, now, ctx.config)), reinstalled: true };
    } catch (err) {
      if (!isBrokerError(err, 'conflict')) {
        if (typeof err === 'object' && err !== null) writeOutcomeUnknown.add(err);
        throw err;
      }
    }
  }
  // Nothing was written: the link may be used again.
  if (linkClaimed) await ctx.store.releaseInstallLink(options.link!.id);
  throw new BrokerError('conflict', `Connection ${id} is being changed concurrently; try again`);
}
