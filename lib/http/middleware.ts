/** middy middlewares for the broker's HTTP functions: one job each. */
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { errorJson, errorPage, wantsJson, type HttpResponse } from './responses';

/**
 * Maps any error to the broker's one error response: a page for people (install,
 * callback) unless they ask for JSON, JSON for the admin API. Never a stack, never a secret.
 */
export function brokerHttpErrors(mode: 'page' | 'json'): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResponse> {
  return {
    onError: async (request) => {
      const asPage = mode === 'page' && !wantsJson(request.event);
      request.response = asPage ? errorPage(request.error) : errorJson(request.error);
    },
  };
}
