/**
 * What Powertools Tracer would cost the handlers' cold start (issue 12: tracing of AWS SDK calls
 * only if it keeps the cold-start targets of the scale issue: import ≤ 1.1× an SDK-only
 * baseline). Three bundles, built with the options the stack deploys with: the SDK-only baseline
 * of bench/bundles.ts, the get-token handler as deployed, and the same handler with the Tracer
 * imported and constructed at module scope (as Powertools documents it). Each is imported N times
 * in a fresh `node` process, round-robin, with the functions' NODE_OPTIONS and a Lambda-like
 * environment, timing the `import()` itself; medians are printed with the ratios.
 *
 * The Tracer is not a dependency of the broker (docs/operations.md, "Tracing", says why). To run
 * this, put it where esbuild can find it without saving it:
 *   npm i --no-save @aws-lambda-powertools/tracer@2.36.0 && npx tsx bench/tracer.ts
 * or install it into another directory and point BENCH_TRACER_DIR at its node_modules.
 * BENCH_RUNS (15). Figures only; nothing fails on time.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { HANDLER_BUNDLING, HANDLER_ENTRIES, HANDLER_NODE_OPTIONS } from '../infra/bundling';
import { handlerBuildOptions } from '../scripts/build';

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const WORK_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'oauth-token-broker-tracer-bench');

const BASELINE = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
const dynamo = new DynamoDBClient({});
export const clients = [DynamoDBDocumentClient.from(dynamo), new KMSClient({}), new SecretsManagerClient({}), new EventBridgeClient({})];
export const handler = async () => clients.length;
`;

const handlerEntry = join(REPO_ROOT, HANDLER_ENTRIES['get-token']);
const TRACED = `
import { Tracer } from '@aws-lambda-powertools/tracer';
export const tracer = new Tracer({ serviceName: 'oauth-token-broker' });
export { handler } from ${JSON.stringify(handlerEntry)};
`;

/** A Lambda-like environment: the Tracer is enabled only inside Lambda. */
const CHILD_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDBENCH',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  BROKER_TABLE_NAME: 'bench',
  BROKER_KMS_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/bench',
  BROKER_SECRET_PREFIX: 'oauth-token-broker/',
  POWERTOOLS_SERVICE_NAME: 'oauth-token-broker',
};

async function build(name: string, entry: string): Promise<{ name: string; file: string; bytes: number }> {
  const file = join(WORK_DIR, name.replace(/[^a-z-]+/gi, '-'), HANDLER_BUNDLING.outFileName);
  const options = handlerBuildOptions(entry, file);
  const tracerDir = process.env.BENCH_TRACER_DIR;
  await esbuild.build({ ...options, absWorkingDir: REPO_ROOT, logLevel: 'error', ...(tracerDir ? { nodePaths: [tracerDir] } : {}) });
  return { name, file, bytes: statSync(file).size };
}

async function importOnce(file: string): Promise<number> {
  const script = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(file).href)});process.stdout.write(String(performance.now()-t));`;
  const { stdout } = await run(process.execPath, [HANDLER_NODE_OPTIONS, '--input-type=module', '-e', script], { env: CHILD_ENV, cwd: WORK_DIR });
  return Number(stdout);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

export async function benchTracer(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 15);
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(WORK_DIR, { recursive: true });
  writeFileSync(join(WORK_DIR, 'baseline.ts'), BASELINE);
  writeFileSync(join(WORK_DIR, 'traced.ts'), TRACED);
  let bundles;
  try {
    bundles = [await build('baseline', join(WORK_DIR, 'baseline.ts')), await build('get-token', handlerEntry), await build('get-token + Tracer', join(WORK_DIR, 'traced.ts'))];
  } catch (err) {
    console.log(`SKIPPED: cannot bundle the Tracer (${(err as Error).message.split('\n')[0]}). See the header of bench/tracer.ts.`);
    return;
  }
  const samples = new Map(bundles.map((b) => [b.name, [] as number[]]));
  for (const b of bundles) await importOnce(b.file); // warm the OS file cache
  for (let i = 0; i < runs; i++) for (const b of bundles) samples.get(b.name)!.push(await importOnce(b.file));
  const base = median(samples.get('baseline')!);
  const plain = median(samples.get('get-token')!);
  console.log(`Import in a fresh node ${process.version}, ${HANDLER_NODE_OPTIONS}, x${runs} (medians):`);
  for (const b of bundles) {
    const m = median(samples.get(b.name)!);
    console.log(`  ${b.name.padEnd(20)} ${`${(b.bytes / 1024).toFixed(0)} KiB`.padStart(9)} ${`${m.toFixed(1)} ms`.padStart(10)} ${`${(m / base).toFixed(2)}x baseline`.padStart(14)}`);
  }
  const traced = median(samples.get('get-token + Tracer')!);
  console.log(`  the Tracer adds ${(traced - plain).toFixed(1)} ms (${((traced / plain - 1) * 100).toFixed(0)} %) to get-token's import; target: import <= 1.1x baseline.`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchTracer();
}
