/**
 * (e) The crash window: from the moment the provider's answer (a rotated refresh token) is in the
 * broker's hands to the moment the commit that stores it is acknowledged. A process that dies in
 * between loses that token (docs/design.md, "The crash window"); this measures how long it is open.
 *
 * Real adapters: `DynamoDbConnectionStore` on the bench's dynalite (a middleware reports each
 * command when answered), `KmsTokenCipher` on the faked KMS, the fault provider on loopback. The
 * answer is timed in the broker's `fetch` once the body is read; the commit is the UpdateItem that
 * sets `sealed`. Also counted: every DynamoDB command sent and every KMS call made inside the window
 * (the invariant: exactly the one commit write, no KMS call).
 */
import { performance } from 'node:perf_hooks';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDbConnectionStore } from '../lib/adapters/dynamodb-store';
import { KmsTokenCipher } from '../lib/adapters/kms-cipher';
import { FAULT_CLIENT } from '../test/support/fault-broker';
import { startFaultProvider } from '../test/support/fault-provider';
import { BenchClock, PROVIDER_KEY, benchBroker, connectionIds, runPool, seedConnections } from './support/fixtures';
import { fakeAws } from './support/fake-aws';
import type { BenchDynamo } from './support/local-dynamo';
import { Checks, envInt, heading, ms, percentiles, printTable, round, type Percentiles } from './support/report';

export interface CrashWindowRun {
  /** Refreshes in flight at once. */
  concurrency: number;
  refreshes: number;
  /** Answer in hand → commit acknowledged, per refresh. */
  window_ms: Percentiles;
  /** DynamoDB commands sent inside a window (summed over all refreshes; one each is the commit). */
  store_commands_in_window: number;
  /** KMS calls inside a window; null with more than one refresh in flight (a KMS call cannot be tied to one refresh). */
  kms_calls_in_window: number | null;
}

export interface CrashWindowFigures {
  runs: CrashWindowRun[];
}

const KEY_ID = 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000';
const AWS = { region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };

type Mark = { at: number; what: 'answer' | 'kms' | 'store-sent' | 'commit-acked'; connection?: string };

export async function benchCrashWindow(dynamo: BenchDynamo, checks: Checks): Promise<CrashWindowFigures> {
  const refreshes = envInt('BENCH_CRASH_WINDOW_N', 200);
  heading(`(e) Crash window: provider answer in hand -> commit acknowledged, ${refreshes} forced refreshes (dynalite, KMS faked, real adapters)`);
  const marks: Mark[] = [];
  const aws = fakeAws({ [PROVIDER_KEY]: JSON.stringify(FAULT_CLIENT) }, ({ service }) => {
    if (service === 'KMS') marks.push({ at: performance.now(), what: 'kms' });
  });
  const clock = new BenchClock();
  const provider = await startFaultProvider({ clock: clock.now });
  try {
    const runs: CrashWindowRun[] = [];
    for (const concurrency of [1, 10]) {
      const tableName = await dynamo.newTable();
      const cipher = new KmsTokenCipher({ keyId: KEY_ID, client: new KMSClient(AWS) });
      const ids = connectionIds(`window-${concurrency}`, concurrency);
      await seedConnections({ store: new DynamoDbConnectionStore({ tableName, client: dynamo.client(), clock }), cipher, provider, clock, ids });
      // One broker per connection, so each refresh's answer and commit are paired by connection.
      const brokers = new Map(
        ids.map((id) => {
          const timedFetch: typeof fetch = async (input, init) => {
            const response = await fetch(input, init);
            const body = await response.text();
            marks.push({ at: performance.now(), what: 'answer', connection: id });
            return new Response(body, { status: response.status, headers: response.headers });
          };
          const { broker } = benchBroker({
            dynamo,
            tableName,
            provider,
            clock,
            cipher,
            instanceId: `window-${id}`,
            fetch: timedFetch,
            onDynamoCommand: (command) => {
              const acked = performance.now();
              marks.push({ at: acked - command.durationMs, what: 'store-sent', connection: id });
              if (command.name === 'UpdateItem' && command.set?.includes('sealed')) marks.push({ at: acked, what: 'commit-acked', connection: id });
            },
          });
          return [id, broker] as const;
        }),
      );
      for (const [id, broker] of brokers) await broker.getToken(id); // warm: secrets, clients
      marks.length = 0;

      const rounds = Math.ceil(refreshes / concurrency);
      for (let round = 0; round < rounds; round++) {
        await runPool(ids, concurrency, async (id) => {
          await brokers.get(id)!.getToken(id, { forceRefresh: true });
        });
      }
      runs.push(summarise(concurrency, marks));
    }

    printTable(
      ['in flight', 'refreshes', 'window min', 'p50', 'p90', 'p99', 'max', 'store commands in window', 'KMS calls in window'],
      runs.map((r) => [
        String(r.concurrency),
        String(r.refreshes),
        ms(r.window_ms.min, 1),
        ms(r.window_ms.p50, 1),
        ms(r.window_ms.p90, 1),
        ms(r.window_ms.p99, 1),
        ms(r.window_ms.max, 1),
        `${r.store_commands_in_window} (${round(r.store_commands_in_window / r.refreshes, 2)} per refresh)`,
        r.kms_calls_in_window === null ? 'n/a (not attributable)' : String(r.kms_calls_in_window),
      ]),
    );
    for (const run of runs) {
      const verdict = checks.expect(
        run.store_commands_in_window === run.refreshes && (run.kms_calls_in_window ?? 0) === 0,
        `crash window at ${run.concurrency} in flight: exactly one store write per refresh and no KMS call (got ${run.store_commands_in_window} writes for ${run.refreshes} refreshes, ${run.kms_calls_in_window ?? 'n/a'} KMS calls)`,
      );
      console.log(`  ${run.concurrency} in flight: inside the window, one store write per refresh${run.kms_calls_in_window === null ? '' : ' and no KMS call'}: ${verdict}`);
    }
    console.log('  The data key is generated before the provider is asked (TokenCipher.sealingKey); the window is the commit UpdateItem and sealing (AES-GCM, local).');
    return { runs };
  } finally {
    aws.restore();
    await provider.close();
  }
}

/** Pairs each answer with the next commit acknowledged for its connection; counts what was sent or called in between. */
function summarise(concurrency: number, marks: readonly Mark[]): CrashWindowRun {
  const windows: number[] = [];
  let storeCommands = 0;
  let kmsCalls: number | null = concurrency === 1 ? 0 : null;
  const answers = marks.filter((mark) => mark.what === 'answer');
  for (const answer of answers) {
    const commit = marks.find((mark) => mark.what === 'commit-acked' && mark.connection === answer.connection && mark.at >= answer.at);
    if (!commit) continue;
    windows.push(commit.at - answer.at);
    storeCommands += marks.filter((mark) => mark.what === 'store-sent' && mark.connection === answer.connection && mark.at > answer.at && mark.at <= commit.at).length;
    // KMS calls are not tied to a connection: with one refresh in flight, any call inside is this one's.
    if (kmsCalls !== null) kmsCalls += marks.filter((mark) => mark.what === 'kms' && mark.at > answer.at && mark.at < commit.at).length;
  }
  return { concurrency, refreshes: windows.length, window_ms: percentiles(windows), store_commands_in_window: storeCommands, kms_calls_in_window: kmsCalls };
}
