/**
 * Internal to `lib/oauth`: turns a catalogue URL template into a `URL` to call.
 * Filling the placeholders (and refusing values that would reshape the URL) is
 * `expandTemplate`'s job; this adds the check that values in the scheme or host are allowed
 * there (again at use: a record stored before the rule, or edited, must not redirect a
 * secret) and that the result is an https URL (http only to a loopback host: providers/secure-url.ts).
 */
import { BrokerError } from '../errors';
import { assertHostValues } from '../providers/connection-config';
import { transportAllowed } from '../providers/secure-url';
import type { Provider } from '../providers/schema';
import { expandTemplate, type TemplateValues } from '../providers/template';

/** Expands `template` for `provider`; `field` names the catalogue field in errors. */
export function providerUrl(template: string, values: TemplateValues, provider: Pick<Provider, 'key' | 'connection_config'>, field: string): URL {
  const providerKey = provider.key;
  assertHostValues(provider, field, template, values.connectionConfig);
  const expanded = expandTemplate(template, values, providerKey);
  let url: URL;
  try {
    url = new URL(expanded);
  } catch {
    // Not echoing the URL: a filled-in template can carry a token (`${token}`).
    throw new BrokerError('configuration_error', `Provider "${providerKey}": ${field} is not a valid URL after expansion`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BrokerError('configuration_error', `Provider "${providerKey}": ${field} must be an http(s) URL`);
  }
  // Before any request: the secret, the code or the token it would carry never leaves in clear.
  assertTransportAllowed(url, providerKey, field);
  return url;
}

/**
 * The https rule (providers/secure-url.ts) on a URL about to be fetched, `undefined` for one that
 * did not parse: a configuration error naming `field` otherwise. Also for the URLs fetched
 * outside `providerUrl` (OIDC discovery and keys, id-token.ts).
 */
export function assertTransportAllowed(url: URL | undefined, providerKey: string, field: string): void {
  if (url === undefined || !transportAllowed(url)) {
    throw new BrokerError('configuration_error', `Provider "${providerKey}": ${field} must be https (plain http only to localhost or 127.0.0.1)`);
  }
}
