/**
 * The package as a user gets it: `npm run build`, `npm pack`, then the tarball installed
 * offline into a temp folder holding two CDK apps — one ES module, one CommonJS (what
 * `cdk init app --language typescript` makes) — each type-checked and compiled by
 * TypeScript with cdk init's module settings, run by plain `node` (so the CommonJS app
 * really `require`s the package), and synthesized. Then the templates, the broker's Lambda
 * assets in cdk.out, and `getToken` / `invokeGetToken` / `isBrokerError` imported by
 * package name from both apps. No network: npm runs with `--offline`.
 *
 * Why the temp folder gets our package-lock.json: offline, npm can only install versions
 * whose tarballs `npm ci` put in the cache, but without a lock it resolves each range to the
 * newest version in the cached registry metadata, which may be newer than any cached
 * tarball (ENOTCACHED). Seeding the lock pins the consumer to the versions this repository
 * tests with; the package itself comes from the tarball. One install serves both apps
 * (Node and TypeScript resolve from the parent folder's node_modules), which halves the
 * slowest step.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_BUNDLING, HANDLER_ENTRIES, type HandlerName } from '../../infra/bundling';
import { PACKAGE_ENTRIES } from '../../scripts/build';
import { REPO_ROOT } from '../infra/support';

const exec = promisify(execFile);
const SETUP_TIMEOUT_MS = 300_000;
const MANIFEST = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  exports: Record<string, unknown>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
const installed = (name: string) => (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/** The consumer's CDK app: the construct, a worker bound each way, an operator, an event subscription. */
const APP_SOURCE = `
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { GetTokenAccess, OAuthTokenBroker } from 'oauth-token-broker/cdk';
import { createAdminClient, type ConnectionSummary } from 'oauth-token-broker/client';

const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Consumer');
const broker = new OAuthTokenBroker(stack, 'Broker', { providers: ['hubspot'] });
const worker = (id: string) =>
  new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
broker.bindGetToken(worker('InProcessWorker'), GetTokenAccess.IN_PROCESS);
broker.bindGetToken(worker('InvokingWorker'));
broker.grantAdmin(new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() }));
broker.onConnectionEvent('Reauth', new targets.SqsQueue(new sqs.Queue(stack, 'ReauthQueue')), { types: ['connection.reauth_required'] });
// Type-checked only (no call at synth): the admin client against a deployed stack, typed from the spec.
export const operator = (apiUrl: string): Promise<ConnectionSummary[]> =>
  createAdminClient({ url: apiUrl, sigv4: true }).listConnections({ status: 'needs_reauth' }).then((page) => page.connections);
app.synth();
`;

/** Imports the runtime entry by package name and reports what it got (ESM and CommonJS flavours). */
const PROBE_BODY = `
const error = new BrokerError('needs_reauth', 'probe');
const unconfigured = await getToken('hubspot:1').then(() => 'resolved', (err) => (isBrokerError(err, 'configuration_error') ? err.code : String(err)));
let deepImport;
try { await import('oauth-token-broker/dist/index.mjs'); deepImport = 'allowed'; } catch (err) { deepImport = err.code; }
// The admin client by package name, against a local stand-in of the broker that wants the bearer key.
const server = http.createServer((req, res) => {
  const ok = req.url === '/providers' && req.headers.authorization === 'Bearer probe-key';
  res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
  res.end(JSON.stringify(ok ? { providers: [], skipped: [] } : { error: { code: 'unauthorized', message: 'no' } }));
});
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const url = 'http://127.0.0.1:' + server.address().port;
const providers = await createAdminClient({ url, adminKey: 'probe-key' }).listProviders();
const refused = await createAdminClient({ url, adminKey: 'wrong' }).listProviders().then(() => 'resolved', (err) => (err instanceof BrokerApiError ? err.code : String(err)));
server.close();
console.log(JSON.stringify({ resolved, getToken: typeof getToken, invokeGetToken: typeof invokeGetToken, isBrokerError: isBrokerError(error, 'needs_reauth'), unconfigured, deepImport, client: { providers, refused }, spec }));
`;
const ESM_PROBE = `import http from 'node:http';
import { BrokerError, getToken, invokeGetToken, isBrokerError } from 'oauth-token-broker';
import { BrokerApiError, createAdminClient } from 'oauth-token-broker/client';
const resolved = import.meta.resolve('oauth-token-broker');
const spec = import.meta.resolve('oauth-token-broker/openapi.json');
${PROBE_BODY}`;
const CJS_PROBE = `const http = require('node:http');
const { BrokerError, getToken, invokeGetToken, isBrokerError } = require('oauth-token-broker');
const { BrokerApiError, createAdminClient } = require('oauth-token-broker/client');
const resolved = require.resolve('oauth-token-broker');
const spec = require('oauth-token-broker/openapi.json').openapi;
(async () => {${PROBE_BODY}})();`;

/** cdk init's tsconfig (aws-cdk 2.1148), minus jest; one program type-checks and compiles both apps. */
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['es2022'],
    strict: true,
    noImplicitReturns: true,
    skipLibCheck: true,
    types: ['node'],
  },
  include: ['esm/*.ts', 'cjs/*.ts'],
};

type Flavour = 'esm' | 'cjs';
const FLAVOURS: Flavour[] = ['esm', 'cjs'];

let root: string;
let tarball: string;
let pack: { size: number; unpackedSize: number; files: Array<{ path: string; size: number }> };
const timings: Record<string, number> = {};
const templates = {} as Record<Flavour, Record<string, unknown>>;
const probes = {} as Record<Flavour, Record<string, unknown>>;
let typeReport: { analysis?: { problems?: unknown[] } } = {};
let binHelp = '';

/** Runs a command, records its wall time under `label`, returns stdout. No AWS credentials reach it. */
async function run(label: string, command: string, args: string[], cwd: string): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // CloudFormation schema validation adds ~8 s of CPU to each synth; test/infra/synth-cli.test.ts runs it on the same construct.
    CDK_VALIDATION: 'false',
  };
  for (const name of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete env[name];
  const started = performance.now();
  try {
    const { stdout } = await exec(command, args, { cwd, env, maxBuffer: 32 * 1024 * 1024 });
    return stdout;
  } finally {
    timings[label] = (timings[label] ?? 0) + (performance.now() - started) / 1000;
  }
}

/** An offline install of the tarball (and the CDK) into `root`, shared by both apps. */
async function installConsumers(): Promise<void> {
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({
      name: 'broker-consumers',
      private: true,
      dependencies: {
        [MANIFEST.name]: `file:${tarball}`,
        'aws-cdk-lib': installed('aws-cdk-lib'),
        constructs: installed('constructs'),
        '@types/node': installed('@types/node'),
      },
    }),
  );
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { name: string; packages: Record<string, unknown> };
  writeFileSync(join(root, 'package-lock.json'), JSON.stringify({ ...lock, name: 'broker-consumers', packages: { ...lock.packages, '': { name: 'broker-consumers' } } }));
  await run('install', 'npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], root);
}

/** Writes both apps; type-checks and compiles them in one TypeScript program; then runs each app and its probe. */
async function buildAndRunApps(): Promise<void> {
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify(TSCONFIG));
  for (const flavour of FLAVOURS) {
    const dir = join(root, flavour);
    mkdirSync(dir);
    // ESM: "type": "module". CommonJS: no "type", as `cdk init` writes it; TypeScript then emits require().
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${flavour}`, private: true, ...(flavour === 'esm' ? { type: 'module' } : {}) }));
    writeFileSync(join(dir, 'app.ts'), APP_SOURCE);
    writeFileSync(join(dir, flavour === 'esm' ? 'probe.mjs' : 'probe.cjs'), flavour === 'esm' ? ESM_PROBE : CJS_PROBE);
  }
  const probing = Promise.all(
    FLAVOURS.map(async (flavour) => {
      probes[flavour] = JSON.parse(await run(`probe ${flavour}`, process.execPath, [flavour === 'esm' ? 'probe.mjs' : 'probe.cjs'], join(root, flavour)));
    }),
  );
  await run('tsc', process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], root);
  await Promise.all(
    FLAVOURS.map(async (flavour) => {
      const dir = join(root, flavour);
      await run(`synth ${flavour}`, process.execPath, ['app.js'], dir);
      templates[flavour] = JSON.parse(readFileSync(join(dir, 'cdk.out', 'Consumer.template.json'), 'utf8'));
    }),
  );
  await probing;
  // The installed `bin`: what `npx oauth-token-broker` runs.
  binHelp = await run('bin', join(root, 'node_modules', '.bin', 'oauth-token-broker'), ['--help'], root);
}

/** arethetypeswrong on the tarball: its JSON report (it exits 1 when it finds problems). */
async function checkTypes(): Promise<void> {
  const cli = join(REPO_ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js');
  const output = await run('attw', process.execPath, [cli, tarball, '--format', 'json'], root).catch((err: { stdout?: string }) => err.stdout ?? '{}');
  typeReport = JSON.parse(output) as typeof typeReport;
}

beforeAll(async () => {
  const started = performance.now();
  root = mkdtempSync(join(tmpdir(), 'broker-consumer-'));
  await run('build', 'npm', ['run', '-s', 'build'], REPO_ROOT);
  // The build just ran; --ignore-scripts keeps prepack from running it a second time.
  const packed = JSON.parse(await run('pack', 'npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], REPO_ROOT)) as Array<
    typeof pack & { filename: string }
  >;
  pack = packed[0] as typeof pack & { filename: string };
  tarball = join(root, (packed[0] as { filename: string }).filename);
  await Promise.all([checkTypes(), installConsumers().then(buildAndRunApps)]);
  timings.total = (performance.now() - started) / 1000;
}, SETUP_TIMEOUT_MS);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  // Wall times; steps after the pack partly overlap (attw runs beside the install, the probes beside tsc).
  const figures = Object.entries(timings).map(([label, seconds]) => `${label} ${seconds.toFixed(1)} s`);
  if (pack) figures.push(`tarball ${(pack.size / 1e6).toFixed(2)} MB (${(pack.unpackedSize / 1e6).toFixed(1)} MB unpacked, ${pack.files.length} files)`);
  console.info(`package consumer: ${figures.join(', ')}`);
});

describe('the packed tarball', () => {
  it('holds the built entries, the Lambda bundles and the docs, and nothing from the sources or tests', () => {
    const paths = pack.files.map((f) => f.path).sort();
    for (const name of Object.keys(PACKAGE_ENTRIES)) {
      for (const extension of ['mjs', 'cjs', 'd.mts', 'd.cts']) expect(paths, `${name}.${extension}`).toContain(`dist/${name}.${extension}`);
    }
    for (const handler of Object.keys(HANDLER_ENTRIES)) {
      expect(paths).toContain(`dist/handlers/${handler}/${HANDLER_BUNDLING.outFileName}`);
      expect(paths).toContain(`dist/handlers/${handler}/${HANDLER_BUNDLING.outFileName}.map`);
    }
    expect(paths).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']));
    expect(paths.filter((p) => !p.startsWith('dist/') && !['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json'].includes(p))).toEqual([]);
    expect(paths.filter((p) => /\.ts$/.test(p) && !/\.d\.[mc]ts$/.test(p))).toEqual([]);
  });

  it('declares as dependencies exactly the packages its shipped entries import (aws-cdk-lib and constructs as peers)', () => {
    const imported = new Set<string>();
    for (const file of pack.files.map((f) => f.path).filter((p) => /^dist\/[^/]+\.[mc]js$/.test(p))) {
      const code = readFileSync(join(REPO_ROOT, file), 'utf8');
      // A bare specifier (a package name, maybe a subpath) in an import, a dynamic import or a require.
      for (const [, specifier] of code.matchAll(/(?:from |import\(|require\()"((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(?:\/[\w./-]*)?)"/g)) {
        if (specifier === undefined || isBuiltin(specifier)) continue;
        imported.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] as string));
      }
    }
    expect([...imported].sort()).toEqual([...Object.keys(MANIFEST.dependencies), ...Object.keys(MANIFEST.peerDependencies)].sort());
  });

  it('has exports for each built entry, with types for import and require', () => {
    const expected = Object.fromEntries(
      Object.keys(PACKAGE_ENTRIES).map((name) => [
        name === 'index' ? '.' : `./${name}`,
        {
          import: { types: `./dist/${name}.d.mts`, default: `./dist/${name}.mjs` },
          require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` },
        },
      ]),
    );
    expect(MANIFEST.exports).toEqual({ ...expected, './openapi.json': './dist/openapi.json', './package.json': './package.json' });
  });

  it('resolves with types under node10, node16 (CommonJS and ESM) and bundler resolution (arethetypeswrong)', () => {
    expect(typeReport.analysis?.problems).toEqual([]);
  });
});

describe.each(FLAVOURS)('a %s consumer app', (flavour) => {
  it('imports getToken, invokeGetToken and isBrokerError by package name, from the build for its module system', () => {
    expect(probes[flavour]).toMatchObject({ getToken: 'function', invokeGetToken: 'function', isBrokerError: true });
    expect(String(probes[flavour].resolved)).toMatch(flavour === 'esm' ? /node_modules\/oauth-token-broker\/dist\/index\.mjs$/ : /node_modules\/oauth-token-broker\/dist\/index\.cjs$/);
  });

  it('runs getToken from the package: unconfigured, it fails with the typed configuration_error', () => {
    expect(probes[flavour].unconfigured).toBe('configuration_error');
  });

  it('cannot reach past the exports map', () => {
    expect(probes[flavour].deepImport).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it('imports the admin client by package name and calls a broker with it; finds the spec at oauth-token-broker/openapi.json', () => {
    expect(probes[flavour].client).toEqual({ providers: { providers: [], skipped: [] }, refused: 'unauthorized' });
    expect(String(probes[flavour].spec)).toMatch(flavour === 'esm' ? /node_modules\/oauth-token-broker\/dist\/openapi\.json$/ : /^3\.1\.0$/);
  });

});

it('installs the oauth-token-broker command (bin), which runs: --help lists the commands and exit codes', () => {
  expect(binHelp).toMatch(/^Usage: oauth-token-broker <command>/);
  expect(binHelp).toContain('connections list');
  expect(binHelp).toContain('Exit codes:');
});

it('the ESM and the CommonJS app synthesize the same template', () => {
  expect(Object.keys(templates.cjs.Resources as object).length).toBeGreaterThan(40);
  expect(templates.cjs).toEqual(templates.esm);
});

describe('the synthesized consumer stack', () => {
  let template: Template;
  const resources = () => (templates.cjs as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }).Resources;
  const idOf = (type: string, predicate: (props: Record<string, unknown>) => boolean) => {
    const found = Object.entries(resources()).filter(([, r]) => r.Type === type && predicate(r.Properties));
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
    return (found[0] as [string, unknown])[0];
  };
  const functionId = (descriptionPart: string) => idOf('AWS::Lambda::Function', (p) => String(p.Description ?? '').includes(descriptionPart));
  /** The logical id of the role the consumer's Lambda `workerId` runs as. */
  function workerRole(workerId: string): string {
    const [, fn] = Object.entries(resources()).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith(workerId)) ?? [];
    if (!fn) throw new Error(`no function ${workerId}`);
    return (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  }
  /** Every action the role's policies allow, sorted: least privilege means this list and nothing more. */
  function actionsOf(role: string): string[] {
    return Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: role }]) } }))
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[] }> }).Statement)
      .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
      .sort();
  }

  beforeAll(() => {
    template = Template.fromJSON(templates.cjs);
  });

  it('in-process worker: the get-token function\'s data access (key use under the data-key mode\'s context), no invoke', () => {
    const role = workerRole('InProcessWorker');
    expect(actionsOf(role)).toEqual(
      ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'events:PutEvents', 'kms:Decrypt', 'kms:GenerateDataKey', 'secretsmanager:GetSecretValue'].sort(),
    );
    const statement = (pattern: Record<string, unknown>) =>
      template.hasResourceProperties('AWS::IAM::Policy', { Roles: [{ Ref: role }], PolicyDocument: { Statement: Match.arrayWith([pattern]) } });
    // Cached data keys (the default): new data keys only under exactly {provider} (the connection is
    // bound by AES-GCM), Decrypt only with the provider named (it reads both formats).
    const key = { 'Fn::GetAtt': [idOf('AWS::KMS::Key', () => true), 'Arn'] };
    statement({
      Effect: 'Allow',
      Action: 'kms:GenerateDataKey',
      Resource: key,
      Condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['provider'] }, Null: { 'kms:EncryptionContext:provider': 'false' } },
    });
    statement({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: key,
      Condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['connection_id', 'provider'] }, Null: { 'kms:EncryptionContext:provider': 'false' } },
    });
    statement({ Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: { 'Fn::GetAtt': [idOf('AWS::DynamoDB::Table', () => true), 'Arn'] } });
    statement({ Effect: 'Allow', Action: 'events:PutEvents', Condition: { StringEquals: { 'events:source': 'oauth-token-broker' } }, Resource: Match.anyValue() });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [role, 'Arn'] },
      Environment: { Variables: Match.objectLike({ BROKER_TABLE_NAME: Match.anyValue(), BROKER_KMS_KEY_ID: Match.anyValue(), BROKER_GET_TOKEN_FUNCTION_NAME: Match.absent() }) },
    });
  });

  it('invoking worker: lambda:InvokeFunction on the get-token function only, and its name in the environment', () => {
    const role = workerRole('InvokingWorker');
    const getToken = functionId('getToken for the app');
    expect(actionsOf(role)).toEqual(['lambda:InvokeFunction']);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: role }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'lambda:InvokeFunction',
            Resource: [{ 'Fn::GetAtt': [getToken, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [getToken, 'Arn'] }, ':*']] }],
          },
        ],
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [role, 'Arn'] },
      Environment: { Variables: { BROKER_GET_TOKEN_FUNCTION_NAME: { Ref: getToken } } },
    });
  });

  it('operator: execute-api:Invoke on the admin routes; event rule: the broker source and the chosen type', () => {
    const operator = idOf('AWS::IAM::Role', (p) => JSON.stringify(p.AssumeRolePolicyDocument).includes(':root'));
    expect(actionsOf(operator)).toEqual(['execute-api:Invoke']);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['oauth-token-broker'], 'detail-type': ['connection.reauth_required'] },
    });
  });

  it("has each broker function's code in cdk.out: the bundle shipped in the package", () => {
    const staged = (flavour: Flavour) => join(root, flavour, 'cdk.out');
    const manifest = JSON.parse(readFileSync(join(staged('cjs'), 'Consumer.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string } }> };
    for (const handler of Object.keys(HANDLER_ENTRIES) as HandlerName[]) {
      const description = ({ authorize: '/install', callback: '/callback', 'refresh-scheduler': 'refresh scheduler', 'refresh-worker': 'refresh worker', 'get-token': 'getToken', admin: 'admin routes' } as const)[handler];
      const code = resources()[functionId(description)]?.Properties.Code as { S3Key: string };
      const asset = manifest.files[code.S3Key.replace(/\.zip$/, '')];
      expect(asset, handler).toBeDefined();
      const shipped = readFileSync(join(root, 'node_modules', MANIFEST.name, 'dist/handlers', handler, HANDLER_BUNDLING.outFileName));
      for (const flavour of FLAVOURS) {
        expect(readFileSync(join(staged(flavour), asset?.source.path as string, HANDLER_BUNDLING.outFileName)).equals(shipped), `${flavour} ${handler}`).toBe(true);
      }
    }
  });
});
