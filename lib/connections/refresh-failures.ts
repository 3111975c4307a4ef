/**
 * What a failed refresh records and tells the world: the facts a failure is classified by, the
 * `connection.refresh_failed` and `connection.reauth_required` events, the warning line, and the
 * errors callers get while nobody asks the provider. Never a secret in any of them.
 */
import { BrokerError, isBrokerError, providerErrorCode } from '../errors';
import { logger } from '../logger';
import type { ConnectionRecord } from '../model';
import type { BrokerContext } from './context';
import { backoffRemainingS, type FailureFacts, type FailureScope } from './refresh-policy';
import { needsReauth } from './transitions';

/** What `failureScope` classifies a thrown failure by. */
export function failureFacts(err: unknown): FailureFacts {
  return isBrokerError(err) ? { code: err.code, provider: err.provider } : { code: 'internal_error' };
}

/** The failure as the record and the admin view keep it: code, secret-free message, the provider's code. */
export function recordedFailure(err: unknown): { code: string; message: string; providerCode?: string } {
  const message = isBrokerError(err) && err.expose ? err.message : 'Internal error during refresh';
  return { code: failureFacts(err).code, message, providerCode: providerErrorCode(err) };
}

/** `err` with the broker's Retry-After (`delayMs` from now): callers are told when the broker will try again. */
export function withRetryAfter(err: unknown, delayMs: number): unknown {
  return isBrokerError(err) ? err.withRetryAfter(Math.max(1, Math.ceil(delayMs / 1000))) : err;
}

export interface ReportedFailure {
  code: string;
  providerCode?: string;
  /** When the broker will try again: the connection's back-off, or the provider's next probe. */
  retryAt: number;
  scope: FailureScope;
  /** The connection's failure count after this failure (unchanged by a provider-wide one). */
  failureCount: number;
}

export async function reportRefreshFailure(ctx: BrokerContext, record: ConnectionRecord, failure: ReportedFailure, now: number): Promise<void> {
  await ctx.events.publish({
    type: 'connection.refresh_failed',
    detail: {
      connection_id: record.id,
      provider: record.provider,
      tenant: record.tenant ?? null,
      error: failure.code,
      provider_error: failure.providerCode ?? null,
      scope: failure.scope,
      failure_count: failure.failureCount,
      retry_in_s: Math.ceil((failure.retryAt - now) / 1000),
    },
    at: now,
  });
  logger.warn(failure.scope === 'provider' ? 'refresh failed provider-wide; token kept, counted against the provider' : 'refresh failed; token kept, next attempt backed off', {
    connection_id: record.id,
    provider: record.provider,
    code: failure.code,
    failure_count: failure.failureCount,
    next_attempt_in_ms: failure.retryAt - now,
  });
}

/** The grant is dead: the record says so (unless someone else changed it first; their state wins), and the event tells the app. */
export async function recordDeadGrant(ctx: BrokerContext, record: ConnectionRecord, err: BrokerError): Promise<void> {
  const now = ctx.clock.now();
  const providerCode = providerErrorCode(err) ?? 'invalid_grant';
  try {
    await ctx.store.update(record.id, record.version, needsReauth(record, { providerCode }, now, ctx.config));
  } catch (writeErr) {
    if (!isBrokerError(writeErr, 'conflict')) throw writeErr;
    return;
  }
  await ctx.events.publish({
    type: 'connection.reauth_required',
    detail: { connection_id: record.id, provider: record.provider, tenant: record.tenant ?? null, provider_error: providerCode },
    at: now,
  });
}

/** What a caller without a usable token gets while the connection is backed off: the last failure, with the time left. */
export function backedOffError(record: ConnectionRecord, now: number): BrokerError {
  const last = record.lastError;
  const code = last?.code === 'provider_timeout' || last?.code === 'provider_error' ? last.code : 'provider_unavailable';
  const retryAfterS = backoffRemainingS({ record, now });
  return new BrokerError(code, `Provider ${record.provider} is failing (${last?.providerCode ?? last?.code ?? 'unknown'}); next attempt in ${retryAfterS}s`, {
    provider: { error: last?.providerCode, retryAfterS },
  });
}
