import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxProvider, type SandboxProvider } from '../../lib/local/sandbox-provider.js';
import { followInstall } from '../support/browserless-consent.js';

const client = {
  client_id: 'broker-test',
  client_secret: 'broker-test-secret',
  redirect_uris: ['http://127.0.0.1:9/oauth/sandbox/callback'],
};
const other = {
  client_id: 'other-app',
  client_secret: 'other-secret',
  redirect_uris: ['http://127.0.0.1:9/other/callback'],
};
const redirectUri = client.redirect_uris[0]!;

let sandbox: SandboxProvider;

beforeAll(async () => {
  sandbox = await startSandboxProvider({ port: 0, clients: [client, other] });
});
afterAll(async () => {
  await sandbox.close();
});

function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(params: Record<string, string>): string {
  const url = new URL('/auth', sandbox.issuer);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    scope: 'openid offline_access contacts.read',
    prompt: 'consent',
    ...params,
  }).toString();
  return url.href;
}

async function postForm(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(new URL(path, sandbox.issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function token(form: Record<string, string>, headers?: Record<string, string>) {
  return postForm('/token', form, headers);
}

/** The authorization-code exchange the broker makes (client_secret_post), plus any extra parameters. */
function exchange(code: string, extra: Record<string, string> = {}) {
  return token({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    ...extra,
    client_id: client.client_id,
    client_secret: client.client_secret,
  });
}

async function me(accessToken: string) {
  const response = await fetch(new URL('/api/me', sandbox.issuer), { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function codeFor(params: Record<string, string>): Promise<string> {
  const { callbackUrl } = await followInstall(authorizeUrl(params));
  expect(callbackUrl.origin + callbackUrl.pathname).toBe(redirectUri);
  expect(callbackUrl.searchParams.get('error')).toBeNull();
  return callbackUrl.searchParams.get('code')!;
}

describe('sandbox provider (oidc-provider)', () => {
  it('publishes the default oidc-provider routes', async () => {
    const response = await fetch(new URL('/.well-known/openid-configuration', sandbox.issuer));
    const doc = (await response.json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(sandbox.issuer);
    expect(sandbox.issuer).toBe(`http://127.0.0.1:${sandbox.port}`);
    expect(doc.authorization_endpoint).toBe(`${sandbox.issuer}/auth`);
    expect(doc.token_endpoint).toBe(`${sandbox.issuer}/token`);
    expect(doc.revocation_endpoint).toBe(`${sandbox.issuer}/token/revocation`);
    expect(doc.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
    );
  });

  it('runs a full PKCE code flow with auto-consent, then rotates the refresh token and rejects reuse', async () => {
    const before = sandbox.stats.tokenRequests;
    const { verifier, challenge } = pkcePair();
    const state = randomBytes(16).toString('base64url');
    const { callbackUrl, visited } = await followInstall(
      authorizeUrl({ state, code_challenge: challenge, code_challenge_method: 'S256' }),
    );
    expect(visited.some((u) => u.pathname.startsWith('/interaction/'))).toBe(true);
    expect(callbackUrl.origin + callbackUrl.pathname).toBe(redirectUri);
    expect(callbackUrl.searchParams.get('state')).toBe(state);
    expect(callbackUrl.searchParams.get('iss')).toBe(sandbox.issuer);
    const code = callbackUrl.searchParams.get('code');
    expect(code).toBeTruthy();

    const exchanged = await exchange(code!, { code_verifier: verifier });
    expect(exchanged.status).toBe(200);
    expect(exchanged.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(exchanged.body.scope).toBe('openid offline_access contacts.read');
    expect(typeof exchanged.body.access_token).toBe('string');
    expect(typeof exchanged.body.refresh_token).toBe('string');
    expect(typeof exchanged.body.id_token).toBe('string');

    const first = await me(exchanged.body.access_token as string);
    expect(first).toEqual({
      status: 200,
      body: { sub: 'sandbox-user', scope: 'openid offline_access contacts.read', client_id: client.client_id },
    });

    const refreshed = await token({
      grant_type: 'refresh_token',
      refresh_token: exchanged.body.refresh_token as string,
      client_id: client.client_id,
      client_secret: client.client_secret,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).toBeTruthy();
    expect(refreshed.body.refresh_token).not.toBe(exchanged.body.refresh_token);
    expect((await me(refreshed.body.access_token as string)).status).toBe(200);

    const reused = await token({
      grant_type: 'refresh_token',
      refresh_token: exchanged.body.refresh_token as string,
      client_id: client.client_id,
      client_secret: client.client_secret,
    });
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');

    // oidc-provider treats reuse as theft: the whole chain dies, the rotated token included.
    const afterReuse = await token({
      grant_type: 'refresh_token',
      refresh_token: refreshed.body.refresh_token as string,
      client_id: client.client_id,
      client_secret: client.client_secret,
    });
    expect(afterReuse.body.error).toBe('invalid_grant');
    expect((await me(refreshed.body.access_token as string)).status).toBe(401);

    expect(sandbox.stats.tokenRequests - before).toBe(4);
  });

  it('rejects a PKCE exchange without the verifier', async () => {
    const { challenge } = pkcePair();
    const code = await codeFor({ code_challenge: challenge, code_challenge_method: 'S256' });
    const res = await exchange(code);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
  });

  it('runs a code flow without PKCE and without openid (HighLevel-style), still issuing a refresh token', async () => {
    const state = 'no-pkce-state';
    const { callbackUrl } = await followInstall(authorizeUrl({ scope: 'contacts.read contacts.write', state }));
    expect(callbackUrl.searchParams.get('state')).toBe(state);
    const res = await token(
      {
        grant_type: 'authorization_code',
        code: callbackUrl.searchParams.get('code')!,
        redirect_uri: redirectUri,
      },
      // client_secret_basic is accepted as well as client_secret_post
      { authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` },
    );
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('contacts.read contacts.write');
    expect(res.body.refresh_token).toBeTruthy();
    expect(res.body.id_token).toBeUndefined();
    expect((await me(res.body.access_token as string)).body.scope).toBe('contacts.read contacts.write');

    const refreshed = await token({
      grant_type: 'refresh_token',
      refresh_token: res.body.refresh_token as string,
      client_id: client.client_id,
      client_secret: client.client_secret,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.scope).toBe('contacts.read contacts.write');
  });

  it('sends authorization errors back to the redirect_uri with the state', async () => {
    const { callbackUrl } = await followInstall(
      authorizeUrl({ state: 'err-state', code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }),
    );
    expect(callbackUrl.searchParams.get('error')).toBe('invalid_request');
    expect(callbackUrl.searchParams.get('state')).toBe('err-state');
    expect(callbackUrl.searchParams.get('code')).toBeNull();
  });

  it('grants contacts.read to a request without scope (RD Station-style), instead of access_denied', async () => {
    const url = new URL(authorizeUrl({ state: 's' }));
    url.searchParams.delete('scope');
    const { callbackUrl } = await followInstall(url.href);
    const res = await exchange(callbackUrl.searchParams.get('code')!);
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('contacts.read');
    expect(res.body.refresh_token).toBeTruthy();
  });

  it('does not grant scopes it does not know', async () => {
    const code = await codeFor({ scope: 'contacts.read billing.admin' });
    const res = await exchange(code);
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('contacts.read');
  });

  it('issues client_credentials tokens that the resource accepts', async () => {
    const res = await token({
      grant_type: 'client_credentials',
      client_id: client.client_id,
      client_secret: client.client_secret,
      scope: 'contacts.read',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'contacts.read' });
    expect(res.body.refresh_token).toBeUndefined();
    const who = await me(res.body.access_token as string);
    expect(who).toEqual({ status: 200, body: { sub: client.client_id, scope: 'contacts.read', client_id: client.client_id } });
  });

  it('answers a wrong client secret with 401 invalid_client', async () => {
    const res = await token({
      grant_type: 'client_credentials',
      client_id: client.client_id,
      client_secret: 'wrong',
    });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('answers 401 on /api/me for unknown or missing tokens', async () => {
    expect((await me('not-a-token')).status).toBe(401);
    const response = await fetch(new URL('/api/me', sandbox.issuer));
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_token');
  });

  it('revokes a refresh token at /token/revocation, killing its grant', async () => {
    const code = await codeFor({});
    const tokens = await exchange(code);
    const revoked = await fetch(new URL('/token/revocation', sandbox.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: tokens.body.refresh_token as string,
        token_type_hint: 'refresh_token',
        client_id: client.client_id,
        client_secret: client.client_secret,
      }),
    });
    expect(revoked.status).toBe(200);
    const refresh = await token({
      grant_type: 'refresh_token',
      refresh_token: tokens.body.refresh_token as string,
      client_id: client.client_id,
      client_secret: client.client_secret,
    });
    expect(refresh.body.error).toBe('invalid_grant');
    expect((await me(tokens.body.access_token as string)).status).toBe(401);
  });

  it('revokeGrantsFor() simulates an uninstall for one client only', async () => {
    const mine = await exchange(await codeFor({}));
    const { callbackUrl } = await followInstall(
      `${sandbox.issuer}/auth?${new URLSearchParams({
        response_type: 'code',
        client_id: other.client_id,
        redirect_uri: other.redirect_uris[0]!,
        scope: 'offline_access contacts.read',
        prompt: 'consent',
      })}`,
    );
    const theirs = await token({
      grant_type: 'authorization_code',
      code: callbackUrl.searchParams.get('code')!,
      redirect_uri: other.redirect_uris[0]!,
      client_id: other.client_id,
      client_secret: other.client_secret,
    });
    expect(theirs.status).toBe(200);

    expect(await sandbox.revokeGrantsFor(client.client_id)).toBeGreaterThan(0);
    expect((await me(mine.body.access_token as string)).status).toBe(401);
    const dead = await token({
      grant_type: 'refresh_token',
      refresh_token: mine.body.refresh_token as string,
      client_id: client.client_id,
      client_secret: client.client_secret,
    });
    expect(dead.body.error).toBe('invalid_grant');
    expect((await me(theirs.body.access_token as string)).status).toBe(200);
  });

  it('counts token requests per grant type, failures included', async () => {
    const before = { ...sandbox.stats.byGrant };
    const total = sandbox.stats.tokenRequests;
    await token({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: 'nope' });
    await token({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret });
    await token({ grant_type: 'refresh_token', refresh_token: 'bogus', client_id: client.client_id, client_secret: client.client_secret });
    expect(sandbox.stats.tokenRequests - total).toBe(3);
    expect(sandbox.stats.byGrant.client_credentials! - (before.client_credentials ?? 0)).toBe(2);
    expect(sandbox.stats.byGrant.refresh_token! - (before.refresh_token ?? 0)).toBe(1);
  });

  it('expires access tokens after accessTokenTtlS', async () => {
    const shortLived = await startSandboxProvider({ clients: [client], accessTokenTtlS: 1 });
    try {
      const res = await fetch(`${shortLived.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: client.client_id,
          client_secret: client.client_secret,
        }),
      });
      const body = (await res.json()) as { access_token: string; expires_in: number };
      expect(body.expires_in).toBe(1);
      const check = () =>
        fetch(`${shortLived.issuer}/api/me`, { headers: { authorization: `Bearer ${body.access_token}` } }).then((r) => r.status);
      expect(await check()).toBe(200);
      await new Promise((r) => setTimeout(r, 1_100));
      expect(await check()).toBe(401);
    } finally {
      await shortLived.close();
    }
  });

  it('rejects invalid client metadata at start, not on the first request', async () => {
    await expect(
      startSandboxProvider({ clients: [{ client_id: 'bad', client_secret: 'x', redirect_uris: ['not a url'] }] }),
    ).rejects.toThrow(/redirect_uris/);
  });

  it('can keep refresh tokens unrotated', async () => {
    const plain = await startSandboxProvider({ clients: [client], rotateRefreshToken: false });
    try {
      const { callbackUrl } = await followInstall(
        `${plain.issuer}/auth?${new URLSearchParams({
          response_type: 'code',
          client_id: client.client_id,
          redirect_uri: redirectUri,
          scope: 'contacts.read',
        })}`,
      );
      const post = (form: Record<string, string>) =>
        fetch(`${plain.issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ client_id: client.client_id, client_secret: client.client_secret, ...form }),
        }).then((r) => r.json() as Promise<Record<string, string>>);
      const tokens = await post({
        grant_type: 'authorization_code',
        code: callbackUrl.searchParams.get('code')!,
        redirect_uri: redirectUri,
      });
      const once = await post({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
      const twice = await post({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
      expect(once.refresh_token).toBe(tokens.refresh_token);
      expect(twice.access_token).toBeTruthy();
      expect(plain.stats.byGrant).toEqual({ authorization_code: 1, refresh_token: 2 });
    } finally {
      await plain.close();
    }
  });
});
