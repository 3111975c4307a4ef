/**
 * The broker's in-process caches: lru-cache holding at most `entries` entries, least recently
 * used out first.
 *
 * Bounded by `maxSize` with every entry counted as 1, not by `max`: with `max`, lru-cache
 * allocates its whole index at construction (four arrays of `entries` slots), which cost the
 * first request of every function that serves tokens 1.6 ms and a garbage collection for the token
 * service's two 10,000-entry caches (docs/benchmarks.md, issue 10 part d); counted by size, the
 * index grows with what the cache holds. Same bound, same eviction, same disposals (test: test/unit/bounded-cache.test.ts, against lru-cache's `max` mode).
 */
import { LRUCache } from 'lru-cache';

export function boundedCache<K extends {}, V extends {}>(entries: number, options: Omit<LRUCache.Options<K, V, unknown>, 'max' | 'maxSize' | 'sizeCalculation'> = {}): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...options, maxSize: entries, sizeCalculation: () => 1 });
}
