/**
 * The middlewares every Lambda handler of the broker uses, the Powertools way: logs with the
 * Lambda context and a correlation id (`logContext`), and the metrics the invocation recorded
 * written out at its end (`flushMetrics`). Use `logContext` first and `flushMetrics` next, so
 * that error middlewares used after them still log with the context and their metrics are
 * flushed (middy runs `after`/`onError` in reverse order).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { BrokerPart, BrokerSource } from './broker';
import { logger } from './logger';

/**
 * The middlewares that put the Lambda context and the correlation id `correlationIdOf` picks on
 * every line of the invocation. Use them first, so that error middlewares used after them still
 * log with the context (middy runs `onError` in reverse order).
 */
export function logContext<TEvent, TResult>(
  correlationIdOf: (event: TEvent, context: Context) => string,
): Array<middy.MiddlewareObj<TEvent, TResult, Error, Context>> {
  return [
    injectLambdaContext(logger, { resetKeys: true }) as middy.MiddlewareObj<TEvent, TResult, Error, Context>,
    {
      before: (request) => {
        logger.setCorrelationId(correlationIdOf(request.event, request.context));
      },
    },
  ];
}

/**
 * Writes out the metrics the invocation recorded (`MetricsSink.flush`: one EMF line per group on
 * AWS), after the handler and after an error alike. A broker that could not be built recorded
 * nothing; a failing flush is logged, never the invocation's failure.
 */
export function flushMetrics<TEvent, TResult>(getBroker: BrokerSource<BrokerPart>): middy.MiddlewareObj<TEvent, TResult, Error, Context> {
  const flush = async (): Promise<void> => {
    try {
      (await getBroker()).ctx.metrics.flush();
    } catch (err) {
      logger.warn('metrics not flushed', { error: err instanceof Error ? err.name : 'unknown' });
    }
  };
  return { after: flush, onError: flush };
}
