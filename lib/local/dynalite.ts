/**
 * dynalite: the embedded DynamoDB of the local runtime and the integration tests.
 * Same wire protocol as DynamoDB, so the store adapter runs unchanged against it.
 * Gaps that matter here (docs/design.md, "One table"): no TTL deletion, no transactions.
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

export interface LocalDynamo {
  /** `http://host:port`, for `localDynamoClient` or `AWS_ENDPOINT_URL_DYNAMODB`. */
  endpoint: string;
  /** Stops the server and closes its store (flushes to disk when on disk). */
  close(): Promise<void>;
}

/** Starts dynalite on loopback: on disk under `path` (created if missing), in memory otherwise; `port` 0 = random. */
export async function startDynalite(options: { path?: string; port?: number; host?: string } = {}): Promise<LocalDynamo> {
  const host = options.host ?? '127.0.0.1';
  if (options.path !== undefined) await mkdir(options.path, { recursive: true });
  // Table lifecycle delays (500 ms by default) only slow tests and start-up; nothing here depends on them.
  const server = dynalite({
    ...(options.path !== undefined ? { path: options.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    endpoint: `http://${urlHost}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Idle keep-alive sockets of SDK clients would otherwise hold close() open.
        server.closeIdleConnections();
      }),
  };
}

/** A DynamoDBClient for a local engine (dynalite, DynamoDB Local): dummy credentials, region `local`. */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    // Local engines accept any signature; static values keep the SDK from searching for real credentials.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // A local engine either answers or is down: a few quick retries, not the SDK's long backoff.
    maxAttempts: 3,
  });
}
