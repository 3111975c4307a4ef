/**
 * Ports: what the domain needs from the outside world. Adapters in `lib/adapters/`
 * implement them (AWS services, or the local stand-ins). The domain never imports an SDK.
 */
import { BrokerError } from '../errors';
import type { ClientCredentials, ConnectionRecord, ConnectionStatus, InstallState, KeyCheck, ProviderHealth, UnreadableConnection } from '../model';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Binds a ciphertext to its connection: decrypting under another context must fail. */
export interface CipherContext {
  connection_id: string;
  provider: string;
}

/**
 * A key at hand for sealing one connection's secrets: `seal` does no I/O. Refresh prepares one
 * before it asks the provider, so that nothing but the store write stands between the
 * provider's answer and the commit (docs/design.md, "The crash window").
 */
export interface SealingKey {
  /** Encrypts `plaintext` for the context the key was prepared for; the result is an opaque, storable string. */
  seal(plaintext: Uint8Array): string;
  /** Forgets the key material (the plaintext data key is zeroed); `seal` fails afterwards. */
  dispose(): void;
}

export interface TokenCipher {
  /** Encrypts `plaintext`; the result is an opaque, storable string. */
  encrypt(plaintext: Uint8Array, context: CipherContext): Promise<string>;
  /**
   * A sealing key for `context`, ready before it is needed: the KMS cipher generates the data key
   * now (a cipher that caches data keys may hand out one it holds); the local cipher has its key.
   */
  sealingKey(context: CipherContext): Promise<SealingKey>;
  /** Decrypts; throws BrokerError('decrypt_failed') when the context does not match or the blob was altered. */
  decrypt(ciphertext: string, context: CipherContext): Promise<Uint8Array>;
}

/**
 * The broker's signing key (Secrets Manager on AWS, a 0600 file locally): signs install links
 * and derives the per-install secrets (PKCE verifier, OIDC nonce) so that none is stored.
 */
export interface SigningKey {
  /** The key bytes; loaded on first use, so functions that never sign never read it. */
  get(): Promise<Uint8Array>;
}

export interface SecretStore {
  /**
   * The provider app's client credentials stored under `secretName`. Throws
   * BrokerError('provider_not_configured') when there is no such secret (or only the
   * deploy-time placeholder), BrokerError('configuration_error') when it is malformed or unreadable.
   */
  getClientCredentials(secretName: string): Promise<ClientCredentials>;
}

export type ConnectionEventType =
  | 'connection.created'
  | 'connection.reauth_required'
  | 'connection.revoked'
  /** A transient refresh failure (429, 5xx, timeout): the token was kept. */
  | 'connection.refresh_failed'
  /** Tokens an install obtained and then did not store (refused, conflict, used link) were revoked at the provider, or could not be. */
  | 'connection.orphan_revoked';

export type ProviderEventType =
  /** Provider-wide failures passed the threshold: refreshes stop calling the provider, one probe at a time excepted. */
  | 'provider.circuit_opened'
  /** The provider answered again (a probe, or any refresh): refreshes call it as usual. */
  | 'provider.circuit_closed';

export type BrokerEventType = ConnectionEventType | ProviderEventType;

type EventValue = string | number | boolean | null;

/** Something that happened to one connection. Never a token, code or secret. */
export interface ConnectionEvent {
  type: ConnectionEventType;
  detail: {
    /** Null only on `connection.orphan_revoked` when the install failed before a connection was chosen. */
    connection_id: string | null;
    provider: string;
    tenant: string | null;
    [key: string]: EventValue;
  };
  at: number;
}

/** Something that happened to a provider, for every connection of it. Never a token, code or secret. */
export interface ProviderEvent {
  type: ProviderEventType;
  detail: {
    provider: string;
    [key: string]: EventValue;
  };
  at: number;
}

export type BrokerEvent = ConnectionEvent | ProviderEvent;

export interface EventSink {
  publish(event: BrokerEvent): Promise<void>;
}

/** The CloudWatch namespace of the broker's metrics unless configured (`BROKER_METRICS_NAMESPACE`; the CDK construct sets `OAuthTokenBroker/<stack name>`). */
export const DEFAULT_METRICS_NAMESPACE = 'OAuthTokenBroker';

/**
 * Every metric the broker records, each per `provider` (a catalogue key: few values). What each
 * means and which alarm reads it: docs/operations.md, "Metrics".
 */
export const BROKER_METRICS = {
  /** An install stored its connection (new or re-authorized). */
  installs: 'Installs',
  /** A refresh attempt ended, by `outcome` (`RefreshOutcome`). */
  refreshes: 'Refreshes',
  /** A connection's grant was found dead and marked `needs_reauth`. */
  needsReauth: 'NeedsReauth',
  /** From when a connection was due (`refresh_due_at`) to its refresh committed, in ms (0 when done early). */
  refreshLag: 'RefreshLag',
  /** `getToken` served from this process's memory, without a store read. */
  cacheHits: 'TokenCacheHits',
  /** `getToken` had to read the store (and maybe refresh). */
  cacheMisses: 'TokenCacheMisses',
  /** The provider's fleet-wide circuit: 1 when it opened, 0 when it closed (recorded on each transition). */
  circuitOpen: 'ProviderCircuitOpen',
  /** Refresh jobs the scheduler could not send because the provider's queue refused them (they stay due). */
  jobsRefused: 'RefreshJobsRefused',
  /** Due index items that do not read as connections, skipped by the scheduler (fleet-wide only: no provider can be read). */
  unreadableDueItems: 'UnreadableDueItems',
} as const;

export type BrokerMetricName = (typeof BROKER_METRICS)[keyof typeof BROKER_METRICS];

/** How a metric aggregates within one flush: counters add up; distributions and gauges keep each value. */
export const METRIC_KINDS: Record<BrokerMetricName, { unit: 'Count' | 'Milliseconds'; kind: 'counter' | 'distribution' | 'gauge' }> = {
  Installs: { unit: 'Count', kind: 'counter' },
  Refreshes: { unit: 'Count', kind: 'counter' },
  NeedsReauth: { unit: 'Count', kind: 'counter' },
  RefreshLag: { unit: 'Milliseconds', kind: 'distribution' },
  TokenCacheHits: { unit: 'Count', kind: 'counter' },
  TokenCacheMisses: { unit: 'Count', kind: 'counter' },
  ProviderCircuitOpen: { unit: 'Count', kind: 'gauge' },
  RefreshJobsRefused: { unit: 'Count', kind: 'counter' },
  UnreadableDueItems: { unit: 'Count', kind: 'counter' },
};

/**
 * How a refresh attempt ended, as the `outcome` dimension of `Refreshes`: `success` (a new token
 * set committed), `already_current` (another worker had refreshed), `dead_grant` (the connection
 * now needs re-authorization), the provider failures (`provider_unavailable`, `provider_timeout`,
 * `provider_error`; the token was kept), `circuit_open` / `backed_off` (the provider was not asked),
 * `refresh_in_progress` (the caller's deadline came first), `decrypt_failed` (the stored token set
 * does not open: the connection is backed off), `error` (anything else).
 */
export const REFRESH_OUTCOMES = [
  'success',
  'already_current',
  'dead_grant',
  'provider_unavailable',
  'provider_timeout',
  'provider_error',
  'circuit_open',
  'backed_off',
  'refresh_in_progress',
  'decrypt_failed',
  'error',
] as const;

export type RefreshOutcome = (typeof REFRESH_OUTCOMES)[number];

/** The outcomes that count as a failed refresh (the stack's refresh-failure alarm sums these). */
export const FAILED_REFRESH_OUTCOMES = ['provider_unavailable', 'provider_timeout', 'provider_error', 'decrypt_failed', 'error'] as const satisfies readonly RefreshOutcome[];

export interface MetricRecord {
  name: BrokerMetricName;
  value: number;
  /** The catalogue key; absent only where none can be read (the metric is then written fleet-wide only). */
  provider?: string;
  /** `Refreshes` only. */
  outcome?: RefreshOutcome;
}

/**
 * Where the broker's counters and timings go: CloudWatch Embedded Metric Format on Lambda
 * (lib/adapters/emf-metrics.ts), nowhere by default (`NO_METRICS`), a list in tests. The domain
 * records; the handlers flush at the end of each invocation.
 */
export interface MetricsSink {
  record(metric: MetricRecord): void;
  /** Writes out what was recorded since the last flush. */
  flush(): void;
}

export const NO_METRICS: MetricsSink = { record: () => undefined, flush: () => undefined };

/** Changes to apply to a record in one conditional write. */
export interface RecordChanges {
  set?: Partial<Omit<ConnectionRecord, 'id' | 'version'>>;
  remove?: Array<keyof Omit<ConnectionRecord, 'id' | 'version' | 'provider'>>;
}

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page; absent on the last page. */
  cursor?: string;
}

/** What an admin list may be narrowed to: every field given must match exactly. */
export interface ConnectionFilter {
  provider?: string;
  status?: ConnectionStatus;
  /** A provider's account id: only with `provider` (the same id at two providers names two accounts). */
  tenant?: string;
}

/** Refuses a filter no store serves: a tenant without its provider. */
export function assertServableFilter(filter: ConnectionFilter | undefined): void {
  if (filter?.tenant !== undefined && filter.provider === undefined) {
    throw new BrokerError('invalid_request', 'tenant is an account id at one provider: give provider too');
  }
}

/** Whether `record` matches every field `filter` gives. */
export function matchesFilter(record: ConnectionRecord, filter: ConnectionFilter): boolean {
  return (
    (filter.provider === undefined || record.provider === filter.provider) &&
    (filter.status === undefined || record.status === filter.status) &&
    (filter.tenant === undefined || record.tenant === filter.tenant)
  );
}

export interface ListOptions {
  limit?: number;
  /** From the previous page of the same filter; a cursor of another filter is refused (`invalid_request`). */
  cursor?: string;
  filter?: ConnectionFilter;
}

/** A page of connections; an item that does not read as a record is skipped and named in `unreadable`, never failing the page. */
export interface ConnectionPage extends Page<ConnectionRecord> {
  unreadable?: UnreadableConnection[];
}

/** The one check of a page size asked for: an integer from 1 to `max`; none asked → `fallback`. */
export function pageLimit(limit: number | undefined, bounds: { fallback: number; max: number }): number {
  if (limit === undefined) return bounds.fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > bounds.max) {
    throw new BrokerError('invalid_request', `limit must be an integer from 1 to ${bounds.max}`);
  }
  return limit;
}

/**
 * Persistence for connections and install states. Every connection write is
 * conditional on `version` and increments it; a lost race throws
 * BrokerError('conflict'). Items whose `ttl` has passed are treated as absent.
 */
/** One entry of the schedule index: what the scheduler needs to send a refresh job, nothing secret. */
export interface DueConnection {
  id: string;
  provider: string;
  refreshDueAt: number;
}

/** A page of a schedule index; entries that do not read as one are named, never fatal. */
export interface IndexPage<E> extends Page<E> {
  unreadable?: UnreadableConnection[];
}

/** A page of the due-time index. */
export type DuePage = IndexPage<DueConnection>;

/** One entry of the cycle index: a connection woken every period at its phase (docs/design.md, "A schedule entry that does not move"). */
export interface CycleEntry {
  id: string;
  provider: string;
  /** Its due time modulo the period (ms). */
  phase: number;
}

/** A place in the order turns are sent in: by time, then by connection id (many connections may share a turn's millisecond). */
export interface TurnMark {
  at: number;
  id: string;
}

/** A page of the cycle index. */
export type CyclePage = IndexPage<CycleEntry>;

/**
 * How far the refresh scheduler has read and sent the cycle index's turns: every partition's turns
 * were read up to its mark in `partitions`, or up to `through` where it has none (`through` is the
 * earliest of them: a marks item written before `partitions` existed reads as every partition there).
 * Every turn read was sent, except a provider's in `held`, sent only up to its own mark (what the
 * provider's per-run limit, an open circuit or a refusing queue held back). One small item, read and
 * written once per run.
 */
export interface ScheduleMarks {
  through: number;
  /** Partitions of the cycle index (`23m#2`) read further than `through`: how far each was read. */
  partitions?: Record<string, number>;
  held: Record<string, TurnMark>;
  /** Every write is conditional on it (0: none stored yet). */
  version: number;
}

export interface ConnectionStore {
  /** Reads a connection; `consistent` for reads that decide a refresh. */
  get(id: string, options?: { consistent?: boolean }): Promise<ConnectionRecord | undefined>;
  /** Creates a connection that must not exist yet (version must be 1). Throws 'conflict' if it does. */
  create(record: ConnectionRecord): Promise<ConnectionRecord>;
  /** Applies `changes` if the stored version equals `expectedVersion`; returns the record as written (version + 1). */
  update(id: string, expectedVersion: number, changes: RecordChanges): Promise<ConnectionRecord>;
  /**
   * Lists connections (admin), in no promised order. With a `filter`, only the matching ones,
   * read through an index (never a pass over the whole table); a page may hold fewer than
   * `limit` and still have a cursor.
   */
  list(options?: ListOptions): Promise<ConnectionPage>;
  /**
   * Connections in `shard` whose `refreshDueAt` ≤ `dueBy`, earliest first, as the schedule GSI
   * holds them: id, provider and due time, read from the index alone (it projects no more, so a
   * lease or a failure writes nothing to it). The refresh worker reads the record itself.
   */
  listDue(shard: number, dueBy: number, options?: { limit?: number; cursor?: string }): Promise<DuePage>;
  /**
   * Entries of the cycle partition `cycle` (`<minutes>m#<shard>`) whose phase is in [`from`, `to`],
   * by phase, read from the index alone (keys, provider).
   */
  listCycle(cycle: string, from: number, to: number, options?: { limit?: number; cursor?: string }): Promise<CyclePage>;
  /** Each connection's `refreshDueAt` (live connections that have one), read without the rest of the record. */
  dueTimes(ids: readonly string[]): Promise<Map<string, number>>;
  /** The scheduler's marks; undefined before its first run. */
  getScheduleMarks(): Promise<ScheduleMarks | undefined>;
  /** Stores the marks if the stored version is `marks.version` (0: none stored); false when another run wrote first. */
  putScheduleMarks(marks: ScheduleMarks): Promise<boolean>;

  /** Stores a new install state (its `expiresAt` also sets the item's TTL). */
  putState(state: InstallState): Promise<void>;
  /** Deletes and returns the state in one conditional write, so it works once; undefined when unknown or expired. */
  consumeState(nonce: string): Promise<InstallState | undefined>;

  /** Marks a signed install link used (conditional put of `link#<id>`, kept until `until`, epoch ms); false when it already was. */
  claimInstallLink(linkId: string, until: number): Promise<boolean>;
  /** Takes a claim back when the connection write after it failed, so the customer can retry with the same link. */
  releaseInstallLink(linkId: string): Promise<void>;
  /** Whether the link was used (the install route says so before sending anyone to the consent page). */
  isInstallLinkUsed(linkId: string): Promise<boolean>;

  /** The key check stored with the data (`meta#keys`); undefined before the first start. */
  getKeyCheck(): Promise<KeyCheck | undefined>;
  /** Stores the key check: `replace` overwrites, otherwise only when none exists (false = another process stored one first). */
  putKeyCheck(check: KeyCheck, options: { replace: boolean }): Promise<boolean>;
}

/** Changes to apply to a provider's health item in one conditional write. */
export interface HealthChanges {
  set?: Partial<Omit<ProviderHealth, 'provider' | 'version'>>;
  remove?: Array<keyof Omit<ProviderHealth, 'provider' | 'version' | 'failures' | 'updatedAt'>>;
}

/**
 * The fleet's shared record of each provider's health (items `health#<provider>` in the broker's
 * table on AWS). Writes are conditional on `version` like connection writes: a lost race throws
 * BrokerError('conflict'). Callers write only on failures and state changes, so the item stays
 * cold however many refreshes succeed.
 */
export interface ProviderHealthStore {
  /** The provider's health; undefined when nothing was ever recorded (a healthy provider). */
  getHealth(provider: string, options?: { consistent?: boolean }): Promise<ProviderHealth | undefined>;
  /**
   * Applies `changes` if the stored version equals `expectedVersion` (0: the item must not exist
   * yet, and is created); returns the health as written (version + 1, `updatedAt` stamped).
   */
  updateHealth(provider: string, expectedVersion: number, changes: HealthChanges): Promise<ProviderHealth>;
}

/** One connection the scheduler found due, for a refresh worker: ids and times only, never a secret. */
export interface RefreshJob {
  connectionId: string;
  /** The connection's provider: which queue (and which provider's budget) the job belongs to. */
  provider: string;
  /** The connection's `refreshDueAt` when the scheduler sent it (epoch ms): for the record and for ordering. */
  dueAt: number;
}

/** A job as a consumer received it: `receipt` acknowledges it, `receiveCount` says how often it was handed out. */
export interface ReceivedRefreshJob extends RefreshJob {
  receipt: string;
  receiveCount: number;
}

/**
 * The queue between the refresh scheduler and the refresh workers: one queue per provider, so that
 * each provider's workers (and its budget) are its own and a failing or slow provider never holds
 * up another's. SQS on AWS (where Lambda's event source mapping does the receiving and deleting);
 * in-process locally and in simulations. Delivery is at least once: a job may arrive twice, and a
 * job received and not deleted comes back after the visibility timeout, until a redrive limit moves
 * it to a dead-letter queue.
 */
export interface RefreshQueue {
  /** Enqueues jobs on their providers' queues; throws BrokerError('queue_unavailable') if some could not be sent (the others were). */
  send(jobs: readonly RefreshJob[]): Promise<void>;
  /** Jobs waiting (visible) on `provider`'s queue, approximately (SQS's own figure). */
  depth(provider: string): Promise<number>;
  /** Up to `max` visible jobs of `provider`'s queue, each hidden for the visibility timeout; none is an empty list. */
  receive(provider: string, max: number): Promise<ReceivedRefreshJob[]>;
  /** Done with these jobs: they are not delivered again. */
  delete(provider: string, jobs: readonly ReceivedRefreshJob[]): Promise<void>;
}
