/**
 * The front-channel half of the authorization code grant: the `state` nonce, the PKCE pair,
 * and the authorize URL. Pure: everything provider-specific comes from the `Provider` entry.
 */
import { calculatePKCECodeChallenge, generateRandomState } from 'oauth4webapi';
import { BrokerError } from '../errors';
import type { Provider } from '../providers/schema';
import { expandValueTemplate } from '../providers/template';
import { providerUrl } from './provider-url';


export interface AuthorizationUrlParams {
  clientId: string;
  redirectUri: string;
  state: string;
  /** Scopes to ask for; the caller merges the catalogue's `default_scopes` if it wants them. */
  scopes: string[];
  /** Sent in `provider.optional_scope_param` (HubSpot `optional_scope`); dropped when the provider has none. */
  optionalScopes?: string[];
  /** S256 challenge from {@link pkceChallenge}; ignored when the provider has `disable_pkce`. */
  codeChallenge?: string;
  /** OpenID Connect `nonce`, echoed in the id_token (sent only when given). */
  nonce?: string;
  connectionConfig?: Record<string, string>;
}

/**
 * Parameters the catalogue's `authorization_params` may not set: they carry the broker's
 * security properties (who the client is, where the code goes, CSRF and PKCE binding).
 */
const PROTECTED_AUTHORIZATION_PARAMS = new Set(['client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'nonce']);

/** A fresh `state` nonce: 32 random bytes, base64url (RFC 6749 §10.12, https://www.rfc-editor.org/rfc/rfc6749#section-10.12). */
export function newState(): string {
  return generateRandomState();
}

/** The S256 challenge of a PKCE verifier (RFC 7636 §4.2, https://www.rfc-editor.org/rfc/rfc7636#section-4.2). */
export function pkceChallenge(verifier: string): Promise<string> {
  return calculatePKCECodeChallenge(verifier);
}

/** The authorization request URL for `provider` (RFC 6749 §4.1.1, https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1). */
export function buildAuthorizationUrl(provider: Provider, p: AuthorizationUrlParams): URL {
  if (provider.authorization_url === undefined) {
    throw new BrokerError('configuration_error', `Provider ${provider.key} has no authorization_url (auth_mode ${provider.auth_mode})`);
  }
  // The URL's own query (HubSpot account-pinned URLs, white labels) is kept; ours is added to it.
  const url = providerUrl(provider.authorization_url, { connectionConfig: p.connectionConfig }, provider, 'authorization_url');
  const query = url.searchParams;

  query.set('response_type', 'code');
  query.set('client_id', p.clientId);
  query.set('redirect_uri', p.redirectUri);
  const scope = joinScopes(p.scopes, provider.scope_separator);
  if (scope !== undefined) query.set('scope', scope);
  const optionalScope = joinScopes(p.optionalScopes ?? [], provider.scope_separator);
  if (provider.optional_scope_param !== undefined && optionalScope !== undefined) {
    query.set(provider.optional_scope_param, optionalScope);
  }
  query.set('state', p.state);
  // disable_pkce means the broker never sends PKCE parameters to this provider (HighLevel rejects unknown ones).
  if (p.codeChallenge !== undefined && !provider.disable_pkce) {
    query.set('code_challenge', p.codeChallenge);
    query.set('code_challenge_method', 'S256');
  }
  if (p.nonce !== undefined) query.set('nonce', p.nonce);
  for (const [name, value] of Object.entries(provider.authorization_params)) {
    if (PROTECTED_AUTHORIZATION_PARAMS.has(name)) {
      throw new BrokerError('configuration_error', `Provider ${provider.key}: authorization_params may not set ${name}`);
    }
    // `${connectionConfig.x}` filled verbatim: URLSearchParams encodes the value once.
    query.set(name, expandValueTemplate(value, { connectionConfig: p.connectionConfig }, provider.key));
  }
  return url;
}

/** Joins scopes with the provider's separator, dropping blanks and duplicates; undefined when nothing is left. */
function joinScopes(scopes: readonly string[], separator: string): string | undefined {
  const unique = [...new Set(scopes.map((s) => s.trim()).filter((s) => s !== ''))];
  return unique.length > 0 ? unique.join(separator) : undefined;
}
