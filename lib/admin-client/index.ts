/**
 * `oauth-token-broker/client`: a typed client for the admin API, against the local broker
 * (`npm start`, bearer admin key) or a deployed stack (SigV4 with the caller's AWS credentials).
 *
 * Built on openapi-fetch over the types openapi-typescript derives from the spec
 * (docs/openapi.json, shipped as `oauth-token-broker/openapi.json`): each method's parameters and
 * result are the spec's, and `raw` is the underlying openapi-fetch client for anything else.
 * Every error response becomes a `BrokerApiError` with the broker's stable `code`.
 *
 * ```ts
 * import { createAdminClient } from 'oauth-token-broker/client';
 * const admin = createAdminClient({ url: 'https://abc.execute-api.eu-west-1.amazonaws.com', sigv4: true });
 * for await (const c of admin.connections({ status: 'needs_reauth' })) console.log(c.id);
 * ```
 */
import openapiFetch, { type Client, type Middleware } from 'openapi-fetch';
import { sigV4RequestSigner, type SigV4Options } from '../adapters/sigv4-request';
import { ownUrlProblem } from '../providers/secure-url';
import type { components, operations, paths } from './openapi-types';

/**
 * openapi-fetch's default export. Our CommonJS build imports it with Node's interop, where the
 * default import of a CommonJS module is its `module.exports` object, whose `default` is the function.
 */
const createClient: typeof openapiFetch = typeof openapiFetch === 'function' ? openapiFetch : (openapiFetch as unknown as { default: typeof openapiFetch }).default;

type Schemas = components['schemas'];
export type ConnectionSummary = Schemas['ConnectionSummary'];
export type ConnectionStatus = Schemas['ConnectionStatus'];
export type ConnectionList = Schemas['ConnectionList'];
export type AccessToken = Schemas['AccessToken'];
export type RevokeResult = Schemas['RevokeResult'];
export type ProviderSummary = Schemas['ProviderSummary'];
export type ProviderList = Schemas['ProviderList'];
export type RegisterClientCredentialsRequest = Schemas['RegisterClientCredentialsRequest'];
export type ErrorCode = Schemas['ErrorCode'];
/** `GET /connections` query: filters, page size, cursor. */
export type ListConnectionsQuery = NonNullable<operations['listConnections']['parameters']['query']>;
export type { SigV4Options, AwsCredentials } from '../adapters/sigv4-request';

export type InstallLinkRequest = Schemas['InstallLinkRequest'];
export type InstallLink = Schemas['InstallLink'];

export interface AdminClientOptions {
  /** The broker's base URL: `http://127.0.0.1:3000` locally, a stack's `ApiUrl` output when deployed. */
  url: string;
  /** The local broker's admin key (`.data/admin.key`, or BROKER_ADMIN_KEY), sent as a bearer token. */
  adminKey?: string;
  /** Sign every request with SigV4 (`execute-api`) using the caller's AWS credentials: a deployed stack. */
  sigv4?: boolean | SigV4Options;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * Throws, before any request, when the admin key (a bearer token on every request) may not travel to
 * `raw` (`ownUrlProblem`: https, or plain http to this machine only, no user name or password); the
 * message never holds the key or a password. The CLI holds the same rule (lib/cli/main.ts) with its own messages.
 */
function refuseKeyTransport(raw: string): void {
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  const problem = url === undefined ? 'transport' : ownUrlProblem(url);
  if (problem === 'userinfo') throw new TypeError('AdminClient: the url carries a user name or password (user:password@); the broker takes the admin key');
  if (problem === 'transport') {
    const where = url === undefined ? 'a url that does not parse' : `${url.protocol}//${url.host}`;
    throw new TypeError(`AdminClient: the admin key goes over https, or plain http to this machine only (localhost, 127.x.x.x, [::1]); ${where} is neither`);
  }
}

/** An error answer of the admin API: `code` is the broker's stable code (lib/errors.ts), or `forbidden` for API Gateway's IAM refusal. */
export class BrokerApiError extends Error {
  override readonly name = 'BrokerApiError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'forbidden' | 'unexpected_response',
    message: string,
    readonly details: Record<string, string | number | boolean> = {},
  ) {
    super(message);
  }
}

/** The typed admin client; see the module comment. */
export class AdminClient {
  /** The openapi-fetch client over the spec's paths, with this client's authentication. */
  readonly raw: Client<paths>;

  constructor(options: AdminClientOptions) {
    if (options.adminKey !== undefined && options.sigv4) throw new TypeError('AdminClient: give adminKey (local broker) or sigv4 (deployed stack), not both');
    if (options.adminKey !== undefined) refuseKeyTransport(options.url);
    this.raw = createClient<paths>({
      baseUrl: options.url.replace(/\/+$/, ''),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.adminKey !== undefined ? { headers: { authorization: `Bearer ${options.adminKey}` } } : {}),
    });
    if (options.sigv4) {
      const sign = sigV4RequestSigner(options.sigv4 === true ? {} : options.sigv4);
      const signing: Middleware = { onRequest: ({ request }) => sign(request) };
      this.raw.use(signing);
    }
  }

  /** One page of connections; follow `cursor` (with the same filters) for the next, or use `connections()`. */
  async listConnections(query: ListConnectionsQuery = {}): Promise<ConnectionList> {
    return unwrap(await this.raw.GET('/connections', { params: { query } }));
  }

  /** Every connection matching the filters, page after page, following the cursor. */
  async *connections(query: Omit<ListConnectionsQuery, 'cursor'> = {}): AsyncGenerator<ConnectionSummary> {
    let cursor: string | undefined;
    do {
      const page = await this.listConnections({ ...query, ...(cursor ? { cursor } : {}) });
      yield* page.connections;
      cursor = page.cursor;
    } while (cursor);
  }

  async getConnection(id: string): Promise<ConnectionSummary> {
    return unwrap(await this.raw.GET('/connections/{id}', { params: { path: { id } } })).connection;
  }

  /** A valid access token; `forceRefresh` after the provider answered 401. */
  async getToken(id: string, options: { forceRefresh?: boolean } = {}): Promise<AccessToken> {
    return unwrap(await this.raw.POST('/connections/{id}/token', { params: { path: { id } }, body: { force_refresh: options.forceRefresh === true } }));
  }

  async registerClientCredentials(id: string, request: RegisterClientCredentialsRequest): Promise<ConnectionSummary> {
    return unwrap(await this.raw.PUT('/connections/{id}', { params: { path: { id } }, body: request })).connection;
  }

  async revokeConnection(id: string): Promise<RevokeResult> {
    return unwrap(await this.raw.DELETE('/connections/{id}', { params: { path: { id } } }));
  }

  async listProviders(): Promise<ProviderList> {
    return unwrap(await this.raw.GET('/providers'));
  }

  /** A signed install link for a customer (`POST /install-links`). */
  async createInstallLink(request: InstallLinkRequest): Promise<InstallLink> {
    return unwrap(await this.raw.POST('/install-links', { body: request }));
  }
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  return new AdminClient(options);
}

/** The success body, or the error answer as a BrokerApiError. */
function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.data !== undefined) return result.data;
  const { status } = result.response;
  const body = result.error as { error?: { code?: string; message?: string; details?: Record<string, string | number | boolean> }; message?: string } | undefined;
  if (body?.error?.code) return fail(new BrokerApiError(status, body.error.code as ErrorCode, body.error.message ?? '', body.error.details));
  if (status === 403) return fail(new BrokerApiError(status, 'forbidden', body?.message ?? 'Forbidden: the request was not signed by an identity allowed execute-api:Invoke'));
  return fail(new BrokerApiError(status, 'unexpected_response', `HTTP ${status} without a broker error body`));
}

function fail(error: BrokerApiError): never {
  throw error;
}
