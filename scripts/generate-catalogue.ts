/**
 * Regenerates `lib/providers/catalogue.generated.ts` from `lib/providers/catalogue.yaml`.
 *
 *   npx tsx scripts/generate-catalogue.ts          # validate the YAML, write the module
 *   npx tsx scripts/generate-catalogue.ts --check  # exit 1 if the module is out of date
 *
 * Why a generated module: Lambda bundles (esbuild, no file copy) must carry the built-in
 * catalogue as code, while people edit YAML with comments. The unit tests fail while the
 * two differ, so a forgotten run cannot ship.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The human-edited source. */
export const CATALOGUE_YAML_PATH = path.join(root, 'lib/providers/catalogue.yaml');
/** The module the loader imports. */
export const CATALOGUE_GENERATED_PATH = path.join(root, 'lib/providers/catalogue.generated.ts');
/** The validated built-in providers (defaults applied), which Lambda handlers use without loading zod or yaml. */
export const PROVIDERS_GENERATED_PATH = path.join(root, 'lib/providers/builtin-providers.generated.ts');

const HEADER = `// Generated from lib/providers/catalogue.yaml by scripts/generate-catalogue.ts. Do not edit:
// change the YAML and run \`npx tsx scripts/generate-catalogue.ts\` (a unit test fails while they differ).
// Plain data, so a Lambda bundle carries the catalogue without reading a file at run time.
`;

/** The YAML catalogue's entries as parsed data (comments dropped). */
export function readCatalogueYaml(yamlText: string): Record<string, unknown> {
  const data: unknown = parseYaml(yamlText);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error('lib/providers/catalogue.yaml must be a mapping of provider key to provider entry');
  }
  return data as Record<string, unknown>;
}

/** The source text of `catalogue.generated.ts` for a given YAML text (deterministic). */
export function renderGeneratedCatalogue(yamlText: string): string {
  const data = readCatalogueYaml(yamlText);
  return `${HEADER}\nexport const BUILTIN_CATALOGUE = ${JSON.stringify(data, null, 2)} as const;\n`;
}

/**
 * The source text of `builtin-providers.generated.ts`: the catalogue as validated, one JSON text per
 * provider. JSON text, not object literals: `JSON.parse` on first use costs a Lambda's cold start
 * less than evaluating some 30 KiB of nested literals at import (`npm run bench -- bundles`).
 */
export function renderBuiltinProviders(providers: ReadonlyMap<string, unknown>): string {
  const header = `// Generated from lib/providers/catalogue.yaml by scripts/generate-catalogue.ts. Do not edit.
// The built-in catalogue after validation (defaults applied), one JSON text per provider (parsed on
// first use, lib/providers/builtin.ts): what a Lambda uses when no BROKER_PROVIDERS_FILE is set, so a
// cold start loads neither zod nor yaml.
`;
  const entries = [...providers].map(([key, provider]) => `  [${JSON.stringify(key)}, ${JSON.stringify(JSON.stringify(provider))}],`);
  return `${header}
export const BUILTIN_PROVIDERS_JSON: ReadonlyArray<readonly [key: string, provider: string]> = [
${entries.join('\n')}
];
`;
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function main(args: string[]): Promise<number> {
  const yamlText = readFileSync(CATALOGUE_YAML_PATH, 'utf8');
  const rendered = renderGeneratedCatalogue(yamlText);
  const current = readIfExists(CATALOGUE_GENERATED_PATH);

  if (args.includes('--check')) {
    const { loadCatalogue } = await import('../lib/providers/catalogue');
    const providersCurrent = readIfExists(PROVIDERS_GENERATED_PATH);
    if (current === rendered && providersCurrent === renderBuiltinProviders(loadCatalogue({ env: {}, fresh: true }))) return 0;
    console.error('lib/providers/*.generated.ts are out of date: run npx tsx scripts/generate-catalogue.ts');
    return 1;
  }

  // The loader imports the generated module, so a missing one is written first (bootstrap);
  // otherwise validate before writing, so an invalid YAML never reaches the bundle.
  if (current === undefined) writeFileSync(CATALOGUE_GENERATED_PATH, rendered);
  const { parseCatalogue, BUILTIN_CATALOGUE_SOURCE } = await import('../lib/providers/catalogue');
  const providers = parseCatalogue(readCatalogueYaml(yamlText), BUILTIN_CATALOGUE_SOURCE);

  if (current !== undefined && current !== rendered) writeFileSync(CATALOGUE_GENERATED_PATH, rendered);
  const renderedProviders = renderBuiltinProviders(providers);
  if (readIfExists(PROVIDERS_GENERATED_PATH) !== renderedProviders) writeFileSync(PROVIDERS_GENERATED_PATH, renderedProviders);
  console.log(`${current === rendered ? 'Up to date' : 'Wrote'} lib/providers/catalogue.generated.ts: ${[...providers.keys()].join(', ')}`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
