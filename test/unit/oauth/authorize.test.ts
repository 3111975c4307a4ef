import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isBrokerError } from '../../../lib/errors';
import { buildAuthorizationUrl, newState, pkceChallenge } from '../../../lib/oauth/authorize';
import { MISSING_SIGNING_KEY, oidcNonceFor, pkceVerifierFor } from '../../../lib/connections/signing';
import { testProvider } from './fixtures';

const hubspotLike = testProvider('hubspot', {
  display_name: 'HubSpot',
  auth_mode: 'OAUTH2',
  authorization_url: 'https://app.hubspot.com/oauth/authorize',
  token_url: 'https://api.hubapi.com/oauth/v1/token',
  optional_scope_param: 'optional_scope',
});

const highlevelLike = testProvider('highlevel', {
  display_name: 'HighLevel',
  auth_mode: 'OAUTH2',
  authorization_url: 'https://marketplace.gohighlevel.com/oauth/chooselocation',
  token_url: 'https://services.leadconnectorhq.com/oauth/token',
  disable_pkce: true,
  authorization_params: { loginWindowOpenMode: 'self' },
});

const base = { clientId: 'client-1', redirectUri: 'https://broker.example/oauth/x/callback', state: 'state-123' };

function query(url: URL): Record<string, string> {
  return Object.fromEntries(url.searchParams);
}

describe('newState', () => {
  it('is 32 random bytes in base64url (256 bits)', () => {
    const state = newState();
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(state, 'base64url')).toHaveLength(32);
  });

  it('differs on every call', () => {
    const states = new Set(Array.from({ length: 100 }, () => newState()));
    expect(states.size).toBe(100);
  });
});

describe('PKCE and nonce derived from the state', () => {
  const key = { get: async () => new Uint8Array(32).fill(7) };

  it('a 43-char verifier (256 bits) per state, and its S256 challenge', async () => {
    const verifier = await pkceVerifierFor(key, 'state-1');
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await pkceVerifierFor(key, 'state-1')).toBe(verifier);
    expect(await pkceVerifierFor(key, 'state-2')).not.toBe(verifier);
    expect(await pkceChallenge(verifier)).toBe(createHash('sha256').update(verifier).digest('base64url'));
  });

  it('the nonce is another value than the verifier of the same state (each use has its own label)', async () => {
    expect(await oidcNonceFor(key, 'state-1')).not.toBe(await pkceVerifierFor(key, 'state-1'));
  });

  it('without a signing key, deriving says what to configure', async () => {
    await expect(pkceVerifierFor(MISSING_SIGNING_KEY, 's')).rejects.toMatchObject({ code: 'configuration_error', message: expect.stringContaining('BROKER_SIGNING_KEY_SECRET_ARN') });
  });
});

describe('buildAuthorizationUrl', () => {
  it('builds a HubSpot-like URL: space-separated scope, optional_scope, state and PKCE', () => {
    const url = buildAuthorizationUrl(hubspotLike, {
      ...base,
      scopes: ['crm.objects.contacts.read', 'oauth'],
      optionalScopes: ['automation', 'content'],
      codeChallenge: 'challenge-abc',
    });
    expect(`${url.origin}${url.pathname}`).toBe('https://app.hubspot.com/oauth/authorize');
    expect(query(url)).toEqual({
      response_type: 'code',
      client_id: 'client-1',
      redirect_uri: 'https://broker.example/oauth/x/callback',
      scope: 'crm.objects.contacts.read oauth',
      optional_scope: 'automation content',
      state: 'state-123',
      code_challenge: 'challenge-abc',
      code_challenge_method: 'S256',
    });
  });

  it('builds a HighLevel-like URL: no PKCE even when a challenge is passed, extra authorization_params', () => {
    const url = buildAuthorizationUrl(highlevelLike, { ...base, scopes: ['contacts.readonly'], codeChallenge: 'challenge-abc' });
    expect(query(url)).toEqual({
      response_type: 'code',
      client_id: 'client-1',
      redirect_uri: 'https://broker.example/oauth/x/callback',
      scope: 'contacts.readonly',
      state: 'state-123',
      loginWindowOpenMode: 'self',
    });
  });

  it('keeps the query the authorization_url already has', () => {
    const provider = testProvider('pinned', {
      display_name: 'Pinned',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://auth.example/authorize?account=123&prompt=consent',
      token_url: 'https://auth.example/token',
    });
    const url = buildAuthorizationUrl(provider, { ...base, scopes: ['read'] });
    expect(url.searchParams.get('account')).toBe('123');
    expect(url.searchParams.get('prompt')).toBe('consent');
    expect(url.searchParams.get('state')).toBe('state-123');
    expect(url.searchParams.get('scope')).toBe('read');
  });

  it('joins scopes with the provider separator and drops duplicates', () => {
    const provider = testProvider('comma', {
      display_name: 'Comma',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://auth.example/authorize',
      token_url: 'https://auth.example/token',
      scope_separator: ',',
    });
    const url = buildAuthorizationUrl(provider, { ...base, scopes: ['a', 'b', 'a'] });
    expect(url.searchParams.get('scope')).toBe('a,b');
  });

  it('omits scope when there are none, and optional scopes when the provider has no parameter for them', () => {
    const url = buildAuthorizationUrl(highlevelLike, { ...base, scopes: [], optionalScopes: ['extra'] });
    expect(url.searchParams.has('scope')).toBe(false);
    expect([...url.searchParams.values()]).not.toContain('extra');
  });

  it('omits the optional scope parameter when there are no optional scopes', () => {
    const url = buildAuthorizationUrl(hubspotLike, { ...base, scopes: ['oauth'], optionalScopes: [] });
    expect(url.searchParams.has('optional_scope')).toBe(false);
  });

  it('fills ${connectionConfig.x} in the authorization_url', () => {
    const provider = testProvider('tenanted', {
      display_name: 'Tenanted',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://${connectionConfig.subdomain}.auth.example/authorize',
      token_url: 'https://${connectionConfig.subdomain}.auth.example/token',
    });
    const url = buildAuthorizationUrl(provider, { ...base, scopes: [], connectionConfig: { subdomain: 'acme' } });
    expect(url.host).toBe('acme.auth.example');
  });

  it('fills ${connectionConfig.x} in authorization_params, encoded once', () => {
    const provider = testProvider('tenanted', {
      display_name: 'Tenanted',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://auth.example/authorize',
      token_url: 'https://auth.example/token',
      authorization_params: { audience: 'https://${connectionConfig.subdomain}.api.example/' },
      connection_config: { subdomain: {} },
    });
    const url = buildAuthorizationUrl(provider, { ...base, scopes: [], connectionConfig: { subdomain: 'a b' } });
    expect(url.searchParams.get('audience')).toBe('https://a b.api.example/');
    expect(url.search).toContain('audience=https%3A%2F%2Fa+b.api.example%2F');
  });

  it('throws invalid_request when a connectionConfig placeholder has no value', () => {
    const provider = testProvider('tenanted', {
      display_name: 'Tenanted',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://${connectionConfig.subdomain}.auth.example/authorize',
      token_url: 'https://auth.example/token',
    });
    expect(() => buildAuthorizationUrl(provider, { ...base, scopes: [] })).toThrow(
      expect.objectContaining({ code: 'invalid_request', details: { field: 'connection_config.subdomain' } }),
    );
  });

  it('throws configuration_error when the provider has no authorization_url', () => {
    const provider = testProvider('cc-only', { display_name: 'CC', auth_mode: 'OAUTH2_CC', token_url: 'https://auth.example/token' });
    let caught: unknown;
    try {
      buildAuthorizationUrl(provider, { ...base, scopes: [] });
    } catch (err) {
      caught = err;
    }
    expect(isBrokerError(caught, 'configuration_error')).toBe(true);
  });

  it('refuses authorization_params that would override state, client or PKCE binding', () => {
    const provider = testProvider('bad', {
      display_name: 'Bad',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://auth.example/authorize',
      token_url: 'https://auth.example/token',
      authorization_params: { redirect_uri: 'https://evil.example/' },
    });
    expect(() => buildAuthorizationUrl(provider, { ...base, scopes: [] })).toThrow(expect.objectContaining({ code: 'configuration_error' }));
  });
});
