/** The EventBridge-scheduled refresh scheduler: every minute, what is due goes to the providers' refresh queues. */
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { schedulerBroker, type BrokerSource, type SchedulerBroker } from '../lib/broker';
import type { SchedulerSummary } from '../lib/connections/refresh-scheduler';
import { flushMetrics, logContext } from '../lib/observability';
import type { RefreshQueue } from '../lib/ports';
import { refreshQueueFromEnv, sharedBroker, type FunctionAdapters } from '../lib/runtime';

/** The scheduler's handler, over the broker `getBroker` gives and the queues `getQueue` gives (SQS on AWS, in-process locally). */
export function createRefreshSchedulerHandler(getBroker: BrokerSource<SchedulerBroker>, getQueue: () => RefreshQueue) {
  return (
    middy<ScheduledEvent, SchedulerSummary, Error, Context>()
      // The schedule event's id ties the run's lines to the EventBridge event.
      .use(logContext<ScheduledEvent, SchedulerSummary>((event, context) => event?.id ?? context.awsRequestId))
      .use(flushMetrics<ScheduledEvent, SchedulerSummary>(getBroker))
      .handler(async (_event, context) => {
        const broker = await getBroker();
        return broker.scheduleRefreshes(getQueue(), { remainingTimeMs: () => context.getRemainingTimeInMillis() });
      })
  );
}

let queue: RefreshQueue | undefined;
/** The scheduler reads the schedule index and provider health and sends jobs: it neither seals nor opens a token set, nor publishes an event. */
const ADAPTERS: FunctionAdapters = {};

export const handler = createRefreshSchedulerHandler(() => sharedBroker(ADAPTERS, schedulerBroker), () => (queue ??= refreshQueueFromEnv()));
