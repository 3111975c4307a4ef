/**
 * The admin API (IAM-authorized on AWS, bearer admin key locally):
 * GET /connections, GET /connections/{id}, POST /connections/{id}/token,
 * PUT /connections/{id} (client-credentials connection), DELETE /connections/{id} (revoke),
 * POST /install-links (a signed install link for the app's customer),
 * GET /providers (the enabled providers' metadata). docs/openapi.json describes each.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { adminBroker, type AdminBroker, type BrokerSource } from '../lib/broker';
import type { RegisterClientCredentialsInput } from '../lib/connections/admin';
import { invocationSignal } from '../lib/connections/context';
import type { InstallLinkRequest } from '../lib/connections/install-links';
import { BrokerError } from '../lib/errors';
import { brokerHttp } from '../lib/http/middleware';
import { json, requestBaseUrl, type HttpResponse } from '../lib/http/responses';
import type { AdminRouteKey } from '../lib/http/routes';
import { isPlainObject, refuseUnknownFields } from '../lib/plain-object';
import { cipherFromEnv, eventsFromEnv, sharedBroker, type FunctionAdapters } from '../lib/runtime';

function parseBody(event: APIGatewayProxyEventV2): Record<string, unknown> {
  if (!event.body) return {};
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BrokerError('invalid_request', 'Body must be valid JSON');
  }
  if (!isPlainObject(body)) throw new BrokerError('invalid_request', 'Body must be a JSON object');
  return body;
}

function connectionIdOf(event: APIGatewayProxyEventV2): string {
  try {
    return decodeURIComponent(event.pathParameters?.id ?? '');
  } catch {
    throw new BrokerError('invalid_request', 'The connection id in the path is not valid percent-encoding');
  }
}

const LIST_PARAMETERS = ['provider', 'status', 'tenant', 'limit', 'cursor'] as const;

/**
 * The query parameters of a route that takes exactly `allowed` (every admin route calls it). An
 * unknown one is refused: a misspelt filter (`?stauts=revoked`) must not silently list everything
 * to a script that acts on it, nor `?dry_run=true` be ignored by a DELETE.
 */
function queryParameters<const N extends string>(event: APIGatewayProxyEventV2, allowed: readonly N[]): Partial<Record<N, string>> {
  const query = event.queryStringParameters ?? {};
  const unknown = Object.keys(query).filter((name) => !(allowed as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new BrokerError('invalid_request', `Unknown query parameter ${JSON.stringify(unknown[0]!.slice(0, 40))}; this route takes ${allowed.length > 0 ? allowed.join(', ') : 'none'}`);
  }
  return query as Partial<Record<N, string>>;
}

/**
 * Refuses a body on a route that reads none (an empty JSON object aside): `{"dry_run": true}` on a
 * DELETE must not revoke for real, nor a filter in a GET's body list everything.
 */
function refuseBody(event: APIGatewayProxyEventV2): void {
  if (!event.body) return;
  let body: Record<string, unknown> | undefined;
  try {
    body = parseBody(event);
  } catch {
    body = undefined;
  }
  if (body === undefined || Object.keys(body).length > 0) throw new BrokerError('invalid_request', 'This route takes no body');
}

type Operation = (broker: AdminBroker, id: string, event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResponse>;

/** One operation per admin route of lib/http/routes.ts: the compiler refuses a missing or an extra key. */
const operations = {
  'GET /connections': async (broker, _id, event) => {
    const query = queryParameters(event, LIST_PARAMETERS);
    refuseBody(event);
    // The values are checked once, by the use case (limit 1 to 500, the filters).
    // Digits only (Number() reads `0x10` and `1e1`): anything else is NaN, which the one limit rule refuses.
    const limit = query.limit === undefined ? undefined : /^\d+$/.test(query.limit) ? Number(query.limit) : Number.NaN;
    const page = await broker.listConnections({ ...query, limit });
    return json(200, { connections: page.items, ...(page.unreadable ? { unreadable: page.unreadable } : {}), ...(page.cursor ? { cursor: page.cursor } : {}) });
  },
  'GET /connections/{id}': async (broker, id, event) => {
    queryParameters(event, []);
    refuseBody(event);
    return json(200, { connection: await broker.describeConnection(id) });
  },
  'POST /connections/{id}/token': async (broker, id, event, context) => {
    queryParameters(event, []); // `?force_refresh=true` must not answer the old token
    const body = parseBody(event);
    refuseUnknownFields(body, ['force_refresh']);
    if (body.force_refresh !== undefined && typeof body.force_refresh !== 'boolean') {
      throw new BrokerError('invalid_request', 'force_refresh must be a boolean');
    }
    // Waiting for another worker ends in time for a 503 refresh_in_progress, never in a gateway timeout.
    const signal = invocationSignal(context.getRemainingTimeInMillis(), broker.ctx.config);
    return json(200, await broker.getToken(id, { forceRefresh: body.force_refresh === true, signal }));
  },
  'PUT /connections/{id}': async (broker, id, event) => {
    queryParameters(event, []);
    return json(200, { connection: await broker.registerClientCredentials(id, parseBody(event) as unknown as RegisterClientCredentialsInput) });
  },
  'DELETE /connections/{id}': async (broker, id, event) => {
    queryParameters(event, []); // `?dry_run=true` must not revoke for real
    refuseBody(event);
    return json(200, await broker.revoke(id));
  },
  'POST /install-links': async (broker, _id, event) => {
    queryParameters(event, []);
    return json(201, await broker.createInstallLink(parseBody(event) as unknown as InstallLinkRequest, requestBaseUrl(event)));
  },
  'GET /providers': async (broker, _id, event) => {
    queryParameters(event, []);
    refuseBody(event);
    return json(200, await broker.listProviders());
  },
} satisfies Record<AdminRouteKey, Operation>;

/** The admin routes' handler, serving the broker `getBroker` gives. */
export function createAdminHandler(getBroker: BrokerSource<AdminBroker>) {
  return middy<APIGatewayProxyEventV2, HttpResponse, Error, Context>()
    .use(brokerHttp({ mode: 'json', trustCorrelationHeader: true, getBroker }))
    .handler(async (event, context) => {
      const operation: Operation | undefined = Object.hasOwn(operations, event.routeKey) ? operations[event.routeKey as AdminRouteKey] : undefined;
      if (!operation) throw new BrokerError('invalid_request', `No admin route ${event.routeKey}`);
      return operation(await getBroker(), connectionIdOf(event), event, context);
    });
}

/** This function seals and opens token sets and publishes events (its IAM: the key and the bus). */
const ADAPTERS: FunctionAdapters = { cipher: cipherFromEnv, events: eventsFromEnv };

export const handler = createAdminHandler(() => sharedBroker(ADAPTERS, adminBroker));

/** The route keys this handler dispatches on (a test holds them against the routes table). */
export const ADMIN_ROUTE_KEYS = Object.keys(operations);
