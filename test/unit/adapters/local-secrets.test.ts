import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSecretStore, ensureSecretsFile } from '../../../lib/adapters/local-secrets';
import { isBrokerError } from '../../../lib/errors';

const SANDBOX = { client_id: 'sandbox-client', client_secret: 'sandbox-secret-do-not-leak' };

describe('FileSecretStore', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-secrets-'));
    file = join(dir, 'secrets.json');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes the file and pins its mtime, so reload detection does not depend on clock granularity. */
  async function writeSecrets(content: unknown, mtimeSeconds: number): Promise<void> {
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    await utimes(file, mtimeSeconds, mtimeSeconds);
  }

  it('reads the credentials stored under a name', async () => {
    await writeSecrets({ sandbox: SANDBOX }, 1_700_000_000);
    expect(await new FileSecretStore(file).getClientCredentials('sandbox')).toStrictEqual(SANDBOX);
  });

  it('re-reads the file when its mtime changes', async () => {
    await writeSecrets({ sandbox: SANDBOX }, 1_700_000_000);
    const store = new FileSecretStore(file);
    await store.getClientCredentials('sandbox');

    // Same length, so only the mtime tells the change apart.
    await writeSecrets({ sandbox: { ...SANDBOX, client_secret: 'sandbox-secret-do-not-leaK' } }, 1_700_000_100);

    expect((await store.getClientCredentials('sandbox')).client_secret).toBe('sandbox-secret-do-not-leaK');
  });

  it('keeps serving the parsed file while its mtime is unchanged', async () => {
    await writeSecrets({ sandbox: SANDBOX }, 1_700_000_000);
    const store = new FileSecretStore(file);
    await store.getClientCredentials('sandbox');

    // Rewritten in place with the same size and mtime: indistinguishable, so the cached copy stands.
    await writeSecrets({ sandbox: { ...SANDBOX, client_secret: 'sandbox-secret-do-not-leaK' } }, 1_700_000_000);

    expect((await store.getClientCredentials('sandbox')).client_secret).toBe(SANDBOX.client_secret);
  });

  it('reports an unknown name as provider_not_configured naming the secret', async () => {
    await writeSecrets({ sandbox: SANDBOX }, 1_700_000_000);
    const err = await new FileSecretStore(file).getClientCredentials('hubspot').catch((e: unknown) => e);
    expect(isBrokerError(err, 'provider_not_configured')).toBe(true);
    expect((err as Error).message).toContain('Secret "hubspot" not found');
  });

  it('does not treat inherited object keys as secrets', async () => {
    await writeSecrets({ sandbox: SANDBOX }, 1_700_000_000);
    const err = await new FileSecretStore(file).getClientCredentials('constructor').catch((e: unknown) => e);
    expect(isBrokerError(err, 'provider_not_configured')).toBe(true);
  });

  it('reports a missing file as configuration_error naming the file', async () => {
    const err = await new FileSecretStore(file).getClientCredentials('sandbox').catch((e: unknown) => e);
    expect(isBrokerError(err, 'configuration_error')).toBe(true);
    expect((err as Error).message).toContain(file);
  });

  it.each([
    ['a file that is not JSON', `{"sandbox": ${SANDBOX.client_secret}`, 'is not valid JSON'],
    ['a file that is not an object', JSON.stringify([SANDBOX.client_secret]), 'must hold a JSON object'],
    ['an entry without client_id', JSON.stringify({ sandbox: { client_secret: SANDBOX.client_secret } }), 'is missing client_id'],
    ['an entry that is a bare string', JSON.stringify({ sandbox: SANDBOX.client_secret }), 'must be a JSON object'],
  ])('rejects %s with configuration_error that never contains the secret value', async (_case, content, expected) => {
    await writeSecrets(content, 1_700_000_000);
    const err = await new FileSecretStore(file).getClientCredentials('sandbox').catch((e: unknown) => e);
    expect(isBrokerError(err, 'configuration_error')).toBe(true);
    expect((err as Error).message).toContain(expected);
    expect((err as Error).message).not.toContain(SANDBOX.client_secret);
    expect(String((err as Error).cause ?? '')).not.toContain(SANDBOX.client_secret);
  });
});

describe('ensureSecretsFile', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ensure-secrets-'));
    file = join(dir, 'data', 'secrets.json');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the file with mode 0600 and the given entries, parent dir included', async () => {
    expect(await ensureSecretsFile(file, { sandbox: SANDBOX })).toStrictEqual(['sandbox']);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toStrictEqual({ sandbox: SANDBOX });
    expect(await new FileSecretStore(file).getClientCredentials('sandbox')).toStrictEqual(SANDBOX);
  });

  it('adds missing entries and keeps existing ones untouched', async () => {
    const operatorEdited = { client_id: 'my-sandbox', client_secret: 'operator-choice' };
    const hubspot = { client_id: 'hs', client_secret: 'hs-secret' };
    await ensureSecretsFile(file, { sandbox: SANDBOX });
    await writeFile(file, JSON.stringify({ sandbox: operatorEdited, hubspot }));

    expect(await ensureSecretsFile(file, { sandbox: SANDBOX, marketo: { client_id: 'mk', client_secret: 'mk-secret' } })).toStrictEqual([
      'marketo',
    ]);

    expect(JSON.parse(await readFile(file, 'utf8'))).toStrictEqual({
      sandbox: operatorEdited,
      hubspot,
      marketo: { client_id: 'mk', client_secret: 'mk-secret' },
    });
  });

  it('leaves the file alone when nothing is missing', async () => {
    await ensureSecretsFile(file, { sandbox: SANDBOX });
    await utimes(file, 1_700_000_000, 1_700_000_000);
    expect(await ensureSecretsFile(file, { sandbox: SANDBOX })).toStrictEqual([]);
    expect((await stat(file)).mtimeMs).toBe(1_700_000_000_000);
  });

  it('refuses to overwrite a malformed file', async () => {
    await ensureSecretsFile(file, {});
    await writeFile(file, '{ not json');
    const err = await ensureSecretsFile(file, { sandbox: SANDBOX }).catch((e: unknown) => e);
    expect(isBrokerError(err, 'configuration_error')).toBe(true);
    expect(await readFile(file, 'utf8')).toBe('{ not json');
  });
});
