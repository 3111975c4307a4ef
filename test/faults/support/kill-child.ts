/**
 * A broker process for the SIGKILL cells of test/faults/matrix.test.ts, bundled by the test
 * (esbuild) and run with plain `node`, on the parent's dynalite and fault provider over loopback.
 *
 * Two jobs, chosen by its config (JSON in KILL_CHILD_CONFIG):
 * - `stopAt` set: one forced refresh of the connection, which stops dead at that phase and prints
 *   `phase:<name>` so the parent can SIGKILL it there: `leased` (the lease write acknowledged),
 *   `answered` (the provider's answer in hand, the commit not yet sent), `committed` (the commit
 *   acknowledged). The fourth phase, the provider holding the request, is the parent's: its
 *   stand-in holds the request and the parent kills this process meanwhile.
 * - `steps` set: the restarted broker. Each step is one getToken at a clock offset (the token and
 *   the dead lease age without real waiting); prints one JSON line per step, and before each step
 *   after the first waits for a line on stdin (the parent checks a result before the next step).
 *
 * Never imports vitest (test/support/fault-broker.ts does): this runs outside the test runner.
 */
import { createInterface } from 'node:readline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbProviderHealthStore } from '../../../lib/adapters/dynamodb-health-store';
import { DynamoDbConnectionStore } from '../../../lib/adapters/dynamodb-store';
import { LocalTokenCipher } from '../../../lib/adapters/local-cipher';
import { MemoryEventSink } from '../../../lib/adapters/log-sink';
import { Broker } from '../../../lib/broker';
import { isBrokerError } from '../../../lib/errors';
import { logger } from '../../../lib/logger';
import type { RecordChanges } from '../../../lib/ports';
import { parseCatalogue } from '../../../lib/providers/catalogue';

export type KillPhase = 'leased' | 'answered' | 'committed';

export interface KillChildConfig {
  endpoint: string;
  tableName: string;
  providerUrl: string;
  /** The token key (base64), shared by every broker process of one cell. */
  key: string;
  connectionId: string;
  providerTimeoutMs: number;
  leaseMs: number;
  stopAt?: KillPhase;
  steps?: Array<{ offsetMs: number; force: boolean }>;
}

export type StepResult = { step: number; ok: true; access_token: string } | { step: number; ok: false; code: string };

const config = JSON.parse(process.env.KILL_CHILD_CONFIG ?? '{}') as KillChildConfig;
logger.setLogLevel('SILENT');

let offsetMs = 0;
const clock = { now: () => Date.now() + offsetMs };
// As lib/local/dynalite.ts `localDynamoClient`, without bundling dynalite itself.
const client = new DynamoDBClient({ endpoint: config.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 3 });
const store = new DynamoDbConnectionStore({ tableName: config.tableName, client, clock });

/** Stops this process for good (until the parent's SIGKILL) once the phase is reached. */
const freeze = (phase: KillPhase): Promise<never> => {
  process.stdout.write(`phase:${phase}\n`);
  return new Promise<never>(() => setInterval(() => undefined, 60_000));
};
const update = store.update.bind(store);
store.update = async (id: string, version: number, changes: RecordChanges) => {
  const commit = changes.set?.sealed !== undefined;
  if (commit && config.stopAt === 'answered') return freeze('answered');
  const written = await update(id, version, changes);
  if (changes.set?.leaseOwner !== undefined && config.stopAt === 'leased') return freeze('leased');
  if (commit && config.stopAt === 'committed') return freeze('committed');
  return written;
};

const broker = new Broker(
  {
    store,
    health: new DynamoDbProviderHealthStore({ tableName: config.tableName, client, clock }),
    cipher: new LocalTokenCipher(Buffer.from(config.key, 'base64')),
    secrets: { getClientCredentials: async () => ({ client_id: 'fault-app', client_secret: 'fault-secret-value' }) },
    events: new MemoryEventSink(),
    catalogue: parseCatalogue(
      {
        fault: {
          display_name: 'Fault stub',
          auth_mode: 'OAUTH2',
          authorization_url: `${config.providerUrl}/authorize`,
          token_url: `${config.providerUrl}/token`,
          dead_grant_errors: ['invalid_grant'],
        },
      },
      'kill-child catalogue',
    ),
    clock,
    instanceId: `kill-child-${process.pid}`,
  },
  { providerTimeoutMs: config.providerTimeoutMs, leaseMs: config.leaseMs },
);

if (config.stopAt) {
  await broker.getToken(config.connectionId, { forceRefresh: true });
  process.stdout.write('phase:none\n'); // the phase was never reached: the parent fails the cell
} else {
  const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  for (const [step, { offsetMs: offset, force }] of (config.steps ?? []).entries()) {
    if (step > 0) await stdin.next();
    offsetMs = offset;
    let result: StepResult;
    try {
      result = { step, ok: true, access_token: (await broker.getToken(config.connectionId, { forceRefresh: force })).access_token };
    } catch (err) {
      result = { step, ok: false, code: isBrokerError(err) ? err.code : err instanceof Error ? err.name : 'unknown' };
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  client.destroy();
  process.exit(0);
}
