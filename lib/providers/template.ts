/**
 * URL templates in the provider catalogue: `${connectionConfig.<key>}` (a value the
 * connection supplies, e.g. Marketo's identity URL) and `${token}` (HubSpot's revoke
 * endpoint takes the refresh token in the path).
 *
 * Where a value lands decides how it is written, so that no value can change the
 * shape of the URL it is put into:
 * - a placeholder that starts the template stands for a whole base URL; the value must
 *   be an absolute http(s) URL without credentials, query or fragment, and is inserted
 *   normalised (Marketo `${connectionConfig.identity_url}/oauth/token`);
 * - anywhere else (path, host label, query, fragment) the value is percent-encoded, so it
 *   cannot add path segments, a query or a fragment; `.` and `..` are refused in a path
 *   because URL parsers resolve them even when encoded.
 *
 * Parameter and header values (`token_params`, `token_headers`, ...) take the same
 * placeholders but are filled verbatim by `expandValueTemplate`: the request encoder escapes them.
 *
 * Values never appear in error messages: `${token}` is a secret.
 */
import { BrokerError } from '../errors';

/** Values a template can draw on. */
export interface TemplateValues {
  connectionConfig?: Readonly<Record<string, string>> | undefined;
  token?: string | undefined;
}

/** One `${...}` in a template, as the catalogue validator sees it. */
export type TemplatePlaceholder = (
  | { kind: 'connectionConfig'; key: string; atStart: boolean }
  | { kind: 'token'; atStart: boolean }
  | { kind: 'unknown'; text: string; atStart: boolean }
) & {
  /** Where the placeholder starts in the template (the url-positions rules read what surrounds it). */
  index?: number;
};

const PLACEHOLDER = /\$\{([^}]*)\}/g;
const CONNECTION_CONFIG_NAME = /^connectionConfig\.([A-Za-z0-9_-]+)$/;
/** Printable ASCII only: URL parsers silently drop tabs and newlines, which would make a base URL mean something else. */
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** The placeholders in `template`, in order; text the broker cannot fill is reported as `unknown`. */
export function templatePlaceholders(template: string): TemplatePlaceholder[] {
  const found: TemplatePlaceholder[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) {
    found.push({ ...classify(match[1] ?? '', match[0], match.index === 0), index: match.index });
  }
  // `${` without a closing brace would otherwise pass through as literal text.
  if (template.replace(PLACEHOLDER, '').includes('${')) {
    found.push({ kind: 'unknown', text: '${ (unterminated)', atStart: false });
  }
  return found;
}

/**
 * Fills a catalogue URL template: a leading placeholder is a base URL, any other value is
 * percent-encoded. Missing connection values are the caller's fault (`invalid_request`).
 */
export function expandTemplate(template: string, values: TemplateValues, providerKey: string): string {
  return fill(template, values, providerKey, (placeholder, value, label, index) => {
    if (placeholder.atStart) return baseUrl(value, label, providerKey);
    // The template's own literal text decides the context: after `?` or `#` we are past the path.
    const inPath = !/[?#]/.test(template.slice(0, index));
    return encodeComponent(value, inPath, label, providerKey);
  });
}

/**
 * Fills a parameter or header value (`authorization_params`, `token_params`, `refresh_params`,
 * `token_headers`): values go in verbatim, because the request encoder escapes them; encoding
 * here would escape them twice.
 */
export function expandValueTemplate(template: string, values: TemplateValues, providerKey: string): string {
  return fill(template, values, providerKey, (_placeholder, value) => value);
}

type Writer = (placeholder: Exclude<TemplatePlaceholder, { kind: 'unknown' }>, value: string, label: string, index: number) => string;

function fill(template: string, values: TemplateValues, providerKey: string, write: Writer): string {
  let expanded = '';
  let copiedUpTo = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const index = match.index;
    expanded += template.slice(copiedUpTo, index);
    copiedUpTo = index + match[0].length;

    const placeholder = classify(match[1] ?? '', match[0], index === 0);
    if (placeholder.kind === 'unknown') {
      throw new BrokerError('configuration_error', `Provider "${providerKey}": unknown placeholder ${placeholder.text} in a template`);
    }
    const label = placeholder.kind === 'token' ? 'token' : `connection_config.${placeholder.key}`;
    const value = placeholder.kind === 'token' ? values.token : ownValue(values.connectionConfig, placeholder.key);
    if (value === undefined || value === '') {
      // A missing token is a bug in the caller, not something the API client can fix.
      throw placeholder.kind === 'token'
        ? new BrokerError('internal_error', `A token is required to fill a template of provider "${providerKey}"`)
        : new BrokerError('invalid_request', `${label} is required by provider "${providerKey}"`, {
            details: { field: label },
          });
    }
    expanded += write(placeholder, value, label, index);
  }
  return expanded + template.slice(copiedUpTo);
}

function classify(name: string, text: string, atStart: boolean): TemplatePlaceholder {
  if (name === 'token') return { kind: 'token', atStart };
  const key = CONNECTION_CONFIG_NAME.exec(name)?.[1];
  if (key !== undefined) return { kind: 'connectionConfig', key, atStart };
  return { kind: 'unknown', text: text.slice(0, 80), atStart };
}

function ownValue(record: Readonly<Record<string, string>> | undefined, key: string): string | undefined {
  // Own properties only: `constructor` must not resolve to Object.prototype's.
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

function baseUrl(value: string, label: string, providerKey: string): string {
  const invalid = () =>
    new BrokerError(
      'invalid_request',
      `${label} must be an absolute http(s) URL without credentials, query or fragment (provider "${providerKey}")`,
      { details: { field: label } },
    );
  if (!PRINTABLE_ASCII.test(value) || value.includes('?') || value.includes('#')) throw invalid();
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw invalid();
  }
  if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.username !== '' || parsed.password !== '') {
    throw invalid();
  }
  // The normalised form (what an HTTP client would request), without the trailing slash the template supplies.
  return parsed.href.replace(/\/+$/, '');
}

function encodeComponent(value: string, inPath: boolean, label: string, providerKey: string): string {
  if (inPath && (value === '.' || value === '..')) {
    throw new BrokerError('invalid_request', `${label} must not be "." or ".." (provider "${providerKey}")`, {
      details: { field: label },
    });
  }
  try {
    return encodeURIComponent(value);
  } catch {
    // encodeURIComponent throws URIError on a lone surrogate.
    throw new BrokerError('invalid_request', `${label} is not valid Unicode (provider "${providerKey}")`, {
      details: { field: label },
    });
  }
}
