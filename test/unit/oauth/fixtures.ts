/**
 * Shared fixtures for the OAuth layer tests: catalogue entries parsed through the real schema,
 * and a real loopback HTTP server standing in for a provider's token endpoint.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { providerSchema, type Provider, type ProviderInput } from '../../../lib/providers/schema';

/** A `Provider` as the loader would produce it: schema defaults applied, key and secret name set. */
export function testProvider(key: string, input: ProviderInput): Provider {
  return { ...providerSchema.parse(input), key, secret_name: key };
}

export interface ReceivedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Respond = (request: ReceivedRequest, response: ServerResponse) => void;

/** Answers with a JSON body. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Respond {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };
}

/** Answers with a raw body. */
export function raw(status: number, body: string, headers: Record<string, string> = {}): Respond {
  return (_request, response) => {
    response.writeHead(status, headers);
    response.end(body);
  };
}

export interface ProviderServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** `127.0.0.1:<port>` */
  host: string;
  /** Every request received since the last `reset()`. */
  requests: ReceivedRequest[];
  /** What the next requests get; defaults to a 500. */
  respond: Respond;
  reset(): void;
  close(): Promise<void>;
}

export async function startProviderServer(): Promise<ProviderServer> {
  const state: { respond: Respond; requests: ReceivedRequest[] } = { respond: raw(500, 'no handler'), requests: [] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://placeholder');
      const received: ReceivedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      state.requests.push(received);
      state.respond(received, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    get respond() {
      return state.respond;
    },
    set respond(respond: Respond) {
      state.respond = respond;
    },
    reset() {
      state.requests = [];
      state.respond = raw(500, 'no handler');
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Runs `fn` and returns the error it rejects with (fails the test when it resolves). */
export async function rejectionOf(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Everything about an error that could reach a log or a caller. */
export function errorSurface(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const details = 'details' in err ? JSON.stringify(err.details) : '';
  return [err.message, details, String(err.cause ?? ''), JSON.stringify(err.cause ?? null)].join('\n');
}
