/**
 * The package build. Two outputs, two tools, each where it is strongest:
 *
 * - the Lambda bundles the construct deploys, `dist/handlers/<name>/index.mjs` (+ map):
 *   esbuild with the options in infra/bundling.ts, the same the bench measures, so the
 *   deployed code is the measured code;
 * - the library entry points (`PACKAGE_ENTRIES`), ESM and CommonJS, with their types
 *   bundled into one `.d.mts` / `.d.cts` per entry: tsdown (Rolldown + rolldown-plugin-dts).
 *   Dependencies and peer dependencies stay imports; `onlyBundle: []` fails the build if
 *   anything else from node_modules would be copied in (a dev dependency the shipped code
 *   imports must become a dependency instead).
 *
 *   npx tsx scripts/build.ts            everything (`npm run build`; `npm pack` runs it)
 *   npx tsx scripts/build.ts handlers   the Lambda bundles only (cdk.json's app, the tests' global setup)
 */
import { chmodSync, copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { CATALOGUE_LOADER, HANDLER_BUNDLE_DIR, HANDLER_BUNDLING, HANDLER_ENTRIES, type HandlerName } from '../infra/bundling';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * The package's entry points: output name in dist/ -> source. package.json `exports` names
 * each as `./dist/<name>.{mjs,cjs}` with `./dist/<name>.d.{mts,cts}` (test/package checks
 * the two agree).
 */
export const PACKAGE_ENTRIES = {
  /** `oauth-token-broker`: getToken, invokeGetToken, BrokerError, the public types. */
  index: 'lib/index.ts',
  /** `oauth-token-broker/cdk`: the construct, its grants, the stack. */
  cdk: 'infra/index.ts',
  /** `oauth-token-broker/client`: the typed admin API client (bearer key or SigV4). */
  client: 'lib/admin-client/index.ts',
} as const;

/** The `oauth-token-broker` command (package.json `bin`): an ES module with its shebang, no types. */
export const CLI_ENTRY = { cli: 'lib/cli/bin.ts' } as const;

/** Files shipped as they are: dist path -> source. `oauth-token-broker/openapi.json` is the admin API's spec. */
export const PACKAGE_FILES = { 'openapi.json': 'docs/openapi.json' } as const;

/**
 * esbuild options for one handler from `HANDLER_BUNDLING` (the same settings
 * `nodejsBundlingOptions()` hands `NodejsFunction`). The bench and the synth test build
 * with these too, so a bundle they measure or compare is a bundle this build ships.
 */
export function handlerBuildOptions(entry: string, outfile: string): esbuild.BuildOptions {
  return {
    ...loaderBuildOptions(entry, outfile),
    plugins: [catalogueLoaderApart, middyWithoutWebStreams],
  };
}

/**
 * What `@middy/core` gets for its `import { ReadableStream } from 'node:stream/web'`: a class that
 * answers `instanceof` as Node's own does. middy uses the import only to test a streamed response
 * (`streamifyResponse`), which no broker handler sets, and importing `node:stream/web` loads Node's
 * web streams at every cold start: 1.0-1.3 ms of import (docs/benchmarks.md, part d). Behaviour is
 * unchanged: the global `ReadableStream` is the same class, reached only when something asks. A unit
 * test (test/unit/handler-bundles.test.ts) fails if a middy release uses the import any other way.
 */
export const MIDDY_WEB_STREAMS_STAND_IN = `export class ReadableStream {
  static [Symbol.hasInstance](value) { return value instanceof globalThis.ReadableStream; }
}
`;
const middyWithoutWebStreams: esbuild.Plugin = {
  name: 'middy-without-web-streams',
  setup(build) {
    build.onResolve({ filter: /^node:stream\/web$/ }, (args) =>
      /[\\/]node_modules[\\/]@middy[\\/]core[\\/]/.test(args.importer) ? { path: 'middy-web-streams', namespace: 'middy-web-streams' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'middy-web-streams' }, () => ({ contents: MIDDY_WEB_STREAMS_STAND_IN, loader: 'js' }));
  },
};

/**
 * The runtime's dynamic import of the catalogue loader becomes `import("./catalogue-loader.mjs")`,
 * left out of the bundle (infra/bundling.ts `CATALOGUE_LOADER`): a function without an operator
 * catalogue never carries zod or yaml, and one with it loads them only at start.
 */
const catalogueLoaderApart: esbuild.Plugin = {
  name: 'catalogue-loader-apart',
  setup(build) {
    const specifier = new RegExp(`^${CATALOGUE_LOADER.importedAs.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
    build.onResolve({ filter: specifier }, (args) =>
      args.kind === 'dynamic-import' && args.importer.endsWith(join('lib', 'runtime.ts')) ? { path: `./${CATALOGUE_LOADER.fileName}`, external: true } : undefined,
    );
  },
};

/** The same settings without the plugin: how the catalogue loader itself is bundled. */
function loaderBuildOptions(entry: string, outfile: string): esbuild.BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: HANDLER_BUNDLING.target,
    format: HANDLER_BUNDLING.format,
    minify: HANDLER_BUNDLING.minify,
    sourcemap: HANDLER_BUNDLING.sourceMap,
    sourcesContent: HANDLER_BUNDLING.sourcesContent,
    mainFields: [...HANDLER_BUNDLING.mainFields],
    external: [...HANDLER_BUNDLING.externalModules],
    banner: { js: HANDLER_BUNDLING.banner },
    logLevel: 'warning',
  };
}

/**
 * Bundles each handler with the shared options and writes it atomically (temp file, then
 * rename): a test synthesizing from these files while another run rebuilds them reads a
 * whole old file or a whole new one, never a half-written one. Returns the directories.
 */
export async function buildHandlers(root: string = ROOT): Promise<Record<HandlerName, string>> {
  const dirs = {} as Record<HandlerName, string>;
  await Promise.all(
    (Object.entries(HANDLER_ENTRIES) as Array<[HandlerName, string]>).map(async ([name, entry]) => {
      const dir = join(root, HANDLER_BUNDLE_DIR, name);
      const result = await esbuild.build({
        ...handlerBuildOptions(join(root, entry), join(dir, HANDLER_BUNDLING.outFileName)),
        absWorkingDir: root,
        write: false,
      });
      writeOutputs(dir, result.outputFiles);
      dirs[name] = dir;
    }),
  );
  await buildCatalogueLoader(root);
  return dirs;
}

/** `dist/handlers/catalogue-loader/catalogue-loader.mjs`: the loader the construct copies beside functions deployed with an operator catalogue. */
async function buildCatalogueLoader(root: string): Promise<void> {
  const dir = join(root, HANDLER_BUNDLE_DIR, CATALOGUE_LOADER.dir);
  const result = await esbuild.build({
    ...loaderBuildOptions(join(root, CATALOGUE_LOADER.entry), join(dir, CATALOGUE_LOADER.fileName)),
    absWorkingDir: root,
    write: false,
  });
  writeOutputs(dir, result.outputFiles);
}

/** Writes a build's files into `dir`, each through a temporary file and a rename, so a reader never sees half a bundle. */
function writeOutputs(dir: string, files: ReadonlyArray<{ path: string; contents: Uint8Array }>): void {
  mkdirSync(dir, { recursive: true });
  for (const file of files) {
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
}

/** The library entry points in dist/: `<name>.mjs`, `<name>.cjs`, `<name>.d.mts`, `<name>.d.cts`, and shared chunks. */
export async function buildLibrary(root: string = ROOT): Promise<void> {
  // Loaded here, not at the top: the bench and the tests import this module for the handler build alone.
  const { build: tsdown } = await import('tsdown');
  await tsdown({
    config: false,
    cwd: root,
    entry: { ...PACKAGE_ENTRIES },
    format: ['esm', 'cjs'],
    platform: 'node',
    target: 'node20',
    outDir: 'dist',
    // Only our own outputs: dist/handlers belongs to buildHandlers (and may be in use by a synth).
    clean: ['dist/*.mjs', 'dist/*.cjs', 'dist/*.d.mts', 'dist/*.d.cts'],
    // .mjs/.cjs whatever package.json "type" says, so each file's module system is explicit.
    fixedExtension: true,
    // `import.meta.url` in the CommonJS build (the construct finds its bundles from it).
    shims: true,
    // Not `cjsReexport`: its `export type *` stub turns every value export (getToken, the construct) into a type for CommonJS consumers.
    dts: true,
    sourcemap: false,
    deps: { onlyBundle: [] },
    // Type generation loads aws-cdk-lib's declarations and is slow by nature; the timing warning only adds noise.
    checks: { pluginTimings: false },
    logLevel: 'warn',
  });
  await tsdown({
    config: false,
    cwd: root,
    entry: { ...CLI_ENTRY },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    outDir: 'dist',
    clean: false,
    fixedExtension: true,
    dts: false,
    sourcemap: false,
    deps: { onlyBundle: [] },
    logLevel: 'warn',
  });
  chmodSync(join(root, 'dist', 'cli.mjs'), 0o755);
  for (const [target, source] of Object.entries(PACKAGE_FILES)) copyFileSync(join(root, source), join(root, 'dist', target));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const what = process.argv[2] ?? 'all';
  if (!['all', 'handlers'].includes(what)) throw new Error(`usage: tsx scripts/build.ts [all|handlers] (got "${what}")`);
  const started = performance.now();
  const dirs = await buildHandlers();
  if (what === 'all') await buildLibrary();
  const handlers = Object.values(dirs).map((d) => relative(ROOT, dirname(d)))[0];
  console.error(`built ${what === 'all' ? 'dist/ (library + handlers)' : handlers} in ${Math.round(performance.now() - started)} ms`);
}
