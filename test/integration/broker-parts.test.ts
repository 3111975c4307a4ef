/**
 * On Lambda each function builds the part of a broker it serves (lib/broker.ts `authorizeBroker`,
 * `callbackBroker`, ...), not a whole `Broker`; the local server and the other tests drive a whole
 * one. Here every function's handler runs over its own part, built from the same adapters and
 * configuration (the test broker's): an install through authorize and callback, its token from
 * get-token, a scheduled refresh through the scheduler and the worker, and the admin routes.
 */
import type { APIGatewayProxyEventV2, Context, ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminHandler } from '../../functions/admin';
import { createAuthorizeHandler } from '../../functions/authorize';
import { createCallbackHandler } from '../../functions/callback';
import { createGetTokenHandler } from '../../functions/get-token';
import { createRefreshSchedulerHandler } from '../../functions/refresh-scheduler';
import { createRefreshWorkerHandler } from '../../functions/refresh-worker';
import { MemoryRefreshQueue } from '../../lib/adapters/memory-refresh-queue';
import { adminBroker, authorizeBroker, callbackBroker, getTokenBroker, schedulerBroker, workerBroker, type BrokerBuilder, type BrokerPart } from '../../lib/broker';
import { encodeRefreshJob } from '../../lib/connections/refresh-job';
import { lambdaContext } from '../../lib/local/server';
import { apiEvent } from '../fuzz/arbitraries';
import { followInstall } from '../support/browserless-consent';
import { startTestBroker, type LocalFixture, signedInstallUrl } from '../support/local-broker';
import { sqsEvent } from '../support/sqs-event';

let fixture: LocalFixture;

beforeAll(async () => {
  fixture = await startTestBroker();
});
afterAll(async () => {
  await fixture?.close();
});

/** `build`'s part over the test broker's adapters and configuration (its context holds both), as `sharedBroker` builds it on Lambda. */
function partOf<B extends BrokerPart>(build: BrokerBuilder<B>): () => Promise<B> {
  const part = build(fixture.local.broker.ctx, fixture.local.broker.ctx.config);
  return async () => part;
}

const context = () => lambdaContext() as Context;
const query = (url: URL) => Object.fromEntries(url.searchParams);
const http = (routeKey: string, pathParameters: Record<string, string>, { cookies, ...extra }: { query?: Record<string, string>; body?: string; cookies?: string[] } = {}): APIGatewayProxyEventV2 => ({
  ...apiEvent({ routeKey, pathParameters, headers: { host: new URL(fixture.local.url).host, 'content-type': 'application/json' }, ...extra }),
  cookies,
});
/** The `name=value` pairs a browser sends back for the `Set-Cookie` values of a response (`cookies` of payload 2.0). */
const sentBack = (setCookies: string[] | undefined) => setCookies?.map((cookie) => cookie.split(';')[0]!);

describe('each function over the part of a broker it serves', () => {
  it('authorize and callback: an install completes, its "Connected" page shows it; get-token then serves its token', async () => {
    const authorize = createAuthorizeHandler(partOf(authorizeBroker));
    const link = new URL(await signedInstallUrl(fixture.local, 'part-1'));
    const started = await authorize(http('GET /oauth/{provider}/install', { provider: 'sandbox' }, { query: query(link) }), context());
    expect(started.statusCode).toBe(302);
    const { callbackUrl } = await followInstall(started.headers?.location as string);

    const callback = createCallbackHandler(partOf(callbackBroker));
    const completed = await callback(http('GET /oauth/{provider}/callback', { provider: 'sandbox' }, { query: query(callbackUrl), cookies: sentBack(started.cookies) }), context());
    expect(completed.statusCode).toBe(303);
    const connected = new URL(completed.headers?.location as string);
    const page = await callback(http('GET /oauth/{provider}/connected', { provider: 'sandbox' }, { query: query(connected) }), context());
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('part-1');
    expect(await fixture.local.broker.describeConnection('part-1')).toMatchObject({ id: 'part-1', provider: 'sandbox', status: 'active' });

    const getToken = createGetTokenHandler(partOf(getTokenBroker));
    const answer = await getToken({ connection_id: 'part-1' }, context());
    expect(answer).toMatchObject({ ok: true, token: { connection_id: 'part-1', provider: 'sandbox', access_token: (await fixture.local.broker.getToken('part-1')).access_token } });
  });

  it('refresh scheduler and worker: the due connection is queued and refreshed with one provider call', async () => {
    const record = (await fixture.local.broker.ctx.store.get('part-1', { consistent: true }))!;
    fixture.clock.advance(record.refreshDueAt! - fixture.clock.now() + 1);
    const queue = new MemoryRefreshQueue({ clock: fixture.clock });
    const scheduled = await createRefreshSchedulerHandler(partOf(schedulerBroker), () => queue)({ 'detail-type': 'Scheduled Event', source: 'aws.events' } as ScheduledEvent, context());
    expect(scheduled).toMatchObject({ due: 1, sent: { sandbox: 1 } });
    const [job] = await queue.receive('sandbox', 10);

    const refreshesBefore = fixture.local.sandbox.stats.byGrant.refresh_token ?? 0;
    const worker = createRefreshWorkerHandler(partOf(workerBroker), { workers: () => 1 });
    expect(await worker(sqsEvent([encodeRefreshJob(job!)], 'sandbox'), context())).toEqual({ batchItemFailures: [] });
    expect((await fixture.local.broker.ctx.store.get('part-1', { consistent: true }))!.tokenGen).toBe(record.tokenGen + 1);
    expect((fixture.local.sandbox.stats.byGrant.refresh_token ?? 0) - refreshesBefore).toBe(1);
  });

  it('admin: the routes answer as over a whole broker; a revoked connection is no longer served from its warm token', async () => {
    const admin = createAdminHandler(partOf(adminBroker));
    const described = await admin(http('GET /connections/{id}', { id: 'part-1' }), context());
    expect(JSON.parse(described.body as string)).toEqual({ connection: await fixture.local.broker.describeConnection('part-1') });
    const listed = await admin(http('GET /connections', {}), context());
    expect(JSON.parse(listed.body as string).connections.map((c: { id: string }) => c.id)).toContain('part-1');
    const providers = await admin(http('GET /providers', {}), context());
    expect(JSON.parse(providers.body as string)).toEqual(await fixture.local.broker.listProviders());
    const link = await admin(http('POST /install-links', {}, { body: JSON.stringify({ provider: 'sandbox', connection_id: 'part-2' }) }), context());
    expect(link.statusCode).toBe(201);

    // The token is now warm in this part's cache; revoking through the same part must drop it.
    expect((await admin(http('POST /connections/{id}/token', { id: 'part-1' }, { body: '{}' }), context())).statusCode).toBe(200);
    expect(JSON.parse((await admin(http('DELETE /connections/{id}', { id: 'part-1' }), context())).body as string)).toMatchObject({ connection: { id: 'part-1', status: 'revoked' } });
    const afterRevoke = await admin(http('POST /connections/{id}/token', { id: 'part-1' }, { body: '{}' }), context());
    expect(afterRevoke.statusCode).toBe(410);
    expect(JSON.parse(afterRevoke.body as string)).toMatchObject({ error: { code: 'connection_revoked' } });
  });
});
