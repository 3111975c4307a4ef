/**
 * Regression: login CSRF on the callback (RFC 6749 §10.12, RFC 9700 §4.7). An attacker opened a
 * public install link, consented with their own account, stopped before the callback and sent
 * that callback URL (their `code` and `state`) to a victim: the victim's browser, without any
 * cookie, completed the install, and the app's return_to received the attacker's connection id
 * in the victim's session. The callback is now bound to the browser that opened the install link
 * (an install cookie per install, lib/http/install-cookie.ts); without it nothing is consumed,
 * exchanged or stored.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizeHandler } from '../../functions/authorize';
import { createCallbackHandler } from '../../functions/callback';
import { MAX_INSTALL_COOKIES } from '../../lib/http/install-cookie';
import { lambdaContext } from '../../lib/local/server';
import { apiEvent } from '../fuzz/arbitraries';
import { CookieJar, fetchCallback, followInstall, type FollowInstallResult } from '../support/browserless-consent';
import { useFaultWorkers } from '../support/fault-broker';
import { allItems, connectionCount, peerBroker, startTestBroker, type LocalFixture } from '../support/local-broker';

const APP = 'https://app.example.com';
const COOKIE_PREFIX = 'oauth-broker-install-';
const REFUSAL = 'This install was started in another browser';
const json = { accept: 'application/json' };
const html = { accept: 'text/html' };

let fixture: LocalFixture;

beforeAll(async () => {
  fixture = await startTestBroker({ config: { returnToAllowlist: [APP] } });
});
afterAll(async () => {
  await fixture?.close();
});

async function stateCount(): Promise<number> {
  return (await allItems(fixture.local)).filter((item) => item.kind?.S === 'state').length;
}

/** The public install link with the app's return_to, opened in the browser whose cookies `jar` holds, consented at the sandbox as `account`. */
async function install(jar: CookieJar, account: string): Promise<FollowInstallResult & { setCookie: string[] }> {
  const link = new URL(`${fixture.local.installUrl}?return_to=${encodeURIComponent(`${APP}/connected`)}`);
  const res = await fetch(link, { redirect: 'manual' });
  expect(res.status).toBe(302);
  jar.store(link, res);
  const authorize = new URL(res.headers.get('location')!);
  authorize.searchParams.set('login_hint', account);
  return { ...(await followInstall(authorize.toString(), { jar })), setCookie: res.headers.getSetCookie() };
}

/** What the store and the provider saw, to show a refusal changed nothing. */
async function snapshot(): Promise<{ connections: number; states: number; tokenRequests: number }> {
  return { connections: await connectionCount(fixture.local), states: await stateCount(), tokenRequests: fixture.local.sandbox.stats.tokenRequests };
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

function installCookieOf(setCookie: string[]): { name: string; value: string; attributes: string[] } {
  const header = setCookie.find((c) => c.includes(COOKIE_PREFIX));
  expect(header, `no install cookie in ${JSON.stringify(setCookie)}`).toBeDefined();
  const [pair = '', ...attributes] = header!.split(';').map((part) => part.trim());
  const eq = pair.indexOf('=');
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
}

describe('the callback is bound to the browser that opened the install link', () => {
  it("the attacker's callback URL opened in the victim's browser (no install cookie) → 400 invalid_state, page and JSON; nothing consumed, exchanged or stored; the attacker's own browser can still finish", async () => {
    const attacker = await install(new CookieJar(), 'mallory');
    const before = await snapshot();

    const page = await fetch(attacker.callbackUrl, { redirect: 'manual', headers: html });
    expect(page.status).toBe(400);
    const body = await page.text();
    expect(body).toContain(REFUSAL);
    expect(body).toContain('invalid_state');
    const api = await fetch(attacker.callbackUrl, { redirect: 'manual', headers: json });
    expect(api.status).toBe(400);
    expect(await errorOf(api)).toEqual({ code: 'invalid_state', message: expect.stringContaining(REFUSAL) });

    expect(await snapshot()).toEqual(before);
    expect(await fixture.local.broker.ctx.store.get('sandbox:mallory', { consistent: true })).toBeUndefined();

    const own = await fetchCallback(attacker, { redirect: 'manual' });
    expect(own.status).toBe(303);
    expect(await connectionCount(fixture.local)).toBe(before.connections + 1);
  });

  it("the victim's browser holds the cookie of its own install: the attacker's callback is still refused", async () => {
    const victimJar = new CookieJar();
    const victim = await install(victimJar, 'alice');
    const attacker = await install(new CookieJar(), 'mallory2');
    const before = await snapshot();

    const res = await fetchCallback({ callbackUrl: attacker.callbackUrl, jar: victimJar }, { redirect: 'manual', headers: json });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: 'invalid_state', message: expect.stringContaining(REFUSAL) });
    expect(await snapshot()).toEqual(before);
    // The victim's own install is untouched by the refusal.
    expect((await fetchCallback(victim, { redirect: 'manual' })).status).toBe(303);
  });

  it('a tampered cookie value, or the value of another install under this name → refused, nothing consumed', async () => {
    const attacker = await install(new CookieJar(), 'mallory3');
    const other = await install(new CookieJar(), 'mallory4');
    const mine = installCookieOf(attacker.setCookie);
    const theirs = installCookieOf(other.setCookie);
    expect(theirs.name).not.toBe(mine.name);
    const before = await snapshot();

    const flipped = `${mine.value.slice(0, -2)}${mine.value.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const value of [flipped, theirs.value, '', `${mine.value}x`]) {
      const res = await fetch(attacker.callbackUrl, { redirect: 'manual', headers: { ...json, cookie: `${mine.name}=${value}` } });
      expect(res.status, value).toBe(400);
      expect(await errorOf(res)).toEqual({ code: 'invalid_state', message: expect.stringContaining(REFUSAL) });
    }
    expect(await snapshot()).toEqual(before);
  });

  it('with its cookie → 303 to return_to, stored, and the answer clears the cookie', async () => {
    const jar = new CookieJar();
    const done = await install(jar, 'bob');
    const cookie = installCookieOf(done.setCookie);
    expect(cookie.name.startsWith(COOKIE_PREFIX)).toBe(true);
    expect(cookie.attributes).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Lax', 'Path=/', `Max-Age=${fixture.local.broker.ctx.config.stateTtlMs / 1000}`]));

    const res = await fetchCallback(done, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get('location')!).searchParams.get('connection_id')).toBe('sandbox:bob');
    expect(await fixture.local.broker.ctx.store.get('sandbox:bob', { consistent: true })).toBeDefined();
    const cleared = installCookieOf(res.headers.getSetCookie());
    expect(cleared).toMatchObject({ name: cookie.name, value: '' });
    expect(cleared.attributes).toContain('Max-Age=0');
    expect(jar.header(done.callbackUrl) ?? '').not.toContain(cookie.name);
  });

  it('a declined consent goes back to the app only from the browser that started it, and clears the cookie', async () => {
    const jar = new CookieJar();
    const started = await install(jar, 'erin');
    const denied = new URL(started.callbackUrl);
    for (const name of ['code', 'scope', 'session_state']) denied.searchParams.delete(name);
    denied.searchParams.set('error', 'access_denied');
    const before = await snapshot();

    const elsewhere = await fetch(denied, { redirect: 'manual', headers: json });
    expect(elsewhere.status).toBe(400);
    expect(await errorOf(elsewhere)).toEqual({ code: 'invalid_state', message: expect.stringContaining(REFUSAL) });
    expect(await snapshot()).toEqual(before);

    const res = await fetchCallback({ callbackUrl: denied, jar }, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('access_denied');
    expect(installCookieOf(res.headers.getSetCookie()).attributes).toContain('Max-Age=0');
  });

  it('two installs started in one browser (two tabs) both complete, in either order', async () => {
    const jar = new CookieJar();
    const first = await install(jar, 'tab-user');
    const second = await install(jar, 'tab-user'); // the provider's session in this browser: the same account
    expect(installCookieOf(first.setCookie).name).not.toBe(installCookieOf(second.setCookie).name);
    const tokenRequests = fixture.local.sandbox.stats.tokenRequests;
    for (const tab of [second, first]) {
      const res = await fetchCallback(tab, { redirect: 'manual' });
      expect(res.status).toBe(303);
      expect(new URL(res.headers.get('location')!).searchParams.get('connection_id')).toBe('sandbox:tab-user');
    }
    expect(fixture.local.sandbox.stats.tokenRequests - tokenRequests).toBe(2);
  });

  it(`a browser made to open link after link holds at most ${MAX_INSTALL_COOKIES} install cookies: the next link clears them, and its own install completes`, async () => {
    const jar = new CookieJar();
    const link = new URL(`${fixture.local.installUrl}?return_to=${encodeURIComponent(`${APP}/connected`)}`);
    const held = () => (jar.header(link) ?? '').split(';').filter((c) => c.trim().startsWith(COOKIE_PREFIX)).length;
    for (let i = 0; i < MAX_INSTALL_COOKIES; i++) {
      const res = await fetch(link, { redirect: 'manual', headers: { cookie: jar.header(link) ?? '' } });
      jar.store(link, res);
    }
    expect(held()).toBe(MAX_INSTALL_COOKIES);
    // The next one, with those cookies sent as a browser would:
    const res = await fetch(link, { redirect: 'manual', headers: { cookie: jar.header(link) ?? '' } });
    expect(res.status).toBe(302);
    jar.store(link, res);
    expect(held()).toBe(1);
    const authorize = new URL(res.headers.get('location')!);
    authorize.searchParams.set('login_hint', 'many-links');
    const done = await fetchCallback(await followInstall(authorize.toString(), { jar }), { redirect: 'manual' });
    expect(done.status).toBe(303);
  });

  it('on http (the local server) the cookie has neither the __Host- prefix nor Secure', async () => {
    const started = await install(new CookieJar(), 'plain-http');
    const cookie = installCookieOf(started.setCookie);
    expect(cookie.name.startsWith(COOKIE_PREFIX)).toBe(true);
    expect(cookie.attributes).not.toContain('Secure');
  });
});

describe('behind an https public URL', () => {
  const context = () => lambdaContext() as Context;
  const event = (routeKey: string, query: Record<string, string>, cookies?: string[]): APIGatewayProxyEventV2 => ({
    ...apiEvent({ routeKey, pathParameters: { provider: 'sandbox' }, query, headers: { host: 'broker.example', ...json } }),
    cookies,
  });

  it('the install cookie is __Host- prefixed and Secure (no Domain); only that name is accepted at the callback', async () => {
    const broker = await peerBroker(fixture, { publicUrl: 'https://broker.example' });
    const authorize = createAuthorizeHandler(async () => broker);
    const callback = createCallbackHandler(async () => broker);

    const started = await authorize(event('GET /oauth/{provider}/install', {}), context());
    expect(started.statusCode).toBe(302);
    const cookie = installCookieOf(started.cookies ?? []);
    expect(cookie.name.startsWith(`__Host-${COOKIE_PREFIX}`)).toBe(true);
    expect(cookie.attributes).toEqual(expect.arrayContaining(['Secure', 'HttpOnly', 'SameSite=Lax', 'Path=/']));
    expect(cookie.attributes.some((a) => /^domain=/i.test(a))).toBe(false);

    const state = new URL(started.headers.location!).searchParams.get('state')!;
    const query = { code: 'not-a-real-code', state, iss: fixture.local.sandbox.issuer };
    const states = await stateCount();
    // The same value without the prefix is what a sibling subdomain could plant: refused.
    const unprefixed = await callback(event('GET /oauth/{provider}/callback', query, [`${cookie.name.slice('__Host-'.length)}=${cookie.value}`]), context());
    expect(unprefixed.statusCode).toBe(400);
    expect(JSON.parse(unprefixed.body!)).toEqual({ error: { code: 'invalid_state', message: expect.stringContaining(REFUSAL) } });
    expect(await stateCount()).toBe(states);
    // With the prefixed cookie the callback gets past the binding: the state is consumed (the made-up code then fails).
    const bound = await callback(event('GET /oauth/{provider}/callback', query, [`${cookie.name}=${cookie.value}`]), context());
    expect(JSON.parse(bound.body!)).not.toMatchObject({ error: { message: expect.stringContaining(REFUSAL) } });
    expect(await stateCount()).toBe(states - 1);
  });
});

describe('a marketplace-initiated callback (no state)', () => {
  const workers = useFaultWorkers();

  it('has no install to bind to: it completes without any cookie, as before', async () => {
    const { provider, a: broker } = await workers();
    const callback = createCallbackHandler(async () => broker);
    const res = await callback(
      apiEvent({ routeKey: 'GET /oauth/{provider}/callback', pathParameters: { provider: 'fault' }, query: { code: provider.issueCode() }, headers: { host: 'broker.test' } }),
      lambdaContext() as Context,
    );
    expect(res.statusCode).toBe(303);
    expect(res.cookies).toBeUndefined();
    expect(provider.calls.token).toBe(1);
  });
});
