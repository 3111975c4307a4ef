/**
 * `npm run synth` for real: the CDK CLI runs infra/app.ts from cdk.json, bundles the five
 * handlers with the local esbuild (no Docker, no network, no AWS credentials), runs
 * cdk-nag and CloudFormation's schema validation, and writes the cloud assembly. Then
 * the bundles are checked against what bench/bundles.ts builds from the same options.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESM_REQUIRE_BANNER, HANDLER_BUNDLING, HANDLER_ENTRIES } from '../../infra/bundling';
import { handlerBuildOptions } from '../../scripts/build';
import { REPO_ROOT } from './support';

const run = promisify(execFile);
const SYNTH_TIMEOUT_MS = 180_000;

let outdir: string;
let synth: { stdout: string; stderr: string };
let template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> }> };

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'broker-synth-'));
  const env: NodeJS.ProcessEnv = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' };
  delete env.CDK_VALIDATION; // the template tests switch it off; the real synth keeps it on
  // Credentials are not needed, and must not be used: the stack is env-agnostic.
  for (const name of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete env[name];
  synth = await run('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--output', outdir], {
    cwd: REPO_ROOT,
    env,
    timeout: SYNTH_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  template = JSON.parse(readFileSync(join(outdir, 'OAuthTokenBroker.template.json'), 'utf8'));
}, SYNTH_TIMEOUT_MS);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

/** Asset directory of each function, by its entry file (the asset path metadata CDK writes). */
function bundleDirs(): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const assetPath = resource.Metadata?.['aws:asset:path'] as string;
    const description = String(resource.Properties.Description);
    const handler = Object.keys(HANDLER_ENTRIES).find((name) => description.includes(DESCRIPTION_OF[name as keyof typeof HANDLER_ENTRIES]));
    if (handler) dirs.set(handler, join(outdir, assetPath));
  }
  return dirs;
}

const DESCRIPTION_OF: Record<keyof typeof HANDLER_ENTRIES, string> = {
  authorize: '/install',
  callback: '/callback',
  'refresh-scheduler': 'refresh scheduler',
  'refresh-worker': 'refresh worker',
  'get-token': 'getToken',
  admin: 'admin routes',
};

describe('cdk synth (CLI, offline, local esbuild)', () => {
  it('succeeds with cdk-nag enabled and writes the stack template', () => {
    expect(Object.keys(template.Resources).length).toBeGreaterThan(40);
    expect(synth.stderr).not.toMatch(/AwsSolutions-|Docker/);
  });

  it('reports nothing from the CloudFormation schema validation', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: Array<{ violations?: unknown[] }>;
    };
    expect(report.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);
  });

  it('bundles each of the five handlers as an ESM module with its source map', () => {
    const dirs = bundleDirs();
    expect([...dirs.keys()].sort()).toEqual(Object.keys(HANDLER_ENTRIES).sort());
    for (const [handler, dir] of dirs) {
      const code = readFileSync(join(dir, HANDLER_BUNDLING.outFileName), 'utf8');
      expect(code.startsWith(ESM_REQUIRE_BANNER), handler).toBe(true);
      expect(code, handler).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
      expect(existsSync(join(dir, `${HANDLER_BUNDLING.outFileName}.map`)), handler).toBe(true);
    }
  });

  it('produces byte-for-byte what the bench builds from the shared options (no drift)', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'broker-bench-'));
    try {
      await Promise.all(
        [...bundleDirs()].map(async ([handler, dir]) => {
          const outfile = join(scratch, handler, HANDLER_BUNDLING.outFileName);
          await esbuild.build({ ...handlerBuildOptions(join(REPO_ROOT, HANDLER_ENTRIES[handler as keyof typeof HANDLER_ENTRIES]), outfile), absWorkingDir: REPO_ROOT });
          expect(readFileSync(outfile, 'utf8'), handler).toBe(readFileSync(join(dir, HANDLER_BUNDLING.outFileName), 'utf8'));
        }),
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('loads a bundle in a fresh Node process (ESM with the require banner)', async () => {
    const dir = bundleDirs().get('get-token') as string;
    const { stdout } = await run(
      process.execPath,
      ['--enable-source-maps', '--input-type=module', '-e', `const m = await import(${JSON.stringify(join(dir, 'index.mjs'))}); console.log(typeof m.handler);`],
      { env: { ...process.env, AWS_REGION: 'us-east-1', BROKER_TABLE_NAME: 'synth-test', BROKER_KMS_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/test' } },
    );
    expect(stdout.trim()).toBe('function');
  });
});
