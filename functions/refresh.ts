/** The EventBridge-scheduled sweep: refresh every connection due within the horizon, within this invocation's time. */
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import type { BrokerSource } from '../lib/broker';
import type { SweepSummary } from '../lib/connections/sweep';
import { cipherFromEnv, eventsFromEnv, sharedBroker, type FunctionAdapters } from '../lib/runtime';

/** The scheduled sweep's handler, serving the broker `getBroker` gives. */
export function createRefreshHandler(getBroker: BrokerSource) {
  return middy<ScheduledEvent, SweepSummary, Error, Context>().handler(async (_event, context) => {
    const broker = await getBroker();
    return broker.sweep({ remainingTimeMs: () => context.getRemainingTimeInMillis() });
  });
}

/** This function seals and opens token sets and publishes events (its IAM: the key and the bus). */
const ADAPTERS: FunctionAdapters = { cipher: cipherFromEnv, events: eventsFromEnv };

export const handler = createRefreshHandler(() => sharedBroker(ADAPTERS));
