/**
 * An in-memory ConnectionStore with the same conditional semantics as the DynamoDB
 * adapter (version-checked writes, TTL-expired items absent, single-use states).
 * For simulations that run thousands of refreshes on a fake clock, where dynalite's
 * ~1,500 ops/s would make the test about the store instead of the policy. A shared
 * contract test runs the same cases against both adapters.
 */
import { BrokerError } from '../errors';
import type { ConnectionRecord, InstallState, KeyCheck } from '../model';
import { isPlainObject } from '../plain-object';
import type { Clock, ConnectionPage, ConnectionStore, ListOptions, RecordChanges } from '../ports';
import { assertServableFilter, matchesFilter, pageLimit, systemClock } from '../ports';

const clone = <T>(value: T): T => structuredClone(value);

export class MemoryConnectionStore implements ConnectionStore {
  private readonly connections = new Map<string, ConnectionRecord>();
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

  async listDue(shard: number, dueBy: number, options: { limit?: number; cursor?: string } = {}): Promise<ConnectionPage> {
    const due = [...this.connections.keys()]
      .map((id) => this.live(id))
      .filter((r): r is ConnectionRecord => r !== undefined && r.shard === shard && r.refreshDueAt !== undefined && r.refreshDueAt <= dueBy)
      .sort((a, b) => a.refreshDueAt! - b.refreshDueAt! || a.id.localeCompare(b.id));
    const start = options.cursor ? Number(options.cursor) : 0;
    const limit = options.limit ?? 100;
    const next = start + limit;
    return { items: due.slice(start, next).map(clone), ...(next < due.length ? { cursor: String(next) } : {}) };
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
