/**
 * Direct-invoke function for callers without table/key permissions:
 * `{ "connection_id": "...", "force_refresh": false }` → `{ ok: true, token }` or `{ ok: false, error }`.
 * Expected failures are typed results, not function errors, so callers can branch on `code`.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { getTokenBroker, type BrokerSource, type GetTokenBroker } from '../lib/broker';
import { invocationSignal } from '../lib/connections/context';
import type { GetTokenResponse } from '../lib/client';
import { BrokerError, errorBody, errorStatus, isBrokerError } from '../lib/errors';
import { acceptedCorrelationId, logger } from '../lib/logger';
import { flushMetrics, logContext } from '../lib/observability';
import { refuseUnknownFields } from '../lib/plain-object';
import { cipherFromEnv, eventsFromEnv, sharedBroker, type FunctionAdapters } from '../lib/runtime';

interface GetTokenEvent {
  connection_id?: unknown;
  force_refresh?: unknown;
  /** The caller's correlation id for our log lines (letters, digits, `._:-`, ≤ 128); else the invocation's request id. */
  correlation_id?: unknown;
}

/** The get-token function's handler, serving the broker `getBroker` gives. */
export function createGetTokenHandler(getBroker: BrokerSource<GetTokenBroker>) {
  return middy<GetTokenEvent, GetTokenResponse, Error, Context>()
    .use(logContext<GetTokenEvent, GetTokenResponse>((event, context) => acceptedCorrelationId(event?.correlation_id) ?? context.awsRequestId))
    .use(flushMetrics<GetTokenEvent, GetTokenResponse>(getBroker))
    .handler(async (event, context) => {
      try {
        if (typeof event?.connection_id !== 'string') throw new BrokerError('invalid_request', 'connection_id (string) is required');
        refuseUnknownFields(event as Record<string, unknown>, ['connection_id', 'force_refresh', 'correlation_id']);
        if (event.force_refresh !== undefined && typeof event.force_refresh !== 'boolean') {
          throw new BrokerError('invalid_request', 'force_refresh must be a boolean');
        }
        const broker = await getBroker();
        // Waiting for another worker ends in time to answer {ok:false, refresh_in_progress}, never in a function timeout.
        const signal = invocationSignal(context.getRemainingTimeInMillis(), broker.ctx.config);
        const token = await broker.getToken(event.connection_id, { forceRefresh: event.force_refresh === true, signal });
        return { ok: true, token };
      } catch (err) {
        if (isBrokerError(err, 'configuration_error')) logger.error('configuration error', { code: err.code, problem: err.message, ...err.details });
        else if (errorStatus(err) >= 500 && !(err instanceof BrokerError && err.expose)) logger.error('get-token failed', { error: err instanceof Error ? err.name : 'unknown' });
        return { ok: false, error: errorBody(err).error };
      }
    });
}

/** This function seals and opens token sets and publishes events (its IAM: the key and the bus). */
const ADAPTERS: FunctionAdapters = { cipher: cipherFromEnv, events: eventsFromEnv };

export const handler = createGetTokenHandler(() => sharedBroker(ADAPTERS, getTokenBroker));
