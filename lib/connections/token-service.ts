/**
 * getToken and the one refresh path it shares with the refresh workers: the algorithm of
 * docs/design.md, "Refresh", whose numbered steps the comments below name. *When* to refresh
 * is refresh-policy.ts, *what a write changes* is transitions.ts; this file is the order of
 * the steps, and their I/O.
 *
 * - One refresh per connection at a time, fleet-wide: the refresher holds a lease
 *   taken with a write conditional on `version`; every later write is conditional on
 *   the version the lease produced, so a holder whose lease was taken over cannot
 *   commit (fencing). Inside one process, concurrent callers share one promise.
 * - A token set the provider returned is never dropped: a late holder parks it in
 *   `rescue` (or commits it if nobody else holds the lease), commits are retried,
 *   and a result that still cannot be written is kept in memory for the next attempt.
 * - `invalid_grant` re-reads the item (another worker may have rotated the token, or
 *   parked a rescue) before the connection is declared dead.
 * - Provider-wide failures count against the provider's health (provider-circuit.ts); past a
 *   threshold its circuit opens and refreshes stop calling it, one probe at a time excepted.
 *   Per-connection failures keep the token and back that connection off (exponential, honouring
 *   a capped Retry-After): never a tight loop against a provider.
 * - Between the provider's answer and the commit there is one store write and nothing else: the
 *   data key is generated before the call (docs/design.md, "The crash window").
 * - Nobody waits for another worker while the stored token is still valid; a wait ends at the
 *   caller's deadline (`signal`) with `refresh_in_progress`.
 * - Every refresh attempt ends in one log line (`refresh finished`: why it ran — schedule,
 *   on_demand or forced —, how it ended, how long it took) and the `Refreshes` / `RefreshLag`
 *   metrics; every getToken counts a warm-cache hit or miss (docs/operations.md, "Metrics").
 */
import { boundedCache, type BoundedCache } from '../bounded-cache';
import { BrokerError, isBrokerError } from '../errors';
import { logger } from '../logger';
import { isPlainObject, refuseUnknownFields, withoutUndefined } from '../plain-object';
import { assertUsable, validateConnectionId, type AccessToken, type ConnectionRecord, type SealedPayload, type TokenSet } from '../model';
import { clientCredentialsGrant, refreshGrant, type TokenGrantResult } from '../oauth/token-endpoint';
import { BROKER_METRICS, REFRESH_OUTCOMES, type RecordChanges, type RefreshOutcome } from '../ports';
import type { Provider } from '../providers/schema';
import { credentialsFor, enabledProvider, refreshPolicyOf, tokenEndpointOptions, type BrokerContext } from './context';
import { Flights } from './flights';
import { circuitOpenError, ProviderCircuit, type Passage } from './provider-circuit';
import { revokeAtProvider } from './provider-revocation';
import {
  backoffUntil,
  circuitOpen,
  failureScope,
  inBackoff,
  isExpired,
  leaseHeldByOther,
  needsRefresh,
  scheduledDue,
  servableDuringRefresh,
  skewFor,
  takesOverLease,
  withinSkew,
  type FailureScope,
  type ProviderRefreshPolicy,
  type RefreshPolicyInput,
} from './refresh-policy';
import { backedOffError, failureFacts, recordDeadGrant, recordedFailure, reportRefreshFailure, withRetryAfter } from './refresh-failures';
import { prepareSealing, unseal, type Sealer } from './sealing';
import { grantCommitted, leaseReleased, leaseTaken, providerFailureNoted, refreshFailed, rescueParked, turnMissed } from './transitions';
import { accessTokenView } from './views';
import { checkDeadline, pollUntil, refreshInProgress } from './waiting';

/** A connection with its decrypted token, and how we got it. */
export interface Resolved {
  record: ConnectionRecord;
  token: TokenSet;
  /** refreshed: this call obtained a new token; current: the stored token was good (or another worker refreshed); stale: the provider could not be asked or failed, the unexpired token was served. */
  outcome: 'refreshed' | 'current' | 'stale';
  /** With `stale`: why (`backed_off`, `circuit_open`, or the error code of the failed refresh). */
  failure?: string;
  /** The frozen caller's view, once this result was cached (the same object warm callers get). */
  view?: AccessToken;
  /** With `refreshed`: the token set is not stored yet (kept in this process's memory for the next attempt's commit). */
  unsaved?: true;
}

export interface GetTokenOptions {
  /** Refresh even if the stored token looks fresh: the caller saw it rejected (a 401, Marketo 601/602). */
  forceRefresh?: boolean;
  /**
   * The caller's deadline. When it aborts, waiting for another worker's refresh (or for a probe)
   * stops with `refresh_in_progress` (503 + Retry-After), and no refresh is started; a provider
   * call this process already started is seen through, never abandoned.
   */
  signal?: AbortSignal;
}

const GET_TOKEN_OPTIONS = ['forceRefresh', 'signal'] satisfies Array<keyof GetTokenOptions>;

/**
 * Refuses options `getToken` does not take (`invalid_request`): from JavaScript, `force_refresh` (the
 * get-token function's name) or `forceRefresh: 'yes'` would be ignored, and the caller handed back the
 * token it had just seen rejected.
 */
function checkGetTokenOptions(options: unknown): asserts options is GetTokenOptions {
  if (!isPlainObject(options)) throw new BrokerError('invalid_request', 'getToken options must be an object: { forceRefresh?: boolean, signal?: AbortSignal }');
  refuseUnknownFields(options, GET_TOKEN_OPTIONS);
  if (options.forceRefresh !== undefined && typeof options.forceRefresh !== 'boolean') {
    throw new BrokerError('invalid_request', 'forceRefresh must be a boolean', { details: { field: 'forceRefresh' } });
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new BrokerError('invalid_request', 'signal must be an AbortSignal', { details: { field: 'signal' } });
  }
}

/** Why a refresh ran: a refresh worker's job (the scheduler found it due), getToken found it within the skew, or the caller forced it (it saw the token rejected). */
export type RefreshReason = 'schedule' | 'on_demand' | 'forced';

interface RefreshRequest {
  /** Refresh even if the stored token looks fresh (a caller saw a 401, Marketo 601/602). */
  force: boolean;
  /** The token generation the caller saw: any commit after it satisfies the request. */
  startGen: number;
  /** The rule for whether a (re-read) record still needs refreshing; false ends the attempt with the current token. */
  due: (input: RefreshPolicyInput) => boolean;
  /** Wraps the provider call (a refresh worker's share of the provider's budget). */
  aroundProviderCall?: <T>(call: () => Promise<T>) => Promise<T>;
  /** This refresh took over another worker's expired lease on the same token generation. */
  takeover?: boolean;
  /** This refresh waited for another worker's probe of the open circuit: that probe's result is its answer too. */
  awaitedProbe?: boolean;
  /** The caller's deadline (GetTokenOptions.signal). */
  signal?: AbortSignal;
}

/**
 * What a background refresh (a refresh worker's job) came to. It never decrypts a token it does not
 * refresh: a duplicate or a job that is no longer due costs one consistent read and nothing else.
 * - `refreshed`: this worker obtained and committed a new token set;
 * - `current`: someone else refreshed it first, or it is no longer due;
 * - `gone`: deleted, revoked, or its grant is dead (nothing to do until the user acts);
 * - `leased`: another worker holds a live lease (its commit reschedules the connection);
 * - `deferred`: not attempted now (back-off, the provider's circuit); it stays due, and a later run sends it again;
 * - `failed`: the provider call failed; the failure is recorded on the connection or the provider.
 */
export interface ScheduledRefresh {
  outcome: 'refreshed' | 'current' | 'gone' | 'leased' | 'deferred' | 'failed';
  /** With `deferred` and `failed`: why (`backed_off`, `circuit_open`, or the error code); with `gone`, `other_provider` or the error code. */
  reason?: string;
  /** Not settled: the job must come back (after the queue's visibility timeout) and be tried again. */
  comeBack?: boolean;
}

/** An active connection on a cycle, due by `dueBy`: its entry waits for a turn that has passed (`turnMissed` moves it). */
function waitsOnPassedTurn(record: ConnectionRecord | undefined, dueBy: number): record is ConnectionRecord {
  return record !== undefined && record.status === 'active' && record.cycle !== undefined && scheduledDue({ record, dueBy });
}

const COMMIT_ATTEMPTS = 5;
const CONTENTION_ATTEMPTS = 8;
/**
 * Token sets obtained but not written yet kept per process at most: they pile up only while the
 * store refuses every commit. Past the bound the oldest is dropped with an error log: a process
 * out of memory would lose all of them (`npm run bench -- memory`: a worker's heap stays flat).
 */
const MAX_UNSAVED = 10_000;

/** A warm cache entry: what `getToken` hands out, and until when, computed once when it is cached. */
interface WarmToken {
  /** Frozen: every warm caller gets this object. */
  view: AccessToken;
  /** `view`, already resolved: a warm call returns it without making a promise of its own. */
  served: Promise<AccessToken>;
  /** From here on the token is within the on-demand skew: refresh before serving (`withinSkew`). */
  serveUntil: number;
  /** Past this, not even a stale answer may hand it out (`isExpired`). */
  expiresAt: number;
}

export class TokenService {
  /**
   * Warm path: tokens served with zero AWS calls until they enter the refresh skew. An LRU of
   * `tokenCacheSize` connections, so a worker's memory stays flat however many it serves.
   */
  private readonly cache: BoundedCache<string, WarmToken>;
  /** One flight per connection in this process; `forced` flights refresh whatever the stored token looks like. */
  private readonly flights = new Flights<Resolved>();
  /** Token sets obtained but not yet written anywhere durable (store unavailable); retried first on the next attempt. */
  private readonly unsaved: BoundedCache<string, { fromGen: number; payload: SealedPayload }>;
  private readonly circuit: ProviderCircuit;
  /** Each provider's refresh policy, resolved once per process. */
  private readonly policies = new Map<string, ProviderRefreshPolicy>();

  constructor(private readonly ctx: BrokerContext) {
    this.circuit = new ProviderCircuit(ctx);
    this.cache = boundedCache(ctx.config.tokenCacheSize);
    this.unsaved = boundedCache(MAX_UNSAVED, {
      dispose: (_value, id, reason) => {
        if (reason === 'evict') logger.error('a refreshed token set that could not be stored was dropped: too many unsaved in this process', { connection_id: id });
      },
    });
  }

  /**
   * The connection's access token, refreshed if it is within the skew of expiry (or `forceRefresh`).
   * The warm path is one cache lookup, one clock read and one hit counted in the metrics sink, and
   * returns a promise made when the token was cached (an id in the cache was validated when it got there).
   */
  getToken(connectionId: string, options?: GetTokenOptions): Promise<AccessToken> {
    // Checked only when given, so the warm path without options stays one lookup.
    if (options !== undefined) {
      try {
        checkGetTokenOptions(options);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const force = options?.forceRefresh === true;
    const cached = force ? undefined : this.cache.get(connectionId);
    if (cached !== undefined) {
      const now = this.ctx.clock.now();
      // Step 1 in this process: a still-valid token is not held back while our own refresh of it runs.
      if (now < cached.serveUntil || (now < cached.expiresAt && this.flights.inFlight(connectionId))) {
        this.countCache(BROKER_METRICS.cacheHits, cached.view.provider);
        return cached.served;
      }
    }
    return this.getTokenCold(connectionId, force, options?.signal);
  }

  private async getTokenCold(connectionId: string, force: boolean, signal: AbortSignal | undefined): Promise<AccessToken> {
    validateConnectionId(connectionId);
    const resolved = await this.flights.run(connectionId, force, () => this.load(connectionId, force, signal), {
      signal,
      onAbort: () => refreshInProgress(connectionId, undefined, this.ctx.clock.now()),
    });
    // A forced call skips the cache on purpose: it is neither a hit nor a miss.
    if (!force) this.countCache(BROKER_METRICS.cacheMisses, resolved.record.provider);
    return resolved.view ?? frozenView(resolved);
  }

  /**
   * A refresh worker's job: refresh connection `id` if it is still due by `dueBy`, through the one
   * refresh path (lease, fencing, rescue, circuit). It asks "is it still due?" after a consistent
   * read, before anything else: a duplicate job, or one another worker or `getToken` already did,
   * costs that read and nothing more — no decrypt, no provider call. A job naming another provider
   * than the connection's (`provider`) is not this connection's: it is settled untouched, or the
   * other provider's budget would pay for the call; the scheduler sends the connection to its own queue.
   *
   * An entry on a cycle is sent once a turn, not again while it stays due (refresh-scheduler.ts). So a
   * turn this job leaves without a commit — another process holds the lease (and may die with it), the
   * provider's circuit is open — moves the entry to the due-time index, due as it was (`turnLeft`),
   * where every scheduler run sees it until it is refreshed.
   */
  async refreshScheduled(id: string, dueBy: number, aroundProviderCall?: RefreshRequest['aroundProviderCall'], provider?: string): Promise<ScheduledRefresh> {
    const record = await this.ctx.store.get(id, { consistent: true });
    if (!record || record.status !== 'active') return { outcome: 'gone' };
    if (provider !== undefined && record.provider !== provider) return { outcome: 'gone', reason: 'other_provider' };
    const input = this.policyInput(record);
    if (!scheduledDue({ ...input, dueBy })) return { outcome: 'current' };
    if (inBackoff(input)) return { outcome: 'deferred', reason: 'backed_off' };
    const onCycle = record.cycle !== undefined;
    if (leaseHeldByOther(input)) return onCycle ? this.turnLeft(record, dueBy, { outcome: 'leased' }) : { outcome: 'leased' };
    if (!onCycle) return this.attemptScheduled(record, dueBy, aroundProviderCall);
    // The turn was sent once: however it ends short of a commit — served during another process's
    // lease, deferred, a failure whose record lost a race, a dead grant whose mark did, or thrown (the
    // store, KMS, no time left: the job comes back, and may end in the dead-letter queue) — the entry
    // must not stay waiting on its cycle for a turn that has passed (one consistent read to know).
    let done: ScheduledRefresh;
    try {
      done = await this.attemptScheduled(record, dueBy, aroundProviderCall);
    } catch (err) {
      await this.leaveTurnIfWaiting(id, dueBy, { outcome: 'failed' }).catch(() => undefined);
      throw err;
    }
    return done.outcome === 'refreshed' ? done : this.leaveTurnIfWaiting(id, dueBy, done);
  }

  /** The entry still waits on its cycle for a passed turn: leave the turn (`turnLeft`); `current` then means another process holds it. */
  private async leaveTurnIfWaiting(id: string, dueBy: number, done: ScheduledRefresh): Promise<ScheduledRefresh> {
    const again = await this.ctx.store.get(id, { consistent: true });
    if (!waitsOnPassedTurn(again, dueBy)) return done;
    return this.turnLeft(again, dueBy, done.outcome === 'current' ? { outcome: 'leased' } : done);
  }

  /**
   * A turn left without a commit: the entry moves to the due-time index, due as it was (`turnMissed`),
   * where every scheduler run sees it until it is refreshed (so a lease holder that dies is taken over
   * a run after its lease ends, as for any entry by due time). If races leave it due on its cycle all
   * the same, the job comes back instead of being settled.
   */
  private async turnLeft(record: ConnectionRecord, dueBy: number, done: ScheduledRefresh): Promise<ScheduledRefresh> {
    let current: ConnectionRecord | undefined = record;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!waitsOnPassedTurn(current, dueBy)) return done;
      try {
        await this.ctx.store.update(current.id, current.version, turnMissed(current, this.ctx.config)!);
        return done;
      } catch (err) {
        if (!isBrokerError(err, 'conflict')) throw err;
        current = await this.ctx.store.get(record.id, { consistent: true });
      }
    }
    return { ...done, comeBack: true };
  }

  private async attemptScheduled(record: ConnectionRecord, dueBy: number, aroundProviderCall: RefreshRequest['aroundProviderCall']): Promise<ScheduledRefresh> {
    if (this.circuit.knownClosedToUnforced(record.provider)) return { outcome: 'deferred', reason: 'circuit_open' };
    try {
      const resolved = await this.flights.run(record.id, false, () =>
        this.observed(record, 'schedule', () =>
          this.refresh(record, { force: false, startGen: record.tokenGen, due: (again) => scheduledDue({ ...again, dueBy }), aroundProviderCall }),
        ),
      );
      // Refreshed but not stored (the store refused every commit): the token waits in this process's memory for the next attempt.
      if (resolved.outcome === 'refreshed') return resolved.unsaved ? { outcome: 'refreshed', comeBack: true } : { outcome: 'refreshed' };
      if (resolved.outcome === 'current') return { outcome: 'current' };
      return resolved.failure === 'backed_off' || resolved.failure === 'circuit_open' ? { outcome: 'deferred', reason: resolved.failure } : { outcome: 'failed', reason: resolved.failure };
    } catch (err) {
      if (isBrokerError(err, 'provider_unavailable') && err.details.circuit === 'open') return { outcome: 'deferred', reason: 'circuit_open' };
      if (isBrokerError(err, 'needs_reauth') || isBrokerError(err, 'connection_revoked') || isBrokerError(err, 'connection_not_found')) return { outcome: 'gone', reason: err.code };
      // Recorded on the connection and backed off (`unreadable`): settled, not sent back to fail again.
      if (isBrokerError(err, 'decrypt_failed')) return { outcome: 'failed', reason: err.code };
      // A provider failure on an expired token is thrown, but recorded like any other.
      if (isBrokerError(err, 'provider_unavailable') || isBrokerError(err, 'provider_timeout') || isBrokerError(err, 'provider_error')) return { outcome: 'failed', reason: err.code };
      throw err;
    }
  }

  /** Drops the warm cache entry (after revoke or re-install in this process). */
  forget(connectionId: string): void {
    this.cache.delete(connectionId);
  }

  /** Cold path: one consistent read and one decrypt; refresh only if needed. */
  private async load(id: string, force: boolean, signal: AbortSignal | undefined): Promise<Resolved> {
    const record = await this.read(id);
    assertUsable(record);
    if (!force) {
      if (!needsRefresh(this.policyInput(record))) return this.remember(await this.current(record));
      return this.observed(record, 'on_demand', () => this.refresh(record, { force, startGen: record.tokenGen, due: needsRefresh, signal }));
    }
    // Forced: only a token committed after this read will do. The instance's cached generation
    // says nothing about which token the caller saw rejected (it may have come from another
    // instance), so it is not used.
    return this.observed(record, 'forced', () => this.refresh(record, { force, startGen: record.tokenGen, due: () => true, signal }));
  }

  /**
   * One refresh attempt, seen from outside: one log line with why it ran, how it ended and how
   * long it took, and its metrics — `Refreshes` by outcome, and `RefreshLag` (due → done) when a
   * due refresh committed a new token.
   */
  private async observed(record: ConnectionRecord, reason: RefreshReason, attempt: () => Promise<Resolved>): Promise<Resolved> {
    const started = this.ctx.clock.now();
    let resolved: Resolved | undefined;
    let failure: unknown;
    try {
      resolved = await attempt();
      return resolved;
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      const done = this.ctx.clock.now();
      const outcome = resolved ? outcomeOf(resolved) : outcomeOfError(failure);
      const lagMs = outcome === 'success' && reason !== 'forced' && record.refreshDueAt !== undefined ? Math.max(0, done - record.refreshDueAt) : undefined;
      const line = {
        connection_id: record.id,
        provider: record.provider,
        reason,
        outcome,
        duration_ms: done - started,
        ...(lagMs !== undefined ? { lag_ms: lagMs } : {}),
        ...(resolved?.outcome === 'refreshed' ? { token_gen: resolved.record.tokenGen } : {}),
        ...(resolved?.failure ? { failure: resolved.failure } : {}),
        ...(failure !== undefined ? { error: isBrokerError(failure) ? failure.code : errorName(failure) } : {}),
      };
      if (outcome === 'error' || outcome === 'decrypt_failed') logger.error('refresh finished', line);
      else if (FAILED_OR_DEAD.has(outcome)) logger.warn('refresh finished', line);
      else logger.info('refresh finished', line);
      this.ctx.metrics.record({ name: BROKER_METRICS.refreshes, value: 1, provider: record.provider, outcome });
      if (lagMs !== undefined) this.ctx.metrics.record({ name: BROKER_METRICS.refreshLag, value: lagMs, provider: record.provider });
    }
  }

  private countCache(name: typeof BROKER_METRICS.cacheHits | typeof BROKER_METRICS.cacheMisses, provider: string): void {
    this.ctx.metrics.record({ name, value: 1, provider });
  }

  /** Refresh step 1, the lease: take it (or serve the still-valid token, or wait for its holder), then refresh under it. */
  private async refresh(initial: ConnectionRecord, request: RefreshRequest): Promise<Resolved> {
    let record = initial;
    for (let attempt = 0; attempt < CONTENTION_ATTEMPTS; attempt++) {
      const input = this.policyInput(record);
      assertUsable(record);
      if (record.tokenGen > request.startGen) return this.remember(await this.current(record));
      if (!request.due(input)) return this.remember(await this.current(record));
      if (inBackoff(input)) return this.serveDuringBackoff(record, request);
      if (leaseHeldByOther(input)) {
        if (servableDuringRefresh({ ...input, force: request.force })) return this.current(record);
        record = await this.waitForHolder(record, request.signal);
        continue;
      }
      // Provider health: may this refresh call the provider (or be the open circuit's probe)?
      const passage = await this.circuit.pass(record, request);
      if (passage === 'again') {
        record = await this.read(record.id);
        continue;
      }
      if ('retryAt' in passage) return this.serveWhileOpen(record, request, passage.retryAt);
      let leased: ConnectionRecord;
      try {
        checkDeadline({ signal: request.signal, onAbort: () => refreshInProgress(record.id, record.leaseUntil, this.ctx.clock.now()) });
        leased = await this.ctx.store.update(record.id, record.version, leaseTaken(record, { owner: this.ctx.instanceId }, input.now, this.ctx.config));
      } catch (err) {
        await this.circuit.released(passage);
        if (!isBrokerError(err, 'conflict')) throw err;
        record = await this.read(record.id);
        continue;
      }
      try {
        return await this.refreshUnderLease(leased, { ...request, takeover: takesOverLease(input) }, passage, false);
      } catch (err) {
        // Taken over while this refresh waited for its share of the provider's budget: nothing was asked of the provider.
        if (!(err instanceof LeaseLost)) throw err;
        record = await this.read(record.id);
      }
    }
    throw new BrokerError('conflict', `Connection ${initial.id} is under heavy refresh contention; try again`);
  }

  private async refreshUnderLease(leased: ConnectionRecord, request: RefreshRequest, passage: Passage, retriedRescue: boolean): Promise<Resolved> {
    let provider: Provider;
    let stored: SealedPayload;
    let parked: SealedPayload | undefined;
    // The crash window: the data key is generated now, so that after the provider's answer
    // only the commit's store write remains (no KMS call), and a KMS failure happens before
    // anything is asked of the provider.
    const sealing = prepareSealing(this.ctx.cipher, leased);
    // Awaited only after the read below: a failure that comes first must not count as unhandled,
    // which would end the process (test: regression/sealing-key-failure). `await sealing` still throws it.
    sealing.catch(() => undefined);
    let sealer: Sealer;
    try {
      provider = enabledProvider(this.ctx, leased.provider);
      stored = await unseal(this.ctx.cipher, leased, leased.sealed);
      // A token set parked by a late refresher (or not yet saved by this process) is newer than the stored one.
      parked = await this.parkedPayload(leased);
      sealer = await sealing;
    } catch (err) {
      sealing.then((unused) => unused.dispose(), () => undefined);
      await this.circuit.released(passage);
      // The stored (or parked) token set is not this row's: no retry can open it, so it is charged to the connection.
      if (isBrokerError(err, 'decrypt_failed')) return this.unreadable(leased, err);
      // Nothing was asked of the provider: let others try at once.
      await this.ctx.store.update(leased.id, leased.version, leaseReleased()).catch(() => undefined);
      throw err;
    }
    try {
      const source = parked ?? stored;
      if (parked?.token && !request.force && !withinSkew({ ...this.policyInput(leased), token: parked.token })) {
        // Committing a recovered token set, not a provider answer: compare with what was stored.
        await this.circuit.released(passage);
        return await this.commit(leased, source, { tokens: parked.token, metadata: {}, connectionConfig: {}, httpStatus: 200 }, stored.token, sealer);
      }
      let result: TokenGrantResult;
      let asked = false;
      try {
        const call = async () => {
          leased = await this.leaseForCall(leased);
          asked = true;
          return this.callProvider(provider, leased, source);
        };
        result = await (request.aroundProviderCall ? request.aroundProviderCall(call) : call());
      } catch (err) {
        if (!asked) {
          // The lease was taken over (`LeaseLost`) or could not be renewed: nothing was asked of the provider, so no failure of it to record.
          await this.circuit.released(passage);
          throw err;
        }
        return await this.handleFailure(leased, source, err, request, passage, provider, retriedRescue || parked !== undefined);
      }
      const committed = await this.commit(leased, source, result, source.token, sealer);
      await this.circuit.answered(passage);
      return committed;
    } finally {
      sealer.dispose();
    }
  }

  /**
   * The lease, good for a whole provider call and the commit. A refresh worker's job takes its lease,
   * then may wait for a slot of its share of the provider's budget (worker-budget.ts: a batch's jobs
   * run at once, the share lets few call): one that waited longer than a provider timeout renews the
   * lease first, with a write conditional on the version it holds. Else it could call on a lease that
   * ended while it waited, after another worker took it over and used the same refresh token — which
   * a provider with reuse detection answers by revoking the grant. Throws `LeaseLost` when taken over.
   */
  private async leaseForCall(leased: ConnectionRecord): Promise<ConnectionRecord> {
    const now = this.ctx.clock.now();
    if ((leased.leaseUntil ?? 0) - now >= this.ctx.config.leaseMs - this.ctx.config.providerTimeoutMs) return leased;
    try {
      return await this.ctx.store.update(leased.id, leased.version, leaseTaken(leased, { owner: this.ctx.instanceId }, now, this.ctx.config));
    } catch (err) {
      if (isBrokerError(err, 'conflict')) throw new LeaseLost();
      throw err;
    }
  }

  private async parkedPayload(leased: ConnectionRecord): Promise<SealedPayload | undefined> {
    const unsaved = this.unsaved.get(leased.id);
    if (unsaved && unsaved.fromGen === leased.tokenGen) return unsaved.payload;
    if (hasParkedRescue(leased)) return unseal(this.ctx.cipher, leased, leased.rescue);
    return undefined;
  }

  /** The provider call: a refresh grant, or a new client-credentials token. */
  private async callProvider(provider: Provider, record: ConnectionRecord, source: SealedPayload): Promise<TokenGrantResult> {
    const options = tokenEndpointOptions(this.ctx);
    const connectionConfig = record.connectionConfig;
    if (record.authMode === 'OAUTH2_CC') {
      const credentials = await credentialsFor(this.ctx, provider, record, source);
      return clientCredentialsGrant(provider, credentials, { scopes: record.scopes, connectionConfig }, options);
    }
    const refreshToken = source.token?.refresh_token;
    if (!refreshToken) {
      throw new BrokerError('needs_reauth', `Connection ${record.id} has no refresh token; the user must install again`, {
        provider: { error: 'no_refresh_token' },
      });
    }
    return refreshGrant(provider, await credentialsFor(this.ctx, provider, record, source), { refreshToken, connectionConfig }, options);
  }

  /**
   * Refresh step 2, fencing: the commit is conditional on the version the lease write produced.
   * Writes the new token set under the lease, retrying transient
   * store failures; never drops it. `previous` is the token the provider was asked to replace
   * (the same access token back is Marketo's early renewal).
   */
  private async commit(leased: ConnectionRecord, source: SealedPayload, result: TokenGrantResult, previous: TokenSet | undefined, sealer: Sealer): Promise<Resolved> {
    const now = this.ctx.clock.now();
    // No refresh_token in a refresh response means the old one stays valid (RFC 6749 §6), and
    // keeps its known end unless the answer moved it (an idle limit restarts on use).
    const kept = result.tokens.refresh_token === undefined ? source.token : undefined;
    const token: TokenSet = withoutUndefined({
      ...result.tokens,
      refresh_token: result.tokens.refresh_token ?? kept?.refresh_token,
      refresh_expires_at: result.tokens.refresh_expires_at ?? kept?.refresh_expires_at,
    });
    const payload: SealedPayload = { ...source, token };
    const grant = {
      sealed: sealer.seal(payload),
      token,
      grantedScopes: result.grantedScopes,
      connectionConfig: result.connectionConfig,
      sameAccessToken: previous !== undefined && previous.access_token === token.access_token,
      policy: this.policyFor(leased.provider),
      random: this.ctx.random(),
    };
    const changes = grantCommitted(leased, grant, now, this.ctx.config);
    for (let attempt = 1; ; attempt++) {
      try {
        const written = await this.ctx.store.update(leased.id, leased.version, changes);
        this.unsaved.delete(leased.id);
        return this.remember({ record: written, token, outcome: 'refreshed' });
      } catch (err) {
        // The record changed under our lease: the commit is worked out again from what is stored now
        // (a scheduled job may have moved its schedule entry meanwhile: `turnLeft`).
        if (isBrokerError(err, 'conflict')) return this.rescueLateResult(leased, payload, (current) => grantCommitted(current, grant, now, this.ctx.config), sealer);
        if (attempt >= COMMIT_ATTEMPTS) {
          this.unsaved.set(leased.id, { fromGen: leased.tokenGen, payload });
          logger.error('could not commit refreshed token; kept in memory for the next attempt', { connection_id: leased.id, error: errorName(err) });
          return { record: { ...leased, ...changes.set } as ConnectionRecord, token, outcome: 'refreshed', unsaved: true };
        }
        await this.ctx.sleep(100 * 2 ** (attempt - 1));
      }
    }
  }

  /**
   * Refresh step 3, a rotated refresh token is never dropped: our lease was taken over while
   * we talked to the provider. Our token set may be the
   * only valid one (rotation), so it is never dropped: parked in `rescue` while another worker
   * holds the lease (it will pick it up), or committed if nobody does.
   */
  private async rescueLateResult(leased: ConnectionRecord, payload: SealedPayload, commitOn: (current: ConnectionRecord) => RecordChanges, sealer: Sealer): Promise<Resolved> {
    const token = payload.token!;
    for (let attempt = 0; attempt < CONTENTION_ATTEMPTS; attempt++) {
      const record = await this.ctx.store.get(leased.id, { consistent: true });
      if (!record || record.status === 'revoked') {
        // Revoked (or gone) while we were at the provider: this token must not be handed out, nor outlive the grant.
        await revokeAtProvider(this.ctx, leased, [payload]);
        this.cache.delete(leased.id);
        throw record
          ? new BrokerError('connection_revoked', `Connection ${leased.id} was revoked`)
          : new BrokerError('connection_not_found', `Connection ${leased.id} not found`);
      }
      if (record.tokenGen !== leased.tokenGen) {
        logger.warn('late refresh result discarded: a newer token set was committed', { connection_id: leased.id });
        return this.remember(await this.current(record));
      }
      try {
        if (leaseHeldByOther(this.policyInput(record))) {
          const parked = await this.ctx.store.update(record.id, record.version, rescueParked(record, { sealed: sealer.seal(payload) }));
          logger.warn('lease lost during refresh; token set parked for the lease holder', { connection_id: leased.id });
          return { record: parked, token, outcome: 'refreshed' };
        }
        const written = await this.ctx.store.update(record.id, record.version, commitOn(record));
        logger.warn('lease lost during refresh; committed after the other worker finished', { connection_id: leased.id });
        return this.remember({ record: written, token, outcome: 'refreshed' });
      } catch (err) {
        if (!isBrokerError(err, 'conflict')) throw err;
      }
    }
    this.unsaved.set(leased.id, { fromGen: leased.tokenGen, payload });
    return { record: leased, token, outcome: 'refreshed', unsaved: true };
  }

  /**
   * A failed provider call, by its scope (refresh-policy `failureScope`); the token is kept in
   * every case. Refresh step 4: a dead grant (`invalid_grant`...) is re-read before it is
   * believed. A provider-wide failure counts against the provider's health, never against the
   * connection; a per-connection one backs that connection off.
   */
  private async handleFailure(
    leased: ConnectionRecord,
    source: SealedPayload,
    err: unknown,
    request: RefreshRequest,
    passage: Passage,
    provider: Provider,
    triedParked: boolean,
  ): Promise<Resolved> {
    const scope = failureScope(failureFacts(err), provider.rate_limit_scope);
    if (scope === 'provider') return this.providerFailed(leased, source, err, request, passage);
    // The provider answered (so it is reachable: an open circuit closes), or was never asked.
    await (isBrokerError(err) && err.provider?.httpStatus !== undefined ? this.circuit.answered(passage) : this.circuit.released(passage));
    if (scope === 'grant') {
      // Before calling the grant dead: another worker may have rotated it or parked a newer one.
      const record = await this.awaitLateHolder(leased, request.takeover === true);
      assertUsable(record);
      if (record.tokenGen !== leased.tokenGen) return this.remember(await this.current(record));
      if (!triedParked && record.leaseOwner === this.ctx.instanceId && (await this.parkedPayload(record))) {
        return this.refreshUnderLease(record, request, { provider: record.provider, health: undefined, probe: false }, true);
      }
      if (record.leaseOwner === this.ctx.instanceId) await recordDeadGrant(this.ctx, record, err as BrokerError);
      this.cache.delete(leased.id);
      throw err;
    }
    const retryAfterMs = (isBrokerError(err) ? (err.provider?.retryAfterS ?? 0) : 0) * 1000;
    const { failure, retryAt, now } = await this.connectionFailed(leased, err, scope, retryAfterMs);
    return this.keepToken(leased, source, request, failure.code, withRetryAfter(err, retryAt - now));
  }

  /**
   * A failure charged to this connection (its own, or its grant's rate limit): recorded
   * (`refreshFailed`: the lease goes, the failure count grows, the entry waits out the connections'
   * back-off, at least `retryAfterMs`) and announced with the connection's id.
   */
  private async connectionFailed(leased: ConnectionRecord, err: unknown, scope: FailureScope, retryAfterMs = 0) {
    const now = this.ctx.clock.now();
    const retryAt = backoffUntil({ ...this.policyInput(leased), now, retryAfterMs });
    const failure = { ...recordedFailure(err), retryAt };
    try {
      await this.ctx.store.update(leased.id, leased.version, refreshFailed(leased, failure, now, this.ctx.config));
    } catch (writeErr) {
      if (!isBrokerError(writeErr, 'conflict')) logger.error('could not record refresh failure', { connection_id: leased.id, error: errorName(writeErr) });
    }
    await reportRefreshFailure(this.ctx, leased, { ...failure, scope, failureCount: leased.failureCount + 1 }, now);
    return { failure, retryAt, now };
  }

  /**
   * The token set under the lease does not open (`decrypt_failed`: its AES-GCM tag fails on a key we
   * could obtain, or KMS refuses the data key as not this connection's). Retried at once it fails the
   * same way, so it is a failure of this connection, never of the provider nor of the grant: recorded
   * and announced (`connectionFailed`), and thrown. Nothing is marked `needs_reauth` and
   * nothing is deleted: a key restored or a key policy fixed is picked up at the next attempt. A KMS
   * failure that is not about the ciphertext (throttling, an outage) is `internal_error` and never
   * comes here (kms-cipher.ts `CONTEXT_MISMATCH_ERRORS`).
   */
  private async unreadable(leased: ConnectionRecord, err: BrokerError): Promise<never> {
    await this.connectionFailed(leased, err, 'connection');
    this.cache.delete(leased.id);
    throw err;
  }

  /** A provider-wide failure: counted against the provider (maybe opening its circuit); the connection only notes it. */
  private async providerFailed(leased: ConnectionRecord, source: SealedPayload, err: unknown, request: RefreshRequest, passage: Passage): Promise<Resolved> {
    const failure = recordedFailure(err);
    const health = await this.circuit.failed(passage, failure);
    const now = this.ctx.clock.now();
    const retryAt = circuitOpen({ health }) ? (health!.nextProbeAt ?? now) : now + this.ctx.config.providerCircuit.probeIntervalMs;
    try {
      await this.ctx.store.update(leased.id, leased.version, providerFailureNoted(leased, failure, now, this.ctx.config));
    } catch (writeErr) {
      if (!isBrokerError(writeErr, 'conflict')) logger.error('could not release the lease after a provider failure', { connection_id: leased.id, error: errorName(writeErr) });
    }
    await reportRefreshFailure(this.ctx, leased, { ...failure, retryAt, scope: 'provider', failureCount: leased.failureCount }, now);
    return this.keepToken(leased, source, request, failure.code, withRetryAfter(err, retryAt - now));
  }

  /** After a failure: the unexpired token, unless the caller forced a refresh (it saw that token rejected); else `err`. */
  private keepToken(leased: ConnectionRecord, source: SealedPayload, request: RefreshRequest, failure: string, err: unknown): Resolved {
    const token = source.token;
    if (!request.force && token && !isExpired({ token, now: this.ctx.clock.now() })) return { record: leased, token, outcome: 'stale', failure };
    throw err;
  }

  /**
   * The record as it stands after an `invalid_grant`. When we took the lease over from a worker
   * whose lease expired, that worker may be about to write (or park) the rotated token that made
   * ours invalid: give it up to one provider timeout before the grant is called dead.
   */
  private async awaitLateHolder(leased: ConnectionRecord, takeover: boolean): Promise<ConnectionRecord> {
    let record = await this.read(leased.id);
    if (!takeover) return record;
    const pollMs = 100;
    for (let waited = 0; waited < this.ctx.config.providerTimeoutMs; waited += pollMs) {
      if (record.tokenGen !== leased.tokenGen || record.status !== 'active' || hasParkedRescue(record)) return record;
      await this.ctx.sleep(pollMs);
      record = await this.read(leased.id);
    }
    return record;
  }

  /** Polls until the lease holder commits, gives up the lease, or its lease expires; or until the caller's deadline. */
  private async waitForHolder(record: ConnectionRecord, signal: AbortSignal | undefined): Promise<ConnectionRecord> {
    let last = record;
    return pollUntil(
      async () => (last = await this.read(record.id)),
      (current) => current.version !== record.version || !leaseHeldByOther(this.policyInput(current)),
      {
        sleep: this.ctx.sleep,
        maxPolls: Math.ceil(this.ctx.config.leaseMs / 25) + 10,
        signal,
        onAbort: () => refreshInProgress(record.id, last.leaseUntil, this.ctx.clock.now()),
      },
    );
  }

  /** The provider's circuit is open and this refresh may not probe: the still-valid token, else 503 until the next probe. */
  private async serveWhileOpen(record: ConnectionRecord, request: RefreshRequest, retryAt: number): Promise<Resolved> {
    const now = this.ctx.clock.now();
    if (servableDuringRefresh({ record, now, force: request.force })) return { ...(await this.current(record)), outcome: 'stale', failure: 'circuit_open' };
    throw circuitOpenError(record.provider, retryAt, now);
  }

  /** During a back-off nobody calls the provider: the token while it lasts, then the last failure with its Retry-After. */
  private async serveDuringBackoff(record: ConnectionRecord, request: RefreshRequest): Promise<Resolved> {
    const resolved = await this.current(record);
    const now = this.ctx.clock.now();
    if (!request.force && !isExpired({ token: resolved.token, now })) return { ...resolved, outcome: 'stale', failure: 'backed_off' };
    throw backedOffError(record, now);
  }

  private async current(record: ConnectionRecord): Promise<Resolved> {
    const payload = await unseal(this.ctx.cipher, record, record.sealed);
    if (!payload.token) {
      throw new BrokerError('provider_unavailable', `Connection ${record.id} has no token yet; try again`, { provider: { retryAfterS: 1 } });
    }
    return { record, token: payload.token, outcome: 'current' };
  }

  private remember(resolved: Resolved): Resolved {
    const { record, token } = resolved;
    const expiresAt = token.expires_at ?? Number.POSITIVE_INFINITY;
    const serveUntil = token.expires_at === undefined ? expiresAt : expiresAt - skewFor({ ...this.policyInput(record), expiresAt }); // the provider refresh_skew_s too
    const view = frozenView(resolved);
    this.cache.set(record.id, { view, served: Promise.resolve(view), serveUntil, expiresAt });
    return { ...resolved, view };
  }

  private async read(id: string): Promise<ConnectionRecord> {
    const record = await this.ctx.store.get(id, { consistent: true });
    if (!record) throw new BrokerError('connection_not_found', `Connection ${id} not found`);
    return record;
  }

  /** What the refresh policy decides from, for `record`, now. */
  private policyInput(record: ConnectionRecord): RefreshPolicyInput {
    return { record, now: this.ctx.clock.now(), config: this.ctx.config, instanceId: this.ctx.instanceId, policy: this.policyFor(record.provider) };
  }

  private policyFor(provider: string): ProviderRefreshPolicy {
    let policy = this.policies.get(provider);
    if (!policy) this.policies.set(provider, (policy = refreshPolicyOf(this.ctx, provider)));
    return policy;
  }
}

/** The lease was taken over before the provider was asked (`leaseForCall`): the refresh starts over from what is stored. */
class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

const FAILED_OR_DEAD: ReadonlySet<RefreshOutcome> = new Set(['dead_grant', 'provider_unavailable', 'provider_timeout', 'provider_error']);

/** The `outcome` of an attempt that returned: refreshed, found current, or served the kept token after a failure or without asking. */
function outcomeOf(resolved: Resolved): RefreshOutcome {
  if (resolved.outcome === 'refreshed') return 'success';
  if (resolved.outcome === 'current') return 'already_current';
  return asOutcome(resolved.failure);
}

/** The `outcome` of an attempt that threw. */
function outcomeOfError(err: unknown): RefreshOutcome {
  if (!isBrokerError(err)) return 'error';
  if (err.code === 'needs_reauth') return 'dead_grant';
  if (err.code === 'provider_unavailable' && err.details.circuit === 'open') return 'circuit_open';
  return asOutcome(err.code);
}

function asOutcome(code: string | undefined): RefreshOutcome {
  return (REFRESH_OUTCOMES as readonly string[]).includes(code ?? '') ? (code as RefreshOutcome) : 'error';
}

/** The caller's view of a token, frozen: the warm path hands the same object to every caller. */
function frozenView({ record, token }: Pick<Resolved, 'record' | 'token'>): AccessToken {
  const view = accessTokenView(record, token);
  Object.freeze(view.scopes);
  return Object.freeze(view);
}

/** A token set parked (by a late refresher) for the generation the record holds now. */
function hasParkedRescue(record: ConnectionRecord): record is ConnectionRecord & { rescue: string } {
  return record.rescue !== undefined && record.rescueGen === record.tokenGen;
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
