/**
 * The AWS `SecretStore`: one Secrets Manager secret per provider app, holding
 * `{"client_id": "...", "client_secret": "..."}`. Fetching and caching is Powertools'
 * `SecretsProvider` (max-age cache per secret id); this adapter adds the prefix, shares
 * one in-flight fetch between concurrent callers, and validates the JSON itself.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { ClientCredentials } from '../model';
import { BrokerError } from '../errors';
import type { SecretStore } from '../ports';

/** How long a fetched secret is reused unless `maxAgeMs` says otherwise. */
export const DEFAULT_SECRET_MAX_AGE_MS = 5 * 60_000;

/** Errors that mean the deployment is wrong (no permission, undecryptable, deleted secret), not that AWS is briefly unwell. */
const CONFIGURATION_ERRORS = new Set(['AccessDeniedException', 'DecryptionFailure', 'InvalidRequestException']);

/** Options for `SecretsManagerSecretStore`; the client defaults to one from the environment. */
export interface SecretsManagerSecretStoreOptions {
  client?: SecretsManagerClient;
  /** Prepended to every secret name (e.g. `oauth-token-broker/`). */
  prefix?: string;
  /** How long a fetched secret is reused; Powertools counts in whole seconds. Default 5 minutes. */
  maxAgeMs?: number;
}

/** `SecretStore` over AWS Secrets Manager with a max-age cache. */
export class SecretsManagerSecretStore implements SecretStore {
  readonly #provider: SecretsProvider;
  readonly #prefix: string;
  readonly #maxAgeSeconds: number;
  /** A refresh worker asks for the same provider app from many refreshes at once; one fetch serves them all. */
  readonly #inFlight = new Map<string, Promise<ClientCredentials>>();

  constructor(options: SecretsManagerSecretStoreOptions = {}) {
    this.#provider = new SecretsProvider({ awsSdkV3Client: options.client ?? new SecretsManagerClient({}) });
    this.#prefix = options.prefix ?? '';
    this.#maxAgeSeconds = Math.ceil((options.maxAgeMs ?? DEFAULT_SECRET_MAX_AGE_MS) / 1000);
  }

  getClientCredentials(secretName: string): Promise<ClientCredentials> {
    const pending = this.#inFlight.get(secretName);
    if (pending) return pending;
    const fetching = this.#fetch(secretName).finally(() => this.#inFlight.delete(secretName));
    this.#inFlight.set(secretName, fetching);
    return fetching;
  }

  async #fetch(secretName: string): Promise<ClientCredentials> {
    let raw: string | Uint8Array | undefined;
    try {
      // No `transform: 'json'`: Powertools would put JSON.parse's message, which quotes
      // the start of the input (i.e. the secret), into its error.
      raw = await this.#provider.get(this.#prefix + secretName, { maxAge: this.#maxAgeSeconds, throwOnMissing: true });
    } catch (err) {
      // Powertools wraps SDK failures in GetParameterError with the SDK error as `cause`.
      const reason = err instanceof Error && err.cause instanceof Error ? err.cause.name : err instanceof Error ? err.name : '';
      const details = { secret_id: this.#prefix + secretName, reason };
      if (reason === 'ParameterNotFoundError' || reason === 'ResourceNotFoundException') {
        throw new BrokerError('provider_not_configured', `Secret "${secretName}" not found in Secrets Manager`, { cause: err, details });
      }
      if (CONFIGURATION_ERRORS.has(reason)) {
        throw new BrokerError('configuration_error', `Secret "${secretName}" could not be read from Secrets Manager (${reason})`, {
          cause: err,
          details,
        });
      }
      throw new BrokerError('internal_error', `Secret "${secretName}" could not be fetched from Secrets Manager`, { cause: err, details });
    }
    const text = typeof raw === 'string' ? raw : raw === undefined ? undefined : Buffer.from(raw).toString('utf8');
    return clientCredentialsFromSecret(secretName, text);
  }
}

/**
 * Validates a provider-app secret's text as `{client_id, client_secret}` (non-empty strings).
 * Errors name the secret and what is wrong, never the value and never JSON.parse's message
 * (it quotes the input); no parse error is attached as `cause` for the same reason.
 */
export function clientCredentialsFromSecret(secretName: string, text: string | undefined): ClientCredentials {
  if (text === undefined || text.trim() === '') {
    throw new BrokerError('configuration_error', `Secret "${secretName}" is empty`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BrokerError('configuration_error', `Secret "${secretName}" is not valid JSON`);
  }
  return clientCredentialsFromValue(secretName, value);
}

/**
 * The `client_id` the CDK stack puts in a secret it creates, until an operator fills it
 * (infra/constructs/provider-secrets.ts uses this constant). Refused with a message that
 * says what to do, instead of letting the provider answer `invalid_client` to a customer.
 */
export const SECRET_PLACEHOLDER_CLIENT_ID = 'REPLACE_ME';

/** Validates an already-parsed secret entry as `{client_id, client_secret}`. */
export function clientCredentialsFromValue(secretName: string, value: unknown): ClientCredentials {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BrokerError('configuration_error', `Secret "${secretName}" must be a JSON object with client_id and client_secret`);
  }
  const entry = value as Record<string, unknown>;
  const missing = (['client_id', 'client_secret'] as const).filter((field) => typeof entry[field] !== 'string' || entry[field] === '');
  if (missing.length > 0) {
    throw new BrokerError('configuration_error', `Secret "${secretName}" is missing ${missing.join(' and ')} (non-empty strings)`);
  }
  if (entry.client_id === SECRET_PLACEHOLDER_CLIENT_ID) {
    throw new BrokerError('provider_not_configured', `Secret "${secretName}" still holds the deploy-time placeholder: put the provider app's client_id and client_secret in it (docs/deploy.md, "Fill the secrets")`);
  }
  return { client_id: entry.client_id as string, client_secret: entry.client_secret as string };
}
