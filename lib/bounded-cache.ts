/**
 * The broker's in-process caches: at most `entries` entries, least recently used out first, each
 * entry that leaves handed to `dispose` with why ('set': replaced, 'evict': pushed out by the bound,
 * 'delete': deleted or cleared), as lru-cache does.
 *
 * Our own code rather than lru-cache, for the cold start only: lru-cache is 18 KiB of a handler's
 * bundle (TTLs, fetch, sizes, stale reads: none of which the broker uses), and compiling it and
 * building its caches was 3–4 % of everything get-token and callback do at a cold start, counted in
 * instructions (docs/benchmarks.md, issue 10 part d). A `Map` finds an entry; a doubly linked list
 * keeps the order, least recently used first, so the head is the one to evict. The claim "same as
 * lru-cache" is tested, not assumed: test/unit/bounded-cache.test.ts runs
 * random operation sequences against lru-cache's own `max` mode (kept as a devDependency for that)
 * and requires the same answers, entries, order and disposals.
 */

/** Why an entry left the cache: lru-cache's words for the three cases the broker meets. */
export type DisposeReason = 'set' | 'evict' | 'delete';

export interface BoundedCacheOptions<K, V> {
  /** Called once for each entry that leaves (the KMS cipher zeroes a data key; the token service logs an eviction). */
  dispose?: (value: V, key: K, reason: DisposeReason) => void;
}

/** An entry, in a doubly linked list from the least recently used (`head`) to the most (`tail`). */
interface Node<K, V> {
  key: K;
  value: V;
  older: Node<K, V> | undefined;
  newer: Node<K, V> | undefined;
}

export class BoundedCache<K, V> {
  /**
   * The key's entry; the order lives in the list, so a read moves two pointers and leaves the map
   * alone (a `Map` delete and re-insert on every hit made the warm getToken 4.4x a bare Map.get
   * instead of 2.7x: `npm run bench -- hot-path`).
   */
  readonly #nodes = new Map<K, Node<K, V>>();
  #head: Node<K, V> | undefined;
  #tail: Node<K, V> | undefined;
  readonly #bound: number;
  readonly #dispose: BoundedCacheOptions<K, V>['dispose'];

  constructor(entries: number, options: BoundedCacheOptions<K, V> = {}) {
    if (!Number.isInteger(entries) || entries < 1) throw new TypeError(`a cache bound must be a positive integer, got ${entries}`);
    this.#bound = entries;
    this.#dispose = options.dispose;
  }

  get size(): number {
    return this.#nodes.size;
  }

  has(key: K): boolean {
    return this.#nodes.has(key);
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const node = this.#nodes.get(key);
    if (node === undefined) return undefined;
    this.#toNewest(node);
    return node.value;
  }

  /** Stores `value` as the most recently used; the least recently used entry goes if the bound is passed. */
  set(key: K, value: V): this {
    const node = this.#nodes.get(key);
    if (node !== undefined) {
      const old = node.value;
      node.value = value;
      this.#toNewest(node);
      if (old !== value) this.#dispose?.(old, key, 'set');
      return this;
    }
    const added: Node<K, V> = { key, value, older: this.#tail, newer: undefined };
    if (this.#tail) this.#tail.newer = added;
    else this.#head = added;
    this.#tail = added;
    this.#nodes.set(key, added);
    if (this.#nodes.size > this.#bound) {
      const oldest = this.#head!;
      this.#unlink(oldest);
      this.#nodes.delete(oldest.key);
      this.#dispose?.(oldest.value, oldest.key, 'evict');
    }
    return this;
  }

  delete(key: K): boolean {
    const node = this.#nodes.get(key);
    if (node === undefined) return false;
    this.#unlink(node);
    this.#nodes.delete(key);
    this.#dispose?.(node.value, key, 'delete');
    return true;
  }

  /** Empties the cache, least recently used first. */
  clear(): void {
    const gone: Array<Node<K, V>> = [];
    for (let node = this.#head; node; node = node.newer) gone.push(node);
    this.#nodes.clear();
    this.#head = this.#tail = undefined;
    for (const node of gone) this.#dispose?.(node.value, node.key, 'delete');
  }

  /** Entries from the most recently used to the least, as lru-cache lists them. */
  *entries(): Generator<[K, V]> {
    for (let node = this.#tail; node; node = node.older) yield [node.key, node.value];
  }

  #toNewest(node: Node<K, V>): void {
    if (node === this.#tail) return;
    this.#unlink(node);
    node.older = this.#tail;
    node.newer = undefined;
    this.#tail!.newer = node;
    this.#tail = node;
  }

  #unlink(node: Node<K, V>): void {
    if (node.older) node.older.newer = node.newer;
    else this.#head = node.newer;
    if (node.newer) node.newer.older = node.older;
    else this.#tail = node.older;
    node.older = node.newer = undefined;
  }
}

/** A cache of at most `entries` entries (a positive integer). */
export function boundedCache<K extends {}, V extends {}>(entries: number, options: BoundedCacheOptions<K, V> = {}): BoundedCache<K, V> {
  return new BoundedCache<K, V>(entries, options);
}
