/**
 * The AWS `TokenCipher`: envelope encryption under a customer-managed KMS key. Every token set
 * is sealed locally with AES-256-GCM, the connection (`connection_id`, `provider`) bound as
 * additional data, and the KMS-encrypted data key is stored beside it. Two ways to get data keys
 * (docs/design.md, "Encryption bound to the row"):
 *
 * - `cached` (the default), format `kms2`: a data key generated under the encryption context
 *   `{provider}` seals that provider's token sets in this process for a short time (max age,
 *   max messages, max bytes: the AWS Encryption SDK's caching CMM limits), and data keys KMS
 *   decrypted are kept (LRU, same max age) for the other blobs sealed under them. KMS calls
 *   per refresh fall from two to a small fraction. The connection binding is AES-GCM's: a blob
 *   copied onto another connection of the same provider unwraps but fails authentication.
 * - `per_connection`, format `kms1`: one GenerateDataKey per seal and one Decrypt per read, under
 *   `{connection_id, provider}`: KMS itself refuses a moved blob, IAM can require the context,
 *   and CloudTrail records every use per connection.
 *
 * Either mode reads both formats, so switching modes never strands stored tokens.
 * https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html
 * https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/data-caching-details.html
 */
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { boundedCache, type BoundedCache } from '../bounded-cache';
import { BrokerError } from '../errors';
import { systemClock, type CipherContext, type Clock, type SealingKey, type TokenCipher } from '../ports';
import { KEY_BYTES as DATA_KEY_BYTES, IV_BYTES, TAG_BYTES, aeadOpen, aeadSeal, decodeBase64UrlStrict, decryptFailed } from './aead';

/** Per-connection data key, encryption context `{connection_id, provider}`. */
const PER_CONNECTION_FORMAT = 'kms1';
/** Data key shared by one provider's token sets in one process for a while, encryption context `{provider}`. */
const CACHED_FORMAT = 'kms2';

/**
 * KMS errors that mean "this ciphertext is not yours": a wrong context or an altered data
 * key (InvalidCiphertext), a blob from another key (IncorrectKey), or a key policy that
 * conditions on the context (AccessDenied). Anything else (throttling, disabled key,
 * network) is an outage, not proof of a moved blob, and must not be reported as one.
 */
const CONTEXT_MISMATCH_ERRORS = new Set(['InvalidCiphertextException', 'IncorrectKeyException', 'AccessDeniedException']);

/** How the KMS cipher gets its data keys; see the module comment. */
export type DataKeyMode = 'cached' | 'per_connection';

/** The limits of `cached` data keys (the AWS Encryption SDK's caching CMM has the same three, plus a capacity). */
export interface DataKeyCacheLimits {
  /** How long a generated data key is handed out for sealing, and a decrypted one kept. @default 5 minutes */
  maxAgeMs: number;
  /** Most sealing keys handed out under one data key (about one token set each). @default 10,000 */
  maxMessages: number;
  /** Most plaintext bytes sealed under one data key. @default 64 MiB */
  maxBytes: number;
  /** Most decrypted data keys kept, least recently used dropped first (and zeroed). @default 1,000 */
  capacity: number;
}

export const DEFAULT_DATA_KEY_CACHE: DataKeyCacheLimits = {
  maxAgeMs: 5 * 60_000,
  maxMessages: 10_000,
  maxBytes: 64 * 1024 * 1024,
  capacity: 1_000,
};

/** Options for `KmsTokenCipher`; the client defaults to one from the environment. */
export interface KmsTokenCipherOptions {
  /** Key id, ARN or alias of the symmetric customer-managed key. */
  keyId: string;
  client?: KMSClient;
  /** @default 'cached' */
  dataKeys?: DataKeyMode;
  /** Limits of cached data keys (`dataKeys: 'cached'` only); unset ones keep their defaults. */
  cache?: Partial<DataKeyCacheLimits>;
  /** Ages cached data keys; tests move it. */
  clock?: Clock;
}

/** A data key this process generated for sealing one provider's token sets. */
interface SealingEntry {
  key: Buffer;
  encryptedKey: string;
  createdAt: number;
  messages: number;
  bytes: number;
  /** Sealing keys handed out and not yet disposed: the key is zeroed only once none is left. */
  holders: number;
  retired: boolean;
}

/** A data key KMS decrypted (or this process generated), by provider and encrypted key. */
interface DecryptedEntry {
  key: Buffer;
  createdAt: number;
}

/** Envelope-encrypting `TokenCipher` over KMS; formats `kms1|kms2.<edk>.<iv>.<ct+tag>` (base64url). */
export class KmsTokenCipher implements TokenCipher {
  readonly #keyId: string;
  readonly #client: KMSClient;
  readonly #mode: DataKeyMode;
  readonly #limits: DataKeyCacheLimits;
  readonly #clock: Clock;
  /** One current data key per provider (bounded by the catalogue's providers). */
  readonly #sealing = new Map<string, SealingEntry>();
  /** GenerateDataKey calls in flight, per provider: concurrent first uses share one. */
  readonly #generating = new Map<string, Promise<SealingEntry>>();
  readonly #decrypted: BoundedCache<string, DecryptedEntry>;
  /** Decrypt calls in flight, per data key: a batch of refreshes reading blobs under one key shares one. */
  readonly #decrypting = new Map<string, Promise<DecryptedEntry>>();

  constructor(options: KmsTokenCipherOptions) {
    this.#keyId = options.keyId;
    this.#client = options.client ?? new KMSClient({});
    this.#mode = options.dataKeys ?? 'cached';
    this.#limits = { ...DEFAULT_DATA_KEY_CACHE, ...options.cache };
    this.#clock = options.clock ?? systemClock;
    this.#decrypted = boundedCache<string, DecryptedEntry>(this.#limits.capacity, {
      // A plaintext data key lives no longer than its place in the cache.
      dispose: (entry) => entry.key.fill(0),
    });
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
   * A key ready to seal for `context`, so that sealing later makes no KMS call (the crash window:
   * during a refresh it is prepared before the provider call). Per connection: one GenerateDataKey
   * now. Cached: the provider's current data key, or a new one generated now.
   */
  async sealingKey(context: CipherContext): Promise<SealingKey> {
    return this.#mode === 'per_connection' ? this.#perConnectionKey(context) : this.#cachedKey(context);
  }

  async #perConnectionKey(context: CipherContext): Promise<SealingKey> {
    const { key, encryptedKey } = await this.#generate(perConnectionContext(context), context);
    let disposed = false;
    return {
      seal: (plaintext) => {
        if (disposed) throw sealingAfterDispose();
        return sealed(PER_CONNECTION_FORMAT, encryptedKey, key, plaintext, context);
      },
      dispose: () => {
        disposed = true;
        // The plaintext data key lives no longer than its use.
        key.fill(0);
      },
    };
  }

  async #cachedKey(context: CipherContext): Promise<SealingKey> {
    const entry = await this.#currentEntry(context);
    entry.messages++;
    entry.holders++;
    let disposed = false;
    return {
      seal: (plaintext) => {
        if (disposed) throw sealingAfterDispose();
        // A key handed out before its limits were reached seals what its holder brings: the
        // limits decide only when a new data key is generated.
        entry.bytes += plaintext.length;
        return sealed(CACHED_FORMAT, entry.encryptedKey, entry.key, plaintext, context);
      },
      dispose: () => {
        if (disposed) return;
        disposed = true;
        entry.holders--;
        if (entry.retired && entry.holders === 0) entry.key.fill(0);
      },
    };
  }

  /** The provider's data key if it is within its limits; else it is retired and a new one generated. */
  async #currentEntry(context: CipherContext): Promise<SealingEntry> {
    const { provider } = context;
    for (;;) {
      const current = this.#sealing.get(provider);
      if (current && this.#usable(current)) return current;
      if (current) this.#retire(provider, current);
      let generating = this.#generating.get(provider);
      if (!generating) {
        generating = this.#generate({ provider }, context).then(({ key, encryptedKey }): SealingEntry => {
          const entry = { key, encryptedKey, createdAt: this.#clock.now(), messages: 0, bytes: 0, holders: 0, retired: false };
          this.#sealing.set(provider, entry);
          // This process can read back what it sealed without asking KMS.
          this.#decrypted.set(decryptedKeyId(provider, encryptedKey), { key: Buffer.from(key), createdAt: entry.createdAt });
          return entry;
        });
        this.#generating.set(provider, generating);
        generating.finally(() => this.#generating.delete(provider)).catch(() => undefined);
      }
      const entry = await generating;
      if (this.#usable(entry)) return entry;
      // Used up by concurrent callers before this one got its turn: next key.
    }
  }

  #usable(entry: SealingEntry): boolean {
    const limits = this.#limits;
    return !entry.retired && this.#clock.now() - entry.createdAt < limits.maxAgeMs && entry.messages < limits.maxMessages && entry.bytes < limits.maxBytes;
  }

  #retire(provider: string, entry: SealingEntry): void {
    entry.retired = true;
    if (this.#sealing.get(provider) === entry) this.#sealing.delete(provider);
    if (entry.holders === 0) entry.key.fill(0);
  }

  async #generate(encryptionContext: Record<string, string>, context: CipherContext): Promise<{ key: Buffer; encryptedKey: string }> {
    let output;
    try {
      output = await this.#client.send(new GenerateDataKeyCommand({ KeyId: this.#keyId, KeySpec: 'AES_256', EncryptionContext: encryptionContext }));
    } catch (err) {
      throw new BrokerError('internal_error', `KMS GenerateDataKey failed for connection ${context.connection_id}`, { cause: err });
    }
    const dataKey = output.Plaintext;
    const encryptedDataKey = output.CiphertextBlob;
    if (dataKey?.length !== DATA_KEY_BYTES || !encryptedDataKey?.length) {
      dataKey?.fill(0);
      throw new BrokerError('internal_error', 'KMS GenerateDataKey returned no usable data key');
    }
    return { key: Buffer.from(dataKey.buffer, dataKey.byteOffset, dataKey.byteLength), encryptedKey: b64url(encryptedDataKey) };
  }

  async decrypt(ciphertext: string, context: CipherContext): Promise<Uint8Array> {
    const parts = ciphertext.split('.');
    const format = parts[0];
    if (parts.length !== 4 || (format !== PER_CONNECTION_FORMAT && format !== CACHED_FORMAT)) throw decryptFailed(context);
    const [encryptedDataKey, iv, body] = parts.slice(1).map(decodeBase64UrlStrict);
    if (!encryptedDataKey?.length || iv?.length !== IV_BYTES || !body || body.length < TAG_BYTES) throw decryptFailed(context);
    const sealedParts = { iv, ciphertext: body.subarray(0, body.length - TAG_BYTES), tag: body.subarray(body.length - TAG_BYTES) };

    if (format === PER_CONNECTION_FORMAT) {
      const dataKey = await this.#decryptDataKey(encryptedDataKey, perConnectionContext(context), context);
      try {
        return aeadOpen(dataKey, sealedParts, context);
      } finally {
        dataKey.fill(0);
      }
    }

    // Cached format: the data key may be one this process already holds.
    const id = decryptedKeyId(context.provider, parts[1]!);
    for (;;) {
      let entry = this.#decrypted.get(id);
      if (entry && this.#clock.now() - entry.createdAt >= this.#limits.maxAgeMs) {
        this.#decrypted.delete(id);
        entry = undefined;
      }
      entry ??= await this.#sharedDecrypt(id, encryptedDataKey, context);
      // Dropped from the cache (and zeroed) while this read waited for a shared Decrypt: read again.
      if (entry.key.every((byte) => byte === 0)) continue;
      return aeadOpen(entry.key, sealedParts, context);
    }
  }

  /** One Decrypt per data key in flight: a batch of refreshes reading blobs under one key shares it; a failure is not kept. */
  #sharedDecrypt(id: string, encryptedDataKey: Buffer, context: CipherContext): Promise<DecryptedEntry> {
    let decrypting = this.#decrypting.get(id);
    if (!decrypting) {
      decrypting = this.#decryptDataKey(encryptedDataKey, { provider: context.provider }, context).then((key): DecryptedEntry => {
        const entry = { key, createdAt: this.#clock.now() };
        this.#decrypted.set(id, entry);
        return entry;
      });
      this.#decrypting.set(id, decrypting);
      decrypting.finally(() => this.#decrypting.delete(id)).catch(() => undefined);
    }
    return decrypting;
  }

  async #decryptDataKey(encryptedDataKey: Buffer, encryptionContext: Record<string, string>, context: CipherContext): Promise<Buffer> {
    let dataKey: Uint8Array | undefined;
    try {
      const output = await this.#client.send(
        new DecryptCommand({
          CiphertextBlob: encryptedDataKey,
          EncryptionContext: encryptionContext,
          // Pinning the key makes KMS reject a blob wrapped under any other key.
          KeyId: this.#keyId,
        }),
      );
      dataKey = output.Plaintext;
    } catch (err) {
      if (err instanceof Error && CONTEXT_MISMATCH_ERRORS.has(err.name)) throw decryptFailed(context, err);
      throw new BrokerError('internal_error', `KMS Decrypt failed for connection ${context.connection_id}`, { cause: err });
    }
    if (dataKey?.length !== DATA_KEY_BYTES) {
      dataKey?.fill(0);
      throw new BrokerError('internal_error', 'KMS Decrypt returned no usable data key');
    }
    return Buffer.from(dataKey.buffer, dataKey.byteOffset, dataKey.byteLength);
  }
}

/** Exactly the two binding fields: KMS compares the whole map, so extras would be a different context. */
function perConnectionContext(context: CipherContext): Record<string, string> {
  return { connection_id: context.connection_id, provider: context.provider };
}

function decryptedKeyId(provider: string, encryptedKey: string): string {
  return `${provider}\u0000${encryptedKey}`;
}

function sealed(format: string, encryptedKey: string, key: Uint8Array, plaintext: Uint8Array, context: CipherContext): string {
  const { iv, ciphertext, tag } = aeadSeal(key, plaintext, context);
  return [format, encryptedKey, iv.toString('base64url'), Buffer.concat([ciphertext, tag]).toString('base64url')].join('.');
}

function sealingAfterDispose(): BrokerError {
  return new BrokerError('internal_error', 'Sealing key used after dispose');
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}
