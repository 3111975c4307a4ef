/**
 * An in-memory ConnectionStore with the same conditional semantics as the DynamoDB
 * adapter (version-checked writes, TTL-expired items absent, single-use states).
 * For simulations that run millions of refreshes on a fake clock, where dynalite's
 * ~1,500 ops/s would make the test about the store instead of the policy. A shared
 * contract test runs the same cases against both adapters.
 *
 * The schedule indexes are kept like the GSIs: by shard ordered by due time, and by cycle partition
 * ordered by phase (`SortedIndex`), updated on every write, so `listDue` and `listCycle` read only
 * what they are asked for instead of scanning and sorting every connection on every page (which a
 * million connections would not survive).
 */
import { BrokerError } from '../errors';
import type { ConnectionRecord, InstallState, KeyCheck } from '../model';
import { isPlainObject } from '../plain-object';
import type { Clock, ConnectionPage, ConnectionStore, CyclePage, DuePage, ListOptions, RecordChanges, ScheduleMarks } from '../ports';
import { assertServableFilter, matchesFilter, pageLimit, systemClock } from '../ports';

const clone = <T>(value: T): T => structuredClone(value);

/**
 * A schedule index: per partition, connection ids in buckets of one second of the sort value (a due
 * time, a phase), the bucket keys kept sorted. Reading a range walks the buckets in order and sorts
 * only within a bucket.
 */
class SortedIndex<P> {
  private readonly shards = new Map<P, { keys: number[]; buckets: Map<number, Set<string>> }>();

  add(shard: P, dueAt: number, id: string): void {
    let index = this.shards.get(shard);
    if (!index) this.shards.set(shard, (index = { keys: [], buckets: new Map() }));
    const key = Math.floor(dueAt / 1000);
    let bucket = index.buckets.get(key);
    if (!bucket) {
      index.buckets.set(key, (bucket = new Set()));
      index.keys.splice(lowerBound(index.keys, key), 0, key);
    }
    bucket.add(id);
  }

  remove(shard: P, dueAt: number, id: string): void {
    const index = this.shards.get(shard);
    const key = Math.floor(dueAt / 1000);
    const bucket = index?.buckets.get(key);
    if (!index || !bucket) return;
    bucket.delete(id);
    if (bucket.size === 0) {
      index.buckets.delete(key);
      index.keys.splice(lowerBound(index.keys, key), 1);
    }
  }

  /** Ids of `shard` whose bucket may hold values ≤ `dueBy`, a bucket at a time, from the bucket of `from` on. */
  *buckets(shard: P, dueBy: number, from: number): Generator<Set<string>> {
    const index = this.shards.get(shard);
    if (!index) return;
    const last = Math.floor(dueBy / 1000);
    for (let i = lowerBound(index.keys, Math.floor(from / 1000)); i < index.keys.length && index.keys[i]! <= last; i++) {
      yield index.buckets.get(index.keys[i]!)!;
    }
  }
}

/** The first position in sorted `keys` whose key is ≥ `key`. */
function lowerBound(keys: readonly number[], key: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryConnectionStore implements ConnectionStore {
  private readonly connections = new Map<string, ConnectionRecord>();
  private readonly due = new SortedIndex<number>();
  private readonly cycles = new SortedIndex<string>();
  private marks: ScheduleMarks | undefined;
  private readonly states = new Map<string, InstallState>();
  /** Used install links: id → until (epoch ms). */
  private readonly usedLinks = new Map<string, number>();
  private keyCheck: KeyCheck | undefined;

  constructor(private readonly clock: Clock = systemClock) {}

  private live(id: string): ConnectionRecord | undefined {
    const record = this.connections.get(id);
    if (!record) return undefined;
    if (record.ttl !== undefined && record.ttl * 1000 <= this.clock.now()) return undefined;
    return record;
  }

  async get(id: string): Promise<ConnectionRecord | undefined> {
    const record = this.live(id);
    return record && clone(record);
  }

  async create(record: ConnectionRecord): Promise<ConnectionRecord> {
    if (record.version !== 1) throw new BrokerError('internal_error', `A new connection must have version 1, got ${record.version}`);
    if (this.live(record.id)) throw new BrokerError('conflict', `Connection ${record.id} already exists`);
    this.reindex(this.connections.get(record.id), record);
    this.connections.set(record.id, clone(record));
    return clone(record);
  }

  async update(id: string, expectedVersion: number, changes: RecordChanges): Promise<ConnectionRecord> {
    const current = this.live(id);
    if (!current || current.version !== expectedVersion) {
      throw new BrokerError('conflict', `Connection ${id} changed concurrently (expected version ${expectedVersion})`);
    }
    const next: Record<string, unknown> = { ...clone(current) };
    for (const [key, value] of Object.entries(changes.set ?? {})) {
      if (value === undefined) delete next[key];
      else next[key] = clone(value);
    }
    for (const key of changes.remove ?? []) delete next[key];
    next.version = expectedVersion + 1;
    if (changes.set?.updatedAt === undefined) next.updatedAt = this.clock.now();
    this.reindex(current, next as unknown as ConnectionRecord);
    this.connections.set(id, next as unknown as ConnectionRecord);
    return clone(next) as unknown as ConnectionRecord;
  }

  /** In id order; the cursor is the last id of the page and the filter it belongs to. */
  async list(options: ListOptions = {}): Promise<ConnectionPage> {
    const limit = pageLimit(options.limit, { fallback: 100, max: 1_000 });
    assertServableFilter(options.filter);
    const filter = JSON.stringify({ provider: options.filter?.provider, status: options.filter?.status, tenant: options.filter?.tenant });
    const after = options.cursor === undefined ? undefined : cursorPosition(options.cursor, filter);
    const matching = [...this.connections.keys()]
      .sort()
      .filter((id) => after === undefined || id > after)
      .map((id) => this.live(id))
      .filter((record): record is ConnectionRecord => record !== undefined && matchesFilter(record, options.filter ?? {}));
    const page = matching.slice(0, limit);
    const last = page.at(-1);
    return { items: page.map(clone), ...(matching.length > limit && last ? { cursor: Buffer.from(JSON.stringify({ f: filter, after: last.id })).toString('base64url') } : {}) };
  }

  async listDue(shard: number, dueBy: number, options: { limit?: number; cursor?: string } = {}): Promise<DuePage> {
    // What the DynamoDB schedule index projects: id, provider, due time.
    return this.indexPage(this.due, shard, { from: Number.NEGATIVE_INFINITY, to: dueBy }, (r) => (r.shard === shard ? r.refreshDueAt : undefined), (r, refreshDueAt) => ({ id: r.id, provider: r.provider, refreshDueAt }), options);
  }

  async listCycle(cycle: string, from: number, to: number, options: { limit?: number; cursor?: string } = {}): Promise<CyclePage> {
    // What the DynamoDB cycle index projects: id, provider, phase.
    return this.indexPage(this.cycles, cycle, { from, to }, (r) => (r.cycle === cycle ? r.cyclePhase : undefined), (r, phase) => ({ id: r.id, provider: r.provider, phase }), options);
  }

  /**
   * A page of one partition of a schedule index, as the GSI gives it: the live records whose sort
   * value (`sortOf`, undefined for a record not in the partition) is in [from, to], by it and then
   * by id, from after the cursor — the last (value, id) handed out.
   */
  private indexPage<P, E>(
    index: SortedIndex<P>,
    partition: P,
    range: { from: number; to: number },
    sortOf: (record: ConnectionRecord) => number | undefined,
    entry: (record: ConnectionRecord, sort: number) => E,
    options: { limit?: number; cursor?: string },
  ): { items: E[]; cursor?: string } {
    const limit = options.limit ?? 100;
    const split = options.cursor?.indexOf(':') ?? -1;
    const after = options.cursor ? { sort: Number(options.cursor.slice(0, split)), id: options.cursor.slice(split + 1) } : undefined;
    const items: E[] = [];
    let last: { sort: number; id: string } | undefined;
    for (const bucket of index.buckets(partition, range.to, after?.sort ?? range.from)) {
      const inRange = [...bucket]
        .map((id) => this.live(id))
        .map((record) => ({ record, sort: record && sortOf(record) }))
        .filter((e): e is { record: ConnectionRecord; sort: number } => e.record !== undefined && e.sort !== undefined && e.sort >= range.from && e.sort <= range.to)
        .filter(({ record, sort }) => !after || sort > after.sort || (sort === after.sort && record.id > after.id))
        .sort((a, b) => a.sort - b.sort || (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0));
      for (const { record, sort } of inRange) {
        if (items.length === limit) return { items, cursor: `${last!.sort}:${last!.id}` };
        items.push(entry(record, sort));
        last = { sort, id: record.id };
      }
    }
    return { items };
  }

  async dueTimes(ids: readonly string[]): Promise<Map<string, number>> {
    const due = new Map<string, number>();
    for (const id of ids) {
      const at = this.live(id)?.refreshDueAt;
      if (at !== undefined) due.set(id, at);
    }
    return due;
  }

  async getScheduleMarks(): Promise<ScheduleMarks | undefined> {
    return this.marks && clone(this.marks);
  }

  async putScheduleMarks(marks: ScheduleMarks): Promise<boolean> {
    if ((this.marks?.version ?? 0) !== marks.version) return false;
    this.marks = { ...clone(marks), version: marks.version + 1 };
    return true;
  }

  /** Keeps the schedule indexes in step with a write: the item leaves its old slots and takes its new ones. */
  private reindex(before: ConnectionRecord | undefined, after: ConnectionRecord): void {
    if (before?.shard !== after.shard || before?.refreshDueAt !== after.refreshDueAt) {
      if (before?.shard !== undefined && before.refreshDueAt !== undefined) this.due.remove(before.shard, before.refreshDueAt, before.id);
      if (after.shard !== undefined && after.refreshDueAt !== undefined) this.due.add(after.shard, after.refreshDueAt, after.id);
    }
    if (before?.cycle !== after.cycle || before?.cyclePhase !== after.cyclePhase) {
      if (before?.cycle !== undefined && before.cyclePhase !== undefined) this.cycles.remove(before.cycle, before.cyclePhase, before.id);
      if (after.cycle !== undefined && after.cyclePhase !== undefined) this.cycles.add(after.cycle, after.cyclePhase, after.id);
    }
  }

  async putState(state: InstallState): Promise<void> {
    const existing = this.states.get(state.nonce);
    if (existing && existing.expiresAt > this.clock.now()) throw new BrokerError('conflict', 'State already exists');
    this.states.set(state.nonce, clone(state));
  }

  async consumeState(nonce: string): Promise<InstallState | undefined> {
    const state = this.states.get(nonce);
    this.states.delete(nonce);
    return state && state.expiresAt > this.clock.now() ? state : undefined;
  }

  async claimInstallLink(linkId: string, until: number): Promise<boolean> {
    if (await this.isInstallLinkUsed(linkId)) return false;
    this.usedLinks.set(linkId, until);
    return true;
  }

  async releaseInstallLink(linkId: string): Promise<void> {
    this.usedLinks.delete(linkId);
  }

  async isInstallLinkUsed(linkId: string): Promise<boolean> {
    const until = this.usedLinks.get(linkId);
    return until !== undefined && until > this.clock.now();
  }

  async getKeyCheck(): Promise<KeyCheck | undefined> {
    return this.keyCheck && clone(this.keyCheck);
  }

  async putKeyCheck(check: KeyCheck, options: { replace: boolean }): Promise<boolean> {
    if (this.keyCheck && !options.replace) return false;
    this.keyCheck = clone(check);
    return true;
  }
}


/** The id a cursor continues after; a cursor of another filter, or not ours, is the caller's 400. */
function cursorPosition(cursor: string, filter: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw new BrokerError('invalid_request', 'Invalid cursor', { cause: err });
  }
  if (!isPlainObject(parsed) || typeof parsed.after !== 'string' || typeof parsed.f !== 'string') throw new BrokerError('invalid_request', 'Invalid cursor');
  if (parsed.f !== filter) throw new BrokerError('invalid_request', 'Invalid cursor: it belongs to a list with other filters');
  return parsed.after;
}
