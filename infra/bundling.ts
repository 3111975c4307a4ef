/**
 * The one definition of how a handler is bundled, shared by the package build
 * (scripts/build.ts, which writes the bundles the construct deploys), by
 * `nodejsBundlingOptions()` for an app's own in-process getToken Lambda, and by
 * `bench/bundles.ts`, so the figures the bench prints are the figures of what gets
 * deployed. Plain data: no aws-cdk-lib (the bench loads this without paying for the
 * CDK) and no esbuild (the construct ships in the package, esbuild does not).
 */

/** Node major of the Lambda runtime (`nodejs24.x`, the newest aws-cdk-lib 2.276 knows; cdk-nag L1 wants the newest). */
export const LAMBDA_NODE_MAJOR = 24;

/**
 * ESM output needs `require` for the few CommonJS dependencies that call it; the
 * alias keeps the banner's import from colliding with a bundled `createRequire`.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __brokerCreateRequire } from 'node:module'; const require = __brokerCreateRequire(import.meta.url);";

/**
 * Bundling settings, in the vocabulary both esbuild and `NodejsFunction` understand.
 *
 * The AWS SDK v3 clients are bundled (no externals): the deployed code runs the exact,
 * pinned versions the tests ran against (the runtime's copy changes under you and
 * lib-dynamodb must match client-dynamodb), and a minified single file imports faster
 * than resolving the runtime's unminified packages — `npm run bench` prints both.
 */
export const HANDLER_BUNDLING = {
  target: `node${LAMBDA_NODE_MAJOR}`,
  format: 'esm',
  /** `NodejsFunction` names ESM output `index.mjs`, so Node treats it as a module without a package.json. */
  outFileName: 'index.mjs',
  minify: true,
  sourceMap: true,
  /** Stack traces map to lib/ and functions/ lines; the sources themselves stay out of the zip. */
  sourcesContent: false,
  /** Prefer the SDK's ES module builds (tree-shakeable) over its CommonJS ones. */
  mainFields: ['module', 'main'],
  externalModules: [] as string[],
  banner: ESM_REQUIRE_BANNER,
} as const;

/**
 * `NODE_OPTIONS` the functions run with (stack traces through the source map). The
 * function construct sets it, and the bench imports each bundle with it, because loading
 * the map is part of the cold-start cost.
 */
export const HANDLER_NODE_OPTIONS = '--enable-source-maps';

/**
 * Where the package build (scripts/build.ts) writes each handler's bundle, relative to the
 * package root: `dist/handlers/<name>/index.mjs` and its map. The construct deploys these
 * prebuilt bundles, in this repository and from the installed package alike.
 */
export const HANDLER_BUNDLE_DIR = 'dist/handlers';

/** The package name; the construct finds its own package root (and so the bundles) by it. */
export const PACKAGE_NAME = 'oauth-token-broker';

/** The Lambda handlers, by the name the stack and the bench give them; paths relative to the repo root. */
export const HANDLER_ENTRIES = {
  authorize: 'functions/authorize.ts',
  callback: 'functions/callback.ts',
  'refresh-scheduler': 'functions/refresh-scheduler.ts',
  'refresh-worker': 'functions/refresh-worker.ts',
  'get-token': 'functions/get-token.ts',
  admin: 'functions/admin.ts',
} as const;

export type HandlerName = keyof typeof HANDLER_ENTRIES;

/**
 * The operator-catalogue loader (zod and yaml: half a handler's bytes) as its own file. The
 * handlers import it dynamically, only when `BROKER_PROVIDERS_FILE` is set (lib/runtime.ts); the
 * build turns that import into `import("./catalogue-loader.mjs")`, left out of the handler
 * bundles, and writes the loader once to `dist/handlers/catalogue-loader/`. The construct copies
 * it next to each function's `index.mjs` only when it deploys an operator catalogue.
 */
export const CATALOGUE_LOADER = {
  /** Source of the loader, relative to the repo root. */
  entry: 'lib/providers/catalogue.ts',
  /** How lib/runtime.ts imports it (a dynamic import). */
  importedAs: './providers/catalogue',
  /** Its directory under `HANDLER_BUNDLE_DIR`. */
  dir: 'catalogue-loader',
  /** Its file name, there and beside each function's `index.mjs`. */
  fileName: 'catalogue-loader.mjs',
} as const;
