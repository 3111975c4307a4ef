/**
 * The refresh worker behind each provider's SQS queue (an event source mapping per queue, its maximum
 * concurrency the number of workers the provider's budget is shared by). Each record is one job;
 * a job not settled is reported as a batch item failure (ReportBatchItemFailures), so only it comes
 * back, and after the redrive limit it waits in the dead-letter queue.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { workerBroker, type BrokerSource, type WorkerBroker } from '../lib/broker';
import { decodeRefreshJob } from '../lib/connections/refresh-job';
import { isBrokerError } from '../lib/errors';
import type { RefreshJob } from '../lib/ports';
import { refreshWorkersFor } from '../lib/connections/refresh-policy';
import { REFRESH_BATCH, type RefreshWorker, type RefreshWorkerOptions } from '../lib/connections/refresh-worker';
import { logger } from '../lib/logger';
import { flushMetrics, logContext } from '../lib/observability';
import { cipherFromEnv, eventsFromEnv, sharedBroker, type FunctionAdapters } from '../lib/runtime';

/**
 * The worker's handler, over the broker `getBroker` gives. `options.workers` says how many workers
 * share a provider's budget: on AWS the queue's maximum concurrency, which the construct sets from the
 * same rule (`refreshWorkersFor`).
 */
export function createRefreshWorkerHandler(getBroker: BrokerSource<WorkerBroker>, options: RefreshWorkerOptions) {
  let worker: RefreshWorker | undefined;
  return (
    middy<SQSEvent, SQSBatchResponse, Error, Context>()
      // The batch's jobs run concurrently, so one correlation id per invocation (each refresh line names its connection).
      .use(logContext<SQSEvent, SQSBatchResponse>((_event, context) => context.awsRequestId))
      // Each job's `refresh finished` line has its metrics (Refreshes, RefreshLag): written at the end of the batch.
      .use(flushMetrics<SQSEvent, SQSBatchResponse>(getBroker))
      .handler(async (event, context) => {
        const broker = await getBroker();
        // One worker per process: its share of each provider's budget holds across invocations.
        worker ??= broker.refreshWorker(options);
        const outcomes: Record<string, number> = {};
        const remainingTimeMs = () => context.getRemainingTimeInMillis();
        const refresh = async (record: SQSRecord): Promise<void> => {
          let outcome = 'retry';
          let job: RefreshJob | undefined;
          try {
            job = decodeRefreshJob(record.body);
            const done = await worker!.run(job, { remainingTimeMs });
            outcome = done.reason ? `${done.outcome}:${done.reason}` : done.outcome;
            if (done.comeBack) {
              // Returned, yet not settled: a refreshed token set the store would not take (kept in this
              // process's memory for the next attempt), a turn whose entry could not leave its cycle. The
              // scheduler may never send it again (a cycle's turn is sent once), so the job itself comes back.
              outcome = `retry:${outcome}`;
              logger.warn('refresh job not settled', { message_id: record.messageId, connection_id: job.connectionId, provider: job.provider, outcome });
              throw new JobComesBack();
            }
          } catch (err) {
            if (err instanceof JobComesBack) throw err;
            // The job comes back after the visibility timeout, and after 5 receives waits in the
            // dead-letter queue: without this line nothing on AWS says why (the store or KMS failing
            // before the refresh began, a body that is not a job). Codes and error names only.
            const code = isBrokerError(err) ? err.code : 'internal_error';
            outcome = `retry:${code}`;
            const line = { message_id: record.messageId, connection_id: job?.connectionId, provider: job?.provider, code, error: err instanceof Error ? err.name : typeof err };
            if (code === 'refresh_in_progress') logger.warn('refresh job not settled', line);
            else logger.error('refresh job not settled', line);
            throw err;
          } finally {
            outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
          }
        };
        // A processor per invocation: its state is the batch's. Records run concurrently; the worker's share holds the provider calls.
        const response = await processPartialResponse(event, refresh, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });
        logger.info('refresh worker batch', { records: event.Records.length, outcomes, retried: response.batchItemFailures.length });
        return response;
      })
  );
}

/** A job the refresh path returned without settling (`comeBack`): the batch processor reports a record as failed when its handler throws. */
class JobComesBack extends Error {
  override readonly name = 'JobComesBack';
}

/** A worker opens and seals token sets and publishes events (its IAM: the key and the bus). */
const ADAPTERS: FunctionAdapters = { cipher: cipherFromEnv, events: eventsFromEnv };

export const handler = createRefreshWorkerHandler(() => sharedBroker(ADAPTERS, workerBroker), { workers: (_provider, budget) => refreshWorkersFor(budget, REFRESH_BATCH) });
