/**
 * The bench's DynamoDB: one in-memory dynalite in a child process (see dynalite-process.ts),
 * a fresh table per measurement, and a client per broker instance that can report every
 * command it sends.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../../lib/adapters/dynamodb-admin';
import { localDynamoClient } from '../../lib/local/dynalite';
import type { DynaliteReply, DynaliteRequest } from './dynalite-process';

/** One DynamoDB command the code sent, reported once when answered (SDK retries inside it are not counted apart). */
export interface DynamoCommand {
  /** `GetItem`, `UpdateItem`, `Query`, ... */
  name: string;
  /** `ConsistentRead` of a read, when set. */
  consistent?: boolean;
  /** Attributes an UpdateItem SETs (tells a lease write from a commit). */
  set?: string[];
  /** From send to answer, including SDK work and retries. */
  durationMs: number;
}

export interface BenchDynamo {
  endpoint: string;
  /** A new DynamoDB client on this dynalite; `onCommand` sees every command it sends, once it is answered. */
  client(onCommand?: (command: DynamoCommand) => void): DynamoDBClient;
  /** Creates an empty table with the broker's schema and returns its name. */
  newTable(): Promise<string>;
  /** CPU time the dynalite process has used so far, in microseconds. */
  cpuMicros(): Promise<number>;
  /** Stops dynalite and its process, and destroys every client made here. */
  close(): Promise<void>;
}

const CHILD_ENTRY = fileURLToPath(new URL('./dynalite-process.ts', import.meta.url));

/** Starts dynalite in a child process on loopback (the child inherits this process's TypeScript loader). */
export async function startBenchDynamo(): Promise<BenchDynamo> {
  const child = fork(CHILD_ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dynalite process exited early (code ${code})`)));
    child.once('message', (reply: DynaliteReply) => {
      if (reply.type === 'ready') resolve(reply.endpoint);
    });
  });
  child.removeAllListeners('exit');
  child.removeAllListeners('error');

  const clients: DynamoDBClient[] = [];
  const admin = localDynamoClient(endpoint);
  clients.push(admin);

  return {
    endpoint,
    client(onCommand) {
      const client = localDynamoClient(endpoint);
      if (onCommand) observeCommands(client, onCommand);
      clients.push(client);
      return client;
    },
    async newTable() {
      const name = `bench-${randomBytes(6).toString('hex')}`;
      await ensureTable(admin, name);
      return name;
    },
    cpuMicros: () => ask(child, { type: 'usage' }).then((reply) => (reply.type === 'usage' ? reply.cpuMicros : 0)),
    async close() {
      for (const client of clients.splice(0)) client.destroy();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'close' } satisfies DynaliteRequest);
      await exited;
    },
  };
}

/** Adds an initialize-step middleware that reports each command once when it completes, however often the SDK retried it. */
export function observeCommands(client: DynamoDBClient, onCommand: (command: DynamoCommand) => void): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ConsistentRead?: boolean; UpdateExpression?: string; ExpressionAttributeNames?: Record<string, string> };
      const set = input.UpdateExpression === undefined ? undefined : setAttributes(input.UpdateExpression, input.ExpressionAttributeNames ?? {});
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        onCommand({
          name: String(context.commandName ?? 'unknown').replace(/Command$/, ''),
          ...(input.ConsistentRead !== undefined ? { consistent: input.ConsistentRead } : {}),
          ...(set ? { set } : {}),
          durationMs: performance.now() - started,
        });
      }
    },
    { step: 'initialize', name: 'benchCommandObserver' },
  );
}

/** `SET #a = :a, #b = :b REMOVE #c` → the attribute names behind `#a`, `#b`. */
function setAttributes(expression: string, names: Record<string, string>): string[] {
  const clause = /\bSET\s+(.*?)(?:\s+(?:REMOVE|ADD|DELETE)\b|$)/s.exec(expression)?.[1] ?? '';
  return [...clause.matchAll(/(#\w+)\s*=/g)].map((match) => names[match[1] ?? ''] ?? match[1] ?? '');
}

function ask(child: ChildProcess, request: DynaliteRequest): Promise<DynaliteReply> {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(request);
  });
}
