/**
 * getToken and the one refresh path shared with the sweep.
 *
 * Invariants (see docs/refresh.md):
 * - One refresh per connection at a time, fleet-wide: the refresher holds a lease
 *   taken with a write conditional on `version`; every later write is conditional on
 *   the version the lease produced, so a holder whose lease was taken over cannot
 *   commit (fencing). Inside one process, concurrent callers share one promise.
 * - A token set the provider returned is never dropped: a late holder parks it in
 *   `rescue` (or commits it if nobody else holds the lease), commits are retried,
 *   and a result that still cannot be written is kept in memory for the next attempt.
 * - `invalid_grant` re-reads the item (another worker may have rotated the token, or
 *   parked a rescue) before the connection is declared dead.
 * - Transient failures keep the token, count the failure and push the next attempt
 *   out (exponential, honouring Retry-After): never a tight loop against a provider.
 */
import { BrokerError, isBrokerError, providerErrorCode } from '../errors';
import { logger } from '../logger';
import { clientCredentialsGrant, refreshGrant, type TokenGrantResult } from '../oauth/token-endpoint';
import type { Provider } from '../providers/schema';
import type { RecordChanges } from '../ports';
import { enabledProvider, tokenEndpointOptions, type BrokerContext } from './context';
import { assertUsable, validateConnectionId, type AccessToken, type ClientCredentials, type ConnectionRecord, type SealedPayload, type TokenSet } from '../model';
import { backoffDelay, refreshDueAt, shardOf } from './refresh-policy';
import { seal, unseal } from './sealing';
import { revokeAtProvider } from './provider-revocation';
import { accessTokenView } from './views';

/** A connection with its decrypted token, and how we got it. */
export interface Resolved {
  record: ConnectionRecord;
  token: TokenSet;
  /** refreshed: this call obtained a new token; current: the stored token was good (or another worker refreshed); stale: refresh failed transiently, the unexpired token was served. */
  outcome: 'refreshed' | 'current' | 'stale';
  /** With `stale`: the error code of the failed refresh. */
  failure?: string;
}

interface RefreshRequest {
  /** Refresh even if the stored token looks fresh (a caller saw a 401, Marketo 601/602). */
  force: boolean;
  /** The token generation the caller saw: any commit after it satisfies the request. */
  startGen: number;
  /** Whether a (re-read) record still needs refreshing; false ends the attempt with the current token. */
  due: (record: ConnectionRecord, now: number) => boolean;
  /** Wraps the provider call (the sweep's per-provider concurrency limit). */
  aroundProviderCall?: <T>(call: () => Promise<T>) => Promise<T>;
  /** This refresh took over another worker's expired lease on the same token generation. */
  takeover?: boolean;
}

const LEASE_FIELDS = ['leaseOwner', 'leaseUntil', 'leaseGen'] as const;
const COMMIT_ATTEMPTS = 5;
const CONTENTION_ATTEMPTS = 8;

export class TokenService {
  /** Warm path: tokens served with zero AWS calls until they enter the refresh skew. */
  private readonly cache = new Map<string, Resolved>();
  /** One flight per connection in this process; `forced` flights refresh whatever the stored token looks like. */
  private readonly inflight = new Map<string, { promise: Promise<Resolved>; forced: boolean }>();
  /** Token sets obtained but not yet written anywhere durable (store unavailable); retried first on the next attempt. */
  private readonly unsaved = new Map<string, { fromGen: number; payload: SealedPayload }>();

  constructor(private readonly ctx: BrokerContext) {}

  /** The connection's access token, refreshed if it is within the skew of expiry (or `forceRefresh`). */
  async getToken(connectionId: string, options: { forceRefresh?: boolean } = {}): Promise<AccessToken> {
    validateConnectionId(connectionId);
    const force = options.forceRefresh === true;
    const cached = this.cache.get(connectionId);
    if (!force && cached && !this.withinSkew(cached.record, cached.token, this.ctx.clock.now())) {
      return accessTokenView(cached.record, cached.token);
    }
    const resolved = await this.shared(connectionId, force);
    return accessTokenView(resolved.record, resolved.token);
  }

  /** Sweep entry: refresh a connection the schedule found due (it may have been refreshed since). */
  async refreshDue(record: ConnectionRecord, dueBy: number, aroundProviderCall?: RefreshRequest['aroundProviderCall']): Promise<Resolved> {
    return this.singleflight(record.id, false, () =>
      this.refresh(record, {
        force: false,
        startGen: record.tokenGen,
        due: (r) => r.refreshDueAt !== undefined && r.refreshDueAt <= dueBy,
        aroundProviderCall,
      }),
    );
  }

  /** Drops the warm cache entry (after revoke or re-install in this process). */
  forget(connectionId: string): void {
    this.cache.delete(connectionId);
  }

  /**
   * Concurrent callers in this process share one flight. A forced caller (it just saw the
   * token rejected) joins only a forced flight: an ordinary one may return that same token.
   */
  private async shared(id: string, force: boolean): Promise<Resolved> {
    const running = this.inflight.get(id);
    if (running && (running.forced || !force)) return running.promise;
    if (running) await running.promise.catch(() => undefined);
    return this.singleflight(id, force, () => this.load(id, force));
  }

  private singleflight(id: string, forced: boolean, work: () => Promise<Resolved>): Promise<Resolved> {
    const existing = this.inflight.get(id);
    if (existing && (existing.forced || !forced)) return existing.promise;
    const promise = work().finally(() => {
      if (this.inflight.get(id)?.promise === promise) this.inflight.delete(id);
    });
    this.inflight.set(id, { promise, forced });
    return promise;
  }

  /** Cold path: one consistent read and one decrypt; refresh only if needed. */
  private async load(id: string, force: boolean): Promise<Resolved> {
    const record = await this.read(id);
    assertUsable(record);
    if (!force) {
      if (!this.needsRefresh(record, this.ctx.clock.now())) return this.remember(await this.current(record));
      return this.refresh(record, { force, startGen: record.tokenGen, due: (r, now) => this.needsRefresh(r, now) });
    }
    // Forced: only a token committed after this read will do. The instance's cached generation
    // says nothing about which token the caller saw rejected (it may have come from another
    // instance), so it is not used.
    return this.refresh(record, { force, startGen: record.tokenGen, due: () => true });
  }

  /** The refresh loop: take the lease (or wait for its holder), then refresh under it. */
  private async refresh(initial: ConnectionRecord, request: RefreshRequest): Promise<Resolved> {
    let record = initial;
    for (let attempt = 0; attempt < CONTENTION_ATTEMPTS; attempt++) {
      const now = this.ctx.clock.now();
      assertUsable(record);
      if (record.tokenGen > request.startGen) return this.remember(await this.current(record));
      if (!request.due(record, now)) return this.remember(await this.current(record));
      if (this.inBackoff(record, now)) return this.serveDuringBackoff(record, request);
      if (this.leaseHeldByOther(record, now)) {
        record = await this.waitForHolder(record);
        continue;
      }
      // Taking over another worker's expired lease on the same generation: that worker may still
      // hold a rotated token it has not written yet (see handleFailure).
      const takeover = record.leaseOwner !== undefined && record.leaseOwner !== this.ctx.instanceId && record.leaseGen === record.tokenGen;
      let leased: ConnectionRecord;
      try {
        leased = await this.ctx.store.update(record.id, record.version, {
          set: { leaseOwner: this.ctx.instanceId, leaseUntil: now + this.ctx.config.leaseMs, leaseGen: record.tokenGen },
        });
      } catch (err) {
        if (!isBrokerError(err, 'conflict')) throw err;
        record = await this.read(record.id);
        continue;
      }
      return this.refreshUnderLease(leased, { ...request, takeover }, false);
    }
    throw new BrokerError('conflict', `Connection ${initial.id} is under heavy refresh contention; try again`);
  }

  private async refreshUnderLease(leased: ConnectionRecord, request: RefreshRequest, retriedRescue: boolean): Promise<Resolved> {
    let provider: Provider;
    let stored: SealedPayload;
    let parked: SealedPayload | undefined;
    try {
      provider = enabledProvider(this.ctx, leased.provider);
      stored = await unseal(this.ctx.cipher, leased, leased.sealed);
      // A token set parked by a late refresher (or not yet saved by this process) is newer than the stored one.
      parked = await this.parkedPayload(leased);
    } catch (err) {
      await this.releaseLease(leased); // nothing was asked of the provider: let others try at once
      throw err;
    }
    const source = parked ?? stored;
    if (parked?.token && !request.force && !this.withinSkew(leased, parked.token, this.ctx.clock.now())) {
      // Committing a recovered token set, not a provider answer: compare with what was stored.
      return this.commit(leased, source, { tokens: parked.token, metadata: {}, httpStatus: 200 }, stored.token);
    }
    let result: TokenGrantResult;
    try {
      const call = () => this.callProvider(provider, leased, source);
      result = await (request.aroundProviderCall ? request.aroundProviderCall(call) : call());
    } catch (err) {
      return this.handleFailure(leased, source, err, request, retriedRescue || parked !== undefined);
    }
    return this.commit(leased, source, result, source.token);
  }

  private async releaseLease(leased: ConnectionRecord): Promise<void> {
    await this.ctx.store.update(leased.id, leased.version, { remove: [...LEASE_FIELDS] }).catch(() => undefined);
  }

  private async parkedPayload(leased: ConnectionRecord): Promise<SealedPayload | undefined> {
    const unsaved = this.unsaved.get(leased.id);
    if (unsaved && unsaved.fromGen === leased.tokenGen) return unsaved.payload;
    if (leased.rescue !== undefined && leased.rescueGen === leased.tokenGen) {
      return unseal(this.ctx.cipher, leased, leased.rescue);
    }
    return undefined;
  }

  private async callProvider(provider: Provider, record: ConnectionRecord, source: SealedPayload): Promise<TokenGrantResult> {
    const options = tokenEndpointOptions(this.ctx);
    const connectionConfig = record.connectionConfig;
    if (record.authMode === 'OAUTH2_CC') {
      const credentials = await this.clientCredentialsOf(provider, record, source);
      return clientCredentialsGrant(provider, credentials, { scopes: record.scopes, connectionConfig }, options);
    }
    const refreshToken = source.token?.refresh_token;
    if (!refreshToken) {
      throw new BrokerError('needs_reauth', `Connection ${record.id} has no refresh token; the user must install again`, {
        provider: { error: 'no_refresh_token' },
      });
    }
    const credentials = await this.ctx.secrets.getClientCredentials(provider.secret_name);
    return refreshGrant(provider, credentials, { refreshToken, connectionConfig }, options);
  }

  private async clientCredentialsOf(provider: Provider, record: ConnectionRecord, source: SealedPayload): Promise<ClientCredentials> {
    if (source.clientCredentials) return source.clientCredentials;
    return this.ctx.secrets.getClientCredentials(record.credentialsSecretName ?? provider.secret_name);
  }

  /**
   * Writes the new token set under the lease, retrying transient store failures; never drops it.
   * `previous` is the token the provider was asked to replace (same access token back = Marketo's early renewal).
   */
  private async commit(leased: ConnectionRecord, source: SealedPayload, result: TokenGrantResult, previous: TokenSet | undefined): Promise<Resolved> {
    const now = this.ctx.clock.now();
    // No refresh_token in a refresh response means the old one stays valid (RFC 6749 §6).
    const token: TokenSet = { ...result.tokens, refresh_token: result.tokens.refresh_token ?? source.token?.refresh_token };
    const payload: SealedPayload = { ...source, token };
    const changes = await this.commitChanges(leased, previous, payload, result, now);
    for (let attempt = 1; ; attempt++) {
      try {
        const written = await this.ctx.store.update(leased.id, leased.version, changes);
        this.unsaved.delete(leased.id);
        logger.info('token refreshed', { connection_id: leased.id, provider: leased.provider, token_gen: written.tokenGen });
        return this.remember({ record: written, token, outcome: 'refreshed' });
      } catch (err) {
        if (isBrokerError(err, 'conflict')) return this.rescueLateResult(leased, payload, changes);
        if (attempt >= COMMIT_ATTEMPTS) {
          this.unsaved.set(leased.id, { fromGen: leased.tokenGen, payload });
          logger.error('could not commit refreshed token; kept in memory for the next attempt', {
            connection_id: leased.id,
            error: errorName(err),
          });
          return { record: { ...leased, ...changes.set } as ConnectionRecord, token, outcome: 'refreshed' };
        }
        await this.ctx.sleep(100 * 2 ** (attempt - 1));
      }
    }
  }

  private async commitChanges(
    leased: ConnectionRecord,
    previous: TokenSet | undefined,
    payload: SealedPayload,
    result: TokenGrantResult,
    now: number,
  ): Promise<RecordChanges> {
    const token = payload.token!;
    const sealed = await seal(this.ctx.cipher, leased, payload);
    const refreshable = token.expires_at !== undefined && (leased.authMode === 'OAUTH2_CC' || token.refresh_token !== undefined);
    // Marketo answers an early renewal with the same token and less life: asking again before it expires is pointless.
    const sameToken = previous !== undefined && previous.access_token === token.access_token;
    const set: NonNullable<RecordChanges['set']> = {
      sealed,
      status: 'active',
      tokenGen: leased.tokenGen + 1,
      failureCount: 0,
      lastRefreshAt: now,
    };
    const remove: NonNullable<RecordChanges['remove']> = [...LEASE_FIELDS, 'rescue', 'rescueGen', 'lastError', 'ttl'];
    if (result.grantedScopes) set.scopes = result.grantedScopes;
    if (token.expires_at !== undefined) set.expiresAt = token.expires_at;
    else remove.push('expiresAt');
    if (refreshable) {
      const due = sameToken ? token.expires_at! : refreshDueAt(now, token.expires_at!, this.ctx.config.refreshPolicy, this.ctx.random());
      set.refreshDueAt = due;
      set.shard = shardOf(leased.id, this.ctx.config.shards);
    } else {
      remove.push('refreshDueAt', 'shard');
    }
    if (sameToken && token.expires_at !== undefined) set.renewableAfter = token.expires_at;
    else remove.push('renewableAfter');
    return { set, remove };
  }

  /**
   * Our lease was taken over while we talked to the provider. Our token set may be the only
   * valid one (rotation), so it is never dropped: parked in `rescue` while another worker
   * holds the lease (it will pick it up), or committed if nobody does.
   */
  private async rescueLateResult(leased: ConnectionRecord, payload: SealedPayload, commit: RecordChanges): Promise<Resolved> {
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
        if (this.leaseHeldByOther(record, this.ctx.clock.now())) {
          const rescue = await seal(this.ctx.cipher, leased, payload);
          const parked = await this.ctx.store.update(record.id, record.version, { set: { rescue, rescueGen: leased.tokenGen } });
          logger.warn('lease lost during refresh; token set parked for the lease holder', { connection_id: leased.id });
          return { record: parked, token, outcome: 'refreshed' };
        }
        const written = await this.ctx.store.update(record.id, record.version, commit);
        logger.warn('lease lost during refresh; committed after the other worker finished', { connection_id: leased.id });
        return this.remember({ record: written, token, outcome: 'refreshed' });
      } catch (err) {
        if (!isBrokerError(err, 'conflict')) throw err;
      }
    }
    this.unsaved.set(leased.id, { fromGen: leased.tokenGen, payload });
    return { record: leased, token, outcome: 'refreshed' };
  }

  private async handleFailure(
    leased: ConnectionRecord,
    source: SealedPayload,
    err: unknown,
    request: RefreshRequest,
    triedParked: boolean,
  ): Promise<Resolved> {
    if (isBrokerError(err, 'needs_reauth')) {
      // Before calling the grant dead: another worker may have rotated it or parked a newer one.
      const record = await this.awaitLateHolder(leased, request.takeover === true);
      assertUsable(record);
      if (record.tokenGen !== leased.tokenGen) return this.remember(await this.current(record));
      if (!triedParked && record.leaseOwner === this.ctx.instanceId && (await this.parkedPayload(record))) {
        return this.refreshUnderLease(record, request, true);
      }
      if (record.leaseOwner === this.ctx.instanceId) await this.markNeedsReauth(record, err);
      this.cache.delete(leased.id);
      throw err;
    }
    const now = this.ctx.clock.now();
    const failureCount = leased.failureCount + 1;
    const retryAfterS = isBrokerError(err) ? (err.provider?.retryAfterS ?? 0) : 0;
    const delay = backoffDelay(failureCount, this.ctx.config.refreshPolicy, retryAfterS * 1000);
    const code = isBrokerError(err) ? err.code : 'internal_error';
    try {
      await this.ctx.store.update(leased.id, leased.version, {
        set: {
          failureCount,
          lastError: { code, message: failureMessage(err), providerCode: providerErrorCode(err), at: now },
          refreshDueAt: now + delay,
          shard: shardOf(leased.id, this.ctx.config.shards),
        },
        remove: [...LEASE_FIELDS],
      });
    } catch (writeErr) {
      if (!isBrokerError(writeErr, 'conflict')) logger.error('could not record refresh failure', { connection_id: leased.id, error: errorName(writeErr) });
    }
    await this.ctx.events.publish({
      type: 'connection.refresh_failed',
      detail: {
        connection_id: leased.id,
        provider: leased.provider,
        tenant: leased.tenant ?? null,
        error: code,
        provider_error: providerErrorCode(err) ?? null,
        failure_count: failureCount,
        retry_in_s: Math.ceil(delay / 1000),
      },
      at: now,
    });
    logger.warn('refresh failed; token kept, next attempt backed off', {
      connection_id: leased.id,
      provider: leased.provider,
      code,
      failure_count: failureCount,
      next_attempt_in_ms: delay,
    });
    const token = source.token;
    if (!request.force && token && !isExpired(token, now)) {
      return { record: leased, token, outcome: 'stale', failure: code };
    }
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
      if (record.tokenGen !== leased.tokenGen || record.status !== 'active') return record;
      if (record.rescue !== undefined && record.rescueGen === record.tokenGen) return record;
      await this.ctx.sleep(pollMs);
      record = await this.read(leased.id);
    }
    return record;
  }

  private async markNeedsReauth(record: ConnectionRecord, err: BrokerError): Promise<void> {
    const now = this.ctx.clock.now();
    const providerError = providerErrorCode(err) ?? 'invalid_grant';
    try {
      await this.ctx.store.update(record.id, record.version, {
        set: {
          status: 'needs_reauth',
          failureCount: record.failureCount + 1,
          lastError: { code: 'needs_reauth', message: 'The provider rejected the grant; the user must install again', providerCode: providerError, at: now },
          ttl: Math.ceil((now + this.ctx.config.retentionMs) / 1000),
        },
        remove: [...LEASE_FIELDS, 'refreshDueAt', 'shard'],
      });
    } catch (writeErr) {
      if (!isBrokerError(writeErr, 'conflict')) throw writeErr;
      return; // someone else changed it; their state wins
    }
    await this.ctx.events.publish({
      type: 'connection.reauth_required',
      detail: { connection_id: record.id, provider: record.provider, tenant: record.tenant ?? null, provider_error: providerError },
      at: now,
    });
  }

  /** Polls until the lease holder commits, gives up the lease, or its lease expires. */
  private async waitForHolder(record: ConnectionRecord): Promise<ConnectionRecord> {
    let delay = 25;
    const maxPolls = Math.ceil(this.ctx.config.leaseMs / 25) + 10;
    for (let poll = 0; poll < maxPolls; poll++) {
      await this.ctx.sleep(delay);
      delay = Math.min(delay * 2, 250);
      const current = await this.read(record.id);
      if (current.version !== record.version || !this.leaseHeldByOther(current, this.ctx.clock.now())) return current;
    }
    return this.read(record.id);
  }

  private async serveDuringBackoff(record: ConnectionRecord, request: RefreshRequest): Promise<Resolved> {
    const resolved = await this.current(record);
    if (!request.force && !isExpired(resolved.token, this.ctx.clock.now())) return { ...resolved, outcome: 'stale', failure: 'backed_off' };
    const last = record.lastError;
    const code = last?.code === 'provider_timeout' || last?.code === 'provider_error' ? last.code : 'provider_unavailable';
    const retryAfterS = Math.max(1, Math.ceil(((record.refreshDueAt ?? 0) - this.ctx.clock.now()) / 1000));
    throw new BrokerError(code, `Provider ${record.provider} is failing (${last?.providerCode ?? last?.code ?? 'unknown'}); next attempt in ${retryAfterS}s`, {
      provider: { error: last?.providerCode, retryAfterS },
    });
  }

  private async current(record: ConnectionRecord): Promise<Resolved> {
    const payload = await unseal(this.ctx.cipher, record, record.sealed);
    if (!payload.token) {
      throw new BrokerError('provider_unavailable', `Connection ${record.id} has no token yet; try again`, { provider: { retryAfterS: 1 } });
    }
    return { record, token: payload.token, outcome: 'current' };
  }

  private remember(resolved: Resolved): Resolved {
    this.cache.set(resolved.record.id, resolved);
    return resolved;
  }

  private async read(id: string): Promise<ConnectionRecord> {
    const record = await this.ctx.store.get(id, { consistent: true });
    if (!record) throw new BrokerError('connection_not_found', `Connection ${id} not found`);
    return record;
  }

  /**
   * How long before expiry `getToken` refreshes: the configured skew, but never more than half
   * the token's life, or a provider issuing 60-second tokens would be asked on every call.
   */
  private skewFor(record: ConnectionRecord, expiresAt: number): number {
    const issuedAt = record.lastRefreshAt ?? record.createdAt;
    return Math.min(this.ctx.config.refreshSkewMs, Math.max(0, (expiresAt - issuedAt) / 2));
  }

  private withinSkew(record: ConnectionRecord, token: TokenSet, now: number): boolean {
    return token.expires_at !== undefined && token.expires_at - this.skewFor(record, token.expires_at) <= now;
  }

  private needsRefresh(record: ConnectionRecord, now: number): boolean {
    if (record.sealed === undefined || record.tokenGen === 0) return true; // CC connection without a token yet
    if (record.expiresAt === undefined) return false;
    if (record.renewableAfter !== undefined && now < record.renewableAfter) return false;
    return record.expiresAt - this.skewFor(record, record.expiresAt) <= now;
  }

  private inBackoff(record: ConnectionRecord, now: number): boolean {
    return record.failureCount > 0 && record.lastError !== undefined && record.refreshDueAt !== undefined && record.refreshDueAt > now;
  }

  private leaseHeldByOther(record: ConnectionRecord, now: number): boolean {
    return record.leaseOwner !== undefined && record.leaseOwner !== this.ctx.instanceId && (record.leaseUntil ?? 0) > now;
  }
}

function isExpired(token: TokenSet, now: number): boolean {
  return token.expires_at !== undefined && token.expires_at <= now;
}

function failureMessage(err: unknown): string {
  return isBrokerError(err) && err.expose ? err.message : 'Internal error during refresh';
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
