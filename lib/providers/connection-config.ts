/**
 * Validation of a connection's `connection_config` against its provider's declared
 * parameters. Apart from the catalogue loader so the Lambda handlers never load zod.
 */
import { BrokerError } from '../errors';
import { isPlainObject } from '../plain-object';
import type { Provider } from './schema';

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
 * `pattern` in full, their `enum` and their `format`, no unknown keys.
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
    } else if (typeof value !== 'string') {
      problems.push({ field, message: `${field} must be a string` });
    }
  }
  for (const [name, definition] of Object.entries(provider.connection_config)) {
    const field = `connection_config.${name}`;
    const supplied = Object.hasOwn(given, name) ? given[name] : undefined;
    if (typeof supplied !== 'string' && supplied !== undefined) continue; // reported above
    const value = supplied === undefined || supplied === '' ? definition.default_value : supplied;
    if (value === undefined || value === '') {
      if (!definition.optional) problems.push({ field, message: `${field} is required by provider "${provider.key}"` });
      continue;
    }
    if (definition.enum !== undefined && !definition.enum.includes(value)) {
      problems.push({ field, message: `${field} must be one of ${definition.enum.join(', ')} (provider "${provider.key}")` });
      continue;
    }
    const format = definition.format === undefined ? undefined : FORMATS[definition.format];
    if (format !== undefined && !format.test(value)) {
      problems.push({ field, message: `${field} must be ${format.hint} (provider "${provider.key}")` });
      continue;
    }
    if (definition.pattern !== undefined && !fullMatch(definition.pattern).test(value)) {
      const hint = definition.description ?? `pattern ${definition.pattern}`;
      problems.push({ field, message: `${field} has the wrong format for provider "${provider.key}" (expected: ${hint})` });
      continue;
    }
    valid[name] = value;
  }

  const first = problems[0];
  if (first !== undefined) {
    throw new BrokerError('invalid_request', problems.map((p) => p.message).join('; '), { details: { field: first.field } });
  }
  return valid;
}

/** A `connection_config` pattern must match the whole value: an unanchored `https://` would accept `evil?https://`. */
export function fullMatch(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

export function printableName(name: string): string {
  return /^[\w.-]{1,64}$/.test(name) ? name : JSON.stringify(name.slice(0, 64));
}
