/**
 * Regression (issue 9, defect 6): the local runtime's edges. Requests in its first moments got
 * a 500; an unconfigured provider's install link was a 500 with an ERROR log; the documented
 * default `return_to` allowlist (the broker's own origin) was lost; a restart of `npm start`
 * killed every sandbox connection (the sandbox kept grants and keys in memory); a busy port or
 * a second `npm start` on the same data directory ended in a raw stack trace.
 *
 * The start-up cases spawn `npm start` itself (test/support/npm-start.ts) on free ports.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchCallback, followInstall } from '../support/browserless-consent';
import { captureLogs } from '../support/fuzz';
import { LocalStartError, startLocalBroker } from '../../lib/local/runtime';
import { startTestBroker, type LocalFixture } from '../support/local-broker';
import { freePort, npmStart, type NpmStart } from '../support/npm-start';

const ADMIN_KEY = 'local-start-admin-key-0123456789abcdefghij';
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'broker-start-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function started(options: Parameters<typeof npmStart>[0]): NpmStart {
  const runtime = npmStart({ ...options, env: { BROKER_ADMIN_KEY: ADMIN_KEY, ...options.env } });
  cleanups.push(() => runtime.stop());
  return runtime;
}

async function fixture(): Promise<LocalFixture> {
  const f = await startTestBroker();
  cleanups.push(() => f.close());
  return f;
}

const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

/** Installs a sandbox connection through the running `npm start`; returns its id. */
async function install(url: string): Promise<string> {
  const { callbackUrl, jar } = await followInstall(`${url}/oauth/sandbox/install`);
  // Post/redirect/get: the callback answers 303 to the "Connected" page, which names the connection.
  const res = await fetchCallback({ callbackUrl, jar }, { redirect: 'manual' });
  expect(res.status, await res.text()).toBe(303);
  const page = await (await fetch(res.headers.get('location')!)).text();
  return /Connection: <code>([^<]+)</.exec(page)![1]!;
}

/** The output of a process that ended, without blank lines. */
function outputLines(runtime: NpmStart): string[] {
  return `${runtime.stdout()}\n${runtime.stderr()}`.split('\n').map((line) => line.trim()).filter((line) => line !== '');
}

describe('defect 6: the first moments after start', () => {
  it('every request answered while npm start comes up is a 2xx or 3xx, never a 5xx', async () => {
    const port = await freePort();
    const runtime = started({ dataDir: await dataDir(), port, sandboxPort: await freePort() });
    const answers: number[] = [];
    let running = false;
    void runtime.ready.then(() => (running = true), () => undefined);
    // Ask from the first moment until a few answers after the banner.
    let afterBanner = 0;
    while (afterBanner < 3) {
      if (running) afterBanner++;
      for (const path of ['/oauth/sandbox/install', '/connections']) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}${path}`, { redirect: 'manual', headers: admin });
          await res.arrayBuffer();
          answers.push(res.status);
        } catch {
          // not accepting connections yet
        }
      }
      if (runtime.child.exitCode !== null) throw new Error(`npm start ended: ${runtime.stderr()}`);
    }
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((status) => status >= 500)).toEqual([]);
  });
});

describe('defect 6: an unconfigured provider', () => {
  it("its install link is a 404 page that says it is not configured, and logs no ERROR", async () => {
    const f = await fixture();
    const logs = captureLogs();
    let res: Response;
    let page: string;
    try {
      // HubSpot is in the built-in catalogue; the local secrets file holds only the sandbox app.
      res = await fetch(`${f.local.url}/oauth/hubspot/install`, { redirect: 'manual', headers: { accept: 'text/html' } });
      page = await res.text();
    } finally {
      logs.restore();
    }
    expect(res.status).toBe(404);
    expect(page).toContain('not configured');
    expect(page).toContain('provider_not_configured');
    expect(logs.lines.filter((line) => line.includes('"level":"ERROR"'))).toEqual([]);
  });

  it('the same as JSON for an API client', async () => {
    const f = await fixture();
    const res = await fetch(`${f.local.url}/oauth/hubspot/install`, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'provider_not_configured' } });
  });
});

describe('defect 6: the documented default return_to allowlist', () => {
  it("locally, return_to on the broker's own origin is allowed without BROKER_RETURN_TO_ALLOWLIST", async () => {
    const f = await fixture();
    const res = await fetch(`${f.local.installUrl}?return_to=${encodeURIComponent(`${f.local.url}/after-install`)}`, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(res.status, await res.text()).toBe(302);
  });

  it('another origin is still refused', async () => {
    const f = await fixture();
    const res = await fetch(`${f.local.installUrl}?return_to=${encodeURIComponent('https://elsewhere.example/after')}`, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(res.status).toBe(400);
  });
});

describe('defect 6: a restart of npm start', () => {
  it('keeps sandbox connections alive: the old access token is still accepted and the grant still refreshes', async () => {
    const dir = await dataDir();
    const ports = { port: await freePort(), sandboxPort: await freePort() };
    const first = started({ dataDir: dir, ...ports });
    await first.ready;
    const id = await install(first.url);
    const before = (await (await fetch(`${first.url}/connections/${id}/token`, { method: 'POST', headers: admin, body: '{}' })).json()) as { access_token: string };
    await first.stop();

    const second = started({ dataDir: dir, ...ports });
    await second.ready;
    const me = await fetch(`http://127.0.0.1:${ports.sandboxPort}/api/me`, { headers: { authorization: `Bearer ${before.access_token}` } });
    expect(me.status).toBe(200);
    const refreshed = await fetch(`${second.url}/connections/${id}/token`, { method: 'POST', headers: admin, body: JSON.stringify({ force_refresh: true }) });
    const body = (await refreshed.json()) as { access_token?: string };
    expect(refreshed.status, JSON.stringify(body)).toBe(200);
    expect(body.access_token).not.toBe(before.access_token);
    const status = ((await (await fetch(`${second.url}/connections/${id}`, { headers: admin })).json()) as { connection: { status: string } }).connection.status;
    expect(status).toBe('active');
  });
});

describe('defect 6: npm start refuses to start with one clear line', () => {
  it('when its port is in use', async () => {
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const runtime = started({ dataDir: await dataDir(), port, sandboxPort: await freePort() });
    expect(await runtime.exited).toBe(1);
    const lines = outputLines(runtime);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(String(port));
    expect(lines[0]).toContain('PORT=');
    expect(lines[0]).not.toMatch(/\bat .*\(.*:\d+:\d+\)/);
  });

  it('when its data directory is in use by another npm start, which keeps running', async () => {
    const dir = await dataDir();
    const first = started({ dataDir: dir, port: await freePort(), sandboxPort: await freePort() });
    await first.ready;
    const second = started({ dataDir: dir, port: await freePort(), sandboxPort: await freePort() });
    expect(await second.exited).toBe(1);
    const lines = outputLines(second);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('BROKER_DATA_DIR=');
    expect(lines[0]).not.toMatch(/\bat .*\(.*:\d+:\d+\)/);
    expect((await fetch(`${first.url}/connections`, { headers: admin })).status).toBe(200);
  });

  it('but takes over a data directory whose npm start is gone (killed, crashed)', async () => {
    const dir = await dataDir();
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeFile(join(dir, 'npm-start.pid'), `${gone}\n`);
    const runtime = started({ dataDir: dir, port: await freePort(), sandboxPort: await freePort() });
    await runtime.ready;
    expect((await fetch(`${runtime.url}/connections`, { headers: admin })).status).toBe(200);
  });
});

// A key the server could never match (a space: `Bearer my admin key` is not one bearer token), or one a
// stranger on the machine guesses, was taken as it was: every admin call answered 401 to the right
// key, or the routes were open to a guess (adversarial review, session 6).
describe('npm start refuses a BROKER_ADMIN_KEY that cannot work or is too short to keep anyone out', () => {
  it.each([['my admin key with spaces'], ['short'], ['tab\tinside-0123456789'], ['a'.repeat(15)]])('%j: a start error naming the variable, nothing started', async (key) => {
    const dir = await dataDir();
    const error = await startLocalBroker({ env: { BROKER_ADMIN_KEY: key }, dataDir: dir, port: 0, sandboxPort: 0 }).then(
      (local) => {
        cleanups.push(() => local.close());
        return undefined;
      },
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(LocalStartError);
    expect((error as Error).message).toMatch(/BROKER_ADMIN_KEY/);
    expect((error as Error).message).not.toContain(key);
  });
});

// BROKER_PUBLIC_URL is where the sandbox's and every provider's redirect_uri starts: a value that is not
// an absolute https URL (or http to this machine) was taken as it was (adversarial review, session 6).
describe('npm start refuses a BROKER_PUBLIC_URL that would build a broken or insecure redirect_uri', () => {
  it.each([['http://broker.example.com'], ['https://user:s3cret@broker.example.com'], ['https://broker.example.com/?x=1'], ['broker.example.com']])(
    '%j: a start error naming the variable, nothing started',
    async (value) => {
      const dir = await dataDir();
      const error = await startLocalBroker({ env: { BROKER_PUBLIC_URL: value }, dataDir: join(dir, 'data'), port: 0, sandboxPort: 0 }).then(
        (local) => {
          cleanups.push(() => local.close());
          return undefined;
        },
        (err: unknown) => err,
      );
      expect((error as Error).message).toMatch(/^BROKER_PUBLIC_URL /);
      expect((error as Error).message).not.toContain(value);
      // Refused before the data directory (and the database in it) was made.
      expect(existsSync(join(dir, 'data'))).toBe(false);
    },
  );
});
