/**
 * `GET /connections?provider=…&status=…&tenant=…` over real HTTP against the local broker:
 * the filters narrow the list, the cursor walks it, and a bad filter value is a 400 with a
 * typed code that changes nothing — never an unfiltered list a script would act on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionRecord, ConnectionSummary } from '../../lib/model';
import { allItems, startTestBroker, type LocalFixture } from '../support/local-broker';
import { captureLogs } from '../support/logs';

let fixture: LocalFixture;
let admin: Record<string, string>;

function record(id: string, overrides: Partial<ConnectionRecord>): ConnectionRecord {
  const now = Date.now();
  return { id, provider: 'sandbox', authMode: 'OAUTH2', status: 'active', scopes: [], sealed: 'x', tokenGen: 1, version: 1, failureCount: 0, createdAt: now, updatedAt: now, ...overrides };
}

beforeAll(async () => {
  fixture = await startTestBroker();
  admin = { authorization: `Bearer ${fixture.local.adminKey}` };
  const store = fixture.local.broker.ctx.store;
  await store.create(record('list-a1', { provider: 'hubspot', tenant: '1' }));
  await store.create(record('list-a2', { provider: 'hubspot', tenant: '1', status: 'needs_reauth' }));
  await store.create(record('list-a3', { provider: 'hubspot', tenant: '2' }));
  await store.create(record('list-b1', { provider: 'highlevel', tenant: '1', status: 'revoked' }));
  await store.create(record('list-b2', { provider: 'highlevel', tenant: 'loc 9' }));
});
afterAll(async () => {
  await fixture?.close();
});

async function list(query: string): Promise<{ status: number; body: { connections?: ConnectionSummary[]; cursor?: string; error?: { code: string; message: string; details?: Record<string, unknown> } } }> {
  const res = await fetch(`${fixture.local.url}/connections${query}`, { headers: admin });
  return { status: res.status, body: (await res.json()) as never };
}

/** Every page of `query` with `limit`, following the cursor; the ids in the order served. */
async function walk(query: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const { status, body } = await list(`${query}${query ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(status).toBe(200);
    ids.push(...(body.connections ?? []).map((c) => c.id));
    cursor = body.cursor;
  } while (cursor);
  return ids;
}

describe('GET /connections filters', () => {
  it.each([
    ['?provider=hubspot', ['list-a1', 'list-a2', 'list-a3']],
    ['?status=active&provider=hubspot', ['list-a1', 'list-a3']],
    ['?provider=hubspot&tenant=1', ['list-a1', 'list-a2']],
    ['?provider=highlevel&tenant=loc%209', ['list-b2']],
    ['?status=revoked', ['list-b1']],
    ['?status=needs_reauth&provider=highlevel', []],
  ])('%s lists exactly the matching connections, one page at a time', async (query, expected) => {
    expect((await walk(query, 1)).sort()).toEqual(expected);
  });
});

describe('GET /connections refuses bad filter values with 400 invalid_request, and changes nothing', () => {
  it.each([
    ['?status=bogus', 'status must be one of active, needs_reauth, revoked', 'status'],
    ['?status=active,revoked', 'status must be one of', 'status'],
    ['?status=', 'status must be one of', 'status'],
    ['?provider=HubSpot', 'provider must be a provider key', 'provider'],
    ['?provider=a%23b', 'provider must be a provider key', 'provider'],
    ['?provider=hubspot&tenant=', 'tenant must be 1-256 characters', 'tenant'],
    ['?provider=hubspot&tenant=%01', 'tenant must be 1-256 characters', 'tenant'],
    [`?provider=hubspot&tenant=${'t'.repeat(257)}`, 'tenant must be 1-256 characters', 'tenant'],
    ['?tenant=1', 'give provider too', undefined],
    ['?stauts=revoked', 'Unknown query parameter "stauts"', undefined],
    ['?provider=hubspot&cursor=bm9wZQ', 'Invalid cursor', undefined],
  ])('%s', async (query, message, parameter) => {
    const before = await allItems(fixture.local);
    const { status, body } = await list(query);
    expect(status).toBe(400);
    expect(body.error?.code).toBe('invalid_request');
    expect(body.error?.message).toContain(message);
    if (parameter) expect(body.error?.details).toEqual({ parameter });
    expect(body.connections).toBeUndefined();
    expect(await allItems(fixture.local)).toEqual(before);
  });

  it('a cursor from another filter', async () => {
    const first = await list('?provider=hubspot&limit=1');
    expect(first.body.cursor).toBeDefined();
    const { status, body } = await list(`?provider=highlevel&cursor=${encodeURIComponent(first.body.cursor!)}`);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('other filters') });
  });

  it('a cursor DynamoDB itself refuses (its key outside the filter\'s partition) → 400 invalid_request', async () => {
    const first = await list('?provider=hubspot&limit=1');
    const cursor = JSON.parse(Buffer.from(first.body.cursor!, 'base64url').toString('utf8')) as { k: string };
    const forged = Buffer.from(JSON.stringify({ ...cursor, k: JSON.stringify({ ...JSON.parse(cursor.k), status_shard: 'revoked#00' }) })).toString('base64url');
    const { status, body } = await list(`?provider=hubspot&limit=1&cursor=${forged}`);
    expect(status).toBe(400);
    expect(body.error?.code).toBe('invalid_request');
  });
});

describe('GET /connections: a store failure on a later page (adversarial review, session 6)', () => {
  it.each([['?limit=1'], ['?provider=hubspot&limit=1']])('%s: the next page fails as the server error it is (500, logged), not as the caller\'s "cursor is not valid"', async (query) => {
    const first = await list(query);
    expect(first.body.cursor).toBeDefined();
    // DynamoDB throttling the read of the next page (a scan or a query that starts at the cursor's key).
    const client = fixture.local.dynamoClient;
    client.middlewareStack.add(
      (next) => async (args) => {
        if ((args.input as { ExclusiveStartKey?: unknown }).ExclusiveStartKey !== undefined) {
          throw Object.assign(new Error('Throughput exceeds the current capacity of your table or index'), { name: 'ProvisionedThroughputExceededException' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'throttleLaterPages' },
    );
    const logs = captureLogs();
    try {
      const { status, body } = await list(`${query}&cursor=${encodeURIComponent(first.body.cursor!)}`);
      expect(status).toBe(500);
      expect(body.error?.code).toBe('internal_error');
      expect(logs.withMessage('request failed')[0]).toMatchObject({ level: 'ERROR', error: 'ProvisionedThroughputExceededException' });
    } finally {
      logs.restore();
      client.middlewareStack.remove('throttleLaterPages');
    }
  });
});
