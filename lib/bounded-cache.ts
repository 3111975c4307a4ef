/**
 * The broker's in-process caches: at most `entries` entries, least recently used out first, each
 * entry that leaves handed to `dispose` with why ('set': replaced, 'evict': pushed out by the bound,
 * 'delete': deleted or cleared), as lru-cache does.
 *
 * Our own code rather than lru-cache, for the cold start only: lru-cache is 18 KiB of a handler's
 * bundle (TTLs, fetch, sizes, stale reads: none of which the broker uses), and compiling it and
 * building its caches was 3–4 % of everything get-token and callback do at a cold start, counted in
 * instructions (docs/benchmarks.md, issue 10 part d). A `Map` keeps insertion order, so a read that
 * re-inserts its key keeps the map in least-recently-used order, and the first key is the one to
 * evict. The claim "same as lru-cache" is tested, not assumed: test/unit/bounded-cache.test.ts runs
 * random operation sequences against lru-cache's own `max` mode (kept as a devDependency for that)
 * and requires the same answers, entries, order and disposals.
 */

/** Why an entry left the cache: lru-cache's words for the three cases the broker meets. */
export type DisposeReason = 'set' | 'evict' | 'delete';

export interface BoundedCacheOptions<K, V> {
  /** Called once for each entry that leaves (the KMS cipher zeroes a data key; the token service logs an eviction). */
  dispose?: (value: V, key: K, reason: DisposeReason) => void;
}

export class BoundedCache<K, V> {
  /** In least-recently-used order: the first key is the next to go. */
  readonly #map = new Map<K, V>();
  readonly #bound: number;
  readonly #dispose: BoundedCacheOptions<K, V>['dispose'];

  constructor(entries: number, options: BoundedCacheOptions<K, V> = {}) {
    if (!Number.isInteger(entries) || entries < 1) throw new TypeError(`a cache bound must be a positive integer, got ${entries}`);
    this.#bound = entries;
    this.#dispose = options.dispose;
  }

  get size(): number {
    return this.#map.size;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  /** Stores `value` as the most recently used; the least recently used entry goes if the bound is passed. */
  set(key: K, value: V): this {
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
      if (old !== value) this.#dispose?.(old, key, 'set');
      return this;
    }
    this.#map.set(key, value);
    if (this.#map.size > this.#bound) {
      const [oldestKey, oldestValue] = this.#map.entries().next().value as [K, V];
      this.#map.delete(oldestKey);
      this.#dispose?.(oldestValue, oldestKey, 'evict');
    }
    return this;
  }

  delete(key: K): boolean {
    const value = this.#map.get(key);
    if (value === undefined) return false;
    this.#map.delete(key);
    this.#dispose?.(value, key, 'delete');
    return true;
  }

  /** Empties the cache, least recently used first. */
  clear(): void {
    const entries = [...this.#map];
    this.#map.clear();
    for (const [key, value] of entries) this.#dispose?.(value, key, 'delete');
  }

  /** Entries from the most recently used to the least, as lru-cache lists them. */
  *entries(): Generator<[K, V]> {
    yield* [...this.#map].reverse();
  }
}

/** A cache of at most `entries` entries (a positive integer). */
export function boundedCache<K extends {}, V extends {}>(entries: number, options: BoundedCacheOptions<K, V> = {}): BoundedCache<K, V> {
  return new BoundedCache<K, V>(entries, options);
}
