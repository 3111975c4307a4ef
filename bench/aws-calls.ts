/**
 * (c) AWS calls per getToken path: what each path costs in DynamoDB, KMS and Secrets Manager
 * requests, and provider calls, in the order they happen.
 *
 * The production adapters run unchanged: `DynamoDbConnectionStore` on dynalite (a middleware on
 * each instance's DynamoDB client reports every command), `KmsTokenCipher` and
 * `SecretsManagerSecretStore` on clients faked with aws-sdk-client-mock (support/fake-aws.ts),
 * and the broker's `fetch` wrapped to see provider calls. Each "instance" is a Broker with its
 * own clients and caches, as one Lambda container would have.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KmsTokenCipher } from '../lib/adapters/kms-cipher';
import { SecretsManagerSecretStore } from '../lib/adapters/secrets-manager';
import type { Broker } from '../lib/broker';
import { FAULT_CLIENT } from '../test/support/fault-broker';
import { startFaultProvider } from '../test/support/fault-provider';
import { BenchClock, PROVIDER_KEY, benchBroker } from './support/fixtures';
import { fakeAws } from './support/fake-aws';
import type { BenchDynamo, DynamoCommand } from './support/local-dynamo';
import { Checks, heading, printTable } from './support/report';

export interface PathCalls {
  path: string;
  dynamodb: Record<string, number>;
  kms: Record<string, number>;
  secrets_manager: number;
  provider: number;
  /** Every call in order. */
  sequence: string[];
}

export interface AwsCallFigures {
  paths: PathCalls[];
}

type Call = { service: 'DynamoDB' | 'KMS' | 'SecretsManager' | 'provider'; label: string; command: string };

const KEY_ID = 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000';
const AWS = { region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
const EXPIRE_MS = 3_600_000 + 1_000;

export async function benchAwsCalls(dynamo: BenchDynamo, checks: Checks): Promise<AwsCallFigures> {
  heading('(c) AWS calls per getToken path (DynamoDB on dynalite; KMS and Secrets Manager faked; real adapters)');
  const calls: Call[] = [];
  const aws = fakeAws({ [PROVIDER_KEY]: JSON.stringify(FAULT_CLIENT) }, ({ service, command }) =>
    calls.push({ service, command, label: service === 'KMS' ? `KMS ${command}` : `SecretsManager ${command}` }),
  );
  const clock = new BenchClock();
  const provider = await startFaultProvider({ clock: clock.now });
  try {
    const tableName = await dynamo.newTable();
    const observedFetch: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const grant = typeof init?.body === 'string' ? new URLSearchParams(init.body).get('grant_type') : null;
      const method = init?.method ?? 'GET';
      calls.push({ service: 'provider', command: grant ?? url.pathname, label: `provider ${method} ${url.pathname}${grant ? ` (${grant})` : ''}` });
      return fetch(input, init);
    };
    let instances = 0;
    const newInstance = (): Broker =>
      benchBroker({
        dynamo,
        tableName,
        provider,
        clock,
        cipher: new KmsTokenCipher({ keyId: KEY_ID, client: new KMSClient(AWS) }),
        secrets: new SecretsManagerSecretStore({ client: new SecretsManagerClient(AWS) }),
        instanceId: `bench-aws-${instances++}`,
        fetch: observedFetch,
        onDynamoCommand: (command) => calls.push({ service: 'DynamoDB', command: command.name, label: dynamoLabel(command) }),
      }).broker;

    const paths: PathCalls[] = [];
    const measure = async (path: string, run: () => Promise<unknown>): Promise<PathCalls> => {
      calls.length = 0;
      await run();
      const figures = summarise(path, calls);
      paths.push(figures);
      return figures;
    };

    const installer = newInstance();
    let connectionId = '';
    await measure('install (callback, new connection)', async () => {
      const result = await installer.completeCallback({
        provider: PROVIDER_KEY,
        query: { code: provider.issueCode() },
        requestBaseUrl: 'http://127.0.0.1/bench',
      });
      connectionId = result.connectionId;
    });
    const a = newInstance();
    const cold = await measure('getToken: cold instance, fresh token', () => a.getToken(connectionId));
    const warm = await measure('getToken: warm instance, fresh token (cached)', () => a.getToken(connectionId));
    clock.advance(EXPIRE_MS);
    await measure('getToken: expired, warm instance (first refresh there)', () => a.getToken(connectionId));
    clock.advance(EXPIRE_MS);
    await measure('getToken: expired, same instance again (secret cached)', () => a.getToken(connectionId));
    // The caller got a 401 with the token this instance just served: forced, and the token is not expired.
    await measure('getToken forceRefresh: warm instance, fresh token', () => a.getToken(connectionId, { forceRefresh: true }));
    clock.advance(EXPIRE_MS);
    const b = newInstance();
    await measure('getToken: expired, cold instance', () => b.getToken(connectionId));
    clock.advance(3_000_000); // due for the sweep (about 48 min into a 1 h token), not expired
    const sweeper = newInstance();
    await measure('sweep: one due connection, new instance', () => sweeper.sweep());

    const warmVerdict = checks.expect(warm.sequence.length === 0, 'warm getToken makes no AWS or provider call');
    const coldVerdict = checks.expect(
      cold.sequence.join(' | ') === 'DynamoDB GetItem (consistent) | KMS Decrypt',
      `cold getToken is 1 consistent GetItem + 1 KMS Decrypt (got ${cold.sequence.join(', ') || 'nothing'})`,
    );

    printTable(
      ['path', 'DynamoDB', 'KMS', 'Secrets Mgr', 'provider', 'AWS total'],
      paths.map((p) => [
        p.path,
        countsText(p.dynamodb),
        countsText(p.kms),
        String(p.secrets_manager),
        String(p.provider),
        String(sum(p.dynamodb) + sum(p.kms) + p.secrets_manager),
      ]),
    );
    console.log('\n  In order:');
    for (const p of paths) console.log(`  - ${p.path}: ${p.sequence.length === 0 ? 'no call' : p.sequence.join(' -> ')}`);
    console.log(`  Expected: warm 0 calls (${warmVerdict}); cold 1 consistent GetItem + 1 KMS Decrypt (${coldVerdict}).`);
    console.log('  Secrets Manager: Powertools caches the client secret per instance for 5 min, so only an instance\'s first provider call pays it.');
    return { paths };
  } finally {
    aws.restore();
    await provider.close();
  }
}

function dynamoLabel(command: DynamoCommand): string {
  const set = new Set(command.set ?? []);
  let what = '';
  if (command.name === 'GetItem') what = command.consistent ? 'consistent' : 'eventually consistent';
  else if (command.name === 'PutItem') what = 'create';
  else if (command.name === 'Query') what = 'schedule index';
  else if (command.name === 'UpdateItem') {
    if (set.has('lease_owner')) what = 'take lease';
    else if (set.has('sealed')) what = 'commit token';
    else if (set.has('rescue')) what = 'park rescued token';
    else if (set.has('failure_count')) what = 'record failure';
  }
  return `DynamoDB ${command.name}${what ? ` (${what})` : ''}`;
}

function summarise(path: string, calls: readonly Call[]): PathCalls {
  const dynamodb: Record<string, number> = {};
  const kms: Record<string, number> = {};
  let secretsManager = 0;
  let providerCalls = 0;
  for (const call of calls) {
    if (call.service === 'DynamoDB') dynamodb[call.command] = (dynamodb[call.command] ?? 0) + 1;
    else if (call.service === 'KMS') kms[call.command] = (kms[call.command] ?? 0) + 1;
    else if (call.service === 'SecretsManager') secretsManager++;
    else providerCalls++;
  }
  return { path, dynamodb, kms, secrets_manager: secretsManager, provider: providerCalls, sequence: calls.map((c) => c.label) };
}

function countsText(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? '0' : entries.map(([name, n]) => `${n} ${name}`).join(' + ');
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((total, n) => total + n, 0);
}
