/**
 * Bundle size and cold-start import cost of each Lambda handler, next to a baseline that
 * only imports the AWS SDK clients the broker uses and constructs them.
 *
 * Each handler is bundled with exactly the options the stack deploys with
 * (infra/bundling.ts), then imported N times, each time in a fresh `node` process with the
 * functions' NODE_OPTIONS; the time of the `import()` itself is recorded. Two variants
 * explain the stack's choices: the same bundle without source maps (what
 * `--enable-source-maps` costs) and a bundle that leaves the SDK external, resolved from
 * node_modules as Lambda resolves its built-in copy (what bundling the SDK buys).
 *
 * "First use" adds what a cold start does next: the handler's first invocation, with an event it
 * answers without an AWS request (an unknown provider, a malformed id, no credentials), so the
 * broker and its clients are built (lazily, as on a first request) and nothing waits on a network.
 * The baseline's first use is its handler too (its clients were built at import).
 *
 * The baseline builds the clients of the functions that seal tokens and publish events (DynamoDB,
 * KMS, Secrets Manager, EventBridge). authorize builds fewer (no KMS, no EventBridge) and the
 * scheduler others (SQS, no KMS, no EventBridge), so each handler is also set against a baseline
 * of exactly the clients it builds ("x own"): the honest measure for those two, the same figure as
 * "x baseline" for the others. The functions deployed with the signing key's secret get it here too
 * (`HANDLER_ENV`).
 *
 * Targets (issue 10): import <= 1.1x the baseline, import + first use <= 1.2x, judged on the paired
 * ratios (each round's ratio, median over the rounds; the middle half printed beside it); the verdict
 * holds a handler to both baselines. Prints figures; never fails on time.
 *   npx tsx bench/bundles.ts            (N=15)
 *   BENCH_RUNS=31 npx tsx bench/bundles.ts
 *
 * BENCH_BUNDLES_BEFORE=DIR also times the bundles of another build (DIR/<handler>/index.mjs, e.g. a
 * copy of dist/handlers built from an earlier commit) in the same rounds, as "<handler> (before)"
 * rows: what a change bought, measured against the same baselines on the same machine at once.
 *
 * BENCH_BUNDLES_WITHOUT=logger,jose,parameters,metrics also builds each handler with those libraries
 * replaced by stand-ins (bench/stand-ins.ts), as "<handler> (without ...)" rows: how much of a
 * handler's cost over the baseline those libraries are. Groups separated by `;` give a row each
 * (`logger;jose;logger,jose`).
 *
 * BENCH_INSTRUCTIONS=N also counts the instructions each case executes, N runs each under valgrind
 * (about 12 s a run): the same ratios in work done, which a shared machine's load does not move.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { HANDLER_BUNDLING, HANDLER_ENTRIES, HANDLER_NODE_OPTIONS, type HandlerName } from '../infra/bundling';
import { handlerBuildOptions } from '../scripts/build';
import { standInsFor, type StandIns } from './stand-ins';

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Inside node_modules so that the SDK-external variant resolves the SDK like a deployed function would. */
const WORK_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'oauth-token-broker-bench');
const TARGET_IMPORT = 1.1;
const TARGET_FIRST_USE = 1.2;

/** An HTTP API (payload 2.0) request for `path`, as API Gateway hands it over. */
function httpEvent(method: string, route: string, path: string, pathParameters: Record<string, string> = {}): Record<string, unknown> {
  return {
    version: '2.0',
    routeKey: `${method} ${route}`,
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'bench.example.com' },
    requestContext: { http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' }, domainName: 'bench.example.com', stage: '$default', requestId: 'bench' },
    pathParameters,
    isBase64Encoded: false,
  };
}

/** Per handler, a first request it answers without calling AWS (its answer is printed, to show it). */
const FIRST_USE_EVENTS: Record<string, unknown> = {
  baseline: {},
  authorize: httpEvent('GET', '/connect/{provider}', '/connect/bench-unknown', { provider: 'bench-unknown' }),
  callback: httpEvent('GET', '/callback/{provider}', '/callback/bench-unknown', { provider: 'bench-unknown' }),
  'get-token': { connection_id: 'not a connection id!' },
  admin: httpEvent('GET', '/connections/{id}', '/connections/not%20an%20id', { id: 'not%20an%20id!' }),
  'refresh-worker': { Records: [] },
};

/** The SDK clients a function may build: how a baseline imports and builds each. */
const SDK_CLIENTS = {
  dynamodb: {
    imports: "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nimport { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
    build: 'DynamoDBDocumentClient.from(new DynamoDBClient({}))',
  },
  kms: { imports: "import { KMSClient } from '@aws-sdk/client-kms';", build: 'new KMSClient({})' },
  secrets: { imports: "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';", build: 'new SecretsManagerClient({})' },
  events: { imports: "import { EventBridgeClient } from '@aws-sdk/client-eventbridge';", build: 'new EventBridgeClient({})' },
  sqs: { imports: "import { SQSClient } from '@aws-sdk/client-sqs';", build: 'new SQSClient({})' },
} as const;
type SdkClient = keyof typeof SDK_CLIENTS;

/** The baseline's clients: those of the functions that seal tokens and publish events. */
const BASELINE_CLIENTS: SdkClient[] = ['dynamodb', 'kms', 'secrets', 'events'];

/**
 * The clients each function builds on its first invocation (lib/runtime.ts `depsFromEnv`: the table,
 * Secrets Manager, and what its `FunctionAdapters` name; the scheduler's refresh queues).
 */
const HANDLER_CLIENTS: Record<HandlerName, SdkClient[]> = {
  authorize: ['dynamodb', 'secrets'],
  callback: ['dynamodb', 'kms', 'secrets', 'events'],
  'refresh-scheduler': ['dynamodb', 'secrets', 'sqs'],
  'refresh-worker': ['dynamodb', 'kms', 'secrets', 'events'],
  'get-token': ['dynamodb', 'kms', 'secrets', 'events'],
  admin: ['dynamodb', 'kms', 'secrets', 'events'],
};

/** A baseline: `clients` built once at module scope, as a handler's broker holds them, and nothing else. */
function baselineSource(clients: readonly SdkClient[]): string {
  return `${clients.map((c) => SDK_CLIENTS[c].imports).join('\n')}
export const clients = [${clients.map((c) => SDK_CLIENTS[c].build).join(', ')}];
export const handler = async () => clients.length;
`;
}

const clientsKey = (clients: readonly SdkClient[]) => [...clients].sort().join('+');

/**
 * What a deployed function has beyond `CHILD_ENV`: the functions that sign links or derive PKCE
 * verifiers get the signing key's secret (infra/broker.ts `withSigningKey`), so their broker builds
 * its Secrets Manager signing key too (nothing is fetched until a link is signed).
 */
const HANDLER_ENV: Partial<Record<HandlerName, NodeJS.ProcessEnv>> = Object.fromEntries(
  (['authorize', 'callback', 'admin'] as const).map((name) => [name, { BROKER_SIGNING_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-signing' }]),
);

/** What a deployed function has in its environment at import time (nothing here is called). */
const CHILD_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDBENCH',
  AWS_SECRET_ACCESS_KEY: 'bench',
  // Should a first use reach AWS after all, it fails at once on loopback instead of waiting on a network.
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_MAX_ATTEMPTS: '1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  BROKER_TABLE_NAME: 'bench',
  BROKER_KMS_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/bench',
  BROKER_SECRET_PREFIX: 'oauth-token-broker/',
  BROKER_EVENT_BUS_NAME: 'default',
  POWERTOOLS_SERVICE_NAME: 'oauth-token-broker',
};

interface Bundle {
  name: string;
  file: string;
  bytes: number;
  mapBytes: number;
  gzipBytes: number;
}

interface Timing {
  median: number;
  p90: number;
  /** Each round's figure, in round order. */
  samples: number[];
}

async function build(name: string, entry: string, variant: 'deployed' | 'sdk-external' | 'without', standIns: StandIns = {}): Promise<Bundle> {
  const file = join(WORK_DIR, variant, name, HANDLER_BUNDLING.outFileName);
  const options = handlerBuildOptions(entry, file);
  if (variant === 'sdk-external') options.external = ['@aws-sdk/*', '@smithy/*'];
  if (Object.keys(standIns).length > 0) options.plugins = [...(options.plugins ?? []), standInPlugin(standIns)];
  await esbuild.build({ ...options, absWorkingDir: REPO_ROOT, logLevel: 'error' });
  const code = readFileSync(file);
  return { name, file, bytes: code.length, mapBytes: statSync(`${file}.map`).size, gzipBytes: gzipSync(code).length };
}

/** Bundles `standIns`' code in place of the packages they name (bench/stand-ins.ts). */
function standInPlugin(standIns: StandIns): esbuild.Plugin {
  return {
    name: 'bench-stand-ins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => (Object.hasOwn(standIns, args.path) ? { path: args.path, namespace: 'bench-stand-in' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'bench-stand-in' }, (args) => ({ contents: standIns[args.path], loader: 'js' }));
    },
  };
}

/** The child's script: import `file` (and with `event`, invoke its handler once), then print the milliseconds it took. */
function childScript(file: string, event?: unknown): string {
  const use =
    event === undefined
      ? ''
      : `const r=await m.handler(${JSON.stringify(event)},{getRemainingTimeInMillis:()=>30000,functionName:'bench',awsRequestId:'bench'});globalThis.answer=r;`;
  return `const MARK=${JSON.stringify(MARK)};const t=performance.now();const m=await import(${JSON.stringify(pathToFileURL(file).href)});${use}process.stdout.write('\\n'+MARK+String(performance.now()-t));`;
}

/** Milliseconds `import()` of `file` takes in a fresh Node process; with `event`, the import and the handler's first invocation. */
async function importOnce(file: string, nodeOptions: string[], env: NodeJS.ProcessEnv, event?: unknown): Promise<number> {
  const { stdout } = await run(process.execPath, [...nodeOptions, '--input-type=module', '-e', childScript(file, event)], { env, cwd: WORK_DIR });
  return Number(marked(stdout));
}

/**
 * V8 flags for counting: no background threads (compilation and garbage collection on the main
 * thread, in the same order every run), no memory reducer (a timer that starts a full garbage
 * collection some seconds in, which under valgrind's slow clock lands inside the process's life in
 * some runs and not others: about 100 million instructions either way) and a fixed hash seed (V8
 * draws one per process, and setting up from it took 0-7 million instructions, a different number
 * every run, valgrind's callgraph of an empty module showed: `HashSeed::InitializeRoots`). With them, and the process ending as soon as
 * the handler answered, a case counts the same to the instruction in most runs, and 1 % more in the others.
 */
const COUNTING_FLAGS = ['--single-threaded', '--no-memory-reducer', '--hash-seed=1'];

/**
 * Instructions the whole child process executes (valgrind's cachegrind, no cache simulation), so
 * `instructions(x) - instructions(empty module)` is what importing (and first using) x costs in work
 * done, whatever else the machine runs. About 12 s a run under valgrind.
 */
async function instructionsOnce(file: string, nodeOptions: string[], env: NodeJS.ProcessEnv, event?: unknown): Promise<number> {
  const script = `${childScript(file, event)}process.exit(0);`;
  const { stderr } = await run(
    'valgrind',
    ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null', process.execPath, ...COUNTING_FLAGS, ...nodeOptions, '--input-type=module', '-e', script],
    { env, cwd: WORK_DIR, maxBuffer: 16 * 1024 * 1024 },
  );
  const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr)?.[1];
  if (refs === undefined) throw new Error('valgrind printed no instruction count');
  return Number(refs.replaceAll(',', ''));
}

/** The handlers log to stdout (the function's log): the child's figure is the line after this mark. */
const MARK = '@@bench@@';
const marked = (stdout: string): string => stdout.slice(stdout.lastIndexOf(MARK) + MARK.length).trim();

/** What the handler answered to its first-use event (status or error code), to show no AWS request was needed. */
async function firstAnswer(file: string, env: NodeJS.ProcessEnv, event: unknown): Promise<string> {
  const script = `const MARK=${JSON.stringify(MARK)};const m=await import(${JSON.stringify(pathToFileURL(file).href)});const r=await m.handler(${JSON.stringify(event)},{getRemainingTimeInMillis:()=>30000,functionName:'bench',awsRequestId:'bench'});process.stdout.write('\\n'+MARK+JSON.stringify(r?.statusCode??r?.error?.code??r?.batchItemFailures??r));`;
  try {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env, cwd: WORK_DIR, timeout: 20_000 });
    return marked(stdout).slice(0, 40);
  } catch (err) {
    return `failed: ${(err as Error).message.split('\n')[0]?.slice(0, 40)}`;
  }
}

/** The `q` quantile of ascending `sorted` (nearest rank). */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

function summarize(samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), samples };
}

/**
 * Runs every case `runs` times, round-robin, so drifting machine load hits all cases alike; every other
 * round in reverse order, so that no case always runs just before or after another (a "before" bundle
 * timed always right before its "after" would carry whatever its place in the round does to it).
 */
async function timeAll(cases: Array<{ key: string; file: string; nodeOptions: string[]; env: NodeJS.ProcessEnv; event?: unknown }>, runs: number): Promise<Map<string, Timing>> {
  const samples = new Map(cases.map((c) => [c.key, [] as number[]]));
  for (const c of cases) await importOnce(c.file, c.nodeOptions, c.env); // warm the OS file cache
  for (let i = 0; i < runs; i++) {
    for (const c of i % 2 === 0 ? cases : [...cases].reverse()) samples.get(c.key)?.push(await importOnce(c.file, c.nodeOptions, c.env, c.event));
  }
  return new Map([...samples].map(([key, values]) => [key, summarize(values)]));
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;
const pad = (text: string, width: number) => text.padStart(width);
/** A table row's formatter: the first column left-aligned, the others right-aligned, each to its width. */
const rowOf =
  (columns: ReadonlyArray<[title: string, width: number]>) =>
  (cells: string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(columns[i]?.[1] ?? 0) : pad(cell, columns[i]?.[1] ?? 0))).join(' ');

/** The handler bundles in `dir` (BENCH_BUNDLES_BEFORE), named "<handler> (before)"; none without `dir`. */
async function bundlesBefore(dir: string | undefined): Promise<Bundle[]> {
  if (!dir) return [];
  return (Object.keys(HANDLER_ENTRIES) as HandlerName[]).flatMap((name) => {
    const file = join(dir, name, HANDLER_BUNDLING.outFileName);
    try {
      const code = readFileSync(file);
      return [{ name: `${name} (before)`, file, bytes: code.length, mapBytes: statSync(`${file}.map`).size, gzipBytes: gzipSync(code).length }];
    } catch {
      return [];
    }
  });
}

/** Prints bundle sizes and import times of every handler against the SDK-only baselines. */
export async function benchBundles(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 15);
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(WORK_DIR, { recursive: true });
  const baselineFor = (clients: readonly SdkClient[]) => (clientsKey(clients) === clientsKey(BASELINE_CLIENTS) ? 'baseline' : `baseline-${clientsKey(clients)}`);
  const baselines = new Map<string, readonly SdkClient[]>([['baseline', BASELINE_CLIENTS]]);
  for (const clients of Object.values(HANDLER_CLIENTS)) baselines.set(baselineFor(clients), clients);
  /** In the order of the table: the baseline, the per-function baselines, the handlers. */
  const entries = [
    ...[...baselines].map(([name, clients]) => {
      const entry = join(WORK_DIR, `${name}-entry.ts`);
      writeFileSync(entry, baselineSource(clients));
      return { name, label: name === 'baseline' ? 'baseline (SDK clients only)' : `baseline (${clients.join(', ')})`, entry };
    }),
    ...Object.entries(HANDLER_ENTRIES).map(([name, entry]) => ({ name, label: name, entry: join(REPO_ROOT, entry) })),
  ];
  /** The per-function baselines are timed as imported and first used only. */
  const isOwnBaseline = (name: string) => name.startsWith('baseline-');
  const deployed = await Promise.all(entries.map(({ name, entry }) => build(name, entry, 'deployed')));
  const compared = deployed.filter((b) => !isOwnBaseline(b.name));
  const external = await Promise.all(entries.filter(({ name }) => !isOwnBaseline(name)).map(({ name, entry }) => build(name, entry, 'sdk-external')));
  // The bundles of another build, each in the row above this build's (timed as imported and first used only).
  const before = await bundlesBefore(process.env.BENCH_BUNDLES_BEFORE);
  for (const bundle of before) {
    const at = deployed.findIndex((b) => b.name === bundle.name.replace(/ \(before\)$/, ''));
    deployed.splice(at, 0, bundle);
    entries.splice(at, 0, { name: bundle.name, label: bundle.name, entry: bundle.file });
  }
  // Each handler again without each group of libraries BENCH_BUNDLES_WITHOUT names, in rows below it.
  const groups = (process.env.BENCH_BUNDLES_WITHOUT ?? '').split(';').filter((group) => group.trim() !== '');
  for (const group of groups.reverse()) {
    const standIns = standInsFor(group);
    const label = `(without ${group.split(',').map((name) => name.trim()).filter(Boolean).join('+')})`;
    for (const [name, entry] of Object.entries(HANDLER_ENTRIES)) {
      const bundle = await build(`${name} ${label}`, join(REPO_ROOT, entry), 'without', standIns);
      const at = deployed.findIndex((b) => b.name === name) + 1;
      deployed.splice(at, 0, bundle);
      entries.splice(at, 0, { name: bundle.name, label: bundle.name, entry: bundle.file });
    }
  }
  /** A handler's name, whether this build's, the one before or one without some libraries. */
  const handlerOf = (name: string) => name.replace(/ \((before|without [^)]*)\)$/, '') as HandlerName;
  const envOf = (name: string): NodeJS.ProcessEnv => ({ ...CHILD_ENV, ...HANDLER_ENV[handlerOf(name)] });
  const eventOf = (name: string): unknown => (name.startsWith('baseline') ? FIRST_USE_EVENTS.baseline : FIRST_USE_EVENTS[handlerOf(name)]);

  const withMaps = [HANDLER_NODE_OPTIONS];
  const timings = await timeAll(
    [
      ...deployed.map((b) => ({ key: `deployed:${b.name}`, file: b.file, nodeOptions: withMaps, env: envOf(b.name) })),
      ...deployed
        .filter((b) => eventOf(b.name) !== undefined)
        .map((b) => ({ key: `first-use:${b.name}`, file: b.file, nodeOptions: withMaps, env: envOf(b.name), event: eventOf(b.name) })),
      ...compared.map((b) => ({ key: `nomaps:${b.name}`, file: b.file, nodeOptions: [], env: envOf(b.name) })),
      ...external.map((b) => ({ key: `external:${b.name}`, file: b.file, nodeOptions: withMaps, env: envOf(b.name) })),
    ],
    runs,
  );
  const t = (key: string) => timings.get(key) as Timing;
  const answers = new Map(
    await Promise.all(deployed.map(async (b): Promise<[string, string]> => [b.name, eventOf(b.name) === undefined ? 'n/a' : await firstAnswer(b.file, envOf(b.name), eventOf(b.name))])),
  );
  /** The baseline with exactly the clients `name` builds (a baseline is its own). */
  const ownBaseline = (name: string) => (name.startsWith('baseline') ? name : baselineFor(HANDLER_CLIENTS[handlerOf(name)]));

  console.log(`\nHandler bundles (esbuild ${esbuild.version}, ${HANDLER_BUNDLING.format} ${HANDLER_BUNDLING.target}, minified, SDK bundled), import in a fresh node ${process.version} x${runs}, NODE_OPTIONS=${HANDLER_NODE_OPTIONS}`);
  const columns: Array<[string, number]> = [
    ['bundle', 34],
    ['js', 8],
    ['gzip', 8],
    ['map', 8],
    ['import median', 14],
    ['p90', 9],
    ['x baseline', 11],
    ['x own', 6],
    ['+ first use', 12],
    ['x baseline', 11],
    ['x own', 6],
    ['no maps', 9],
    ['SDK external', 13],
  ];
  const row = rowOf(columns);
  const ratio = (key: string, over: string) => {
    const value = timings.get(key);
    return value === undefined ? undefined : value.median / t(over).median;
  };
  const times = (value: number | undefined) => (value === undefined ? 'n/a' : `${value.toFixed(2)}x`);
  // The same samples, paired by round: on a shared machine whose load drifts during the run, a
  // ratio of two medians taken at different moments moves with it (the baseline's own first use
  // can come out below its import); a ratio taken within each round mostly does not.
  const paired = (key: string, over: string): { median: number; p25: number; p75: number } | undefined => {
    const a = timings.get(key)?.samples;
    const b = timings.get(over)?.samples;
    if (a === undefined || b === undefined) return undefined;
    const sorted = a.map((value, round) => value / (b[round] as number)).sort((x, y) => x - y);
    return { median: quantile(sorted, 0.5), p25: quantile(sorted, 0.25), p75: quantile(sorted, 0.75) };
  };
  /** A paired ratio with the middle half of the rounds' ratios, e.g. "1.15x (1.09-1.22)". */
  const spread = (value: ReturnType<typeof paired>) => (value === undefined ? 'n/a' : `${value.median.toFixed(2)}x (${value.p25.toFixed(2)}-${value.p75.toFixed(2)})`);
  console.log(row(columns.map(([title]) => title)));
  for (const [i, bundle] of deployed.entries()) {
    const label = entries[i]?.label ?? bundle.name;
    const own = ownBaseline(bundle.name);
    const importRatio = ratio(`deployed:${bundle.name}`, 'deployed:baseline');
    const importOwn = ratio(`deployed:${bundle.name}`, `deployed:${own}`);
    const firstUseRatio = ratio(`first-use:${bundle.name}`, 'first-use:baseline');
    const firstUseOwn = ratio(`first-use:${bundle.name}`, `first-use:${own}`);
    const firstUse = timings.get(`first-use:${bundle.name}`);
    // Judged on the paired ratios (below): a ratio of two medians taken at different moments moves with the machine's load.
    const pairedImport = Math.max(paired(`deployed:${bundle.name}`, 'deployed:baseline')?.median ?? 0, paired(`deployed:${bundle.name}`, `deployed:${own}`)?.median ?? 0);
    const pairedFirstUse = paired(`first-use:${bundle.name}`, 'first-use:baseline')?.median;
    const pairedFirstUseOwn = paired(`first-use:${bundle.name}`, `first-use:${own}`)?.median ?? 0;
    const verdicts = [
      pairedImport > TARGET_IMPORT ? 'import over target' : 'import ok',
      pairedFirstUse === undefined ? 'first use n/a' : Math.max(pairedFirstUse, pairedFirstUseOwn) > TARGET_FIRST_USE ? 'first use over target' : 'first use ok',
    ];
    const verdict = bundle.name.startsWith('baseline') ? `  answer ${answers.get(bundle.name)}` : `  ${verdicts.join(', ')}; answer ${answers.get(bundle.name)}`;
    const cells = [
      label,
      kib(bundle.bytes),
      kib(bundle.gzipBytes),
      kib(bundle.mapBytes),
      ms(t(`deployed:${bundle.name}`).median),
      ms(t(`deployed:${bundle.name}`).p90),
      times(importRatio),
      times(importOwn),
      firstUse === undefined ? 'n/a' : ms(firstUse.median),
      times(firstUseRatio),
      times(firstUseOwn),
      timings.has(`nomaps:${bundle.name}`) ? ms(t(`nomaps:${bundle.name}`).median) : '-',
      timings.has(`external:${bundle.name}`) ? ms(t(`external:${bundle.name}`).median) : '-',
    ];
    console.log(row(cells) + verdict);
  }
  console.log(
    "'no maps': the same bundle imported without --enable-source-maps. 'SDK external': @aws-sdk/* and @smithy/* left out of the bundle and resolved from node_modules, as with Lambda's built-in SDK (medians).",
  );
  console.log("'+ first use': the import and the handler's first invocation with an event answered without AWS ('answer': what it answered).");
  console.log("'x own': against the baseline of exactly the SDK clients that function builds (lib/runtime.ts depsFromEnv); the same baseline as 'x baseline' for the functions that build all four.");
  console.log(`Targets: import <= ${TARGET_IMPORT}x, import + first use <= ${TARGET_FIRST_USE}x, against both baselines, judged on the paired medians below. Figures only; nothing fails on time.`);

  const pairedColumns: Array<[string, number]> = [
    ['bundle', 34],
    ['import x baseline', 22],
    ['x own', 22],
    ['+ first use x baseline', 23],
    ['x own', 22],
  ];
  const pairedRow = rowOf(pairedColumns);
  console.log(`\nPaired: the median over the ${runs} rounds of each round's ratio (a round times every case once, in turn; every other round in reverse order), and in brackets the middle half of those ratios (25th-75th percentile).`);
  console.log(pairedRow(pairedColumns.map(([title]) => title)));
  for (const [i, bundle] of deployed.entries()) {
    if (bundle.name.startsWith('baseline')) continue;
    const own = ownBaseline(bundle.name);
    console.log(
      pairedRow([
        entries[i]?.label ?? bundle.name,
        spread(paired(`deployed:${bundle.name}`, 'deployed:baseline')),
        spread(paired(`deployed:${bundle.name}`, `deployed:${own}`)),
        spread(paired(`first-use:${bundle.name}`, 'first-use:baseline')),
        spread(paired(`first-use:${bundle.name}`, `first-use:${own}`)),
      ]),
    );
  }

  const counted = Number(process.env.BENCH_INSTRUCTIONS ?? 0);
  if (counted > 0) await printInstructions(counted, deployed, { envOf, eventOf, ownBaseline, labelOf: (name) => entries.find((e) => e.name === name)?.label ?? name });
}

/**
 * The same comparison in instructions executed instead of milliseconds (BENCH_INSTRUCTIONS=N runs of
 * each case under valgrind, `COUNTING_FLAGS`): the work a cold start does, which the load of a shared
 * machine does not change. Each case counts its fewest over the runs; how many more its most took is
 * printed beside it, to show the counts agree. Instructions are not time (a cache miss costs more than
 * an add): this says whether the milliseconds' ratios are the work's or the machine's.
 */
async function printInstructions(
  runs: number,
  bundles: Bundle[],
  of: { envOf: (name: string) => NodeJS.ProcessEnv; eventOf: (name: string) => unknown; ownBaseline: (name: string) => string; labelOf: (name: string) => string },
): Promise<void> {
  try {
    await run('valgrind', ['--version']);
  } catch {
    console.log('\nInstructions: valgrind is not installed; skipped (apt-get install valgrind).');
    return;
  }
  const empty = join(WORK_DIR, 'empty', HANDLER_BUNDLING.outFileName);
  mkdirSync(join(WORK_DIR, 'empty'), { recursive: true });
  writeFileSync(empty, 'export const handler = async () => 0;\n');
  const withMaps = [HANDLER_NODE_OPTIONS];
  const cases = [
    { key: 'empty', file: empty, env: of.envOf('baseline'), event: undefined as unknown },
    ...bundles.flatMap((b) => [
      { key: `import:${b.name}`, file: b.file, env: of.envOf(b.name), event: undefined as unknown },
      ...(of.eventOf(b.name) === undefined ? [] : [{ key: `first-use:${b.name}`, file: b.file, env: of.envOf(b.name), event: of.eventOf(b.name) }]),
    ]),
  ];
  const counts = new Map(cases.map((c) => [c.key, [] as number[]]));
  // Instruction counts do not depend on what runs beside them: as many at once as there are cores.
  const work = Array.from({ length: runs }, () => cases).flat();
  const lanes = Math.max(1, availableParallelism());
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let c = work.shift(); c !== undefined; c = work.shift()) counts.get(c.key)?.push(await instructionsOnce(c.file, withMaps, c.env, c.event));
    }),
  );
  const fewest = (key: string) => Math.min(...(counts.get(key) ?? [Number.NaN]));
  const most = (key: string) => Math.max(...(counts.get(key) ?? [Number.NaN]));
  const net = (key: string) => (counts.has(key) ? fewest(key) - fewest('empty') : undefined);
  const over = (key: string, base: string) => {
    const a = net(key);
    const b = net(base);
    return a === undefined || b === undefined ? 'n/a' : `${(a / b).toFixed(2)}x`;
  };
  const millions = (key: string) => (counts.has(key) ? `${(net(key)! / 1e6).toFixed(0)} M (+${((most(key) - fewest(key)) / 1e6).toFixed(0)})` : 'n/a');
  const columns: Array<[string, number]> = [
    ['bundle', 34],
    ['import', 14],
    ['x baseline', 11],
    ['x own', 6],
    ['+ first use', 14],
    ['x baseline', 11],
    ['x own', 6],
  ];
  const row = rowOf(columns);
  console.log(
    `\nInstructions executed (valgrind --tool=cachegrind, node ${COUNTING_FLAGS.join(' ')} ${HANDLER_NODE_OPTIONS}; fewest of ${runs} runs, less the ${(fewest('empty') / 1e6).toFixed(0)} M of a process that imports an empty module; in brackets how many more the most of the runs took)`,
  );
  console.log(row(columns.map(([title]) => title)));
  for (const bundle of bundles) {
    const own = of.ownBaseline(bundle.name);
    console.log(
      row([
        of.labelOf(bundle.name),
        millions(`import:${bundle.name}`),
        over(`import:${bundle.name}`, 'import:baseline'),
        over(`import:${bundle.name}`, `import:${own}`),
        millions(`first-use:${bundle.name}`),
        over(`first-use:${bundle.name}`, 'first-use:baseline'),
        over(`first-use:${bundle.name}`, `first-use:${own}`),
      ]),
    );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchBundles();
}
