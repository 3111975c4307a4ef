/**
 * The local `SecretStore`: a JSON file mapping secret names to `{client_id, client_secret}`,
 * standing in for Secrets Manager. It is re-read whenever it changes on disk, so an
 * operator can add a provider app without restarting `npm start`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ClientCredentials } from '../model';
import { BrokerError } from '../errors';
import type { SecretStore } from '../ports';
import { clientCredentialsFromValue } from './secrets-manager';

interface FileSnapshot {
  /** mtime (ns), size and inode: an edit within the same mtime tick or an atomic replace still shows. */
  stamp: string;
  entries: Record<string, unknown>;
}

/** `SecretStore` over a JSON secrets file, re-read when its mtime (or size/inode) changes. */
export class FileSecretStore implements SecretStore {
  readonly path: string;
  #snapshot: FileSnapshot | undefined;

  constructor(path: string) {
    this.path = path;
  }

  async getClientCredentials(secretName: string): Promise<ClientCredentials> {
    const { entries } = await this.#load();
    if (!Object.hasOwn(entries, secretName)) {
      throw new BrokerError('provider_not_configured', `Secret "${secretName}" not found in secrets file ${this.path}`);
    }
    return clientCredentialsFromValue(secretName, entries[secretName]);
  }

  async #load(): Promise<FileSnapshot> {
    let stamp: string;
    try {
      const info = await stat(this.path, { bigint: true });
      stamp = `${info.mtimeNs}:${info.size}:${info.ino}`;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new BrokerError('configuration_error', `Secrets file ${this.path} does not exist`, { cause: err });
      throw err;
    }
    if (this.#snapshot?.stamp === stamp) return this.#snapshot;
    this.#snapshot = { stamp, entries: await readSecretsFile(this.path) };
    return this.#snapshot;
  }
}

/**
 * Creates the secrets file (mode 0600, parent dir created) with `defaults` if it is missing,
 * and adds any default entry it lacks without touching existing ones (an operator's edits win).
 * Returns the names it added.
 */
export async function ensureSecretsFile(path: string, defaults: Record<string, ClientCredentials>): Promise<string[]> {
  let entries: Record<string, unknown> = {};
  let exists = true;
  try {
    entries = await readSecretsFile(path);
  } catch (err) {
    if (!(err instanceof BrokerError && isErrno(err.cause, 'ENOENT'))) throw err;
    exists = false;
  }
  const added = Object.keys(defaults).filter((name) => !Object.hasOwn(entries, name));
  if (exists && added.length === 0) return added;
  for (const name of added) entries[name] = defaults[name];

  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Temp file + rename: a reader (the running FileSecretStore) never sees half a file.
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  return added;
}

/** Reads and parses the whole file; errors name the file, never its content (JSON.parse's message quotes it). */
async function readSecretsFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new BrokerError('configuration_error', `Secrets file ${path} could not be read`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BrokerError('configuration_error', `Secrets file ${path} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BrokerError('configuration_error', `Secrets file ${path} must hold a JSON object of secret name → {client_id, client_secret}`);
  }
  return value as Record<string, unknown>;
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
