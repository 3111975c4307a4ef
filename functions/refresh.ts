/** The EventBridge-scheduled sweep: refresh every connection due within the horizon, within this invocation's time. */
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import type { SweepSummary } from '../lib/connections/sweep';
import { sharedBroker } from '../lib/runtime';

export const handler = middy<ScheduledEvent, SweepSummary, Error, Context>().handler(async (_event, context) => {
  const broker = await sharedBroker();
  return broker.sweep({ remainingTimeMs: () => context.getRemainingTimeInMillis() });
});
