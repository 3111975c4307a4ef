/**
 * (f) Load: `npm start` as a developer runs it (a child process: dynalite on disk, the key
 * file, the sandbox oidc-provider), driven over loopback HTTP from this process.
 *
 * Phase 1: N complete installs at once, each one a person's whole path (install link → the
 * sandbox's consent, auto-approved, each as its own sandbox account → the callback that
 * exchanges the code, validates the id_token and stores the connection). Phase 2: M getToken calls at once (`POST /connections/{id}/token`), spread over
 * the N connections. Printed per phase: wall time, throughput, latency p50/p95/p99/max, errors.
 * Invariants (exit 1 when broken): no errors, and exactly N connections stored afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { fetchCallback, followInstall, openInstall } from '../test/support/browserless-consent';
import { freePort, npmStart } from '../test/support/npm-start';
import { Checks, envInt, heading, ms, percentiles, perSecond, printTable, round, type Percentiles } from './support/report';

export interface LoadPhase {
  phase: 'install' | 'getToken';
  calls: number;
  errors: number;
  wall_ms: number;
  per_second: number;
  latency_ms: Percentiles;
}

export interface LoadFigures {
  installs: number;
  get_token_calls: number;
  connections_stored: number;
  phases: LoadPhase[];
}

interface Outcome {
  ok: boolean;
  ms: number;
  connectionId?: string;
}

async function timed(run: () => Promise<string | undefined>): Promise<Outcome> {
  const started = performance.now();
  try {
    const connectionId = await run();
    return { ok: true, ms: performance.now() - started, ...(connectionId ? { connectionId } : {}) };
  } catch {
    return { ok: false, ms: performance.now() - started };
  }
}

function phaseOf(phase: LoadPhase['phase'], outcomes: Outcome[], wallMs: number): LoadPhase {
  return {
    phase,
    calls: outcomes.length,
    errors: outcomes.filter((o) => !o.ok).length,
    wall_ms: Math.round(wallMs),
    per_second: round((outcomes.length / wallMs) * 1000, 1),
    latency_ms: percentiles(outcomes.map((o) => o.ms)),
  };
}

export async function benchLoad(checks: Checks): Promise<LoadFigures> {
  const installs = envInt('BENCH_LOAD_N', 50);
  const calls = envInt('BENCH_LOAD_M', 1000);
  heading(`(f) Load: ${installs} concurrent installs, then ${calls} concurrent getToken, against npm start (a child process)`);

  const dataDir = await mkdtemp(join(tmpdir(), 'broker-bench-load-'));
  const adminKey = randomBytes(24).toString('base64url');
  const runtime = npmStart({
    dataDir,
    port: await freePort(),
    sandboxPort: await freePort(),
    // The sweep would refresh nothing in an hour-long token's first minutes; keep it out of the figures.
    env: { BROKER_ADMIN_KEY: adminKey, BROKER_SCHEDULER_INTERVAL_S: '3600' },
  });
  try {
    await runtime.ready;
    const admin = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };

    // Phase 1: N people install at once.
    let started = performance.now();
    const installed = await Promise.all(
      Array.from({ length: installs }, (_, i) =>
        timed(async () => {
          // Each person is another sandbox account (its login_hint), so each install is its own connection.
          // In its own browser: the install cookie the link sets comes back with the callback.
          const { authorizeUrl, jar, response } = await openInstall(`${runtime.url}/oauth/sandbox/install`);
          await response.arrayBuffer();
          authorizeUrl.searchParams.set('login_hint', `load-${i}`);
          const { callbackUrl } = await followInstall(authorizeUrl.toString(), { jar });
          const res = await fetchCallback({ callbackUrl, jar }, { redirect: 'manual' });
          const page = await res.text();
          const id = /connection_id: ([^<]+)</.exec(page)?.[1];
          if (res.status !== 200 || !id) throw new Error(`callback answered ${res.status}`);
          return id;
        }),
      ),
    );
    const installPhase = phaseOf('install', installed, performance.now() - started);
    const ids = installed.flatMap((o) => (o.connectionId ? [o.connectionId] : []));

    // Phase 2: M getToken calls at once, round-robin over the connections.
    started = performance.now();
    const tokens = await Promise.all(
      Array.from({ length: ids.length === 0 ? 0 : calls }, (_, i) =>
        timed(async () => {
          const res = await fetch(`${runtime.url}/connections/${encodeURIComponent(ids[i % ids.length]!)}/token`, { method: 'POST', headers: admin, body: '{}' });
          const body = (await res.json()) as { access_token?: unknown };
          if (res.status !== 200 || typeof body.access_token !== 'string') throw new Error(`token answered ${res.status}`);
          return undefined;
        }),
      ),
    );
    const tokenPhase = phaseOf('getToken', tokens, performance.now() - started);

    const stored = await countConnections(runtime.url, admin);
    const phases = [installPhase, tokenPhase];
    printTable(
      ['phase', 'calls', 'errors', 'wall', 'throughput', 'p50', 'p95', 'p99', 'max'],
      phases.map((p) => [
        p.phase === 'install' ? 'install → consent → callback' : 'getToken (POST …/token)',
        String(p.calls),
        `${p.errors} ${checks.expect(p.errors === 0, `load ${p.phase}: no errors (got ${p.errors})`)}`,
        ms(p.wall_ms),
        perSecond(p.per_second),
        ms(p.latency_ms.p50),
        ms(p.latency_ms.p95),
        ms(p.latency_ms.p99),
        ms(p.latency_ms.max),
      ]),
    );
    console.log(`  connections stored: ${stored} ${checks.expect(stored === installs, `load: ${installs} connections stored (got ${stored})`)}`);
    console.log('  Latency is per call, all of a phase started together. An install is 6 HTTP requests and one code');
    console.log('  exchange with the sandbox; getToken is served from the warm cache once a connection was read.');
    return { installs, get_token_calls: calls, connections_stored: stored, phases };
  } finally {
    await runtime.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Connections the runtime lists, page by page. */
async function countConnections(url: string, headers: Record<string, string>): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const res = await fetch(`${url}/connections?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers });
    const page = (await res.json()) as { connections: unknown[]; cursor?: string };
    count += page.connections.length;
    cursor = page.cursor;
  } while (cursor);
  return count;
}
