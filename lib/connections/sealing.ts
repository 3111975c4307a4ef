/**
 * Sealing turns a connection's secrets into one ciphertext bound to that connection
 * (cipher context `{connection_id, provider}`), and back.
 */
import { BrokerError } from '../errors';
import type { TokenCipher } from '../ports';
import type { SealedPayload } from '../model';

interface Owner {
  id: string;
  provider: string;
}

export async function seal(cipher: TokenCipher, owner: Owner, payload: SealedPayload): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  return cipher.encrypt(bytes, { connection_id: owner.id, provider: owner.provider });
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
