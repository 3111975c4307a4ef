/**
 * Which scopes an install asks for. Without a choice, the catalogue's defaults; an install
 * link may choose its own (the signed install links of the security work call this), limited
 * to what the operator allows for the provider: `allowed_scopes` plus the defaults.
 *
 * Pure and zod-free: the Lambda handlers call it.
 */
import { BrokerError } from '../errors';
import type { Provider } from './schema';

/** Scopes an install link asked for; an absent or empty list means "the provider's defaults". */
export interface RequestedScopes {
  scopes?: readonly string[];
  /** Only for providers with an `optional_scope_param` (HubSpot `optional_scope`). */
  optionalScopes?: readonly string[];
}

export interface InstallScopes {
  scopes: string[];
  optionalScopes: string[];
}

/**
 * The scopes to put on the authorize URL (and record with the install state). Throws
 * `scope_not_allowed` (400) naming the first scope outside the allow-list, and `invalid_request`
 * when optional scopes are asked of a provider that has none.
 */
export function resolveInstallScopes(provider: Provider, requested: RequestedScopes = {}): InstallScopes {
  const allowed = new Set([...provider.allowed_scopes, ...provider.default_scopes, ...provider.default_optional_scopes]);
  const choose = (asked: readonly string[] | undefined, defaults: readonly string[], field: string): string[] => {
    const wanted = unique(asked ?? []);
    if (wanted.length === 0) return unique(defaults);
    const refused = wanted.find((scope) => !allowed.has(scope));
    if (refused !== undefined) {
      throw new BrokerError('scope_not_allowed', `Scope ${JSON.stringify(refused.slice(0, 100))} is not allowed for provider "${provider.key}" (the catalogue's allowed_scopes and default scopes are)`, {
        details: { field, provider: provider.key },
      });
    }
    return wanted;
  };
  if (provider.optional_scope_param === undefined && unique(requested.optionalScopes ?? []).length > 0) {
    throw new BrokerError('invalid_request', `Provider "${provider.key}" has no optional scopes`, { details: { field: 'optional_scopes' } });
  }
  return {
    scopes: choose(requested.scopes, provider.default_scopes, 'scopes'),
    optionalScopes: provider.optional_scope_param === undefined ? [] : choose(requested.optionalScopes, provider.default_optional_scopes, 'optional_scopes'),
  };
}

function unique(scopes: readonly string[]): string[] {
  return [...new Set(scopes.map((scope) => scope.trim()).filter((scope) => scope !== ''))];
}
