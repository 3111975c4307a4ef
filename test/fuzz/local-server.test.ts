/**
 * Fuzz the real local server (issue 9, "Proof"): raw HTTP requests — any method, any path
 * (the routes table's paths filled with good and hostile values, and others), any query,
 * right, wrong or no admin key, any body — against `npm start`'s runtime on dynalite with
 * the sandbox provider, one real connection installed. Fewer cases than the in-process fuzz
 * (each is a loopback round trip and DynamoDB calls); the same properties: no 5xx of ours, a
 * typed code, nothing written (no PutItem/UpdateItem) for refused input, no secret echoed
 * (admin key, client secret, the connection's tokens) in a body, a header or a log line.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS, type BrokerErrorCode } from '../../lib/errors';
import { ROUTES } from '../../lib/http/routes';
import { fetchCallback, followInstall } from '../support/browserless-consent';
import { captureLogs, echoedSecrets, FUZZ_SEED, fuzzAssert, fuzzRuns, isTypedError, PROVIDER_CODES, tally, printOutcomes, type LogCapture } from '../support/fuzz';
import { sealedPayload, startTestBroker, type LocalFixture } from '../support/local-broker';
import { hostileText } from './arbitraries';

const FILE = 'test/fuzz/local-server.test.ts';
/** Cases through the real server. */
export const LOCAL_SERVER_RUNS = 300;

let fixture: LocalFixture;
let logs: LogCapture;
let connectionId: string;
let secrets: string[];
const writes: string[] = [];

/** Installs (again) the one real connection through the sandbox, and adds its tokens to the secrets. */
async function install(): Promise<void> {
  const { callbackUrl, jar } = await followInstall(fixture.local.installUrl);
  // Post/redirect/get: the callback answers 303 to the "Connected" page, which names the connection.
  const res = await fetchCallback({ callbackUrl, jar }, { redirect: 'manual' });
  connectionId = /Connection: <code>([^<]+)</.exec(await (await fetch(res.headers.get('location')!)).text())![1]!;
  await rememberTokens();
}

/** Every token the connection has held is a secret from then on. */
async function rememberTokens(): Promise<void> {
  const { token } = await sealedPayload(fixture.local, connectionId);
  if (token) secrets.push(token.access_token, ...(token.refresh_token ? [token.refresh_token] : []));
}

beforeAll(async () => {
  fixture = await startTestBroker();
  const credentials = await fixture.local.broker.ctx.secrets.getClientCredentials('sandbox');
  secrets = [fixture.local.adminKey, credentials.client_secret];
  await install();
  fixture.local.dynamoClient.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName ?? '');
      if (name === 'PutItemCommand' || name === 'UpdateItemCommand') writes.push(name);
      return next(args);
    },
    { step: 'initialize', name: 'fuzzWriteCounter' },
  );
  logs = captureLogs();
});
afterAll(async () => {
  logs?.restore();
  printOutcomes();
  await fixture?.close();
});

/** A path segment: a real value, or anything, percent-encoded or raw percent garbage. */
const segment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('sandbox', 'sandbox-cc', '$CONNECTION', 'nope') },
  { weight: 2, arbitrary: hostileText.map((s) => encodeURIComponent(s).slice(0, 300)) },
  { weight: 1, arbitrary: fc.constantFrom('%E0%A4%A', '%', '%2F', '..', '%00') },
);
/** A method and path: mostly a route of the table with its parameter filled, sometimes anything. */
const request = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...ROUTES), segment).map(([route, value]) => [route.method as string, route.path.replace(/\{\w+\}/, value)] as const) },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
      fc.oneof(fc.constantFrom('/', '/dashboard', '/events', '/connections/', '/oauth//install', '/favicon.ico'), fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`)),
    ),
  },
);
const query = fc.option(
  fc.dictionary(fc.constantFrom('connection_id', 'return_to', 'code', 'state', 'error', 'limit', 'cursor', 'scope', 'x'), hostileText, { maxKeys: 3 }).map((q) => new URLSearchParams(q).toString()),
  { nil: undefined },
);
const authorization = fc.constantFrom('right', 'right', 'right', 'right', 'wrong', 'absent', 'prefix', 'no-bearer');
const body = fc.oneof(
  fc.constant(undefined),
  fc.record({ force_refresh: fc.oneof(fc.boolean(), fc.jsonValue()) }, { requiredKeys: [] }).map((b) => JSON.stringify(b)),
  fc.record({ provider: fc.constantFrom('sandbox-cc', 'sandbox', 'nope'), connection_config: fc.jsonValue(), credentials: fc.jsonValue() }, { requiredKeys: [] }).map((b) => JSON.stringify(b)),
  fc.json(),
  hostileText,
);

function authorizationHeader(kind: string): string | undefined {
  const key = fixture.local.adminKey;
  switch (kind) {
    case 'right':
      return `Bearer ${key}`;
    case 'wrong':
      return 'Bearer wrong-key';
    case 'prefix':
      return `Bearer ${key.slice(0, -1)}`;
    case 'no-bearer':
      return key;
    default:
      return undefined;
  }
}

// Thousands of cases per test: bounded by the case count, not by the default 30 s, which a busy
// 2-core machine running three test files at once can exceed.
describe(`the local server, over HTTP (FUZZ_SEED=${FUZZ_SEED})`, { timeout: 180_000 }, () => {
  it(`raw requests on every route and beyond: ${fuzzRuns(LOCAL_SERVER_RUNS)} cases`, async () => {
    await fuzzAssert(
      fc.asyncProperty(
        request,
        query,
        authorization,
        body,
        fc.constantFrom('application/json', 'text/html', '*/*'),
        async ([method, p], q, auth, b, accept) => {
          const url = `${fixture.local.url}${p.replaceAll('$CONNECTION', encodeURIComponent(connectionId))}${q ? `?${q}` : ''}`;
          const headers: Record<string, string> = { accept, 'content-type': 'application/json' };
          const header = authorizationHeader(auth);
          if (header !== undefined) headers.authorization = header;
          const withBody = b !== undefined && !['GET', 'HEAD'].includes(method);
          const writesBefore = writes.length;
          const logsBefore = logs.lines.length;
          const res = await fetch(url, { method, headers, redirect: 'manual', ...(withBody ? { body: b } : {}) });
          const text = await res.text();
          const contentType = res.headers.get('content-type') ?? '';
          const code = res.status >= 400 && method !== 'HEAD' ? (contentType.includes('json') ? (JSON.parse(text) as { error?: { code?: unknown } }).error?.code : (/<p class="reference">Error: <code>([^<]*)<\/code>/.exec(text) ?? /<code>([^<]*)<\/code><\/p><\/body>/.exec(text))?.[1]) : undefined;
          tally('local server', `${res.status}${code === undefined ? '' : ` ${String(code)}`}`);

          if (res.status >= 400 && method !== 'HEAD') {
            // The server's own "No route" is the one 404 whose code (invalid_request) maps to 400.
            const noRoute = res.status === 404 && code === 'invalid_request' && text.includes('No route');
            expect(isTypedError(code) && (noRoute || ERROR_STATUS[code as BrokerErrorCode] === res.status), `HTTP ${res.status} with ${String(code)}`).toBe(true);
          }
          if (res.status >= 500) expect(PROVIDER_CODES.has(code as string), `5xx from our code: ${String(code)}`).toBe(true);
          if (res.status >= 400 && res.status < 500 && code !== 'needs_reauth') expect(writes.slice(writesBefore), `refused with ${String(code)} but wrote`).toEqual([]);

          const allowed = new Set<string>();
          if (res.status === 200 && p.endsWith('/token') && method === 'POST') allowed.add((JSON.parse(text) as { access_token: string }).access_token);
          const headerText = JSON.stringify([...res.headers]);
          expect(echoedSecrets([headerText, text, ...logs.lines.slice(logsBefore)].join('\n'), secrets, allowed)).toEqual([]);
          // Keep the connection alive and its new tokens known, so later cases reach past "revoked".
          if (method === 'DELETE' && res.status === 200) await install();
          else if (res.status === 200 && method === 'POST') await rememberTokens();
        },
      ),
      { runs: fuzzRuns(LOCAL_SERVER_RUNS), offset: 21, file: FILE },
    );
  });
});
