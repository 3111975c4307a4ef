/**
 * The local HTTP edge: a node:http server that turns each request into the same
 * API Gateway v2 event the deployed functions receive and calls the same handlers, built
 * over the broker it is given. The routes and who may call them come from the one routes
 * table (lib/http/routes.ts): admin routes are guarded by a bearer admin key here (IAM on AWS).
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createAdminHandler } from '../../functions/admin';
import { createAuthorizeHandler } from '../../functions/authorize';
import { createCallbackHandler } from '../../functions/callback';
import type { LogEventSink } from '../adapters/log-sink';
import type { BrokerSource } from '../broker';
import { BrokerError } from '../errors';
import { errorJson, json, logRequestFailure, type HttpResponse, type RequestFacts } from '../http/responses';
import { ROUTES, routeKey, type RouteHandlerName, type RouteSpec } from '../http/routes';
import { edgeLogger } from './edge-logger';
import { dashboardResponse } from './dashboard';

type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResponse>;

interface LocalRoute {
  method: string;
  /** API Gateway route key, e.g. `GET /connections/{id}`. */
  routeKey: string;
  pattern: RegExp;
  params: string[];
  admin: boolean;
  handler: HttpHandler;
}

function localRoute(spec: RouteSpec, handler: HttpHandler): LocalRoute {
  const params: string[] = [];
  const pattern = new RegExp(
    `^${spec.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      params.push(name);
      return '([^/]+)';
    })}$`,
  );
  return { method: spec.method, routeKey: routeKey(spec), pattern, params, admin: spec.auth === 'admin', handler };
}

/** Every route of the table, served by the same handlers as on AWS, each over `broker`. */
function localRoutes(broker: BrokerSource): LocalRoute[] {
  const handlers: Record<RouteHandlerName, HttpHandler> = {
    authorize: createAuthorizeHandler(broker) as unknown as HttpHandler,
    callback: createCallbackHandler(broker) as unknown as HttpHandler,
    admin: createAdminHandler(broker) as unknown as HttpHandler,
  };
  return ROUTES.map((spec) => localRoute(spec, handlers[spec.handler]));
}

export interface LocalServerOptions {
  port: number;
  host?: string;
  adminKey: string;
  /** The broker every handler of this server serves. */
  broker: BrokerSource;
  events?: LogEventSink;
  /** Provider keys shown with install links on the dashboard. */
  installableProviders?: string[];
}

export interface LocalServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const routes = localRoutes(options.broker);
  const server: Server = createServer((req, res) => {
    // One id per request, as API Gateway gives: the event's request id (a handler's correlation id)
    // when a handler serves it, else the id of the server's own line and answer.
    const requestId = randomUUID();
    handle(req, res, requestId, options, routes).catch((err: unknown) => {
      const refused = refusal(err, { route: `${req.method ?? 'GET'} ${new URL(req.url ?? '/', 'http://local').pathname}` }, requestId);
      if (!res.headersSent) send(res, refused);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, requestId: string, options: LocalServerOptions, routes: LocalRoute[]): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  const method = req.method ?? 'GET';
  if (method === 'GET' && (url.pathname === '/' || url.pathname === '/dashboard')) {
    send(res, dashboardResponse(options.installableProviders ?? []));
    return;
  }
  if (method === 'GET' && url.pathname === '/events') {
    if (!authorized(req, options.adminKey)) return send(res, refusal(adminKeyMissing(), { route: 'GET /events' }, requestId));
    send(res, json(200, { events: options.events?.recent() ?? [] }));
    return;
  }
  const match = matchRoute(routes, method, url.pathname);
  if (!match) {
    send(res, refusal(new BrokerError('invalid_request', `No route ${method} ${url.pathname}`), {}, requestId), 404);
    return;
  }
  if (match.route.admin && !authorized(req, options.adminKey)) return send(res, refusal(adminKeyMissing(), { route: match.route.routeKey }, requestId));
  const body = await readBody(req);
  const event = toEvent(req, url, match.route, match.pathParameters, body, requestId);
  const response = await match.route.handler(event, lambdaContext());
  send(res, response);
}

function matchRoute(routes: LocalRoute[], method: string, path: string): { route: LocalRoute; pathParameters: Record<string, string> } | undefined {
  for (const candidate of routes) {
    if (candidate.method !== method) continue;
    const found = candidate.pattern.exec(path);
    if (!found) continue;
    const pathParameters: Record<string, string> = {};
    candidate.params.forEach((name, index) => {
      pathParameters[name] = found[index + 1]!;
    });
    return { route: candidate, pathParameters };
  }
  return undefined;
}

function authorized(req: IncomingMessage, adminKey: string): boolean {
  // The scheme is case-insensitive (RFC 9110 §11.1): `bearer <key>` from a hand-written curl is the same credential.
  const presented = Buffer.from(/^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '');
  const expected = Buffer.from(adminKey);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/** What API Gateway's IAM authorizer answers on AWS. */
function adminKeyMissing(): BrokerError {
  return new BrokerError('unauthorized', 'Admin routes need Authorization: Bearer <admin key> (printed by npm start, or BROKER_ADMIN_KEY)');
}

/**
 * The answer to a request the server refuses itself, as API Gateway would on AWS (no route, no
 * admin key, a body too large), logged like the handlers' refusals but through `edgeLogger` with
 * this request's id as its correlation id: the handlers' logger still holds the last invocation's
 * Lambda context, and a running handler's correlation id. The answer carries the id in
 * `x-correlation-id`, as a handler's does.
 */
function refusal(err: unknown, facts: RequestFacts, requestId: string): HttpResponse {
  edgeLogger.setCorrelationId(requestId);
  try {
    logRequestFailure(err, facts, edgeLogger);
  } finally {
    edgeLogger.resetKeys();
  }
  const response = errorJson(err);
  return { ...response, headers: { ...response.headers, 'x-correlation-id': requestId } };
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new BrokerError('invalid_request', 'Body too large');
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 0 ? undefined : Buffer.concat(chunks).toString('utf8');
}

/** The API Gateway HTTP API (payload 2.0) event for this request. */
function toEvent(req: IncomingMessage, url: URL, matched: LocalRoute, pathParameters: Record<string, string>, body: string | undefined, requestId: string): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  headers['x-forwarded-proto'] = 'http';
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const host = headers.host ?? 'localhost';
  // As API Gateway (payload 2.0): the request's cookies in `cookies`, not in a `cookie` header.
  const cookies = headers.cookie?.split(';').map((pair) => pair.trim()).filter((pair) => pair !== '');
  delete headers.cookie;
  return {
    version: '2.0',
    routeKey: matched.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    cookies,
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    pathParameters,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: { method: matched.method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId,
      routeKey: matched.routeKey,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  };
}

/** A Lambda context good enough for the handlers (they only read remaining time). */
export function lambdaContext(timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:local',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: 'local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function send(res: ServerResponse, response: HttpResponse, statusOverride?: number): void {
  // API Gateway writes each of `cookies` as its own Set-Cookie header (they cannot be joined with commas).
  if (response.cookies?.length) res.setHeader('set-cookie', response.cookies);
  res.writeHead(statusOverride ?? response.statusCode, response.headers);
  res.end(response.body ?? '');
}
