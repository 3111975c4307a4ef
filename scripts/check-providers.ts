/**
 * Checks a providers file before it is deployed, with the real loader (built-in entries first,
 * then the file, exactly as BROKER_PROVIDERS_FILE is read at start):
 *
 *   npm run providers:check FILE
 *
 * Prints which entries load (with the authorize URL each would build, for a placeholder client
 * id and redirect URI, connection values shown as `<name>`), which are skipped and why, and every
 * problem that would stop the start. Exit code 1 when the file is malformed, 2 on bad usage.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isBrokerError } from '../lib/errors';
import { buildAuthorizationUrl } from '../lib/oauth/authorize';
import { buildTokenRequest } from '../lib/oauth/token-endpoint';
import { BUILTIN_CATALOGUE_SOURCE, inspectCatalogueLayers, readCatalogueFile, type CatalogueEntryReport } from '../lib/providers/catalogue';
import { BUILTIN_CATALOGUE } from '../lib/providers/catalogue.generated';
import type { Provider } from '../lib/providers/schema';
import { templatePlaceholders } from '../lib/providers/template';

export interface CheckReport {
  text: string;
  exitCode: 0 | 1;
}

const CLIENT = { client_id: '<client_id>', client_secret: '<client_secret>' };

/** The report for `file`; never throws for a bad file (that is what the report is for). */
export function checkProvidersFile(file: string): CheckReport {
  let raw: unknown;
  try {
    raw = readCatalogueFile(file);
  } catch (err) {
    return { text: `${isBrokerError(err) ? err.message : String(err)}\n`, exitCode: 1 };
  }
  const inspection = inspectCatalogueLayers([
    { source: BUILTIN_CATALOGUE_SOURCE, entries: BUILTIN_CATALOGUE },
    { source: file, entries: raw },
  ]);
  const fileKeys = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? Object.keys(raw) : [];
  const builtinKeys = new Set(Object.keys(BUILTIN_CATALOGUE));
  const byKey = new Map(inspection.entries.map((entry) => [entry.key, entry]));

  const lines: string[] = [`Providers file ${file}: ${fileKeys.length} entries, read over the ${builtinKeys.size} built-in ones`, ''];
  const counts = { loaded: 0, skipped: 0, invalid: 0 };
  for (const key of fileKeys) {
    const entry = byKey.get(key);
    if (entry === undefined) continue; // a non-mapping entry: reported among the problems below
    counts[entry.status] += 1;
    lines.push(...describeEntry(entry, builtinKeys.has(key)), '');
  }
  if (inspection.layerProblems.length > 0) lines.push(...inspection.layerProblems, '');
  lines.push(`${counts.loaded} load, ${counts.skipped} skipped, ${counts.invalid} invalid${inspection.problems.length > 0 ? ': the broker would not start with this file' : ''}`);
  return { text: `${lines.join('\n')}\n`, exitCode: inspection.problems.length > 0 ? 1 : 0 };
}

function describeEntry(entry: CatalogueEntryReport, overBuiltin: boolean): string[] {
  const format = entry.format === 'nango' ? "Nango's format" : "the broker's format";
  const merged = overBuiltin ? ', merged over the built-in entry' : '';
  switch (entry.status) {
    case 'skipped':
      return [`skipped  ${entry.key}  (${format})`, `  why:       ${entry.reason}`];
    case 'invalid':
      return [`INVALID  ${entry.key}`, ...entry.problems.map((line) => `  ${line}`)];
    case 'loaded': {
      const { provider } = entry;
      const out = [`loads    ${entry.key}  ${provider.auth_mode}  (${format}${merged}${provider.extends ? `, extends ${provider.extends}` : ''})`];
      const shown = exampleValues(provider);
      try {
        if (provider.auth_mode === 'OAUTH2') out.push(`  authorize: ${shown.display(authorizeUrl(provider, shown.values))}`);
        for (const [label, request] of tokenRequests(provider, shown.values)) {
          out.push(`  ${label.padEnd(10)} ${request.method} ${shown.display(request.url.href)} (${request.body === undefined ? 'query' : provider.body_format}, ${provider.token_request_auth_method})`);
        }
      } catch (err) {
        // A connection value in a URL's host must match the entry's pattern, which a stand-in value
        // may not: show the templates as written, and the rule that will apply to real values.
        if (!isBrokerError(err, 'invalid_request')) throw err;
        const field = String(err.details['field'] ?? 'connection_config');
        const rule = /no value is accepted/.test(err.message) ? err.message : `${field} decides where requests go: real values must match its pattern`;
        out.push(...templateLines(provider), `  note:      ${rule}`);
      }
      if (entry.ignored.length > 0) out.push(`  ignored:   ${entry.ignored.join(', ')}`);
      for (const note of entry.notes) out.push(`  note:      ${note}`);
      return out;
    }
  }
}

function authorizeUrl(provider: Provider, connectionConfig: Record<string, string>): string {
  const scopes = provider.default_scopes;
  return buildAuthorizationUrl(provider, {
    clientId: CLIENT.client_id,
    redirectUri: `https://broker.example.com/oauth/${provider.key}/callback`,
    state: '<state>',
    scopes,
    optionalScopes: provider.default_optional_scopes,
    codeChallenge: '<pkce_challenge>',
    connectionConfig,
  }).href;
}

function tokenRequests(provider: Provider, connectionConfig: Record<string, string>): Array<[string, ReturnType<typeof buildTokenRequest>]> {
  if (provider.auth_mode === 'OAUTH2_CC') {
    return [['token:', buildTokenRequest(provider, CLIENT, { grant_type: 'client_credentials', scopes: provider.default_scopes }, connectionConfig)]];
  }
  const requests: Array<[string, ReturnType<typeof buildTokenRequest>]> = [
    ['token:', buildTokenRequest(provider, CLIENT, { grant_type: 'authorization_code', code: '<code>', redirectUri: 'https://broker.example.com/cb' }, connectionConfig)],
  ];
  if (provider.refresh_url !== undefined) {
    requests.push(['refresh:', buildTokenRequest(provider, CLIENT, { grant_type: 'refresh_token', refreshToken: '<refresh_token>' }, connectionConfig)]);
  }
  return requests;
}

/** The URL templates as written, placeholders shown as `<name>`, when stand-in values cannot build them. */
function templateLines(provider: Provider): string[] {
  const shown = (template: string) => template.replace(/\$\{connectionConfig\.([A-Za-z0-9_-]+)\}/g, '<$1>');
  const encoding = provider.token_request_method === 'GET' || provider.body_format === 'query' ? 'query' : provider.body_format;
  const lines: string[] = [];
  if (provider.auth_mode === 'OAUTH2' && provider.authorization_url !== undefined) lines.push(`  authorize: ${shown(provider.authorization_url)}`);
  lines.push(`  token:     ${provider.token_request_method} ${shown(provider.token_url)} (${encoding}, ${provider.token_request_auth_method})`);
  if (provider.refresh_url !== undefined) lines.push(`  refresh:   ${provider.token_request_method} ${shown(provider.refresh_url)} (${encoding}, ${provider.token_request_auth_method})`);
  return lines;
}

/**
 * Stand-in connection values the real URL builder accepts (a label, or a whole base URL where a
 * template starts with the placeholder), and how to show them as `<name>` afterwards.
 */
function exampleValues(provider: Provider): { values: Record<string, string>; display: (url: string) => string } {
  const templates = [provider.authorization_url, provider.token_url, provider.refresh_url].filter((t): t is string => t !== undefined);
  const values: Record<string, string> = {};
  const shownAs = new Map<string, string>();
  Object.keys(provider.connection_config).forEach((name, index) => {
    const isBase = templates.some((template) => templatePlaceholders(template).some((p) => p.kind === 'connectionConfig' && p.key === name && p.atStart));
    const value = isBase ? `https://example-${index}.invalid` : `example-value-${index}`;
    values[name] = value;
    shownAs.set(value, `<${name}>`);
    shownAs.set(encodeURIComponent(value), `<${name}>`);
  });
  const display = (url: string) => {
    let text = url.replace(/%3C/g, '<').replace(/%3E/g, '>');
    for (const [value, label] of shownAs) text = text.split(value).join(label);
    return text;
  };
  return { values, display };
}

function main(args: string[]): number {
  const file = args[0] ?? process.env['BROKER_PROVIDERS_FILE'];
  if (file === undefined || file === '' || args.length > 1) {
    console.error('usage: npm run providers:check FILE   (a YAML or JSON providers file, as BROKER_PROVIDERS_FILE)');
    return 2;
  }
  const report = checkProvidersFile(file);
  process.stdout.write(report.text);
  return report.exitCode;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
