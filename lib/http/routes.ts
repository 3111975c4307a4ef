/**
 * The HTTP API's routes, declared once as plain data: the CDK app builds the API Gateway
 * routes and their authorization from it (infra/constructs/broker-api.ts), the admin function
 * dispatches on its keys (functions/admin.ts), and the local server routes and guards by it
 * (lib/local/server.ts). No imports, so `cdk synth` reads it without loading any Lambda code.
 */

/** Who may call a route: anyone (a customer's browser), or an operator (IAM on AWS, the admin key locally). */
export type RouteAuth = 'public' | 'admin';

/** The function that serves a route (a subset of the stack's handler names, infra/bundling.ts). */
export type RouteHandlerName = 'authorize' | 'callback' | 'admin';

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** API Gateway path; `{name}` is a path parameter. */
  path: string;
  handler: RouteHandlerName;
  auth: RouteAuth;
}

/** The install link a marketplace hands out; `{provider}` is a catalogue key. */
export const INSTALL_PATH = '/oauth/{provider}/install';
/** The redirect URI registered with each provider. */
export const CALLBACK_PATH = '/oauth/{provider}/callback';

export const ROUTES = [
  { method: 'GET', path: INSTALL_PATH, handler: 'authorize', auth: 'public' },
  { method: 'GET', path: CALLBACK_PATH, handler: 'callback', auth: 'public' },
  { method: 'GET', path: '/connections', handler: 'admin', auth: 'admin' },
  { method: 'GET', path: '/connections/{id}', handler: 'admin', auth: 'admin' },
  { method: 'POST', path: '/connections/{id}/token', handler: 'admin', auth: 'admin' },
  { method: 'PUT', path: '/connections/{id}', handler: 'admin', auth: 'admin' },
  { method: 'DELETE', path: '/connections/{id}', handler: 'admin', auth: 'admin' },
  // Mints a signed install link for the app's customer (lib/connections/install-links.ts).
  { method: 'POST', path: '/install-links', handler: 'admin', auth: 'admin' },
  // The enabled providers' metadata (never a secret): what the CLI's `providers list` shows.
  { method: 'GET', path: '/providers', handler: 'admin', auth: 'admin' },
] as const satisfies readonly RouteSpec[];

export type Route = (typeof ROUTES)[number];

/** The API Gateway route key (`GET /connections/{id}`) of a route type. */
export type RouteKeyOf<R extends RouteSpec> = R extends { method: infer M extends string; path: infer P extends string } ? `${M} ${P}` : never;

/** Route keys of the admin function: its dispatch table must have exactly these. */
export type AdminRouteKey = RouteKeyOf<Extract<Route, { handler: 'admin' }>>;

/** The API Gateway route key of `route`, as the event's `routeKey` carries it. */
export function routeKey<R extends RouteSpec>(route: R): RouteKeyOf<R> {
  return `${route.method} ${route.path}` as RouteKeyOf<R>;
}
