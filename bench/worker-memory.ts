/**
 * (h) hot-path: a warm `getToken` against a bare `Map.get`, in one process, one run.
 * (i) memory: one worker refreshing 100,000 connections; heap before, after and at its peak.
 *
 * Both run the real TokenService in-process on stand-ins that hold nothing per connection, so
 * that what grows is the worker's own memory: a store that makes each record when asked (its
 * token set sealed for that connection with the real local cipher) and keeps only a counter, and
 * a provider answered by an injected `fetch` without HTTP. The cache bound is the broker's own
 * (`tokenCacheSize`); the same run without a bound that matters (a cache larger than the run)
 * shows what an unbounded cache costs.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LocalTokenCipher } from '../lib/adapters/local-cipher';
import { MemoryProviderHealthStore } from '../lib/adapters/memory-health-store';
import { MemoryEventSink } from '../lib/adapters/log-sink';
import { Broker } from '../lib/broker';
import { DEFAULT_CONFIG } from '../lib/connections/context';
import { seal } from '../lib/connections/sealing';
import { shardOf } from '../lib/connections/transitions';
import type { ConnectionRecord, InstallState, KeyCheck } from '../lib/model';
import type { Clock, ConnectionStore, CyclePage, DuePage, Page, RecordChanges, ScheduleMarks } from '../lib/ports';
import { FAULT_CLIENT, StaticSecrets, faultCatalogue } from '../test/support/fault-broker';
import type { FaultProvider } from '../test/support/fault-provider';
import { connectionIds, runPool } from './support/fixtures';
import { Checks, envInt, heading, printTable, round } from './support/report';

const PROVIDER = 'fault';
/** Never connected to: the injected `fetch` answers every token request. */
const PROVIDER_URL = 'https://provider.invalid';

/** A frozen clock the bench moves by hand. */
class StepClock implements Clock {
  t = Date.UTC(2030, 0, 1);
  now = (): number => this.t;
}

/**
 * A ConnectionStore that keeps nothing per connection: `get` makes the record (a 1-hour token,
 * sealed for the id), `update` checks nothing and returns the record as written. Enough for the
 * refresh path of connections each touched by one worker.
 */
class GeneratedStore implements ConnectionStore {
  reads = 0;
  writes = 0;
  constructor(
    private readonly clock: StepClock,
    private readonly sealedFor: (id: string) => Promise<string>,
    private readonly expiresIn: number,
  ) {}

  async get(id: string): Promise<ConnectionRecord | undefined> {
    this.reads++;
    const issued = this.clock.now() - 3_000_000;
    return {
      id,
      provider: PROVIDER,
      authMode: 'OAUTH2',
      status: 'active',
      scopes: ['contacts', 'offline_access'],
      sealed: await this.sealedFor(id),
      tokenGen: 1,
      expiresAt: issued + this.expiresIn,
      refreshDueAt: issued + this.expiresIn - 600_000,
      shard: shardOf(id, DEFAULT_CONFIG.shards),
      version: 1,
      failureCount: 0,
      lastRefreshAt: issued,
      createdAt: issued,
      updatedAt: issued,
    };
  }
  async update(id: string, expectedVersion: number, changes: RecordChanges): Promise<ConnectionRecord> {
    this.writes++;
    const record = (await this.get(id))!;
    const next: Record<string, unknown> = { ...record, ...changes.set, version: expectedVersion + 1 };
    for (const field of changes.remove ?? []) delete next[field];
    return next as unknown as ConnectionRecord;
  }
  async create(record: ConnectionRecord): Promise<ConnectionRecord> {
    return record;
  }
  async list(): Promise<Page<ConnectionRecord>> {
    return { items: [] };
  }
  async listDue(): Promise<DuePage> {
    return { items: [] };
  }
  async listCycle(): Promise<CyclePage> {
    return { items: [] };
  }
  async dueTimes(): Promise<Map<string, number>> {
    return new Map();
  }
  async getScheduleMarks(): Promise<ScheduleMarks | undefined> {
    return undefined;
  }
  async putScheduleMarks(): Promise<boolean> {
    return true;
  }
  async putState(_state: InstallState): Promise<void> {}
  async consumeState(): Promise<InstallState | undefined> {
    return undefined;
  }
  async claimInstallLink(): Promise<boolean> {
    return true;
  }
  async releaseInstallLink(): Promise<void> {}
  async isInstallLinkUsed(): Promise<boolean> {
    return false;
  }
  async getKeyCheck(): Promise<KeyCheck | undefined> {
    return undefined;
  }
  async putKeyCheck(): Promise<boolean> {
    return true;
  }
}

/** The provider's token endpoint, answered in-process: a fresh 1-hour token set per call. */
function providerFetch(clock: StepClock): { fetch: typeof fetch; calls: () => number } {
  let calls = 0;
  const fetchStub: typeof fetch = async () => {
    calls++;
    const body = { access_token: randomBytes(24).toString('base64url'), refresh_token: randomBytes(24).toString('base64url'), token_type: 'Bearer', expires_in: 3600 };
    void clock;
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { fetch: fetchStub, calls: () => calls };
}

/** A broker over the generated store: the real TokenService, local cipher, in-memory health. */
function generatedBroker(config: { tokenCacheSize: number }) {
  const clock = new StepClock();
  const cipher = new LocalTokenCipher(randomBytes(32));
  const sealedFor = (id: string) =>
    seal(cipher, { id, provider: PROVIDER }, { token: { access_token: `at-${id}`, token_type: 'Bearer', refresh_token: `rt-${id}`, expires_at: clock.now() + 600_000 } });
  const store = new GeneratedStore(clock, sealedFor, 3_600_000);
  const provider = providerFetch(clock);
  // The fault catalogue's entry, pointed at the in-process endpoint (no server is started).
  const catalogue = faultCatalogue({ url: PROVIDER_URL, authorizeUrl: `${PROVIDER_URL}/authorize`, tokenUrl: `${PROVIDER_URL}/token` } as FaultProvider);
  const broker = new Broker(
    {
      store,
      health: new MemoryProviderHealthStore(clock),
      cipher,
      secrets: new StaticSecrets({ fault: FAULT_CLIENT }),
      events: new MemoryEventSink(),
      catalogue,
      clock,
      instanceId: 'bench-worker',
      fetch: provider.fetch,
    },
    config,
  );
  return { broker, store, clock, provider };
}

// ---- (h) hot path --------------------------------------------------------------------------

export interface HotPathFigures {
  connections: number;
  calls: number;
  map_get_ns: number;
  /** The call itself: on a warm hit it returns a promise made when the token was cached. */
  get_token_call_ns: number;
  /** The call and the caller's `await` of it. */
  get_token_await_ns: number;
  /** The same `await` of an already-resolved promise, without getToken: what any async API costs its caller. */
  await_alone_ns: number;
  ratio_call: number;
  ratio_await: number;
}

/** Mean ns per operation of `op(i)` over `n` calls, after a warm-up; the sum defeats dead-code elimination. */
async function nsPerOp(n: number, op: (i: number) => unknown, awaitEach: boolean): Promise<number> {
  let sink = 0;
  for (let i = 0; i < 50_000; i++) sink += awaitEach ? ((await op(i)) ? 1 : 0) : op(i) ? 1 : 0;
  const started = performance.now();
  for (let i = 0; i < n; i++) sink += awaitEach ? ((await op(i)) ? 1 : 0) : op(i) ? 1 : 0;
  const elapsed = performance.now() - started;
  if (sink < 0) console.log(sink);
  return (elapsed * 1e6) / n;
}

export async function benchHotPath(checks: Checks): Promise<HotPathFigures> {
  // The whole default cache warm: every call is a hit in lru-cache (which moves the entry to the front).
  const connections = DEFAULT_CONFIG.tokenCacheSize;
  const calls = envInt('BENCH_HOT_CALLS', 2_000_000);
  heading(`(h) Hot path: warm getToken vs a bare Map.get (${connections} warm connections, cache ${DEFAULT_CONFIG.tokenCacheSize}, ${calls} calls each)`);
  const { broker, store } = generatedBroker({ tokenCacheSize: DEFAULT_CONFIG.tokenCacheSize });
  const ids = connectionIds('hot', connections);
  await runPool(ids, 50, async (id) => {
    await broker.getToken(id);
  });
  const readsAfterWarmUp = store.reads;
  const map = new Map(ids.map((id) => [id, { access_token: id }]));
  const resolved = new Map(ids.map((id) => [id, Promise.resolve({ access_token: id })]));

  // Alternate a few times and keep each one's best, so drifting load on the shared machine hits all alike.
  const best = { map: Infinity, call: Infinity, awaited: Infinity, awaitAlone: Infinity };
  for (let round = 0; round < 3; round++) {
    best.map = Math.min(best.map, await nsPerOp(calls, (i) => map.get(ids[i % connections]!), false));
    best.call = Math.min(best.call, await nsPerOp(calls, (i) => broker.getToken(ids[i % connections]!), false));
    best.awaited = Math.min(best.awaited, await nsPerOp(calls, (i) => broker.getToken(ids[i % connections]!), true));
    best.awaitAlone = Math.min(best.awaitAlone, await nsPerOp(calls, (i) => resolved.get(ids[i % connections]!), true));
  }
  const warm = checks.expect(store.reads === readsAfterWarmUp, 'warm getToken reads nothing from the store');
  const x = (ns: number) => (ns / best.map).toFixed(1);
  printTable(
    ['operation', 'ns/call', 'x Map.get'],
    [
      [`Map.get (${connections} string keys, cycled)`, best.map.toFixed(1), '1.0'],
      ['broker.getToken(id), warm: the call', best.call.toFixed(1), x(best.call)],
      ['await broker.getToken(id), warm', best.awaited.toFixed(1), x(best.awaited)],
      ['await of a resolved promise from a Map (no getToken)', best.awaitAlone.toFixed(1), x(best.awaitAlone)],
    ],
  );
  console.log(`  store reads during the timed calls: ${store.reads - readsAfterWarmUp} (${warm}). Target: the warm call <= 5x Map.get. Best of 3 alternating rounds.`);
  console.log('  The await is the caller\'s, paid for any async API (last row); a warm getToken returns a promise made when the token was cached.');
  return {
    connections,
    calls,
    map_get_ns: round(best.map, 1),
    get_token_call_ns: round(best.call, 1),
    get_token_await_ns: round(best.awaited, 1),
    await_alone_ns: round(best.awaitAlone, 1),
    ratio_call: round(best.call / best.map, 2),
    ratio_await: round(best.awaited / best.map, 2),
  };
}

// ---- (i) memory ----------------------------------------------------------------------------

export interface MemoryRun {
  label: string;
  token_cache_size: number;
  refreshes: number;
  heap_before_mb: number;
  heap_after_mb: number;
  heap_peak_mb: number;
  /** Heap after minus before, per 1,000 refreshes past the first sample. */
  growth_kb_per_1000: number;
}

export interface MemoryFigures {
  runs: MemoryRun[];
}

/** A function that runs a full GC, when V8 lets us have one. */
function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  return gc ?? (() => undefined);
}

export async function benchMemory(checks: Checks): Promise<MemoryFigures> {
  const refreshes = envInt('BENCH_MEMORY_N', 100_000);
  heading(`(i) Memory: one worker refreshes ${refreshes.toLocaleString('en-US')} connections (heap after a full GC)`);
  const gc = gcFunction();
  const runs: MemoryRun[] = [];
  for (const [label, size] of [
    ['bounded (tokenCacheSize default, 10,000)', DEFAULT_CONFIG.tokenCacheSize],
    ['unbounded for this run (tokenCacheSize > connections)', refreshes * 2],
  ] as const) {
    runs.push(await memoryRun(label, size, refreshes, gc, checks));
  }
  printTable(
    ['warm cache', 'refreshes', 'heap before', 'after', 'peak', 'growth per 1,000 refreshes'],
    runs.map((r) => [r.label, r.refreshes.toLocaleString('en-US'), `${r.heap_before_mb} MB`, `${r.heap_after_mb} MB`, `${r.heap_peak_mb} MB`, `${r.growth_kb_per_1000} KB`]),
  );
  console.log('  "before": after the first 10,000 refreshes (the cache full, the code warm); samples every 10,000 after a full GC.');
  console.log('  Flights, unsaved token sets (LRU, 10,000), the circuit (per provider), data keys (per provider; LRU of decrypted ones): bounded.');
  return { runs };
}

async function memoryRun(label: string, tokenCacheSize: number, total: number, gc: () => void, checks: Checks): Promise<MemoryRun> {
  const { broker, provider, clock } = generatedBroker({ tokenCacheSize });
  const ids = (i: number) => `mem-${i}`;
  const heap = () => {
    gc();
    return process.memoryUsage().heapUsed / 1024 / 1024;
  };
  const dueBy = clock.now() + 60_000;
  const refreshBatch = async (from: number, to: number) => {
    const batch = Array.from({ length: to - from }, (_, k) => from + k);
    await runPool(batch, 50, async (i) => {
      await broker.tokens.refreshScheduled(ids(i), dueBy);
    });
  };
  const warmUp = Math.min(10_000, total);
  await refreshBatch(0, warmUp);
  const before = heap();
  let peak = before;
  for (let done = warmUp; done < total; ) {
    const next = Math.min(total, done + 10_000);
    await refreshBatch(done, next);
    done = next;
    peak = Math.max(peak, heap());
  }
  const after = heap();
  checks.expect(provider.calls() === total, `memory (${label}): one provider call per refresh (${provider.calls()} for ${total})`);
  return {
    label,
    token_cache_size: tokenCacheSize,
    refreshes: total,
    heap_before_mb: round(before, 1),
    heap_after_mb: round(after, 1),
    heap_peak_mb: round(peak, 1),
    growth_kb_per_1000: round(((after - before) * 1024) / ((total - warmUp) / 1000), 1),
  };
}
