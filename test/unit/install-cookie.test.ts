/**
 * The install cookie on its own (lib/http/install-cookie.ts): its name and attributes, and what
 * the callback's check accepts — from `event.cookies` (API Gateway payload 2.0) or a `cookie`
 * header. The whole flow over HTTP: test/regression/login-csrf.test.ts.
 */
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { clearedInstallCookie, installCookie, installCookieName, MAX_INSTALL_COOKIES, requireInstallCookie, staleInstallCookies } from '../../lib/http/install-cookie';
import type { SigningKey } from '../../lib/ports';
import { apiEvent } from '../fuzz/arbitraries';

function memorySigningKey(): SigningKey {
  const bytes = randomBytes(32);
  return { get: async () => bytes };
}

const key = memorySigningKey();
const HTTPS = 'https://broker.example';
const HTTP = 'http://127.0.0.1:3000';
const STATE = 'Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhx';

function request(cookies: { list?: string[]; header?: string }): APIGatewayProxyEventV2 {
  return { ...apiEvent({ routeKey: 'GET /oauth/{provider}/callback', headers: cookies.header === undefined ? {} : { cookie: cookies.header } }), cookies: cookies.list };
}

/** `name=value` of a Set-Cookie value. */
const pair = (setCookie: string) => setCookie.split(';')[0]!;

describe('install cookie', () => {
  it('is named after the state: stable for one state, different for another; __Host- only on https', () => {
    expect(installCookieName(STATE, HTTPS)).toBe(installCookieName(STATE, HTTPS));
    expect(installCookieName(STATE, HTTPS)).toMatch(/^__Host-oauth-broker-install-[A-Za-z0-9_-]{12}$/);
    expect(installCookieName(STATE, HTTP)).toMatch(/^oauth-broker-install-[A-Za-z0-9_-]{12}$/);
    expect(installCookieName(`${STATE}x`, HTTP)).not.toBe(installCookieName(STATE, HTTP));
  });

  it('carries HttpOnly, SameSite=Lax, Path=/, the state lifetime, and Secure on https; the cleared one Max-Age=0', async () => {
    expect(await installCookie(key, STATE, { callbackBase: HTTPS, stateTtlMs: 600_000 })).toMatch(/^__Host-oauth-broker-install-\S+=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Lax; Path=\/; Max-Age=600; Secure$/);
    expect(await installCookie(key, STATE, { callbackBase: HTTP, stateTtlMs: 600_000 })).not.toContain('Secure');
    expect(clearedInstallCookie(STATE, HTTPS)).toBe(`${installCookieName(STATE, HTTPS)}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0; Secure`);
  });

  it('the check accepts the cookie from event.cookies or from a cookie header, among others', async () => {
    const own = pair(await installCookie(key, STATE, { callbackBase: HTTPS, stateTtlMs: 600_000 }));
    await expect(requireInstallCookie(request({ list: ['a=1', own, 'b=2'] }), key, STATE, HTTPS)).resolves.toBeUndefined();
    await expect(requireInstallCookie(request({ header: `a=1; ${own};b=2` }), key, STATE, HTTPS)).resolves.toBeUndefined();
  });

  it.each([
    ['no cookie', {}],
    ['the value under another name', { list: ['x=1'] }],
    ['a value signed with another key', { list: ['$OTHER_KEY'] }],
    ['the value of another state', { list: ['$OTHER_STATE'] }],
    ['the right value under the name for http', { list: ['$HTTP_NAME'] }],
  ])('the check refuses %s with invalid_state', async (_case, cookies: { list?: string[] }) => {
    const own = pair(await installCookie(key, STATE, { callbackBase: HTTPS, stateTtlMs: 600_000 }));
    const [name, value] = own.split('=') as [string, string];
    const substitutes: Record<string, string> = {
      $OTHER_KEY: pair(await installCookie(memorySigningKey(), STATE, { callbackBase: HTTPS, stateTtlMs: 600_000 })),
      $OTHER_STATE: `${name}=${pair(await installCookie(key, `${STATE}x`, { callbackBase: HTTPS, stateTtlMs: 600_000 })).split('=')[1]!}`,
      $HTTP_NAME: `${installCookieName(STATE, HTTP)}=${value}`,
    };
    const list = cookies.list?.map((c) => substitutes[c] ?? c);
    await expect(requireInstallCookie(request({ list }), key, STATE, HTTPS)).rejects.toMatchObject({ code: 'invalid_state', message: expect.stringContaining('started in another browser') });
  });
});

describe('install cookies piling up', () => {
  /** Cookies of `n` other installs, as a browser made to open many install links would send them. */
  async function others(n: number, base: string): Promise<string[]> {
    return Promise.all(Array.from({ length: n }, async () => pair(await installCookie(key, randomBytes(32).toString('base64url'), { callbackBase: base, stateTtlMs: 600_000 }))));
  }

  it(`clears every other install's cookie once a browser holds ${MAX_INSTALL_COOKIES}, so the broker's cookies cannot grow past a header's limit`, async () => {
    const held = await others(MAX_INSTALL_COOKIES, HTTPS);
    const event = request({ list: [...held, 'app_session=keep'] });
    const cleared = staleInstallCookies(event, HTTPS);
    expect(cleared.map(pair).sort()).toEqual(held.map((c) => `${c.split('=')[0]}=`).sort());
    for (const c of cleared) expect(c).toMatch(/; Path=\/; Max-Age=0; Secure$/);
  });

  it('leaves them alone below that: installs in other tabs keep their binding', async () => {
    expect(staleInstallCookies(request({ list: await others(MAX_INSTALL_COOKIES - 1, HTTP) }), HTTP)).toEqual([]);
    expect(staleInstallCookies(request({}), HTTP)).toEqual([]);
  });
});
