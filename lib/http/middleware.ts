/** middy middlewares for the broker's HTTP functions: one job each, used together through `brokerHttp`. */
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { BrokerPart, BrokerSource } from '../broker';
import { acceptedCorrelationId } from '../logger';
import { flushMetrics, logContext } from '../observability';
import { errorPage } from './pages';
import { errorJson, logRequestFailure, wantsJson, type HttpResponse } from './responses';

type HttpMiddleware = middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResponse, Error, Context>;

export interface BrokerHttpOptions {
  /** `page` for the routes people visit (install, callback, connected) unless they ask for JSON; `json` for the admin API. */
  mode: 'page' | 'json';
  /**
   * Take the caller's `x-correlation-id` (admin routes: the caller is authenticated, and can then
   * find our lines by its own id). Public routes always use API Gateway's request id, so a
   * stranger cannot make a reference that matches someone else's lines.
   */
  trustCorrelationHeader?: boolean;
  /** The handler's broker: its branding for error pages (none when it could not start), its metrics to flush. */
  getBroker: BrokerSource<BrokerPart>;
}

/** The correlation id of an HTTP request (see `BrokerHttpOptions.trustCorrelationHeader`). */
export function requestCorrelationId(event: APIGatewayProxyEventV2, trustHeader: boolean): string {
  return (trustHeader ? acceptedCorrelationId(event.headers?.['x-correlation-id']) : undefined) ?? event.requestContext.requestId;
}

/** The provider named in the route's path, as far as a log line should carry it. */
function pathProvider(event: APIGatewayProxyEventV2): string | undefined {
  return event.pathParameters?.provider?.slice(0, 64);
}

/**
 * Everything an HTTP handler of the broker uses, in order: the Lambda context and correlation id
 * on every log line, the invocation's metrics flushed at its end, the correlation id echoed in
 * `x-correlation-id`, and every error mapped to the one error response (a page for people, JSON
 * for the API) with one log line that names the route and the provider. Never a stack, never a
 * secret.
 */
export function brokerHttp(options: BrokerHttpOptions): HttpMiddleware[] {
  const trust = options.trustCorrelationHeader ?? false;
  const echoCorrelationId = (request: middy.Request<APIGatewayProxyEventV2, HttpResponse, Error, Context>) => {
    if (request.response) request.response.headers = { ...request.response.headers, 'x-correlation-id': requestCorrelationId(request.event, trust) };
  };
  return [
    ...logContext<APIGatewayProxyEventV2, HttpResponse>((event) => requestCorrelationId(event, trust)),
    flushMetrics<APIGatewayProxyEventV2, HttpResponse>(options.getBroker),
    { after: echoCorrelationId, onError: echoCorrelationId },
    {
      onError: async (request) => {
        const { event, error } = request;
        logRequestFailure(error, { route: event.routeKey, provider: pathProvider(event) });
        if (options.mode === 'json' || wantsJson(event)) {
          request.response = errorJson(error);
          return;
        }
        const branding = await options.getBroker().then((broker) => broker.ctx.config.branding, () => undefined);
        request.response = errorPage(error, { branding, correlationId: requestCorrelationId(event, trust) });
      },
    },
  ];
}
