/**
 * Regression (found by test/fuzz/http-entries.test.ts, issue 9): `POST /install-links` with a
 * `Host` header that is no host (` `, `a b`, `x/y`) answered 500: the request's base URL was
 * built from it unchecked and `new URL()` threw. A Host or X-Forwarded-Proto that is not one
 * now gives way to API Gateway's own domain name and https, as when the header is absent.
 * (Locally the broker's public URL is always set, so the Host header never builds a URL there.)
 */
import { describe, expect, it } from 'vitest';
import { createAdminHandler } from '../../functions/admin';
import { requestBaseUrl } from '../../lib/http/responses';
import { lambdaContext } from '../../lib/local/server';
import { systemClock } from '../../lib/ports';
import { apiEvent } from '../fuzz/arbitraries';
import { fuzzCatalogue, fuzzWorlds } from '../support/fuzz';

describe('a Host header that is no host', () => {
  it.each([' ', 'a b', 'x/y', 'evil.example/path?', 'host:99999x', ''])('POST /install-links with Host %j mints a link on the API domain (201, not 500)', async (host) => {
    const world = await (await fuzzWorlds(fuzzCatalogue(), systemClock))();
    const handler = createAdminHandler(async () => world.broker);
    const res = await handler(apiEvent({ routeKey: 'POST /install-links', headers: { host }, body: JSON.stringify({ provider: 'fuzz' }) }), lambdaContext());
    expect(res.statusCode, res.body).toBe(201);
    expect((JSON.parse(res.body!) as { url: string }).url.startsWith('https://broker.fuzz/oauth/fuzz/install?link=')).toBe(true);
  });

  it.each([
    [{ host: 'broker.example:8443', 'x-forwarded-proto': 'http' }, 'http://broker.example:8443'],
    [{ host: '127.0.0.1:3000', 'x-forwarded-proto': 'http' }, 'http://127.0.0.1:3000'],
    [{ host: '[::1]:3000' }, 'https://[::1]:3000'],
    [{ host: 'broker.example', 'x-forwarded-proto': 'javascript' }, 'https://broker.example'],
    [{ host: 'a b' }, 'https://broker.fuzz'],
  ])('requestBaseUrl(%j) is %s', (headers, base) => {
    expect(requestBaseUrl(apiEvent({ routeKey: 'GET /x', headers }))).toBe(base);
  });
});

