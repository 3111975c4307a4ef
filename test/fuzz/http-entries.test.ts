/**
 * Fuzz every HTTP entry in-process (issue 9, "Proof"): the install link, the callback, every
 * admin route of the routes table and the get-token function's payloads, each through the same
 * handler factory the Lambda and the local server use, with API Gateway v2 events, over a broker
 * on the memory store whose provider answers are fuzzed too. Each case gets a fresh world.
 *
 * Properties, for every case:
 * - no 5xx from our code: a 5xx is only a provider failure (`provider_error`, `_unavailable`,
 *   `_timeout`) after a provider call;
 * - every error carries a typed code whose status is the one lib/errors.ts maps it to;
 * - refused input (a 4xx other than `needs_reauth`, the provider's verdict) stores nothing:
 *   no connection created or changed, no install state (consuming a state is its single use);
 * - no secret echoed: no client secret, token, code or PKCE verifier in a body, a header, a log
 *   line or an event (the one access token a token route returns excepted).
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminHandler } from '../../functions/admin';
import { createAuthorizeHandler } from '../../functions/authorize';
import { createCallbackHandler } from '../../functions/callback';
import { createGetTokenHandler } from '../../functions/get-token';
import { installCookie } from '../../lib/http/install-cookie';
import { requestBaseUrl, type HttpResponse } from '../../lib/http/responses';
import { ROUTES, routeKey } from '../../lib/http/routes';
import { lambdaContext } from '../../lib/local/server';
import { systemClock } from '../../lib/ports';
import {
  captureLogs,
  echoedSecrets,
  FUZZ_SEED,
  fuzzAssert,
  fuzzCatalogue,
  fuzzRuns,
  fuzzWorlds,
  isTypedError,
  PROVIDER_CODES,
  RETURN_ORIGIN,
  SEEDED,
  type FuzzWorld,
  type LogCapture,
  printOutcomes,
  tally,
  type ProviderAnswer,
} from '../support/fuzz';
import { apiEvent, hostileText, providerScript, queryOf, requestHeaders } from './arbitraries';

const FILE = 'test/fuzz/http-entries.test.ts';
const catalogue = fuzzCatalogue();

/** Cases per entry; with the provider-answer and local-server fuzz files, over 10,000 per `npm test`. */
export const HTTP_ENTRY_RUNS = { install: 1_500, callback: 2_500, admin: 3_000, getToken: 1_500 } as const;

let logs: LogCapture;
let freshWorld: () => Promise<FuzzWorld>;
beforeAll(async () => {
  logs = captureLogs();
  freshWorld = await fuzzWorlds(catalogue, systemClock);
});
afterAll(() => {
  logs.restore();
  printOutcomes();
});

// ---- inputs ----------------------------------------------------------------------------------

const providerKey = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('fuzz', 'fuzz', 'fuzz-stateless', 'fuzz-cc', 'fuzz-unconfigured') },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'FUZZ', 'hubspot') },
  { weight: 2, arbitrary: hostileText },
);
const connectionId = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...Object.values(SEEDED), 'new-1', 'fuzz:acct-1') },
  { weight: 1, arbitrary: hostileText },
);
/** Mostly absent, sometimes `value`. */
const rarely = <T>(value: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });
/** Mostly `valid`, sometimes anything: a case gets past the first check often enough to reach the next. */
const mostly = <T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<unknown> = fc.jsonValue()) => fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: other });
const returnTo = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(`${RETURN_ORIGIN}/done?x=1`, RETURN_ORIGIN, 'https://evil.fuzz/', 'https://user@app.fuzz/', 'javascript:alert(1)', '/relative') },
  { weight: 1, arbitrary: hostileText },
);

/** What an app puts in a signed install link. */
const linkChoices = fc.record({
  connection_id: fc.option(fc.constantFrom(SEEDED.active, SEEDED.revoked, 'new-cb'), { nil: undefined }),
  return_to: fc.option(fc.constant(`${RETURN_ORIGIN}/back`), { nil: undefined }),
});
/** The `link` of an install request: none, one the app minted, one altered in transit, or anything. */
const signedLink = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('valid' as const, 'tampered' as const), choices: linkChoices, at: fc.nat() }) },
  { weight: 1, arbitrary: hostileText.map((text) => ({ kind: 'text' as const, text })) },
);
type SignedLink = typeof signedLink extends fc.Arbitrary<infer T> ? T : never;

/** The `link` token of an install link the app mints for `provider`. */
async function mintLink(world: FuzzWorld, provider: string, choices: { connection_id?: string; return_to?: string }): Promise<string> {
  const { url } = await world.broker.createInstallLink({ provider, ...choices }, 'https://broker.fuzz');
  return new URL(url).searchParams.get('link')!;
}

async function withLink(world: FuzzWorld, query: Record<string, string> | undefined, link: SignedLink): Promise<Record<string, string> | undefined> {
  if (link.kind === 'none') return query;
  if (link.kind === 'text') return { ...query, link: link.text };
  const token = await mintLink(world, 'fuzz', link.choices);
  if (link.kind === 'valid') return { ...query, link: token };
  const i = link.at % token.length;
  return { ...query, link: `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}` };
}

// ---- what every case checks --------------------------------------------------------------------

interface Mark {
  writes: number;
  calls: number;
  logs: number;
  events: number;
}

function mark(world: FuzzWorld): Mark {
  return { writes: world.store.writes.length, calls: world.provider.calls, logs: logs.lines.length, events: world.events.events.length };
}

function errorCodeOf(res: HttpResponse): unknown {
  if ((res.headers['content-type'] ?? '').includes('json')) return (JSON.parse(res.body ?? '{}') as { error?: { code?: unknown } }).error?.code;
  // A page names its code on its "Error:" reference line (lib/http/pages.ts).
  return /<p class="reference">Error: <code>([^<]*)<\/code>/.exec(res.body ?? '')?.[1];
}

/** The four properties of the file comment, for one HTTP response. */
async function checkResponse(world: FuzzWorld, before: Mark, res: HttpResponse, options: { entry: string; tokenRoute?: boolean; extraSecrets?: string[] }): Promise<void> {
  expect(res.statusCode).toBeGreaterThanOrEqual(200);
  expect(res.statusCode).toBeLessThan(600);
  const code = res.statusCode >= 400 ? errorCodeOf(res) : undefined;
  tally(options.entry, `${res.statusCode}${code === undefined ? '' : ` ${String(code)}`}`);
  if (res.statusCode >= 400) expect(isTypedError(code, res.statusCode), `HTTP ${res.statusCode} with code ${String(code)}`).toBe(true);
  if (res.statusCode >= 500) {
    expect(PROVIDER_CODES.has(code as string), `5xx from our code: ${String(code)}`).toBe(true);
    expect(world.provider.calls, `${String(code)} without a provider call`).toBeGreaterThan(before.calls);
  }
  if (res.statusCode >= 400 && res.statusCode < 500 && code !== 'needs_reauth') {
    expect(world.store.storingWrites(before.writes), `refused with ${String(code)} but stored`).toEqual([]);
  }
  const allowed = new Set<string>();
  if (options.tokenRoute && res.statusCode === 200) allowed.add((JSON.parse(res.body ?? '{}') as { access_token: string }).access_token);
  const seen = [JSON.stringify(res.headers), res.body ?? '', ...logs.lines.slice(before.logs), JSON.stringify(world.events.events.slice(before.events))].join('\n');
  expect(echoedSecrets(seen, [...(await world.secrets()), ...(options.extraSecrets ?? [])], allowed)).toEqual([]);
}

async function newWorld(script: ProviderAnswer[]): Promise<FuzzWorld> {
  const world = await freshWorld();
  world.script.push(...script);
  return world;
}

// ---- the entries -------------------------------------------------------------------------------

// Thousands of cases per test: bounded by the case count, not by the default 30 s, which a busy
// 2-core machine running three test files at once can exceed.
describe(`HTTP entries, in-process (FUZZ_SEED=${FUZZ_SEED})`, { timeout: 180_000 }, () => {
  it(`GET /oauth/{provider}/install: ${fuzzRuns(HTTP_ENTRY_RUNS.install)} cases`, async () => {
    await fuzzAssert(
      fc.asyncProperty(
        providerKey,
        fc.oneof(
          // A public link: where to go afterwards, and sometimes what only a signed link may say.
          { weight: 3, arbitrary: fc.tuple(queryOf({ return_to: returnTo, scope: hostileText }), rarely(connectionId), fc.constant({ kind: 'none' as const })) },
          // A signed link as minted (or altered, or anything), rarely with public parameters beside it.
          { weight: 2, arbitrary: fc.tuple(rarely(queryOf({ return_to: returnTo })).map((q) => q ?? undefined), fc.constant(undefined), signedLink) },
        ),
        requestHeaders,
        async (provider, [publicQuery, connectionIdParam, link], headers) => {
          const world = await newWorld([]);
          const query = await withLink(world, connectionIdParam === undefined ? publicQuery : { ...publicQuery, connection_id: connectionIdParam }, link);
          const handler = createAuthorizeHandler(async () => world.broker);
          const before = mark(world);
          const res = await handler(apiEvent({ routeKey: 'GET /oauth/{provider}/install', pathParameters: { provider }, query, headers }), lambdaContext());
          await checkResponse(world, before, res, { entry: 'install' });
          if (res.statusCode === 302) {
            expect(res.headers.location?.startsWith('https://provider.fuzz/authorize?')).toBe(true);
            expect(world.store.storingWrites(before.writes).map((w) => w.op)).toEqual(['putState']);
          }
        },
      ),
      { runs: fuzzRuns(HTTP_ENTRY_RUNS.install), offset: 1, file: FILE },
    );
  });

  it(`GET /oauth/{provider}/callback: ${fuzzRuns(HTTP_ENTRY_RUNS.callback)} cases`, async () => {
    await fuzzAssert(
      fc.asyncProperty(
        fc.record({
          provider: fc.oneof({ weight: 8, arbitrary: fc.constant('fuzz') }, { weight: 1, arbitrary: providerKey }),
          state: fc.oneof({ weight: 6, arbitrary: fc.constant('valid') }, { weight: 1, arbitrary: fc.constantFrom('other-provider', 'random', 'absent', 'empty') }),
          install: linkChoices,
          code: fc.oneof({ weight: 4, arbitrary: fc.constant('$MARKER') }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: hostileText }),
          error: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant('access_denied') }, { weight: 1, arbitrary: hostileText }),
          extra: queryOf({ error_description: hostileText, iss: hostileText, scope: hostileText }),
          script: providerScript,
          headers: requestHeaders,
          // The browser's install cookie: mostly the state's own, sometimes none, another install's, or the right name with another value.
          binding: fc.oneof({ weight: 6, arbitrary: fc.constant('own' as const) }, { weight: 1, arbitrary: fc.constantFrom('absent' as const, 'other-install' as const, 'tampered' as const) }),
        }),
        async (c) => {
          const world = await newWorld(c.script);
          const marker = `code-${randomBytes(12).toString('hex')}`;
          let state: string | undefined;
          if (c.state === 'valid' || c.state === 'other-provider') {
            const provider = c.state === 'valid' ? 'fuzz' : 'fuzz-stateless';
            // Only a signed link may choose the connection (and then carries return_to too). Another
            // provider's state comes from a public link: a signed link naming one of fuzz's connections
            // is refused when opened (test/regression/install-link-other-provider.test.ts).
            const url =
              c.install.connection_id !== undefined && c.state === 'valid'
                ? await world.broker.startInstall({ provider, link: await mintLink(world, provider, c.install), requestBaseUrl: 'https://broker.fuzz' })
                : await world.broker.startInstall({ provider, returnTo: c.install.return_to, requestBaseUrl: 'https://broker.fuzz' });
            state = url.searchParams.get('state')!;
          } else if (c.state === 'random') state = randomBytes(16).toString('base64url');
          else if (c.state === 'empty') state = '';
          const query: Record<string, string> = { ...c.extra };
          if (state !== undefined) query.state = state;
          if (c.code !== undefined) query.code = c.code === '$MARKER' ? marker : c.code;
          if (c.error !== undefined) query.error = c.error;

          const event = apiEvent({ routeKey: 'GET /oauth/{provider}/callback', pathParameters: { provider: c.provider }, query, headers: c.headers });
          if (state !== undefined && c.binding !== 'absent') {
            const bindingOf = async (s: string) =>
              (await installCookie(world.broker.ctx.signingKey, s, { callbackBase: world.broker.ctx.config.publicUrl ?? requestBaseUrl(event), stateTtlMs: world.broker.ctx.config.stateTtlMs })).split(';')[0]!;
            const other = randomBytes(32).toString('base64url');
            if (c.binding === 'own') event.cookies = [await bindingOf(state)];
            else if (c.binding === 'other-install') event.cookies = [await bindingOf(other)];
            else event.cookies = [`${(await bindingOf(state)).split('=')[0]!}=${(await bindingOf(other)).split('=')[1]!}`];
          }

          const handler = createCallbackHandler(async () => world.broker);
          const before = mark(world);
          const res = await handler(event, lambdaContext());
          await checkResponse(world, before, res, { entry: 'callback', extraSecrets: [marker] });
          const location = res.headers.location;
          if (res.statusCode === 302) {
            // Back to the app: only to the allowlist, and a denial stores nothing.
            expect(location?.startsWith(`${RETURN_ORIGIN}/back?`)).toBe(true);
            if (new URL(location!).searchParams.has('error')) expect(world.store.storingWrites(before.writes)).toEqual([]);
          }
          if (res.statusCode === 200) expect(world.store.storingWrites(before.writes).filter((w) => w.op === 'create' || w.op === 'update')).toHaveLength(1);
          // Without the state's own install cookie a callback with a state goes no further: nothing consumed, no provider call.
          if (state && c.binding !== 'own') {
            expect(res.statusCode).toBe(400);
            expect(world.store.storingWrites(before.writes)).toEqual([]);
            expect(world.provider.calls).toBe(before.calls);
          }
        },
      ),
      { runs: fuzzRuns(HTTP_ENTRY_RUNS.callback), offset: 2, file: FILE },
    );
  });

  const adminRouteKeys = ROUTES.filter((route) => route.handler === 'admin').map((route) => routeKey(route) as string);
  const putBody = fc.record(
    {
      provider: mostly(fc.constantFrom('fuzz-cc', 'fuzz-cc', 'fuzz-cc', 'fuzz-cc', 'fuzz', 'nope')),
      connection_config: mostly(fc.oneof(fc.constant({ instance_url: 'https://two.provider.fuzz' }), fc.constant({ instance_url: 'https://two.provider.fuzz' }), fc.record({ instance_url: hostileText }))),
      credentials: mostly(
        fc.oneof(
          { weight: 3, arbitrary: fc.constant({ client_id: 'cc-client', client_secret: '$INLINE' }) },
          { weight: 2, arbitrary: fc.record({ secret_name: mostly(fc.constantFrom('fuzz', 'fuzz', 'nope')) }) },
          { weight: 1, arbitrary: fc.record({ client_id: fc.jsonValue(), client_secret: fc.jsonValue() }, { requiredKeys: [] }) },
        ),
      ),
    },
    { requiredKeys: ['provider', 'connection_config'] },
  );
  const tokenBody = fc.record({ force_refresh: mostly(fc.boolean()) }, { requiredKeys: [] });
  const installLinkBody = fc.record(
    {
      provider: mostly(fc.constantFrom('fuzz', 'fuzz', 'fuzz', 'fuzz-stateless', 'fuzz-cc', 'nope')),
      connection_id: mostly(connectionId, hostileText),
      return_to: mostly(returnTo, fc.jsonValue()),
      scopes: mostly(fc.array(fc.constantFrom('read', 'write', 'admin', ''), { maxLength: 2 })),
      tags: mostly(fc.dictionary(fc.constantFrom('team', 'plan', 'bad key', ''), fc.oneof(fc.constantFrom('a', 'b'), hostileText), { maxKeys: 2 })),
      expires_in: mostly(fc.oneof(fc.integer({ min: 60, max: 604_800 }), fc.constantFrom(0, 59, 604_801, 8_700_000_000_000))),
    },
    { requiredKeys: ['provider'] },
  );
  const bodyFor = (route: string) => (route.startsWith('PUT') ? putBody : route.includes('install-links') ? installLinkBody : tokenBody);
  /** A body for `route`: mostly the shape that route reads, sometimes any JSON or text. */
  const adminBody = (route: string) =>
    fc.oneof(
      { weight: route.startsWith('GET') || route.startsWith('DELETE') ? 8 : 1, arbitrary: fc.constant(undefined) },
      { weight: 8, arbitrary: bodyFor(route).map((b) => JSON.stringify(b)) },
      { weight: 1, arbitrary: fc.json() },
      { weight: 1, arbitrary: hostileText },
    );
  /** Ids for `route`: a PUT mostly names a free id or the client-credentials one, the others mostly a seeded one. */
  const adminId = (route: string) =>
    fc.oneof(
      { weight: 6, arbitrary: route.startsWith('PUT') ? fc.constantFrom('new-cc', 'new-cc-2', SEEDED.clientCredentials, SEEDED.active) : connectionId },
      { weight: 1, arbitrary: fc.constantFrom('%E0%A4%A', '%', '%2F..%2F', encodeURIComponent('fuzz:acct-1')) },
      { weight: 1, arbitrary: hostileText },
    );
  const adminRequest = fc
    .oneof({ weight: 8, arbitrary: fc.constantFrom(...adminRouteKeys) }, { weight: 1, arbitrary: fc.constantFrom('PATCH /connections/{id}', 'GET /nope', '') })
    .chain((route) =>
      fc.record({
        route: fc.constant(route),
        id: adminId(route),
        query: queryOf({ limit: fc.oneof(fc.nat({ max: 600 }).map(String), hostileText), cursor: hostileText }),
        body: adminBody(route),
        base64: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        script: providerScript,
        headers: requestHeaders,
      }),
    );

  it(`every admin route of the routes table: ${fuzzRuns(HTTP_ENTRY_RUNS.admin)} cases`, async () => {
    await fuzzAssert(
      fc.asyncProperty(
        adminRequest,
        async (c) => {
          const world = await newWorld(c.script);
          const inline = `inline-secret-${randomBytes(12).toString('hex')}`;
          const text = c.body?.replaceAll('$INLINE', inline);
          const body = text !== undefined && c.base64 ? Buffer.from(text).toString('base64') : text;
          const handler = createAdminHandler(async () => world.broker);
          const before = mark(world);
          const res = await handler(
            apiEvent({ routeKey: c.route, pathParameters: c.route.includes('{id}') ? { id: c.id } : undefined, query: c.query, headers: c.headers, body, isBase64Encoded: c.base64 }),
            lambdaContext(),
          );
          await checkResponse(world, before, res, { entry: `admin ${c.route}`, tokenRoute: c.route === 'POST /connections/{id}/token', extraSecrets: [inline] });
          expect(res.headers['content-type']).toContain('application/json');
        },
      ),
      { runs: fuzzRuns(HTTP_ENTRY_RUNS.admin), offset: 3, file: FILE },
    );
  });

  it(`the get-token function's payloads: ${fuzzRuns(HTTP_ENTRY_RUNS.getToken)} cases`, async () => {
    const payload = fc.oneof(
      { weight: 8, arbitrary: fc.record({ connection_id: mostly(connectionId), force_refresh: mostly(fc.boolean()) }, { requiredKeys: ['connection_id'] }) },
      { weight: 1, arbitrary: fc.anything() },
      { weight: 1, arbitrary: fc.constantFrom(null, undefined, '', [], 'conn-active') },
    );
    await fuzzAssert(
      fc.asyncProperty(payload, providerScript, async (event, script) => {
        const world = await newWorld(script);
        const handler = createGetTokenHandler(async () => world.broker);
        const before = mark(world);
        const result = await handler(event as never, lambdaContext());
        tally('get-token', result.ok ? 'ok' : result.error.code);
        const allowed = new Set<string>();
        if (result.ok) {
          allowed.add(result.token.access_token);
        } else {
          const status = isTypedError(result.error.code) ? undefined : -1;
          expect(status, `untyped code ${String(result.error.code)}`).toBeUndefined();
          const code = result.error.code;
          if (['internal_error', 'configuration_error', 'decrypt_failed'].includes(code)) expect.fail(`our own failure: ${code}`);
          if (PROVIDER_CODES.has(code)) expect(world.provider.calls).toBeGreaterThan(before.calls);
          else if (code !== 'needs_reauth') expect(world.store.storingWrites(before.writes)).toEqual([]);
        }
        const seen = [JSON.stringify(result), ...logs.lines.slice(before.logs), JSON.stringify(world.events.events.slice(before.events))].join('\n');
        expect(echoedSecrets(seen, await world.secrets(), allowed)).toEqual([]);
      }),
      { runs: fuzzRuns(HTTP_ENTRY_RUNS.getToken), offset: 4, file: FILE },
    );
  });
});
