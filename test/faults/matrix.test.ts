/**
 * The fault matrix: one named test per cell, so the table in docs/design.md ("Fault matrix") can
 * be read off this file. Every cell refreshes a connection while one thing goes wrong and asserts
 * what must hold there:
 *   - no connection lost and no refresh token dropped: the connection is still active and the
 *     refresh token it stores is one the provider accepts (`keeps`) — except a dead grant, which
 *     the provider itself killed, and SIGKILL after the provider's answer on a provider with reuse
 *     detection: that is the crash window (docs/design.md, "The crash window"), and its cell says so;
 *   - no second provider call (counted by the fault provider) — except when a lease expires under a
 *     slow provider, where fencing must still keep every rotated token.
 *
 * Provider and store cells run in-process on dynalite; the SIGKILL cells run a child broker process
 * (./support/kill-child.ts, bundled here) killed at each phase, then a restarted one on the same data.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbProviderHealthStore } from '../../lib/adapters/dynamodb-health-store';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { KmsTokenCipher } from '../../lib/adapters/kms-cipher';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import type { Broker } from '../../lib/broker';
import { DEFAULT_CONFIG } from '../../lib/connections/context';
import { unseal } from '../../lib/connections/sealing';
import type { AccessToken } from '../../lib/model';
import { ESM_REQUIRE_BANNER } from '../../infra/bundling';
import { useDynalite } from '../support/dynamo';
import { faultBroker, installFault, useFaultWorkers, type FaultWorkers } from '../support/fault-broker';
import { fakeKms } from '../support/fake-kms';
import { startFaultProvider, type FaultProvider, type FaultProviderOptions } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';
import type { KillChildConfig, KillPhase, StepResult } from './support/kill-child';

const setup = useFaultWorkers();
const kms = mockClient(KMSClient);
let kmsFault: { command: 'GenerateDataKey' | 'Decrypt'; name: string } | undefined;
beforeEach(() => {
  kms.reset();
  kmsFault = undefined;
  fakeKms(kms, (command) => {
    if (kmsFault?.command === command) throw Object.assign(new Error(kmsFault.name), { name: kmsFault.name });
  });
});

/** The refresh token the connection stores now. */
async function storedRefreshToken(workers: Pick<FaultWorkers, 'store'>, broker: Broker, id: string): Promise<string | undefined> {
  const record = (await workers.store.get(id, { consistent: true }))!;
  return (await unseal(broker.ctx.cipher, record, record.sealed)).token?.refresh_token;
}

/** "No connection lost and no refresh token dropped": still active, and the stored refresh token is one the provider accepts. */
async function expectKept(workers: Pick<FaultWorkers, 'store' | 'provider'>, broker: Broker, id: string): Promise<void> {
  expect((await workers.store.get(id, { consistent: true }))!.status).toBe('active');
  expect(workers.provider.isRefreshTokenValid((await storedRefreshToken(workers, broker, id))!)).toBe(true);
}

/** Installs a connection and expires its token; provider counters start from zero. */
async function expiredConnection(workers: FaultWorkers, id: string): Promise<string> {
  await installFault(workers.a, workers.provider, id);
  workers.clock.advance(3600_000 + 1);
  workers.provider.resetCounters();
  return id;
}

const refreshCalls = (provider: FaultProvider) => provider.calls.byGrant.refresh_token ?? 0;

describe('fault matrix: the provider', () => {
  it('provider 5xx: token kept, counted against the provider (not the connection), one provider call', async () => {
    const workers = await setup();
    const id = await expiredConnection(workers, 'm-5xx');
    workers.provider.script.push({ status: 502, body: 'Bad Gateway' });
    await expect(workers.a.getToken(id)).rejects.toMatchObject({ code: 'provider_unavailable', status: 503 });
    expect(refreshCalls(workers.provider)).toBe(1);
    expect((await workers.store.get(id, { consistent: true }))!.failureCount).toBe(0);
    expect(await workers.health.getHealth('fault')).toMatchObject({ failures: 1 });
    await expectKept(workers, workers.a, id);
  });

  it('provider 429, app-wide limit: counted against the provider, one provider call', async () => {
    const workers = await setup({}, { fault: { rate_limit_scope: 'app' } });
    const id = await expiredConnection(workers, 'm-429-app');
    workers.provider.script.push({ status: 429, headers: { 'retry-after': '30' } });
    await expect(workers.a.getToken(id)).rejects.toMatchObject({ code: 'provider_unavailable' });
    expect(refreshCalls(workers.provider)).toBe(1);
    expect((await workers.store.get(id, { consistent: true }))!.failureCount).toBe(0);
    expect(await workers.health.getHealth('fault')).toMatchObject({ failures: 1 });
    await expectKept(workers, workers.a, id);
  });

  it('provider 429, per-account limit: that connection backs off (Retry-After capped at 5 min), the provider is not blamed, one provider call', async () => {
    const workers = await setup();
    const id = await expiredConnection(workers, 'm-429-account');
    workers.provider.script.push({ status: 429, headers: { 'retry-after': '86400' } });
    await expect(workers.a.getToken(id)).rejects.toMatchObject({ code: 'provider_unavailable', details: { retry_after_s: 300 } });
    expect(refreshCalls(workers.provider)).toBe(1);
    expect((await workers.store.get(id, { consistent: true }))!).toMatchObject({ failureCount: 1, refreshDueAt: workers.clock.now() + 300_000 });
    expect(await workers.health.getHealth('fault')).toBeUndefined();
    await expectKept(workers, workers.a, id);
  });

  it('provider timeout: 504, token kept, counted against the provider, one provider call', async () => {
    const workers = await setup();
    const id = await expiredConnection(workers, 'm-timeout');
    workers.provider.script.push({ hang: true });
    await expect(workers.a.getToken(id)).rejects.toMatchObject({ code: 'provider_timeout', status: 504 });
    expect(refreshCalls(workers.provider)).toBe(1);
    expect(await workers.health.getHealth('fault')).toMatchObject({ failures: 1, lastFailure: { code: 'provider_timeout' } });
    await expectKept(workers, workers.a, id);
  });

  it('connection reset: 503 (network), token kept, counted against the provider, one provider call', async () => {
    const workers = await setup();
    const id = await expiredConnection(workers, 'm-reset');
    workers.provider.script.push({ reset: true });
    await expect(workers.a.getToken(id)).rejects.toMatchObject({ code: 'provider_unavailable', details: { network: true } });
    expect(refreshCalls(workers.provider)).toBe(1);
    expect(await workers.health.getHealth('fault')).toMatchObject({ failures: 1 });
    await expectKept(workers, workers.a, id);
  });

  it('malformed body: 502 provider_error, token kept, that connection backs off, one provider call', async () => {
    const workers = await setup();
    const id = await expiredConnection(workers, 'm-malformed');
    workers.provider.script.push({ status: 200, body: '{"access_token": ' });
    await expect(workers.a.getToken(id)).rejects.toMatchObject({ code: 'provider_error', status: 502 });
    expect(refreshCalls(workers.provider)).toBe(1);
    expect((await workers.store.get(id, { consistent: true }))!.failureCount).toBe(1);
    await expectKept(workers, workers.a, id);
  });

  it('invalid_grant: 424 needs_reauth and the event, one provider call (the provider killed the grant; nothing of ours is dropped)', async () => {
    const workers = await setup();
    const id = await expiredConnection(workers, 'm-invalid-grant');
    workers.provider.revokeAll();
    await expect(workers.a.getToken(id)).rejects.toMatchObject({ code: 'needs_reauth', status: 424 });
    expect(refreshCalls(workers.provider)).toBe(1);
    expect((await workers.store.get(id, { consistent: true }))!.status).toBe('needs_reauth');
    expect(workers.events.ofType('connection.reauth_required')).toHaveLength(1);
  });

  // RD Station nests its error code: {"errors":{"error_type":"INVALID_REFRESH_TOKEN"}}, found through the
  // catalogue's `error_code_paths` (issue 13); the default paths include errors.error_type.
  it('dead RD Station grant (nested errors.error_type): 424 needs_reauth, one provider call', async () => {
    const workers = await setup({ deadGrantBody: { errors: { error_type: 'INVALID_REFRESH_TOKEN', error_message: 'revoked' } }, deadGrantStatus: 400 });
    const id = await expiredConnection(workers, 'm-rd-dead');
    workers.provider.revokeAll();
    await expect(workers.a.getToken(id)).rejects.toMatchObject({ code: 'needs_reauth', status: 424 });
    expect(refreshCalls(workers.provider)).toBe(1);
    expect((await workers.store.get(id, { consistent: true }))!.status).toBe('needs_reauth');
  });

  it('slower than the lease: a second worker takes the lease over (the one allowed second call); fencing keeps every rotated token', async () => {
    const workers = await setup();
    const { a, b, clock, provider } = workers;
    const id = await expiredConnection(workers, 'm-slow');
    let bPending!: Promise<AccessToken>;
    let releaseB!: () => void;
    let bAtProvider!: () => void;
    const bArrived = new Promise<void>((resolve) => (bAtProvider = resolve));
    let n = 0;
    provider.onRequest = async (req) => {
      if (req.path !== '/token') return;
      n++;
      if (n === 1) {
        clock.advance(a.ctx.config.leaseMs + 1_000); // A's call outlives its lease ...
        bPending = b.getToken(id, { forceRefresh: true }); // ... and B takes the lease over
        await bArrived;
      } else if (n === 2) {
        bAtProvider();
        await new Promise<void>((resolve) => (releaseB = resolve));
      }
    };
    await a.getToken(id); // A: RT1 → RT2; its commit is fenced off, so it parks RT2 for B
    releaseB(); // B: RT1 is refused (used); B finds the parked RT2 and refreshes with it
    await bPending;
    provider.onRequest = undefined;
    expect(refreshCalls(provider)).toBe(3);
    expect(workers.events.ofType('connection.reauth_required')).toHaveLength(0);
    await expectKept(workers, a, id);
  });
});

describe('fault matrix: DynamoDB', () => {
  const throttled = () => Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ProvisionedThroughputExceededException' });

  it('DynamoDB throttling on the lease write: the provider is not asked, nothing changes', async () => {
    const workers = await setup();
    const id = await expiredConnection(workers, 'm-ddb-lease');
    const update = workers.a.ctx.store.update.bind(workers.a.ctx.store);
    (workers.a.ctx.store as DynamoDbConnectionStore).update = async (...args) => {
      if (args[2].set?.leaseOwner) throw throttled();
      return update(...args);
    };
    await expect(workers.a.getToken(id)).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(refreshCalls(workers.provider)).toBe(0);
    await expectKept(workers, workers.a, id);
  });

  it('DynamoDB throttling on the commit: retried, committed; one provider call', async () => {
    const workers = await setup();
    const id = await expiredConnection(workers, 'm-ddb-commit');
    const update = workers.a.ctx.store.update.bind(workers.a.ctx.store);
    let failures = 0;
    (workers.a.ctx.store as DynamoDbConnectionStore).update = async (...args) => {
      if (args[2].set?.sealed && failures++ < 3) throw throttled();
      return update(...args);
    };
    await workers.a.getToken(id);
    expect(refreshCalls(workers.provider)).toBe(1);
    expect((await workers.store.get(id, { consistent: true }))!.tokenGen).toBe(2);
    await expectKept(workers, workers.a, id);
  });

  it('DynamoDB conditional failure on the commit (the item changed under the lease): the rotated token is committed on a re-read; one provider call', async () => {
    const workers = await setup();
    const id = await expiredConnection(workers, 'm-ddb-conditional');
    workers.provider.onRequest = async (req) => {
      if (req.path !== '/token') return;
      // While the provider works, another writer moves the version (an admin edit, a racing revoke check...).
      const record = (await workers.store.get(id, { consistent: true }))!;
      await workers.store.update(id, record.version, { set: { metadata: { touched: 'yes' } } });
    };
    await workers.a.getToken(id);
    workers.provider.onRequest = undefined;
    expect(refreshCalls(workers.provider)).toBe(1);
    expect((await workers.store.get(id, { consistent: true }))!).toMatchObject({ tokenGen: 2, metadata: { touched: 'yes' } });
    await expectKept(workers, workers.a, id);
  });

  it('a write failing after the provider answered: the token set is kept in memory and committed by the next attempt; one provider call', async () => {
    const workers = await setup();
    const id = await expiredConnection(workers, 'm-ddb-down');
    const update = workers.a.ctx.store.update.bind(workers.a.ctx.store);
    let down = true;
    (workers.a.ctx.store as DynamoDbConnectionStore).update = async (...args) => {
      if (down && args[2].set?.sealed) throw Object.assign(new Error('unavailable'), { name: 'InternalServerError' });
      return update(...args);
    };
    const served = await workers.a.getToken(id);
    expect(served.access_token).toBeTruthy();
    down = false;
    workers.clock.advance(3600_000 + 1); // the next due refresh commits the unsaved set first
    await workers.a.getToken(id);
    expect(refreshCalls(workers.provider)).toBe(2);
    await expectKept(workers, workers.a, id);
  });
});

describe('fault matrix: KMS', () => {
  const dynamo = useDynalite();
  const KEY_ID = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

  /** A broker sealing with the real KMS adapter on the fake KMS. */
  async function kmsWorker(): Promise<{ broker: Broker; provider: FaultProvider; store: DynamoDbConnectionStore; id: string }> {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now });
    const tableName = await dynamo.newTable();
    const store = new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock });
    // Cached data keys (the default), on the test's clock: the hour below ages the install's key out, so the refresh needs a new one.
    const cipher = new KmsTokenCipher({ keyId: KEY_ID, client: new KMSClient({ region: 'eu-west-1' }), clock });
    const { broker } = faultBroker({ store, provider, clock, cipher });
    const id = await installFault(broker, provider, 'm-kms');
    clock.advance(3600_000 + 1);
    provider.resetCounters();
    return { broker, provider, store, id };
  }

  it.each([
    ['KMS throttling', 'ThrottlingException'],
    ['KMS access denied', 'AccessDeniedException'],
  ])('%s on the data key: the provider is not asked, nothing changes, the lease is given back', async (_cell, name) => {
    const { broker, provider, store, id } = await kmsWorker();
    try {
      kmsFault = { command: 'GenerateDataKey', name };
      await expect(broker.getToken(id)).rejects.toMatchObject({ code: 'internal_error' });
      expect(refreshCalls(provider)).toBe(0);
      const record = (await store.get(id, { consistent: true }))!;
      expect(record).toMatchObject({ status: 'active', tokenGen: 1 });
      expect(record.leaseOwner).toBeUndefined();
      kmsFault = undefined;
      await expectKept({ store, provider }, broker, id);
    } finally {
      await provider.close();
    }
  });
});

// ---- SIGKILL per phase ------------------------------------------------------------------------

type ProviderKind = 'rotating with reuse detection' | 'not rotating';
type SigkillPhase = 'after the lease' | 'while the provider holds the request' | 'after the answer, before the commit' | 'after the commit';

const PHASES: Record<SigkillPhase, KillPhase | 'provider'> = {
  'after the lease': 'leased',
  'while the provider holds the request': 'provider',
  'after the answer, before the commit': 'answered',
  'after the commit': 'committed',
};
const KINDS: Record<ProviderKind, FaultProviderOptions> = {
  'rotating with reuse detection': { reuseDetection: true },
  'not rotating': { rotateRefreshTokens: false },
};
/** The children's tuning: a lease long enough to still be live 40 s into the restarted broker's clock, gone 130 s in. */
const CHILD = { providerTimeoutMs: 2_000, leaseMs: 90_000, tokenLifetimeS: 60 };
/** Restarted broker: first a caller 40 s on (token inside its refresh skew, still valid, the dead lease live), then a forced caller 130 s on (lease and token expired). */
const RESTART_STEPS = [
  { offsetMs: 40_000, force: false },
  { offsetMs: 130_000, force: true },
];

describe('fault matrix: SIGKILL of a broker process at each phase of a refresh, restarted on the same data', () => {
  const dynamo = useDynalite();
  let bundleDir: string;
  let bundle: string;

  beforeAll(async () => {
    bundleDir = await mkdtemp(join(tmpdir(), 'kill-child-'));
    bundle = join(bundleDir, 'kill-child.mjs');
    // Bundled once and run with plain node: a tsx start costs seconds on a loaded 2-core machine.
    await esbuild.build({
      entryPoints: [fileURLToPath(new URL('./support/kill-child.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      banner: { js: ESM_REQUIRE_BANNER },
      logLevel: 'error',
    });
  });
  afterAll(async () => {
    await rm(bundleDir, { recursive: true, force: true });
  });

  /** Starts a child broker; resolves its stdout lines one by one. */
  function child(config: KillChildConfig) {
    const proc = spawn(process.execPath, [bundle], { env: { ...process.env, KILL_CHILD_CONFIG: JSON.stringify(config) }, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    return {
      proc,
      exited,
      next: async () => (await lines.next()).value as string | undefined,
      /** Lets a restarted broker go on to its next step. */
      proceed: () => proc.stdin.write('next\n'),
    };
  }

  interface CellResult {
    /** The restarted broker's first caller (token valid, dead lease live) got the stored token at once, and it works at the provider. */
    servedAtOnce: boolean;
    /** After the restart the connection yields a live token (a forced refresh once the dead lease ran out). */
    live: boolean;
    status: string;
    forcedResult: StepResult;
  }

  async function killCell(kind: ProviderKind, phase: SigkillPhase): Promise<CellResult> {
    const provider = await startFaultProvider({ ...KINDS[kind], expiresIn: CHILD.tokenLifetimeS });
    try {
      const key = randomBytes(32);
      const tableName = await dynamo.newTable();
      const clock = new MovableClock();
      const store = new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock });
      const health = new DynamoDbProviderHealthStore({ tableName, client: dynamo.client, clock });
      const { broker } = faultBroker({ store, health, provider, clock, cipher: new LocalTokenCipher(key) });
      const id = await installFault(broker, provider, 'killed');
      const config = { endpoint: dynamo.endpoint, tableName, providerUrl: provider.url, key: key.toString('base64'), connectionId: id, ...CHILD };

      // The process to kill, stopped at the phase.
      const stop = PHASES[phase];
      let held: (() => void) | undefined;
      const atProvider = new Promise<void>((resolve) => (held = resolve));
      if (stop === 'provider') {
        provider.onRequest = async (req) => {
          if (req.path !== '/token') return;
          held!();
          return { hang: true }; // held, never processed: the client dies first
        };
      }
      const victim = child({ ...config, stopAt: stop === 'provider' ? undefined : stop, steps: stop === 'provider' ? [{ offsetMs: 0, force: true }] : undefined });
      if (stop === 'provider') await atProvider;
      else expect(await victim.next()).toBe(`phase:${stop}`);
      victim.proc.kill('SIGKILL');
      await victim.exited;
      provider.onRequest = undefined;

      const stored = (await store.get(id, { consistent: true }))!;
      const storedAccessToken = (await unseal(broker.ctx.cipher, stored, stored.sealed)).token!.access_token;

      // The restart, on the same table and key.
      const works = async (result: StepResult) =>
        result.ok && (await fetch(`${provider.url}/api/me`, { headers: { authorization: `Bearer ${result.access_token}` } })).status === 200;
      const restarted = child({ ...config, steps: RESTART_STEPS });
      const first = JSON.parse((await restarted.next())!) as StepResult;
      // Without a lease to meet (after the commit), that caller refreshes as any caller inside the skew does.
      const servedAtOnce = first.ok && (phase === 'after the commit' || first.access_token === storedAccessToken) && (await works(first));
      restarted.proceed();
      const forced = JSON.parse((await restarted.next())!) as StepResult;
      await restarted.exited;

      const final = (await store.get(id, { consistent: true }))!;
      const refreshToken = final.sealed ? (await unseal(broker.ctx.cipher, final, final.sealed)).token?.refresh_token : undefined;
      return {
        servedAtOnce,
        live: (await works(forced)) && final.status === 'active' && refreshToken !== undefined && provider.isRefreshTokenValid(refreshToken),
        status: final.status,
        forcedResult: forced,
      };
    } finally {
      await provider.close();
    }
  }

  const cells: Array<[SigkillPhase, ProviderKind, 'live' | 'lost (the crash window)']> = [
    ['after the lease', 'rotating with reuse detection', 'live'],
    ['after the lease', 'not rotating', 'live'],
    ['while the provider holds the request', 'rotating with reuse detection', 'live'],
    ['while the provider holds the request', 'not rotating', 'live'],
    // The one loss: the provider rotated and answered, the process died before its one store write,
    // and the old refresh token the restarted broker presents is a reuse: the provider revokes the grant.
    ['after the answer, before the commit', 'rotating with reuse detection', 'lost (the crash window)'],
    ['after the answer, before the commit', 'not rotating', 'live'],
    ['after the commit', 'rotating with reuse detection', 'live'],
    ['after the commit', 'not rotating', 'live'],
  ];

  it.each(cells)('SIGKILL %s, provider %s → %s', async (phase, kind, expected) => {
    const result = await killCell(kind, phase);
    // After every kill, a caller whose stored token is still valid gets it at once, dead lease or not.
    expect(result.servedAtOnce).toBe(true);
    if (expected === 'live') {
      expect(result).toMatchObject({ live: true, status: 'active' });
    } else {
      expect(result.forcedResult).toEqual({ step: 1, ok: false, code: 'needs_reauth' });
      expect(result).toMatchObject({ live: false, status: 'needs_reauth' });
    }
  }, 60_000);

  it('keeps the children on a lease the restarted caller meets live, then expired (the cells rest on it)', () => {
    expect(CHILD.leaseMs).toBeGreaterThan(RESTART_STEPS[0]!.offsetMs + 10_000);
    expect(CHILD.leaseMs).toBeLessThan(RESTART_STEPS[1]!.offsetMs - 10_000);
    expect(CHILD.leaseMs).toBeGreaterThanOrEqual(2 * CHILD.providerTimeoutMs);
    expect(DEFAULT_CONFIG.refreshSkewMs).toBeGreaterThanOrEqual((CHILD.tokenLifetimeS * 1000) / 2);
  });
});
