/**
 * GET /oauth/{provider}/callback — the provider's redirect: code → encrypted connection → 303 to
 * the "Connected" page (or to the app's return_to). A callback with a state is answered only in
 * the browser that opened the install link, which holds its install cookie (lib/http/install-cookie.ts).
 * GET /oauth/{provider}/connected — that page, from its signed result: reloading it shows the
 * result again instead of replaying the one-time callback (post/redirect/get).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { callbackBroker, type BrokerSource, type CallbackBroker } from '../lib/broker';
import { InstallDenied } from '../lib/connections/install';
import { clearedInstallCookie, requireInstallCookie } from '../lib/http/install-cookie';
import { brokerHttp, requestCorrelationId } from '../lib/http/middleware';
import { connectedExpiredPage, connectedPage, withParams } from '../lib/http/pages';
import { redirect, requestBaseUrl, type HttpResponse } from '../lib/http/responses';
import { CONNECTED_PATH } from '../lib/http/routes';
import { cipherFromEnv, eventsFromEnv, sharedBroker, type FunctionAdapters } from '../lib/runtime';

const CONNECTED_ROUTE = `GET ${CONNECTED_PATH}`;

/** The callback's handler (and its "Connected" page), serving the broker `getBroker` gives. */
export function createCallbackHandler(getBroker: BrokerSource<CallbackBroker>) {
  return middy<APIGatewayProxyEventV2, HttpResponse>()
    .use(brokerHttp({ mode: 'page', getBroker }))
    .handler(async (event) => {
      const broker = await getBroker();
      const provider = event.pathParameters?.provider ?? '';
      if (event.routeKey === CONNECTED_ROUTE) {
        const result = await broker.readInstallResult(event.queryStringParameters?.c, provider);
        const context = { branding: broker.ctx.config.branding, correlationId: requestCorrelationId(event, false) };
        if (result.status === 'expired') return connectedExpiredPage(context);
        const providerName = broker.ctx.catalogue.get(result.provider)?.display_name ?? result.provider;
        return connectedPage({ connectionId: result.connectionId, providerName }, context);
      }
      const query = event.queryStringParameters ?? {};
      const base = (broker.ctx.config.publicUrl ?? requestBaseUrl(event)).replace(/\/+$/, '');
      // A marketplace-initiated callback (no state) has no install, so no browser, to bind to.
      const state = query.state || undefined;
      if (state !== undefined) await requireInstallCookie(event, broker.ctx.signingKey, state, base);
      // Once the install is over (stored, or declined back to the app) its cookie has no more use.
      const over = (response: HttpResponse): HttpResponse => (state === undefined ? response : { ...response, cookies: [clearedInstallCookie(state, base)] });
      try {
        const result = await broker.completeCallback({ provider, query, requestBaseUrl: requestBaseUrl(event) });
        if (result.returnTo) return over(redirect(withParams(result.returnTo, { connection_id: result.connectionId, provider: result.provider }), 303));
        const c = await broker.sealInstallResult({ connectionId: result.connectionId, provider: result.provider });
        const connected = new URL(`${base}${CONNECTED_PATH.replace('{provider}', encodeURIComponent(result.provider))}`);
        connected.searchParams.set('c', c);
        return over(redirect(connected.toString(), 303));
      } catch (err) {
        // A denial with a valid state goes back to the app, which knows how to talk to its user.
        if (err instanceof InstallDenied && err.returnTo) {
          return over(redirect(withParams(err.returnTo, { error: err.providerError, error_code: err.code })));
        }
        throw err;
      }
    });
}

/** This function seals and opens token sets and publishes events (its IAM: the key and the bus). */
const ADAPTERS: FunctionAdapters = { cipher: cipherFromEnv, events: eventsFromEnv };

export const handler = createCallbackHandler(() => sharedBroker(ADAPTERS, callbackBroker));
