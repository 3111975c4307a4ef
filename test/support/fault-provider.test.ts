import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultProvider, type FaultProvider } from './fault-provider.js';

let fp: FaultProvider | undefined;
afterEach(async () => {
  await fp?.close();
  fp = undefined;
});

async function post(url: string, form: Record<string, string>, init: { json?: boolean; headers?: Record<string, string> } = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': init.json ? 'application/json' : 'application/x-www-form-urlencoded',
      ...init.headers,
    },
    body: init.json ? JSON.stringify(form) : new URLSearchParams(form),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: response.status, headers: response.headers, body: body as Record<string, unknown> };
}

describe('fault provider stub', () => {
  it('exchanges a code, rotates refresh tokens strictly, and does not kill the new token on reuse', async () => {
    fp = await startFaultProvider({ client: { id: 'c1', secret: 's1' } });
    const code = fp.issueCode({ scope: 'contacts.read', extras: { locationId: 'loc-1' } });
    const first = await post(fp.tokenUrl, { grant_type: 'authorization_code', code, client_id: 'c1', client_secret: 's1' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'contacts.read', locationId: 'loc-1' });

    const again = await post(fp.tokenUrl, { grant_type: 'authorization_code', code, client_id: 'c1', client_secret: 's1' });
    expect(again.body.error).toBe('invalid_grant');

    const rotated = await post(fp.tokenUrl, {
      grant_type: 'refresh_token',
      refresh_token: first.body.refresh_token as string,
      client_id: 'c1',
      client_secret: 's1',
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).not.toBe(first.body.refresh_token);
    expect(rotated.body.locationId).toBe('loc-1');

    const reuse = await post(fp.tokenUrl, {
      grant_type: 'refresh_token',
      refresh_token: first.body.refresh_token as string,
      client_id: 'c1',
      client_secret: 's1',
    });
    expect(reuse).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(fp.isRefreshTokenValid(rotated.body.refresh_token as string)).toBe(true);

    const me = await fetch(`${fp.url}/api/me`, { headers: { authorization: `Bearer ${rotated.body.access_token as string}` } });
    expect(me.status).toBe(200);

    const wrongSecret = await post(fp.tokenUrl, { grant_type: 'client_credentials', client_id: 'c1', client_secret: 'x' });
    expect(wrongSecret).toMatchObject({ status: 401, body: { error: 'invalid_client' } });

    expect(fp.calls.token).toBe(5);
    expect(fp.calls.byGrant).toEqual({ authorization_code: 2, refresh_token: 2, client_credentials: 1 });
    expect(fp.requests[0]).toMatchObject({ method: 'POST', path: '/token', clientId: 'c1', clientAuth: 'post' });
  });

  it('plays scripted responses in order: 429 with retry-after, 503, non-JSON, then the real thing', async () => {
    fp = await startFaultProvider();
    fp.script.push(
      { status: 429, headers: { 'retry-after': '30' }, body: { error: 'rate_limited' } },
      { status: 503 },
      { body: 'not json' },
    );
    const form = { grant_type: 'client_credentials', client_id: 'a', client_secret: 'b' };
    const limited = await post(fp.tokenUrl, form);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('30');
    expect((await post(fp.tokenUrl, form)).status).toBe(503);
    const garbage = await post(fp.tokenUrl, form);
    expect(garbage).toMatchObject({ status: 200, body: 'not json' });
    const ok = await post(fp.tokenUrl, form);
    expect(ok.status).toBe(200);
    expect(fp.calls.token).toBe(4);
  });

  it('hangs when told to, until the client gives up', async () => {
    fp = await startFaultProvider();
    fp.script.push({ hang: true });
    const started = Date.now();
    await expect(
      fetch(fp.tokenUrl, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
        signal: AbortSignal.timeout(150),
      }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('can rotate and then lose the response (runHandler + hang)', async () => {
    fp = await startFaultProvider();
    const first = await post(fp.tokenUrl, { grant_type: 'authorization_code', code: 'good' });
    const rt = first.body.refresh_token as string;
    fp.script.push({ runHandler: true, hang: true });
    await expect(
      fetch(fp.tokenUrl, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt }),
        signal: AbortSignal.timeout(150),
      }),
    ).rejects.toThrow();
    expect(fp.isRefreshTokenValid(rt)).toBe(false);
  });

  it('gives Marketo semantics: same token until expiry with the remaining life, via GET', async () => {
    let now = 1_700_000_000_000;
    fp = await startFaultProvider({ sameTokenUntilExpiry: true, expiresIn: 3600, clock: () => now });
    const get = async () => {
      const url = `${fp!.tokenUrl}?${new URLSearchParams({ grant_type: 'client_credentials', client_id: 'm', client_secret: 's' })}`;
      return (await (await fetch(url)).json()) as { access_token: string; expires_in: number };
    };
    const a = await get();
    now += 600_000;
    const b = await get();
    expect(b.access_token).toBe(a.access_token);
    expect(b.expires_in).toBe(3000);
    now += 3_000_000;
    const c = await get();
    expect(c.access_token).not.toBe(a.access_token);
    expect(c.expires_in).toBe(3600);
    expect(fp.requests[0]).toMatchObject({ method: 'GET', query: { grant_type: 'client_credentials', client_id: 'm' } });

    const me = await fetch(`${fp.url}/api/me`, { headers: { authorization: `Bearer ${a.access_token}` } });
    expect(me.status).toBe(401);
  });

  it('answers the configured dead-grant body after revokeAll(), for JSON bodies without grant_type (RD Station)', async () => {
    fp = await startFaultProvider({ shapeTokenResponse: ({ token_type: _t, ...rest }) => rest });
    const first = await post(fp.tokenUrl, { client_id: 'rd', client_secret: 's', code: 'good' }, { json: true });
    expect(first.status).toBe(200);
    expect(first.body.token_type).toBeUndefined();
    fp.revokeAll({ error_type: 'INVALID_REFRESH_TOKEN' });
    const dead = await post(fp.tokenUrl, { client_id: 'rd', client_secret: 's', refresh_token: first.body.refresh_token as string }, { json: true });
    expect(dead).toMatchObject({ status: 400, body: { error_type: 'INVALID_REFRESH_TOKEN' } });
    expect(fp.calls.byGrant).toEqual({ authorization_code: 1, refresh_token: 1 });
  });

  it('records revocations (RFC 7009 and HubSpot styles) and checks PKCE on codes from /authorize', async () => {
    fp = await startFaultProvider();
    const verifier = 'v'.repeat(43);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const redirect = 'http://127.0.0.1:9/oauth/x/callback';
    const auth = await fetch(
      `${fp.authorizeUrl}?${new URLSearchParams({ client_id: 'c', redirect_uri: redirect, state: 'st', code_challenge: challenge })}`,
      { redirect: 'manual' },
    );
    expect(auth.status).toBe(302);
    const back = new URL(auth.headers.get('location')!);
    expect(back.searchParams.get('state')).toBe('st');
    const code = back.searchParams.get('code')!;
    const bad = await post(fp.tokenUrl, { grant_type: 'authorization_code', code, redirect_uri: redirect, code_verifier: 'w'.repeat(43) });
    expect(bad.body.error).toBe('invalid_grant');
    const code2 = fp.issueCode({ redirectUri: redirect, codeChallenge: challenge });
    const good = await post(fp.tokenUrl, { grant_type: 'authorization_code', code: code2, redirect_uri: redirect, code_verifier: verifier });
    expect(good.status).toBe(200);

    const rt = good.body.refresh_token as string;
    expect((await fetch(`${fp.url}/refresh-tokens/${encodeURIComponent(rt)}`, { method: 'DELETE' })).status).toBe(204);
    expect((await post(`${fp.url}/revoke`, { token: good.body.access_token as string })).status).toBe(200);
    expect(fp.revoked).toEqual([rt, good.body.access_token]);
    expect(fp.calls.revoke).toBe(2);
    const refresh = await post(fp.tokenUrl, { grant_type: 'refresh_token', refresh_token: rt });
    expect(refresh.body.error).toBe('invalid_grant');
  });
});
