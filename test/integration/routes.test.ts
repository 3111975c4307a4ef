/**
 * One routes table (lib/http/routes.ts) for the three places that serve routes: the admin
 * function dispatches on exactly its admin keys, and the local server serves every route of
 * it with its auth. (test/infra/stack.test.ts holds API Gateway to the same table.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ROUTE_KEYS } from '../../functions/admin';
import { ROUTES, routeKey } from '../../lib/http/routes';
import { startTestBroker, type LocalFixture } from '../support/local-broker';

let fixture: LocalFixture;

beforeAll(async () => {
  fixture = await startTestBroker();
});
afterAll(async () => {
  await fixture?.close();
});

/** A request for `route` with its path parameters filled in. */
function request(route: (typeof ROUTES)[number], headers: Record<string, string> = {}): Promise<Response> {
  const path = route.path.replace('{provider}', 'sandbox').replace('{id}', 'routes-test');
  return fetch(`${fixture.local.url}${path}`, { method: route.method, headers: { accept: 'application/json', ...headers }, redirect: 'manual' });
}

describe('the routes table', () => {
  it('gives the admin function exactly its admin routes to dispatch on', () => {
    const adminKeys = ROUTES.filter((route) => route.handler === 'admin').map((route) => routeKey(route));
    expect([...ADMIN_ROUTE_KEYS].sort()).toEqual(adminKeys.sort());
  });

  it.each(ROUTES.map((route) => [routeKey(route), route] as const))('the local server serves %s with its auth', async (_key, route) => {
    const anonymous = await request(route);
    if (route.auth === 'admin') {
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toMatchObject({ error: { code: 'unauthorized' } });
    } else {
      expect(anonymous.status).not.toBe(401);
    }
    const asAdmin = await request(route, { authorization: `Bearer ${fixture.local.adminKey}` });
    expect(asAdmin.status).not.toBe(401);
    // Reached its handler: neither the server's "No route" nor the admin function's "No admin route".
    expect(await asAdmin.text()).not.toMatch(/No (admin )?route/);
  });

  it('the local server has no route outside the table', async () => {
    const res = await fetch(`${fixture.local.url}/connections/routes-test/other`, { headers: { authorization: `Bearer ${fixture.local.adminKey}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_request', message: 'No route GET /connections/routes-test/other' } });
  });
});
