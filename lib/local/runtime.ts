/**
 * The embedded runtime behind `npm start` (and the integration tests): the same
 * handlers as on AWS, with dynalite for DynamoDB, a key file for KMS, a JSON file
 * for Secrets Manager, a timer for the EventBridge schedule and an in-process queue for SQS, and the sandbox
 * provider. Each stand-in gives way to the real service when its variable is set
 * (AWS_ENDPOINT_URL_DYNAMODB, BROKER_KMS_KEY_ID, BROKER_EVENT_BUS_NAME). It builds its
 * Broker from these parts and hands it to the handlers it serves; nothing is global, so
 * two local brokers in one process never serve each other's requests.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ScheduledEvent } from 'aws-lambda';
import { createRefreshSchedulerHandler } from '../../functions/refresh-scheduler';
import { createRefreshWorkerHandler } from '../../functions/refresh-worker';
import { MemoryRefreshQueue } from '../adapters/memory-refresh-queue';
import { ensureTable } from '../adapters/dynamodb-admin';
import { DynamoDbConnectionStore } from '../adapters/dynamodb-store';
import { DynamoDbProviderHealthStore } from '../adapters/dynamodb-health-store';
import { ensureSecretsFile } from '../adapters/local-secrets';
import { FileSecretStore } from '../adapters/local-secrets';
import { LogEventSink } from '../adapters/log-sink';
import { FileSigningKey } from '../adapters/signing-key';
import { Broker } from '../broker';
import type { BrokerConfig } from '../connections/context';
import type { ClientCredentials } from '../model';
import { logger } from '../logger';
import { loadCatalogue } from '../providers/catalogue';
import type { ProviderInput } from '../providers/schema';
import type { Clock } from '../ports';
import { systemClock } from '../ports';
import { cipherFor, configFromEnv, dataKeysFromEnv, eventSinkFor } from '../runtime';
import { startDynalite, localDynamoClient, type LocalDynamo } from './dynalite';
import { startSandboxProvider, type SandboxProvider, type SandboxProviderOptions } from './sandbox-provider';
import { pollOnce } from './refresh-poller';
import { lambdaContext, startLocalServer, type LocalServer } from './server';

type Env = Record<string, string | undefined>;

export interface LocalBrokerOptions {
  env?: Env;
  /** Broker HTTP port (0 = random). Default PORT or 3000. */
  port?: number;
  /** Sandbox provider port (0 = random). Default BROKER_SANDBOX_PORT or 3001. */
  sandboxPort?: number;
  /** Data directory for dynalite, the key file and the secrets file; undefined with `inMemory`. */
  dataDir?: string;
  /** Keep DynamoDB in memory (tests). */
  inMemory?: boolean;
  /** Refresh scheduler period; 0 disables the scheduler's timer and the queue's poller (tests call `refreshDue()` themselves). */
  schedulerIntervalMs?: number;
  sandbox?: Omit<SandboxProviderOptions, 'port' | 'clients'>;
  config?: Partial<BrokerConfig>;
  clock?: Clock;
  fetch?: typeof fetch;
}

export interface LocalBroker {
  url: string;
  adminKey: string;
  /** Where the admin key is kept (`.data/admin.key`); undefined when it came from BROKER_ADMIN_KEY or lives in memory. */
  adminKeyFile?: string;
  installUrl: string;
  dashboardUrl: string;
  broker: Broker;
  sandbox: SandboxProvider;
  events: LogEventSink;
  tableName: string;
  dynamoClient: DynamoDBClient;
  /** Runs the refresh scheduler's handler once, as EventBridge would, and the worker handler over the in-process queue until it is empty. */
  refreshDue(): Promise<unknown>;
  close(): Promise<void>;
}

export async function startLocalBroker(options: LocalBrokerOptions = {}): Promise<LocalBroker> {
  const env = options.env ?? process.env;
  const port = options.port ?? Number(env.PORT ?? 3000);
  const sandboxPort = options.sandboxPort ?? Number(env.BROKER_SANDBOX_PORT ?? 3001);
  const dataDir = resolve(options.dataDir ?? env.BROKER_DATA_DIR ?? '.data');
  const tableName = env.BROKER_TABLE_NAME ?? 'oauth-token-broker';
  const givenAdminKey = adminKeyFromEnv(env.BROKER_ADMIN_KEY);
  // Read before anything starts: a refused BROKER_* setting stops the start with no database or server left behind.
  const envConfig = configFromEnv(env);
  const closers: Array<() => Promise<void>> = [];

  try {
    if (!options.inMemory) {
      await privateDataDir(dataDir);
      // Before anything opens a file in it: two runtimes on one directory would corrupt each other's data.
      closers.push(await lockDataDir(dataDir));
    }

    // DynamoDB: the endpoint named by AWS_ENDPOINT_URL_DYNAMODB (DynamoDB Local, or AWS), else embedded dynalite.
    let dynamoClient: DynamoDBClient;
    if (env.AWS_ENDPOINT_URL_DYNAMODB) {
      dynamoClient = externalDynamoClient(env.AWS_ENDPOINT_URL_DYNAMODB, env);
    } else {
      const dynalite: LocalDynamo = await startDynalite(options.inMemory ? {} : { path: join(dataDir, 'dynamodb') });
      closers.push(() => dynalite.close());
      dynamoClient = localDynamoClient(dynalite.endpoint);
    }
    await ensureTable(dynamoClient, tableName);

    // Secrets: the sandbox app's credentials live in the secrets file like any provider's.
    const secretsFile = env.BROKER_SECRETS_FILE ?? join(options.inMemory ? join(dataDir, 'tmp', randomBytes(4).toString('hex')) : dataDir, 'secrets.json');
    await ensureSecretsFile(secretsFile, { sandbox: { client_id: 'sandbox-app', client_secret: randomBytes(24).toString('base64url') } });
    const sandboxCredentials = (JSON.parse(await readFile(secretsFile, 'utf8')) as Record<string, ClientCredentials>).sandbox!;

    // The server must be listening before the sandbox registers its redirect URI (port 0 = random).
    const events = new LogEventSink();
    const adminKeyFile = givenAdminKey || options.inMemory ? undefined : join(dataDir, 'admin.key');
    const adminKey = givenAdminKey || (adminKeyFile === undefined ? newAdminKey() : await persistentAdminKey(adminKeyFile));
    // The server listens before the broker exists (the sandbox needs its URL); requests wait for the broker.
    let brokerReady!: (broker: Broker) => void;
    const whenReady = new Promise<Broker>((resolve) => (brokerReady = resolve));
    const getBroker = (): Promise<Broker> => whenReady;
    const server: LocalServer = await startLocalServer({ port, adminKey, broker: getBroker, events, installableProviders: ['sandbox'] }).catch((err: unknown) => {
      throw portInUse(err, port, 'PORT') ?? err;
    });
    closers.push(() => server.close());

    const sandbox = await startSandboxProvider({
      ...options.sandbox,
      port: sandboxPort,
      // Its grants and keys live beside the broker's, so a restart keeps sandbox connections alive.
      ...(options.inMemory ? {} : { dataDir: join(dataDir, 'sandbox') }),
      clients: [
        {
          ...sandboxCredentials,
          redirect_uris: [`${server.url}/oauth/sandbox/callback`, `http://localhost:${server.port}/oauth/sandbox/callback`],
        },
      ],
    }).catch((err: unknown) => {
      throw portInUse(err, sandboxPort, 'BROKER_SANDBOX_PORT') ?? err;
    });
    closers.push(() => sandbox.close());

    const overrides: Record<string, Partial<ProviderInput>> = {
      sandbox: {
        authorization_url: `${sandbox.issuer}/auth`,
        token_url: `${sandbox.issuer}/token`,
        revocation: { url: `${sandbox.issuer}/token/revocation` },
        oidc: { issuer: sandbox.issuer, jwks_uri: `${sandbox.issuer}/jwks`, tenant_claim: 'sub', authorization_response_iss: 'required' },
      },
      'sandbox-cc': { token_url: `${sandbox.issuer}/token` },
    };
    const clock = options.clock ?? systemClock;
    const tokenKeyFile = env.BROKER_KEY_FILE ?? join(dataDir, 'token.key');
    const broker = new Broker(
      {
        store: new DynamoDbConnectionStore({ tableName, client: dynamoClient, clock }),
        health: new DynamoDbProviderHealthStore({ tableName, client: dynamoClient, clock }),
        // As on Lambda: KMS when BROKER_KMS_KEY_ID is set, else the key file (by default in the data dir).
        cipher: await cipherFor({ kmsKeyId: env.BROKER_KMS_KEY_ID, keyFile: tokenKeyFile, ...dataKeysFromEnv(env) }),
        secrets: new FileSecretStore(secretsFile),
        // The signing key is a file beside the token key (Secrets Manager on AWS).
        signingKey: new FileSigningKey(env.BROKER_SIGNING_KEY_FILE ?? join(dataDir, 'signing.key')),
        events: eventSinkFor(env.BROKER_EVENT_BUS_NAME, events),
        catalogue: loadCatalogue({ env, overrides }),
        clock,
        fetch: options.fetch,
      },
      { publicUrl: server.url, returnToAllowlist: [server.url], ...envConfig, ...options.config },
    );
    // A replaced token key stops here with one line, not as decrypt_failed on every request.
    await broker.checkKeys(env.BROKER_KMS_KEY_ID ? `KMS key ${env.BROKER_KMS_KEY_ID}` : `file ${tokenKeyFile}`);
    if (!options.inMemory) await privateDataDir(dataDir); // the files created since (keys, dynalite's) included
    brokerReady(broker);

    // The refresh scheduler and workers, as on AWS, over an in-process queue (SQS's stand-in).
    const refreshQueue = new MemoryRefreshQueue({ clock });
    const scheduler = createRefreshSchedulerHandler(getBroker, () => refreshQueue);
    // One process: its worker holds each provider's whole budget.
    const worker = createRefreshWorkerHandler(getBroker, { workers: () => 1 });
    const providers = [...broker.ctx.catalogue.keys()];
    const drain = async (): Promise<void> => {
      for (const provider of providers) while ((await pollOnce(refreshQueue, provider, worker, lambdaContext(60_000))) > 0);
    };
    const refreshDue = async (): Promise<unknown> => {
      const summary = await scheduler(scheduledEvent(), lambdaContext(60_000));
      await drain();
      return summary;
    };
    // The period the broker's lead and per-run budgets assume (BROKER_SCHEDULER_INTERVAL_S, read once by configFromEnv), as EventBridge's rate is on AWS.
    const schedulerIntervalMs = options.schedulerIntervalMs ?? broker.ctx.config.refreshPolicy.schedulerIntervalMs;
    if (schedulerIntervalMs > 0) {
      const schedule = setInterval(() => {
        scheduler(scheduledEvent(), lambdaContext(60_000)).catch((err: unknown) => logger.error('refresh scheduler failed', { error: err instanceof Error ? err.name : 'unknown' }));
      }, schedulerIntervalMs);
      // The event source mapping's stand-in: polls every second.
      let polling = false;
      const poll = setInterval(() => {
        if (polling) return;
        polling = true;
        drain()
          .catch((err: unknown) => logger.error('refresh worker failed', { error: err instanceof Error ? err.name : 'unknown' }))
          .finally(() => (polling = false));
      }, 1_000);
      schedule.unref();
      poll.unref();
      closers.push(async () => {
        clearInterval(schedule);
        clearInterval(poll);
      });
    }

    return {
      url: server.url,
      adminKey,
      adminKeyFile,
      installUrl: `${server.url}/oauth/sandbox/install`,
      dashboardUrl: `${server.url}/#key=${encodeURIComponent(adminKey)}`,
      broker,
      sandbox,
      events,
      tableName,
      dynamoClient,
      refreshDue,
      close: () => closeAll(closers),
    };
  } catch (err) {
    await closeAll(closers);
    throw err;
  }
}

/**
 * A client for the DynamoDB endpoint the user named. DynamoDB Local accepts any
 * credentials but the SDK still signs, so a loopback endpoint without AWS
 * credentials in the environment gets dummy ones instead of a credentials error.
 */
function externalDynamoClient(endpoint: string, env: Env): DynamoDBClient {
  const loopback = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\/?$/.test(endpoint);
  const hasCredentials = Boolean(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI);
  return new DynamoDBClient({
    endpoint,
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(loopback && !hasCredentials ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

/** The event EventBridge Scheduler/Rules deliver to the refresh function. */
function scheduledEvent(): ScheduledEvent {
  return {
    version: '0',
    id: randomBytes(8).toString('hex'),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: 'local',
    time: new Date().toISOString(),
    region: 'local',
    resources: [],
    detail: {},
  };
}

/**
 * The data dir holds the keys, the secrets file and dynalite's files: owner-only. The process
 * umask makes files created from now on (dynalite's leveldb files appear as it compacts) 0600
 * in 0700 directories; what exists already is chmod-ed, so an older, looser data dir is fixed too.
 */
async function privateDataDir(dataDir: string): Promise<void> {
  try {
    process.umask(0o077);
  } catch {
    // Worker threads may not set the umask; the 0700 directories still keep others out.
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const tighten = async (dir: string): Promise<void> => {
    await chmod(dir, 0o700);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await tighten(path);
      else if (entry.isFile()) await chmod(path, 0o600);
    }
  };
  await tighten(dataDir);
}

/**
 * Why `npm start` could not start, in one line that says what to do: printed as it is, with no
 * stack (lib/local/main.ts). Thrown for a busy port and a data directory in use.
 */
export class LocalStartError extends Error {
  override readonly name = 'LocalStartError';
}

/** The one-line error for a port another process holds, or undefined when `err` is something else. */
function portInUse(err: unknown, port: number, variable: 'PORT' | 'BROKER_SANDBOX_PORT'): LocalStartError | undefined {
  if ((err as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE') return undefined;
  const what = variable === 'PORT' ? 'the broker' : 'the sandbox provider';
  return new LocalStartError(
    `npm start: port ${port} (for ${what}) is already in use, perhaps by another npm start. Stop that, or choose a free port: ${variable}=${port + 100} npm start`,
  );
}

/**
 * Marks `dataDir` as used by this process (`npm-start.pid`, created exclusively), so a second
 * `npm start` on it stops with one line instead of two processes writing one dynalite database.
 * A mark left by a process that is gone (SIGKILL, a crash) is taken over. Returns the release.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, 'npm-start.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => unlink(path).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
      throw new LocalStartError(
        `npm start: the data directory ${dataDir} is in use by another npm start (pid ${holder}). Stop that one, or give this one its own directory and ports: BROKER_DATA_DIR=.data-2 PORT=3100 BROKER_SANDBOX_PORT=3101 npm start`,
      );
    }
    await unlink(path).catch(() => undefined); // left by a process that is gone
  }
  throw new LocalStartError(`npm start: could not mark the data directory ${dataDir} as in use; remove ${path} if no npm start is running`);
}

/** Whether a process with this pid exists (signal 0 tests without sending anything). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Fewer characters than this in BROKER_ADMIN_KEY and anyone on the machine could try them all against the loopback port. */
const MIN_ADMIN_KEY_CHARS = 16;

/**
 * BROKER_ADMIN_KEY, when set, as a key the server can match and no stranger guesses: a space or a
 * control character makes `Authorization: Bearer <key>` more than one token (every admin call would
 * answer 401 to the right key), and a short one opens the admin routes to a guess. Empty: not set.
 */
function adminKeyFromEnv(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (value.length < MIN_ADMIN_KEY_CHARS || /[\s\u0000-\u001f\u007f]/.test(value)) {
    throw new LocalStartError(
      `npm start: BROKER_ADMIN_KEY must be at least ${MIN_ADMIN_KEY_CHARS} characters, without spaces or control characters (it is sent as "Authorization: Bearer <key>"); unset it to use the key npm start generates in its data directory (admin.key)`,
    );
  }
  return value;
}

/**
 * A new admin key: 192 random bits as 48 hex digits. Not base64url, whose first character is `-` for
 * 1 key in 64, and `--key -Xy…` is read as an option, not as the key (a usage error, exit 2).
 */
export function newAdminKey(): string {
  return randomBytes(24).toString('hex');
}

/** The generated admin key is kept in the data dir (mode 0600), so a restart does not change it. */
async function persistentAdminKey(path: string): Promise<string> {
  try {
    const existing = (await readFile(path, 'utf8')).trim();
    if (existing.length >= 32) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = newAdminKey();
  await writeFile(path, `${key}\n`, { mode: 0o600 });
  return key;
}

async function closeAll(closers: Array<() => Promise<void>>): Promise<void> {
  for (const close of closers.reverse()) await close().catch(() => undefined);
}
