/**
 * GET /oauth/{provider}/install — the install link: 302 to the provider's consent page, with
 * the install cookie that binds the callback to this browser (lib/http/install-cookie.ts).
 * `?link=` carries a signed link's choices; a public link takes only `return_to`.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { authorizeBroker, type AuthorizeBroker, type BrokerSource } from '../lib/broker';
import { installCookie, staleInstallCookies } from '../lib/http/install-cookie';
import { brokerHttp } from '../lib/http/middleware';
import { redirect, requestBaseUrl, type HttpResponse } from '../lib/http/responses';
import { sharedBroker, type FunctionAdapters } from '../lib/runtime';

/** The install link's handler, serving the broker `getBroker` gives. */
export function createAuthorizeHandler(getBroker: BrokerSource<AuthorizeBroker>) {
  return middy<APIGatewayProxyEventV2, HttpResponse>()
    .use(brokerHttp({ mode: 'page', getBroker }))
    .handler(async (event) => {
      const broker = await getBroker();
      const query = event.queryStringParameters ?? {};
      const authorizeUrl = await broker.startInstall({
        provider: event.pathParameters?.provider ?? '',
        link: query.link,
        connectionId: query.connection_id,
        returnTo: query.return_to,
        requestBaseUrl: requestBaseUrl(event),
      });
      // startInstall always puts its state in the authorize URL; the callback comes back with it.
      const state = authorizeUrl.searchParams.get('state') ?? '';
      const { config, signingKey } = broker.ctx;
      const callbackBase = config.publicUrl ?? requestBaseUrl(event);
      const cookie = await installCookie(signingKey, state, { callbackBase, stateTtlMs: config.stateTtlMs });
      // A browser holding too many (made to open link after link) starts over with this install's alone.
      return { ...redirect(authorizeUrl.toString()), cookies: [...staleInstallCookies(event, callbackBase), cookie] };
    });
}

/** This function neither seals a token nor publishes an event (its IAM has no key and no bus): no KMS or EventBridge client in its bundle. */
const ADAPTERS: FunctionAdapters = {};

export const handler = createAuthorizeHandler(() => sharedBroker(ADAPTERS, authorizeBroker));
