/**
 * The catalogue's `tenant_request`: one call to the provider right after the code exchange,
 * authenticated with the new access token, whose answer names the account the grant belongs to.
 * Some providers name it nowhere else: Mailchimp (`/oauth2/metadata`, `Authorization: OAuth`),
 * Pipedrive (`users/me` on the company's `api_domain`), Zoho (the CRM organization), Xero (the
 * organisations the consent connected, from `/connections`).
 *
 * It is an authenticated source in the sense of docs/security.md: the answer comes over TLS from
 * the provider, to a request made with a token the provider just issued to our client. It goes
 * through the token endpoint's transport (`send`: the broker's timeout, no redirects, errors that
 * quote no URL, token or body), and its URL obeys the host rule of every catalogue URL
 * (`providerUrl`). The caller treats a failure like any other refusal after the exchange: the
 * grant is revoked as an orphan and the person sees a page saying what to do.
 */
import { decodeJwt } from 'jose';
import { BrokerError } from '../errors';
import type { TokenSet } from '../model';
import { isPlainObject } from '../plain-object';
import { valueAtPath } from '../providers/response-path';
import type { Provider, TenantRequestDefinition } from '../providers/schema';
import { expandValueTemplate } from '../providers/template';
import { providerUrl } from './provider-url';
import { classifyFailure, context, metadataOf, parseJson, send, type TokenEndpointOptions } from './token-endpoint';

/** Who the look-up says the grant belongs to. */
export interface TenantLookup {
  /** The account; with a list, the first of `tenants`. */
  tenant: string;
  /** With `list_path`: every account listed (after `filter`), sorted and without repeats. */
  tenants?: string[];
  /** The `metadata` paths of the answer (with a list: `<tenant>.<path>` per item). */
  metadata: Record<string, string>;
}

/** Longest account id kept: ids become part of connection ids and DynamoDB items. */
const MAX_TENANT_LENGTH = 256;

/** Calls the provider's `tenant_request` with the new access token; throws a BrokerError naming no secret when it cannot say who. */
export async function lookUpTenant(
  provider: Provider,
  tokens: TokenSet,
  connectionConfig: Record<string, string> | undefined,
  options: TokenEndpointOptions = {},
): Promise<TenantLookup> {
  const lookup = provider.tenant_request;
  if (lookup === undefined) throw new BrokerError('configuration_error', `Provider "${provider.key}" has no tenant_request`);

  const headers: Record<string, string> = { accept: 'application/json' };
  for (const [name, value] of Object.entries(lookup.headers)) headers[name.toLowerCase()] = expandValueTemplate(value, { connectionConfig }, provider.key);
  headers.authorization = `${lookup.auth_scheme} ${tokens.access_token}`;
  const secretValues = [tokens.access_token, ...(tokens.refresh_token ? [tokens.refresh_token] : [])];
  const request = { url: providerUrl(lookup.url, { connectionConfig }, provider, 'tenant_request.url'), method: lookup.method, headers, secretValues };

  const response = await send(provider, request, 'tenant_request', options).catch((err: unknown) => {
    throw err instanceof BrokerError ? forThePerson(provider, err) : err;
  });
  const failure = classifyFailure(provider, response, 'tenant_request', context(options, secretValues));
  if (failure !== undefined) throw forThePerson(provider, failure);

  const answer = parseJson(response.text);
  const found = lookup.list_path === undefined ? single(answer, lookup) : listed(provider, answer, lookup, tokens.access_token);
  if (found.tenants.length === 0) {
    throw new BrokerError(
      'provider_error',
      `Provider "${provider.key}" did not say which account was connected (its account look-up named none). ${nothingKept(provider)}; start the install again${lookup.list_path !== undefined ? ', and pick at least one account on the consent screen' : ''}`,
      { provider: { grant: 'tenant_request', httpStatus: response.status }, details: { field: 'tenant_request.tenant_path' } },
    );
  }
  return {
    tenant: found.tenants[0]!,
    ...(lookup.list_path !== undefined ? { tenants: found.tenants } : {}),
    metadata: found.metadata,
  };
}

/**
 * The same failure (code, provider facts), said for the person on the callback page: which step
 * failed, that nothing was kept, and what to do. The transport's own message is the cause.
 */
function forThePerson(provider: Provider, failure: BrokerError): BrokerError {
  const later = failure.code === 'provider_unavailable' || failure.code === 'provider_timeout';
  const status = failure.provider?.httpStatus !== undefined ? ` (HTTP ${failure.provider.httpStatus})` : '';
  return new BrokerError(
    failure.code,
    `Provider "${provider.key}" could not say which account was connected: its account look-up failed${status}. ${nothingKept(provider)}; start the install again${later ? ' in a few minutes' : ''}`,
    { cause: failure, ...(failure.provider ? { provider: failure.provider } : {}), details: { step: 'tenant_request' } },
  );
}

/** Orphaned grants are revoked where the catalogue says how (install.ts). */
function nothingKept(provider: Provider): string {
  return provider.revocation !== undefined ? 'Nothing was stored and the access it gave was withdrawn' : 'Nothing was stored';
}

function single(answer: unknown, lookup: TenantRequestDefinition): { tenants: string[]; metadata: Record<string, string> } {
  const tenant = accountId(valueAtPath(answer, lookup.tenant_path));
  return { tenants: tenant === undefined ? [] : [tenant], metadata: metadataOf(answer, lookup.metadata) };
}

function listed(provider: Provider, answer: unknown, lookup: TenantRequestDefinition, accessToken: string): { tenants: string[]; metadata: Record<string, string> } {
  const list = lookup.list_path === '$' ? answer : valueAtPath(answer, lookup.list_path!);
  if (!Array.isArray(list)) {
    throw new BrokerError('provider_error', `Provider "${provider.key}": the account look-up's answer has no list at ${lookup.list_path}`, {
      provider: { grant: 'tenant_request' },
      details: { field: 'tenant_request.list_path' },
    });
  }
  const wanted = Object.entries(lookup.filter).map(([path, expected]) => [path, typeof expected === 'string' ? expected : accessTokenClaim(provider, accessToken, expected.access_token_claim)] as const);
  const tenants = new Set<string>();
  const metadata: Record<string, string> = {};
  for (const item of list) {
    if (!isPlainObject(item) || !wanted.every(([path, expected]) => accountId(valueAtPath(item, path)) === expected)) continue;
    const tenant = accountId(valueAtPath(item, lookup.tenant_path));
    if (tenant === undefined) continue;
    tenants.add(tenant);
    // Keys always hold a dot, so none is `__proto__`.
    for (const [path, value] of Object.entries(metadataOf(item, lookup.metadata))) metadata[`${tenant}.${path}`] = value;
  }
  return { tenants: [...tenants].sort(), metadata };
}

/**
 * A claim of the access token, read without checking its signature: the token came in the token
 * response (an authenticated answer), and the value only narrows the provider's own list.
 */
function accessTokenClaim(provider: Provider, accessToken: string, claim: string): string {
  let value: unknown;
  try {
    const claims = decodeJwt(accessToken);
    value = Object.hasOwn(claims, claim) ? claims[claim] : undefined;
  } catch {
    value = undefined;
  }
  const text = accountId(value);
  if (text === undefined) {
    // Filtering by nothing would widen the account set, and with it who may re-authorize: refuse instead.
    throw new BrokerError('provider_error', `Provider "${provider.key}": the access token carries no ${claim} claim to pick this consent's accounts by; nothing was stored`, {
      provider: { grant: 'tenant_request' },
      details: { field: 'tenant_request.filter' },
    });
  }
  return text;
}

/** An account id as the broker keeps it: a non-empty string (numbers as decimal strings) of bounded length. */
function accountId(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && value !== '' && value.length <= MAX_TENANT_LENGTH) return value;
  return undefined;
}
