/**
 * The broker: every use case behind one object, built from ports. Lambda handlers,
 * the local runtime and tests all drive this; none of them reach past it.
 */
import {
  describeConnection,
  listConnections,
  listProviders,
  registerClientCredentials,
  revokeConnection,
  type ConnectionList,
  type ListConnectionsInput,
  type ProviderList,
  type RegisterClientCredentialsInput,
  type RevokeResult,
} from './connections/admin';
import { MemoryRefreshQueue } from './adapters/memory-refresh-queue';
import { createContext, type BrokerConfig, type BrokerContext, type BrokerDeps } from './connections/context';
import { completeCallback, startInstall, type CallbackRequest, type InstallRequest, type InstallSuccess } from './connections/install';
import { createInstallLink, type InstallLink, type InstallLinkRequest } from './connections/install-links';
import { readInstallResult, sealInstallResult, type InstallResult, type ReadInstallResult } from './connections/install-result';
import { checkKeys } from './connections/key-check';
import type { AccessToken, ConnectionSummary } from './model';
import { runRefreshCycle, type RefreshCycleOptions, type RefreshCycleSummary } from './connections/refresh-cycle';
import { scheduleRefreshes, type SchedulerOptions, type SchedulerSummary } from './connections/refresh-scheduler';
import { RefreshWorker, type RefreshWorkerOptions } from './connections/refresh-worker';
import { TokenService, type GetTokenOptions } from './connections/token-service';
import type { RefreshQueue } from './ports';

/**
 * A part of a broker: its context (configuration, catalogue, metrics: what every handler reads)
 * and the use cases `K`. A whole `Broker` is every part.
 */
export type BrokerPart<K extends keyof Broker = never> = Pick<Broker, 'ctx' | K>;

/**
 * Where a handler gets its broker: on Lambda the process-wide part its function serves, built from
 * the environment (lib/runtime.ts `sharedBroker`), in the local server and in tests a whole broker.
 */
export type BrokerSource<B extends BrokerPart = Broker> = () => Promise<B>;

export class Broker {
  readonly ctx: BrokerContext;
  readonly tokens: TokenService;

  constructor(deps: BrokerDeps, config: Partial<BrokerConfig> = {}) {
    this.ctx = createContext(deps, config);
    this.tokens = new TokenService(this.ctx);
  }

  /**
   * A signed install link bound to exactly these values (connection id, return_to,
   * connection_config, scopes, tags), valid for 24 h unless `expires_in` says less; 400 for any
   * bad value. `requestBaseUrl` is used when no `publicUrl` is configured.
   */
  createInstallLink(request: InstallLinkRequest, requestBaseUrl?: string): Promise<InstallLink> {
    return createInstallLink(this.ctx, request, requestBaseUrl);
  }

  /** Refuses to start when the stored data was sealed with another token key (key-check.ts); `tokenKey` names it in the message. */
  checkKeys(tokenKey?: string): Promise<void> {
    return checkKeys(this.ctx, tokenKey);
  }

  /** The provider authorize URL for an install link (and the stored single-use state behind it). */
  startInstall(request: InstallRequest): Promise<URL> {
    return startInstall(this.ctx, request);
  }

  /** Completes an install from the provider's redirect. */
  async completeCallback(request: CallbackRequest): Promise<InstallSuccess> {
    const result = await completeCallback(this.ctx, request);
    this.tokens.forget(result.connectionId);
    return result;
  }

  /** The signed `?c=` of the "Connected" page the callback redirects to (post/redirect/get; install-result.ts). */
  sealInstallResult(result: InstallResult): Promise<string> {
    return sealInstallResult(this.ctx, result);
  }

  /** Verifies a "Connected" page's `?c=` for `provider`: valid, expired, or `invalid_request`. */
  readInstallResult(token: string | undefined, provider: string): Promise<ReadInstallResult> {
    return readInstallResult(this.ctx, token, provider);
  }

  /** A valid access token for the connection; see `TokenService.getToken` (and `GetTokenOptions.signal` for a deadline). */
  getToken(connectionId: string, options?: GetTokenOptions): Promise<AccessToken> {
    return this.tokens.getToken(connectionId, options);
  }

  /** One run of the refresh scheduler: what is due goes to `queue`, one queue per provider (refresh-scheduler.ts). */
  scheduleRefreshes(queue: RefreshQueue, options: SchedulerOptions = {}): Promise<SchedulerSummary> {
    return scheduleRefreshes(this.ctx, queue, options);
  }

  /** A refresh worker over this broker: refreshes queued jobs within its share of each provider's budget (refresh-worker.ts). */
  refreshWorker(options: RefreshWorkerOptions): RefreshWorker {
    return new RefreshWorker(this.ctx, this.tokens, options);
  }

  /**
   * One refresh cycle inside this process: the scheduler into an in-process queue, drained by this
   * process's worker holding each provider's whole budget — the same code as the scheduler and
   * workers on AWS, for a broker run in one process (and the tests and benches).
   */
  sweep(options: RefreshCycleOptions = {}): Promise<RefreshCycleSummary> {
    return runRefreshCycle(this.ctx, this.tokens, new MemoryRefreshQueue({ clock: this.ctx.clock }), options);
  }

  /** A page of connections, narrowed by provider, status and tenant (each checked: 400 when malformed). */
  listConnections(options: ListConnectionsInput = {}): Promise<ConnectionList> {
    return listConnections(this.ctx, options);
  }

  /** The enabled providers' metadata, and the enabled entries the catalogue skipped. */
  listProviders(): Promise<ProviderList> {
    return listProviders(this.ctx);
  }

  describeConnection(id: string): Promise<ConnectionSummary> {
    return describeConnection(this.ctx, id);
  }

  registerClientCredentials(id: string, input: RegisterClientCredentialsInput): Promise<ConnectionSummary> {
    return registerForgetting(this.ctx, this.tokens, id, input);
  }

  revoke(id: string): Promise<RevokeResult> {
    return revokeForgetting(this.ctx, this.tokens, id);
  }
}

/** A client-credentials connection registered (or replaced); this process's warm token for it, if any, no longer served. */
async function registerForgetting(ctx: BrokerContext, tokens: TokenService | undefined, id: string, input: RegisterClientCredentialsInput): Promise<ConnectionSummary> {
  const summary = await registerClientCredentials(ctx, id, input);
  tokens?.forget(id);
  return summary;
}

/** A connection revoked; this process's warm token for it, if any, no longer served. */
async function revokeForgetting(ctx: BrokerContext, tokens: TokenService | undefined, id: string): Promise<RevokeResult> {
  const result = await revokeConnection(ctx, id);
  tokens?.forget(id);
  return result;
}

/*
 * The part of a broker each Lambda function serves, built without the `Broker` class: a bundler
 * cannot drop a class's unused methods, so a function that built a whole broker carried every use
 * case (the callback's id-token checks and jose, the token service and its caches, the refresh
 * and admin code) whatever it served. Each builder below makes the context as `new Broker` does
 * and only the use cases its function calls, each the same call a `Broker` method makes; a
 * function's bundle then carries those alone (`npm run bench -- bundles` prints the sizes). The
 * local server and the tests hand the handlers a whole `Broker`, which has every part.
 */

/** How a function builds the part of a broker it serves from its adapters and configuration (lib/runtime.ts `sharedBroker`). */
export type BrokerBuilder<B extends BrokerPart> = (deps: BrokerDeps, config: Partial<BrokerConfig>) => B;

/** Every use case. */
export const wholeBroker: BrokerBuilder<Broker> = (deps, config) => new Broker(deps, config);

/** functions/authorize.ts: the install link. */
export type AuthorizeBroker = BrokerPart<'startInstall'>;
export const authorizeBroker: BrokerBuilder<AuthorizeBroker> = (deps, config) => {
  const ctx = createContext(deps, config);
  return { ctx, startInstall: (request) => startInstall(ctx, request) };
};

/**
 * functions/callback.ts: the provider's redirect and the "Connected" page. It serves no token, so
 * unlike `Broker.completeCallback` it has no warm token of the connection to forget.
 */
export type CallbackBroker = BrokerPart<'completeCallback' | 'sealInstallResult' | 'readInstallResult'>;
export const callbackBroker: BrokerBuilder<CallbackBroker> = (deps, config) => {
  const ctx = createContext(deps, config);
  return {
    ctx,
    completeCallback: (request) => completeCallback(ctx, request),
    sealInstallResult: (result) => sealInstallResult(ctx, result),
    readInstallResult: (token, provider) => readInstallResult(ctx, token, provider),
  };
};

/** functions/refresh-scheduler.ts: what is due goes to the refresh queues. */
export type SchedulerBroker = BrokerPart<'scheduleRefreshes'>;
export const schedulerBroker: BrokerBuilder<SchedulerBroker> = (deps, config) => {
  const ctx = createContext(deps, config);
  return { ctx, scheduleRefreshes: (queue, options = {}) => scheduleRefreshes(ctx, queue, options) };
};

/** functions/refresh-worker.ts: refreshes queued jobs. */
export type WorkerBroker = BrokerPart<'refreshWorker'>;
export const workerBroker: BrokerBuilder<WorkerBroker> = (deps, config) => {
  const ctx = createContext(deps, config);
  const tokens = new TokenService(ctx);
  return { ctx, refreshWorker: (options) => new RefreshWorker(ctx, tokens, options) };
};

/** functions/get-token.ts and the in-process `getToken` (lib/index.ts): a connection's access token. */
export type GetTokenBroker = BrokerPart<'getToken'>;
export const getTokenBroker: BrokerBuilder<GetTokenBroker> = (deps, config) => {
  const ctx = createContext(deps, config);
  const tokens = new TokenService(ctx);
  return { ctx, getToken: (connectionId, options) => tokens.getToken(connectionId, options) };
};

/**
 * functions/admin.ts: the admin API's routes. Its token service (two caches of `tokenCacheSize`
 * entries) is built by the first route that serves a token; until then there is no warm token to forget.
 */
export type AdminBroker = BrokerPart<
  'listConnections' | 'describeConnection' | 'getToken' | 'registerClientCredentials' | 'revoke' | 'createInstallLink' | 'listProviders'
>;
export const adminBroker: BrokerBuilder<AdminBroker> = (deps, config) => {
  const ctx = createContext(deps, config);
  let tokens: TokenService | undefined;
  return {
    ctx,
    listConnections: (options = {}) => listConnections(ctx, options),
    describeConnection: (id) => describeConnection(ctx, id),
    getToken: (connectionId, options) => (tokens ??= new TokenService(ctx)).getToken(connectionId, options),
    registerClientCredentials: (id, input) => registerForgetting(ctx, tokens, id, input),
    revoke: (id) => revokeForgetting(ctx, tokens, id),
    createInstallLink: (request, requestBaseUrl) => createInstallLink(ctx, request, requestBaseUrl),
    listProviders: () => listProviders(ctx),
  };
};
