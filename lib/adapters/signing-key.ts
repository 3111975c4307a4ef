/**
 * Where the broker's signing key comes from (the `SigningKey` port): a Secrets Manager
 * secret on AWS (the CDK stack generates it; only the install, callback and admin functions
 * may read it), a 0600 file in the data dir locally. Loaded once per process, on first use.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { BrokerError } from '../errors';
import type { SigningKey } from '../ports';
import { loadOrCreateKeyFile } from './key-file';

/** Fewer bytes than this (a secret typed by hand) would make link signatures guessable. */
const MIN_KEY_BYTES = 32;

/** The key in a local file, created (random, mode 0600) when missing. */
export class FileSigningKey implements SigningKey {
  #key: Promise<Buffer> | undefined;
  constructor(readonly path: string) {}

  get(): Promise<Uint8Array> {
    this.#key ??= loadOrCreateKeyFile(this.path, 'signing key');
    this.#key.catch(() => (this.#key = undefined));
    return this.#key;
  }
}

/** The key in a Secrets Manager secret (its SecretString's UTF-8 bytes), fetched once. */
export class SecretsManagerSigningKey implements SigningKey {
  readonly #provider: SecretsProvider;
  #key: Promise<Uint8Array> | undefined;

  constructor(
    readonly secretId: string,
    client?: SecretsManagerClient,
  ) {
    this.#provider = new SecretsProvider({ awsSdkV3Client: client ?? new SecretsManagerClient({}) });
  }

  get(): Promise<Uint8Array> {
    this.#key ??= this.#fetch();
    this.#key.catch(() => (this.#key = undefined));
    return this.#key;
  }

  async #fetch(): Promise<Uint8Array> {
    let value: string | Uint8Array | undefined;
    try {
      // Cached for the container's life: links signed with a rotated key fail until a cold start, which is what rotation means here.
      value = await this.#provider.get(this.secretId, { maxAge: 24 * 3600, throwOnMissing: true });
    } catch (err) {
      const reason = err instanceof Error && err.cause instanceof Error ? err.cause.name : err instanceof Error ? err.name : 'unknown';
      throw new BrokerError('configuration_error', `The signing key secret could not be read from Secrets Manager (${reason})`, { cause: err, details: { reason } });
    }
    const key = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value ?? []);
    if (key.length < MIN_KEY_BYTES) throw new BrokerError('configuration_error', `The signing key secret must hold at least ${MIN_KEY_BYTES} bytes`);
    return key;
  }
}
