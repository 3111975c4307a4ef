/**
 * The provider catalogue: the built-in entries (edited in `catalogue.yaml`, shipped as
 * `catalogue.generated.ts` so a Lambda bundle reads no file), the operator's own file
 * (`BROKER_PROVIDERS_FILE`), and programmatic overrides, merged and validated once.
 *
 * Layers merge by provider key, field by field: objects are merged recursively (change one URL
 * inside `revocation`, one property of one `connection_config` parameter), lists and scalars
 * replace the earlier value, and `null` removes it at any depth. `extends` is resolved with
 * the same merge (the parent's merged entry under the child's). Then every entry is checked
 * against `providerSchema` and a few cross-field rules, and all problems are reported together,
 * one line each, naming the layer that supplied the offending field.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BrokerError } from '../errors';
import { BUILTIN_CATALOGUE } from './catalogue.generated';
import { logger } from '../logger';
import { issuerTemplateClaims } from './issuer';
import { findProvider } from './lookup';
import { adaptEntry, translateLayerEntry } from './nango';
import { providerSchema, type Catalogue, type Provider, type ProviderDefinition, type ProviderInput, type SkippedProvider } from './schema';
import { templatePlaceholders } from './template';
import { hostPlaceholders } from './url-positions';

// Kept importable from here; it lives apart so Lambda handlers can use it without loading zod.
export { validateConnectionConfig } from './connection-config';
import { isPlainObject } from '../plain-object';
import { fullMatch } from './connection-config';
import { deepFreeze } from './builtin';
import { PROVIDER_KEY_PATTERN } from './lookup';

/** Where the built-in entries are edited; named in error messages. */
export const BUILTIN_CATALOGUE_SOURCE = 'lib/providers/catalogue.yaml';

export { PROVIDER_KEY_PATTERN };

/** A `connection_config` parameter name, as `${connectionConfig.<name>}` can reference it. */
const CONNECTION_CONFIG_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** One source of catalogue entries: a mapping of provider key to (partial) entry. */
export interface CatalogueLayer {
  /** Named in error messages: a file path, or a label for programmatic input. */
  source: string;
  entries: unknown;
}

export interface LoadCatalogueOptions {
  /** Where `BROKER_PROVIDERS_FILE` is read from; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Applied last, field by field (the local runtime points `sandbox` at the port it really started on). */
  overrides?: Record<string, Partial<ProviderInput>>;
  /** Bypass the per-file memo (tests, or after the file changed). */
  fresh?: boolean;
}

/** Who supplied a field: the layer, and the provider it was inherited from when that is not the entry itself. */
interface FieldOrigin {
  source: string;
  provider: string;
}

interface RawEntry {
  /** The layer that first defined this key. */
  source: string;
  /** Fields as merged so far; `null` = explicitly removed (kept until `extends` is resolved). */
  fields: Record<string, unknown>;
  /** Who supplied each field, by dotted path (`revocation.url`); a problem names its longest recorded prefix. */
  origin: Map<string, FieldOrigin>;
  /** Some layer wrote this entry in Nango's format (nango.ts). */
  nango: boolean;
  /** Problem lines found while translating a layer's entry (nango.ts step 1). */
  layerProblems: string[];
}

const OVERRIDES_SOURCE = 'loadCatalogue overrides';

// Catalogues are memoised per user file so a warm Lambda does not re-read and re-validate.
const memo = new Map<string, Catalogue>();

/** What became of one catalogue key: loaded, skipped (with why), or invalid (with its problem lines). */
export type CatalogueEntryReport = {
  key: string;
  /** The layer that first defined the key. */
  source: string;
  /** `nango` when the entry (or one it extends) has a field only Nango's format has. */
  format: 'nango' | 'broker';
} & (
  | { status: 'loaded'; provider: Provider; ignored: string[]; notes: string[] }
  | { status: 'skipped'; reason: string }
  | { status: 'invalid'; problems: string[] }
);

/** The served entries by key, and the skipped ones with their reasons. */
export class LoadedCatalogue extends Map<string, Provider> implements Catalogue {
  readonly skipped = new Map<string, SkippedProvider>();
}

export interface CatalogueInspection {
  catalogue: LoadedCatalogue;
  entries: CatalogueEntryReport[];
  /** Every problem line, in order; non-empty = the catalogue must not be used. */
  problems: string[];
  /** The problems that belong to no entry (a layer that is not a mapping, an entry that is not a mapping). */
  layerProblems: string[];
}

/** Validates one catalogue mapping (`source` is named in errors); throws `configuration_error` listing every problem. */
export function parseCatalogue(raw: unknown, source: string): LoadedCatalogue {
  return parseCatalogueLayers([{ source, entries: raw }]);
}

/** Merges layers (later wins, field by field), resolves `extends`, validates; throws `configuration_error` listing every problem. */
export function parseCatalogueLayers(layers: readonly CatalogueLayer[]): LoadedCatalogue {
  const { catalogue, problems } = inspectCatalogueLayers(layers);
  if (problems.length > 0) {
    throw new BrokerError('configuration_error', problems.join('\n'), { details: { problems: problems.length } });
  }
  return catalogue;
}

/** Like `parseCatalogueLayers`, but reports what became of every key instead of throwing (the check command). */
export function inspectCatalogueLayers(layers: readonly CatalogueLayer[]): CatalogueInspection {
  const layerProblems: string[] = [];
  const merged = mergeLayers(layers, layerProblems);
  const problems = [...layerProblems];
  const catalogue = new LoadedCatalogue();
  const entries: CatalogueEntryReport[] = [];

  for (const [key, entry] of merged) {
    const lines: string[] = [...entry.layerProblems];
    const report = (field: string | undefined, message: string, resolvedEntry?: RawEntry) => lines.push(problemLine(key, resolvedEntry ?? entry, field, message));
    const outcome = inspectEntry(key, entry, merged, report);
    const base = { key, source: entry.source, format: outcome.nango ? ('nango' as const) : ('broker' as const) };
    if (lines.length > 0 || outcome.kind === 'invalid') {
      problems.push(...lines);
      entries.push({ ...base, status: 'invalid', problems: lines });
    } else if (outcome.kind === 'skipped') {
      const displayName = outcome.displayName;
      catalogue.skipped.set(key, { key, reason: outcome.reason, ...(displayName !== undefined ? { display_name: displayName } : {}) });
      entries.push({ ...base, status: 'skipped', reason: outcome.reason });
    } else {
      catalogue.set(key, outcome.provider);
      entries.push({ ...base, status: 'loaded', provider: outcome.provider, ignored: outcome.ignored, notes: outcome.notes });
    }
  }
  return { catalogue, entries, problems, layerProblems };
}

type EntryOutcome = { nango: boolean } & (
  | { kind: 'loaded'; provider: Provider; ignored: string[]; notes: string[] }
  | { kind: 'skipped'; reason: string; displayName?: string }
  | { kind: 'invalid' }
);

function inspectEntry(
  key: string,
  entry: RawEntry,
  merged: Map<string, RawEntry>,
  report: (field: string | undefined, message: string, resolvedEntry?: RawEntry) => void,
): EntryOutcome {
  if (!PROVIDER_KEY_PATTERN.test(key)) {
    report(undefined, 'the key must be 1-63 lowercase letters, digits or hyphens, not starting with a hyphen');
    return { kind: 'invalid', nango: entry.nango };
  }
  const resolved = resolveExtends(key, merged);
  if ('error' in resolved) {
    report('extends', resolved.error);
    return { kind: 'invalid', nango: entry.nango };
  }
  const { nango } = resolved.entry;
  const adapted = adaptEntry(withoutRemovedFields(resolved.entry.fields), nango);
  if (adapted.skipReasons.length > 0) {
    // Never validated further, so a typo must still be caught here.
    for (const field of adapted.unknownFields) report(field, 'unknown field', resolved.entry);
    for (const [field, message] of adapted.problems) report(field, message, resolved.entry);
    const displayName = adapted.fields['display_name'];
    return { kind: 'skipped', nango, reason: adapted.skipReasons.join('; '), ...(typeof displayName === 'string' ? { displayName } : {}) };
  }

  const input = adapted.fields;
  const parsed = providerSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const unknownKey of issue.keys) report(formatPath([...issue.path, unknownKey]), 'unknown field', resolved.entry);
      } else {
        const message = valueAt(input, issue.path) === undefined ? 'is required' : issue.message;
        report(formatPath(issue.path), message, resolved.entry);
      }
    }
    return { kind: 'invalid', nango };
  }
  const ruleProblems = crossFieldProblems(parsed.data);
  for (const [field, message] of ruleProblems) report(field, message, resolved.entry);
  if (ruleProblems.length > 0) return { kind: 'invalid', nango };

  const provider = deepFreeze({ ...parsed.data, key, secret_name: parsed.data.secret_name ?? key });
  return { kind: 'loaded', nango, provider, ignored: adapted.ignored, notes: adapted.notes };
}

/** One problem line, naming the layer that supplied the offending field (or defined the provider). */
function problemLine(key: string, entry: Pick<RawEntry, 'source' | 'origin'>, field: string | undefined, message: string): string {
  const origin = field === undefined ? undefined : originOf(entry, field);
  const source = origin?.source ?? entry.source;
  const inherited = origin !== undefined && origin.provider !== key ? ` (inherited from "${origin.provider}")` : '';
  const where = field === undefined ? '' : ` field "${field}":`;
  return `Provider catalogue ${source}: provider ${JSON.stringify(key)}:${where} ${message}${inherited}`;
}

/**
 * Loads the built-in catalogue, then `BROKER_PROVIDERS_FILE` (YAML or JSON), then `overrides`.
 * Each skipped entry is logged once, as one warning line naming the provider and why.
 */
export function loadCatalogue(options: LoadCatalogueOptions = {}): Catalogue {
  const env = options.env ?? process.env;
  const file = env['BROKER_PROVIDERS_FILE']?.trim() || undefined;
  // Overrides are per caller (a port chosen at start-up), so a catalogue built with them is never shared.
  const memoKey = options.overrides === undefined && options.fresh !== true ? (file ? path.resolve(file) : '') : undefined;
  const cached = memoKey === undefined ? undefined : memo.get(memoKey);
  if (cached) return cached;

  const layers: CatalogueLayer[] = [{ source: BUILTIN_CATALOGUE_SOURCE, entries: BUILTIN_CATALOGUE }];
  if (file) layers.push({ source: file, entries: readCatalogueFile(file) });
  if (options.overrides) layers.push({ source: OVERRIDES_SOURCE, entries: options.overrides });

  const catalogue = parseCatalogueLayers(layers);
  for (const skipped of catalogue.skipped.values()) {
    logger.warn(`Provider catalogue: provider ${JSON.stringify(skipped.key)} skipped: ${skipped.reason}`, { provider: skipped.key });
  }
  if (memoKey !== undefined) memo.set(memoKey, catalogue);
  return catalogue;
}

/** The entry for `key`; `provider_not_supported` for a skipped entry, else `unknown_provider` naming the known keys. */
export function getProvider(catalogue: Catalogue, key: string): Provider {
  return findProvider(catalogue, key);
}

// ---------------------------------------------------------------------------
// Layers and `extends`

function mergeLayers(layers: readonly CatalogueLayer[], problems: string[]): Map<string, RawEntry> {
  const merged = new Map<string, RawEntry>();
  for (const layer of layers) {
    if (layer.entries === null || layer.entries === undefined) continue; // an empty file adds nothing
    if (!isPlainObject(layer.entries)) {
      problems.push(`Provider catalogue ${layer.source}: must be a mapping of provider key to provider entry`);
      continue;
    }
    for (const [key, entry] of Object.entries(layer.entries)) {
      if (!isPlainObject(entry)) {
        problems.push(`Provider catalogue ${layer.source}: provider ${JSON.stringify(key)}: must be a mapping of fields`);
        continue;
      }
      const translated = translateLayerEntry(entry);
      const target: RawEntry = merged.get(key) ?? { source: layer.source, fields: {}, origin: new Map(), nango: false, layerProblems: [] };
      for (const [field, message] of translated.problems) {
        target.layerProblems.push(problemLine(key, { source: layer.source, origin: new Map() }, field, message));
      }
      mergeFields(target, translated.fields, originsOf(translated.fields, { source: layer.source, provider: key }));
      target.nango ||= translated.nango;
      merged.set(key, target);
    }
  }
  return merged;
}

/**
 * Merges `over` into `target.fields`: objects recursively, anything else (lists, scalars,
 * `null`) replaces. `undefined` means "not given" (TypeScript overrides). The origins of what
 * `over` brought replace the origins of what it replaced.
 */
function mergeFields(target: RawEntry, over: Record<string, unknown>, overOrigin: ReadonlyMap<string, FieldOrigin>): void {
  const merge = (into: Record<string, unknown>, from: Record<string, unknown>, prefix: string) => {
    for (const [field, value] of Object.entries(from)) {
      if (value === undefined) continue;
      const at = prefix === '' ? field : `${prefix}.${field}`;
      const current = Object.hasOwn(into, field) ? into[field] : undefined;
      if (isPlainObject(value) && isPlainObject(current)) {
        merge(current, value, at);
        continue;
      }
      // defineProperty: a key named `__proto__` must stay an ordinary (reported) field.
      Object.defineProperty(into, field, { value: structuredClone(value), enumerable: true, writable: true, configurable: true });
      for (const recorded of [...target.origin.keys()]) if (recorded === at || recorded.startsWith(`${at}.`)) target.origin.delete(recorded);
      for (const [path, origin] of overOrigin) if (path === at || path.startsWith(`${at}.`)) target.origin.set(path, origin);
    }
  };
  merge(target.fields, over, '');
}

/** Every path in `entry` (objects and leaves), supplied by `origin`. */
function originsOf(entry: Record<string, unknown>, origin: FieldOrigin): Map<string, FieldOrigin> {
  const origins = new Map<string, FieldOrigin>();
  const walk = (node: Record<string, unknown>, prefix: string) => {
    for (const [field, value] of Object.entries(node)) {
      const at = prefix === '' ? field : `${prefix}.${field}`;
      origins.set(at, origin);
      if (isPlainObject(value)) walk(value, at);
    }
  };
  walk(entry, '');
  return origins;
}

/** Who supplied `field` (a dotted path): its longest recorded prefix. */
function originOf(entry: Pick<RawEntry, 'origin'>, field: string): FieldOrigin | undefined {
  for (let at = field; at !== ''; at = at.includes('.') ? at.slice(0, at.lastIndexOf('.')) : '') {
    const origin = entry.origin.get(at);
    if (origin !== undefined) return origin;
  }
  return undefined;
}

/** The entry with its `extends` chain folded in (root ancestor first, so nearer entries win), by the layers' merge. */
function resolveExtends(key: string, merged: Map<string, RawEntry>): { entry: RawEntry } | { error: string } {
  const chain = [key];
  for (;;) {
    const current = chain[chain.length - 1] as string;
    const parent = merged.get(current)?.fields['extends'];
    // A non-string `extends` is left to the schema, which reports its type.
    if (typeof parent !== 'string') break;
    if (!merged.has(parent)) {
      return { error: current === key ? `unknown provider "${parent}"` : `"${current}" extends unknown provider "${parent}"` };
    }
    if (chain.includes(parent)) return { error: `extends cycle: ${[...chain, parent].join(' -> ')}` };
    chain.push(parent);
  }
  const own = merged.get(key) as RawEntry;
  const entry: RawEntry = { source: own.source, fields: {}, origin: new Map(), nango: false, layerProblems: [] };
  for (const ancestor of chain.reverse()) {
    const layer = merged.get(ancestor) as RawEntry;
    mergeFields(entry, layer.fields, layer.origin);
    entry.nango ||= layer.nango;
  }
  return { entry };
}

/** The fields without the ones set to `null` (removed), at any depth. */
function withoutRemovedFields(fields: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(fields)) {
    if (value === null) continue;
    Object.defineProperty(kept, field, { value: isPlainObject(value) ? withoutRemovedFields(value) : value, enumerable: true, writable: true, configurable: true });
  }
  return kept;
}

// ---------------------------------------------------------------------------
// Rules the schema cannot express field by field

const URL_FIELDS = ['authorization_url', 'token_url', 'refresh_url'] as const;
/** Parameter and header maps whose values may use `${connectionConfig.<name>}` too. */
const VALUE_MAP_FIELDS = ['authorization_params', 'token_params', 'refresh_params', 'token_headers'] as const;

function crossFieldProblems(definition: ProviderDefinition): Array<[field: string, message: string]> {
  const problems: Array<[string, string]> = [];

  if (definition.auth_mode === 'OAUTH2' && definition.authorization_url === undefined) {
    problems.push(['authorization_url', 'is required when auth_mode is OAUTH2']);
  }
  if (definition.refresh_policy === 'keep_alive' && definition.keep_alive_s === undefined) {
    problems.push(['keep_alive_s', 'is required when refresh_policy is keep_alive']);
  }

  for (const [name, field] of Object.entries(definition.connection_config)) {
    if (!CONNECTION_CONFIG_KEY_PATTERN.test(name)) {
      problems.push([`connection_config.${name}`, 'parameter names must start with a letter and use letters, digits, "_" or "-"']);
    }
    if (field.pattern !== undefined) {
      try {
        fullMatch(field.pattern);
      } catch {
        problems.push([`connection_config.${name}.pattern`, 'is not a valid regular expression']);
      }
    }
  }

  const checkTemplate = (field: string, template: string, tokenAllowed: boolean, isUrl = true) => {
    for (const placeholder of templatePlaceholders(template)) {
      if (placeholder.kind === 'unknown') {
        problems.push([field, `unknown placeholder ${placeholder.text} (use \${connectionConfig.<name>}${tokenAllowed ? ' or ${token}' : ''})`]);
      } else if (placeholder.kind === 'token') {
        if (!tokenAllowed) problems.push([field, '${token} is only allowed in revocation.url']);
        else if (placeholder.atStart) problems.push([field, '${token} cannot start a URL']);
      } else if (!Object.hasOwn(definition.connection_config, placeholder.key)) {
        problems.push([field, `\${connectionConfig.${placeholder.key}} is not declared in connection_config`]);
      } else if (isUrl && placeholder.atStart && !/^\$\{[^}]*\}(?:\/|$)/.test(template)) {
        // The base URL is inserted without a trailing slash: `${base}token` would change its host or last segment.
        problems.push([field, 'a placeholder that starts a URL must be followed by "/"']);
      }
    }
  };
  for (const field of URL_FIELDS) {
    const template = definition[field];
    if (template !== undefined) checkTemplate(field, template, false);
  }
  for (const field of VALUE_MAP_FIELDS) {
    for (const [name, template] of Object.entries(definition[field])) checkTemplate(`${field}.${name}`, template, false, false);
  }

  const revocation = definition.revocation;
  if (revocation !== undefined) {
    checkTemplate('revocation.url', revocation.url, true);
    const hasTokenPlaceholder = templatePlaceholders(revocation.url).some((p) => p.kind === 'token');
    if (revocation.token_in === 'path' && !hasTokenPlaceholder) {
      problems.push(['revocation.url', 'must contain ${token} when revocation.token_in is "path"']);
    }
    if (revocation.token_in !== 'path' && hasTokenPlaceholder) {
      problems.push(['revocation.token_in', 'must be "path" when revocation.url contains ${token}']);
    }
    // A call that names no token revokes the one it authenticates with: that must be the access token.
    const selfAuthenticating = revocation.auth === 'bearer_access_token' || revocation.auth === 'access_token_header';
    if (revocation.token_in === 'none' && (revocation.token !== 'access_token' || !selfAuthenticating)) {
      problems.push(['revocation.token_in', '"none" revokes the token the call authenticates with: set token: access_token and auth: bearer_access_token or access_token_header']);
    }
    if (revocation.auth === 'access_token_header' && revocation.auth_header === undefined) {
      problems.push(['revocation.auth_header', 'is required when revocation.auth is "access_token_header"']);
    }
    for (const [name, template] of Object.entries(revocation.headers)) checkTemplate(`revocation.headers.${name}`, template, false, false);
  }

  if (definition.tenant_request !== undefined) {
    checkTemplate('tenant_request.url', definition.tenant_request.url, false);
    for (const [name, template] of Object.entries(definition.tenant_request.headers)) checkTemplate(`tenant_request.headers.${name}`, template, false, false);
  }

  problems.push(...oidcProblems(definition));
  problems.push(...tenantSourceProblems(definition));

  const metadata = new Set(definition.token_response_metadata);
  for (const [index, field] of definition.tenant_fields.entries()) {
    if (!metadata.has(field)) problems.push([`tenant_fields.${index}`, `"${field}" must also be listed in token_response_metadata`]);
  }
  return problems;
}

/**
 * Where an entry finds the account and the values the provider decides: each source must be one
 * the person at the browser cannot choose (docs/security.md), or be held to the provider's hosts.
 */
function tenantSourceProblems(definition: ProviderDefinition): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  const codeFlowOnly = (field: string) => {
    if (definition.auth_mode !== 'OAUTH2') problems.push([field, 'only applies to auth_mode OAUTH2 (there is no code exchange or callback otherwise)']);
  };
  if (definition.tenant_pattern !== undefined) {
    let groups = -1;
    try {
      // A pattern with a capture group matches the empty string's alternative only when it has one: count them that way.
      groups = (new RegExp(`${definition.tenant_pattern}|`).exec('')?.length ?? 1) - 1;
    } catch {
      problems.push(['tenant_pattern', 'is not a valid regular expression']);
    }
    if (groups === 0) problems.push(['tenant_pattern', 'needs a capture group: the account id is what it captures']);
    if (definition.tenant_fields.length === 0) problems.push(['tenant_pattern', 'applies to the tenant_fields value: list tenant_fields']);
  }
  const hostKey = definition.tenant_connection_config;
  if (hostKey !== undefined) {
    if (!Object.hasOwn(definition.connection_config, hostKey)) {
      problems.push(['tenant_connection_config', `"${hostKey}" is not declared in connection_config`]);
    } else if (!hostPlaceholders(definition.token_url).some((p) => p.key === hostKey)) {
      // Only a value that decides where the code is redeemed is proven by a successful exchange.
      problems.push(['tenant_connection_config', `\${connectionConfig.${hostKey}} must be in the host of token_url: only then does the code exchange prove it`]);
    }
  }
  if (definition.tenant_request !== undefined) {
    codeFlowOnly('tenant_request');
    if (definition.tenant_request.list_path === undefined && Object.keys(definition.tenant_request.filter).length > 0) {
      problems.push(['tenant_request.filter', 'filters listed items: set tenant_request.list_path']);
    }
  }
  if (definition.callback_metadata.length > 0) codeFlowOnly('callback_metadata');
  for (const [name, field] of Object.entries(definition.connection_config)) {
    if (field.callback_param === undefined) continue;
    codeFlowOnly(`connection_config.${name}.callback_param`);
    if (field.token_response_path !== undefined) {
      problems.push([`connection_config.${name}`, 'takes its value from the token response or the callback, not both']);
    }
    if (field.enum === undefined && field.pattern === undefined) {
      // The person can edit the callback's query: without a list of the provider's own hosts, they would choose where the secret goes.
      problems.push([`connection_config.${name}.callback_param`, 'needs an enum or pattern on the parameter: the callback query is the person\'s to edit']);
    }
  }
  return problems;
}

/** The issuer block: a templated issuer cannot be discovered (whose configuration?), so it names its keys. */
function oidcProblems(definition: ProviderDefinition): Array<[string, string]> {
  const oidc = definition.oidc;
  if (oidc === undefined) return [];
  const problems: Array<[string, string]> = [];
  if (definition.auth_mode !== 'OAUTH2') problems.push(['oidc', 'only applies to auth_mode OAUTH2 (there is no callback or id_token otherwise)']);
  if (issuerTemplateClaims(oidc.issuer).length > 0 && oidc.jwks_uri === undefined) {
    problems.push(['oidc.jwks_uri', 'is required when oidc.issuer is a template ({claim}): there is no single discovery document']);
  }
  return problems;
}

// ---------------------------------------------------------------------------
// The operator's file

/** Reads a providers file (YAML, or JSON by its extension); `configuration_error` naming the file when it cannot. */
export function readCatalogueFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new BrokerError('configuration_error', `Provider catalogue ${file}: cannot read the file (${reason}), named by BROKER_PROVIDERS_FILE`, {
      cause: err,
    });
  }
  try {
    // YAML 1.2 reads JSON too, but JSON.parse gives JSON files the errors their authors expect.
    return file.toLowerCase().endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const reason = err instanceof Error ? (err.message.split('\n')[0] ?? '') : '';
    const format = file.toLowerCase().endsWith('.json') ? 'JSON' : 'YAML';
    throw new BrokerError('configuration_error', `Provider catalogue ${file}: not valid ${format}: ${reason}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------
// Small helpers

function formatPath(issuePath: ReadonlyArray<PropertyKey>): string {
  return issuePath.map(String).join('.');
}

function valueAt(root: unknown, issuePath: ReadonlyArray<PropertyKey>): unknown {
  let current = root;
  for (const segment of issuePath) {
    if (!isPlainObject(current) && !Array.isArray(current)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}
