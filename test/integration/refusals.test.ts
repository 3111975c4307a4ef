/**
 * Every refusal on the public and admin routes: the status, the message, and that
 * nothing was stored (no connection item, no install state left behind).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCallback, followInstall, openInstall } from '../support/browserless-consent';
import { allItems, connectionCount, installCookieFor, startTestBroker, type LocalFixture, signedInstallUrl } from '../support/local-broker';

let fixture: LocalFixture;

beforeAll(async () => {
  fixture = await startTestBroker({ config: { returnToAllowlist: ['https://app.example.com'] } });
});
afterAll(async () => {
  await fixture?.close();
});

const json = { accept: 'application/json' };

async function stateCount(): Promise<number> {
  return (await allItems(fixture.local)).filter((item) => item.kind?.S === 'state').length;
}

describe('install refusals', () => {
  it('unknown provider → 404 naming the known providers, nothing stored', async () => {
    const states = await stateCount();
    const res = await fetch(`${fixture.local.url}/oauth/nosuch/install`, { redirect: 'manual', headers: json });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('unknown_provider');
    expect(body.error.message).toMatch(/^Unknown provider "nosuch"\. Known providers: .*sandbox/);
    expect(await stateCount()).toBe(states);
  });

  it('unknown provider in a browser gets an HTML page, not JSON', async () => {
    const res = await fetch(`${fixture.local.url}/oauth/nosuch/install`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('Unknown provider &quot;nosuch&quot;');
  });

  it.each([
    ['another origin', 'https://evil.example.net/after'],
    ['a look-alike host', 'https://app.example.com.evil.net/'],
    ['credentials in the URL', 'https://user@app.example.com/'],
    ['a relative path', '/after'],
    ['a javascript: URL', 'javascript:alert(1)'],
  ])('return_to with %s → 400 return_to_not_allowed, nothing stored', async (_case, returnTo) => {
    const states = await stateCount();
    const res = await fetch(`${fixture.local.installUrl}?return_to=${encodeURIComponent(returnTo)}`, { redirect: 'manual', headers: json });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('return_to_not_allowed');
    expect(await stateCount()).toBe(states);
  });

  it('an allowed return_to is accepted', async () => {
    const res = await fetch(`${fixture.local.installUrl}?return_to=${encodeURIComponent('https://app.example.com/done?x=1')}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
  });

  it('a malformed connection_id → 400 invalid_request', async () => {
    const res = await fetch(`${fixture.local.installUrl}?connection_id=${encodeURIComponent('a/b c')}`, { redirect: 'manual', headers: json });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
  });
});

describe('callback refusals', () => {
  it('an unknown state → 400 invalid_state page, nothing stored', async () => {
    const connections = await connectionCount(fixture.local);
    const state = 'x'.repeat(43);
    // A browser holding a valid install cookie for it: the refusal is the state's, not the binding's.
    const cookie = await installCookieFor(fixture.local, state);
    const res = await fetch(`${fixture.local.url}/oauth/sandbox/callback?code=abc&state=${state}`, { redirect: 'manual', headers: { cookie } });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('The install link has expired or was already used');
    expect(page).toContain('invalid_state');
    expect(await connectionCount(fixture.local)).toBe(connections);
  });

  it('a missing state → 400 invalid_state for a provider that does not allow marketplace-initiated installs', async () => {
    const res = await fetch(`${fixture.local.url}/oauth/sandbox/callback?code=abc`, { redirect: 'manual', headers: json });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'invalid_state', message: 'The callback has no state; start the install again from the install link' } });
  });

  it('a replayed callback (state already used) → 400 invalid_state, the first install stands alone', async () => {
    const install = await followInstall(await signedInstallUrl(fixture.local, 'replay-me'));
    const cookie = install.jar.header(install.callbackUrl)!;
    const first = await fetchCallback(install, { redirect: 'manual' });
    expect(first.status).toBe(303);
    const connections = await connectionCount(fixture.local);
    // Replayed from the same browser with the cookie it had (the answer cleared it; a copy of the request keeps it).
    const replay = await fetch(install.callbackUrl, { redirect: 'manual', headers: { ...json, cookie } });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'invalid_state', message: expect.stringContaining('expired or was already used') });
    expect(await connectionCount(fixture.local)).toBe(connections);
  });

  it('an expired state → 400 invalid_state', async () => {
    const install = await followInstall(await signedInstallUrl(fixture.local, 'too-late'));
    fixture.clock.advance(11 * 60_000);
    try {
      const res = await fetchCallback(install, { redirect: 'manual', headers: json });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'invalid_state', message: expect.stringContaining('expired or was already used') });
      expect(await fixture.local.broker.ctx.store.get('too-late')).toBeUndefined();
    } finally {
      fixture.clock.advance(-11 * 60_000);
    }
  });

  it("another provider's state → 400 invalid_state", async () => {
    const { state, jar } = await openInstall(fixture.local.installUrl);
    const res = await fetchCallback({ callbackUrl: new URL(`${fixture.local.url}/oauth/sandbox-cc/callback?code=abc&state=${state}`), jar }, { redirect: 'manual', headers: json });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toEqual({
      code: 'invalid_state',
      message: 'The state does not belong to this provider; start the install again',
    });
  });

  it('?error=access_denied with a valid state → redirect to return_to with the error, nothing stored', async () => {
    const { state, jar } = await openInstall(await signedInstallUrl(fixture.local, 'denied', { return_to: 'https://app.example.com/done' }));
    const callbackUrl = new URL(`${fixture.local.url}/oauth/sandbox/callback?error=access_denied&error_description=User+said+no&state=${state}&iss=${encodeURIComponent(fixture.local.sandbox.issuer)}`);
    const res = await fetchCallback({ callbackUrl, jar }, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('https://app.example.com/done');
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('error_code')).toBe('authorization_denied');
    expect(await fixture.local.broker.ctx.store.get('denied')).toBeUndefined();
  });

  it('?error=access_denied without return_to → a 400 page that says so, nothing stored', async () => {
    const { state, jar } = await openInstall(await signedInstallUrl(fixture.local, 'denied2'));
    const callbackUrl = new URL(`${fixture.local.url}/oauth/sandbox/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(fixture.local.sandbox.issuer)}`);
    const res = await fetchCallback({ callbackUrl, jar }, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('The provider did not authorize the app (access_denied)');
    expect(await fixture.local.broker.ctx.store.get('denied2')).toBeUndefined();
  });

  it('a code the provider refuses (invalid_grant) with a valid state → 400 "start again", nothing stored, state used up', async () => {
    const { state, jar } = await openInstall(await signedInstallUrl(fixture.local, 'bad-code'));
    const cookie = jar.header(new URL(fixture.local.url))!;
    const res = await fetch(`${fixture.local.url}/oauth/sandbox/callback?code=not-a-real-code&state=${state}&iss=${encodeURIComponent(fixture.local.sandbox.issuer)}`, { redirect: 'manual', headers: { ...json, cookie } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('start the install again') });
    const again = await fetch(`${fixture.local.url}/oauth/sandbox/callback?code=x&state=${state}`, { headers: { ...json, cookie } });
    expect(again.status).toBe(400); // used up
    expect(((await again.json()) as { error: { message: string } }).error.message).toContain('expired or was already used');
    expect(body.error.message).not.toContain('not-a-real-code');
    expect(await fixture.local.broker.ctx.store.get('bad-code')).toBeUndefined();
  });
});

describe('admin refusals', () => {
  it.each([
    ['GET', '/connections'],
    ['GET', '/connections/x'],
    ['POST', '/connections/x/token'],
    ['PUT', '/connections/x'],
    ['DELETE', '/connections/x'],
  ])('%s %s without the admin key → 401 unauthorized', async (method, path) => {
    const res = await fetch(`${fixture.local.url}${path}`, { method });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('a wrong admin key → 401', async () => {
    const res = await fetch(`${fixture.local.url}/connections`, { headers: { authorization: 'Bearer wrong' } });
    expect(res.status).toBe(401);
  });

  it('POST /connections/{id}/token with a non-boolean force_refresh → 400', async () => {
    const res = await fetch(`${fixture.local.url}/connections/x/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.local.adminKey}` },
      body: '{"force_refresh":"yes"}',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
  });

  it('malformed JSON → 400 invalid_request', async () => {
    const res = await fetch(`${fixture.local.url}/connections/x`, { method: 'PUT', headers: { authorization: `Bearer ${fixture.local.adminKey}` }, body: '{' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'invalid_request', message: 'Body must be valid JSON' } });
  });
});
