/**
 * Validation of a connection's `connection_config` against its provider's declared
 * parameters. Apart from the catalogue loader so the Lambda handlers never load zod.
 */
import { BrokerError } from '../errors';
import { isPlainObject } from '../plain-object';
import type { Provider } from './schema';

/**
 * Checks a connection's `connection_config` against the provider's declared parameters:
 * required ones present, values strings matching their `pattern` in full, no unknown keys.
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
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (typeof value !== 'string' && value !== undefined) continue; // reported above
    if (value === undefined || value === '') {
      if (!definition.optional) problems.push({ field, message: `${field} is required by provider "${provider.key}"` });
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
