/** The EventBridge-scheduled sweep: refresh every connection due within the horizon, within this invocation's time. */
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import type { BrokerSource } from '../lib/broker';
import type { SweepSummary } from '../lib/connections/sweep';
import { flushMetrics, logContext } from '../lib/observability';
import { sharedBroker } from '../lib/runtime';

/** The scheduled sweep's handler, serving the broker `getBroker` gives. */
export function createRefreshHandler(getBroker: BrokerSource) {
  return (
    middy<ScheduledEvent, SweepSummary, Error, Context>()
      // The schedule event's id ties the sweep's lines to a dead-lettered event of the same id.
      .use(logContext<ScheduledEvent, SweepSummary>((event, context) => event?.id ?? context.awsRequestId))
      .use(flushMetrics<ScheduledEvent, SweepSummary>(getBroker))
      .handler(async (_event, context) => {
        const broker = await getBroker();
        return broker.sweep({ remainingTimeMs: () => context.getRemainingTimeInMillis() });
      })
  );
}

export const handler = createRefreshHandler(sharedBroker);
