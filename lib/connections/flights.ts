/**
 * One refresh per connection inside one process: concurrent callers share one promise (a
 * "flight"). A forced caller has just seen the token rejected, so it never joins an ordinary
 * flight (that may hand back the same token): it waits that one out and starts its own.
 */
export class Flights<T> {
  private readonly running = new Map<string, { promise: Promise<T>; forced: boolean }>();

  /** The result of the flight for `id` this caller may join, or of `work`, started as a new flight. */
  async run(id: string, forced: boolean, work: () => Promise<T>): Promise<T> {
    const ordinary = this.running.get(id);
    if (forced && ordinary && !ordinary.forced) await ordinary.promise.catch(() => undefined);
    const joinable = this.running.get(id);
    if (joinable && (joinable.forced || !forced)) return joinable.promise;
    const promise = work().finally(() => {
      if (this.running.get(id)?.promise === promise) this.running.delete(id);
    });
    this.running.set(id, { promise, forced });
    return promise;
  }
}
