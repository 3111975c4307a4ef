/**
 * Recognising the keys the data was written with, at start (the local runtime calls it).
 * The first start stores a constant sealed by the token cipher and a fingerprint of the
 * signing key (`meta#keys`); later starts open the constant. A replaced or wrong token key then
 * stops the broker with one clear line, instead of `decrypt_failed` on every request.
 *
 * A sealed constant rather than a fingerprint of the token key: it asks exactly the question
 * that matters ("can this cipher open what is stored?"), and works the same for the key file
 * and for KMS, whose key material never leaves KMS.
 *
 * A changed signing key is not refused, only reported: nothing stored depends on it beyond
 * links minted before (≤ 24 h) and installs in progress (≤ 10 min), which it invalidates.
 */
import { BrokerError, isBrokerError } from '../errors';
import { logger } from '../logger';
import type { CipherContext } from '../ports';
import type { BrokerContext } from './context';
import { signingKeyFingerprint } from './signing';

const CANARY = 'oauth-token-broker key check v1';
const CANARY_CONTEXT: CipherContext = { connection_id: 'meta#keys', provider: 'oauth-token-broker' };

/** `tokenKey` names the token key in the message (its file, or the KMS key). */
export async function checkKeys(ctx: Pick<BrokerContext, 'store' | 'cipher' | 'signingKey' | 'clock'>, tokenKey = 'configured'): Promise<void> {
  const fingerprint = await signingKeyFingerprint(ctx.signingKey);
  for (let attempt = 0; attempt < 2; attempt++) {
    const stored = await ctx.store.getKeyCheck();
    if (stored === undefined) {
      const tokenKeyCanary = await ctx.cipher.encrypt(new TextEncoder().encode(CANARY), CANARY_CONTEXT);
      // Conditional: of two brokers starting on one table, one writes and the other checks against it.
      if (await ctx.store.putKeyCheck({ tokenKeyCanary, signingKeyFingerprint: fingerprint, createdAt: ctx.clock.now() }, { replace: false })) return;
      continue;
    }
    let opened: string;
    try {
      opened = new TextDecoder().decode(await ctx.cipher.decrypt(stored.tokenKeyCanary, CANARY_CONTEXT));
    } catch (err) {
      if (!isBrokerError(err, 'decrypt_failed')) throw err;
      opened = '';
    }
    if (opened !== CANARY) {
      throw new BrokerError(
        'configuration_error',
        `The token key (${tokenKey}) is not the key the stored connections were sealed with (first start ${new Date(stored.createdAt).toISOString()}): restore that key, or start with an empty table`,
      );
    }
    if (stored.signingKeyFingerprint !== fingerprint) {
      logger.warn('The signing key changed since the last start: install links minted before, and installs in progress, will be refused');
      await ctx.store.putKeyCheck({ ...stored, signingKeyFingerprint: fingerprint }, { replace: true });
    }
    return;
  }
}
