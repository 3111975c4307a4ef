/**
 * An in-memory ConnectionStore with the same conditional semantics as the DynamoDB
 * adapter (version-checked writes, TTL-expired items absent, single-use states).
 * For simulations that run thousands of refreshes on a fake clock, where dynalite's
 * ~1,500 ops/s would make the test about the store instead of the policy. A shared
 * contract test runs the same cases against both adapters.
 */
import { BrokerError } from '../errors';
import type { ConnectionRecord, InstallState, KeyCheck } from '../model';
import type { Clock, ConnectionStore, Page, RecordChanges } from '../ports';
import { systemClock } from '../ports';

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

  async list(options: { limit?: number; cursor?: string } = {}): Promise<Page<ConnectionRecord>> {
    const ids = [...this.connections.keys()].filter((id) => this.live(id)).sort();
    const start = options.cursor ? ids.indexOf(options.cursor) + 1 : 0;
    const limit = options.limit ?? 100;
    const slice = ids.slice(start, start + limit);
    const cursor = start + limit < ids.length ? slice.at(-1) : undefined;
    return { items: slice.map((id) => clone(this.connections.get(id)!)), ...(cursor ? { cursor } : {}) };
  }

  async listDue(shard: number, dueBy: number, options: { limit?: number; cursor?: string } = {}): Promise<Page<ConnectionRecord>> {
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
