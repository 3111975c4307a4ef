/**
 * The catalogue loader (zod, yaml, the Nango mapping) stays out of a Lambda's cold start: a
 * handler reaches it only through the dynamic import that runs when BROKER_PROVIDERS_FILE is
 * set (lib/runtime.ts). Proven on the handlers' real import graph, as esbuild bundles it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const HANDLERS = ['admin', 'authorize', 'callback', 'get-token', 'refresh-scheduler', 'refresh-worker'];
const LOADER_ONLY = [/node_modules\/zod\//, /node_modules\/yaml\//, /^lib\/providers\/(catalogue|nango|schema)\.ts$/];

/** The import graph of every handler, from one esbuild pass. */
const graph = esbuild
  .build({
    entryPoints: HANDLERS.map((name) => `functions/${name}.ts`),
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    outdir: 'out',
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: ROOT,
  })
  .then((result) => result.metafile);

/** Every module a handler evaluates at import, following static imports only. */
async function staticImports(entry: string): Promise<Set<string>> {
  const metafile = await graph;
  const reached = new Set<string>([entry]);
  const queue = [entry];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const edge of metafile.inputs[next]?.imports ?? []) {
      if (edge.kind === 'dynamic-import' || edge.external || reached.has(edge.path)) continue;
      reached.add(edge.path);
      queue.push(edge.path);
    }
  }
  return reached;
}

describe('Lambda handlers', () => {
  it.each(HANDLERS)('%s does not import the catalogue loader statically', async (name) => {
    const reached = await staticImports(`functions/${name}.ts`);
    expect(reached.has('lib/providers/lookup.ts')).toBe(true); // the graph walk does reach lib/providers
    expect([...reached].filter((module) => LOADER_ONLY.some((pattern) => pattern.test(module)))).toEqual([]);
  });
});
