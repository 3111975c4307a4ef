/**
 * The AWS `TokenCipher`: envelope encryption under a customer-managed KMS key.
 * Each encryption asks KMS for a fresh AES-256 data key bound to the connection by the
 * encryption context (`connection_id`, `provider`), seals the payload locally with
 * AES-256-GCM using the same context as additional data, and stores the encrypted data
 * key beside it. A blob copied onto another connection fails twice over: KMS refuses to
 * unwrap the data key under the other context, and GCM would refuse the other AAD.
 * https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html
 */
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { BrokerError } from '../errors';
import type { CipherContext, SealingKey, TokenCipher } from '../ports';
import { KEY_BYTES as DATA_KEY_BYTES, IV_BYTES, TAG_BYTES, aeadOpen, aeadSeal, decodeBase64UrlStrict, decryptFailed } from './aead';

const FORMAT = 'kms1';

/**
 * KMS errors that mean "this ciphertext is not yours": a wrong context or an altered data
 * key (InvalidCiphertext), a blob from another key (IncorrectKey), or a key policy that
 * conditions on the context (AccessDenied). Anything else (throttling, disabled key,
 * network) is an outage, not proof of a moved blob, and must not be reported as one.
 */
const CONTEXT_MISMATCH_ERRORS = new Set(['InvalidCiphertextException', 'IncorrectKeyException', 'AccessDeniedException']);

/** Options for `KmsTokenCipher`; the client defaults to one from the environment. */
export interface KmsTokenCipherOptions {
  /** Key id, ARN or alias of the symmetric customer-managed key. */
  keyId: string;
  client?: KMSClient;
}

/** Envelope-encrypting `TokenCipher` over KMS; format `kms1.<edk>.<iv>.<ct+tag>` (base64url); one KMS call per sealing key or decrypt. */
export class KmsTokenCipher implements TokenCipher {
  readonly #keyId: string;
  readonly #client: KMSClient;

  constructor(options: KmsTokenCipherOptions) {
    this.#keyId = options.keyId;
    this.#client = options.client ?? new KMSClient({});
  }

  async encrypt(plaintext: Uint8Array, context: CipherContext): Promise<string> {
    const key = await this.sealingKey(context);
    try {
      return key.seal(plaintext);
    } finally {
      key.dispose();
    }
  }

  /**
   * Generates the data key now (one GenerateDataKey under the connection's context), so that
   * sealing later makes no KMS call. The plaintext data key lives until `dispose()`: during a
   * refresh, the provider call; it can seal only for this one connection.
   */
  async sealingKey(context: CipherContext): Promise<SealingKey> {
    let output;
    try {
      output = await this.#client.send(
        new GenerateDataKeyCommand({ KeyId: this.#keyId, KeySpec: 'AES_256', EncryptionContext: encryptionContext(context) }),
      );
    } catch (err) {
      throw new BrokerError('internal_error', `KMS GenerateDataKey failed for connection ${context.connection_id}`, { cause: err });
    }
    const dataKey = output.Plaintext;
    const encryptedDataKey = output.CiphertextBlob;
    if (dataKey?.length !== DATA_KEY_BYTES || !encryptedDataKey?.length) {
      dataKey?.fill(0);
      throw new BrokerError('internal_error', 'KMS GenerateDataKey returned no usable data key');
    }
    let disposed = false;
    return {
      seal: (plaintext) => {
        if (disposed) throw new BrokerError('internal_error', 'Sealing key used after dispose');
        const { iv, ciphertext, tag } = aeadSeal(dataKey, plaintext, context);
        return [FORMAT, b64url(encryptedDataKey), iv.toString('base64url'), Buffer.concat([ciphertext, tag]).toString('base64url')].join('.');
      },
      dispose: () => {
        disposed = true;
        // The plaintext data key lives no longer than its use.
        dataKey.fill(0);
      },
    };
  }

  async decrypt(ciphertext: string, context: CipherContext): Promise<Uint8Array> {
    const parts = ciphertext.split('.');
    if (parts.length !== 4 || parts[0] !== FORMAT) throw decryptFailed(context);
    const [encryptedDataKey, iv, sealed] = parts.slice(1).map(decodeBase64UrlStrict);
    if (!encryptedDataKey?.length || iv?.length !== IV_BYTES || !sealed || sealed.length < TAG_BYTES) {
      throw decryptFailed(context);
    }

    let dataKey: Uint8Array | undefined;
    try {
      try {
        const output = await this.#client.send(
          new DecryptCommand({
            CiphertextBlob: encryptedDataKey,
            EncryptionContext: encryptionContext(context),
            // Pinning the key makes KMS reject a blob wrapped under any other key.
            KeyId: this.#keyId,
          }),
        );
        dataKey = output.Plaintext;
      } catch (err) {
        if (err instanceof Error && CONTEXT_MISMATCH_ERRORS.has(err.name)) throw decryptFailed(context, err);
        throw new BrokerError('internal_error', `KMS Decrypt failed for connection ${context.connection_id}`, { cause: err });
      }
      if (dataKey?.length !== DATA_KEY_BYTES) throw new BrokerError('internal_error', 'KMS Decrypt returned no usable data key');

      return aeadOpen(dataKey, { iv, ciphertext: sealed.subarray(0, sealed.length - TAG_BYTES), tag: sealed.subarray(sealed.length - TAG_BYTES) }, context);
    } finally {
      dataKey?.fill(0);
    }
  }
}

/** Exactly the two binding fields: KMS compares the whole map, so extras would be a different context. */
function encryptionContext(context: CipherContext): Record<string, string> {
  return { connection_id: context.connection_id, provider: context.provider };
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}
