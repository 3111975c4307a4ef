/**
 * Sealing turns a connection's secrets into one ciphertext bound to that connection
 * (cipher context `{connection_id, provider}`), and back.
 *
 * The plaintext is the payload's JSON, deflated with a preset dictionary when that makes it
 * shorter (marked by a leading 0x02; plain JSON starts with `{`, and 0x01, deflate without the
 * dictionary, is still read): DynamoDB bills each write by the KB of the whole item, and the
 * dictionary's field names let deflate take a HubSpot-sized token set (about 430 bytes of JSON)
 * some 120 bytes down, where plain deflate took 70: under the 1 KB of one write unit with
 * everything else the item holds, list-index keys included (docs/design.md, "Writes per
 * refresh"). Compression leaks length only to whoever reads the table, about token sets no
 * outsider chose, so there is no chosen-plaintext oracle (CRIME/BREACH) to feed.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { BrokerError } from '../errors';
import type { SealingKey, TokenCipher } from '../ports';
import type { SealedPayload } from '../model';

interface Owner {
  id: string;
  provider: string;
}

export async function seal(cipher: TokenCipher, owner: Owner, payload: SealedPayload): Promise<string> {
  return cipher.encrypt(encodeSealedPayload(payload), { connection_id: owner.id, provider: owner.provider });
}

/** Seals `payload` with a key prepared beforehand (`prepareSealing`): no I/O, so nothing can fail slowly here. */
export interface Sealer {
  seal(payload: SealedPayload): string;
  dispose(): void;
}

/** Prepares sealing for `owner` now (the KMS data key is generated here), to seal later without I/O. */
export async function prepareSealing(cipher: TokenCipher, owner: Owner): Promise<Sealer> {
  const key: SealingKey = await cipher.sealingKey({ connection_id: owner.id, provider: owner.provider });
  return { seal: (payload) => key.seal(encodeSealedPayload(payload)), dispose: () => key.dispose() };
}

export async function unseal(cipher: TokenCipher, owner: Owner, sealed: string | undefined): Promise<SealedPayload> {
  if (sealed === undefined) return {};
  const bytes = await cipher.decrypt(sealed, { connection_id: owner.id, provider: owner.provider });
  try {
    return decodeSealedPayload(bytes);
  } catch (cause) {
    throw new BrokerError('decrypt_failed', `Sealed payload of connection ${owner.id} is not valid`, { cause });
  }
}

/** Deflate without a dictionary (sealed before 0x02 existed): read, no longer written. */
const DEFLATED = 0x01;
/** Deflate with `DICTIONARY_V1`. */
const DEFLATED_V1 = 0x02;
const JSON_OBJECT = 0x7b; // '{'

/**
 * The JSON a sealed payload is made of, as a deflate preset dictionary (RFC 1951 back-references
 * into it cost a few bits instead of the literal bytes). Part of the stored format: blobs marked
 * 0x02 are read with exactly these bytes, so a better dictionary takes a new marker. The most
 * common fragments come last, where references are shortest.
 */
const DICTIONARY_V1 = Buffer.from(
  '{"clientCredentials":{"client_id":"","client_secret":""}' +
    '"id_token":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.","scope":"openid offline_access ","refresh_expires_at":17' +
    '{"token":{"access_token":"","token_type":"bearer","refresh_token":"","expires_at":17',
  'utf8',
);

/** The plaintext a payload is sealed as: its JSON, or `0x02` + the JSON deflated (with the dictionary) when that is shorter. */
export function encodeSealedPayload(payload: SealedPayload): Uint8Array {
  const json = Buffer.from(JSON.stringify(payload), 'utf8');
  const deflated = deflateRawSync(json, { dictionary: DICTIONARY_V1 });
  return deflated.length + 1 < json.length ? Buffer.concat([Uint8Array.of(DEFLATED_V1), deflated]) : json;
}

/** The payload back from any plaintext form; throws on anything else. */
export function decodeSealedPayload(bytes: Uint8Array): SealedPayload {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer[0] === JSON_OBJECT) return JSON.parse(buffer.toString('utf8')) as SealedPayload;
  if (buffer[0] === DEFLATED_V1) return JSON.parse(inflateRawSync(buffer.subarray(1), { dictionary: DICTIONARY_V1 }).toString('utf8')) as SealedPayload;
  if (buffer[0] === DEFLATED) return JSON.parse(inflateRawSync(buffer.subarray(1)).toString('utf8')) as SealedPayload;
  throw new Error('unknown sealed payload encoding');
}
