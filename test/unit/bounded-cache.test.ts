/**
 * lib/bounded-cache.ts is our own least-recently-used cache (lru-cache cost the cold start; see its
 * comment). The claim in that comment — it behaves as lru-cache — proven against lru-cache's own `max`
 * mode: any sequence of operations gives the same answers, leaves the same entries in the same order
 * and disposes the same entries for the same reasons (the token service logs on 'evict'; the KMS
 * cipher zeroes a key on every dispose).
 */
import fc from 'fast-check';
import { LRUCache } from 'lru-cache';
import { describe, expect, it } from 'vitest';
import { boundedCache, type BoundedCache } from '../../lib/bounded-cache';

type Op = { kind: 'set'; key: number; value: number } | { kind: 'get'; key: number } | { kind: 'delete'; key: number } | { kind: 'clear' } | { kind: 'set-same'; key: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.nat(12), value: fc.nat(1_000) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('get' as const), key: fc.nat(12) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.nat(12) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
  // The value already stored, set again: lru-cache disposes nothing then.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('set-same' as const), key: fc.nat(12) }) },
);

/** Runs `ops` on a cache and returns what an observer sees: each get's answer, the disposals, the final entries in LRU order. */
function observe(cache: LRUCache<number, { value: number }> | BoundedCache<number, { value: number }>, disposed: string[], ops: Op[]) {
  const answers: Array<number | undefined> = [];
  for (const o of ops) {
    if (o.kind === 'set') cache.set(o.key, { value: o.value });
    else if (o.kind === 'get') answers.push(cache.get(o.key)?.value);
    else if (o.kind === 'delete') cache.delete(o.key);
    else if (o.kind === 'set-same') {
      const current = cache.get(o.key);
      if (current !== undefined) cache.set(o.key, current);
    } else cache.clear();
  }
  return { answers, disposed, entries: [...cache.entries()].map(([key, { value }]) => [key, value]), size: cache.size };
}

describe('boundedCache', () => {
  it("keeps, returns and disposes exactly what lru-cache's max mode does", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 120 }), (bound, ops) => {
        const byMax: string[] = [];
        const bySize: string[] = [];
        const record = (log: string[]) => (value: { value: number }, key: number, reason: string) => log.push(`${key}=${value.value}:${reason}`);
        const expected = observe(new LRUCache({ max: bound, dispose: record(byMax) }), byMax, ops);
        const actual = observe(boundedCache(bound, { dispose: record(bySize) }), bySize, ops);
        expect(actual).toEqual(expected);
        expect(actual.size).toBeLessThanOrEqual(bound);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a bound that is not a positive integer, as max did', () => {
    for (const bound of [0, -1, 1.5, Number.NaN]) expect(() => boundedCache(bound)).toThrow(TypeError);
  });
});
