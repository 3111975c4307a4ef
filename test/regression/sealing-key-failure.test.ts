/**
 * Found by the cost bench (a loopback KMS dropping a connection): a refresh prepares its sealing
 * key (KMS GenerateDataKey) before it reads the stored token set (KMS Decrypt), to keep the crash
 * window to one write. When the key failed while the read was still in flight, its rejection had
 * no handler yet: Node reports it as an unhandled rejection, which ends the process by default (on
 * Lambda, the whole container and every refresh in it). Now the refresh fails with
 * `internal_error`, the lease is given back, and nothing is left unhandled.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { BrokerError } from '../../lib/errors';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import type { CipherContext, SealingKey, TokenCipher } from '../../lib/ports';
import { faultBroker, installFault } from '../support/fault-broker';
import { startFaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

/** A cipher whose sealing keys fail at once while its reads take `readMs` (once `failing` is set). */
class SlowReadFailingKey implements TokenCipher {
  failing = false;
  constructor(
    private readonly inner: TokenCipher,
    private readonly readMs: number,
  ) {}
  encrypt(plaintext: Uint8Array, context: CipherContext): Promise<string> {
    return this.inner.encrypt(plaintext, context);
  }
  async sealingKey(context: CipherContext): Promise<SealingKey> {
    if (this.failing) throw new BrokerError('internal_error', 'KMS GenerateDataKey failed (ThrottlingException)');
    return this.inner.sealingKey(context);
  }
  async decrypt(ciphertext: string, context: CipherContext): Promise<Uint8Array> {
    if (this.failing) await new Promise((resolve) => setTimeout(resolve, this.readMs));
    return this.inner.decrypt(ciphertext, context);
  }
}

describe('a sealing key that fails while the stored token set is still being read', () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', record);
  });
  afterEach(() => {
    process.off('unhandledRejection', record);
  });

  it('fails the refresh with internal_error, gives the lease back, and leaves no unhandled rejection', async () => {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now });
    try {
      const store = new MemoryConnectionStore(clock);
      const cipher = new SlowReadFailingKey(new LocalTokenCipher(randomBytes(32)), 50);
      const { broker } = faultBroker({ store, provider, clock, cipher });
      const id = await installFault(broker, provider, 'sealing-key-failure');
      cipher.failing = true;
      const refusal = await broker.getToken(id, { forceRefresh: true }).catch((err: unknown) => err);
      expect(refusal).toMatchObject({ code: 'internal_error' });
      // Give Node a turn to report anything left unhandled.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
      expect((await store.get(id))?.leaseOwner).toBeUndefined();
      expect(provider.calls.byGrant.refresh_token ?? 0).toBe(0);
    } finally {
      await provider.close();
    }
  });
});
