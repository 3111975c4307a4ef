/**
 * Sealing turns a connection's secrets into one ciphertext bound to that connection
 * (cipher context `{connection_id, provider}`), and back.
 */
import { BrokerError } from '../errors';
import type { SealingKey, TokenCipher } from '../ports';
import type { SealedPayload } from '../model';

interface Owner {
  id: string;
  provider: string;
}

export async function seal(cipher: TokenCipher, owner: Owner, payload: SealedPayload): Promise<string> {
  return cipher.encrypt(encode(payload), { connection_id: owner.id, provider: owner.provider });
}

/** Seals `payload` with a key prepared beforehand (`prepareSealing`): no I/O, so nothing can fail slowly here. */
export interface Sealer {
  seal(payload: SealedPayload): string;
  dispose(): void;
}

/** Prepares sealing for `owner` now (the KMS data key is generated here), to seal later without I/O. */
export async function prepareSealing(cipher: TokenCipher, owner: Owner): Promise<Sealer> {
  const key: SealingKey = await cipher.sealingKey({ connection_id: owner.id, provider: owner.provider });
  return { seal: (payload) => key.seal(encode(payload)), dispose: () => key.dispose() };
}

export async function unseal(cipher: TokenCipher, owner: Owner, sealed: string | undefined): Promise<SealedPayload> {
  if (sealed === undefined) return {};
  const bytes = await cipher.decrypt(sealed, { connection_id: owner.id, provider: owner.provider });
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as SealedPayload;
  } catch (cause) {
    throw new BrokerError('decrypt_failed', `Sealed payload of connection ${owner.id} is not valid`, { cause });
  }
}

function encode(payload: SealedPayload): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(payload));
}
