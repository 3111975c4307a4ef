/**
 * Each Lambda bundle carries the use cases its function serves and not the others (lib/broker.ts,
 * the parts each function builds instead of a whole `Broker`, whose every method a bundler must
 * keep). Proven on the bundles as the package build writes them (scripts/build.ts options), by
 * the modules that have bytes in each output.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { HANDLER_ENTRIES, type HandlerName } from '../../infra/bundling';
import { handlerBuildOptions, MIDDY_WEB_STREAMS_STAND_IN } from '../../scripts/build';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The modules of one handler's bundle after tree shaking (paths relative to the repo root). */
async function bundledModules(handler: HandlerName): Promise<string[]> {
  const output = await bundleOutput(handler);
  return Object.keys(output?.inputs ?? {});
}

/** One handler's bundle as the package build writes it, with what esbuild says went into it. */
async function bundleOutput(handler: HandlerName) {
  const result = await esbuild.build({
    ...handlerBuildOptions(path.join(ROOT, HANDLER_ENTRIES[handler]), path.join(ROOT, 'out', handler, 'index.mjs')),
    absWorkingDir: ROOT,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return Object.values(result.metafile.outputs).find((candidate) => candidate.entryPoint !== undefined);
}

const JOSE = 'node_modules/jose/';
const TOKEN_SERVICE = 'lib/connections/token-service.ts';
const INSTALL = 'lib/connections/install.ts';
const ID_TOKEN = 'lib/oauth/id-token.ts';
const TOKEN_ENDPOINT = 'lib/oauth/token-endpoint.ts';
const ADMIN = 'lib/connections/admin.ts';
const SCHEDULER = 'lib/connections/refresh-scheduler.ts';
const WORKER = 'lib/connections/refresh-worker.ts';
/** What only a broker run in one process uses (the local sweep and its in-memory queue, the start-up key check): no function. */
const IN_PROCESS_ONLY = ['lib/connections/refresh-cycle.ts', 'lib/adapters/memory-refresh-queue.ts', 'lib/connections/key-check.ts'];

/** Per function: a module its use cases need (so the check can tell), and what it must not carry. */
const EXPECTED: Record<HandlerName, { carries: string; without: string[] }> = {
  // The install link: no token service, no code exchange or id-token checks (jose), no refresh or admin code.
  authorize: { carries: INSTALL, without: [JOSE, TOKEN_SERVICE, ID_TOKEN, TOKEN_ENDPOINT, ADMIN, SCHEDULER, WORKER] },
  // The code exchange and id-token checks, but serves no token: no token service.
  callback: { carries: ID_TOKEN, without: [TOKEN_SERVICE, ADMIN, SCHEDULER, WORKER] },
  // Reads the schedule and sends jobs: no provider call, no token service, no install.
  'refresh-scheduler': { carries: SCHEDULER, without: [JOSE, TOKEN_SERVICE, TOKEN_ENDPOINT, INSTALL, ADMIN, WORKER] },
  'refresh-worker': { carries: WORKER, without: [JOSE, INSTALL, ADMIN, SCHEDULER] },
  'get-token': { carries: TOKEN_SERVICE, without: [JOSE, INSTALL, ADMIN, SCHEDULER, WORKER] },
  admin: { carries: ADMIN, without: [JOSE, ID_TOKEN, SCHEDULER, WORKER] },
};

describe('Lambda bundles', () => {
  it.each(Object.keys(HANDLER_ENTRIES) as HandlerName[])('%s carries only the use cases its function serves', async (handler) => {
    const modules = await bundledModules(handler);
    const has = (prefix: string) => modules.some((module) => module.startsWith(prefix));
    expect(has(EXPECTED[handler].carries), EXPECTED[handler].carries).toBe(true);
    expect([...EXPECTED[handler].without, ...IN_PROCESS_ONLY].filter(has)).toEqual([]);
  });
});

describe("middy's web-streams import (scripts/build.ts MIDDY_WEB_STREAMS_STAND_IN)", () => {
  it.each(['get-token', 'refresh-worker', 'callback'] as HandlerName[])('%s does not import node:stream/web', async (handler) => {
    const output = await bundleOutput(handler);
    expect(output?.imports.map((entry) => entry.path)).not.toContain('node:stream/web');
    expect(output?.imports.map((entry) => entry.path)).toContain('node:stream');
  });

  it('is used by @middy/core only to ask whether a response is a stream (so the stand-in changes nothing)', () => {
    const middy = readFileSync(path.join(ROOT, 'node_modules/@middy/core/index.js'), 'utf8');
    const uses = middy.match(/[^\n]*\bReadableStream\b[^\n]*/g) ?? [];
    expect(uses.length).toBeGreaterThan(1);
    for (const line of uses) expect(line.trim()).toMatch(/^(import \{ ReadableStream \} from "node:stream\/web";|handlerBody instanceof ReadableStream|throw new Error\("handler response not a ReadableStream"\);)$/);
  });

  it("answers instanceof as Node's ReadableStream does", async () => {
    const { ReadableStream: StandIn } = (await import(`data:text/javascript,${encodeURIComponent(MIDDY_WEB_STREAMS_STAND_IN)}`)) as { ReadableStream: new () => unknown };
    expect(new ReadableStream() instanceof StandIn).toBe(true);
    expect({ getReader: () => undefined } instanceof StandIn).toBe(false);
    expect([] instanceof StandIn).toBe(false);
  });
});
