/**
 * What every provider stand-in shares: the registered app (client id, secret, redirect URLs),
 * the request checks providers document in the same words (a form or JSON body, HTTP Basic
 * client authentication, a required parameter), and the shape a stand-in is handed back in.
 *
 * A stand-in is the fault provider (../fault-provider.ts) with one provider's profile, reached
 * through the stand-in network (./network.ts) at that provider's real hosts. Each stand-in file
 * says, next to each behaviour, which page of the provider's documentation it follows; where
 * the behaviour is inferred rather than documented, the comment says "(inferred)".
 */
import type { ClientCredentials } from '../../../lib/model';
import { startFaultProvider, type FaultProvider, type FaultProviderOptions, type RecordedRequest, type StandInAnswer } from '../fault-provider';
import type { StandInNetwork } from './network';

/** The app registered at every stand-in (its credentials are what the tests' secret store holds). */
export const STANDIN_APP: ClientCredentials = { client_id: 'standin-app-id', client_secret: 'standin-app-secret-value' };

/** The broker's public URL in stand-in tests; its callbacks are the redirect URLs registered at each provider. */
export const STANDIN_BROKER_URL = 'https://broker.example.com';

/** The redirect URL a provider's app registration holds for the broker (docs/providers/<key>.md says to enter this). */
export function registeredRedirect(key: string): string {
  return `${STANDIN_BROKER_URL}/oauth/${key}/callback`;
}

export interface StandInOptions {
  /** The app the stand-in knows; default STANDIN_APP. */
  app?: ClientCredentials;
  /** Redirect URLs registered for the app; default the broker's callback for this provider. */
  redirectUris?: string[];
  /** The stand-in's clock (epoch ms); default Date.now. */
  clock?: () => number;
}

/** A running stand-in: its server (counters, request log, scripted faults) and the hosts it answers for. */
export interface StandIn {
  /** The built-in catalogue key it stands in for. */
  key: string;
  server: FaultProvider;
  /** The provider's hosts (patterns for per-customer hosts). */
  hosts: Array<string | RegExp>;
  app: ClientCredentials;
  close(): Promise<void>;
}

/** Starts the fault provider with a profile and names the hosts it answers for. */
export async function startStandIn(key: string, hosts: Array<string | RegExp>, options: StandInOptions, profile: FaultProviderOptions): Promise<StandIn> {
  const app = options.app ?? STANDIN_APP;
  const server = await startFaultProvider({ client: { id: app.client_id, secret: app.client_secret }, clock: options.clock, ...profile });
  return { key, server, hosts, app, close: () => server.close() };
}

/** Routes every host of each stand-in through `network`. */
export function connect(network: StandInNetwork, ...standIns: StandIn[]): StandInNetwork {
  for (const standIn of standIns) for (const host of standIn.hosts) network.route(host, standIn.server);
  return network;
}

// ---- the checks providers document alike ------------------------------------------------

/** The request body is form-encoded (RFC 6749 §4.1.3). */
export function isForm(req: RecordedRequest): boolean {
  return (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

/** The request body is JSON. */
export function isJson(req: RecordedRequest): boolean {
  return (req.headers['content-type'] ?? '').startsWith('application/json');
}

/** The names of `required` that the request lacks (query and body together). */
export function missing(req: RecordedRequest, required: readonly string[]): string[] {
  return required.filter((name) => typeof req.params[name] !== 'string' || req.params[name] === '');
}

/** The bearer token of `Authorization: <scheme> <token>`, for the given scheme (case-insensitive). */
export function credentialOf(req: RecordedRequest, scheme = 'Bearer'): string | undefined {
  const match = new RegExp(`^${scheme}\\s+(\\S+)$`, 'i').exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** A redirect URL the app did not register: the provider's error page, never a redirect (RFC 6749 §4.1.2.1). */
export function unregisteredRedirect(req: RecordedRequest, registered: readonly string[]): StandInAnswer | undefined {
  const redirect = req.params['redirect_uri'];
  if (typeof redirect === 'string' && registered.includes(redirect)) return undefined;
  return { status: 400, headers: { 'content-type': 'text/html' }, body: '<h1>redirect_uri does not match a registered redirect URL</h1>' };
}

/** An authorize request for another app: the provider's error page. */
export function unknownClient(req: RecordedRequest, app: ClientCredentials): StandInAnswer | undefined {
  if (req.params['client_id'] === app.client_id) return undefined;
  return { status: 400, headers: { 'content-type': 'text/html' }, body: '<h1>unknown client_id</h1>' };
}

/** The scopes of an authorize request, split on the provider's separator; `undefined` when absent. */
export function scopesOf(req: RecordedRequest, separator: string): string[] | undefined {
  const scope = req.params['scope'];
  return typeof scope === 'string' ? scope.split(separator).filter((s) => s !== '') : undefined;
}

/** The usual first checks of an authorize request: the app and its registered redirect URL. */
export function checkAuthorizeRequest(req: RecordedRequest, app: ClientCredentials, redirectUris: readonly string[]): StandInAnswer | undefined {
  return unknownClient(req, app) ?? unregisteredRedirect(req, redirectUris);
}

/** JSON answer helper. */
export function answer(status: number, body?: unknown, headers?: Record<string, string>): StandInAnswer {
  return { status, ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) };
}
