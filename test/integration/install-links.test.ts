/**
 * Signed install links over real HTTP against the sandbox (oidc-provider): minted with
 * POST /install-links (admin), bound to exactly what the app chose, reopenable until used,
 * used up by the first callback that stores a connection; every bad value refused at mint.
 * The sandbox logs in as `login_hint`, so one test plays the victim and another the attacker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionSummary } from '../../lib/model';
import { CookieJar, fetchCallback, followInstall, openInstall, type FollowInstallResult } from '../support/browserless-consent';
import { startTestBroker, type LocalFixture } from '../support/local-broker';

let fixture: LocalFixture;
let admin: Record<string, string>;
const json = { accept: 'application/json' };

beforeAll(async () => {
  fixture = await startTestBroker({ config: { returnToAllowlist: ['https://app.example.com'] } });
  admin = { authorization: `Bearer ${fixture.local.adminKey}`, 'content-type': 'application/json' };
});
afterAll(async () => {
  await fixture?.close();
});

async function mint(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${fixture.local.url}/install-links`, { method: 'POST', headers: admin, body: JSON.stringify(body) });
}

async function mintUrl(body: Record<string, unknown>): Promise<string> {
  const res = await mint(body);
  expect(res.status).toBe(201);
  return ((await res.json()) as { url: string }).url;
}

/** Opens a link in a browser (`jar`, default a new one) and consents at the sandbox as `account`; returns the callback URL (not yet requested) and that browser. */
async function consent(link: string, account?: string, jar = new CookieJar()): Promise<FollowInstallResult> {
  const { authorizeUrl } = await openInstall(link, jar, { headers: json });
  if (account) authorizeUrl.searchParams.set('login_hint', account);
  return followInstall(authorizeUrl.toString(), { jar });
}

async function introspect(token: string): Promise<boolean> {
  const { client_id, client_secret } = await fixture.local.broker.ctx.secrets.getClientCredentials('sandbox');
  const res = await fetch(`${fixture.local.sandbox.issuer}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id, client_secret }),
  });
  return ((await res.json()) as { active: boolean }).active;
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

describe('POST /install-links', () => {
  it('mints a link bound to the app\'s values; the install stores exactly them and goes back to return_to', async () => {
    const res = await mint({ provider: 'sandbox', connection_id: 'acme-42', return_to: 'https://app.example.com/done', tags: { customer: 'acme' } });
    expect(res.status).toBe(201);
    const link = (await res.json()) as { url: string; expires_at: string };
    const url = new URL(link.url);
    expect(`${url.origin}${url.pathname}`).toBe(`${fixture.local.url}/oauth/sandbox/install`);
    expect([...url.searchParams.keys()]).toEqual(['link']);
    expect(Date.parse(link.expires_at) - Date.now()).toBeGreaterThan(23 * 3600_000);

    const done = await fetchCallback(await consent(link.url), { redirect: 'manual' });
    expect(done.status).toBe(303);
    const back = new URL(done.headers.get('location')!);
    expect(back.origin + back.pathname).toBe('https://app.example.com/done');
    expect(back.searchParams.get('connection_id')).toBe('acme-42');
    const connection = await fixture.local.broker.describeConnection('acme-42');
    expect(connection).toMatchObject({ tenant: 'sandbox-user', tags: { customer: 'acme' }, status: 'active' });
  });

  it('needs the admin key', async () => {
    const res = await fetch(`${fixture.local.url}/install-links`, { method: 'POST', body: JSON.stringify({ provider: 'sandbox' }) });
    expect(res.status).toBe(401);
  });

  it.each([
    ['an unknown provider', { provider: 'nosuch' }, 404, 'unknown_provider'],
    ['a client-credentials provider', { provider: 'sandbox-cc' }, 400, 'invalid_request'],
    ['a malformed connection_id', { provider: 'sandbox', connection_id: 'a/b c' }, 400, 'invalid_request'],
    ['a return_to off the allowlist', { provider: 'sandbox', return_to: 'https://evil.example/' }, 400, 'return_to_not_allowed'],
    ['a scope the catalogue does not allow', { provider: 'sandbox', scopes: ['admin.everything'] }, 400, 'scope_not_allowed'],
    ['connection_config the provider does not take', { provider: 'sandbox', connection_config: { host: 'evil.example' } }, 400, 'invalid_request'],
    ['tags that are not an object of short strings', { provider: 'sandbox', tags: { 'bad key!': 'x' } }, 400, 'invalid_request'],
    // Minted 201, then every opening of the link was a 500: DynamoDB's marshalling drops or refuses such a map key (adversarial review, session 6).
    ['a tag named __proto__', { provider: 'sandbox', tags: JSON.parse('{"__proto__":"x"}') as Record<string, string> }, 400, 'invalid_request'],
    ['a tag named constructor', { provider: 'sandbox', tags: { constructor: 'y' } }, 400, 'invalid_request'],
    ['an expires_in beyond 7 days', { provider: 'sandbox', expires_in: 8 * 86400 }, 400, 'invalid_request'],
    ['values too long for a link (over 2,048 characters of token)', { provider: 'sandbox', tags: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, 'x'.repeat(250)])) }, 400, 'invalid_request'],
  ])('%s → %i %s, and no link', async (_case, body, status, code) => {
    const res = await mint(body);
    expect(res.status).toBe(status);
    const error = await errorOf(res);
    expect(error.code).toBe(code);
    expect(JSON.stringify(error)).not.toContain('/install?link=');
  });
});

describe('opening a signed link', () => {
  it('can be opened again until used; the first callback that stores uses it up, a second one gets a "used" page and its grant is revoked', async () => {
    const link = await mintUrl({ provider: 'sandbox', connection_id: 'reopened-1' });
    const tabs = new CookieJar();
    const first = await consent(link, undefined, tabs);
    const second = await consent(link, undefined, tabs); // the customer opened it twice (two tabs)

    expect((await fetchCallback(first, { redirect: 'manual' })).status).toBe(303);
    const orphans = fixture.local.events.recent().filter((e) => e.type === 'connection.orphan_revoked').length;
    const res = await fetchCallback(second, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(res.status).toBe(409);
    const page = await res.text();
    expect(page).toContain('already used');
    expect(page).toContain('install_link_used');
    const events = fixture.local.events.recent().filter((e) => e.type === 'connection.orphan_revoked');
    expect(events.length).toBe(orphans + 1);
    expect(events.at(-1)?.detail).toMatchObject({ connection_id: 'reopened-1', provider: 'sandbox', outcome: 'revoked', reason: 'install_link_used' });

    // And opening it again now says so at once, before any consent.
    const again = await fetch(link, { redirect: 'manual', headers: json });
    expect(again.status).toBe(409);
    expect((await errorOf(again)).code).toBe('install_link_used');
  });

  it('a link whose token was altered → 400 install_link_invalid; one for another provider\'s route → the same', async () => {
    const link = new URL(await mintUrl({ provider: 'sandbox', connection_id: 'tamper-1' }));
    const [payload, signature] = link.searchParams.get('link')!.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, c: 'someone-else' })).toString('base64url');
    for (const url of [
      `${fixture.local.url}/oauth/sandbox/install?link=${forged}.${signature}`,
      `${fixture.local.url}/oauth/sandbox/install?link=${payload}.${signature!.slice(0, -2)}AA`,
      `${fixture.local.url}/oauth/sandbox-cc/install?link=${payload}.${signature}`,
    ]) {
      const res = await fetch(url, { redirect: 'manual', headers: json });
      expect(res.status, url).toBeGreaterThanOrEqual(400);
      expect(res.status, url).toBeLessThan(500);
      if (!url.includes('sandbox-cc')) expect((await errorOf(res)).code).toBe('install_link_invalid');
    }
  });

  it('an expired link → 400 install_link_expired, with what to do', async () => {
    const link = await mintUrl({ provider: 'sandbox', connection_id: 'late-1', expires_in: 60 });
    fixture.clock.advance(61_000);
    try {
      const res = await fetch(link, { redirect: 'manual', headers: json });
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: 'install_link_expired', message: expect.stringContaining('ask the app for a new one') });
    } finally {
      fixture.clock.advance(-61_000);
    }
  });

  it('a signed link cannot be given another connection_id or return_to in its query', async () => {
    const link = await mintUrl({ provider: 'sandbox', connection_id: 'fixed-1' });
    const res = await fetch(`${link}&connection_id=other`, { redirect: 'manual', headers: json });
    expect(res.status).toBe(400);
  });
});

describe('victim and attacker on the sandbox (login_hint picks the account)', () => {
  it('a link naming an existing connection, consented by another account → 409 tenant_conflict page, the victim keeps its grant, the attacker\'s grant is revoked', async () => {
    const victimLink = await mintUrl({ provider: 'sandbox', connection_id: 'victim-co' });
    expect((await fetchCallback(await consent(victimLink, 'alice'), { redirect: 'manual' })).status).toBe(303);
    const before = await fixture.local.broker.getToken('victim-co');
    expect(before.tenant).toBe('alice');

    // The app sends a reconnect link; mallory gets hold of it and signs in as herself.
    const reconnect = await mintUrl({ provider: 'sandbox', connection_id: 'victim-co' });
    const callback = await consent(reconnect, 'mallory');
    const revokedBefore = fixture.local.events.recent().filter((e) => e.type === 'connection.orphan_revoked').length;
    const res = await fetchCallback(callback, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(res.status).toBe(409);
    const page = await res.text();
    expect(page).toContain('another sandbox account');
    expect(page).toContain('tenant_conflict');

    const after = await fixture.local.broker.getToken('victim-co');
    expect(after.access_token).toBe(before.access_token);
    expect(await introspect(after.access_token)).toBe(true);
    expect(fixture.local.events.recent().filter((e) => e.type === 'connection.orphan_revoked').length).toBe(revokedBefore + 1);
    // Mallory's reconnect link is not used up: alice can still reconnect with it... (it never stored anything).
    expect((await fetchCallback(await consent(reconnect, 'alice'), { redirect: 'manual' })).status).toBe(303);
  });

  it('the public link names the connection after the account: two accounts, two connections', async () => {
    for (const account of ['carol', 'dave']) {
      expect((await fetchCallback(await consent(fixture.local.installUrl, account), { redirect: 'manual' })).status).toBe(303);
    }
    const list = (await (await fetch(`${fixture.local.url}/connections?limit=100`, { headers: admin })).json()) as { connections: ConnectionSummary[] };
    const ids = list.connections.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(['sandbox:carol', 'sandbox:dave']));
  });
});
