/**
 * Fuzzing support (issue 9, "Proof"): a seed every fuzz test shares, a run count, a logger
 * capture, a store that records its writes, and the in-process world the HTTP-entry fuzz drives.
 *
 * Reproducible: every property runs with `FUZZ_SEED` (default `DEFAULT_FUZZ_SEED`) plus a fixed
 * offset per property, and a failure names the seed to rerun with. `FUZZ_SCALE` multiplies
 * every run count (e.g. `FUZZ_SCALE=10` for a long session); the default keeps `npm test` fast.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import { MemoryProviderHealthStore } from '../../lib/adapters/memory-health-store';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import { Broker } from '../../lib/broker';
import { upsertConnection } from '../../lib/connections/install';
import { pkceVerifierFor } from '../../lib/connections/signing';
import { BrokerError, ERROR_STATUS, type BrokerErrorCode } from '../../lib/errors';
import { edgeLogger } from '../../lib/local/edge-logger';
import { logger } from '../../lib/logger';
import type { ClientCredentials, ConnectionRecord, InstallState, KeyCheck } from '../../lib/model';
import type { Clock, ConnectionPage, ConnectionStore, CyclePage, DuePage, RecordChanges, ScheduleMarks, SecretStore, SigningKey } from '../../lib/ports';
import { parseCatalogue } from '../../lib/providers/catalogue';
import type { Catalogue } from '../../lib/providers/schema';

export const DEFAULT_FUZZ_SEED = 20_260_909;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

/** The base seed of this run. */
export const FUZZ_SEED = Math.floor(envNumber('FUZZ_SEED', DEFAULT_FUZZ_SEED));
const FUZZ_SCALE = envNumber('FUZZ_SCALE', 1);

/** How many cases a property runs: its share of the budget, times `FUZZ_SCALE`. */
export function fuzzRuns(base: number): number {
  return Math.max(1, Math.round(base * FUZZ_SCALE));
}

/**
 * `fc.assert` with this run's seed (plus `offset`, so properties do not share their inputs) and
 * a failure message that says how to run the same cases again.
 */
export async function fuzzAssert<T>(property: fc.IAsyncPropertyWithHooks<T> | fc.IAsyncProperty<T>, options: { runs: number; offset: number; file: string }): Promise<void> {
  const seed = FUZZ_SEED + options.offset;
  try {
    await fc.assert(property, { seed, numRuns: options.runs });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`Fuzz property failed (seed ${seed}). Reproduce: FUZZ_SEED=${FUZZ_SEED} npx vitest run ${options.file}\n${message}`, { cause: err });
  }
}

// ---- what the cases reached ----------------------------------------------------------------------

const outcomes = new Map<string, Map<string, number>>();

/** Counts one case's outcome (`302`, `400 invalid_state`, ...) under `entry`, for `printOutcomes`. */
export function tally(entry: string, outcome: string): void {
  const counts = outcomes.get(entry) ?? new Map<string, number>();
  counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  outcomes.set(entry, counts);
}

/** With `FUZZ_STATS=1`, prints how the cases of each entry ended: evidence the fuzz reaches past the first refusal. */
export function printOutcomes(): void {
  if (!process.env.FUZZ_STATS) return;
  for (const [entry, counts] of outcomes) {
    const sorted = [...counts].sort((a, b) => b[1] - a[1]).map(([outcome, n]) => `${outcome}: ${n}`);
    console.log(`${entry}\n  ${sorted.join('\n  ')}`);
  }
}

// ---- the logger, captured ---------------------------------------------------------------------

/** Every line the broker's logger writes while capturing, at every level. */
export interface LogCapture {
  readonly lines: string[];
  restore(): void;
}

/**
 * Captures the Powertools logger's output at DEBUG. Powertools has no public sink: it prints
 * through its own `console` field, so that field is swapped (and put back by `restore`).
 */
export function captureLogs(): LogCapture {
  const lines: string[] = [];
  const write = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  };
  // edgeLogger writes the local server's own lines (no route, no admin key): they quote the path too.
  const restores = [logger, edgeLogger].map((each) => {
    const target = each as unknown as { console: Console };
    const original = target.console;
    const level = each.getLevelName();
    target.console = { ...original, debug: write, info: write, warn: write, error: write, log: write, trace: write } as Console;
    each.setLogLevel('DEBUG');
    return () => {
      target.console = original;
      each.setLogLevel(level);
    };
  });
  return {
    lines,
    restore() {
      for (const restore of restores) restore();
    },
  };
}

// ---- a store that records writes --------------------------------------------------------------

export type StoreWrite =
  | { op: 'create' | 'update'; id: string }
  | { op: 'putState'; state: InstallState }
  | { op: 'consumeState' }
  | { op: 'claimInstallLink' | 'releaseInstallLink'; linkId: string }
  | { op: 'putKeyCheck' }
  | { op: 'putScheduleMarks' };

/** A ConnectionStore that records every write it passes on: "nothing stored" is an empty list. */
export class RecordingStore implements ConnectionStore {
  readonly writes: StoreWrite[] = [];
  constructor(readonly inner: ConnectionStore) {}

  get(id: string, options?: { consistent?: boolean }): Promise<ConnectionRecord | undefined> {
    return this.inner.get(id, options);
  }
  create(record: ConnectionRecord): Promise<ConnectionRecord> {
    this.writes.push({ op: 'create', id: record.id });
    return this.inner.create(record);
  }
  update(id: string, expectedVersion: number, changes: RecordChanges): Promise<ConnectionRecord> {
    this.writes.push({ op: 'update', id });
    return this.inner.update(id, expectedVersion, changes);
  }
  list(options?: { limit?: number; cursor?: string }): Promise<ConnectionPage> {
    return this.inner.list(options);
  }
  listDue(shard: number, dueBy: number, options?: { limit?: number; cursor?: string }): Promise<DuePage> {
    return this.inner.listDue(shard, dueBy, options);
  }
  listCycle(cycle: string, from: number, to: number, options?: { limit?: number; cursor?: string }): Promise<CyclePage> {
    return this.inner.listCycle(cycle, from, to, options);
  }
  dueTimes(ids: readonly string[]): Promise<Map<string, number>> {
    return this.inner.dueTimes(ids);
  }
  getScheduleMarks(): Promise<ScheduleMarks | undefined> {
    return this.inner.getScheduleMarks();
  }
  putScheduleMarks(marks: ScheduleMarks): Promise<boolean> {
    this.writes.push({ op: 'putScheduleMarks' });
    return this.inner.putScheduleMarks(marks);
  }
  putState(state: InstallState): Promise<void> {
    this.writes.push({ op: 'putState', state });
    return this.inner.putState(state);
  }
  consumeState(nonce: string): Promise<InstallState | undefined> {
    this.writes.push({ op: 'consumeState' });
    return this.inner.consumeState(nonce);
  }
  claimInstallLink(linkId: string, until: number): Promise<boolean> {
    this.writes.push({ op: 'claimInstallLink', linkId });
    return this.inner.claimInstallLink(linkId, until);
  }
  releaseInstallLink(linkId: string): Promise<void> {
    this.writes.push({ op: 'releaseInstallLink', linkId });
    return this.inner.releaseInstallLink(linkId);
  }
  isInstallLinkUsed(linkId: string): Promise<boolean> {
    return this.inner.isInstallLinkUsed(linkId);
  }
  getKeyCheck(): Promise<KeyCheck | undefined> {
    return this.inner.getKeyCheck();
  }
  putKeyCheck(check: KeyCheck, options: { replace: boolean }): Promise<boolean> {
    this.writes.push({ op: 'putKeyCheck' });
    return this.inner.putKeyCheck(check, options);
  }

  /**
   * Writes that store something (a connection, an install state, a used link's mark that was
   * not taken back); consuming a state is its single use, not a store.
   */
  storingWrites(since: number): StoreWrite[] {
    const writes = this.writes.slice(since);
    const released = new Set(writes.flatMap((w) => (w.op === 'releaseInstallLink' ? [w.linkId] : [])));
    return writes.filter((w) => w.op !== 'consumeState' && w.op !== 'releaseInstallLink' && !(w.op === 'claimInstallLink' && released.has(w.linkId)));
  }
}

// ---- checks every fuzz test shares ------------------------------------------------------------

/** Codes the provider family of errors carries: the only 5xx a request may end in, and only after a provider call. */
export const PROVIDER_CODES: ReadonlySet<string> = new Set(['provider_error', 'provider_unavailable', 'provider_timeout']);

/** Whether `code` is one of the broker's typed error codes with status `status`. */
export function isTypedError(code: unknown, status?: number): code is BrokerErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_STATUS, code) && (status === undefined || ERROR_STATUS[code as BrokerErrorCode] === status);
}

/** The secrets of `values` (at least 8 characters, so a match means something) that occur in `text`. */
export function echoedSecrets(text: string, values: Iterable<string>, allowed: ReadonlySet<string> = new Set()): string[] {
  const found: string[] = [];
  for (const value of values) {
    if (value.length >= 8 && !allowed.has(value) && text.includes(value)) found.push(value);
  }
  return found;
}

// ---- the in-process world ---------------------------------------------------------------------

/** One scripted answer of the stand-in provider; placeholders `$SECRET`, `$REFRESH`, `$CODE`, `$VERIFIER` echo what the request sent. */
export type ProviderAnswer =
  | { kind: 'good'; tenant?: string }
  | { kind: 'network' }
  | { kind: 'unreadable-body' }
  | { kind: 'http'; status: number; headers: Record<string, string>; body: string };

export const FUZZ_APP: ClientCredentials = { client_id: 'fuzz-app', client_secret: `app-secret-${randomBytes(12).toString('hex')}` };
export const PROVIDER_ORIGIN = 'https://provider.fuzz';
export const RETURN_ORIGIN = 'https://app.fuzz';

/** The catalogue the world serves: an authorization-code provider, a client-credentials one, a marketplace-started (stateless) one, one without a secret. */
export function fuzzCatalogue(): Catalogue {
  return parseCatalogue(
    {
      fuzz: {
        display_name: 'Fuzz',
        auth_mode: 'OAUTH2',
        authorization_url: `${PROVIDER_ORIGIN}/authorize`,
        token_url: `${PROVIDER_ORIGIN}/token`,
        token_response_metadata: ['account_id'],
        tenant_fields: ['account_id'],
        dead_grant_errors: ['invalid_grant', 'INVALID_REFRESH_TOKEN'],
        revocation: { url: `${PROVIDER_ORIGIN}/revoke` },
      },
      'fuzz-stateless': {
        display_name: 'Fuzz, marketplace-started',
        auth_mode: 'OAUTH2',
        authorization_url: `${PROVIDER_ORIGIN}/authorize`,
        token_url: `${PROVIDER_ORIGIN}/token`,
        allow_stateless_callback: true,
        disable_pkce: true,
        body_format: 'json',
        secret_name: 'fuzz',
        token_response_metadata: ['account_id'],
        tenant_fields: ['account_id'],
      },
      'fuzz-unconfigured': {
        display_name: 'Fuzz, no client credentials here',
        auth_mode: 'OAUTH2',
        authorization_url: `${PROVIDER_ORIGIN}/authorize`,
        token_url: `${PROVIDER_ORIGIN}/token`,
      },
      'fuzz-cc': {
        display_name: 'Fuzz client credentials',
        auth_mode: 'OAUTH2_CC',
        token_url: '${connectionConfig.instance_url}/token',
        token_request_auth_method: 'basic',
        connection_config: { instance_url: { title: 'Instance URL', pattern: '^https://[a-z]+\\.provider\\.fuzz$' } },
        secret_name: 'fuzz',
      },
    },
    'fuzz catalogue',
  );
}

/** The secrets file of the world, keeping the port's promise: an absent name is `provider_not_configured`. */
class FuzzSecrets implements SecretStore {
  async getClientCredentials(name: string): Promise<ClientCredentials> {
    if (name === 'fuzz') return FUZZ_APP;
    throw new BrokerError('provider_not_configured', `No secret named ${JSON.stringify(name.slice(0, 40))}`);
  }
}

/** What the stand-in provider saw and handed out. */
export interface ProviderLog {
  calls: number;
  /** Every token it issued (access, refresh, id). */
  issued: Set<string>;
}

/**
 * A `fetch` standing in for the provider: each call takes the next scripted answer (a good one
 * once the script is used up), so a case decides every answer its request gets.
 */
export function providerFetch(script: ProviderAnswer[], log: ProviderLog): typeof fetch {
  const mint = (kind: string) => {
    const value = `${kind}-${randomBytes(12).toString('hex')}`;
    log.issued.add(value);
    return value;
  };
  return (async (input: string | URL | Request, init?: RequestInit) => {
    log.calls++;
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const sent = requestParams(url, init);
    const answer = script.shift() ?? { kind: 'good' };
    const echo = (text: string) =>
      text
        .replaceAll('$SECRET', sent.client_secret ?? 'none')
        .replaceAll('$REFRESH', sent.refresh_token ?? sent.token ?? 'none')
        .replaceAll('$CODE', sent.code ?? 'none')
        .replaceAll('$VERIFIER', sent.code_verifier ?? 'none');
    switch (answer.kind) {
      case 'network':
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
      case 'unreadable-body':
        return new Response(new ReadableStream({ start: (controller) => controller.error(new Error('connection reset mid-body')) }), { status: 200 });
      case 'good':
        if (url.pathname.endsWith('/revoke')) return new Response(null, { status: 200 });
        return Response.json({
          access_token: mint('at'),
          token_type: 'bearer',
          expires_in: 3600,
          refresh_token: mint('rt'),
          id_token: mint('idt'),
          scope: 'read write',
          account_id: answer.tenant ?? 'acct-1',
        });
      case 'http': {
        const nullBody = [204, 205, 304].includes(answer.status);
        const headers = Object.fromEntries(Object.entries(answer.headers).map(([name, value]) => [name, echo(value)]));
        return new Response(nullBody ? null : echo(answer.body), { status: answer.status, headers });
      }
    }
  }) as typeof fetch;
}

/** What the broker sent: query, form or JSON body, and the client secret of HTTP Basic (RFC 6749 §2.3.1 form-encodes it). */
function requestParams(url: URL, init: RequestInit | undefined): Record<string, string | undefined> {
  const params: Record<string, string | undefined> = Object.fromEntries(url.searchParams);
  const authorization = new Headers(init?.headers).get('authorization') ?? '';
  if (authorization.startsWith('Basic ')) {
    const [, secret] = Buffer.from(authorization.slice(6), 'base64').toString('utf8').split(':');
    params.client_secret = new URLSearchParams(`s=${secret ?? ''}`).get('s') ?? undefined;
  }
  const body = typeof init?.body === 'string' ? init.body : '';
  if (body.startsWith('{')) {
    try {
      Object.assign(params, JSON.parse(body));
    } catch {
      // not JSON after all
    }
  } else {
    Object.assign(params, Object.fromEntries(new URLSearchParams(body)));
  }
  return params;
}

/** Connection ids the world starts with, one per state a request can meet. */
export const SEEDED = {
  active: 'conn-active',
  expired: 'conn-expired',
  revoked: 'conn-revoked',
  needsReauth: 'conn-reauth',
  clientCredentials: 'cc-1',
} as const;

export interface FuzzWorld {
  broker: Broker;
  store: RecordingStore;
  events: MemoryEventSink;
  provider: ProviderLog;
  /** The answers the provider gives next; a case fills it before its request. */
  script: ProviderAnswer[];
  /** Every secret the world holds: client secrets, the signing key, every token, the PKCE verifiers of its states. */
  secrets(): Promise<Set<string>>;
}

/**
 * Prepares the seeded connections once (sealed under one key) and returns a factory of fresh
 * worlds: each a new broker over a new memory store holding copies of them, so a case never
 * sees what an earlier case did, and making one costs a few copies instead of five installs.
 */
export async function fuzzWorlds(catalogue: Catalogue, clock: Clock): Promise<() => Promise<FuzzWorld>> {
  const cipher = new LocalTokenCipher(randomBytes(32));
  const signingBytes = randomBytes(32);
  const signingKey: SigningKey = { get: async () => signingBytes };
  const seededTokens: ProviderLog = { calls: 0, issued: new Set() };
  const inlineSecret = `cc-inline-${randomBytes(12).toString('hex')}`;
  const build = (store: ConnectionStore, provider: ProviderLog, script: ProviderAnswer[], events: MemoryEventSink) =>
    new Broker(
      {
        store,
        cipher,
        secrets: new FuzzSecrets(),
        signingKey,
        health: new MemoryProviderHealthStore(clock),
        events,
        catalogue,
        clock,
        fetch: providerFetch(script, provider),
        instanceId: 'fuzz-worker',
        random: () => 0.5,
        sleep: async () => undefined,
      },
      { returnToAllowlist: [RETURN_ORIGIN], providerTimeoutMs: 1_000, leaseMs: 5_000 },
    );

  const template = new MemoryConnectionStore(clock);
  const seeder = build(template, seededTokens, [], new MemoryEventSink());
  const now = clock.now();
  const grant = (tokenLife: number, tenant: string) => ({
    token: { access_token: mintInto(seededTokens, 'at'), token_type: 'bearer', refresh_token: mintInto(seededTokens, 'rt'), expires_at: now + tokenLife },
    scopes: ['read'],
    tenant,
    metadata: { account_id: tenant },
  });
  const fuzzProvider = catalogue.get('fuzz')!;
  const byApp = { reauthorize: 'chosen_by_app' } as const;
  await upsertConnection(seeder.ctx, fuzzProvider, SEEDED.active, grant(3_600_000, 'acct-1'), byApp);
  await upsertConnection(seeder.ctx, fuzzProvider, SEEDED.expired, grant(-1_000, 'acct-2'), byApp);
  await upsertConnection(seeder.ctx, fuzzProvider, SEEDED.revoked, grant(3_600_000, 'acct-3'), byApp);
  await upsertConnection(seeder.ctx, fuzzProvider, SEEDED.needsReauth, grant(3_600_000, 'acct-4'), byApp);
  for (const [id, status] of [[SEEDED.revoked, 'revoked'], [SEEDED.needsReauth, 'needs_reauth']] as const) {
    const record = (await template.get(id))!;
    await template.update(id, record.version, { set: { status }, remove: ['refreshDueAt', 'shard'] });
  }
  await upsertConnection(seeder.ctx, catalogue.get('fuzz-cc')!, SEEDED.clientCredentials, {
    token: { access_token: mintInto(seededTokens, 'at'), token_type: 'bearer', expires_at: now + 3_600_000 },
    clientCredentials: { client_id: 'cc-client', client_secret: inlineSecret },
    scopes: [],
    connectionConfig: { instance_url: 'https://one.provider.fuzz' },
  }, byApp);
  const seeded = (await template.list({ limit: 100 })).items;

  return async () => {
    const inner = new MemoryConnectionStore(clock);
    // A copy starts at version 1: versions only order writes within one world.
    for (const record of seeded) await inner.create({ ...structuredClone(record), version: 1 });
    const store = new RecordingStore(inner);
    const events = new MemoryEventSink();
    const provider: ProviderLog = { calls: 0, issued: new Set(seededTokens.issued) };
    const script: ProviderAnswer[] = [];
    return {
      broker: build(store, provider, script, events),
      store,
      events,
      provider,
      script,
      async secrets() {
        // The PKCE verifier is derived from the state with the signing key (lib/connections/signing.ts), never stored.
        const states = store.writes.flatMap((w) => (w.op === 'putState' ? [w.state.nonce] : []));
        const verifiers = await Promise.all(states.map((nonce) => pkceVerifierFor(signingKey, nonce)));
        return new Set([FUZZ_APP.client_secret, inlineSecret, signingBytes.toString('base64url'), signingBytes.toString('hex'), ...provider.issued, ...verifiers]);
      },
    };
  };
}

function mintInto(log: ProviderLog, kind: string): string {
  const value = `${kind}-${randomBytes(12).toString('hex')}`;
  log.issued.add(value);
  return value;
}
