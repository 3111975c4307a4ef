/**
 * Regression (issue 8, defect 5): nothing readable at rest. The PKCE verifier was stored in
 * plaintext with the install state, the local DynamoDB files were world-readable, `npm start`
 * printed the admin key four times, and a replaced token key showed up only as
 * `decrypt_failed` on every request instead of once, at start.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalBroker, type LocalBroker } from '../../lib/local/runtime';
import { fetchCallback, followInstall } from '../support/browserless-consent';
import { captureLogs } from '../support/fuzz';
import { useFaultWorkers } from '../support/fault-broker';

const workers = useFaultWorkers();
const base = 'http://broker.test';
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'broker-at-rest-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A local broker on disk (not in memory), on random ports, with no scheduler timer. */
async function startOnDisk(dataDir: string): Promise<LocalBroker> {
  const local = await startLocalBroker({ env: {}, port: 0, sandboxPort: 0, dataDir, schedulerIntervalMs: 0 });
  cleanups.push(() => local.close());
  return local;
}

async function walk(dir: string): Promise<Array<{ path: string; mode: number; dir: boolean }>> {
  const found: Array<{ path: string; mode: number; dir: boolean }> = [{ path: dir, mode: (await stat(dir)).mode & 0o777, dir: true }];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await walk(path)));
    else found.push({ path, mode: (await stat(path)).mode & 0o777, dir: false });
  }
  return found;
}

describe('nothing secret in the table', () => {
  it('verifier not in a table scan: no attribute of any item holds the PKCE verifier the callback sends', async () => {
    const { provider, a: broker, client, tableName } = await workers();
    // The install route is public: it must not spend KMS (cipher) calls, which refreshes need.
    const cipher = broker.ctx.cipher as unknown as Record<'encrypt' | 'decrypt', (...args: unknown[]) => unknown>;
    const original = { encrypt: cipher.encrypt, decrypt: cipher.decrypt };
    let cipherCalls = 0;
    for (const name of ['encrypt', 'decrypt'] as const) cipher[name] = (...args) => (cipherCalls++, original[name].apply(broker.ctx.cipher, args));
    const authorizeUrl = await broker.startInstall({ provider: 'fault', requestBaseUrl: base }).finally(() => Object.assign(cipher, original));
    expect(cipherCalls).toBe(0);
    const { Items = [] } = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
    expect(Items.length).toBeGreaterThan(0); // the install state is there

    const redirect = await fetch(authorizeUrl, { redirect: 'manual' });
    const callback = new URL(redirect.headers.get('location')!);
    await broker.completeCallback({ provider: 'fault', query: Object.fromEntries(callback.searchParams), requestBaseUrl: base });
    const verifier = provider.requests.find((r) => r.path === '/token')?.params.code_verifier;
    expect(verifier).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{43,128}$/));

    expect(JSON.stringify(Items)).not.toContain(verifier as string);
  });
});

describe('local data', () => {
  it('data files 0600 in 0700 directories, dynalite\'s too', async () => {
    const dataDir = await tempDir();
    const local = await startOnDisk(dataDir);
    const { callbackUrl, jar } = await followInstall(local.installUrl);
    expect((await fetchCallback({ callbackUrl, jar }, { redirect: 'manual' })).status).toBe(303);
    await local.close();

    const entries = await walk(dataDir);
    expect(entries.some((e) => e.path.includes('dynamodb') && !e.dir)).toBe(true);
    const exposed = entries.filter((e) => (e.mode & 0o077) !== 0).map((e) => `${e.path.slice(dataDir.length) || '/'} ${e.mode.toString(8)}`);
    expect(exposed).toEqual([]);
  });

  it('wrong key refused at start: a replaced token key stops the broker with one clear line, the original key starts it again', async () => {
    const dataDir = await tempDir();
    const first = await startOnDisk(dataDir);
    const { callbackUrl, jar } = await followInstall(first.installUrl);
    expect((await fetchCallback({ callbackUrl, jar }, { redirect: 'manual' })).status).toBe(303);
    await first.close();

    const keyFile = join(dataDir, 'token.key');
    const original = await readFile(keyFile, 'utf8');
    await writeFile(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    await expect(startOnDisk(dataDir)).rejects.toThrow(/token key .*token\.key.* is not the key/);

    await writeFile(keyFile, original, { mode: 0o600 });
    const again = await startOnDisk(dataDir);
    expect((await again.broker.listConnections()).items).toHaveLength(1);
  });

  // Proves docs/configuration.md's "a changed signing key is only reported" (found in review: no test named it).
  it('a changed signing key is reported, not refused: the broker starts, one WARN line says so, a link minted before is refused', async () => {
    const dataDir = await tempDir();
    const first = await startOnDisk(dataDir);
    const minted = await fetch(`${first.url}/install-links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.adminKey}` },
      body: JSON.stringify({ provider: 'sandbox', connection_id: 'before-the-change' }),
    });
    expect(minted.status).toBe(201);
    const { url } = (await minted.json()) as { url: string };
    await first.close();

    await writeFile(join(dataDir, 'signing.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const logs = captureLogs();
    let again: LocalBroker;
    try {
      again = await startOnDisk(dataDir);
    } finally {
      logs.restore();
    }
    expect(logs.lines.filter((line) => line.includes('"level":"WARN"') && line.includes('signing key changed'))).toHaveLength(1);
    const opened = await fetch(url.replace(first.url, again.url), { redirect: 'manual' });
    expect(opened.status).toBe(400);
    expect(await opened.text()).toContain('install_link_invalid');
  });

  it('npm start prints the admin key once (in the dashboard URL), not four times', async () => {
    const dataDir = await tempDir();
    const child = spawn(process.execPath, ['--import', 'tsx', 'lib/local/main.ts'], {
      env: { ...process.env, PORT: '0', BROKER_SANDBOX_PORT: '0', BROKER_DATA_DIR: dataDir, BROKER_SCHEDULER_INTERVAL_S: '3600' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner within 25 s:\n${output}`)), 25_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (/Sandbox IdP.*\n[\s\S]*─{10,}/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited with ${code}:\n${output}`));
      });
    });
    const adminKey = (await readFile(join(dataDir, 'admin.key'), 'utf8')).trim();
    expect(output.split(adminKey).length - 1).toBe(1);
    expect(output).toContain(`#key=${encodeURIComponent(adminKey)}`);
  });
});
