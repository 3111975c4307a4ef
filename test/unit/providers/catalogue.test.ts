import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { brokerError } from '../../support/errors';
import { getProvider, loadCatalogue, parseCatalogue, parseCatalogueLayers } from '../../../lib/providers/catalogue';
import { BUILTIN_CATALOGUE } from '../../../lib/providers/catalogue.generated';
import { builtinCatalogue } from '../../../lib/providers/builtin';
import { providerSchema } from '../../../lib/providers/schema';
import { CATALOGUE_GENERATED_PATH, CATALOGUE_YAML_PATH, PROVIDERS_GENERATED_PATH, readCatalogueYaml, renderBuiltinProviders, renderGeneratedCatalogue } from '../../../scripts/generate-catalogue';

const SOURCE = 'test.yaml';


const minimal = { display_name: 'Acme', auth_mode: 'OAUTH2', authorization_url: 'https://acme.test/authorize', token_url: 'https://acme.test/token' };

const tempDir = mkdtempSync(path.join(tmpdir(), 'catalogue-test-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));
function tempFile(name: string, text: string): string {
  const file = path.join(tempDir, name);
  writeFileSync(file, text);
  return file;
}

describe('built-in catalogue', () => {
  const catalogue = loadCatalogue({ env: {}, fresh: true });

  it('has the providers the product supports', () => {
    expect([...catalogue.keys()].sort()).toEqual(
      [
        ...['fracttal', 'fracttal-cc', 'highlevel', 'hubspot', 'leadconnector', 'marketo', 'rdstation', 'sandbox', 'sandbox-cc'],
        // issue 14
        ...['google', 'mailchimp', 'microsoft', 'notion', 'pipedrive', 'quickbooks', 'salesforce', 'shopify', 'slack', 'xero', 'zendesk', 'zoho'],
      ].sort(),
    );
  });

  it.each(Object.keys(BUILTIN_CATALOGUE))('entry %s passes the schema on its own (after extends)', (key) => {
    const entry = catalogue.get(key);
    expect(entry).toBeDefined();
    const { key: _key, ...definition } = entry!;
    expect(providerSchema.safeParse(definition).success).toBe(true);
    expect(entry!.docs).toMatch(/^https:\/\//);
  });

  it('fills key and defaults secret_name to the key', () => {
    expect(catalogue.get('hubspot')).toMatchObject({ key: 'hubspot', secret_name: 'hubspot' });
    expect(catalogue.get('leadconnector')?.secret_name).toBe('leadconnector');
    expect(catalogue.get('sandbox-cc')?.secret_name).toBe('sandbox');
  });

  it('hubspot: optional scopes, hub_id tenant, BAD_REFRESH_TOKEN, DELETE revocation with the token in the path', () => {
    const hubspot = getProvider(catalogue, 'hubspot');
    expect(hubspot.optional_scope_param).toBe('optional_scope');
    expect(hubspot.tenant_fields).toEqual(['hub_id']);
    expect(hubspot.dead_grant_errors).toEqual(expect.arrayContaining(['invalid_grant', 'BAD_REFRESH_TOKEN']));
    expect(hubspot.revocation).toEqual({
      url: 'https://api.hubapi.com/oauth/v1/refresh-tokens/${token}',
      method: 'DELETE',
      token: 'refresh_token',
      token_in: 'path',
      body_format: 'form',
      auth: 'none',
      headers: {},
      send_token_type_hint: false,
    });
  });

  it('highlevel: no PKCE, stateless marketplace callbacks, user_type and Version, 401 = dead grant, no revocation', () => {
    const highlevel = getProvider(catalogue, 'highlevel');
    expect(highlevel).toMatchObject({
      disable_pkce: true,
      allow_stateless_callback: true,
      token_params: { user_type: 'Location' },
      token_headers: { Version: '2021-07-28' },
      token_response_metadata: ['locationId', 'companyId', 'userType', 'userId'],
      tenant_fields: ['locationId', 'companyId'],
      dead_grant_statuses: [401],
    });
    expect(highlevel.dead_grant_errors).toContain('invalid_grant');
    expect(highlevel.revocation).toBeUndefined();
  });

  it('leadconnector: inherits highlevel and changes only the consent host', () => {
    const highlevel = getProvider(catalogue, 'highlevel');
    const leadconnector = getProvider(catalogue, 'leadconnector');
    expect(leadconnector.authorization_url).toBe('https://marketplace.leadconnectorhq.com/oauth/chooselocation');
    expect(leadconnector.extends).toBe('highlevel');
    const { key: _a, display_name: _b, authorization_url: _c, extends: _d, secret_name: _e, ...inherited } = leadconnector;
    const { key: _f, display_name: _g, authorization_url: _h, extends: _i, secret_name: _j, ...original } = highlevel;
    expect(inherited).toEqual(original);
  });

  it('rdstation: JSON body without grant_type, bearer and 24 h defaults, bearer-authenticated revocation', () => {
    const rdstation = getProvider(catalogue, 'rdstation');
    expect(rdstation).toMatchObject({
      body_format: 'json',
      omit_grant_type: true,
      default_token_type: 'bearer',
      default_expires_in: 86400,
      disable_pkce: true,
      revocation: { url: 'https://api.rd.services/auth/revoke', method: 'POST', auth: 'bearer_access_token', send_token_type_hint: true },
    });
    expect(rdstation.dead_grant_errors).toEqual(expect.arrayContaining(['invalid_grant', 'INVALID_REFRESH_TOKEN']));
  });

  it('marketo: client credentials by GET with a query string, per-instance identity URL', () => {
    const marketo = getProvider(catalogue, 'marketo');
    expect(marketo).toMatchObject({
      auth_mode: 'OAUTH2_CC',
      token_request_method: 'GET',
      body_format: 'query',
      token_url: '${connectionConfig.identity_url}/oauth/token',
      default_expires_in: 3600,
    });
    expect(marketo.connection_config['identity_url']?.pattern).toMatch(/^https:/);
  });

  it('fracttal: authorization code, and client credentials with HTTP Basic', () => {
    expect(getProvider(catalogue, 'fracttal')).toMatchObject({ auth_mode: 'OAUTH2', default_expires_in: 7200 });
    expect(getProvider(catalogue, 'fracttal-cc')).toMatchObject({ auth_mode: 'OAUTH2_CC', token_request_auth_method: 'basic' });
  });

  it('sandbox: PKCE on, refresh-token scopes, consent prompt, RFC 7009 revocation', () => {
    expect(getProvider(catalogue, 'sandbox')).toMatchObject({
      auth_mode: 'OAUTH2',
      disable_pkce: false,
      default_scopes: ['openid', 'offline_access', 'contacts.read'],
      authorization_params: { prompt: 'consent' },
      revocation: { url: 'http://127.0.0.1:3001/token/revocation', method: 'POST', auth: 'client_secret_post' },
    });
    expect(getProvider(catalogue, 'sandbox-cc')).toMatchObject({ auth_mode: 'OAUTH2_CC', token_url: 'http://127.0.0.1:3001/token' });
  });

  it('is frozen, so a memoised catalogue cannot be changed by one caller for all', () => {
    const hubspot = getProvider(catalogue, 'hubspot');
    expect(Object.isFrozen(hubspot)).toBe(true);
    expect(Object.isFrozen(hubspot.dead_grant_errors)).toBe(true);
  });
});

describe('builtin-providers.generated.ts (what Lambdas load without zod)', () => {
  it('is up to date with catalogue.yaml (run `npx tsx scripts/generate-catalogue.ts` if this fails)', () => {
    expect(readFileSync(PROVIDERS_GENERATED_PATH, 'utf8')).toBe(renderBuiltinProviders(loadCatalogue({ env: {}, fresh: true })));
  });

  it('is exactly the validated catalogue, frozen', () => {
    const builtin = builtinCatalogue();
    expect([...builtin.keys()]).toEqual([...loadCatalogue({ env: {}, fresh: true }).keys()]);
    for (const [key, provider] of loadCatalogue({ env: {}, fresh: true })) expect(builtin.get(key)).toStrictEqual(JSON.parse(JSON.stringify(provider)));
    expect(Object.isFrozen(builtin.get('hubspot')!.dead_grant_errors)).toBe(true);
  });

  it('reads like a Map: size, has, iteration, values and forEach in catalogue order; an unknown key is undefined', () => {
    const builtin = builtinCatalogue();
    const loaded = loadCatalogue({ env: {}, fresh: true });
    const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
    expect(builtin.size).toBe(loaded.size);
    expect(builtin.has('hubspot')).toBe(true);
    expect(builtin.has('not-a-provider')).toBe(false);
    expect(builtin.get('not-a-provider')).toBeUndefined();
    expect(plain([...builtin])).toEqual(plain([...loaded]));
    expect(plain([...builtin.values()])).toEqual(plain([...loaded.values()]));
    const seen: string[] = [];
    builtin.forEach((provider, key) => seen.push(`${key}=${provider.key}`));
    expect(seen).toEqual([...loaded.keys()].map((key) => `${key}=${key}`));
    expect(builtin.get('hubspot')).toBe([...builtin.values()].find((provider) => provider.key === 'hubspot'));
  });

  it('parses a provider only when it is asked for (a cold start parses the one it serves)', async () => {
    vi.resetModules();
    const { builtinCatalogue: fresh } = await import('../../../lib/providers/builtin');
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const catalogue = fresh();
      expect([...catalogue.keys()]).toContain('hubspot');
      expect(parse).not.toHaveBeenCalled();
      catalogue.get('hubspot');
      catalogue.get('hubspot');
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });
});

describe('catalogue.generated.ts', () => {
  it('is up to date with catalogue.yaml (run `npx tsx scripts/generate-catalogue.ts` if this fails)', () => {
    const expected = renderGeneratedCatalogue(readFileSync(CATALOGUE_YAML_PATH, 'utf8'));
    expect(readFileSync(CATALOGUE_GENERATED_PATH, 'utf8')).toBe(expected);
  });

  it('holds the same data the YAML does', () => {
    expect(BUILTIN_CATALOGUE).toEqual(readCatalogueYaml(readFileSync(CATALOGUE_YAML_PATH, 'utf8')));
  });
});

describe('parseCatalogue: extends', () => {
  it('inherits every field of the parent and lets the child override', () => {
    const catalogue = parseCatalogue(
      {
        acme: { ...minimal, token_params: { a: '1' }, disable_pkce: true },
        'acme-eu': { extends: 'acme', display_name: 'Acme EU', token_url: 'https://eu.acme.test/token' },
      },
      SOURCE,
    );
    expect(catalogue.get('acme-eu')).toMatchObject({
      key: 'acme-eu',
      display_name: 'Acme EU',
      authorization_url: 'https://acme.test/authorize',
      token_url: 'https://eu.acme.test/token',
      token_params: { a: '1' },
      disable_pkce: true,
      secret_name: 'acme-eu',
    });
  });

  it('follows chains of extends', () => {
    const catalogue = parseCatalogue({ a: minimal, b: { extends: 'a', disable_pkce: true }, c: { extends: 'b', display_name: 'C' } }, SOURCE);
    expect(catalogue.get('c')).toMatchObject({ display_name: 'C', disable_pkce: true, token_url: minimal.token_url });
  });

  it('removes an inherited field when the child sets it to null', () => {
    const catalogue = parseCatalogue({ a: { ...minimal, docs: 'https://a.test' }, b: { extends: 'a', docs: null } }, SOURCE);
    expect(catalogue.get('b')?.docs).toBeUndefined();
  });

  it('rejects an unknown parent, naming the provider and the field', () => {
    const err = brokerError(() => parseCatalogue({ a: { extends: 'nope', display_name: 'A' } }, SOURCE));
    expect(err.code).toBe('configuration_error');
    expect(err.message).toBe('Provider catalogue test.yaml: provider "a": field "extends": unknown provider "nope"');
  });

  it('rejects a cycle, naming the chain', () => {
    const err = brokerError(() => parseCatalogue({ a: { ...minimal, extends: 'b' }, b: { ...minimal, extends: 'a' } }, SOURCE));
    expect(err.code).toBe('configuration_error');
    expect(err.message.split('\n')).toEqual([
      'Provider catalogue test.yaml: provider "a": field "extends": extends cycle: a -> b -> a',
      'Provider catalogue test.yaml: provider "b": field "extends": extends cycle: b -> a -> b',
    ]);
  });

  it('rejects a provider extending itself', () => {
    const err = brokerError(() => parseCatalogue({ a: { ...minimal, extends: 'a' } }, SOURCE));
    expect(err.message).toContain('provider "a": field "extends": extends cycle: a -> a');
  });
});

describe('parseCatalogue: malformed entries', () => {
  it.each([
    ['a bad URL', { token_url: 'ftp://acme.test/token' }, 'field "token_url": must be an http(s) URL'],
    ['an unknown auth_mode', { auth_mode: 'OAUTH3' }, 'field "auth_mode": Invalid option'],
    ['an unknown field', { scopes: ['a'] }, 'field "scopes": unknown field'],
    ['an unknown nested field', { revocation: { url: 'https://acme.test/revoke', verb: 'POST' } }, 'field "revocation.verb": unknown field'],
    ['a missing required field', { display_name: undefined }, 'field "display_name": is required'],
    ['a wrong type', { default_expires_in: '3600' }, 'field "default_expires_in": Invalid input'],
    ['OAUTH2 without authorization_url', { authorization_url: undefined }, 'field "authorization_url": is required when auth_mode is OAUTH2'],
    ['an undeclared placeholder', { token_url: 'https://${connectionConfig.host}/token' }, 'field "token_url": ${connectionConfig.host} is not declared'],
    ['${token} outside revocation', { token_url: 'https://acme.test/${token}' }, 'field "token_url": ${token} is only allowed in revocation.url'],
    [
      'a base-URL placeholder glued to a path',
      { token_url: '${connectionConfig.base}token', connection_config: { base: {} } },
      'field "token_url": a placeholder that starts a URL must be followed by "/"',
    ],
    ['an undeclared placeholder in a parameter', { token_params: { account: '${connectionConfig.account}' } }, 'field "token_params.account": ${connectionConfig.account} is not declared'],
    ['token_in path without ${token}', { revocation: { url: 'https://acme.test/revoke', token_in: 'path' } }, 'field "revocation.url": must contain ${token}'],
    ['a tenant field that is not kept', { tenant_fields: ['org_id'] }, 'field "tenant_fields.0": "org_id" must also be listed in token_response_metadata'],
    ['an invalid pattern', { connection_config: { host: { pattern: '(' } } }, 'field "connection_config.host.pattern": is not a valid regular expression'],
  ])('rejects %s, naming provider and field', (_name, change, expected) => {
    const err = brokerError(() => parseCatalogue({ acme: { ...minimal, ...change } }, SOURCE));
    expect(err.code).toBe('configuration_error');
    expect(err.message).toContain(`Provider catalogue test.yaml: provider "acme": ${expected}`);
  });

  it('uses the documented message shape for a bad URL', () => {
    const err = brokerError(() => parseCatalogue({ hubspot: { ...minimal, token_url: 'not a url' } }, 'lib/providers/catalogue.yaml'));
    expect(err.message).toMatch(/^Provider catalogue lib\/providers\/catalogue\.yaml: provider "hubspot": field "token_url": must be an http\(s\) URL/);
  });

  it('rejects a bad provider key', () => {
    const err = brokerError(() => parseCatalogue({ Bad_Key: minimal, '-dash': minimal }, SOURCE));
    expect(err.message.split('\n')).toEqual([
      'Provider catalogue test.yaml: provider "Bad_Key": the key must be 1-63 lowercase letters, digits or hyphens, not starting with a hyphen',
      'Provider catalogue test.yaml: provider "-dash": the key must be 1-63 lowercase letters, digits or hyphens, not starting with a hyphen',
    ]);
  });

  it('reports every problem of every provider, one line each', () => {
    const err = brokerError(() =>
      parseCatalogue({ a: { ...minimal, token_url: 'x', auth_mode: 'NOPE' }, b: { ...minimal, extra: 1 }, ok: minimal }, SOURCE),
    );
    const lines = err.message.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.some((l) => l.includes('provider "a": field "auth_mode"'))).toBe(true);
    expect(lines.some((l) => l.includes('provider "a": field "token_url"'))).toBe(true);
    expect(lines.some((l) => l.includes('provider "b": field "extra": unknown field'))).toBe(true);
    expect(err.details).toEqual({ problems: 3 });
  });

  it('rejects a catalogue that is not a mapping, and entries that are not mappings', () => {
    expect(brokerError(() => parseCatalogue(['hubspot'], SOURCE)).message).toBe(
      'Provider catalogue test.yaml: must be a mapping of provider key to provider entry',
    );
    expect(brokerError(() => parseCatalogue({ acme: 'https://acme.test' }, SOURCE)).message).toBe(
      'Provider catalogue test.yaml: provider "acme": must be a mapping of fields',
    );
  });

  it('names an inherited field as inherited', () => {
    const err = brokerError(() => parseCatalogue({ a: { ...minimal, token_url: 'bad' }, b: { extends: 'a' } }, SOURCE));
    expect(err.message).toContain('provider "b": field "token_url": must be an http(s) URL (placeholders like ${connectionConfig.x} allowed) (inherited from "a")');
  });
});

describe('loadCatalogue', () => {
  it('adds providers and merges over built-in ones, field by field, from BROKER_PROVIDERS_FILE (YAML)', () => {
    const file = tempFile(
      'providers.yaml',
      [
        'acme:',
        '  display_name: Acme',
        '  auth_mode: OAUTH2_CC',
        '  token_url: https://acme.test/token',
        'hubspot:',
        '  token_url: https://api.hubapi.com/oauth/2026-03/token',
        'highlevel:',
        '  token_params: { user_type: Company }',
      ].join('\n'),
    );
    const catalogue = loadCatalogue({ env: { BROKER_PROVIDERS_FILE: file }, fresh: true });

    expect(catalogue.get('acme')).toMatchObject({ key: 'acme', auth_mode: 'OAUTH2_CC', secret_name: 'acme' });
    const hubspot = getProvider(catalogue, 'hubspot');
    expect(hubspot.token_url).toBe('https://api.hubapi.com/oauth/2026-03/token');
    expect(hubspot.optional_scope_param).toBe('optional_scope'); // untouched built-in field
    // The white label sees the operator's change to its parent.
    expect(getProvider(catalogue, 'leadconnector').token_params).toEqual({ user_type: 'Company' });
  });

  it('reads a JSON file too', () => {
    const file = tempFile('providers.json', JSON.stringify({ rdstation: { default_expires_in: 3600 } }));
    const catalogue = loadCatalogue({ env: { BROKER_PROVIDERS_FILE: file }, fresh: true });
    expect(getProvider(catalogue, 'rdstation').default_expires_in).toBe(3600);
  });

  it('names the user file, not the built-in one, for a problem the user file introduced', () => {
    const file = tempFile('bad.yaml', 'hubspot:\n  token_url: nope\n');
    const err = brokerError(() => loadCatalogue({ env: { BROKER_PROVIDERS_FILE: file }, fresh: true }));
    expect(err.code).toBe('configuration_error');
    expect(err.message).toContain(`Provider catalogue ${file}: provider "hubspot": field "token_url": must be an http(s) URL`);
  });

  it('fails with configuration_error on a missing or unparsable file', () => {
    const missing = path.join(tempDir, 'missing.yaml');
    const err = brokerError(() => loadCatalogue({ env: { BROKER_PROVIDERS_FILE: missing }, fresh: true }));
    expect(err.code).toBe('configuration_error');
    expect(err.message).toContain(`Provider catalogue ${missing}: cannot read the file (ENOENT)`);

    const broken = tempFile('broken.json', '{ "acme": ');
    expect(brokerError(() => loadCatalogue({ env: { BROKER_PROVIDERS_FILE: broken }, fresh: true })).message).toContain(
      `Provider catalogue ${broken}: not valid JSON`,
    );
  });

  it('applies overrides last (the local runtime moving the sandbox to its real port)', () => {
    const catalogue = loadCatalogue({
      env: {},
      overrides: { sandbox: { token_url: 'http://127.0.0.1:49152/token', authorization_url: 'http://127.0.0.1:49152/auth' } },
    });
    expect(getProvider(catalogue, 'sandbox')).toMatchObject({
      token_url: 'http://127.0.0.1:49152/token',
      authorization_url: 'http://127.0.0.1:49152/auth',
      default_scopes: ['openid', 'offline_access', 'contacts.read'],
    });
    // Overrides never leak into the shared, memoised catalogue.
    expect(getProvider(loadCatalogue({ env: {} }), 'sandbox').token_url).toBe('http://127.0.0.1:3001/token');
  });

  it('memoises per file for warm starts, and loads fresh on request', () => {
    const first = loadCatalogue({ env: {} });
    expect(loadCatalogue({ env: {} })).toBe(first);
    expect(loadCatalogue({ env: {}, fresh: true })).not.toBe(first);
  });
});

describe('getProvider', () => {
  const catalogue = parseCatalogue({ beta: minimal, alpha: minimal }, SOURCE);

  it('returns the entry for a known key', () => {
    expect(getProvider(catalogue, 'alpha').key).toBe('alpha');
  });

  it('throws unknown_provider listing the known keys', () => {
    const err = brokerError(() => getProvider(catalogue, 'gamma'));
    expect(err.code).toBe('unknown_provider');
    expect(err.status).toBe(404);
    expect(err.message).toBe('Unknown provider "gamma". Known providers: alpha, beta');
  });
});

describe('overrides merge field by field (objects recursively, lists and scalars replaced, null removes)', () => {
  it('changes one URL inside a built-in revocation block and keeps the rest of the block', () => {
    const file = tempFile('revocation-url.yaml', 'hubspot:\n  revocation:\n    url: https://api.hubapi.com/oauth/2026-03/refresh-tokens/${token}\n');
    const hubspot = getProvider(loadCatalogue({ env: { BROKER_PROVIDERS_FILE: file }, fresh: true }), 'hubspot');
    expect(hubspot.revocation).toEqual({
      url: 'https://api.hubapi.com/oauth/2026-03/refresh-tokens/${token}',
      method: 'DELETE',
      token: 'refresh_token',
      token_in: 'path',
      body_format: 'form',
      auth: 'none',
      headers: {},
      send_token_type_hint: false,
    });
  });

  it('changes one property of one connection_config parameter and keeps its other properties', () => {
    const file = tempFile('marketo-pattern.yaml', "marketo:\n  connection_config:\n    identity_url:\n      pattern: 'https://[0-9A-Za-z-]+\\.mktorest\\.(com|eu)/identity/?'\n");
    const marketo = getProvider(loadCatalogue({ env: { BROKER_PROVIDERS_FILE: file }, fresh: true }), 'marketo');
    expect(marketo.connection_config['identity_url']).toMatchObject({ title: 'Identity URL', pattern: 'https://[0-9A-Za-z-]+\\.mktorest\\.(com|eu)/identity/?' });
  });

  it('replaces lists whole, and removes a nested key set to null', () => {
    const catalogue = parseCatalogueLayers([
      { source: 'base', entries: { acme: { ...minimal, default_scopes: ['a', 'b'], token_params: { user_type: 'Location', audience: 'x' } } } },
      { source: 'site', entries: { acme: { default_scopes: ['c'], token_params: { user_type: null, extra: '1' } } } },
    ]);
    expect(catalogue.get('acme')).toMatchObject({ default_scopes: ['c'], token_params: { audience: 'x', extra: '1' } });
  });

  it('lets a scalar replace an object and an object replace a scalar', () => {
    const catalogue = parseCatalogueLayers([
      { source: 'base', entries: { acme: { ...minimal, revocation: { url: 'https://acme.test/revoke', auth: 'basic' } } } },
      { source: 'site', entries: { acme: { revocation: null } } },
    ]);
    expect(catalogue.get('acme')?.revocation).toBeUndefined();
  });

  it('uses the same merge for extends: a white label changes one field of its parent\'s block', () => {
    const catalogue = parseCatalogue(
      {
        acme: { ...minimal, revocation: { url: 'https://acme.test/revoke', auth: 'basic', send_token_type_hint: false } },
        'acme-eu': { extends: 'acme', revocation: { url: 'https://eu.acme.test/revoke' } },
      },
      SOURCE,
    );
    expect(catalogue.get('acme-eu')?.revocation).toMatchObject({ url: 'https://eu.acme.test/revoke', auth: 'basic', send_token_type_hint: false });
  });

  it('does what docs/providers.md "Overriding a built-in entry" says its example does', () => {
    const doc = readFileSync(path.join(path.dirname(CATALOGUE_YAML_PATH), '../../docs/providers.md'), 'utf8');
    const example = /## Overriding a built-in entry[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const catalogue = loadCatalogue({ env: { BROKER_PROVIDERS_FILE: tempFile('doc-example.yaml', example!) }, fresh: true });
    const hubspot = getProvider(catalogue, 'hubspot');
    expect(hubspot).toMatchObject({ token_url: 'https://api.hubapi.com/oauth/2026-03/token', default_scopes: ['oauth', 'crm.objects.contacts.read'] });
    expect(hubspot.revocation).toMatchObject({ url: 'https://api.hubapi.com/oauth/2026-03/refresh-tokens/${token}', method: 'DELETE', token_in: 'path', auth: 'none' });
    const highlevel = getProvider(catalogue, 'highlevel');
    expect(highlevel).toMatchObject({ token_params: { user_type: 'Company' }, refresh_params: { user_type: 'Company' }, token_headers: {} });
    expect(getProvider(catalogue, 'leadconnector').token_params).toEqual({ user_type: 'Company' });
  });

  it('names the layer that supplied a bad nested field, not the last layer that touched its block', () => {
    const err = brokerError(() =>
      parseCatalogueLayers([
        { source: 'base.yaml', entries: { acme: { ...minimal, connection_config: { host: { pattern: '(' } } } } },
        { source: 'site.yaml', entries: { acme: { connection_config: { host: { title: 'Host' } } } } },
      ]),
    );
    expect(err.message).toBe('Provider catalogue base.yaml: provider "acme": field "connection_config.host.pattern": is not a valid regular expression');
  });
});

describe('parseCatalogueLayers', () => {
  it('lets a later layer add, replace and remove fields of an earlier one', () => {
    const catalogue = parseCatalogueLayers([
      { source: 'base', entries: { acme: { ...minimal, docs: 'https://acme.test/docs', default_scopes: ['a', 'b'] } } },
      { source: 'site', entries: { acme: { default_scopes: ['c'], docs: null, disable_pkce: true } } },
    ]);
    const acme = catalogue.get('acme');
    expect(acme).toMatchObject({ default_scopes: ['c'], disable_pkce: true, token_url: minimal.token_url });
    expect(acme?.docs).toBeUndefined();
  });

  it('ignores an empty layer (an empty user file)', () => {
    expect(parseCatalogueLayers([{ source: 'base', entries: { acme: minimal } }, { source: 'empty.yaml', entries: null }]).size).toBe(1);
  });
});
