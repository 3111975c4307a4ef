/** GET /oauth/{provider}/callback — the provider's redirect: code → encrypted connection → success page or return_to. */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { BrokerSource } from '../lib/broker';
import { InstallDenied } from '../lib/connections/install';
import { brokerHttpErrors } from '../lib/http/middleware';
import { html, redirect, requestBaseUrl, type HttpResponse } from '../lib/http/responses';
import { cipherFromEnv, eventsFromEnv, sharedBroker, type FunctionAdapters } from '../lib/runtime';

function withParams(base: string, params: Record<string, string>): string {
  const url = new URL(base);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}

/** The callback's handler, serving the broker `getBroker` gives. */
export function createCallbackHandler(getBroker: BrokerSource) {
  return middy<APIGatewayProxyEventV2, HttpResponse>()
    .use(brokerHttpErrors('page'))
    .handler(async (event) => {
      const broker = await getBroker();
      try {
        const result = await broker.completeCallback({
          provider: event.pathParameters?.provider ?? '',
          query: event.queryStringParameters ?? {},
          requestBaseUrl: requestBaseUrl(event),
        });
        if (result.returnTo) return redirect(withParams(result.returnTo, { connection_id: result.connectionId, provider: result.provider }));
        return html(200, 'Connected', `Your ${result.provider} account is connected. You can close this window.`, `connection_id: ${result.connectionId}`);
      } catch (err) {
        // A denial with a valid state goes back to the app, which knows how to talk to its user.
        if (err instanceof InstallDenied && err.returnTo) {
          return redirect(withParams(err.returnTo, { error: err.providerError, error_code: err.code }));
        }
        throw err;
      }
    });
}

/** This function seals and opens token sets and publishes events (its IAM: the key and the bus). */
const ADAPTERS: FunctionAdapters = { cipher: cipherFromEnv, events: eventsFromEnv };

export const handler = createCallbackHandler(() => sharedBroker(ADAPTERS));
