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
import { checkKeys } from './connections/key-check';
import type { AccessToken, ConnectionSummary } from './model';
import { runRefreshCycle, type RefreshCycleOptions, type RefreshCycleSummary } from './connections/refresh-cycle';
import { scheduleRefreshes, type SchedulerOptions, type SchedulerSummary } from './connections/refresh-scheduler';
import { RefreshWorker, type RefreshWorkerOptions } from './connections/refresh-worker';
import { TokenService, type GetTokenOptions } from './connections/token-service';
import type { RefreshQueue } from './ports';

/**
 * Where a handler gets its broker: on Lambda the process-wide one built from the environment
 * (lib/runtime.ts `sharedBroker`), in the local server and in tests their own.
 */
export type BrokerSource = () => Promise<Broker>;

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

  /** A valid access token for the connection; see `TokenService.getToken` (and `GetTokenOptions.signal` for a deadline). */
  getToken(connectionId: string, options: GetTokenOptions = {}): Promise<AccessToken> {
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

  async registerClientCredentials(id: string, input: RegisterClientCredentialsInput): Promise<ConnectionSummary> {
    const summary = await registerClientCredentials(this.ctx, id, input);
    this.tokens.forget(id);
    return summary;
  }

  async revoke(id: string): Promise<RevokeResult> {
    const result = await revokeConnection(this.ctx, id);
    this.tokens.forget(id);
    return result;
  }
}
