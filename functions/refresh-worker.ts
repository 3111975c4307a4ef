/**
 * The refresh worker behind each provider's SQS queue (an event source mapping per queue, its maximum
 * concurrency the number of workers the provider's budget is shared by). Each record is one job;
 * a job not settled is reported as a batch item failure (ReportBatchItemFailures), so only it comes
 * back, and after the redrive limit it waits in the dead-letter queue.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { BrokerSource } from '../lib/broker';
import { decodeRefreshJob } from '../lib/connections/refresh-job';
import { refreshWorkersFor } from '../lib/connections/refresh-policy';
import { REFRESH_BATCH, type RefreshWorker, type RefreshWorkerOptions } from '../lib/connections/refresh-worker';
import { logger } from '../lib/logger';
import { cipherFromEnv, eventsFromEnv, sharedBroker, type FunctionAdapters } from '../lib/runtime';

/**
 * The worker's handler, over the broker `getBroker` gives. `options.workers` says how many workers
 * share a provider's budget: on AWS the queue's maximum concurrency, which the construct sets from the
 * same rule (`refreshWorkersFor`).
 */
export function createRefreshWorkerHandler(getBroker: BrokerSource, options: RefreshWorkerOptions) {
  let worker: RefreshWorker | undefined;
  return middy<SQSEvent, SQSBatchResponse, Error, Context>().handler(async (event, context) => {
    const broker = await getBroker();
    // One worker per process: its share of each provider's budget holds across invocations.
    worker ??= broker.refreshWorker(options);
    const outcomes: Record<string, number> = {};
    const remainingTimeMs = () => context.getRemainingTimeInMillis();
    const refresh = async (record: SQSRecord): Promise<void> => {
      let outcome = 'retry';
      try {
        const done = await worker!.run(decodeRefreshJob(record.body), { remainingTimeMs });
        outcome = done.reason ? `${done.outcome}:${done.reason}` : done.outcome;
      } finally {
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
    };
    // A processor per invocation: its state is the batch's. Records run concurrently; the worker's share holds the provider calls.
    const response = await processPartialResponse(event, refresh, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });
    logger.info('refresh worker batch', { records: event.Records.length, outcomes, retried: response.batchItemFailures.length });
    return response;
  });
}

/** A worker opens and seals token sets and publishes events (its IAM: the key and the bus). */
const ADAPTERS: FunctionAdapters = { cipher: cipherFromEnv, events: eventsFromEnv };

export const handler = createRefreshWorkerHandler(() => sharedBroker(ADAPTERS), { workers: (_provider, budget) => refreshWorkersFor(budget, REFRESH_BATCH) });
