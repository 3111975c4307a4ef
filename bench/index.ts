/**
 * `npm run bench`: the broker's figures, section by section, printed as a report and written
 * to `.bench/results.json`. Figures only: nothing here passes or fails on time. The exit
 * status is 1 only when an invariant the figures rest on is broken (a second provider call in
 * a stampede, provider calls that do not match refreshes, an unexpected AWS call on a path) or
 * a section crashed.
 *
 *   npm run bench                         every section (about 2-3 minutes on 2 cores)
 *   npm run bench -- stampede aws-calls   only these sections
 *
 * Knobs: BENCH_SWEEP_N (2000), BENCH_LATENCY_MS (100) and BENCH_CONCURRENCY (10) for the first
 * sweep case, BENCH_SWEEP_CASES ("100:10,50:20,20:50" replaces all cases), BENCH_STAMPEDE_N
 * (200), BENCH_STAMPEDE_K (10), BENCH_CRASH_WINDOW_N (200), BENCH_SCALE_N (1,000,000), BENCH_SCALE_HOURS (1),
 * BENCH_LOAD_N (50 installs) and BENCH_LOAD_M (1000 getToken calls); BENCH_RUNS is read by bench/bundles.ts.
 * Everything listens on 127.0.0.1 only. See docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { logger } from '../lib/logger';
import { benchAwsCalls } from './aws-calls';
import { benchCost } from './cost';
import { benchCrashWindow } from './crash-window';
import { benchLoad } from './load';
import { benchScale } from './scale';
import { benchStampede } from './stampede';
import { startBenchDynamo, type BenchDynamo } from './support/local-dynamo';
import { Checks, heading } from './support/report';
import { benchSweep } from './sweep';
import { benchHotPath, benchMemory } from './worker-memory';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// One log line per refresh would drown the report (and cost time inside the measurement).
logger.setLogLevel('SILENT');

interface BenchContext {
  dynamo: BenchDynamo;
  checks: Checks;
  cores: number;
}

interface Section {
  name: string;
  run(context: BenchContext): Promise<unknown>;
}

const SECTIONS: Section[] = [
  { name: 'sweep', run: ({ dynamo, checks, cores }) => benchSweep(dynamo, checks, cores) },
  { name: 'stampede', run: ({ dynamo, checks }) => benchStampede(dynamo, checks) },
  { name: 'aws-calls', run: ({ dynamo, checks }) => benchAwsCalls(dynamo, checks) },
  { name: 'crash-window', run: ({ dynamo, checks }) => benchCrashWindow(dynamo, checks) },
  { name: 'scale', run: ({ checks }) => benchScale(checks) },
  { name: 'bundles', run: () => runBundles() },
  { name: 'load', run: ({ checks }) => benchLoad(checks) },
  { name: 'hot-path', run: ({ checks }) => benchHotPath(checks) },
  { name: 'memory', run: ({ checks }) => benchMemory(checks) },
  { name: 'cost', run: ({ checks }) => benchCost(checks) },
];

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS_FILE = fileURLToPath(new URL('../.bench/results.json', import.meta.url));

// ---- (d) bundles: bench/bundles.ts belongs to another engineer; it is called, never edited here. ----
async function runBundles(): Promise<{ status: 'ran' | 'skipped'; wall_ms?: number; note: string }> {
  heading('(d) Bundles: handler bundle sizes and cold import time (bench/bundles.ts)');
  if (!existsSync(new URL('./bundles.ts', import.meta.url))) {
    console.log('  SKIPPED: bench/bundles.ts is not there yet; this section calls its benchBundles() once it exists.');
    return { status: 'skipped', note: 'bench/bundles.ts missing' };
  }
  const { benchBundles } = await import('./bundles');
  const started = performance.now();
  await benchBundles();
  return { status: 'ran', wall_ms: Math.round(performance.now() - started), note: 'figures are printed by benchBundles(), which returns none' };
}
// ---- end of bundles ----

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !SECTIONS.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`Unknown section(s) ${unknown.join(', ')}; sections: ${SECTIONS.map((s) => s.name).join(', ')}`);
  const sections = wanted.length === 0 ? SECTIONS : SECTIONS.filter((s) => wanted.includes(s.name));

  const startedAt = new Date();
  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    commit: gitCommit(),
  };
  console.log(`oauth-token-broker bench, ${startedAt.toISOString()}`);
  console.log(`node ${machine.node} on ${machine.platform}, ${machine.cores} x ${machine.cpu}, commit ${machine.commit}`);
  console.log(`sections: ${sections.map((s) => s.name).join(', ')}. Figures only; nothing fails on time.`);

  const checks = new Checks();
  const results: Record<string, unknown> = {};
  const dynamo = await startBenchDynamo();
  const started = performance.now();
  try {
    for (const section of sections) {
      try {
        results[section.name] = await section.run({ dynamo, checks, cores: machine.cores });
      } catch (err) {
        const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        console.log(`\n  SECTION FAILED (${section.name}): ${message}`);
        checks.failed.push(`section ${section.name} crashed: ${message}`);
        results[section.name] = { status: 'error', error: message };
      }
    }
  } finally {
    await dynamo.close();
  }
  const totalMs = Math.round(performance.now() - started);

  await mkdir(fileURLToPath(new URL('../.bench/', import.meta.url)), { recursive: true });
  await writeFile(
    RESULTS_FILE,
    `${JSON.stringify({ started_at: startedAt.toISOString(), total_ms: totalMs, machine, checks_failed: checks.failed, sections: results }, null, 2)}\n`,
  );

  heading('Summary');
  console.log(`  total ${(totalMs / 1000).toFixed(1)} s; figures written to ${RESULTS_FILE.replace(REPO_ROOT, '')}`);
  if (checks.failed.length === 0) {
    console.log('  invariants: all held');
  } else {
    console.log('  invariants NOT held:');
    for (const failure of checks.failed) console.log(`  - ${failure}`);
    process.exitCode = 1;
  }
}

function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${commit} (uncommitted changes)` : commit;
  } catch {
    return 'unknown';
  }
}

await main();
