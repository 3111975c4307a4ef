/**
 * The Lambda entry points that the local HTTP server does not route: the direct-invoke
 * get-token function, the refresh scheduler and the refresh worker, called as Lambda would.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGetTokenHandler } from '../../functions/get-token';
import { createRefreshSchedulerHandler } from '../../functions/refresh-scheduler';
import { createRefreshWorkerHandler } from '../../functions/refresh-worker';
import { MemoryRefreshQueue } from '../../lib/adapters/memory-refresh-queue';
import { encodeRefreshJob } from '../../lib/connections/refresh-job';
import { lambdaContext } from '../../lib/local/server';
import { fetchCallback, followInstall } from '../support/browserless-consent';
import { startTestBroker, type LocalFixture, signedInstallUrl } from '../support/local-broker';
import { sqsEvent } from '../support/sqs-event';

let fixture: LocalFixture;

beforeAll(async () => {
  fixture = await startTestBroker();
  const { callbackUrl, jar } = await followInstall(await signedInstallUrl(fixture.local, 'fn-1'));
  expect((await fetchCallback({ callbackUrl, jar })).status).toBe(200);
});
afterAll(async () => {
  await fixture?.close();
});

const broker = async () => fixture.local.broker;
const invoke = (event: unknown) => createGetTokenHandler(broker)(event as never, lambdaContext());

describe('get-token function', () => {
  it('returns {ok: true, token} for a connection', async () => {
    const result = await invoke({ connection_id: 'fn-1' });
    expect(result).toMatchObject({ ok: true, token: { connection_id: 'fn-1', provider: 'sandbox', token_type: 'bearer' } });
  });

  it('force_refresh returns a new token', async () => {
    const before = await invoke({ connection_id: 'fn-1' });
    const after = await invoke({ connection_id: 'fn-1', force_refresh: true });
    expect(before.ok && after.ok && after.token.access_token !== before.token.access_token).toBe(true);
  });

  it('returns a typed error, not a function error, for an unknown connection', async () => {
    expect(await invoke({ connection_id: 'nope' })).toEqual({ ok: false, error: { code: 'connection_not_found', message: 'Connection nope not found' } });
  });

  // `forceRefresh` (camelCase) was ignored: the caller got the token it had just seen rejected (found in review).
  it.each([[{}], [{ connection_id: 42 }], [{ connection_id: 'fn-1', force_refresh: 'yes' }], [{ connection_id: 'fn-1', forceRefresh: true }], [null]])('refuses malformed input %j with invalid_request', async (event) => {
    const result = await invoke(event);
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
  });
});

describe('refresh scheduler and worker functions', () => {
  it('the scheduler queues the due connection on its provider\'s queue; the worker refreshes it, a duplicate costs no refresh, and only a job that cannot be settled is reported back', async () => {
    const record = (await fixture.local.broker.ctx.store.get('fn-1', { consistent: true }))!;
    fixture.clock.advance(record.refreshDueAt! - fixture.clock.now() + 1);
    const queue = new MemoryRefreshQueue({ clock: fixture.clock });
    const event = { 'detail-type': 'Scheduled Event', source: 'aws.events' } as ScheduledEvent;
    const scheduled = await createRefreshSchedulerHandler(broker, () => queue)(event, lambdaContext() as Context);
    expect(scheduled).toMatchObject({ due: 1, sent: { sandbox: 1 }, held_back: {} });
    const [job] = await queue.receive('sandbox', 10);
    expect(job).toMatchObject({ connectionId: 'fn-1', provider: 'sandbox', dueAt: record.refreshDueAt });

    const refreshesBefore = fixture.local.sandbox.stats.byGrant.refresh_token ?? 0;
    const worker = createRefreshWorkerHandler(broker, { workers: () => 1 });
    // The job twice (at-least-once delivery) and a message that is not a job.
    const response = await worker(sqsEvent([encodeRefreshJob(job!), encodeRefreshJob(job!), 'not a job'], 'sandbox'), lambdaContext() as Context);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
    const after = (await fixture.local.broker.ctx.store.get('fn-1', { consistent: true }))!;
    expect(after.tokenGen).toBe(record.tokenGen + 1);
    expect(after.refreshDueAt).toBeGreaterThan(record.refreshDueAt!);
    // One provider call for the two deliveries of the job.
    expect((fixture.local.sandbox.stats.byGrant.refresh_token ?? 0) - refreshesBefore).toBe(1);
  });
});
