/**
 * Refresh at scale, simulated on virtual time: the real scheduler, the real refresh workers (each a
 * separate Broker, as separate Lambda instances are), the in-process refresh queue, one shared
 * in-memory store with its due-time index, and a fake provider per policy with latency, a
 * concurrency limit and a rate limit. Time advances only when every piece of work is waiting
 * (on the provider's latency, a worker's pacing, a poll, the next scheduler run), so a simulated
 * hour costs the CPU of its refreshes and nothing else.
 *
 * Used by test/simulation/refresh-at-scale.test.ts (20,000 connections, in `npm test`) and by
 * bench/scale.ts (1,000,000 connections, in `npm run bench`).
 */
import { randomBytes } from 'node:crypto';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import { MemoryProviderHealthStore } from '../../lib/adapters/memory-health-store';
import { MemoryRefreshQueue } from '../../lib/adapters/memory-refresh-queue';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import { Broker } from '../../lib/broker';
import type { BrokerConfig } from '../../lib/connections/context';
import { refreshPolicyFor, refreshWorkersFor, type RefreshBudget, type RefreshMode } from '../../lib/connections/refresh-policy';
import { REFRESH_BATCH, runBatch } from '../../lib/connections/refresh-worker';
import { seal } from '../../lib/connections/sealing';
import { connectionCreated } from '../../lib/connections/transitions';
import type { ClientCredentials } from '../../lib/model';
import type { SecretStore } from '../../lib/ports';
import { parseCatalogue } from '../../lib/providers/catalogue';
import type { ProviderInput } from '../../lib/providers/schema';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

// ---- virtual time ------------------------------------------------------------------------------

/** A clock that moves only when every task is asleep: `sleep` registers a wake-up, `run` jumps to the next one. */
export class VirtualTime {
  t: number;
  private readonly timers: Array<{ at: number; seq: number; wake: () => void }> = [];
  private seq = 0;

  constructor(start: number) {
    this.t = start;
  }

  now = (): number => this.t;

  sleep = (ms: number): Promise<void> =>
    new Promise((wake) => {
      // Whole milliseconds, as Date.now() gives: the broker relies on it (an expiry must be a safe integer).
      this.push({ at: this.t + Math.max(0, Math.ceil(ms)), seq: this.seq++, wake });
    });

  /** Runs until `until`: wakes what is due, lets it run to its next sleep, then moves the clock to the next wake-up. */
  async run(until: number): Promise<void> {
    for (;;) {
      while (this.timers.length > 0 && this.timers[0]!.at <= this.t) this.pop().wake();
      // Let everything woken run until it sleeps again (promise chains, undici's body reading): until
      // three turns of the event loop in a row add no wake-up.
      for (let stable = 0, seen = -1; stable < 3; ) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        stable = this.seq === seen ? stable + 1 : 0;
        seen = this.seq;
      }
      if (this.timers.length > 0 && this.timers[0]!.at <= this.t) continue;
      const next = this.timers[0]?.at ?? Number.POSITIVE_INFINITY;
      if (next > until) {
        this.t = until;
        return;
      }
      this.t = next;
    }
  }

  // A binary heap on (at, seq): wake-ups in time order, ties in the order they were asked for.
  private push(timer: { at: number; seq: number; wake: () => void }): void {
    const heap = this.timers;
    heap.push(timer);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): { at: number; seq: number; wake: () => void } {
    const heap = this.timers;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: { at: number; seq: number }, b: { at: number; seq: number }) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** Small seeded PRNG (mulberry32): a run replays exactly. */
export function seeded(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the fake provider --------------------------------------------------------------------------

/** What the fake provider saw of one provider key's token endpoint. */
export interface ProviderFigures {
  calls: number;
  /** Calls refused because they came over its concurrency limit or over its rate in a second. */
  overLimit: number;
  maxInFlight: number;
  /** Most calls started within one (half-open) second. */
  maxPerSecond: number;
  /** Refreshes with a refresh token that was not the live one (a double refresh, or a rotated token lost): must be 0. */
  invalidGrants: number;
}

/**
 * A token endpoint per provider key with rotating refresh tokens (a refresh token works once), the
 * latency it is given, and the limits of the budget the broker was told: a call over either is
 * answered 429 and counted, so a broken budget shows in the figures instead of passing silently.
 */
export class FakeProvider {
  readonly figures = new Map<string, ProviderFigures>();
  /** Per connection index: when its current access token expires. */
  readonly expiresAt: Float64Array;
  /** Per connection index: when its refresh token was last used (or issued). */
  readonly refreshedAt: Float64Array;
  /** Refreshes that came after the previous access token had expired (an eager connection must never). */
  readonly lateRefreshes = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  /** Per provider: start times of the calls of the last second. */
  private readonly recentStarts = new Map<string, number[]>();
  private readonly live = new Map<number, string>();
  private serial = 0;

  constructor(
    private readonly time: VirtualTime,
    connections: number,
    private readonly limits: (provider: string) => RefreshBudget,
    private readonly latencyMs: (random: number) => number,
    private readonly random: () => number,
  ) {
    this.expiresAt = new Float64Array(connections);
    this.refreshedAt = new Float64Array(connections);
  }

  /** A token set for connection `index`, living `lifetimeS`, its refresh token the only live one. */
  issue(index: number, lifetimeS: number, issuedAt: number) {
    const refresh = `rt.${index}.${lifetimeS}.${this.serial++}`;
    this.live.set(index, refresh);
    this.expiresAt[index] = issuedAt + lifetimeS * SECOND;
    this.refreshedAt[index] = issuedAt;
    return { access_token: `at.${this.serial++}`, token_type: 'bearer', expires_in: lifetimeS, refresh_token: refresh };
  }

  fetch: typeof fetch = async (url, init) => {
    const provider = new URL(String(url)).hostname.split('.')[0]!;
    const figures = this.figuresOf(provider);
    const limit = this.limits(provider);
    const now = this.time.now();
    const starts = (this.recentStarts.get(provider) ?? []).filter((at) => at > now - SECOND);
    starts.push(now);
    this.recentStarts.set(provider, starts);
    const inFlight = (this.inFlight.get(provider) ?? 0) + 1;
    this.inFlight.set(provider, inFlight);
    figures.calls++;
    figures.maxInFlight = Math.max(figures.maxInFlight, inFlight);
    figures.maxPerSecond = Math.max(figures.maxPerSecond, starts.length);
    try {
      await this.time.sleep(this.latencyMs(this.random()));
      if (inFlight > limit.concurrency || starts.length > limit.ratePerSecond) {
        figures.overLimit++;
        return json(429, { error: 'rate_limited' });
      }
      const params = new URLSearchParams(String(init?.body));
      const presented = params.get('refresh_token') ?? '';
      const [, index, lifetime] = presented.split('.');
      const i = Number(index);
      if (this.live.get(i) !== presented) {
        figures.invalidGrants++;
        return json(400, { error: 'invalid_grant' });
      }
      if (this.expiresAt[i]! <= this.time.now()) this.lateRefreshes.set(provider, (this.lateRefreshes.get(provider) ?? 0) + 1);
      return json(200, this.issue(i, Number(lifetime), this.time.now()));
    } finally {
      this.inFlight.set(provider, this.inFlight.get(provider)! - 1);
    }
  };

  private figuresOf(provider: string): ProviderFigures {
    let figures = this.figures.get(provider);
    if (!figures) this.figures.set(provider, (figures = { calls: 0, overLimit: 0, maxInFlight: 0, maxPerSecond: 0, invalidGrants: 0 }));
    return figures;
  }
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

// ---- the simulation -----------------------------------------------------------------------------

/** One kind of connection: a provider key with its policy and token lifetime, and a share of the fleet. */
export interface Cohort {
  provider: string;
  mode: RefreshMode;
  lifetimeS: number;
  /** keep_alive: its period. */
  keepAliveS?: number;
  share: number;
  /** Every connection due at the start (a backlog after an outage, or a fleet migrated at once) instead of spread over its lifetime. */
  dueAtStart?: boolean;
  /** Fraction of its connections the app uses (getToken every `useEveryS`); the rest sit unused. */
  used: number;
  useEveryS: number;
}

export interface ScaleOptions {
  connections: number;
  hours: number;
  cohorts: Cohort[];
  /** Every provider's budget (what the broker is told, and what the fake provider enforces). */
  budget: RefreshBudget;
  /** Provider latency: base + up to `jitterMs`. */
  latencyMs: number;
  jitterMs: number;
  seed?: number;
  /** Minutes between samples of queue depth kept for the time series. */
  sampleEveryMin?: number;
  /** Workers per provider queue. @default refreshWorkersFor(budget, REFRESH_BATCH), as the CDK construct sets it */
  workers?: number;
  /** How many workers each worker believes share the budget (its share is budget / this). @default workers; 1 is the control without shares */
  sharedBy?: number;
  /** Progress line every this many simulated minutes (bench); none by default. */
  progress?: (line: string) => void;
  /**
   * The simulated minute at which the scheduler's marks item is lost (deleted by hand, or a table
   * restored without it), just before that minute's run: the runs after read every cycle partition
   * whole again (docs/design.md "Limits"). 0: the fleet starts without one. Kept by default.
   */
  marksLostAtMin?: number;
}

export interface CohortFigures extends ProviderFigures {
  provider: string;
  mode: RefreshMode;
  lifetimeS: number;
  connections: number;
  workers: number;
  /** Most worker invocations (batches) busy at once. */
  maxBusyWorkers: number;
  maxQueueDepth: number;
  /** Provider calls by getToken (on demand) as opposed to by the workers. */
  onDemandCalls: number;
  /** Samples of this cohort's eager tokens found expired (must be 0 for eager), summed over scheduler runs. */
  expiredSeen: number;
  /** Refreshes that arrived after the previous access token had expired. */
  lateRefreshes: number;
  /** getToken answers whose token had expired (must be 0). */
  servedExpired: number;
  /** keep_alive: the longest a connection went without a refresh, in hours. */
  longestIdleH: number;
  /** getToken calls that failed (must be 0). */
  getTokenErrors: number;
}

export interface ScaleFigures {
  connections: number;
  hours: number;
  budget: RefreshBudget;
  latencyMs: number;
  cohorts: CohortFigures[];
  /** (minute, total queue depth) samples. */
  depthSeries: Array<[number, number]>;
  jobsSent: number;
  deadLetters: number;
  getTokenCalls: number;
  /** The first getToken error per provider, if any (for the assertion message). */
  firstErrors: Record<string, string>;
  wallMs: number;
}

/**
 * The fleet the test and the bench simulate: four providers, one per policy and lifetime. Shares
 * keep the refreshes a simulated hour costs within the test's minute; the bench sets its own.
 */
export const SCALE_COHORTS: Cohort[] = [
  // Eager, the default: every token refreshed ahead of expiry, used or not.
  { provider: 'eager-30m', mode: 'eager', lifetimeS: 1800, share: 0.1, used: 0.02, useEveryS: 600 },
  { provider: 'eager-24h', mode: 'eager', lifetimeS: 86_400, share: 0.4, used: 0.02, useEveryS: 600 },
  // HubSpot-like: refresh tokens never expire, so only getToken refreshes; one connection in ten is used.
  { provider: 'on-demand-30m', mode: 'on_demand', lifetimeS: 1800, share: 0.3, used: 0.1, useEveryS: 600 },
  // HighLevel-like (a year's idle limit), its keep-alive shortened to 4 h so the window sees it act.
  { provider: 'keep-alive-24h', mode: 'keep_alive', lifetimeS: 86_400, keepAliveS: 4 * 3600, share: 0.2, used: 0.02, useEveryS: 600 },
];

const START = Date.UTC(2026, 0, 1);

export async function runScaleSimulation(options: ScaleOptions): Promise<ScaleFigures> {
  const wallStarted = performance.now();
  const time = new VirtualTime(START);
  const random = seeded(options.seed ?? 42);
  const provider = new FakeProvider(time, options.connections, () => options.budget, (r) => Math.round(options.latencyMs + r * options.jitterMs), random);
  const catalogue = parseCatalogue(
    Object.fromEntries(
      options.cohorts.map((c): [string, ProviderInput] => [
        c.provider,
        {
          display_name: c.provider,
          auth_mode: 'OAUTH2',
          authorization_url: `https://${c.provider}.sim/authorize`,
          token_url: `https://${c.provider}.sim/token`,
          refresh_policy: c.mode,
          ...(c.keepAliveS !== undefined ? { keep_alive_s: c.keepAliveS } : {}),
          refresh_concurrency: options.budget.concurrency,
          refresh_rate_per_s: options.budget.ratePerSecond,
          secret_name: 'sim',
        },
      ]),
    ),
    'scale simulation',
  );
  const store = new MemoryConnectionStore(time);
  const health = new MemoryProviderHealthStore(time);
  const cipher = new LocalTokenCipher(randomBytes(32));
  const secrets: SecretStore = { getClientCredentials: async (): Promise<ClientCredentials> => ({ client_id: 'sim', client_secret: 'sim-secret' }) };
  const config: Partial<BrokerConfig> = { horizonMs: MINUTE, refreshSkewMs: MINUTE };
  const newBroker = (instanceId: string) =>
    new Broker({ store, health, cipher, secrets, events: new MemoryEventSink(), catalogue, clock: time, fetch: provider.fetch, random, sleep: time.sleep, instanceId }, config);

  // The fleet, in steady state: each token issued at a random point of its life, so due times spread evenly.
  const seeder = newBroker('seeder');
  const cohortOf = new Uint8Array(options.connections);
  const counts = options.cohorts.map(() => 0);
  const shares = options.cohorts.map((c) => c.share);
  const totalShare = shares.reduce((a, b) => a + b, 0);
  for (let i = 0; i < options.connections; i++) {
    let pick = random() * totalShare;
    let k = 0;
    while (pick >= shares[k]! && k < shares.length - 1) pick -= shares[k++]!;
    cohortOf[i] = k;
    counts[k]!++;
    const cohort = options.cohorts[k]!;
    const policy = refreshPolicyFor(catalogue.get(cohort.provider)!, seeder.ctx.config);
    const lifetime = cohort.lifetimeS * SECOND;
    // Issued so that the token is not due yet (eager) and the refresh token not older than its keep-alive.
    const age = cohort.dueAtStart ? lifetime * 0.85 : random() * (cohort.mode === 'keep_alive' ? Math.min(cohort.keepAliveS! * SECOND * 0.9, lifetime * 0.9) : lifetime * 0.75);
    const issuedAt = START - age;
    const body = provider.issue(i, cohort.lifetimeS, issuedAt);
    const token = { ...body, expires_at: issuedAt + lifetime };
    const id = `c${i}`;
    const sealed = await seal(cipher, { id, provider: cohort.provider }, { token });
    await store.create(connectionCreated(id, { key: cohort.provider, auth_mode: 'OAUTH2' }, { sealed, token, scopes: [], policy, random: random() }, issuedAt, seeder.ctx.config));
  }

  // A fleet in steady state has a scheduler that has been running, and its marks. Here they say every
  // turn up to an hour before the start was sent: the first run reads the hour since (and a backlog
  // cohort's overdue turns in it), keeping what the records say is due. Without marks a first run
  // would read every turn of every cycle (docs/design.md, "A schedule entry that does not move").
  await store.putScheduleMarks({ through: START - 3600 * SECOND, held: {}, version: 0 });
  const queue = new MemoryRefreshQueue({ clock: time, visibilityTimeoutMs: 6 * MINUTE, maxReceiveCount: 5 });
  // The event source mapping long-polls: an idle worker wakes when jobs arrive (or after 20 s), not on a timer of its own.
  const arrivals = new Map<string, Array<() => void>>();
  const send = queue.send.bind(queue);
  queue.send = async (jobs) => {
    await send(jobs);
    for (const provider of new Set(jobs.map((j) => j.provider))) for (const wake of arrivals.get(provider)?.splice(0) ?? []) wake();
  };
  const arrival = (provider: string) =>
    Promise.race([new Promise<void>((wake) => (arrivals.get(provider) ?? arrivals.set(provider, []).get(provider)!).push(wake)), time.sleep(20 * SECOND)]);
  const end = START + options.hours * 3600 * SECOND;
  const figures: CohortFigures[] = options.cohorts.map((c, k) => ({
    provider: c.provider,
    mode: c.mode,
    lifetimeS: c.lifetimeS,
    connections: counts[k]!,
    workers: options.workers ?? refreshWorkersFor(options.budget, REFRESH_BATCH),
    maxBusyWorkers: 0,
    maxQueueDepth: 0,
    onDemandCalls: 0,
    expiredSeen: 0,
    lateRefreshes: 0,
    servedExpired: 0,
    longestIdleH: 0,
    calls: 0,
    overLimit: 0,
    maxInFlight: 0,
    maxPerSecond: 0,
    invalidGrants: 0,
    getTokenErrors: 0,
  }));
  const depthSeries: Array<[number, number]> = [];
  let stopped = false;
  let getTokenCalls = 0;
  const firstError = new Map<string, string>();

  // The scheduler: a run every minute, as EventBridge would.
  const scheduler = newBroker('scheduler');
  const schedulerLoop = async () => {
    for (let minute = 0; !stopped; minute++) {
      // Eager tokens must never be found expired.
      const now = time.now();
      for (let i = 0; i < options.connections; i++) if (provider.expiresAt[i]! <= now && options.cohorts[cohortOf[i]!]!.mode === 'eager') figures[cohortOf[i]!]!.expiredSeen++;
      // The port has no way to delete the item (nothing in the broker should): the simulation reaches into the memory store, as an operator would into the table.
      if (minute === options.marksLostAtMin) (store as unknown as { marks: unknown }).marks = undefined;
      await scheduler.scheduleRefreshes(queue);
      // The depth just after a run is the queue's peak for the minute: what the workers must do before the next run.
      let depth = 0;
      for (const [k, cohort] of options.cohorts.entries()) {
        const d = await queue.depth(cohort.provider);
        depth += d;
        figures[k]!.maxQueueDepth = Math.max(figures[k]!.maxQueueDepth, d);
      }
      if (minute % (options.sampleEveryMin ?? 10) === 0) depthSeries.push([minute, depth]);
      if (options.progress && minute % 30 === 0) options.progress(`    t=${minute} min: queue depth after the run ${depth}, provider calls ${[...provider.figures.values()].reduce((n, f) => n + f.calls, 0)}`);
      await time.sleep(MINUTE);
    }
  };

  // The workers: per provider queue, as many as its event source mapping's maximum concurrency, each its own Broker (a Lambda instance).
  const busy = new Map<string, number>();
  const workerLoop = async (k: number, n: number, workers: number) => {
    const cohort = options.cohorts[k]!;
    const worker = newBroker(`worker-${cohort.provider}-${n}`).refreshWorker({ workers: () => workers });
    while (!stopped) {
      const jobs = await queue.receive(cohort.provider, REFRESH_BATCH);
      if (jobs.length === 0) {
        await arrival(cohort.provider);
        continue;
      }
      const now = (busy.get(cohort.provider) ?? 0) + 1;
      busy.set(cohort.provider, now);
      figures[k]!.maxBusyWorkers = Math.max(figures[k]!.maxBusyWorkers, now);
      const result = await runBatch(worker, jobs);
      busy.set(cohort.provider, busy.get(cohort.provider)! - 1);
      await queue.delete(cohort.provider, result.settled);
    }
  };

  // The app: the used connections of each cohort call getToken every `useEveryS`, spread over that period.
  const app = newBroker('app');
  const appLoop = async (k: number) => {
    const cohort = options.cohorts[k]!;
    const used: number[] = [];
    for (let i = 0; i < options.connections; i++) if (cohortOf[i] === k && random() < cohort.used) used.push(i);
    if (used.length === 0) return;
    const gap = (cohort.useEveryS * SECOND) / used.length;
    for (let n = 0; !stopped; n = (n + 1) % used.length) {
      const i = used[n]!;
      const callsBefore = provider.figures.get(cohort.provider)?.calls ?? 0;
      getTokenCalls++;
      try {
        const token = await app.getToken(`c${i}`);
        if (Date.parse(token.expires_at!) <= time.now()) figures[k]!.servedExpired++;
      } catch (err) {
        if (figures[k]!.getTokenErrors++ === 0) firstError.set(cohort.provider, err instanceof Error ? `${err.name}: ${err.message}` : String(err));
      }
      figures[k]!.onDemandCalls += (provider.figures.get(cohort.provider)?.calls ?? 0) - callsBefore;
      await time.sleep(gap);
    }
  };

  const loops: Array<Promise<void>> = [schedulerLoop()];
  for (const [k] of options.cohorts.entries()) {
    for (let n = 0; n < figures[k]!.workers; n++) loops.push(workerLoop(k, n, options.sharedBy ?? figures[k]!.workers));
    loops.push(appLoop(k));
  }
  await time.run(end);
  stopped = true;
  // Finish what is in flight (no new work starts once stopped).
  await time.run(end + 5 * MINUTE);
  await Promise.all(loops);

  for (const [k, cohort] of options.cohorts.entries()) {
    const seen = provider.figures.get(cohort.provider) ?? { calls: 0, overLimit: 0, maxInFlight: 0, maxPerSecond: 0, invalidGrants: 0 };
    Object.assign(figures[k]!, seen, { lateRefreshes: provider.lateRefreshes.get(cohort.provider) ?? 0 });
    if (cohort.mode === 'keep_alive') {
      let longest = 0;
      for (let i = 0; i < options.connections; i++) if (cohortOf[i] === k) longest = Math.max(longest, end - provider.refreshedAt[i]!);
      figures[k]!.longestIdleH = longest / 3600_000;
    }
  }
  return {
    connections: options.connections,
    hours: options.hours,
    budget: options.budget,
    latencyMs: options.latencyMs,
    cohorts: figures,
    depthSeries,
    jobsSent: [...queue.sent.values()].reduce((a, b) => a + b, 0),
    deadLetters: queue.deadLetters.length,
    getTokenCalls,
    firstErrors: Object.fromEntries(firstError),
    wallMs: performance.now() - wallStarted,
  };
}
