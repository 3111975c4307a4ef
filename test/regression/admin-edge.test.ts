/**
 * Regression (found in review): admin inputs that used to give 500 are 4xx — a bad
 * percent-encoding in the path, `credentials: null`, a secret name that does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from '../support/fuzz';
import { allItems, rawConnectionItem, startTestBroker, type LocalFixture } from '../support/local-broker';

let fixture: LocalFixture;
let admin: Record<string, string>;

beforeAll(async () => {
  fixture = await startTestBroker();
  admin = { authorization: `Bearer ${fixture.local.adminKey}`, 'content-type': 'application/json' };
});
afterAll(async () => {
  await fixture?.close();
});

describe('admin edge: malformed input must be a 4xx', () => {
  it.each(['abc', '0', '501', '2.5', ''])('GET /connections?limit=%s → 400 with the one limit rule', async (limit) => {
    const res = await fetch(`${fixture.local.url}/connections?limit=${limit}`, { headers: admin });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_request', message: 'limit must be an integer from 1 to 500' } });
  });

  it('GET /connections?limit=500 is within the rule', async () => {
    expect((await fetch(`${fixture.local.url}/connections?limit=500`, { headers: admin })).status).toBe(200);
  });

  it('a connection id with a malformed percent-escape (GET /connections/%E0%A4%A) → 400, not 500', async () => {
    const res = await fetch(`${fixture.local.url}/connections/%E0%A4%A`, { headers: admin });
    expect(res.status).toBe(400);
  });

  it('DELETE /connections/% → 400, not 500', async () => {
    const res = await fetch(`${fixture.local.url}/connections/%`, { method: 'DELETE', headers: admin });
    expect(res.status).toBe(400);
  });

  it('PUT /connections/{id} with "credentials": null → 400, not 500', async () => {
    const res = await fetch(`${fixture.local.url}/connections/cc-null`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ provider: 'sandbox-cc', credentials: null }),
    });
    expect(res.status).toBe(400);
  });

  it('PUT /connections/{id} with a secret_name that does not exist → 400, not 500', async () => {
    const res = await fetch(`${fixture.local.url}/connections/cc-nosecret`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ provider: 'sandbox-cc', credentials: { secret_name: 'no-such-secret' } }),
    });
    expect(res.status).toBeLessThan(500);
  });
});

/**
 * Regression (found in review, an operator with a typo): a misspelt field in an admin body was
 * ignored, so `conection_id` minted a link that names no connection (the customer's install got
 * a random id), `forceRefresh` answered the old token without refreshing, and `scope` registered
 * the default scopes. An unknown field is now 400 `invalid_request` naming it, and nothing is
 * minted, refreshed or stored — as an unknown query parameter already was.
 */
describe('admin edge: a misspelt body field is refused, never ignored', () => {
  it.each([
    ['POST /install-links', 'POST', '/install-links', { provider: 'sandbox', conection_id: 'acme-42' }, 'conection_id'],
    ['PUT /connections/{id}', 'PUT', '/connections/cc-typo', { provider: 'sandbox-cc', scope: ['contacts.read'] }, 'scope'],
    ['POST /connections/{id}/token', 'POST', '/connections/cc-typo-token/token', { forceRefresh: true }, 'forceRefresh'],
  ])('%s with an unknown field → 400 naming it, nothing stored', async (_name, method, path, body, field) => {
    const before = await allItems(fixture.local);
    const res = await fetch(`${fixture.local.url}${path}`, { method, headers: admin, body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: { code: string; message: string } };
    expect(answer.error.code).toBe('invalid_request');
    expect(answer.error.message).toContain(`"${field}"`);
    expect(await allItems(fixture.local)).toEqual(before);
  });

  it('POST /connections/{id}/token with forceRefresh (camelCase) neither refreshes nor answers a token', async () => {
    const registered = await fetch(`${fixture.local.url}/connections/cc-typo-refresh`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ provider: 'sandbox-cc' }),
    });
    expect(registered.status).toBe(200);
    const before = await rawConnectionItem(fixture.local, 'cc-typo-refresh');
    const res = await fetch(`${fixture.local.url}/connections/cc-typo-refresh/token`, { method: 'POST', headers: admin, body: '{"forceRefresh":true}' });
    expect(res.status).toBe(400);
    expect(await rawConnectionItem(fixture.local, 'cc-typo-refresh')).toEqual(before);
  });
});

describe('admin edge: a client mistake is no server error', () => {
  // Regression (found in review): a body over the local server's 64 kB limit was answered 400, but
  // logged at ERROR as "local server error", as if the broker had failed.
  it('a body over 64 kB → 400 invalid_request, and no ERROR line', async () => {
    const logs = captureLogs();
    try {
      const res = await fetch(`${fixture.local.url}/install-links`, { method: 'POST', headers: admin, body: JSON.stringify({ provider: 'sandbox', pad: 'x'.repeat(70_000) }) });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'invalid_request', message: 'Body too large' } });
    } finally {
      logs.restore();
    }
    expect(logs.lines.filter((line) => line.includes('"level":"ERROR"'))).toEqual([]);
  });
});

/**
 * Regression (found in review): only the list routes refused an unknown query parameter. The
 * others ignored it, so `POST /connections/{id}/token?force_refresh=true` answered the old token
 * without refreshing, and `DELETE /connections/{id}?dry_run=true` revoked for real.
 */
describe('admin edge: a query parameter a route does not take is refused, never ignored', () => {
  it.each([
    ['POST', '/connections/cc-query/token?force_refresh=true', undefined],
    ['DELETE', '/connections/cc-query?dry_run=true', undefined],
    ['GET', '/connections/cc-query?fields=id', undefined],
    ['PUT', '/connections/cc-query?provider=sandbox-cc', JSON.stringify({ provider: 'sandbox-cc' })],
    ['POST', '/install-links?provider=sandbox', JSON.stringify({ provider: 'sandbox' })],
  ])('%s %s → 400 naming the parameter; nothing refreshed, revoked or stored', async (method, path, body) => {
    const registered = await fetch(`${fixture.local.url}/connections/cc-query`, { method: 'PUT', headers: admin, body: JSON.stringify({ provider: 'sandbox-cc' }) });
    expect(registered.status).toBe(200);
    const before = await allItems(fixture.local);
    const res = await fetch(`${fixture.local.url}${path}`, { method, headers: admin, body });
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: { code: string; message: string } };
    expect(answer.error.code).toBe('invalid_request');
    expect(answer.error.message).toMatch(/^Unknown query parameter "\w+"; this route takes none$/);
    expect(await allItems(fixture.local)).toEqual(before);
  });
});

describe('admin auth: the scheme is case-insensitive (RFC 9110 §11.1), the key is not', () => {
  it.each(['bearer', 'BEARER', 'Bearer  '])('"%s <key>" is accepted', async (scheme) => {
    const res = await fetch(`${fixture.local.url}/connections`, { headers: { authorization: `${scheme} ${fixture.local.adminKey}` } });
    expect(res.status).toBe(200);
  });

  it('a key of another case, a missing scheme or another scheme → 401 unauthorized', async () => {
    for (const authorization of [`Bearer ${fixture.local.adminKey.toUpperCase()}`, fixture.local.adminKey, `Basic ${fixture.local.adminKey}`]) {
      const res = await fetch(`${fixture.local.url}/connections`, { headers: { authorization } });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
  });
});
