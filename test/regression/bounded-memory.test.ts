/**
 * Issue 10: the warm cache of each process was an unbounded Map, so a worker that served or
 * refreshed many connections grew without end. It is an LRU of `tokenCacheSize` entries now
 * (`BROKER_TOKEN_CACHE_SIZE`); the least recently used connection is read from the store again.
 * Memory over 100,000 refreshes: `npm run bench -- memory`.
 */
import { describe, expect, it } from 'vitest';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import type { ConnectionStore } from '../../lib/ports';
import { MovableClock } from '../support/local-broker';
import { faultBroker, installFault } from '../support/fault-broker';
import { startFaultProvider } from '../support/fault-provider';

/** Counts consistent reads (the cold path) of `store`. */
function countingStore(clock: MovableClock): { store: ConnectionStore; reads: () => number } {
  const store = new MemoryConnectionStore(clock);
  let reads = 0;
  const get = store.get.bind(store);
  store.get = async (...args) => {
    reads++;
    return get(...args);
  };
  return { store, reads: () => reads };
}

describe('the warm token cache', () => {
  it('holds at most tokenCacheSize connections; the least recently used one is read again', async () => {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now });
    try {
      const { store, reads } = countingStore(clock);
      const { broker } = faultBroker({ store, provider, clock, config: { tokenCacheSize: 3 } });
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await installFault(broker, provider, `lru-${i}`));
      for (const id of ids.slice(0, 3)) await broker.getToken(id); // cold: 3 reads, cached
      const cold = reads();
      for (const id of ids.slice(0, 3)) await broker.getToken(id); // warm
      expect(reads()).toBe(cold);
      await broker.getToken(ids[0]!); // lru-0 most recent; lru-1 is now the least recent
      await broker.getToken(ids[3]!); // a fourth: lru-1 goes
      expect(reads()).toBe(cold + 1);
      await broker.getToken(ids[0]!);
      await broker.getToken(ids[2]!);
      expect(reads()).toBe(cold + 1);
      await broker.getToken(ids[1]!);
      expect(reads()).toBe(cold + 2);
    } finally {
      await provider.close();
    }
  });

  it('hands every warm caller the same frozen token object, which no caller can alter for the next', async () => {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now });
    try {
      const { broker } = faultBroker({ store: new MemoryConnectionStore(clock), provider, clock });
      const id = await installFault(broker, provider, 'frozen');
      const first = await broker.getToken(id);
      const second = await broker.getToken(id);
      expect(second).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      expect(Object.isFrozen(first.scopes)).toBe(true);
      expect(first.expires_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    } finally {
      await provider.close();
    }
  });
});
