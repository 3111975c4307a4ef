/**
 * Where a connection value lands in a catalogue URL template, when that decides where the
 * broker sends the provider app's client secret and the customer's tokens:
 * - `base_url`: the placeholder starts the template and stands for scheme, host and path
 *   (Marketo `${connectionConfig.identity_url}/oauth/token`);
 * - `scheme`: somewhere before `://` (no built-in entry does this);
 * - `host`: between `://` and the first `/`, `?` or `#` of the template (Zendesk
 *   `https://${connectionConfig.subdomain}.zendesk.com`).
 * Values in these positions must match a pattern (connection-config.ts `hostValueProblems`):
 * the entry's own, or for `host` a single DNS label; `base_url` and `scheme` without an entry
 * pattern accept nothing. Placeholders in the path, query or fragment are percent-encoded by
 * template.ts and cannot move the request elsewhere.
 */
import type { Provider } from './schema';
import { templatePlaceholders } from './template';

export type UrlPosition = 'base_url' | 'scheme' | 'host';

export interface PositionedPlaceholder {
  /** The `connection_config` key. */
  key: string;
  position: UrlPosition;
}

/** A single DNS label, lower case: what a host-position value must be when its entry has no pattern. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The connection-config placeholders of `template` that sit in its scheme or host. */
export function hostPlaceholders(template: string): PositionedPlaceholder[] {
  const found: PositionedPlaceholder[] = [];
  const literal = template.replace(/\$\{[^}]*\}/g, (text) => ' '.repeat(text.length)); // placeholders blanked: only the template's own text marks the parts
  const schemeEnd = literal.indexOf('://');
  const authorityStart = schemeEnd < 0 ? -1 : schemeEnd + 3;
  const rest = authorityStart < 0 ? -1 : literal.slice(authorityStart).search(/[/?#]/);
  const authorityEnd = authorityStart < 0 ? -1 : rest < 0 ? template.length : authorityStart + rest;
  for (const placeholder of templatePlaceholders(template)) {
    if (placeholder.kind !== 'connectionConfig' || placeholder.index === undefined) continue;
    const at = placeholder.index;
    if (placeholder.atStart) found.push({ key: placeholder.key, position: 'base_url' });
    else if (schemeEnd >= 0 && at < schemeEnd) found.push({ key: placeholder.key, position: 'scheme' });
    else if (authorityStart >= 0 && at >= authorityStart && at < authorityEnd) found.push({ key: placeholder.key, position: 'host' });
  }
  return found;
}

/** Every URL template of the provider, by catalogue field: where requests carrying its secrets go. */
export function urlTemplates(provider: Pick<Provider, 'authorization_url' | 'token_url' | 'refresh_url' | 'revocation' | 'tenant_request'>): Array<[field: string, template: string]> {
  const templates: Array<[string, string | undefined]> = [
    ['authorization_url', provider.authorization_url],
    ['token_url', provider.token_url],
    ['refresh_url', provider.refresh_url],
    ['revocation.url', provider.revocation?.url],
    // The new access token goes there.
    ['tenant_request.url', provider.tenant_request?.url],
  ];
  return templates.filter((entry): entry is [string, string] => entry[1] !== undefined);
}
