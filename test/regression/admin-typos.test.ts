/**
 * Regression (found by attacking the admin API as an operator who makes typos): inputs that
 * were accepted and acted on although the caller asked for something else. Each is now a 400
 * `invalid_request` that says what is wrong, and nothing stored changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryEventSink } from '../../lib/adapters/log-sink';
import { allItems, peerBroker, rawConnectionItem, startTestBroker, type LocalFixture } from '../support/local-broker';

let fixture: LocalFixture;
let admin: Record<string, string>;

beforeAll(async () => {
  fixture = await startTestBroker();
  admin = { authorization: `Bearer ${fixture.local.adminKey}`, 'content-type': 'application/json' };
});
afterAll(async () => {
  await fixture?.close();
});

async function register(id: string): Promise<void> {
  const res = await fetch(`${fixture.local.url}/connections/${id}`, { method: 'PUT', headers: admin, body: JSON.stringify({ provider: 'sandbox-cc' }) });
  expect(res.status).toBe(200);
}

/**
 * `DELETE /connections/{id}` with `{"dry_run": true}` in its body revoked for real (the body was
 * never read), as `?dry_run=true` did before the query was checked; `GET` ignored a body too.
 */
describe('a body on a route that takes none is refused, never ignored', () => {
  it.each([
    ['DELETE', '/connections/cc-body', '{"dry_run":true}'],
    ['GET', '/connections/cc-body', '{"fields":["id"]}'],
    ['GET', '/connections', '{"status":"revoked"}'],
    ['GET', '/providers', '{"enabled":true}'],
    ['DELETE', '/connections/cc-body', 'dry_run=true'],
  ])('%s %s with a body → 400; nothing revoked or stored', async (method, path, body) => {
    await register('cc-body');
    const before = await allItems(fixture.local);
    // fetch refuses a body on GET; the local server takes one as API Gateway does.
    const res = await rawRequest(method, path, body);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'invalid_request', message: 'This route takes no body' } });
    expect(await allItems(fixture.local)).toEqual(before);
    expect((await rawConnectionItem(fixture.local, 'cc-body'))?.status).toEqual({ S: 'active' });
  });

  it('DELETE with an empty JSON object (what some clients always send) still revokes', async () => {
    await register('cc-body-empty');
    const res = await rawRequest('DELETE', '/connections/cc-body-empty', '{}');
    expect(res.status).toBe(200);
    expect((await rawConnectionItem(fixture.local, 'cc-body-empty'))?.status).toEqual({ S: 'revoked' });
  });

  it('DELETE without a body still revokes', async () => {
    await register('cc-body-none');
    const res = await fetch(`${fixture.local.url}/connections/cc-body-none`, { method: 'DELETE', headers: { authorization: admin.authorization! } });
    expect(res.status).toBe(200);
    expect((await rawConnectionItem(fixture.local, 'cc-body-none'))?.status).toEqual({ S: 'revoked' });
  });
});

async function rawRequest(method: string, path: string, body: string): Promise<{ status: number; body: string }> {
  const { request } = await import('node:http');
  const url = new URL(`${fixture.local.url}${path}`);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...admin, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A connection id of only dots (`.`, `..`) was accepted by POST /install-links, and the install
 * stored it; but `/connections/..` is a dot segment every HTTP client and proxy resolves away
 * (RFC 3986 §5.2.4): GET answered the dashboard, DELETE "No route DELETE /". A connection no
 * admin route could reach, so no one could revoke it. Such ids are now refused where they
 * arrive; ids with dots among other characters (`acme.eu`, `...x`) stay valid.
 */
describe('a connection id that a URL resolves away is refused', () => {
  it.each(['.', '..'])('POST /install-links with connection_id %j → 400, no link', async (id) => {
    const res = await fetch(`${fixture.local.url}/install-links`, { method: 'POST', headers: admin, body: JSON.stringify({ provider: 'sandbox', connection_id: id }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_request' } });
  });

  it.each(['.', '..'])('registering a client-credentials connection %j → 400, nothing stored', async (id) => {
    const before = await allItems(fixture.local);
    await expect(fixture.local.broker.registerClientCredentials(id, { provider: 'sandbox-cc' })).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await allItems(fixture.local)).toEqual(before);
  });

  it.each(['acme.eu', '...', 'a..b'])('%j is still a connection id', async (id) => {
    const res = await fetch(`${fixture.local.url}/install-links`, { method: 'POST', headers: admin, body: JSON.stringify({ provider: 'sandbox', connection_id: id }) });
    expect(res.status).toBe(201);
  });
});

/**
 * `credentials` took any other field and dropped it (`{"secret_name": …, "scopes": […]}` registered
 * the default scopes), and with both forms given the secret name won without a word, so a caller
 * who pasted a client id and secret got the provider's shared app instead.
 */
describe('PUT /connections/{id}: credentials take one form, and nothing else', () => {
  it.each([
    ['an unknown field beside secret_name', { secret_name: 'sandbox', scopes: ['contacts.read'] }, '"scopes"'],
    ['a misspelt client_secret', { client_id: 'sandbox-app', clientSecret: 'x', secret_name: 'sandbox' }, '"clientSecret"'],
    ['both forms', { secret_name: 'sandbox', client_id: 'sandbox-app', client_secret: 'x' }, 'not both'],
  ])('%s → 400, nothing stored', async (_case, credentials, said) => {
    const before = await allItems(fixture.local);
    const res = await fetch(`${fixture.local.url}/connections/cc-creds`, { method: 'PUT', headers: admin, body: JSON.stringify({ provider: 'sandbox-cc', credentials }) });
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: { code: string; message: string } };
    expect(answer.error.code).toBe('invalid_request');
    expect(answer.error.message).toContain(said);
    expect(await allItems(fixture.local)).toEqual(before);
  });
});

/** `limit` went through Number(): `0x10` listed 16, `1e1` 10, ` 2` 2. A page size is written in digits. */
describe('GET /connections: limit is digits only', () => {
  it.each(['0x10', '1e1', '%202', '+5', '5.0'])('limit=%s → 400 with the one limit rule', async (limit) => {
    const res = await fetch(`${fixture.local.url}/connections?limit=${limit}`, { headers: admin });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_request', message: 'limit must be an integer from 1 to 500' } });
  });
});

/**
 * A second `DELETE` of a revoked connection answered `provider_revocation: "not_supported"`, as if
 * the provider had no revocation endpoint: an operator retrying a revoke read that the provider
 * kept the grant. It was revoked the first time; the answer says so, and nothing is sent or written.
 */
describe('revoking a revoked connection again', () => {
  it('answers already_revoked and changes nothing', async () => {
    await register('cc-twice');
    const first = await fetch(`${fixture.local.url}/connections/cc-twice`, { method: 'DELETE', headers: { authorization: admin.authorization! } });
    expect(first.status).toBe(200);
    expect(((await first.json()) as { provider_revocation: string }).provider_revocation).not.toBe('already_revoked');
    const before = await allItems(fixture.local);
    const again = await fetch(`${fixture.local.url}/connections/cc-twice`, { method: 'DELETE', headers: { authorization: admin.authorization! } });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ connection: { id: 'cc-twice', status: 'revoked' }, provider_revocation: 'already_revoked' });
    expect(await allItems(fixture.local)).toEqual(before);
  });

  // Found by a later review: the check above ran on the first read only. A revoke that lost the
  // race to another one re-read the revoked item, wrote it again (its retention restarted), sent a
  // second connection.revoked and answered as if it had revoked (not_supported here).
  it('a revoke that loses the race to another one answers already_revoked: no second write, no second event', async () => {
    await register('cc-race');
    const winner = await peerBroker(fixture);
    const loser = await peerBroker(fixture);
    // The loser has read the active item; the winner revokes before the loser's write lands.
    const store = loser.ctx.store;
    const update = store.update.bind(store);
    let won: unknown;
    (store as { update: typeof store.update }).update = async (...args) => {
      won ??= await winner.revoke('cc-race');
      return update(...args);
    };

    const lost = await loser.revoke('cc-race');
    expect(won).toMatchObject({ connection: { status: 'revoked' }, provider_revocation: 'not_supported' });
    expect(lost).toMatchObject({ connection: { id: 'cc-race', status: 'revoked' }, provider_revocation: 'already_revoked' });
    expect((await rawConnectionItem(fixture.local, 'cc-race'))?.version).toEqual({ N: '2' });
    expect((loser.ctx.events as MemoryEventSink).ofType('connection.revoked')).toEqual([]);
    expect((winner.ctx.events as MemoryEventSink).ofType('connection.revoked')).toHaveLength(1);
  });
});
