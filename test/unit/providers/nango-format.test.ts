/**
 * Entries in Nango's providers.yaml format, pasted unchanged (test/fixtures/nango-providers.yaml,
 * written in our own words): what loads, what it sends, what is skipped and why, and what
 * still stops the start.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { logger } from '../../../lib/logger';
import { buildAuthorizationUrl } from '../../../lib/oauth/authorize';
import { buildTokenRequest } from '../../../lib/oauth/token-endpoint';
import { getProvider, loadCatalogue, parseCatalogue, parseCatalogueLayers, validateConnectionConfig } from '../../../lib/providers/catalogue';
import type { Catalogue } from '../../../lib/providers/schema';
import { brokerError } from '../../support/errors';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/nango-providers.yaml');
const credentials = { client_id: 'client-1', client_secret: 'secret-1' };
const redirectUri = 'https://broker.example/oauth/x/callback';

function load(): Catalogue {
  return loadCatalogue({ env: { BROKER_PROVIDERS_FILE: FIXTURES }, fresh: true });
}
const catalogue = load();
const provider = (key: string) => getProvider(catalogue, key);
const authorize = (key: string, connectionConfig?: Record<string, string>) =>
  buildAuthorizationUrl(provider(key), { clientId: 'client-1', redirectUri, state: 's', scopes: provider(key).default_scopes, codeChallenge: 'ch', ...(connectionConfig ? { connectionConfig } : {}) });
const codeRequest = (key: string, connectionConfig?: Record<string, string>) =>
  buildTokenRequest(provider(key), credentials, { grant_type: 'authorization_code', code: 'code-1', redirectUri }, connectionConfig);
const refreshRequest = (key: string, connectionConfig?: Record<string, string>) =>
  buildTokenRequest(provider(key), credentials, { grant_type: 'refresh_token', refreshToken: 'rt-1' }, connectionConfig);
const form = (body: string | undefined) => Object.fromEntries(new URLSearchParams(body));

describe('Nango-format entries that load', () => {
  it('loads every OAUTH2 and OAUTH2_CC entry it can serve, next to the built-in ones', () => {
    const loaded = ['zendesk', 'highlevel-pasted', 'notion', 'google', 'gmail', 'salesforce', 'salesforce-sandbox', 'heygen', 'sap-xsuaa-cc', 'auth0-tenant', 'legacy-spellings'];
    for (const key of [...loaded, 'hubspot', 'highlevel', 'rdstation', 'marketo']) expect(catalogue.has(key)).toBe(true);
  });

  it('zendesk: the subdomain goes into the host of both URLs; an extra parameter on code AND refresh; no duplicate grant_type', () => {
    const url = authorize('zendesk', { subdomain: 'acme' });
    expect(`${url.origin}${url.pathname}`).toBe('https://acme.zendesk.com/oauth/authorizations/new');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ response_type: 'code', scope: 'read', code_challenge_method: 'S256' });

    // zendesk is also a built-in entry: the pasted one merges over it field by field, so the
    // built-in JSON body stays and the pasted token_params join it.
    const code = codeRequest('zendesk', { subdomain: 'acme' });
    expect(code.url.href).toBe('https://acme.zendesk.com/oauth/tokens');
    expect(code.body?.match(/grant_type/g)).toHaveLength(1);
    expect(JSON.parse(code.body!)).toMatchObject({ grant_type: 'authorization_code', expires_in: '172800' });
    expect(JSON.parse(refreshRequest('zendesk', { subdomain: 'acme' }).body!)).toMatchObject({ grant_type: 'refresh_token', expires_in: '172800' });
  });

  it('zendesk: a subdomain that would change the host is refused by the entry\'s pattern (400)', () => {
    const err = brokerError(() => validateConnectionConfig(provider('zendesk'), { subdomain: 'evil.com/x' }));
    expect(err).toMatchObject({ code: 'invalid_request', details: { field: 'connection_config.subdomain' } });
  });

  it('hubspot pasted over the built-in key: the built-in quirks survive the merge, the pasted scopes replace the defaults', () => {
    const hubspot = provider('hubspot');
    expect(hubspot).toMatchObject({
      display_name: 'HubSpot CRM',
      optional_scope_param: 'optional_scope',
      granted_scopes_path: 'scopes',
      token_response_metadata: ['hub_id'],
      revocation: { method: 'DELETE', token_in: 'path' },
    });
    expect(hubspot.dead_grant_errors).toContain('BAD_REFRESH_TOKEN');
    expect(authorize('hubspot').searchParams.get('scope')).toBe('oauth crm.objects.contacts.read');
  });

  it('highlevel-pasted: no PKCE, scope sent, user_type on both grants, and no Version header (proxy headers are not token headers)', () => {
    const url = authorize('highlevel-pasted');
    expect(url.searchParams.has('code_challenge')).toBe(false);
    expect(url.searchParams.get('scope')).toBe('contacts.readonly locations.readonly');
    const code = codeRequest('highlevel-pasted');
    expect(form(code.body)).toMatchObject({ user_type: 'Location', grant_type: 'authorization_code' });
    expect(code.headers).not.toHaveProperty('version');
    expect(form(refreshRequest('highlevel-pasted').body)).toMatchObject({ user_type: 'Location', grant_type: 'refresh_token' });
    expect(provider('highlevel-pasted').token_response_metadata).toEqual(['locationId', 'companyId', 'userType']);
  });

  it('notion: owner=user on the authorize URL, HTTP Basic and a JSON body without the secret, nested metadata path', () => {
    const url = authorize('notion');
    expect(url.searchParams.get('owner')).toBe('user');
    expect(url.searchParams.getAll('response_type')).toEqual(['code']);
    const code = codeRequest('notion');
    expect(code.headers.authorization).toBe(`Basic ${Buffer.from('client-1:secret-1').toString('base64')}`);
    expect(code.headers['content-type']).toBe('application/json');
    expect(JSON.parse(code.body!)).toEqual({ grant_type: 'authorization_code', code: 'code-1', redirect_uri: redirectUri });
    expect(provider('notion').token_response_metadata).toContain('owner.user.id');
  });

  it('gmail (alias google): inherits the extra authorize parameters, and its scope list replaces the parent\'s', () => {
    const url = authorize('gmail');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ access_type: 'offline', prompt: 'consent', scope: 'https://www.googleapis.com/auth/gmail.readonly' });
    expect(provider('gmail')).toMatchObject({ extends: 'google', display_name: 'Gmail', token_url: 'https://oauth2.googleapis.com/token' });
  });

  it('salesforce and its sandbox alias load: a template inside the ignored proxy block is not checked', () => {
    expect(provider('salesforce-sandbox')).toMatchObject({ token_url: 'https://test.salesforce.com/services/oauth2/token', token_response_metadata: ['instance_url', 'id'] });
  });

  it('heygen: the code exchange goes to token_url, the refresh to refresh_url', () => {
    expect(codeRequest('heygen').url.href).toBe('https://api2.heygen.com/v1/oauth/token');
    expect(refreshRequest('heygen').url.href).toBe('https://api2.heygen.com/v1/oauth/refresh_token');
  });

  it('sap-xsuaa-cc: client credentials, two values in the host, Basic auth, grant_type sent once, comma-joined scopes', () => {
    const request = buildTokenRequest(provider('sap-xsuaa-cc'), credentials, { grant_type: 'client_credentials', scopes: ['a', 'b'] }, { subdomain: 'acme', region: 'eu10' });
    expect(request.url.href).toBe('https://acme.authentication.eu10.hana.ondemand.com/oauth/token');
    expect(request.headers.authorization).toMatch(/^Basic /);
    expect(form(request.body)).toEqual({ grant_type: 'client_credentials', scope: 'a,b' });
  });

  it('auth0-tenant: a connection value inside an extra authorize parameter', () => {
    const url = authorize('auth0-tenant', { subdomain: 'acme' });
    expect(url.host).toBe('acme.auth0.com');
    expect(url.searchParams.get('audience')).toBe('https://acme.auth0.com/api/v2/');
  });

  it('legacy spellings: token_url by auth mode, authorization_method header, token_expiration_buffer, a boolean parameter, token_params on refresh', () => {
    expect(provider('legacy-spellings')).toMatchObject({
      token_url: 'https://auth.legacy.example/oauth/token',
      token_request_auth_method: 'basic',
      refresh_skew_s: 600,
      authorization_params: { force_verify: 'true' },
      token_params: { audience: 'legacy-api' },
      refresh_params: { audience: 'legacy-api' },
    });
    expect(form(refreshRequest('legacy-spellings').body)).toMatchObject({ grant_type: 'refresh_token', audience: 'legacy-api' });
  });

  it("applies Nango's refresh rule only to entries in Nango's format", () => {
    const entry = { display_name: 'X', auth_mode: 'OAUTH2', authorization_url: 'https://x.test/a', token_url: 'https://x.test/t', token_params: { audience: 'api' } };
    const both = parseCatalogue({ native: entry, pasted: { ...entry, categories: ['other'] } }, 'test.yaml');
    expect(both.get('native')?.refresh_params).toEqual({});
    expect(both.get('pasted')?.refresh_params).toEqual({ audience: 'api' });
  });
});

describe('Nango-format entries that are skipped', () => {
  const skippedModes: Record<string, string> = {
    sendgrid: 'API_KEY',
    'jira-basic': 'BASIC',
    trello: 'OAUTH1',
    'github-app': 'APP',
    'github-app-oauth': 'CUSTOM',
    'netsuite-tba': 'TBA',
    'ghost-admin-jwt': 'JWT',
    'login-then-token': 'TWO_STEP',
    'wsse-signature': 'SIGNATURE',
    'public-api': 'NONE',
    'bill-session': 'BILL',
    'app-store-connect': 'APP_STORE',
    'tableau-pat': 'TABLEAU',
    'perimeter-key': 'PERIMETER',
    'aws-role': 'AWS_SIGV4',
    'mcp-server': 'MCP_OAUTH2',
    'mcp-any': 'MCP_OAUTH2_GENERIC',
    'wordpress-plugin': 'INSTALL_PLUGIN',
  };

  it.each(Object.entries(skippedModes))('%s (auth_mode %s) is skipped, naming its mode', (key, mode) => {
    expect(catalogue.has(key)).toBe(false);
    expect(catalogue.skipped?.get(key)?.reason).toBe(`auth_mode ${mode} is not served by the broker (it serves OAUTH2 and OAUTH2_CC)`);
  });

  it('skips an OAUTH2 entry that needs a construct the broker does not implement, with every reason', () => {
    expect(catalogue.skipped?.get('zoho-crm')?.reason).toBe(
      'redirect_uri_metadata (values read from the callback URL) is not implemented; authorization_url uses a "||" fallback, which is not implemented; token_url uses a "||" fallback, which is not implemented',
    );
    expect(catalogue.skipped?.get('quickbooks')?.reason).toBe('redirect_uri_metadata (values read from the callback URL) is not implemented');
  });

  it.each([
    ['a ${credentials.x} placeholder', { authorization_params: { api_key: '${credentials.apiKey}' } }, 'authorization_params.api_key uses ${credentials.apiKey}, which the broker does not fill'],
    ['a value Nango takes from the token response', { token_url: 'https://${connectionConfig.instance_url}/token', token_response_metadata: ['instance_url'] }, 'token_url uses ${connectionConfig.instance_url}, which Nango fills from the token response and the broker does not'],
    ['a grant the broker does not send', { token_params: { grant_type: 'password' } }, 'token_params.grant_type password is not served (the broker sends authorization_code)'],
    ['another response_type', { authorization_params: { response_type: 'token' } }, 'authorization_params.response_type token is not served (only the code flow is)'],
    ['private_key_jwt client auth', { token_request_auth_method: 'private_key_jwt' }, 'token_request_auth_method private_key_jwt is not implemented'],
    ['an XML body', { body_format: 'xml' }, 'body_format xml is not implemented'],
    ['unencoded values', { authorization_url_skip_encode: ['base_url'] }, 'authorization_url_skip_encode (values put into the URL unencoded) is not implemented: the broker encodes every value'],
    ['a secret connection value', { connection_config: { key: { type: 'string', title: 'Key', description: 'k', secret: true } } }, 'connection_config.key is secret; the broker keeps connection values in plain text, visible to admin reads'],
    ['a field of another auth mode', { signature_method: 'HMAC-SHA1' }, 'signature_method belongs to another auth mode than OAuth 2.0'],
  ])('skips an entry with %s', (_name, change, reason) => {
    const base = { display_name: 'X', auth_mode: 'OAUTH2', authorization_url: 'https://x.test/a', token_url: 'https://x.test/t', categories: ['other'] };
    const loaded = parseCatalogue({ x: { ...base, ...change } }, 'test.yaml');
    expect(loaded.has('x')).toBe(false);
    expect(loaded.skipped.get('x')?.reason).toBe(reason);
  });

  it('logs one warning line per skipped entry, naming the provider and why', () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    try {
      load();
      const lines = warn.mock.calls.map((call) => String(call[0]));
      expect(lines).toHaveLength(20);
      expect(lines).toContain('Provider catalogue: provider "sendgrid" skipped: auth_mode API_KEY is not served by the broker (it serves OAUTH2 and OAUTH2_CC)');
      expect(lines.filter((line) => line.includes('"zoho-crm"'))).toHaveLength(1);
    } finally {
      warn.mockRestore();
    }
  });

  it('answers a lookup of a skipped entry with provider_not_supported (404) and the reason', () => {
    const err = brokerError(() => getProvider(catalogue, 'sendgrid'));
    expect(err.code).toBe('provider_not_supported');
    expect(err.status).toBe(404);
    expect(err.message).toBe('Provider "sendgrid" is in the catalogue but not served: auth_mode API_KEY is not served by the broker (it serves OAUTH2 and OAUTH2_CC)');
  });
});

describe('malformed entries still stop the start', () => {
  const base = { display_name: 'X', auth_mode: 'OAUTH2', authorization_url: 'https://x.test/a', token_url: 'https://x.test/t', categories: ['other'] };

  it.each([
    ['a field neither format knows', { authorisation_url: 'https://x.test/a' }, 'field "authorisation_url": unknown field'],
    ['a wrong type', { disable_pkce: 'no' }, 'field "disable_pkce": Invalid input'],
    ['an auth_mode neither format knows', { auth_mode: 'OAUTH3' }, 'field "auth_mode": Invalid option'],
    ['an alias to a missing entry', { alias: 'nope' }, 'field "extends": unknown provider "nope"'],
    ['a bad authorization_method', { authorization_method: 'query' }, 'field "authorization_method": must be "header" or "body"'],
    ['a bad token_expiration_buffer', { token_expiration_buffer: '10m' }, 'field "token_expiration_buffer": must be a number of seconds'],
    ['an undeclared connection value', { token_url: 'https://${connectionConfig.site}/t' }, 'field "token_url": ${connectionConfig.site} is not declared in connection_config'],
    ['a typo in an entry that is skipped anyway', { auth_mode: 'API_KEY', authorisation_url: 'https://x.test/a' }, 'field "authorisation_url": unknown field'],
    ['a typo in an OAUTH2 entry skipped for a template', { token_url: 'https://a.test || https://b.test', authorisation_url: 'x' }, 'field "authorisation_url": unknown field'],
  ])('%s', (_name, change, expected) => {
    const err = brokerError(() => parseCatalogue({ x: { ...base, ...change } }, 'providers.yaml'));
    expect(err.code).toBe('configuration_error');
    expect(err.message).toContain(`Provider catalogue providers.yaml: provider "x": ${expected}`);
  });

  it('names the file, the provider and the field when the fixture file is broken', () => {
    const err = brokerError(() =>
      parseCatalogueLayers([
        { source: 'lib/providers/catalogue.yaml', entries: {} },
        { source: FIXTURES, entries: { notion: { display_name: 'Notion', auth_mode: 'OAUTH2', token_url: 'https://api.notion.com/v1/oauth/token', authorization_url: 'https://api.notion.com/v1/oauth/authorize', proxy: {}, body_format: 'yaml' } } },
      ]),
    );
    expect(err.message).toContain(`Provider catalogue ${FIXTURES}: provider "notion": field "body_format": Invalid option`);
  });
});
