/**
 * One refresh per connection inside one process: concurrent callers share one promise (a
 * "flight"). A forced caller has just seen the token rejected, so it never joins an ordinary
 * flight (that may hand back the same token): it waits that one out and starts its own.
 */
import { untilAborted } from './waiting';

/** A joiner's deadline: when `signal` aborts, it stops waiting with `onAbort()`; the flight goes on for the others. */
export interface JoinDeadline {
  signal?: AbortSignal;
  onAbort: () => Error;
}

export class Flights<T> {
  private readonly running = new Map<string, { promise: Promise<T>; forced: boolean }>();

  /** Whether a flight for `id` is in the air. */
  inFlight(id: string): boolean {
    return this.running.has(id);
  }

  /**
   * The result of the flight for `id` this caller may join, or of `work`, started as a new flight.
   * `deadline` bounds only the waiting on someone else's flight: the caller that starts a flight
   * sees its own work through (its waits inside `work` have their own deadline).
   */
  async run(id: string, forced: boolean, work: () => Promise<T>, deadline?: JoinDeadline): Promise<T> {
    const wait = <R>(promise: Promise<R>) => (deadline ? untilAborted(promise, deadline.signal, deadline.onAbort) : promise);
    const ordinary = this.running.get(id);
    if (forced && ordinary && !ordinary.forced) await wait(ordinary.promise.catch(() => undefined));
    const joinable = this.running.get(id);
    if (joinable && (joinable.forced || !forced)) return wait(joinable.promise);
    const promise = work().finally(() => {
      if (this.running.get(id)?.promise === promise) this.running.delete(id);
    });
    this.running.set(id, { promise, forced });
    return promise;
  }
}
