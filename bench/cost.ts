/**
 * (j) Cost: AWS requests and dollars per connection-month, per token lifetime and refresh policy,
 * from counted calls and public on-demand prices.
 *
 * Every case runs the real refresh path against Amazon's DynamoDB Local (the one engine that
 * reports the capacity units a write costs in each index: `ReturnConsumedCapacity: INDEXES` is set
 * on every command by a middleware, which adds up what comes back) and KMS on loopback
 * (support/kms-server.ts, counted where the requests land; the real `KmsTokenCipher` with cached
 * data keys). A fleet of `BENCH_COST_WORKERS` broker instances refreshes `BENCH_COST_N` connections
 * (each with its own rotating grant at the fault provider) over `BENCH_COST_CYCLES` token lifetimes
 * on a clock moved from one scheduler run to the next. Counted: every request and unit, per refresh.
 * Refreshes per connection-month come from the stored records (`tokenGen` and `lastRefreshAt`), that
 * is, from the policy code's own timing, not from a formula.
 *
 * Then, per lifetime and policy: requests × price, with each line's arithmetic; the floor (the
 * refreshes a token's lifetime forces, each one DynamoDB write of the new token and nothing else);
 * and the targets (issue 10: ≤ $0.005 for eager 30-minute tokens, ≤ $0.0003 for 24-hour tokens).
 * A second table measures CPU per refresh: KMS over the SDK, the local cipher, and the SDK with
 * the middleware a refresh does not need removed.
 *
 * Knobs: BENCH_COST_N (200), BENCH_COST_WORKERS (2), BENCH_COST_CYCLES (3), BENCH_COST_FLEET
 * (1,000,000: what the fleet-wide fixed costs are shared by), BENCH_COST_PROVIDER_MS (200: provider
 * latency a worker's Lambda waits for), BENCH_COST_LAMBDA_MB (512, the CDK default).
 */
import { KMSClient } from '@aws-sdk/client-kms';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { performance } from 'node:perf_hooks';
import { ensureTable } from '../lib/adapters/dynamodb-admin';
import { DynamoDbConnectionStore } from '../lib/adapters/dynamodb-store';
import { KmsTokenCipher } from '../lib/adapters/kms-cipher';
import { LocalTokenCipher } from '../lib/adapters/local-cipher';
import type { Broker } from '../lib/broker';
import { DEFAULT_CONFIG } from '../lib/connections/context';
import { localDynamoClient } from '../lib/local/dynalite';
import type { ConnectionRecord } from '../lib/model';
import type { Clock, RefreshQueue, TokenCipher } from '../lib/ports';
import { SqsRefreshQueue } from '../lib/adapters/sqs-refresh-queue';
import { refreshPolicyOf } from '../lib/connections/context';
import { cyclePeriodFor } from '../lib/connections/refresh-policy';
import { REFRESH_BATCH, runBatch } from '../lib/connections/refresh-worker';
import type { ProviderInput } from '../lib/providers/schema';
import { fakeSqs } from '../test/support/fake-sqs';
import { dynamoDbLocalMissing, startDynamoDbLocal } from '../test/support/dynamodb-local';
import { BenchClock, PROVIDER_KEY, benchBroker, connectionIds, runPool, seedConnections } from './support/fixtures';
import { startKmsServer, type KmsServer } from './support/kms-server';
import { startProviderProcess } from './support/provider-process';
import type { BenchDynamo } from './support/local-dynamo';
import { Checks, envInt, heading, printTable, round } from './support/report';

// ---- prices ---------------------------------------------------------------------------------

/**
 * Public on-demand prices, us-east-1, without free tiers (a fleet of this size is past them),
 * looked up on 2026-11-30. The official page is named first; where our search corpus held only an
 * older copy of it, the figure was read from the second source, which quotes the current page.
 */
export const PRICES = {
  dynamodbWriteUnit: {
    usd: 0.625 / 1e6,
    what: 'DynamoDB on-demand write request unit',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.625 per million WRU since the 50 % cut of 1 Nov 2024, read via https://airbyte.com/data-engineering-resources/dynamodb-pricing)',
  },
  dynamodbReadUnit: {
    usd: 0.125 / 1e6,
    what: 'DynamoDB on-demand read request unit',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.125 per million RRU, same source)',
  },
  kmsRequest: {
    usd: 0.03 / 1e4,
    what: 'KMS request (symmetric: GenerateDataKey, Decrypt)',
    source: 'https://aws.amazon.com/kms/pricing/ ($0.03 per 10,000 requests; also https://www.wring.co/blog/aws-kms-pricing-guide)',
  },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    what: 'Lambda duration, Arm (the CDK deploys arm64), per GB-s',
    source: 'https://aws.amazon.com/lambda/pricing/ ($0.0000133334 per GB-s, first 7.5 billion GB-s; read via https://cloudchipr.com/blog/aws-lambda-pricing)',
  },
  lambdaRequest: {
    usd: 0.2 / 1e6,
    what: 'Lambda request',
    source: 'https://aws.amazon.com/lambda/pricing/ ($0.20 per million requests)',
  },
  sqsRequest: {
    usd: 0.4 / 1e6,
    what: 'SQS standard queue request (per 64 KB chunk)',
    source: 'https://aws.amazon.com/sqs/pricing/ ($0.40 per million, first 100 billion a month; read via https://cloudburn.io/blog/amazon-sqs-pricing)',
  },
} as const;

/** Issue 10's targets, per connection-month. */
const TARGETS: ReadonlyArray<{ policy: RefreshMode; lifetimeS: number; usd: number }> = [
  { policy: 'eager', lifetimeS: 1800, usd: 0.005 },
  { policy: 'eager', lifetimeS: 86_400, usd: 0.0003 },
];

const MONTH_MS = 30 * 24 * 3_600_000;
/**
 * A fenced refresh's writes: the lease (1) and the commit (1); an entry kept by due time is moved too
 * (delete + put: 2 more), one on a cycle is not (docs/design.md, "A schedule entry that does not move").
 */
function designWriteUnits(costCase: CostCase): number {
  if (costCase.policy === 'on_demand') return 2;
  if (costCase.policy === 'keep_alive') return 4;
  return cyclePeriodFor({ lifetimeMs: costCase.lifetimeS * 1000, skewMs: DEFAULT_CONFIG.refreshSkewMs, config: DEFAULT_CONFIG }) !== undefined ? 2 : 4;
}
/** A Lambda function gets one full vCPU at 1,769 MB and a share in proportion below that. */
const FULL_VCPU_MB = 1769;
const KEY_ID = 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-00000000c057';
const AWS_CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

// ---- counting -------------------------------------------------------------------------------

export interface Counted {
  /** Requests and capacity units by DynamoDB operation. */
  dynamodb: Record<string, { requests: number; readUnits: number; writeUnits: number }>;
  kms: Record<'GenerateDataKey' | 'Decrypt', number>;
  /** SQS requests by operation (the scheduler's sends and depth reads, the event source mapping's receives and deletes). */
  sqs: Record<string, number>;
  /** Worker function invocations (batches). */
  workerInvocations: number;
}

const emptyCounted = (): Counted => ({ dynamodb: {}, kms: { GenerateDataKey: 0, Decrypt: 0 }, sqs: {}, workerInvocations: 0 });

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

type Capacity = { CapacityUnits?: number };

/** Adds `ReturnConsumedCapacity: INDEXES` to every command of `client` and adds up the units DynamoDB reports (table and indexes). */
function countCapacity(client: DynamoDBClient, counted: () => Counted): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'INDEXES';
      const entry = (counted().dynamodb[operation] ??= { requests: 0, readUnits: 0, writeUnits: 0 });
      entry.requests++;
      try {
        const result = await next(args);
        const reported = (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
        const units = (Array.isArray(reported) ? reported : reported ? [reported] : []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
        if (WRITES.has(operation)) entry.writeUnits += units;
        else entry.readUnits += units;
        return result;
      } catch (err) {
        // A refused conditional write is billed, but the error carries no capacity: one unit (items here fit one).
        if (WRITES.has(operation) && (err as { name?: string }).name === 'ConditionalCheckFailedException') entry.writeUnits += 1;
        throw err;
      }
    },
    { step: 'initialize', name: 'benchCapacityCounter' },
  );
}

/** The middleware of the SDK's default stack a refresh can do without: logging (ours is elsewhere), the user agent, X-Ray trace propagation. */
const SPARE_MIDDLEWARE = ['loggerMiddleware', 'getUserAgentMiddleware', 'recursionDetectionMiddleware'];

function dropSpareMiddleware(client: { middlewareStack: { remove(name: string): boolean } }): void {
  for (const name of SPARE_MIDDLEWARE) client.middlewareStack.remove(name);
}

// ---- policies and drivers -------------------------------------------------------------------

/** Refresh policies as the provider catalogue names them (issue 10, part a). */
export type RefreshMode = 'eager' | 'on_demand' | 'keep_alive';

/** One row of the cost table: a token lifetime under a policy, with how the connection is used. */
export interface CostCase {
  policy: RefreshMode;
  lifetimeS: number;
  /** Seconds between an app's `getToken` calls for each connection; undefined: nobody asks (idle). */
  useEveryS?: number;
  /** `keep_alive` only: the longest a connection goes without a refresh. */
  keepAliveS?: number;
}

/**
 * The refresh path a fleet runs, one scheduler period at a time. It is built per case, so a
 * policy the code does not have yet is reported as not measured instead of measured wrong.
 */
interface RefreshFleet {
  /** How often the scheduler runs. */
  periodMs: number;
  /** One scheduler period: what is due is refreshed by the fleet's workers (counted into `counted`). */
  tick(): Promise<void>;
  /** An app asks each connection for its token. */
  use(ids: readonly string[]): Promise<void>;
}

interface FleetSetup {
  /** The refresh workers (one broker instance each, as one Lambda container each). */
  workers: Broker[];
  /** The scheduler function's instance. */
  scheduler: Broker;
  /** An app's instance calling getToken. */
  app: Broker;
  clock: Clock;
  counted: () => Counted;
}

/** SQS, faked (no SQS engine runs here), with every request the adapter sends counted where it leaves. */
function countedSqsQueue(clock: Clock, counted: () => Counted): RefreshQueue {
  const sqs = fakeSqs({ clock, visibilityTimeoutMs: 60_000, maxReceiveCount: 5 });
  const send = sqs.client.send.bind(sqs.client) as (command: object) => Promise<unknown>;
  (sqs.client as unknown as { send: (command: object) => Promise<unknown> }).send = (command) => {
    const operation = command.constructor.name.replace(/Command$/, '');
    counted().sqs[operation] = (counted().sqs[operation] ?? 0) + 1;
    return send(command);
  };
  return new SqsRefreshQueue({ queueUrls: { [PROVIDER_KEY]: 'https://sqs.us-east-1.amazonaws.com/111122223333/cost-fault' }, client: sqs.client, sleep: async () => undefined });
}

/**
 * The fleet as deployed: each period the scheduler sends what is due to the provider's queue, and
 * each worker drains it as its event source mapping would (receive a batch of ten, refresh it,
 * delete what settled; one invocation per batch). Apps call getToken on their own instance.
 */
function fleetFor(setup: FleetSetup): RefreshFleet {
  const queue = countedSqsQueue(setup.clock, setup.counted);
  const workers = setup.workers.map((broker) => broker.refreshWorker({ workers: () => setup.workers.length }));
  return {
    periodMs: DEFAULT_CONFIG.refreshPolicy.schedulerIntervalMs,
    async tick() {
      await setup.scheduler.scheduleRefreshes(queue);
      await Promise.all(
        workers.map(async (worker) => {
          for (;;) {
            const jobs = await queue.receive(PROVIDER_KEY, REFRESH_BATCH);
            if (jobs.length === 0) return;
            setup.counted().workerInvocations++;
            const result = await runBatch(worker, jobs);
            if (result.settled.length > 0) await queue.delete(PROVIDER_KEY, result.settled);
          }
        }),
      );
    },
    async use(ids) {
      for (const id of ids) await setup.app.getToken(id);
    },
  };
}

/** The catalogue fields that set the fault provider's refresh policy for a case. */
function policyFields(costCase: CostCase): Record<string, Partial<ProviderInput>> {
  return { fault: { refresh_policy: costCase.policy, ...(costCase.keepAliveS === undefined ? {} : { keep_alive_s: costCase.keepAliveS }) } };
}

// ---- one case ---------------------------------------------------------------------------------

export interface CaseFigures extends CostCase {
  status: 'measured' | 'not measured';
  note?: string;
  connections: number;
  refreshes: number;
  /** Mean time between two refreshes of a connection, from the stored records. */
  interval_s: number;
  refreshes_per_month: number;
  per_refresh: { dynamodb_requests: number; read_units: number; write_units: number; kms: number; sqs: number; worker_invocations: number };
  /** Per refresh, by DynamoDB operation: requests and the units they consumed. */
  dynamodb_by_operation: Record<string, { requests: number; units: number }>;
  kms_by_operation: Record<string, number>;
  /** CPU of this process per refresh while the fleet ran (broker, SDK, the fault provider; DynamoDB Local and its JVM apart). */
  cpu_ms_per_refresh: number;
  /** The CPU per refresh the Lambda line is priced with (the steadier figure of the CPU table). */
  lambda_cpu_ms_per_refresh: number;
  /** One scheduler run that found nothing due: the fleet's fixed cost per period. */
  empty_period: { dynamodb_requests: number; read_units: number; sqs: number };
  usd: CostLines;
  /** Any broker: one write of the new token per lifetime, nothing else. */
  floor_usd: number;
  /** This design: per lifetime, one fenced refresh (lease, commit, schedule entry moved: 4 WRU), nothing else. */
  design_floor_usd: number;
}

interface CostLines {
  dynamodb: number;
  kms: number;
  lambda: number;
  sqs: number;
  fixed: number;
  total: number;
}

interface CaseEnvironment {
  dynamo: BenchDynamo;
  kms: KmsServer;
  connections: number;
  workers: number;
  cycles: number;
  cipher: 'kms' | 'local';
  leanSdk: boolean;
}

async function runCase(costCase: CostCase, env: CaseEnvironment): Promise<{ counted: Counted; empty: Counted; refreshes: number; intervalMs: number; cpuMs: number }> {
  const clock = new BenchClock();
  // In its own process: its CPU is not the broker's (a worker's Lambda does not host the provider).
  const provider = await startProviderProcess({ expiresIn: costCase.lifetimeS });
  try {
    const tableName = await env.dynamo.newTable();
    let counted = emptyCounted();
    const kmsClient = () => {
      const client = new KMSClient({ endpoint: env.kms.endpoint, region: 'us-east-1', credentials: AWS_CREDENTIALS });
      if (env.leanSdk) dropSpareMiddleware(client);
      return client;
    };
    const cipherFor = (): TokenCipher => (env.cipher === 'kms' ? new KmsTokenCipher({ keyId: KEY_ID, client: kmsClient(), clock }) : new LocalTokenCipher(new Uint8Array(32).fill(7)));
    const catalogueExtra = policyFields(costCase);
    const instance = (name: string) => {
      const { broker, client } = benchBroker({ dynamo: env.dynamo, tableName, provider, clock, cipher: cipherFor(), instanceId: `cost-${name}`, catalogueExtra });
      countCapacity(client, () => counted);
      if (env.leanSdk) dropSpareMiddleware(client);
      return broker;
    };
    const workers = Array.from({ length: env.workers }, (_, i) => instance(`worker-${i}`));
    const scheduler = instance('scheduler');
    const app = instance('app');
    const fleet = fleetFor({ workers, scheduler, app, clock, counted: () => counted });
    // Each installed connection scheduled as an install leaves it, by the provider's policy (on a cycle where its lifetime fits one).
    const policy = refreshPolicyOf(scheduler.ctx, PROVIDER_KEY);

    // Installs (not counted): what the callback function leaves, sealed by another instance's cipher.
    const store = new DynamoDbConnectionStore({ tableName, client: env.dynamo.client(), clock });
    const ids = connectionIds(`cost-${costCase.policy}-${costCase.lifetimeS}`, env.connections);
    await provider.prepareCodes(ids.length);
    await seedConnections({ store, cipher: cipherFor(), provider, clock, ids, policy });

    // The scheduler's first run (not counted): with no marks yet it reads every cycle turn once.
    await fleet.tick();
    counted = emptyCounted();
    // The fixed cost of a period: one scheduler run with nothing due.
    clock.advance(fleet.periodMs);
    await fleet.tick();
    const empty = counted;
    counted = emptyCounted();
    env.kms.calls.GenerateDataKey = 0;
    env.kms.calls.Decrypt = 0;

    const started = clock.now();
    const horizon = started + env.cycles * 1000 * Math.max(costCase.lifetimeS, costCase.keepAliveS ?? 0);
    let cpuMicros = 0;
    let nextUse = costCase.useEveryS === undefined ? Number.POSITIVE_INFINITY : started;
    let lastTick = started;
    let due = Number.POSITIVE_INFINITY;
    let writesSeen = -1;
    while (clock.now() < horizon) {
      // Move to the next period in which something happens: a connection due, or an app's call.
      // The records are read again (uncounted) only when a counted write may have moved a due time.
      const writes = sumOf(Object.entries(counted.dynamodb).filter(([name]) => WRITES.has(name)).map(([, d]) => d.requests));
      if (writes !== writesSeen) {
        writesSeen = writes;
        due = await earliestDue(store, ids);
      }
      const onGrid = due === Number.POSITIVE_INFINITY ? due : started + Math.ceil((due - started) / fleet.periodMs) * fleet.periodMs;
      const nextTick = Math.max(lastTick + fleet.periodMs, onGrid);
      const target = Math.min(nextTick, nextUse);
      if (target >= horizon) break;
      clock.advance(target - clock.now());
      const cpu = process.cpuUsage();
      if (target === nextUse) {
        await fleet.use(ids);
        nextUse += costCase.useEveryS! * 1000;
      }
      if (target === nextTick) {
        await fleet.tick();
        lastTick = target;
      }
      const used = process.cpuUsage(cpu);
      cpuMicros += used.user + used.system;
    }
    counted.kms = { ...env.kms.calls };

    const records = await readAll(store, ids);
    const refreshed = records.filter((r) => r.tokenGen > 1);
    const refreshes = refreshed.reduce((sum, r) => sum + r.tokenGen - 1, 0);
    const intervalMs = refreshed.reduce((sum, r) => sum + ((r.lastRefreshAt ?? r.createdAt) - r.createdAt) / (r.tokenGen - 1), 0) / Math.max(1, refreshed.length);
    return { counted, empty, refreshes, intervalMs, cpuMs: cpuMicros / 1000 };
  } finally {
    await provider.close();
  }
}

/** The earliest due time in the schedule index (uncounted): the first entry of each shard. */
/** The earliest due time among the connections (read from the records: an entry on a cycle is in no due-time index). */
async function earliestDue(store: DynamoDbConnectionStore, ids: readonly string[]): Promise<number> {
  const records = await readAll(store, ids);
  return Math.min(...records.map((record) => record.refreshDueAt ?? Number.POSITIVE_INFINITY));
}

async function readAll(store: DynamoDbConnectionStore, ids: readonly string[]): Promise<ConnectionRecord[]> {
  const records: ConnectionRecord[] = [];
  await runPool(ids, 20, async (id) => {
    const record = await store.get(id);
    if (record) records.push(record);
  });
  return records;
}

// ---- arithmetic ----------------------------------------------------------------------------------

const sumOf = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0);

interface PriceKnobs {
  fleet: number;
  providerMs: number;
  lambdaMb: number;
  batch: number;
}

function priced(
  costCase: CostCase,
  run: { counted: Counted; empty: Counted; refreshes: number; intervalMs: number; cpuMs: number },
  connections: number,
  periodMs: number,
  knobs: PriceKnobs,
  /** CPU per refresh a worker's Lambda is billed for; defaults to this case's own figure. */
  lambdaCpuMs?: number,
): CaseFigures {
  const { counted, empty, refreshes } = run;
  const per = (n: number) => (refreshes === 0 ? 0 : n / refreshes);
  const dynamo = Object.values(counted.dynamodb);
  const perRefresh = {
    dynamodb_requests: per(sumOf(dynamo.map((d) => d.requests))),
    read_units: per(sumOf(dynamo.map((d) => d.readUnits))),
    write_units: per(sumOf(dynamo.map((d) => d.writeUnits))),
    kms: per(counted.kms.GenerateDataKey + counted.kms.Decrypt),
    sqs: per(sumOf(Object.values(counted.sqs))),
    worker_invocations: per(counted.workerInvocations),
  };
  const refreshesPerMonth = run.intervalMs > 0 ? MONTH_MS / run.intervalMs : 0;
  const cpuMsPerRefresh = per(run.cpuMs);
  // A worker's Lambda bills wall time: its CPU, slowed to the function's vCPU share, plus the
  // provider's latency shared by the batch's refreshes in flight together.
  const lambdaSecondsPerRefresh = (((lambdaCpuMs ?? cpuMsPerRefresh) * FULL_VCPU_MB) / knobs.lambdaMb + knobs.providerMs / knobs.batch) / 1000;
  const perRefreshUsd = {
    dynamodb: perRefresh.write_units * PRICES.dynamodbWriteUnit.usd + perRefresh.read_units * PRICES.dynamodbReadUnit.usd,
    kms: perRefresh.kms * PRICES.kmsRequest.usd,
    lambda: lambdaSecondsPerRefresh * (knobs.lambdaMb / 1024) * PRICES.lambdaArmGbSecond.usd + perRefresh.worker_invocations * PRICES.lambdaRequest.usd,
    sqs: perRefresh.sqs * PRICES.sqsRequest.usd,
  };
  // The fleet's fixed cost: a scheduler run each period whatever is due, shared by the fleet.
  const emptyDynamo = Object.values(empty.dynamodb);
  const emptyPeriod = {
    dynamodb_requests: sumOf(emptyDynamo.map((d) => d.requests)),
    read_units: sumOf(emptyDynamo.map((d) => d.readUnits)),
    sqs: sumOf(Object.values(empty.sqs)),
  };
  const periodsPerMonth = MONTH_MS / periodMs;
  const fixedPerMonth = periodsPerMonth * (emptyPeriod.read_units * PRICES.dynamodbReadUnit.usd + emptyPeriod.sqs * PRICES.sqsRequest.usd + PRICES.lambdaRequest.usd);
  const usd: CostLines = {
    dynamodb: perRefreshUsd.dynamodb * refreshesPerMonth,
    kms: perRefreshUsd.kms * refreshesPerMonth,
    lambda: perRefreshUsd.lambda * refreshesPerMonth,
    sqs: perRefreshUsd.sqs * refreshesPerMonth,
    fixed: fixedPerMonth / knobs.fleet,
    total: 0,
  };
  usd.total = usd.dynamodb + usd.kms + usd.lambda + usd.sqs + usd.fixed;
  return {
    ...costCase,
    status: 'measured',
    connections,
    refreshes,
    interval_s: round(run.intervalMs / 1000, 0),
    refreshes_per_month: round(refreshesPerMonth, 1),
    per_refresh: {
      dynamodb_requests: round(perRefresh.dynamodb_requests, 3),
      read_units: round(perRefresh.read_units, 3),
      write_units: round(perRefresh.write_units, 3),
      kms: round(perRefresh.kms, 4),
      sqs: round(perRefresh.sqs, 3),
      worker_invocations: round(perRefresh.worker_invocations, 3),
    },
    dynamodb_by_operation: Object.fromEntries(
      Object.entries(counted.dynamodb).map(([name, d]) => [name, { requests: round(per(d.requests), 3), units: round(per(d.readUnits + d.writeUnits), 3) }]),
    ),
    kms_by_operation: { GenerateDataKey: round(per(counted.kms.GenerateDataKey), 4), Decrypt: round(per(counted.kms.Decrypt), 4) },
    cpu_ms_per_refresh: round(cpuMsPerRefresh, 2),
    lambda_cpu_ms_per_refresh: round(lambdaCpuMs ?? cpuMsPerRefresh, 2),
    empty_period: emptyPeriod,
    usd: Object.fromEntries(Object.entries(usd).map(([k, v]) => [k, Number(v.toPrecision(3))])) as unknown as CostLines,
    floor_usd: Number((forcedRefreshes(costCase) * PRICES.dynamodbWriteUnit.usd).toPrecision(3)),
    design_floor_usd: Number((forcedRefreshes(costCase) * designWriteUnits(costCase) * PRICES.dynamodbWriteUnit.usd).toPrecision(3)),
  };
}

/**
 * The refreshes a month forces, at least: one per token lifetime when someone uses the token (or
 * the policy is eager), one per keep-alive period for an idle keep_alive connection.
 */
function forcedRefreshes(costCase: CostCase): number {
  const period = costCase.policy === 'keep_alive' && costCase.useEveryS === undefined ? costCase.keepAliveS! : costCase.lifetimeS;
  return MONTH_MS / (period * 1000);
}

// ---- the section ---------------------------------------------------------------------------------

export const COST_CASES: CostCase[] = [
  { policy: 'eager', lifetimeS: 1800 },
  { policy: 'eager', lifetimeS: 3600 },
  { policy: 'eager', lifetimeS: 86_400 },
  { policy: 'on_demand', lifetimeS: 1800, useEveryS: 600 },
  { policy: 'on_demand', lifetimeS: 3600, useEveryS: 600 },
  { policy: 'on_demand', lifetimeS: 86_400, useEveryS: 600 },
  // Idle keep_alive costs the same whatever the token's lifetime (one refresh per keep-alive period): one row.
  { policy: 'keep_alive', lifetimeS: 1800, keepAliveS: 7 * 86_400 },
];

export interface CostFigures {
  prices: typeof PRICES;
  knobs: PriceKnobs & { connections: number; workers: number; cycles: number };
  cases: Array<CaseFigures | (CostCase & { status: 'not measured'; note: string })>;
  cpu: CpuFigures[];
}

export interface CpuFigures {
  variant: string;
  cpu_ms_per_refresh: number;
  /** What one worker core could refresh per second if CPU were the only bound. */
  refreshes_per_s_per_core: number;
}

const lifetimeText = (s: number): string => (s >= 86_400 ? `${s / 86_400 * 24} h` : s >= 3600 ? `${s / 3600} h` : `${s / 60} min`);
const usdText = (usd: number): string => `$${usd < 0.0001 ? usd.toExponential(2) : usd.toFixed(5)}`;

function caseLabel(c: CostCase): string {
  const use = c.useEveryS === undefined ? 'idle' : `getToken every ${c.useEveryS / 60} min`;
  const keep = c.keepAliveS === undefined ? '' : `, keep-alive ${c.keepAliveS / 86_400} d`;
  return `${c.policy} ${lifetimeText(c.lifetimeS)} (${use}${keep})`;
}

export async function benchCost(checks: Checks): Promise<CostFigures | { status: 'skipped'; note: string }> {
  const knobs = {
    connections: envInt('BENCH_COST_N', 200),
    workers: envInt('BENCH_COST_WORKERS', 2),
    cycles: envInt('BENCH_COST_CYCLES', 3),
    fleet: envInt('BENCH_COST_FLEET', 1_000_000),
    providerMs: envInt('BENCH_COST_PROVIDER_MS', 200),
    lambdaMb: envInt('BENCH_COST_LAMBDA_MB', 512),
    batch: 10,
  };
  heading(`(j) Cost per connection-month: counted calls on DynamoDB Local and a loopback KMS, ${knobs.connections} connections, ${knobs.workers} workers, ${knobs.cycles} lifetimes each`);
  const missing = dynamoDbLocalMissing();
  if (missing) {
    console.log(`  SKIPPED: DynamoDB Local is needed for capacity units per index (${missing}).`);
    return { status: 'skipped', note: missing };
  }
  const local = await startDynamoDbLocal();
  const admin = localDynamoClient(local.endpoint);
  const dynamo: BenchDynamo = {
    endpoint: local.endpoint,
    client: () => localDynamoClient(local.endpoint),
    async newTable() {
      const name = `cost-${Math.random().toString(36).slice(2, 10)}`;
      await ensureTable(admin, name);
      return name;
    },
    cpuMicros: async () => 0,
    close: async () => undefined,
  };
  const kms = await startKmsServer();
  const env: CaseEnvironment = { dynamo, kms, connections: knobs.connections, workers: knobs.workers, cycles: knobs.cycles, cipher: 'kms', leanSdk: false };
  try {
    // CPU per refresh first: the 1-hour eager case, per variant, best of two (the steadiest figure on a
    // shared machine; the Lambda lines below use the KMS one).
    const cpu: CpuFigures[] = [];
    const variants: Array<{ variant: string; cipher: 'kms' | 'local'; leanSdk: boolean }> = [
      { variant: 'KMS over the SDK (loopback KMS), cached data keys', cipher: 'kms', leanSdk: false },
      { variant: 'KMS over the SDK, spare SDK middleware removed', cipher: 'kms', leanSdk: true },
      { variant: 'local cipher (AES-GCM key file), no KMS', cipher: 'local', leanSdk: false },
      { variant: 'local cipher, spare SDK middleware removed', cipher: 'local', leanSdk: true },
    ];
    const best = new Map<string, number>();
    for (let round_ = 0; round_ < 2; round_++) {
      for (const v of variants) {
        const run = await runCase({ policy: 'eager', lifetimeS: 3600 }, { ...env, cipher: v.cipher, leanSdk: v.leanSdk, cycles: 2 });
        if (run.refreshes === 0) continue;
        best.set(v.variant, Math.min(best.get(v.variant) ?? Number.POSITIVE_INFINITY, run.cpuMs / run.refreshes));
      }
    }
    for (const v of variants) {
      const ms = best.get(v.variant);
      if (ms !== undefined) cpu.push({ variant: v.variant, cpu_ms_per_refresh: round(ms, 2), refreshes_per_s_per_core: round(1000 / ms, 0) });
    }
    printTable(
      ['variant', 'CPU/refresh', 'refreshes/s per core', `on a ${knobs.lambdaMb} MB Lambda`],
      cpu.map((c) => [c.variant, `${c.cpu_ms_per_refresh.toFixed(2)} ms`, String(c.refreshes_per_s_per_core), `${((c.refreshes_per_s_per_core * knobs.lambdaMb) / FULL_VCPU_MB).toFixed(0)}/s`]),
    );
    console.log(`  CPU of this process per refresh (scheduler or sweep, worker, SDK, cipher; the fault provider runs in its own process), best of 2 runs of ${knobs.connections} connections x 2 lifetimes.`);
    console.log(`  Removed in the "spare middleware" rows: ${SPARE_MIDDLEWARE.join(', ')}. A Lambda of ${knobs.lambdaMb} MB has ${(knobs.lambdaMb / FULL_VCPU_MB).toFixed(2)} of a vCPU.`);
    const lambdaCpuMs = best.get(variants[0]!.variant);
    const cases: CostFigures['cases'] = [];
    for (const costCase of COST_CASES) {
      const started = performance.now();
      const run = await runCase(costCase, env);
      const figures = priced(costCase, run, knobs.connections, periodOf(costCase), knobs, lambdaCpuMs);
      cases.push(figures);
      checks.expect(figures.refreshes > 0 || costCase.policy !== 'eager', `cost ${caseLabel(costCase)}: the fleet refreshed`);
      console.log(`  measured ${caseLabel(costCase)}: ${figures.refreshes} refreshes in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    printCost(cases, knobs, checks);

    const kmsFull = best.get(variants[0]!.variant);
    const kmsLean = best.get(variants[1]!.variant);
    const thirty = cases.find((c): c is CaseFigures => c.status === 'measured' && c.policy === 'eager' && c.lifetimeS === 1800);
    if (kmsFull !== undefined && kmsLean !== undefined && thirty) {
      const savedMs = kmsFull - kmsLean;
      const savedUsd = (((savedMs * FULL_VCPU_MB) / knobs.lambdaMb / 1000) * (knobs.lambdaMb / 1024) * PRICES.lambdaArmGbSecond.usd) * thirty.refreshes_per_month;
      console.log(
        savedMs <= 0
          ? `  Does dropping SDK middleware pay? No saving measured (${savedMs.toFixed(2)} ms per refresh, within this machine's noise). The broker keeps the SDK's defaults.`
          : `  Does dropping SDK middleware pay? ${savedMs.toFixed(2)} ms of CPU per refresh (${((savedMs / kmsFull) * 100).toFixed(0)} %): ${usdText(savedUsd)} per connection-month for 30-minute tokens, ` +
            `${((savedUsd / thirty.usd.total) * 100).toFixed(1)} % of their cost. The broker keeps the SDK's defaults (its user agent and trace header are what AWS support and X-Ray read).`,
      );
    }
    return { prices: PRICES, knobs, cases, cpu };
  } finally {
    admin.destroy();
    await kms.close();
    await local.close();
  }
}

function periodOf(_costCase: CostCase): number {
  return DEFAULT_CONFIG.refreshPolicy.schedulerIntervalMs;
}

function printCost(cases: CostFigures['cases'], knobs: PriceKnobs, checks: Checks): void {
  const measured = cases.filter((c): c is CaseFigures => c.status === 'measured');
  printTable(
    ['case', 'refresh every', 'refreshes/month', 'DDB req', 'RRU', 'WRU', 'KMS', 'SQS', 'CPU', 'per refresh'],
    measured.map((c) => [
      caseLabel(c),
      `${(c.interval_s / 60).toFixed(1)} min`,
      c.refreshes_per_month.toFixed(0),
      c.per_refresh.dynamodb_requests.toFixed(2),
      c.per_refresh.read_units.toFixed(2),
      c.per_refresh.write_units.toFixed(2),
      c.per_refresh.kms.toFixed(3),
      c.per_refresh.sqs.toFixed(2),
      `${c.cpu_ms_per_refresh.toFixed(1)} ms`,
      usdText(c.refreshes_per_month === 0 ? 0 : (c.usd.total - c.usd.fixed) / c.refreshes_per_month),
    ]),
  );
  console.log('  Per refresh, counted: DynamoDB requests, read and write units as DynamoDB Local reported them (table + every index), KMS and SQS requests.');
  console.log();
  printTable(
    ['case', 'DynamoDB', 'KMS', 'Lambda', 'SQS', 'fixed', 'total / conn-month', 'floor: any', 'floor: design', 'target'],
    measured.map((c) => {
      const target = TARGETS.find((t) => t.policy === c.policy && t.lifetimeS === c.lifetimeS && c.useEveryS === undefined);
      const verdict = target ? `${usdText(target.usd)} ${c.usd.total <= target.usd ? 'met' : 'MISSED'}` : '-';
      if (target) checks.expect(c.usd.total <= target.usd, `cost ${caseLabel(c)}: ${usdText(c.usd.total)} per connection-month within the target ${usdText(target.usd)}`);
      return [caseLabel(c), usdText(c.usd.dynamodb), usdText(c.usd.kms), usdText(c.usd.lambda), usdText(c.usd.sqs), usdText(c.usd.fixed), usdText(c.usd.total), usdText(c.floor_usd), usdText(c.design_floor_usd), verdict];
    }),
  );
  for (const c of cases.filter((c) => c.status === 'not measured')) console.log(`  not measured: ${caseLabel(c)}: ${c.note}`);
  console.log('\n  The arithmetic, per case (month = 30 days):');
  for (const c of measured) {
    const n = c.refreshes_per_month;
    const p = c.per_refresh;
    console.log(`  - ${caseLabel(c)}: ${n.toFixed(1)} refreshes/month (30 d / ${(c.interval_s / 60).toFixed(1)} min, from the stored records)`);
    const operations = Object.entries(c.dynamodb_by_operation).map(([name, d]) => `${name} ${d.requests.toFixed(2)} (${d.units.toFixed(2)} units)`);
    console.log(`      per refresh: ${operations.join(', ')}; KMS GenerateDataKey ${c.kms_by_operation.GenerateDataKey}, Decrypt ${c.kms_by_operation.Decrypt}`);
    console.log(`      DynamoDB ${n.toFixed(1)} x (${p.write_units.toFixed(3)} WRU x $0.625/M + ${p.read_units.toFixed(3)} RRU x $0.125/M) = ${usdText(c.usd.dynamodb)}`);
    console.log(`      KMS ${n.toFixed(1)} x ${p.kms.toFixed(4)} requests x $0.03/10k = ${usdText(c.usd.kms)}`);
    console.log(`      Lambda ${n.toFixed(1)} x ((${c.lambda_cpu_ms_per_refresh.toFixed(2)} ms CPU x ${FULL_VCPU_MB}/${knobs.lambdaMb} + ${knobs.providerMs} ms provider / ${knobs.batch} per batch) x ${knobs.lambdaMb / 1024} GB x $0.0000133334 + ${p.worker_invocations.toFixed(3)} invocations x $0.20/M) = ${usdText(c.usd.lambda)}`);
    console.log(`      SQS ${n.toFixed(1)} x ${p.sqs.toFixed(3)} requests x $0.40/M = ${usdText(c.usd.sqs)}`);
    console.log(`      fixed: ${(MONTH_MS / periodOf(c)).toFixed(0)} scheduler runs/month x (${c.empty_period.read_units} RRU + ${c.empty_period.sqs} SQS + 1 invocation) / ${knobs.fleet.toLocaleString('en')} connections = ${usdText(c.usd.fixed)}`);
    const perLifetime = forcedRefreshes(c).toFixed(1);
    console.log(`      floor, any broker: ${perLifetime} refreshes (one per ${c.policy === 'keep_alive' ? 'keep-alive period' : 'lifetime, at expiry'}) x 1 WRU (the new token written, nothing else) x $0.625/M = ${usdText(c.floor_usd)}`);
    const units = designWriteUnits(c);
    console.log(`      floor, this design: ${perLifetime} refreshes x ${units} WRU (lease, commit${units === 4 ? ', schedule entry moved' : ''}) x $0.625/M = ${usdText(c.design_floor_usd)}; measured / floor = ${(c.usd.total / c.design_floor_usd).toFixed(2)}`);
  }
  console.log('\n  Prices (us-east-1, on demand, no free tier, looked up 2026-11-30):');
  for (const price of Object.values(PRICES)) console.log(`  - ${price.what}: ${price.source}`);
  console.log(`  Not counted here: storage (about 1 KB a connection plus its index entry: $0.25/GB-month, ~$3e-7), CloudWatch logs, the app's own getToken calls.`);
  console.log(`  Lambda duration is estimated from the CPU measured here (slowed to the function's vCPU share) and ${knobs.providerMs} ms of provider latency shared by a batch of ${knobs.batch}.`);
}
