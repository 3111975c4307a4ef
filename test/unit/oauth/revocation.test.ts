import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TokenSet } from '../../../lib/model';
import { BrokerError } from '../../../lib/errors';
import type { Provider, ProviderInput } from '../../../lib/providers/schema';
import { revokeToken } from '../../../lib/oauth/token-endpoint';
import { errorSurface, json, raw, rejectionOf, startProviderServer, testProvider, type ProviderServer } from './fixtures';

const credentials = { client_id: 'client-1', client_secret: 'client-secret-value-1' };
const tokens: TokenSet = { access_token: 'access/token+1', token_type: 'bearer', refresh_token: 'refresh/token+1' };

let server: ProviderServer;
beforeAll(async () => {
  server = await startProviderServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.reset());

function provider(revocation: ProviderInput['revocation']): Provider {
  return testProvider('acme', { display_name: 'Acme', auth_mode: 'OAUTH2', token_url: `${server.origin}/token`, revocation });
}

describe('revokeToken', () => {
  it('posts the RFC 7009 form with token_type_hint and client_secret_post credentials', async () => {
    server.respond = raw(200, '');
    await revokeToken(provider({ url: `${server.origin}/revoke` }), credentials, { tokens });

    const [received] = server.requests;
    expect(received).toMatchObject({ method: 'POST', path: '/revoke' });
    expect(received?.body).toBe('token=refresh%2Ftoken%2B1&token_type_hint=refresh_token&client_id=client-1&client_secret=client-secret-value-1');
    expect(received?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(received?.headers.authorization).toBeUndefined();
  });

  it('authenticates with the access token as Bearer (RD Station) and revokes the chosen token', async () => {
    server.respond = raw(200, '');
    await revokeToken(
      provider({ url: `${server.origin}/auth/revoke`, auth: 'bearer_access_token', token: 'access_token' }),
      credentials,
      { tokens },
    );

    const [received] = server.requests;
    expect(received?.headers.authorization).toBe('Bearer access/token+1');
    expect(received?.body).toBe('token=access%2Ftoken%2B1&token_type_hint=access_token');
  });

  it('authenticates with HTTP Basic and can leave out token_type_hint', async () => {
    server.respond = raw(200, '');
    await revokeToken(provider({ url: `${server.origin}/revoke`, auth: 'basic', send_token_type_hint: false }), credentials, { tokens });

    const [received] = server.requests;
    expect(received?.headers.authorization).toBe(`Basic ${Buffer.from('client-1:client-secret-value-1').toString('base64')}`);
    expect(received?.body).toBe('token=refresh%2Ftoken%2B1');
  });

  it('puts the token in the path and sends no body for a HubSpot-like DELETE', async () => {
    server.respond = raw(204, '');
    await revokeToken(
      provider({ url: `${server.origin}/oauth/v1/refresh-tokens/\${token}`, method: 'DELETE', token_in: 'path', auth: 'none' }),
      credentials,
      { tokens },
    );

    const [received] = server.requests;
    expect(received).toMatchObject({ method: 'DELETE', path: '/oauth/v1/refresh-tokens/refresh%2Ftoken%2B1', body: '' });
    expect(received?.headers.authorization).toBeUndefined();
    expect(received?.headers['content-type']).toBeUndefined();
  });

  it('fills ${connectionConfig.x} in the revocation URL', async () => {
    server.respond = raw(200, '');
    await revokeToken(provider({ url: `${server.origin}/\${connectionConfig.instance}/revoke`, auth: 'none' }), credentials, {
      tokens,
      connectionConfig: { instance: 'eu1' },
    });
    expect(server.requests[0]?.path).toBe('/eu1/revoke');
  });

  it('resolves without a request when the provider defines no revocation', async () => {
    await revokeToken(provider(undefined), credentials, { tokens });
    expect(server.requests).toHaveLength(0);
  });

  it('resolves without a request when the token set lacks the token to revoke', async () => {
    await revokeToken(provider({ url: `${server.origin}/revoke` }), credentials, {
      tokens: { access_token: 'at', token_type: 'bearer' },
    });
    expect(server.requests).toHaveLength(0);
  });

  it('maps a 400 to provider_error, never needs_reauth', async () => {
    server.respond = json(400, { error: 'invalid_grant' });
    const err = await rejectionOf(() => revokeToken(provider({ url: `${server.origin}/revoke` }), credentials, { tokens }));
    expect(err).toMatchObject({ code: 'provider_error', details: { http_status: 400, provider_error: 'invalid_grant', grant: 'revocation' } });
  });

  it('maps a 503 to provider_unavailable', async () => {
    server.respond = raw(503, '', { 'retry-after': '5' });
    const err = await rejectionOf(() => revokeToken(provider({ url: `${server.origin}/revoke` }), credentials, { tokens }));
    expect(err).toMatchObject({ code: 'provider_unavailable', details: { http_status: 503, retry_after_s: 5 } });
  });

  it('never puts the tokens or the secret into the error', async () => {
    server.respond = json(400, { error: tokens.refresh_token, message: `${tokens.access_token} ${credentials.client_secret}` });
    const err = await rejectionOf(() => revokeToken(provider({ url: `${server.origin}/revoke` }), credentials, { tokens }));
    expect(err).toBeInstanceOf(BrokerError);
    const surface = errorSurface(err);
    for (const secret of [tokens.access_token, tokens.refresh_token ?? '', credentials.client_secret]) expect(surface).not.toContain(secret);
  });

  it('times out with provider_timeout', async () => {
    server.respond = () => undefined;
    const err = await rejectionOf(() => revokeToken(provider({ url: `${server.origin}/revoke` }), credentials, { tokens }, { timeoutMs: 200 }));
    expect(err).toMatchObject({ code: 'provider_timeout' });
  });
});
