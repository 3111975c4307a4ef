/**
 * Waiting for another worker — its refresh lease, or the probe of an open circuit — without
 * outliving the caller's deadline. A caller's `AbortSignal` stops waits only: a provider call
 * this process already started is always seen through, because abandoning it after the
 * provider may have rotated the refresh token is exactly the crash window (docs/design.md).
 */
import { BrokerError } from '../errors';

/** The typed answer of a caller whose deadline came before another worker's result: 503, Retry-After until `until`. */
export function refreshInProgress(connectionId: string, until: number | undefined, now: number): BrokerError {
  const retryAfterS = Math.max(1, Math.ceil(((until ?? now) - now) / 1000));
  return new BrokerError('refresh_in_progress', `Connection ${connectionId} is being refreshed by another worker; try again in ${retryAfterS}s`, {
    retryAfterS,
  });
}

export interface PollOptions {
  sleep: (ms: number) => Promise<void>;
  /** Gives up (returns the last value read) after this many polls. */
  maxPolls: number;
  signal?: AbortSignal;
  /** The error to throw when `signal` aborts, from the last value read. */
  onAbort: () => Error;
}

/**
 * Reads until `done` (25 ms, doubling to 250 ms between reads), `maxPolls` runs out, or the
 * signal aborts (then `onAbort()` is thrown). Returns the last value read.
 */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, options: PollOptions): Promise<T> {
  let delay = 25;
  let value: T | undefined;
  for (let poll = 0; poll < options.maxPolls; poll++) {
    await sleepUnlessAborted(delay, options);
    delay = Math.min(delay * 2, 250);
    value = await read();
    if (done(value)) return value;
  }
  return value ?? read();
}

/** Throws `onAbort()` when the signal has aborted. */
export function checkDeadline(options: Pick<PollOptions, 'signal' | 'onAbort'>): void {
  if (options.signal?.aborted) throw options.onAbort();
}

/** `promise`, unless the signal aborts first (then `onAbort()` is thrown; the promise runs on). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, onAbort: () => Error): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(onAbort());
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(onAbort());
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(err);
      },
    );
  });
}

async function sleepUnlessAborted(ms: number, options: Pick<PollOptions, 'sleep' | 'signal' | 'onAbort'>): Promise<void> {
  checkDeadline(options);
  await untilAborted(options.sleep(ms), options.signal, options.onAbort);
}
