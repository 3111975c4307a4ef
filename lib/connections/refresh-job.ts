/**
 * A refresh job on the wire: the message body the scheduler sends and a worker reads (SQS on AWS).
 * Ids and times only: a queue is not a place for secrets, and a job says nothing the worker does not
 * read again, consistently, before it acts.
 */
import { BrokerError } from '../errors';
import { validateConnectionId } from '../model';
import type { RefreshJob } from '../ports';

/** The message body for `job`. */
export function encodeRefreshJob(job: RefreshJob): string {
  return JSON.stringify({ connection_id: job.connectionId, provider: job.provider, due_at: job.dueAt });
}

/** The job in a message body; BrokerError('invalid_request') for a body that is not one (it can never succeed). */
export function decodeRefreshJob(body: string): RefreshJob {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new BrokerError('invalid_request', 'refresh job: the message body is not JSON');
  }
  const { connection_id: connectionId, provider, due_at: dueAt } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof connectionId !== 'string' || typeof provider !== 'string' || provider === '' || typeof dueAt !== 'number' || !Number.isFinite(dueAt)) {
    throw new BrokerError('invalid_request', 'refresh job: needs connection_id, provider and due_at');
  }
  validateConnectionId(connectionId);
  return { connectionId, provider, dueAt };
}
