/**
 * Validation of a connection's `connection_config` against its provider's declared
 * parameters. Apart from the catalogue loader so the Lambda handlers never load zod.
 */
import { BrokerError } from '../errors';
import { isPlainObject } from '../plain-object';
import type { Provider } from './schema';

type ConnectionConfigField = Provider['connection_config'][string];
import { DNS_LABEL, hostPlaceholders, urlTemplates, type UrlPosition } from './url-positions';

/** What a `format` (Nango's connection_config property) accepts. Deliberately narrow: these values land in URLs. */
const FORMATS: Readonly<Record<string, { test: (value: string) => boolean; hint: string }>> = {
  // RFC 1123 labels, dot-separated: no port, path or user info.
  hostname: {
    test: (v) => v.length <= 253 && /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(v),
    hint: 'a host name',
  },
  uri: { test: (v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), hint: 'an http(s) URL' },
  uuid: { test: (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v), hint: 'a UUID' },
  email: { test: (v) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v), hint: 'an email address' },
};

/**
 * Checks a connection's `connection_config` against the provider's declared parameters:
 * required ones present (a `default_value` fills a missing one), values strings matching their
 * `pattern` in full, their `enum` and their `format`, no unknown keys, and values that land in
 * the scheme or host of a URL allowed there (`hostValueProblems`).
 */
export function validateConnectionConfig(provider: Provider, config: unknown): Record<string, string> {
  const given = config ?? {};
  if (!isPlainObject(given)) {
    throw new BrokerError('invalid_request', `connection_config must be an object of string values (provider "${provider.key}")`, {
      details: { field: 'connection_config' },
    });
  }
  const problems: Array<{ field: string; message: string }> = [];
  const valid: Record<string, string> = {};

  for (const [name, value] of Object.entries(given)) {
    const field = `connection_config.${printableName(name)}`;
    if (!Object.hasOwn(provider.connection_config, name)) {
      problems.push({ field, message: `${field} is not a parameter of provider "${provider.key}"` });
    } else if (decidedByProvider(provider.connection_config[name]!)) {
      // The provider's own answer decides it (Salesforce's instance_url, Zoho's accounts server); nobody may preset it.
      problems.push({ field, message: `${field} comes from provider "${provider.key}"'s ${provider.connection_config[name]!.callback_param !== undefined ? 'callback' : 'token response'} and cannot be set` });
    } else if (typeof value !== 'string') {
      problems.push({ field, message: `${field} must be a string` });
    }
  }
  for (const [name, definition] of Object.entries(provider.connection_config)) {
    if (decidedByProvider(definition)) continue; // filled by the callback or the code exchange
    const field = `connection_config.${name}`;
    const supplied = Object.hasOwn(given, name) ? given[name] : undefined;
    if (typeof supplied !== 'string' && supplied !== undefined) continue; // reported above
    const value = supplied === undefined || supplied === '' ? definition.default_value : supplied;
    if (value === undefined || value === '') {
      if (!definition.optional) problems.push({ field, message: `${field} is required by provider "${provider.key}"` });
      continue;
    }
    const problem = connectionValueProblem(provider, name, value);
    if (problem !== undefined) {
      problems.push({ field, message: problem });
      continue;
    }
    valid[name] = value;
  }
  if (problems.length === 0) problems.push(...hostValueProblems(provider, valid, urlTemplates(provider)));

  const first = problems[0];
  if (first !== undefined) {
    throw new BrokerError('invalid_request', problems.map((p) => p.message).join('; '), { details: { field: first.field } });
  }
  return valid;
}

/** A value the provider's own answer supplies (the token response, or its redirect to the callback): never given by an admin or a link. */
export function decidedByProvider(definition: Pick<ConnectionConfigField, 'token_response_path' | 'callback_param'>): boolean {
  return definition.token_response_path !== undefined || definition.callback_param !== undefined;
}

type HostRuleProvider = Pick<Provider, 'key' | 'connection_config'>;

/**
 * Values that would decide where a request goes (url-positions.ts): each must match its
 * entry's `pattern` (or `enum`), or, without one, be a single DNS label in a host position. A value that
 * starts a URL (or sits in its scheme) with no entry pattern is refused whatever it is, with a
 * message for the operator: the entry still loads, and cannot send the secret anywhere.
 */
export function hostValueProblems(
  provider: HostRuleProvider,
  config: Readonly<Record<string, string>>,
  templates: ReadonlyArray<[field: string, template: string]>,
): Array<{ field: string; message: string }> {
  const problems = new Map<string, string>();
  for (const [urlField, template] of templates) {
    for (const { key, position } of hostPlaceholders(template)) {
      const value = Object.hasOwn(config, key) ? config[key] : undefined;
      const field = `connection_config.${key}`;
      if (value === undefined || problems.has(field)) continue;
      const message = hostValueProblem(provider, key, position, value, urlField);
      if (message !== undefined) problems.set(field, message);
    }
  }
  return [...problems].map(([field, message]) => ({ field, message }));
}

/** Throws `invalid_request` when a value of `template` is not allowed where it lands (the check at use). */
export function assertHostValues(provider: HostRuleProvider, field: string, template: string, config: Readonly<Record<string, string>> | undefined): void {
  const first = hostValueProblems(provider, config ?? {}, [[field, template]])[0];
  if (first !== undefined) throw new BrokerError('invalid_request', first.message, { details: { field: first.field } });
}

function hostValueProblem(provider: HostRuleProvider, key: string, position: UrlPosition, value: string, urlField: string): string | undefined {
  const field = `connection_config.${key}`;
  const definition = Object.hasOwn(provider.connection_config, key) ? provider.connection_config[key] : undefined;
  // An `enum` is a list of values the entry's author chose: as good as a pattern. A `format` (hostname, uri) is not: it allows any host.
  if (definition?.enum !== undefined) {
    return definition.enum.includes(value) ? undefined : `${field} must be one of ${definition.enum.join(', ')} (provider "${provider.key}"; it decides where ${urlField} goes)`;
  }
  const pattern = definition?.pattern;
  if (pattern !== undefined) {
    return fullMatch(pattern).test(value) ? undefined : `${field} has the wrong format for provider "${provider.key}" (it decides where ${urlField} goes)`;
  }
  if (position === 'host') {
    return DNS_LABEL.test(value) ? undefined : `${field} must be a single DNS label (a-z, 0-9, "-") for provider "${provider.key}": it is part of the host of ${urlField}`;
  }
  return `${field} starts ${urlField} of provider "${provider.key}", and the catalogue entry has no pattern for it, so no value is accepted: add connection_config.${key}.pattern to the entry (the host the client secret may go to)`;
}

/**
 * Why `value` is not acceptable for the declared parameter `name` (its `enum`, `format` and
 * `pattern`), or undefined when it is. Also checks values taken from a token response.
 */
export function connectionValueProblem(provider: Pick<Provider, 'key' | 'connection_config'>, name: string, value: string): string | undefined {
  const field = `connection_config.${name}`;
  const definition = Object.hasOwn(provider.connection_config, name) ? provider.connection_config[name] : undefined;
  if (definition === undefined) return `${field} is not a parameter of provider "${provider.key}"`;
  if (definition.enum !== undefined && !definition.enum.includes(value)) {
    return `${field} must be one of ${definition.enum.join(', ')} (provider "${provider.key}")`;
  }
  const format = definition.format === undefined ? undefined : FORMATS[definition.format];
  if (format !== undefined && !format.test(value)) return `${field} must be ${format.hint} (provider "${provider.key}")`;
  if (definition.pattern !== undefined && !fullMatch(definition.pattern).test(value)) {
    const hint = definition.description ?? `pattern ${definition.pattern}`;
    return `${field} has the wrong format for provider "${provider.key}" (expected: ${hint})`;
  }
  return undefined;
}

/** A `connection_config` pattern must match the whole value: an unanchored `https://` would accept `evil?https://`. */
export function fullMatch(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

export function printableName(name: string): string {
  return /^[\w.-]{1,64}$/.test(name) ? name : JSON.stringify(name.slice(0, 64));
}
