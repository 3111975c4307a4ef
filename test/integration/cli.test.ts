/**
 * The CLI (`npx oauth-token-broker …`, lib/cli) against the local broker, one case per command,
 * run in-process with captured output; then the `--stack` path as a real process, against local
 * stand-ins: a CloudFormation endpoint (AWS_ENDPOINT_URL_CLOUDFORMATION) serving the stack's
 * ApiUrl, and an API Gateway stand-in that verifies each SigV4 signature and refuses a bad one.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../lib/admin-client';
import { EXIT, main } from '../../lib/cli/main';
import type { ConnectionRecord } from '../../lib/model';
import { startFakeCloudFormation, startSigV4Gateway, type StandIn } from '../support/aws-stand-ins';
import { fetchCallback, followInstall } from '../support/browserless-consent';
import { REPO_ROOT } from '../infra/support';
import { signedInstallUrl, startTestBroker, type LocalFixture } from '../support/local-broker';

let fixture: LocalFixture;
let cwd: string;

/** Runs the CLI in-process against the test broker; `key` false leaves the admin key to be found in `cwd`. */
async function cli(args: string[], options: { key?: boolean; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main([...args, '--url', fixture.local.url, ...(options.key === false ? [] : ['--key', fixture.local.adminKey])], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? {},
    cwd,
  });
  return { code, stdout, stderr };
}

function record(id: string, overrides: Partial<ConnectionRecord>): ConnectionRecord {
  const now = Date.now();
  return { id, provider: 'sandbox', authMode: 'OAUTH2', status: 'active', scopes: [], sealed: 'x', tokenGen: 1, version: 1, failureCount: 0, createdAt: now, updatedAt: now, ...overrides };
}

beforeAll(async () => {
  fixture = await startTestBroker({ config: { returnToAllowlist: ['https://app.example.com'] } });
  cwd = mkdtempSync(join(tmpdir(), 'broker-cli-'));
  const { callbackUrl, jar } = await followInstall(await signedInstallUrl(fixture.local, 'cli-1'));
  expect((await fetchCallback({ callbackUrl, jar })).status).toBe(200);
  const store = fixture.local.broker.ctx.store;
  await store.create(record('cli-2', { provider: 'hubspot', tenant: '42' }));
  await store.create(record('cli-3', { provider: 'hubspot', tenant: '43', status: 'needs_reauth' }));
  await store.create(record('cli-4', { provider: 'hubspot', tenant: '44' }));
});
afterAll(async () => {
  await fixture?.close();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

describe('connections list', () => {
  it('prints a table of the connections', async () => {
    const { code, stdout } = await cli(['connections', 'list']);
    expect(code).toBe(EXIT.ok);
    expect(stdout.split('\n')[0]).toMatch(/^ID\s+PROVIDER\s+TENANT\s+STATUS\s+EXPIRES\s+REFRESH DUE\s+LAST ERROR$/);
    for (const id of ['cli-1', 'cli-2', 'cli-3', 'cli-4']) expect(stdout).toMatch(new RegExp(`^${id}\\s`, 'm'));
  });

  it('--provider --status --tenant filter; --json prints the API page', async () => {
    const filtered = await cli(['connections', 'list', '--provider', 'hubspot', '--status', 'active', '--json']);
    expect(filtered.code).toBe(EXIT.ok);
    expect((JSON.parse(filtered.stdout) as { connections: Array<{ id: string }> }).connections.map((c) => c.id).sort()).toEqual(['cli-2', 'cli-4']);
    const tenant = await cli(['connections', 'list', '--provider', 'hubspot', '--tenant', '43', '--json']);
    expect((JSON.parse(tenant.stdout) as { connections: Array<{ id: string }> }).connections.map((c) => c.id)).toEqual(['cli-3']);
  });

  it('--limit gives one page and says how to go on; --all follows the cursor to the end', async () => {
    const page = await cli(['connections', 'list', '--provider', 'hubspot', '--limit', '1']);
    expect(page.code).toBe(EXIT.ok);
    expect(page.stdout.trim().split('\n')).toHaveLength(2);
    expect(page.stderr).toMatch(/^more: add --cursor \S+ \(or --all\)/);
    const all = await cli(['connections', 'list', '--provider', 'hubspot', '--limit', '1', '--all', '--json']);
    expect((JSON.parse(all.stdout) as { connections: Array<{ id: string }> }).connections.map((c) => c.id).sort()).toEqual(['cli-2', 'cli-3', 'cli-4']);
  });

  it('a bad filter value: exit 1 with the broker\'s invalid_request (JSON on stdout with --json), nothing listed', async () => {
    const { code, stdout, stderr } = await cli(['connections', 'list', '--status', 'bogus', '--json']);
    expect(code).toBe(EXIT.apiError);
    expect(JSON.parse(stdout)).toMatchObject({ error: { code: 'invalid_request', status: 400, details: { parameter: 'status' } } });
    expect(stderr).toMatch(/invalid_request \(HTTP 400\)/);
  });
});

describe('connections get | token | refresh | revoke', () => {
  it('get ID prints the connection; an unknown id exits 3', async () => {
    const found = await cli(['connections', 'get', 'cli-2']);
    expect(found.code).toBe(EXIT.ok);
    expect(found.stdout).toMatch(/^id:\s+cli-2$/m);
    expect(found.stdout).toMatch(/^tenant:\s+42$/m);
    const missing = await cli(['connections', 'get', 'nope']);
    expect(missing.code).toBe(EXIT.notFound);
    expect(missing.stderr).toMatch(/connection_not_found \(HTTP 404\)/);
  });

  it('token ID prints a working access token', async () => {
    const { code, stdout } = await cli(['connections', 'token', 'cli-1', '--json']);
    expect(code).toBe(EXIT.ok);
    const token = JSON.parse(stdout) as { access_token: string };
    expect((await fetch(`${fixture.local.sandbox.issuer}/api/me`, { headers: { authorization: `Bearer ${token.access_token}` } })).status).toBe(200);
  });

  it('refresh ID gets a new token from the provider and prints its expiry, not the token', async () => {
    const before = await fixture.local.broker.ctx.store.get('cli-1', { consistent: true });
    const { code, stdout } = await cli(['connections', 'refresh', 'cli-1']);
    expect(code).toBe(EXIT.ok);
    expect(stdout).toMatch(/^refreshed cli-1: the access token now expires \d{4}-/);
    const after = await fixture.local.broker.ctx.store.get('cli-1', { consistent: true });
    expect(after!.tokenGen).toBe(before!.tokenGen + 1);
    const token = await fixture.local.broker.getToken('cli-1');
    expect(stdout).not.toContain(token.access_token);
  });

  it('a dead grant: exit 1 with needs_reauth', async () => {
    const { code, stderr } = await cli(['connections', 'token', 'cli-3']);
    expect(code).toBe(EXIT.apiError);
    expect(stderr).toMatch(/needs_reauth \(HTTP 424\)/);
  });

  it('revoke ID revokes here and at the provider', async () => {
    const { code, stdout } = await cli(['connections', 'revoke', 'cli-1']);
    expect(code).toBe(EXIT.ok);
    expect(stdout).toBe('revoked cli-1; at the provider: revoked\n');
    expect((await fixture.local.broker.ctx.store.get('cli-1', { consistent: true }))!.status).toBe('revoked');
  });
});

describe('providers list', () => {
  it('prints the enabled providers, how each connects, and its health', async () => {
    const { code, stdout } = await cli(['providers', 'list']);
    expect(code).toBe(EXIT.ok);
    expect(stdout).toMatch(/^sandbox\s+.*install link.*\s+ok$/m);
    expect(stdout).toMatch(/^sandbox-cc\s+.*PUT \/connections\/\{id\}/m);
  });
});

describe('in a checkout of this repository', () => {
  // Regression (found in review): README's `npx oauth-token-broker …` answers "not found" in a
  // checkout, built or not (npm never links a project's own bin into its node_modules/.bin).
  it('`npm run -s cli -- …` runs the command README names, with its output and exit code', async () => {
    const run = promisify(execFile);
    const { stdout, stderr } = await run('npm', ['run', '-s', 'cli', '--', 'providers', 'list', '--json', '--url', fixture.local.url, '--key', fixture.local.adminKey], { cwd: REPO_ROOT });
    expect(stderr).toBe('');
    expect((JSON.parse(stdout) as { providers: Array<{ key: string }> }).providers.map((p) => p.key)).toContain('sandbox');
    const refused = await run('npm', ['run', '-s', 'cli', '--', 'connections', 'get', 'no-such-connection', '--url', fixture.local.url, '--key', fixture.local.adminKey], { cwd: REPO_ROOT }).catch((err: { code: number }) => err);
    expect((refused as { code?: number }).code).toBe(EXIT.notFound);
  });
});

describe('install-link', () => {
  it('install-link PROVIDER mints a signed link bound to --connection-id and --return-to; following it stores that connection', async () => {
    const { code, stdout, stderr } = await cli(['install-link', 'sandbox', '--connection-id', 'cli-linked', '--return-to', 'https://app.example.com/done', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(EXIT.ok);
    const link = JSON.parse(stdout) as { url: string; expires_at: string };
    expect(link.url).toMatch(new RegExp(`^${fixture.local.url}/oauth/sandbox/install\\?`));
    expect(Date.parse(link.expires_at)).toBeGreaterThan(Date.now());
    const { callbackUrl, jar } = await followInstall(link.url);
    const done = await fetchCallback({ callbackUrl, jar }, { redirect: 'manual' });
    expect(done.headers.get('location')).toMatch(/^https:\/\/app\.example\.com\/done/);
    expect((await fixture.local.broker.ctx.store.get('cli-linked', { consistent: true }))?.provider).toBe('sandbox');
  });

  it('prints the URL and its expiry for people; a return_to off the allowlist exits 1', async () => {
    const ok = await cli(['install-link', 'sandbox']);
    expect(ok.code).toBe(EXIT.ok);
    expect(ok.stdout).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oauth\/sandbox\/install\?\S+\nexpires \d{4}-/);
    const refused = await cli(['install-link', 'sandbox', '--return-to', 'https://evil.example/']);
    expect(refused.code).toBe(EXIT.apiError);
    expect(refused.stderr).toMatch(/return_to_not_allowed \(HTTP 400\)/);
  });
});

describe('target, usage and exit codes', () => {
  it('finds the admin key in .data/admin.key of the working directory, as npm start leaves it', async () => {
    mkdirSync(join(cwd, '.data'), { recursive: true });
    writeFileSync(join(cwd, '.data', 'admin.key'), `${fixture.local.adminKey}\n`);
    expect((await cli(['providers', 'list'], { key: false })).code).toBe(EXIT.ok);
    rmSync(join(cwd, '.data'), { recursive: true });
    const none = await cli(['providers', 'list'], { key: false });
    expect(none.code).toBe(EXIT.notAuthorized);
    expect(none.stderr).toMatch(/no admin key/);
  });

  it('--json errors the CLI raises itself use the API\'s snake_case vocabulary (unauthorized, not camelCase notAuthorized)', async () => {
    rmSync(join(cwd, '.data'), { recursive: true, force: true });
    const noKey = await cli(['providers', 'list', '--json'], { key: false });
    expect(noKey.code).toBe(EXIT.notAuthorized);
    expect(JSON.parse(noKey.stdout)).toMatchObject({ error: { code: 'unauthorized' } });
    // The same code the broker answers a wrong key with:
    const wrongKey = await cli(['providers', 'list', '--json'], { key: false, env: { BROKER_ADMIN_KEY: 'wrong' } });
    expect(JSON.parse(wrongKey.stdout)).toMatchObject({ error: { code: 'unauthorized' } });
    let printed = '';
    const unreachable = await main(['providers', 'list', '--json', '--url', 'http://127.0.0.1:9', '--key', 'k'], {
      stdout: { write: (text: string) => (printed += text) },
      stderr: { write: () => undefined },
      env: {},
      cwd,
    });
    expect(unreachable).toBe(EXIT.unreachable);
    expect(JSON.parse(printed)).toMatchObject({ error: { code: 'unreachable' } });
  });

  it('a wrong admin key exits 4', async () => {
    const { code, stderr } = await cli(['providers', 'list'], { key: false, env: { BROKER_ADMIN_KEY: 'wrong' } });
    expect(code).toBe(EXIT.notAuthorized);
    expect(stderr).toMatch(/unauthorized \(HTTP 401\)/);
  });

  it.each([
    [['connections'], /unknown command "connections"/],
    [['connections', 'list', 'extra'], /takes no arguments/],
    [['connections', 'get'], /takes ID/],
    [['connections', 'get', 'x', '--all'], /does not take --all/],
    [['connections', 'list', '--bogus'], /Unknown option '--bogus'/],
    [['connections', 'list', '--limit', 'many'], /--limit must be an integer/],
    [['providers', 'list', '--region', 'eu-west-1'], /--region goes with --stack/],
    [['providers', 'list', '--stack', 'S'], /--stack finds the URL/],
  ])('usage error %j exits 2, nothing sent', async (args, message) => {
    const { code, stderr } = await cli(args);
    expect(code).toBe(EXIT.usage);
    expect(stderr).toMatch(message);
  });

  // An empty ID (an unset shell variable) went out as DELETE /connections/ and exited 3, "not found",
  // which a script reads as "already gone"; `..` and `.` are dot segments the URL resolves away:
  // `connections get ..` fetched the dashboard page (adversarial review, session 6).
  it.each([['get'], ['token'], ['refresh'], ['revoke']])('connections %s with an ID that cannot be one ("", ".", "..") exits 2, nothing sent', async (command) => {
    for (const id of ['', '.', '..']) {
      let requests = 0;
      let stderr = '';
      const code = await main(['connections', command, id, '--url', fixture.local.url, '--key', fixture.local.adminKey], {
        stdout: { write: () => true },
        stderr: { write: (text: string) => (stderr += text) },
        env: {},
        fetch: async (...args: Parameters<typeof fetch>) => {
          requests += 1;
          return fetch(...args);
        },
      });
      expect({ id, code, requests }).toEqual({ id, code: EXIT.usage, requests: 0 });
      expect(stderr).toMatch(/not a connection id/);
    }
  });

  it('--help prints the commands and exit codes, exit 0', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(EXIT.ok);
    expect(stdout).toContain('connections list');
    expect(stdout).toMatch(/Exit codes:\n\s+0 {2}ok/);
  });

  it('a broker that does not answer exits 5', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    let stderr = '';
    const code = await main(['providers', 'list', '--url', `http://127.0.0.1:${port}`, '--key', 'k'], { stdout: { write: () => true }, stderr: { write: (t: string) => (stderr += t) }, env: {} });
    expect(code).toBe(EXIT.unreachable);
    expect(stderr).toBe(`error: the broker at http://127.0.0.1:${port}: cannot reach it (ECONNREFUSED)\n`);
  });
});

/**
 * Runs the CLI with a fetch that records every request and answers 401 without going anywhere, and
 * an admin key in `.data/admin.key` of the working directory, as `npm start` leaves it.
 */
async function recordedCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string; sent: Array<{ url: string; authorization: string | null }> }> {
  mkdirSync(join(cwd, '.data'), { recursive: true });
  writeFileSync(join(cwd, '.data', 'admin.key'), 'the-local-admin-key\n');
  const sent: Array<{ url: string; authorization: string | null }> = [];
  let stderr = '';
  try {
    const code = await main(args, {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderr += text) },
      env,
      cwd,
      fetch: async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
        const request = new Request(input, init);
        sent.push({ url: request.url, authorization: request.headers.get('authorization') });
        return Response.json({ error: { code: 'unauthorized', message: 'recorded, not sent' } }, { status: 401 });
      },
    });
    return { code, stderr, sent };
  } finally {
    rmSync(join(cwd, '.data'), { recursive: true, force: true });
  }
}

// The CLI read .data/admin.key and sent it as a bearer token to whatever --url / BROKER_URL named,
// plain http to another host included (adversarial review, session 6).
describe('the admin key goes over https, or plain http to this machine only', () => {
  it.each([
    [['--url', 'http://broker.invalid:3000'], {}],
    [['--url', 'http://10.0.0.5:3000', '--key', 'the-local-admin-key'], {}],
    [['--url', 'http://localhost.broker.invalid'], {}],
    [[], { BROKER_URL: 'http://broker.invalid' }],
    [[], { BROKER_URL: 'ftp://127.0.0.1/' }],
  ])('%j %j: exit 2, nothing sent, the key not printed', async (args, env) => {
    const { code, stderr, sent } = await recordedCli(['providers', 'list', ...args], env);
    expect({ code, sent }).toEqual({ code: EXIT.usage, sent: [] });
    expect(stderr).toMatch(/(--url|BROKER_URL) .*the admin key goes over https, or plain http to this machine only/);
    expect(stderr).not.toContain('the-local-admin-key');
  });

  it.each([['https://broker.example.com'], ['http://127.0.0.1:3000'], ['http://127.8.9.10:3000'], ['http://localhost:3000'], ['http://[::1]:3000']])(
    '%s: the key is sent',
    async (url) => {
      const { sent } = await recordedCli(['providers', 'list', '--url', url]);
      expect(sent).toEqual([{ url: `${url}/providers`, authorization: 'Bearer the-local-admin-key' }]);
    },
  );
});

// fetch refuses a URL with credentials, and its message repeats the URL: the CLI printed
// `error: the broker at https://user:pass@host: Request cannot be constructed … https://user:pass@host`.
describe('a --url with a user name or password', () => {
  it.each([
    [['--url', 'https://user:s3cret@broker.example.com'], {}],
    [['--url', 'http://admin:s3cret@127.0.0.1:9'], {}],
    [['--url', 'https://:s3cret@broker.example.com'], {}],
    [[], { BROKER_URL: 'https://user:s3cret@broker.example.com' }],
  ])('%j %j is refused (exit 2), nothing sent, the password not printed', async (args, env) => {
    const { code, stderr, sent } = await recordedCli(['providers', 'list', ...args], env);
    expect({ code, sent }).toEqual({ code: EXIT.usage, sent: [] });
    expect(stderr).toMatch(/(--url|BROKER_URL) carries a user name or password/);
    expect(stderr).not.toContain('s3cret');
  });

  it('one that is not a URL is named without its user name and password', async () => {
    const { code, stderr, sent } = await recordedCli(['providers', 'list', '--url', 'http://user:s3cret@broker.example.com:99999']);
    expect({ code, sent }).toEqual({ code: EXIT.usage, sent: [] });
    expect(stderr).toMatch(/--url "http:\/\/…@broker\.example\.com:99999" is not a URL/);
    expect(stderr).not.toMatch(/s3cret|user/);
  });
});

describe('--stack NAME: a deployed stack, through local stand-ins that verify SigV4', () => {
  const region = 'eu-west-1';
  const credentials = { accessKeyId: 'AKIDTESTSTANDIN', secretAccessKey: 'test-secret-key-for-stand-ins' };
  let gateway: StandIn;
  let cloudFormation: StandIn;

  beforeAll(async () => {
    gateway = await startSigV4Gateway({ brokerUrl: fixture.local.url, adminKey: fixture.local.adminKey, region, credentials });
    cloudFormation = await startFakeCloudFormation({ region, credentials, stacks: { Broker: { ApiUrl: gateway.url, TableName: 't' }, NotABroker: { Other: 'x' } } });
  });
  afterAll(async () => {
    await gateway?.close();
    await cloudFormation?.close();
  });

  /** The built-in command as a process: `node --import tsx lib/cli/bin.ts`, with only the AWS settings given. */
  async function spawnCli(args: string[], secretAccessKey = credentials.secretAccessKey): Promise<{ code: number; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: cwd,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_REGION: region,
      AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.url,
      AWS_CONFIG_FILE: join(cwd, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(cwd, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    try {
      // From the repository root, where `--import tsx` resolves.
      const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'lib/cli/bin.ts'), ...args], { cwd: REPO_ROOT, env });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const failed = err as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it('reads ApiUrl from the stack outputs and signs every request: the stand-in verified them all', async () => {
    const accepted = gateway.accepted;
    const { code, stdout, stderr } = await spawnCli(['connections', 'list', '--stack', 'Broker', '--provider', 'hubspot', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(EXIT.ok);
    expect((JSON.parse(stdout) as { connections: Array<{ id: string }> }).connections.map((c) => c.id).sort()).toEqual(['cli-2', 'cli-3', 'cli-4']);
    expect(gateway.accepted).toBe(accepted + 1);
    expect(cloudFormation.refused).toEqual([]);
  });

  it('signs requests with a path parameter and a body too (connections get, refresh)', async () => {
    expect((await spawnCli(['connections', 'get', 'cli-2', '--stack', 'Broker'])).code).toBe(EXIT.ok);
    expect((await spawnCli(['connections', 'token', 'cli-4', '--stack', 'Broker'])).code).toBe(EXIT.apiError); // sealed 'x' cannot be decrypted: a broker error, past the signature check
    expect(gateway.refused).toEqual([]);
  });

  it('a wrong secret key: CloudFormation refuses the signature, exit 4', async () => {
    const { code, stderr } = await spawnCli(['providers', 'list', '--stack', 'Broker'], 'not-the-secret');
    expect(code).toBe(EXIT.notAuthorized);
    expect(stderr).toMatch(/stack Broker: .*signature does not match/i);
  });

  it('the API stand-in refuses an unsigned request (403, exit 4) and one signed with the wrong key; the typed client signs right', async () => {
    const refused = gateway.refused.length;
    let stderr = '';
    const code = await main(['providers', 'list', '--url', gateway.url, '--key', 'k'], { stdout: { write: () => true }, stderr: { write: (t: string) => (stderr += t) }, env: {} });
    expect(code).toBe(EXIT.notAuthorized);
    expect(stderr).toMatch(/forbidden \(HTTP 403\)/);

    const wrongKey = new AdminClient({ url: gateway.url, sigv4: { region, credentials: { ...credentials, secretAccessKey: 'not-the-secret' } } });
    await expect(wrongKey.listProviders()).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    const rightKey = new AdminClient({ url: gateway.url, sigv4: { region, credentials } });
    await expect(rightKey.getConnection('cli-2')).resolves.toMatchObject({ id: 'cli-2' });
    expect(gateway.refused.slice(refused)).toEqual(['no SigV4 Authorization header', 'signature does not match']);
  });

  it('a stack that does not exist exits 3; a stack without ApiUrl exits 1', async () => {
    const missing = await spawnCli(['providers', 'list', '--stack', 'Nope']);
    expect(missing.code).toBe(EXIT.notFound);
    expect(missing.stderr).toMatch(/Stack with id Nope does not exist/);
    const other = await spawnCli(['providers', 'list', '--stack', 'NotABroker']);
    expect(other.code).toBe(EXIT.apiError);
    expect(other.stderr).toMatch(/has no ApiUrl output/);
  });
});
