/**
 * Finding a provider by the key in a route (`/oauth/{provider}/install`): the one place that
 * decides between "here it is", "the catalogue skipped it, and why" and "no such provider".
 * Zod-free: the Lambda handlers use it.
 */
import { BrokerError } from '../errors';
import type { Catalogue, Provider } from './schema';

/** A provider key: it appears in routes (`/oauth/{provider}/install`), secret names and list filters. */
export const PROVIDER_KEY_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * The entry for `key`. A key outside `enabled` (when given) is unknown, like a key the catalogue
 * never had; a key whose entry was skipped at load is `provider_not_supported` (404) with the reason.
 */
/** `key` is among the operator's enabled providers (every provider when none are named). */
export function isEnabledProvider(key: string, enabled: readonly string[] | undefined): boolean {
  return enabled === undefined || enabled.includes(key);
}

export function findProvider(catalogue: Catalogue, key: string, enabled?: readonly string[]): Provider {
  const isEnabled = isEnabledProvider(key, enabled);
  const provider = catalogue.get(key);
  if (provider !== undefined && isEnabled) return provider;
  // JSON.stringify quotes and escapes: the key comes from a URL path.
  const shown = JSON.stringify(key.slice(0, 100));
  const skipped = catalogue.skipped?.get(key);
  if (skipped !== undefined && isEnabled) {
    throw new BrokerError('provider_not_supported', `Provider ${shown} is in the catalogue but not served: ${skipped.reason}`, {
      details: { provider: key.slice(0, 100) },
    });
  }
  const known = [...catalogue.keys()].filter((k) => isEnabledProvider(k, enabled)).sort().join(', ');
  throw new BrokerError('unknown_provider', `Unknown provider ${shown}. Known providers: ${known}`, { details: { provider: key.slice(0, 100) } });
}
