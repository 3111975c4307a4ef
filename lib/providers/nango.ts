/**
 * Entries in Nango's `providers.yaml` format, pasted unchanged into a providers file, are mapped
 * onto the broker's fields before the one schema (schema.ts) validates them. Nango's format is
 * described here in our own words; its file is under the Elastic License 2.0 and is not shipped.
 *
 * Two steps, because the layers merge in the broker's vocabulary:
 * 1. `translateLayerEntry`, per layer entry before the merge: renames (`alias` → `extends`,
 *    `authorization_method` → `token_request_auth_method`, `token_expiration_buffer` →
 *    `refresh_skew_s`) and Nango's refresh rule (without `refresh_params`, Nango sends
 *    `token_params` on refresh too; only for entries in Nango's format).
 * 2. `adaptEntry`, per resolved entry after the merge and `extends`: fields of other products
 *    (proxy, webhooks, scripts, UI) are dropped; an entry the broker cannot serve (an auth mode
 *    other than OAuth 2.0, a placeholder or option it does not implement) is skipped with its
 *    reasons; redundant values (`grant_type` equal to the grant sent, `response_type: code`)
 *    are dropped.
 *
 * An entry counts as Nango's format when it has a field only Nango's format has (`categories`,
 * `proxy`, `alias`, …). A field neither format knows stays fatal, as does a wrong type.
 */
import { isPlainObject } from '../plain-object';
import { providerSchema } from './schema';

/** The broker's own top-level field names. */
const BROKER_FIELDS: ReadonlySet<string> = new Set(Object.keys(providerSchema.shape));

/** Nango fields that concern other products (proxy, webhooks, scripts, UI): accepted, ignored. */
const IGNORED_FIELDS: ReadonlySet<string> = new Set([
  'categories',
  'docs_connect',
  'setup_guide_url',
  'installation',
  'available_scopes',
  'proxy',
  'webhook_routing_script',
  'webhook_user_defined_secret',
  'webhook_response_metadata',
  'webhook_allowed_query_params',
  'authorization_code_param_in_webhook',
  'post_connection_script',
  'pre_connection_deletion_script',
  'pre_connection_creation_script',
  'credentials_verification_script',
  'connection_configuration',
  'integration_config',
  'assertion_option',
  'auth',
  'decode_url',
  'access_token_url',
  'authorization_url_skip_empty',
  'credentials',
]);

/** Nango fields renamed onto the broker's (step 1). */
const RENAMED_FIELDS: ReadonlySet<string> = new Set(['alias', 'authorization_method', 'token_expiration_buffer']);

/** Nango options of the OAuth 2.0 exchange the broker does not implement: an entry using one is skipped. */
const UNSUPPORTED_FIELDS: Readonly<Record<string, string>> = {
  authorization_url_skip_encode: 'authorization_url_skip_encode (values put into the URL unencoded) is not implemented: the broker encodes every value',
  token_url_skip_encode: 'token_url_skip_encode (values put into the URL unencoded) is not implemented: the broker encodes every value',
  authorization_url_fragment: 'authorization_url_fragment is not implemented',
  authorization_url_replacements: 'authorization_url_replacements (text replaced in the finished URL) is not implemented',
  authorization_code_param_in_callback: 'authorization_code_param_in_callback (a code parameter not named "code") is not implemented',
  redirect_uri_metadata: 'redirect_uri_metadata (values read from the callback URL) is not implemented',
  alternate_access_token_response_path: 'alternate_access_token_response_path (an access token not at the top of the response) is not implemented',
  expires_in_unit: 'expires_in_unit (expires_in not in seconds) is not implemented',
  require_client_certificate: 'require_client_certificate (mutual TLS at the token endpoint) is not implemented',
  refresh_token_response_metadata: 'refresh_token_response_metadata is not implemented',
  refresh_token_params: 'refresh_token_params is not implemented',
  refresh_token_headers: 'refresh_token_headers is not implemented',
};

/** Fields of Nango's other auth modes (OAuth 1.0a, JWT, two-step, signature, MCP, plugins). */
const OTHER_MODE_FIELDS: ReadonlySet<string> = new Set([
  'request_url',
  'request_params',
  'request_http_method',
  'token_http_method',
  'signature_method',
  'signature',
  'token',
  'token_response',
  'token_response_headers',
  'token_expires_in_ms',
  'additional_steps',
  'assertion',
  'proxy_header_authorization',
  'registration_url',
  'registration_params',
  'client_registration',
  'mcp_server_url',
  'auth_type',
]);

/** Nango auth modes other than OAuth 2.0: an entry of one is skipped (an unknown mode stays fatal). */
const SKIPPED_AUTH_MODES: ReadonlySet<string> = new Set([
  'OAUTH1',
  'API_KEY',
  'BASIC',
  'APP',
  'CUSTOM',
  'APP_STORE',
  'NONE',
  'TBA',
  'TABLEAU',
  'JWT',
  'BILL',
  'TWO_STEP',
  'SIGNATURE',
  'PERIMETER',
  'AWS_SIGV4',
  'MCP_OAUTH2',
  'MCP_OAUTH2_GENERIC',
  'INSTALL_PLUGIN',
]);

/** Properties of a Nango `connection_config` parameter that only describe the input form. */
const FORM_ONLY_PARAMETER_KEYS = ['example', 'order', 'prefix', 'suffix', 'doc_section', 'warnings', 'visible_when', 'hidden'] as const;

/** Every top-level field either format knows. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  ...BROKER_FIELDS,
  ...IGNORED_FIELDS,
  ...RENAMED_FIELDS,
  ...Object.keys(UNSUPPORTED_FIELDS),
  ...OTHER_MODE_FIELDS,
]);

const URL_FIELDS = ['authorization_url', 'token_url', 'refresh_url'] as const;
const VALUE_MAP_FIELDS = ['authorization_params', 'token_params', 'refresh_params', 'token_headers'] as const;
const PLACEHOLDER = /\$\{([^}]*)\}/g;
const FILLABLE_CONNECTION_CONFIG = /^connectionConfig\.([A-Za-z0-9_-]+)$/;
const CONNECTION_CONFIG_KEY = /^[A-Za-z][A-Za-z0-9_-]*$/;

export type FieldProblem = [field: string, message: string];

export interface TranslatedEntry {
  fields: Record<string, unknown>;
  /** The entry has a field only Nango's format has. */
  nango: boolean;
  problems: FieldProblem[];
}

/** Step 1, per layer entry: Nango's names onto the broker's, and Nango's refresh-parameter rule. */
export function translateLayerEntry(entry: Record<string, unknown>): TranslatedEntry {
  const fields = { ...entry };
  const problems: FieldProblem[] = [];
  const nango = Object.keys(entry).some((field) => !BROKER_FIELDS.has(field) && KNOWN_FIELDS.has(field));

  if (fields['alias'] !== undefined) {
    const alias = fields['alias'];
    // `alias: null` removes an inherited `extends`, like any field set to null.
    if (alias !== null && typeof alias !== 'string') problems.push(['alias', 'must be a provider key']);
    else if (fields['extends'] !== undefined && fields['extends'] !== alias) problems.push(['alias', 'conflicts with extends']);
    else fields['extends'] = alias;
    delete fields['alias'];
  }

  if (fields['authorization_method'] !== undefined) {
    const method = fields['authorization_method'];
    const mapped = method === 'header' ? 'basic' : method === 'body' ? 'client_secret_post' : undefined;
    const current = fields['token_request_auth_method'];
    if (mapped === undefined) problems.push(['authorization_method', 'must be "header" or "body"']);
    else if (current === undefined || current === null) fields['token_request_auth_method'] = mapped;
    // Nango's `token_request_auth_method: basic` with the default `body` method sends the secret in
    // both places; the broker sends the Basic header only (RFC 6749 §2.3.1 allows one method).
    else if (current === 'client_secret_post' && mapped === 'basic') problems.push(['authorization_method', 'conflicts with token_request_auth_method']);
    delete fields['authorization_method'];
  }

  if (fields['token_expiration_buffer'] !== undefined) {
    const buffer = fields['token_expiration_buffer'];
    if (buffer !== null && (typeof buffer !== 'number' || !(buffer >= 0))) problems.push(['token_expiration_buffer', 'must be a number of seconds']);
    else if (fields['refresh_skew_s'] !== undefined) problems.push(['token_expiration_buffer', 'conflicts with refresh_skew_s']);
    else fields['refresh_skew_s'] = buffer;
    delete fields['token_expiration_buffer'];
  }

  // Nango: a refresh sends `refresh_params`, or `token_params` when the entry has none.
  if (nango && fields['refresh_params'] === undefined && isPlainObject(fields['token_params'])) {
    const { grant_type: _grant, ...params } = fields['token_params'];
    fields['refresh_params'] = params;
  }
  return { fields, nango, problems };
}

export interface AdaptedEntry {
  fields: Record<string, unknown>;
  /** Non-empty: the entry cannot be served; each says why. */
  skipReasons: string[];
  /** Top-level fields neither format knows (fatal; left in `fields`, where the schema reports them too). */
  unknownFields: string[];
  /** Fatal problems of a skipped entry, which the schema never sees. */
  problems: FieldProblem[];
  /** Top-level fields accepted and ignored. */
  ignored: string[];
  /** Things the operator should know about a loaded entry. */
  notes: string[];
}

/** Step 2, per resolved entry (after the merge and `extends`, `null`s removed). */
export function adaptEntry(resolved: Record<string, unknown>, nango: boolean): AdaptedEntry {
  const fields = { ...resolved };
  const unknownFields = Object.keys(fields).filter((field) => !KNOWN_FIELDS.has(field));
  const result: AdaptedEntry = { fields, skipReasons: [], unknownFields, problems: [], ignored: [], notes: [] };

  const mode = fields['auth_mode'];
  if (typeof mode === 'string' && SKIPPED_AUTH_MODES.has(mode)) {
    // A light check only: the rest of a skipped entry is never used.
    if (typeof fields['display_name'] !== 'string' || fields['display_name'] === '') result.problems.push(['display_name', 'is required']);
    result.skipReasons.push(`auth_mode ${mode} is not served by the broker (it serves OAUTH2 and OAUTH2_CC)`);
    return result;
  }

  for (const field of Object.keys(fields)) {
    if (IGNORED_FIELDS.has(field)) {
      result.ignored.push(field);
      if (field === 'credentials' && mode === 'OAUTH2_CC') {
        result.notes.push('credentials ignored: client credentials come from the provider secret or the connection (PUT /connections/{id})');
      }
      delete fields[field];
    } else if (OTHER_MODE_FIELDS.has(field)) {
      result.skipReasons.push(`${field} belongs to another auth mode than OAuth 2.0`);
    } else if (Object.hasOwn(UNSUPPORTED_FIELDS, field)) {
      if (isInEffect(fields[field])) result.skipReasons.push(UNSUPPORTED_FIELDS[field] as string);
      delete fields[field];
    }
  }

  const grant = mode === 'OAUTH2_CC' ? 'client_credentials' : 'authorization_code';
  const tokenUrl = fields['token_url'];
  if (isPlainObject(tokenUrl)) {
    // Nango keys token_url by auth mode, not by grant.
    const chosen = mode === 'OAUTH2_CC' ? (tokenUrl['OAUTH2_CC'] ?? tokenUrl['OAUTH2CC'] ?? tokenUrl['OAUTH2']) : tokenUrl['OAUTH2'];
    if (chosen === undefined) result.skipReasons.push(`token_url has no ${mode === 'OAUTH2_CC' ? 'OAUTH2_CC' : 'OAUTH2'} entry`);
    else fields['token_url'] = chosen;
  }

  if (nango) for (const field of VALUE_MAP_FIELDS) fields[field] = scalarsAsStrings(fields[field]);
  dropRedundant(fields, 'authorization_params', 'response_type', 'code', (value) => `authorization_params.response_type ${value} is not served (only the code flow is)`, result);
  dropRedundant(fields, 'token_params', 'grant_type', grant, (value) => `token_params.grant_type ${value} is not served (the broker sends ${grant})`, result);
  dropRedundant(fields, 'refresh_params', 'grant_type', 'refresh_token', (value) => `refresh_params.grant_type ${value} is not served`, result);

  const authMethod = fields['token_request_auth_method'];
  if (authMethod === 'custom' || authMethod === 'private_key_jwt') result.skipReasons.push(`token_request_auth_method ${authMethod} is not implemented`);
  if (fields['body_format'] === 'xml') result.skipReasons.push('body_format xml is not implemented');

  adaptConnectionConfig(fields, nango, result);
  if (nango) result.skipReasons.push(...unservedTemplates(fields));
  return result;
}

function isInEffect(value: unknown): boolean {
  if (value === false || value === undefined) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isPlainObject(value)) return Object.keys(value).length > 0;
  return true;
}

/** Nango writes some parameter values as YAML booleans or numbers (`force_verify: true`); the request carries their text. */
function scalarsAsStrings(map: unknown): unknown {
  if (!isPlainObject(map)) return map;
  return Object.fromEntries(Object.entries(map).map(([name, value]) => [name, typeof value === 'number' || typeof value === 'boolean' ? String(value) : value]));
}

/** Drops `map.name` when it says what the broker sends anyway; any other string value makes the entry unservable. */
function dropRedundant(fields: Record<string, unknown>, map: string, name: string, expected: string, reason: (value: string) => string, result: AdaptedEntry): void {
  const params = fields[map];
  if (!isPlainObject(params) || !Object.hasOwn(params, name)) return;
  const value = params[name];
  if (typeof value !== 'string') return; // the schema reports the type
  if (value !== expected) result.skipReasons.push(reason(value));
  const { [name]: _dropped, ...rest } = params;
  fields[map] = rest;
}

function adaptConnectionConfig(fields: Record<string, unknown>, nango: boolean, result: AdaptedEntry): void {
  const config = fields['connection_config'];
  if (!isPlainObject(config)) return;
  const adapted: Record<string, unknown> = {};
  for (const [name, parameter] of Object.entries(config)) {
    if (nango && !CONNECTION_CONFIG_KEY.test(name)) {
      result.skipReasons.push(`connection_config parameter name ${JSON.stringify(name)} is not supported (letters, digits, "_" or "-", starting with a letter)`);
    }
    if (!isPlainObject(parameter)) {
      adapted[name] = parameter;
      continue;
    }
    const copy = { ...parameter };
    for (const key of FORM_ONLY_PARAMETER_KEYS) delete copy[key];
    // Nango fills an `automated` parameter itself (from the callback or a script): no person types it in.
    if (copy['automated'] === true && copy['optional'] === undefined) copy['optional'] = true;
    delete copy['automated'];
    if (copy['secret'] === true) {
      result.skipReasons.push(`connection_config.${name} is secret; the broker keeps connection values in plain text, visible to admin reads`);
    }
    delete copy['secret'];
    adapted[name] = copy;
  }
  fields['connection_config'] = adapted;
}

/** Why the entry's templates cannot be filled by the broker (Nango-only syntax); empty when they can. */
function unservedTemplates(fields: Record<string, unknown>): string[] {
  const reasons = new Set<string>();
  const declared = isPlainObject(fields['connection_config']) ? fields['connection_config'] : {};
  const fromResponse = new Set(Array.isArray(fields['token_response_metadata']) ? fields['token_response_metadata'] : []);
  const check = (field: string, template: unknown) => {
    if (typeof template !== 'string') return;
    if (template.includes('||')) reasons.add(`${field} uses a "||" fallback, which is not implemented`);
    for (const match of template.matchAll(PLACEHOLDER)) {
      const name = match[1] ?? '';
      const key = FILLABLE_CONNECTION_CONFIG.exec(name)?.[1];
      if (key === undefined) reasons.add(`${field} uses \${${name.slice(0, 60)}}, which the broker does not fill`);
      else if (!Object.hasOwn(declared, key) && fromResponse.has(key)) {
        reasons.add(`${field} uses \${connectionConfig.${key}}, which Nango fills from the token response and the broker does not`);
      }
    }
  };
  for (const field of URL_FIELDS) check(field, fields[field]);
  for (const field of VALUE_MAP_FIELDS) {
    const map = fields[field];
    if (isPlainObject(map)) for (const [name, value] of Object.entries(map)) check(`${field}.${name}`, value);
  }
  return [...reasons];
}
