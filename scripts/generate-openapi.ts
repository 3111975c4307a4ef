/**
 * Writes the admin API's OpenAPI document (lib/http/openapi.ts) to `docs/openapi.json`, and the
 * typed client's types derived from it (openapi-typescript) to `lib/admin-client/openapi-types.ts`.
 *
 *   npx tsx scripts/generate-openapi.ts          # write both
 *   npx tsx scripts/generate-openapi.ts --check  # exit 1 if either is out of date
 *
 * Generated files are committed, so the build, the docs and the client need no generator at
 * run time; test/integration/openapi.test.ts fails while they differ from what this renders.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminOpenApiDocument } from '../lib/http/openapi';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const OPENAPI_JSON_PATH = path.join(root, 'docs/openapi.json');
export const OPENAPI_TYPES_PATH = path.join(root, 'lib/admin-client/openapi-types.ts');

const TYPES_HEADER = `// Generated from docs/openapi.json by scripts/generate-openapi.ts (openapi-typescript). Do not edit:
// change lib/http/openapi.ts and run \`npx tsx scripts/generate-openapi.ts\` (a test fails while they differ).
/* eslint-disable */
`;

function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The document as docs/openapi.json holds it. */
export function renderOpenApiJson(): string {
  return `${JSON.stringify(adminOpenApiDocument(packageVersion()), null, 2)}\n`;
}

/** The client's types, as lib/admin-client/openapi-types.ts holds them. */
export async function renderOpenApiTypes(): Promise<string> {
  const { default: openapiTS, astToString } = await import('openapi-typescript');
  const ast = await openapiTS(JSON.parse(renderOpenApiJson()) as never, { alphabetize: true });
  return `${TYPES_HEADER}${astToString(ast)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outputs: Array<[string, string]> = [
    [OPENAPI_JSON_PATH, renderOpenApiJson()],
    [OPENAPI_TYPES_PATH, await renderOpenApiTypes()],
  ];
  if (process.argv.includes('--check')) {
    const stale = outputs.filter(([file, text]) => readFileSync(file, 'utf8') !== text).map(([file]) => path.relative(root, file));
    if (stale.length > 0) {
      console.error(`out of date: ${stale.join(', ')}; run npx tsx scripts/generate-openapi.ts`);
      process.exit(1);
    }
  } else {
    for (const [file, text] of outputs) writeFileSync(file, text);
    console.error(`wrote ${outputs.map(([file]) => path.relative(root, file)).join(', ')}`);
  }
}
