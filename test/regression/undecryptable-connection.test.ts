/**
 * Found by an attacker review: a connection whose stored token set cannot be decrypted — the AES-GCM
 * tag does not verify (bytes altered, a row's ciphertext copied onto another row, the token key
 * replaced) or KMS refuses the data key as not this context's — was sent by the scheduler on every
 * run. Each job failed with `decrypt_failed`, was reported back, came back, and after the redrive
 * limit waited in the dead-letter queue; the next run sent it again: a KMS call per delivery and a
 * dead letter per run, forever, with nothing naming the connection. Now an integrity failure is a
 * failure of that connection: recorded on it (`lastError`, `failureCount`), its schedule entry
 * moved by the connections' back-off, the `connection.refresh_failed` event with `scope:
 * "connection"`; the job is settled. A KMS failure that is not about the ciphertext (throttling, an
 * outage) is not: the job comes back as before, and nothing is charged to the connection.
 *
 * The real scheduler and worker over the in-process queue (SQS semantics: a 60 s visibility
 * timeout, the dead-letter list after 5 receives), the memory store, the fault provider, a frozen clock.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import { MemoryRefreshQueue } from '../../lib/adapters/memory-refresh-queue';
import { drainRefreshQueue } from '../../lib/connections/refresh-worker';
import { BrokerError } from '../../lib/errors';
import type { CipherContext, RefreshJob, SealingKey, TokenCipher } from '../../lib/ports';
import { faultBroker, installFault } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

const MINUTE = 60_000;
const RUNS = 60;

/** The local cipher, counting decrypts per connection; `refuse` makes a connection's decrypts throw what it returns. */
class CountingCipher implements TokenCipher {
  readonly decrypts = new Map<string, number>();
  refuse = new Map<string, () => Error>();
  constructor(private readonly inner: TokenCipher) {}
  encrypt(plaintext: Uint8Array, context: CipherContext): Promise<string> {
    return this.inner.encrypt(plaintext, context);
  }
  sealingKey(context: CipherContext): Promise<SealingKey> {
    return this.inner.sealingKey(context);
  }
  async decrypt(ciphertext: string, context: CipherContext): Promise<Uint8Array> {
    this.decrypts.set(context.connection_id, (this.decrypts.get(context.connection_id) ?? 0) + 1);
    const refusal = this.refuse.get(context.connection_id);
    if (refusal) throw refusal();
    return this.inner.decrypt(ciphertext, context);
  }
}

/** The in-process queue, counting the jobs sent per connection. */
class CountingQueue extends MemoryRefreshQueue {
  readonly jobsFor = new Map<string, number>();
  override async send(jobs: readonly RefreshJob[]): Promise<void> {
    for (const job of jobs) this.jobsFor.set(job.connectionId, (this.jobsFor.get(job.connectionId) ?? 0) + 1);
    return super.send(jobs);
  }
}

const providers: FaultProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

async function world() {
  const clock = new MovableClock(true);
  const provider = await startFaultProvider({ clock: clock.now, expiresIn: 1800 });
  providers.push(provider);
  const store = new MemoryConnectionStore(clock);
  const cipher = new CountingCipher(new LocalTokenCipher(randomBytes(32)));
  const { broker, events } = faultBroker({ store, provider, clock, cipher });
  const good = await installFault(broker, provider, 'good-1');
  const broken = await installFault(broker, provider, 'broken-1');
  const queue = new CountingQueue({ clock, visibilityTimeoutMs: MINUTE });
  const worker = broker.refreshWorker({ workers: () => 1 });
  /** `runs` scheduler runs a minute apart, the worker draining what is visible after each. */
  const everyMinute = async (runs: number) => {
    for (let run = 0; run < runs; run++) {
      await broker.scheduleRefreshes(queue);
      await drainRefreshQueue(queue, 'fault', worker);
      clock.advance(MINUTE);
    }
  };
  /** Both connections due now. */
  const bothDue = async () => {
    const due = Math.max((await store.get(good))!.refreshDueAt!, (await store.get(broken))!.refreshDueAt!);
    clock.set(due);
    cipher.decrypts.clear();
  };
  return { clock, provider, store, cipher, broker, events, good, broken, queue, everyMinute, bothDue };
}

/** `broken`'s stored token set replaced by `donor`'s ciphertext: bound to another row, its tag cannot verify here. */
async function copyCiphertext(store: MemoryConnectionStore, donor: string, broken: string): Promise<void> {
  const from = (await store.get(donor))!;
  const to = (await store.get(broken))!;
  await store.update(broken, to.version, { set: { sealed: from.sealed } });
}

const deadLettersOf = (queue: MemoryRefreshQueue, id: string) => queue.deadLetters.filter((job) => job.connectionId === id).length;

describe('a connection whose tokens cannot be decrypted', () => {
  it(`is sent a bounded number of times over ${RUNS} scheduler runs, with nothing in the dead-letter queue, and named to the operator`, async () => {
    const w = await world();
    await copyCiphertext(w.store, w.good, w.broken);
    await w.bothDue();
    await w.everyMinute(RUNS);

    const jobs = w.queue.jobsFor.get(w.broken) ?? 0;
    const decrypts = w.cipher.decrypts.get(w.broken) ?? 0;
    // The connections' back-off, 30 s × 2ⁿ⁻¹ capped at 30 min: 7 attempts in the hour, each one decrypt. The
    // scheduler sends what is due within its 60 s horizon, so 4 jobs arrive just before a back-off ends and
    // are deferred after one read, no decrypt. Before: 60 jobs, 60 decrypts, 55 dead letters.
    expect({ jobs, decrypts, deadLetters: deadLettersOf(w.queue, w.broken) }).toEqual({ jobs: 11, decrypts: 7, deadLetters: 0 });
    const record = (await w.store.get(w.broken))!;
    expect(record).toMatchObject({ status: 'active', failureCount: 7, lastError: { code: 'decrypt_failed' } });
    expect(record.leaseOwner).toBeUndefined();
    const failures = w.events.ofType('connection.refresh_failed').filter((e) => e.detail.connection_id === w.broken);
    expect(failures).toHaveLength(7);
    expect(failures[0]!.detail).toMatchObject({ error: 'decrypt_failed', scope: 'connection', failure_count: 1 });
    // The provider was never asked for it; the healthy connection beside it was refreshed as usual.
    const good = (await w.store.get(w.good))!;
    expect(good).toMatchObject({ tokenGen: 4, failureCount: 0 }); // 30-minute tokens: three refreshes in the hour
    expect(w.provider.calls.byGrant.refresh_token).toBe(good.tokenGen - 1);
  });

  it('is repaired by the customer installing again under the same id: the install replaces what cannot be read', async () => {
    const w = await world();
    await copyCiphertext(w.store, w.good, w.broken);
    await w.bothDue();
    await w.everyMinute(2);
    expect(await w.broker.getToken(w.broken).catch((err: unknown) => err)).toMatchObject({ code: 'decrypt_failed' });
    await installFault(w.broker, w.provider, w.broken);
    expect((await w.store.get(w.broken))!).toMatchObject({ status: 'active', failureCount: 0 });
    await expect(w.broker.getToken(w.broken)).resolves.toMatchObject({ connection_id: w.broken });
  });

  it('recovers at the end of a back-off once the ciphertext opens again (a key policy fixed), and never needs re-authorization', async () => {
    const w = await world();
    // KMS refusing the data key as not this context's (AccessDenied under a context-conditioned key policy): decrypt_failed.
    w.cipher.refuse.set('broken-1', () => new BrokerError('decrypt_failed', 'Token ciphertext does not belong to connection broken-1'));
    await w.bothDue();
    await w.everyMinute(3);
    // Minutes 0, 1, 2: back-offs of 30 s, 1 min; the next attempt waits 2 min.
    expect((await w.store.get(w.broken))!).toMatchObject({ status: 'active', failureCount: 3, lastError: { code: 'decrypt_failed' } });
    w.cipher.refuse.delete('broken-1');
    await w.everyMinute(3);
    expect((await w.store.get(w.broken))!).toMatchObject({ status: 'active', failureCount: 0, tokenGen: 2 });
    expect(w.events.ofType('connection.reauth_required')).toHaveLength(0);
    expect(deadLettersOf(w.queue, w.broken)).toBe(0);
  });

  it('a KMS outage (not about the ciphertext) is not charged to the connection: the job comes back, as before', async () => {
    const w = await world();
    w.cipher.refuse.set('broken-1', () => new BrokerError('internal_error', 'KMS Decrypt failed for connection broken-1'));
    await w.bothDue();
    await w.everyMinute(3);
    const record = (await w.store.get(w.broken))!;
    expect(record).toMatchObject({ status: 'active', failureCount: 0 });
    expect(record.lastError).toBeUndefined();
    expect(record.leaseOwner).toBeUndefined();
    expect(w.events.ofType('connection.refresh_failed').filter((e) => e.detail.connection_id === w.broken)).toHaveLength(0);
    // Sent each run and delivered again after each visibility timeout: the outage is retried at once when it ends.
    expect(w.queue.jobsFor.get(w.broken)).toBe(3);
    expect(w.cipher.decrypts.get(w.broken)).toBeGreaterThanOrEqual(3);
  });
});
