import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BrokerError } from '../../../lib/errors';
import type { Provider } from '../../../lib/providers/schema';
import { clientCredentialsGrant, exchangeCode, refreshGrant, type TokenEndpointOptions } from '../../../lib/oauth/token-endpoint';
import {
  closedPort,
  errorSurface,
  json,
  raw,
  rejectionOf,
  startProviderServer,
  testProvider,
  type ProviderServer,
  type Respond,
} from './fixtures';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const now = (): number => NOW;
const credentials = { client_id: 'client-1', client_secret: 'client-secret-value-1' };
const REFRESH_TOKEN = 'refresh-token-value-1';
const CODE = 'authorization-code-value-1';
const VERIFIER = 'code-verifier-value-1';

let server: ProviderServer;
beforeAll(async () => {
  server = await startProviderServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.reset());

function provider(overrides: Partial<Parameters<typeof testProvider>[1]> = {}): Provider {
  return testProvider('acme', { display_name: 'Acme', auth_mode: 'OAUTH2', token_url: `${server.origin}/token`, ...overrides });
}

async function refreshFailure(p: Provider, respond: Respond, options: TokenEndpointOptions = {}): Promise<BrokerError> {
  server.respond = respond;
  const err = await rejectionOf(() => refreshGrant(p, credentials, { refreshToken: REFRESH_TOKEN }, { now, ...options }));
  expect(err).toBeInstanceOf(BrokerError);
  return err as BrokerError;
}

describe('token endpoint error classification (refresh)', () => {
  const hubspotLike = (): Provider => provider({ dead_grant_errors: ['invalid_grant', 'BAD_REFRESH_TOKEN'] });
  const highlevelLike = (): Provider => provider({ dead_grant_statuses: [401] });
  const rdLike = (): Provider => provider({ dead_grant_errors: ['invalid_grant', 'INVALID_REFRESH_TOKEN'] });

  it.each<{ name: string; provider: () => Provider; respond: Respond; code: string; details: Record<string, unknown> }>([
    {
      name: '400 invalid_grant → needs_reauth',
      provider: () => provider(),
      respond: json(400, { error: 'invalid_grant', error_description: 'expired' }),
      code: 'needs_reauth',
      details: { provider_error: 'invalid_grant', http_status: 400, grant: 'refresh_token' },
    },
    {
      name: '400 {status: BAD_REFRESH_TOKEN} → needs_reauth when listed',
      provider: hubspotLike,
      respond: json(400, { status: 'BAD_REFRESH_TOKEN', message: 'missing or invalid refresh token' }),
      code: 'needs_reauth',
      details: { provider_error: 'BAD_REFRESH_TOKEN', http_status: 400 },
    },
    {
      name: '400 {status: BAD_REFRESH_TOKEN} → provider_error when not listed',
      provider: () => provider(),
      respond: json(400, { status: 'BAD_REFRESH_TOKEN' }),
      code: 'provider_error',
      details: { provider_error: 'BAD_REFRESH_TOKEN', http_status: 400 },
    },
    {
      name: '400 {error_type: INVALID_REFRESH_TOKEN} → needs_reauth when listed',
      provider: rdLike,
      respond: json(400, { error_type: 'INVALID_REFRESH_TOKEN', error_message: 'Invalid refresh token.' }),
      code: 'needs_reauth',
      details: { provider_error: 'INVALID_REFRESH_TOKEN', http_status: 400 },
    },
    {
      name: "401 RD Station SDK shape {errors: {error_type: INVALID_REFRESH_TOKEN}} → needs_reauth when listed (default error_code_paths)",
      provider: rdLike,
      respond: json(401, { errors: { error_type: 'INVALID_REFRESH_TOKEN', error_message: 'Invalid refresh token.' } }),
      code: 'needs_reauth',
      details: { provider_error: 'INVALID_REFRESH_TOKEN', http_status: 401 },
    },
    {
      name: '400 {code: invalid_grant} (Notion-like) → needs_reauth (default error_code_paths)',
      provider: () => provider(),
      respond: json(400, { object: 'error', status: 400, code: 'invalid_grant', message: 'Invalid refresh token.' }),
      code: 'needs_reauth',
      details: { provider_error: 'invalid_grant', http_status: 400 },
    },
    {
      name: 'a catalogue error_code_paths replaces the default places',
      provider: () => provider({ error_code_paths: ['fault.reason'], dead_grant_errors: ['grant_gone'] }),
      respond: json(400, { error: 'invalid_grant', fault: { reason: 'grant_gone' } }),
      code: 'needs_reauth',
      details: { provider_error: 'grant_gone', http_status: 400 },
    },
    {
      name: '401 with dead_grant_statuses [401] → needs_reauth',
      provider: highlevelLike,
      respond: json(401, { statusCode: 401, message: 'Invalid JWT', error: 'Unauthorized' }),
      code: 'needs_reauth',
      details: { provider_error: 'Unauthorized', http_status: 401 },
    },
    {
      name: '401 without dead_grant_statuses → provider_error',
      provider: () => provider(),
      respond: json(401, { statusCode: 401, message: 'Invalid JWT' }),
      code: 'provider_error',
      details: { http_status: 401 },
    },
    {
      name: '400 other OAuth error → provider_error',
      provider: () => provider(),
      respond: json(400, { error: 'invalid_client' }),
      code: 'provider_error',
      details: { provider_error: 'invalid_client', http_status: 400 },
    },
    {
      name: '400 with a non-JSON body → provider_error',
      provider: () => provider(),
      respond: raw(400, '<html>bad</html>', { 'content-type': 'text/html' }),
      code: 'provider_error',
      details: { http_status: 400 },
    },
    {
      name: '429 with Retry-After seconds → provider_unavailable',
      provider: () => provider(),
      respond: json(429, { error: 'rate_limited' }, { 'retry-after': '30' }),
      code: 'provider_unavailable',
      details: { http_status: 429, retry_after_s: 30 },
    },
    {
      name: '429 with Retry-After HTTP date → provider_unavailable',
      provider: () => provider(),
      respond: raw(429, '', { 'retry-after': new Date(NOW + 120_000).toUTCString() }),
      code: 'provider_unavailable',
      details: { http_status: 429, retry_after_s: 120 },
    },
    {
      name: '429 without Retry-After → provider_unavailable',
      provider: () => provider(),
      respond: raw(429, ''),
      code: 'provider_unavailable',
      details: { http_status: 429 },
    },
    {
      name: '503 → provider_unavailable, even with invalid_grant in the body',
      provider: () => provider(),
      respond: json(503, { error: 'invalid_grant' }),
      code: 'provider_unavailable',
      details: { http_status: 503 },
    },
    {
      name: '500 HTML → provider_unavailable',
      provider: () => provider(),
      respond: raw(500, '<h1>oops</h1>'),
      code: 'provider_unavailable',
      details: { http_status: 500 },
    },
    {
      name: '200 non-JSON → provider_error',
      provider: () => provider(),
      respond: raw(200, 'access_token=abc', { 'content-type': 'text/plain' }),
      code: 'provider_error',
      details: { http_status: 200 },
    },
    {
      name: '200 JSON array → provider_error',
      provider: () => provider(),
      respond: json(200, [{ access_token: 'at' }]),
      code: 'provider_error',
      details: { http_status: 200 },
    },
    {
      name: '200 without access_token → provider_error',
      provider: () => provider(),
      respond: json(200, { token_type: 'bearer', expires_in: 3600 }),
      code: 'provider_error',
      details: { http_status: 200, field: 'access_token' },
    },
    {
      name: '200 with an empty access_token → provider_error',
      provider: () => provider(),
      respond: json(200, { access_token: '' }),
      code: 'provider_error',
      details: { field: 'access_token' },
    },
    {
      name: '200 with a numeric token_type → provider_error',
      provider: () => provider(),
      respond: json(200, { access_token: 'at', token_type: 1 }),
      code: 'provider_error',
      details: { field: 'token_type' },
    },
    {
      name: '200 with a negative expires_in → provider_error',
      provider: () => provider(),
      respond: json(200, { access_token: 'at', expires_in: -5 }),
      code: 'provider_error',
      details: { field: 'expires_in' },
    },
    {
      name: '200 with a non-numeric expires_in string → provider_error',
      provider: () => provider(),
      respond: json(200, { access_token: 'at', expires_in: 'soon' }),
      code: 'provider_error',
      details: { field: 'expires_in' },
    },
    {
      name: '200 with a non-string refresh_token → provider_error',
      provider: () => provider(),
      respond: json(200, { access_token: 'at', refresh_token: 42 }),
      code: 'provider_error',
      details: { field: 'refresh_token' },
    },
    {
      name: '200 carrying an OAuth error → classified like an error status',
      provider: () => provider(),
      respond: json(200, { error: 'invalid_grant' }),
      code: 'needs_reauth',
      details: { provider_error: 'invalid_grant', http_status: 200 },
    },
    {
      name: '302 redirect → provider_error, not followed',
      provider: () => provider(),
      respond: raw(302, '', { location: '/elsewhere' }),
      code: 'provider_error',
      details: { http_status: 302 },
    },
  ])('$name', async ({ provider: makeProvider, respond, code, details }) => {
    const err = await refreshFailure(makeProvider(), respond);
    expect(err.code).toBe(code);
    expect(err.details).toMatchObject(details);
  });

  it('does not follow a redirect', async () => {
    await refreshFailure(provider(), raw(302, '', { location: '/elsewhere' }));
    expect(server.requests.map((r) => r.path)).toEqual(['/token']);
  });

  it('times out with provider_timeout when the provider never answers', async () => {
    const started = Date.now();
    const err = await refreshFailure(provider(), () => undefined, { timeoutMs: 200 });
    expect(err.code).toBe('provider_timeout');
    expect(err.details).toMatchObject({ timeout_ms: 200, grant: 'refresh_token' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('times out with provider_timeout when the body never finishes', async () => {
    const err = await refreshFailure(
      provider(),
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"access_token":');
      },
      { timeoutMs: 200 },
    );
    expect(err.code).toBe('provider_timeout');
  });

  it('reports a refused connection as provider_unavailable with network: true', async () => {
    const port = await closedPort();
    const err = await rejectionOf(() =>
      refreshGrant(provider({ token_url: `http://127.0.0.1:${port}/token` }), credentials, { refreshToken: REFRESH_TOKEN }),
    );
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).code).toBe('provider_unavailable');
    expect((err as BrokerError).details).toMatchObject({ network: true, network_error: 'ECONNREFUSED' });
  });
});

describe('token endpoint error classification (other grants)', () => {
  it('treats invalid_grant on the code exchange as provider_error (the code, not the connection, is bad)', async () => {
    server.respond = json(400, { error: 'invalid_grant' });
    const err = await rejectionOf(() => exchangeCode(provider(), credentials, { code: CODE, redirectUri: 'https://broker.example/cb' }));
    expect(err).toMatchObject({ code: 'provider_error', details: { provider_error: 'invalid_grant', grant: 'authorization_code' } });
  });

  it('treats a dead-grant status on client credentials as needs_reauth (credentials withdrawn)', async () => {
    server.respond = json(401, { error: 'unauthorized' });
    const err = await rejectionOf(() => clientCredentialsGrant(provider({ auth_mode: 'OAUTH2_CC', dead_grant_statuses: [401] }), credentials));
    expect(err).toMatchObject({ code: 'needs_reauth', details: { http_status: 401, grant: 'client_credentials' } });
  });
});

describe('errors never carry a secret', () => {
  const secrets = [credentials.client_secret, REFRESH_TOKEN, CODE, VERIFIER];
  const expectClean = (err: unknown): void => {
    expect(err).toBeInstanceOf(BrokerError);
    const surface = errorSurface(err);
    for (const secret of secrets) expect(surface).not.toContain(secret);
  };

  it.each<[string, Respond]>([
    ['an error code echoing the refresh token', json(400, { error: `bad token ${REFRESH_TOKEN}` })],
    ['an error_description echoing the refresh token', json(400, { error: 'invalid_grant', error_description: `token ${REFRESH_TOKEN} revoked` })],
    ['a message echoing the client secret', json(401, { status: 'UNAUTHORIZED', message: `secret ${credentials.client_secret} wrong` })],
    ['a 200 error echoing the refresh token', json(200, { error: REFRESH_TOKEN })],
    ['a 503 echoing the refresh token', json(503, { error: REFRESH_TOKEN })],
    ['a malformed 200 echoing the refresh token', raw(200, `oops ${REFRESH_TOKEN}`)],
  ])('on refresh: %s', async (_name, respond) => {
    server.respond = respond;
    expectClean(await rejectionOf(() => refreshGrant(provider({ dead_grant_statuses: [401] }), credentials, { refreshToken: REFRESH_TOKEN })));
  });

  it('on code exchange with the code echoed back', async () => {
    server.respond = json(400, { error: `code ${CODE} used`, error_description: `verifier ${VERIFIER}` });
    expectClean(
      await rejectionOf(() =>
        exchangeCode(provider(), credentials, { code: CODE, redirectUri: 'https://broker.example/cb', codeVerifier: VERIFIER }),
      ),
    );
  });

  it('on a network failure of a GET whose URL carries the client secret', async () => {
    const port = await closedPort();
    const marketoLike = provider({
      auth_mode: 'OAUTH2_CC',
      token_url: `http://127.0.0.1:${port}/identity/oauth/token`,
      token_request_method: 'GET',
      body_format: 'query',
    });
    expectClean(await rejectionOf(() => clientCredentialsGrant(marketoLike, credentials)));
  });

  it('on a timeout of a GET whose URL carries the client secret', async () => {
    server.respond = () => undefined;
    const marketoLike = provider({ auth_mode: 'OAUTH2_CC', token_request_method: 'GET', body_format: 'query' });
    expectClean(await rejectionOf(() => clientCredentialsGrant(marketoLike, credentials, {}, { timeoutMs: 200 })));
  });
});
