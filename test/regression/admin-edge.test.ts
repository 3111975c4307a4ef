/**
 * Regression (found in review): admin inputs that used to give 500 are 4xx — a bad
 * percent-encoding in the path, `credentials: null`, a secret name that does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type LocalFixture } from '../support/local-broker';

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
