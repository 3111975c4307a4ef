/**
 * ConnectionStore on one DynamoDB table (DynamoDB, DynamoDB Local or dynalite).
 *
 * Item layout (key constants in `dynamodb-table.ts`):
 * - a connection: `pk = conn#<id>`, `kind = connection`, the record's fields in snake_case but the id
 *   (the key holds it; an item written before this carries an `id` attribute too, read the same);
 * - an install state: `pk = state#<base64url(sha256(nonce))>`, `kind = state`. The nonce itself
 *   is never stored, so a table dump (backup, export, console) yields no usable `state`; the
 *   item holds nothing secret (the PKCE verifier is derived, not stored);
 * - a used signed install link: `pk = link#<link id>`, `kind = link`, with a TTL;
 * - the key check: `pk = meta#keys`, `kind = meta` (lib/connections/key-check.ts);
 * - the refresh scheduler's marks: `pk = meta#schedule`, `kind = meta` (lib/connections/refresh-scheduler.ts).
 *
 * Every invariant rests on single-item conditional writes (no transactions: dynalite has none).
 * Items past their `ttl` are treated as absent everywhere, because DynamoDB deletes them lazily
 * (up to days later) and dynalite never does.
 *
 * Schedule GSI (`refresh-due`) is sparse: callers must set or remove `shard` and `refreshDueAt`
 * together. An item with only one of them is invisible to the refresh scheduler; the store does not enforce it.
 * It projects the keys, `provider` and the TTL only, so a write that moves no due time (a lease, a
 * failure) writes nothing to it. Cycle GSI (`refresh-cycle`), likewise sparse and projected: `cycle`
 * and `cyclePhase` together; an entry on a cycle carries `refreshDueAt` without `shard`, so its due
 * time is in neither index and a refresh on its turn writes to no index at all.
 *
 * Sealed blobs (`sealed`, `rescue`) are stored as binary when they pack losslessly
 * (sealed-binary.ts): a quarter fewer bytes than their base64url text, in every write of the item.
 *
 * List GSI (`connection-list`, KEYS_ONLY) serves filtered admin lists. Its keys are derived here
 * from `status`, `provider` and `tenant` and written only by a write that changes one of those,
 * so the refresh path (lease, commit, back-off, rescue: token fields only) costs the index
 * nothing. Only connection items carry its keys: install states and any other kind of item
 * never appear in it.
 */
import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isConnectionId, type AuthMode, type ConnectionRecord, type ConnectionStatus, type InstallState, type KeyCheck, type LastError, type UnreadableConnection } from '../model';
import { BrokerError } from '../errors';
import { isPlainObject, withoutUndefined } from '../plain-object';
import { assertServableFilter, matchesFilter, pageLimit, systemClock, type Clock, type ConnectionFilter, type ConnectionStore, type ConnectionPage, type CycleEntry, type CyclePage, type DueConnection, type DuePage, type IndexPage, type ListOptions, type Page, type RecordChanges, type ScheduleMarks, type TurnMark } from '../ports';
import { TABLE } from './dynamodb-table';
import { packSealed, unpackSealed } from './sealed-binary';

/** Options for `DynamoDbConnectionStore`. */
export interface DynamoDbConnectionStoreOptions {
  tableName: string;
  /** Defaults to `new DynamoDBClient({})`, which honours `AWS_ENDPOINT_URL_DYNAMODB` and the usual AWS variables. */
  client?: DynamoDBClient;
  clock?: Clock;
}

type Item = Record<string, unknown>;
type Key = Record<string, string | number>;
type Field = keyof ConnectionRecord;

const PAGE_LIMITS = { fallback: 100, max: 1_000 };
/** BatchGetItem takes at most 100 keys. */
const MAX_BATCH_GET = 100;
const BATCH_GET_ATTEMPTS = 5;
/** Items evaluated per request at least: with a filter, asking for exactly what is missing costs many round trips. */
const MIN_READ_BATCH = 50;

const KIND_CONNECTION = 'connection';
const KIND_STATE = 'state';
const KIND_LINK = 'link';
const KIND_META = 'meta';
const KEY_CHECK_PK = 'meta#keys';
const SCHEDULE_MARKS_PK = TABLE.scheduleMarksKey;

/** Record field → item attribute: the one naming table, used by writes, updates and reads. */
const ATTRIBUTE = {
  id: 'id',
  provider: 'provider',
  authMode: 'auth_mode',
  tenant: 'tenant',
  tenants: 'tenants',
  status: 'status',
  scopes: 'scopes',
  sealed: 'sealed',
  tokenGen: 'token_gen',
  expiresAt: 'expires_at',
  refreshExpiresAt: 'refresh_expires_at',
  refreshDueAt: TABLE.dueIndexSortKey,
  shard: TABLE.dueIndexPartitionKey,
  cycle: TABLE.cycleIndexPartitionKey,
  cyclePhase: TABLE.cycleIndexSortKey,
  renewableAfter: 'renewable_after',
  version: 'version',
  leaseOwner: 'lease_owner',
  leaseUntil: 'lease_until',
  leaseGen: 'lease_gen',
  rescue: 'rescue',
  rescueGen: 'rescue_gen',
  failureCount: 'failure_count',
  lastError: 'last_error',
  lastRefreshAt: 'last_refresh_at',
  connectionConfig: 'connection_config',
  metadata: 'metadata',
  credentialsSecretName: 'credentials_secret_name',
  tags: 'tags',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  ttl: TABLE.ttlAttribute,
} as const satisfies { [K in Field]-?: string };

type RequiredField = { [K in Field]-?: object extends Pick<ConnectionRecord, K> ? never : K }[Field];

/** Fields every record has: removing one would leave an item that no longer reads as a record. */
const REQUIRED_FIELDS: ReadonlySet<string> = new Set(
  Object.keys({
    id: true,
    provider: true,
    authMode: true,
    status: true,
    scopes: true,
    tokenGen: true,
    version: true,
    failureCount: true,
    createdAt: true,
    updatedAt: true,
  } satisfies { [K in RequiredField]: true }),
);

const STATUSES: readonly ConnectionStatus[] = ['active', 'needs_reauth', 'revoked'];
const AUTH_MODES: readonly AuthMode[] = ['OAUTH2', 'OAUTH2_CC'];

/** Connections and install states in one DynamoDB table; see the module comment for the item layout. */
export class DynamoDbConnectionStore implements ConnectionStore {
  private readonly tableName: string;
  private readonly doc: DynamoDBDocumentClient;
  private readonly clock: Clock;

  constructor(options: DynamoDbConnectionStoreOptions) {
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
    // removeUndefinedValues: optional record fields are simply absent from the item.
    this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  /** GetItem; an item past its `ttl` reads as undefined. */
  async get(id: string, options: { consistent?: boolean } = {}): Promise<ConnectionRecord | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: connectionKey(id), ConsistentRead: options.consistent ?? false }),
    );
    if (Item === undefined || isExpired(Item, this.clock.now())) return undefined;
    return itemToRecord(Item);
  }

  /** Conditional Put; an existing item past its `ttl` counts as absent and is overwritten. */
  async create(record: ConnectionRecord): Promise<ConnectionRecord> {
    if (record.version !== 1) {
      throw new BrokerError('internal_error', `A new connection must have version 1, got ${record.version}`);
    }
    const item = recordToItem(record);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#pk) OR #ttl <= :nowSec',
          ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#ttl': TABLE.ttlAttribute },
          ExpressionAttributeValues: { ':nowSec': epochSeconds(this.clock.now()) },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) {
        throw new BrokerError('conflict', `Connection ${record.id} already exists`, { cause: err });
      }
      throw err;
    }
    // Read back through the same mapping, so `create` returns exactly what `get` will.
    return itemToRecord(item);
  }

  /**
   * One UpdateItem conditional on `version` (and the item not expired): SETs `changes.set`
   * (a field set to `undefined` is removed), REMOVEs `changes.remove`, bumps `version`, and
   * stamps `updatedAt` unless given. A missing item is a conflict too: the caller's read is stale.
   */
  async update(id: string, expectedVersion: number, changes: RecordChanges): Promise<ConnectionRecord> {
    const now = this.clock.now();
    const toSet = new Map<Field, unknown>();
    const toRemove = new Set<Field>();
    for (const [name, value] of Object.entries(changes.set ?? {})) {
      const field = mutableField(name);
      if (value === undefined) toRemove.add(field);
      else toSet.set(field, value);
    }
    for (const name of changes.remove ?? []) toRemove.add(mutableField(name));
    for (const field of toRemove) {
      if (toSet.has(field)) throw new BrokerError('internal_error', `Field ${field} is both set and removed`);
      if (REQUIRED_FIELDS.has(field)) throw new BrokerError('internal_error', `Field ${field} cannot be removed`);
    }
    if (!toSet.has('updatedAt')) toSet.set('updatedAt', now);
    toSet.set('version', expectedVersion + 1);
    const listKeys = listKeyChanges(id, toSet, toRemove);

    const names: Record<string, string> = { '#ttl': TABLE.ttlAttribute };
    const values: Record<string, unknown> = { ':expected': expectedVersion, ':nowSec': epochSeconds(now) };
    const setClauses: string[] = [];
    for (const [field, value] of toSet) {
      const attribute = ATTRIBUTE[field];
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = encodeField(field, value);
      setClauses.push(`#${attribute} = :${attribute}`);
    }
    const removeClauses: string[] = [];
    for (const field of toRemove) {
      const attribute = ATTRIBUTE[field];
      names[`#${attribute}`] = attribute;
      removeClauses.push(`#${attribute}`);
    }
    for (const [attribute, value] of Object.entries(listKeys)) {
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = value;
      setClauses.push(`#${attribute} = :${attribute}`);
    }

    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: connectionKey(id),
          UpdateExpression: `SET ${setClauses.join(', ')}${removeClauses.length > 0 ? ` REMOVE ${removeClauses.join(', ')}` : ''}`,
          // `#version` is always in `names`: version is always SET.
          ConditionExpression: '#version = :expected AND (attribute_not_exists(#ttl) OR #ttl > :nowSec)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (Attributes === undefined) throw new BrokerError('internal_error', `UpdateItem on ${id} returned no attributes`);
      const record = itemToRecord(Attributes);
      await this.addMissingListKeys(record, Attributes);
      return record;
    } catch (err) {
      if (isConditionalCheckFailed(err)) {
        throw new BrokerError('conflict', `Connection ${id} changed concurrently (expected version ${expectedVersion})`, {
          cause: err,
          details: { connection_id: id, expected_version: expectedVersion },
        });
      }
      throw err;
    }
  }

  /**
   * Unfiltered: a paged Scan of connection items (install states and expired items skipped), in
   * the table's hash order. Filtered: Queries on a list index, then the records by BatchGetItem;
   * see `listFiltered`.
   */
  async list(options: ListOptions = {}): Promise<ConnectionPage> {
    try {
      return await this.listPage(options);
    } catch (err) {
      // A cursor of the right shape whose key DynamoDB refuses (outside the query's partition, too long) is the caller's.
      // Anything else on a later page (throttling, a network error) is the server's, as on the first page.
      if (options.cursor !== undefined && err instanceof Error && err.name === 'ValidationException') throw new BrokerError('invalid_request', 'Invalid cursor', { cause: err });
      throw err;
    }
  }

  private async listPage(options: ListOptions): Promise<ConnectionPage> {
    const limit = pageLimit(options.limit, PAGE_LIMITS);
    const filter = normalFilter(options.filter);
    if (filter !== undefined) {
      assertServableFilter(filter);
      return this.listFiltered(filter, limit, options.cursor);
    }
    const nowSec = epochSeconds(this.clock.now());
    return this.collectPage(
      limit,
      decodeCursor(options.cursor, { [TABLE.partitionKey]: 'string' }),
      (startKey, batch) =>
        this.doc.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: '#kind = :connection AND (attribute_not_exists(#ttl) OR #ttl > :nowSec)',
            ExpressionAttributeNames: { '#kind': 'kind', '#ttl': TABLE.ttlAttribute },
            ExpressionAttributeValues: { ':connection': KIND_CONNECTION, ':nowSec': nowSec },
            Limit: batch,
            ExclusiveStartKey: startKey,
          }),
        ),
      (item) => pickKey(item, [TABLE.partitionKey]),
    );
  }

  /**
   * A filtered page: the list-index partitions `listPartitions` names, one after the other, each
   * Queried for keys (KEYS_ONLY) and the records fetched by BatchGetItem only as far as the page
   * needs. Each record is checked against the whole filter again, because a GSI is eventually
   * consistent: a page never holds a record that does not match. The cursor is the partition
   * and the last index key used, bound to the filter.
   */
  private async listFiltered(filter: ConnectionFilter, limit: number, cursor: string | undefined): Promise<ConnectionPage> {
    const partitions = listPartitions(filter);
    const position = decodeListCursor(cursor, filter, partitions);
    const records: ConnectionRecord[] = [];
    // An item that does not read as a record is named, not fatal (as in the unfiltered list).
    const unreadable: UnreadableConnection[] = [];
    const result = (more: Record<string, string>): ConnectionPage => ({ items: records, ...(unreadable.length > 0 ? { unreadable } : {}), ...more });
    let { partition, startKey } = position;
    while (partition < partitions.length) {
      const where = partitions[partition] as ListPartition;
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: TABLE.listIndexName,
          KeyConditionExpression: `#pk = :pk${where.prefix === undefined ? '' : ' AND begins_with(#sk, :prefix)'}`,
          ExpressionAttributeNames: { '#pk': TABLE.listIndexPartitionKey, ...(where.prefix === undefined ? {} : { '#sk': TABLE.listIndexSortKey }) },
          ExpressionAttributeValues: { ':pk': where.keyValue, ...(where.prefix === undefined ? {} : { ':prefix': where.prefix }) },
          Limit: Math.max(limit - records.length, MIN_READ_BATCH),
          ExclusiveStartKey: startKey,
        }),
      );
      const keys = page.Items ?? [];
      for (let used = 0; used < keys.length; ) {
        const chunk = keys.slice(used, used + Math.min(limit - records.length, MAX_BATCH_GET));
        const items = await this.batchGet(chunk.map((key) => pickKey(key, [TABLE.partitionKey])));
        const now = this.clock.now();
        for (const key of chunk) {
          const item = items.get(key[TABLE.partitionKey] as string);
          if (item === undefined || isExpired(item, now)) continue;
          const read = readPage([item]);
          unreadable.push(...(read.unreadable ?? []));
          const record = read.items[0];
          if (record !== undefined && matchesFilter(record, filter)) records.push(record);
        }
        used += chunk.length;
        if (records.length >= limit) {
          const more = used < keys.length || page.LastEvaluatedKey !== undefined || partition + 1 < partitions.length;
          const last = pickKey(chunk[chunk.length - 1] as Item, [TABLE.partitionKey, TABLE.listIndexPartitionKey, TABLE.listIndexSortKey]);
          return result(more ? { cursor: encodeListCursor(filter, partition, last) } : {});
        }
      }
      if (page.LastEvaluatedKey !== undefined) {
        startKey = page.LastEvaluatedKey as Key;
      } else {
        partition += 1;
        startKey = undefined;
      }
    }
    return result({});
  }

  /**
   * A connection stored before the list indexes existed has no list keys, so filtered lists do
   * not see it. Its next write (a refresh, at the latest within one token lifetime) adds them,
   * with a write conditional on the version just written: if the record moved on meanwhile,
   * that newer write carries its own keys, or adds them the same way.
   */
  private async addMissingListKeys(record: ConnectionRecord, item: Item): Promise<void> {
    const wanted = listKeysOf(record);
    const missing = Object.entries(wanted).filter(([attribute, value]) => item[attribute] !== value);
    if (missing.length === 0) return;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: connectionKey(record.id),
          UpdateExpression: `SET ${missing.map(([attribute]) => `#${attribute} = :${attribute}`).join(', ')}`,
          ConditionExpression: '#version = :version',
          ExpressionAttributeNames: { '#version': ATTRIBUTE.version, ...Object.fromEntries(missing.map(([attribute]) => [`#${attribute}`, attribute])) },
          ExpressionAttributeValues: { ':version': record.version, ...Object.fromEntries(missing.map(([attribute, value]) => [`:${attribute}`, value])) },
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }

  /**
   * Queries the schedule GSI for `shard` with `refreshDueAt ≤ dueBy`, earliest first, then reads
   * those records from the table (BatchGetItem, eventually consistent: the index holds keys only),
   * skipping expired items. Both reads may be stale: re-read with `consistent` before acting (the
   * refresh path's writes are conditional on the version they read, so a stale one only loses a race).
   */
  async listDue(shard: number, dueBy: number, options: { limit?: number; cursor?: string } = {}): Promise<DuePage> {
    const nowSec = epochSeconds(this.clock.now());
    return this.collectPage(
      pageLimit(options.limit, PAGE_LIMITS),
      decodeCursor(options.cursor, {
        [TABLE.partitionKey]: 'string',
        [TABLE.dueIndexPartitionKey]: 'number',
        [TABLE.dueIndexSortKey]: 'number',
      }),
      (startKey, limit) =>
        this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: TABLE.dueIndexName,
            KeyConditionExpression: '#shard = :shard AND #due <= :dueBy',
            // The index projects the TTL, so expired items are skipped before they fill a page.
            FilterExpression: 'attribute_not_exists(#ttl) OR #ttl > :nowSec',
            ExpressionAttributeNames: { '#shard': TABLE.dueIndexPartitionKey, '#due': TABLE.dueIndexSortKey, '#ttl': TABLE.ttlAttribute },
            ExpressionAttributeValues: { ':shard': shard, ':dueBy': dueBy, ':nowSec': nowSec },
            ScanIndexForward: true,
            Limit: limit,
            ExclusiveStartKey: startKey,
          }),
        ),
      (item) => pickKey(item, [TABLE.partitionKey, TABLE.dueIndexPartitionKey, TABLE.dueIndexSortKey]),
      readDuePage,
    );
  }

  /** Queries the cycle GSI's partition `cycle` for phases in [`from`, `to`], by phase, from the index alone (keys, provider, TTL). */
  async listCycle(cycle: string, from: number, to: number, options: { limit?: number; cursor?: string } = {}): Promise<CyclePage> {
    const nowSec = epochSeconds(this.clock.now());
    return this.collectPage(
      pageLimit(options.limit, PAGE_LIMITS),
      decodeCursor(options.cursor, {
        [TABLE.partitionKey]: 'string',
        [TABLE.cycleIndexPartitionKey]: 'string',
        [TABLE.cycleIndexSortKey]: 'number',
      }),
      (startKey, limit) =>
        this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: TABLE.cycleIndexName,
            KeyConditionExpression: '#cycle = :cycle AND #phase BETWEEN :from AND :to',
            FilterExpression: 'attribute_not_exists(#ttl) OR #ttl > :nowSec',
            ExpressionAttributeNames: { '#cycle': TABLE.cycleIndexPartitionKey, '#phase': TABLE.cycleIndexSortKey, '#ttl': TABLE.ttlAttribute },
            ExpressionAttributeValues: { ':cycle': cycle, ':from': from, ':to': to, ':nowSec': nowSec },
            ScanIndexForward: true,
            Limit: limit,
            ExclusiveStartKey: startKey,
          }),
        ),
      (item) => pickKey(item, [TABLE.partitionKey, TABLE.cycleIndexPartitionKey, TABLE.cycleIndexSortKey]),
      readCyclePage,
    );
  }

  /** The scheduler's marks (`meta#schedule`), read consistently: a run must see the last run's. */
  async getScheduleMarks(): Promise<ScheduleMarks | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [TABLE.partitionKey]: SCHEDULE_MARKS_PK }, ConsistentRead: true }));
    if (Item === undefined) return undefined;
    const read = new ItemReader(Item);
    const partitions = read.optionalNumberMap('partitions');
    // An item written before the marks per partition has `through` alone: every partition read to there.
    return { through: read.number('through'), ...(partitions ? { partitions } : {}), held: read.optionalTurnMarks('held') ?? {}, version: read.number('version') };
  }

  async putScheduleMarks(marks: ScheduleMarks): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [TABLE.partitionKey]: SCHEDULE_MARKS_PK, kind: KIND_META, through: marks.through, ...(marks.partitions ? { partitions: marks.partitions } : {}), held: marks.held, version: marks.version + 1 },
          ConditionExpression: marks.version === 0 ? 'attribute_not_exists(#pk)' : '#version = :expected',
          ExpressionAttributeNames: marks.version === 0 ? { '#pk': TABLE.partitionKey } : { '#version': 'version' },
          ...(marks.version === 0 ? {} : { ExpressionAttributeValues: { ':expected': marks.version } }),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }

  /** Each connection's `refreshDueAt`, read alone (BatchGetItem of the key and that attribute, eventually consistent); absent ids are left out. */
  async dueTimes(ids: readonly string[]): Promise<Map<string, number>> {
    const items = await this.batchGet(ids.map(connectionKey), { projection: [TABLE.partitionKey, TABLE.dueIndexSortKey, TABLE.ttlAttribute] });
    const due = new Map<string, number>();
    const now = this.clock.now();
    for (const [pk, item] of items) {
      const at = item[TABLE.dueIndexSortKey];
      if (typeof at === 'number' && !isExpired(item, now)) due.set(connectionIdOf(pk)!, at);
    }
    return due;
  }

  /** Items by key, eventually consistent, 100 keys per BatchGetItem, unprocessed keys asked again; `projection`: only these attributes. */
  private async batchGet(keys: Key[], options: { projection?: readonly string[] } = {}): Promise<Map<string, Item>> {
    const projection = options.projection
      ? { ProjectionExpression: options.projection.map((_, i) => `#p${i}`).join(', '), ExpressionAttributeNames: Object.fromEntries(options.projection.map((name, i) => [`#p${i}`, name])) }
      : {};
    const found = new Map<string, Item>();
    for (let start = 0; start < keys.length; start += MAX_BATCH_GET) {
      let pending: Key[] = keys.slice(start, start + MAX_BATCH_GET);
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > BATCH_GET_ATTEMPTS) throw new BrokerError('internal_error', `BatchGetItem left ${pending.length} keys unprocessed`);
        if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
        const { Responses, UnprocessedKeys } = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: false, ...projection } } }),
        );
        for (const item of Responses?.[this.tableName] ?? []) found.set(item[TABLE.partitionKey] as string, item);
        pending = (UnprocessedKeys?.[this.tableName]?.Keys as Key[] | undefined) ?? [];
      }
    }
    return found;
  }

  /** Puts the state under the hash of its nonce, with `ttl = ceil(expiresAt / 1000)`; a live duplicate nonce is a conflict. */
  async putState(state: InstallState): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: stateToItem(state),
          // 128-bit nonces do not collide; a live duplicate means a broken RNG or a replayed write, so fail loudly.
          ConditionExpression: 'attribute_not_exists(#pk) OR #ttl <= :nowSec',
          ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#ttl': TABLE.ttlAttribute },
          ExpressionAttributeValues: { ':nowSec': epochSeconds(this.clock.now()) },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new BrokerError('conflict', 'Install state already exists', { cause: err });
      throw err;
    }
  }

  /** One conditional DeleteItem returning the old item: of any number of concurrent callers, exactly one gets the state. */
  async consumeState(nonce: string): Promise<InstallState | undefined> {
    try {
      const { Attributes } = await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: stateKey(nonce),
          ConditionExpression: 'attribute_exists(#pk) AND #expires_at > :now',
          ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#expires_at': 'expires_at' },
          ExpressionAttributeValues: { ':now': this.clock.now() },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return Attributes === undefined ? undefined : itemToState(nonce, Attributes);
    } catch (err) {
      // Unknown, expired or already consumed: the callback treats all three alike.
      if (isConditionalCheckFailed(err)) return undefined;
      throw err;
    }
  }

  /**
   * One conditional Put of the link's "used" mark: of any number of callbacks for one link,
   * exactly one gets `true`. A mark past its TTL counts as absent (the link expired long ago).
   */
  async claimInstallLink(linkId: string, until: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...linkKey(linkId), kind: KIND_LINK, used_at: this.clock.now(), [TABLE.ttlAttribute]: epochSeconds(until) + 1 },
          ConditionExpression: 'attribute_not_exists(#pk) OR #ttl <= :nowSec',
          ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#ttl': TABLE.ttlAttribute },
          ExpressionAttributeValues: { ':nowSec': epochSeconds(this.clock.now()) },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }

  async releaseInstallLink(linkId: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: linkKey(linkId) }));
  }

  async isInstallLinkUsed(linkId: string): Promise<boolean> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: linkKey(linkId), ConsistentRead: true }));
    return Item !== undefined && !isExpired(Item, this.clock.now());
  }

  async getKeyCheck(): Promise<KeyCheck | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [TABLE.partitionKey]: KEY_CHECK_PK }, ConsistentRead: true }));
    if (Item === undefined) return undefined;
    const read = new ItemReader(Item);
    return { tokenKeyCanary: read.string('token_key_canary'), signingKeyFingerprint: read.string('signing_key_fingerprint'), createdAt: read.number('created_at') };
  }

  async putKeyCheck(check: KeyCheck, options: { replace: boolean }): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [TABLE.partitionKey]: KEY_CHECK_PK,
            kind: KIND_META,
            token_key_canary: check.tokenKeyCanary,
            signing_key_fingerprint: check.signingKeyFingerprint,
            created_at: check.createdAt,
          },
          ...(options.replace ? {} : { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': TABLE.partitionKey } }),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }

  /**
   * Reads until `limit` matching items or the end: a filtered page may hold fewer items than asked,
   * even none. When a read returns more than needed, the page ends at the last item kept and the
   * cursor is that item's key (what DynamoDB itself would return as LastEvaluatedKey there).
   * An item that does not read as a record takes its place on the page and is named in
   * `unreadable`: one bad item never hides the others.
   */
  private async collectPage<P extends { items: unknown[] } = ConnectionPage>(
    limit: number,
    start: Key | undefined,
    read: (startKey: Key | undefined, limit: number) => Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>,
    keyOf: (item: Item) => Key,
    toPage: (items: Item[]) => P = readPage as unknown as (items: Item[]) => P,
  ): Promise<P & { cursor?: string }> {
    const items: Item[] = [];
    let startKey = start;
    for (;;) {
      const wanted = limit - items.length;
      const page = await read(startKey, Math.max(wanted, MIN_READ_BATCH));
      const found = page.Items ?? [];
      if (found.length >= wanted) {
        items.push(...found.slice(0, wanted));
        const last = items[items.length - 1];
        const more = found.length > wanted || page.LastEvaluatedKey !== undefined;
        const cursor = found.length > wanted && last !== undefined ? keyOf(last) : (page.LastEvaluatedKey as Key | undefined);
        return { ...toPage(items), ...(more && cursor !== undefined ? { cursor: encodeCursor(cursor) } : {}) };
      }
      items.push(...found);
      if (page.LastEvaluatedKey === undefined) return toPage(items);
      startKey = page.LastEvaluatedKey as Key;
    }
  }
}

/**
 * Entries of a schedule index as it holds them (keys, provider, TTL): the id from the table key, the
 * provider, and the index's sort key (`sortKey`: a due time or a phase), each made into an entry by
 * `entry`; the items that do not read as one are named, never fatal.
 */
function readIndexPage<E>(items: readonly Item[], sortKey: string, entry: (id: string, provider: string, sort: number) => E): IndexPage<E> {
  const entries: E[] = [];
  const unreadable: UnreadableConnection[] = [];
  for (const item of items) {
    const pk = item[TABLE.partitionKey];
    const id = connectionIdOf(pk);
    const provider = item[ATTRIBUTE.provider];
    const sort = item[sortKey];
    if (id === undefined) unreadable.push({ id: '?', reason: `${TABLE.partitionKey} is not a connection key` });
    // Sent as a job, it would be refused by every worker, land in the dead-letter queue, and be sent again each run.
    else if (!isConnectionId(id)) unreadable.push({ id: id.slice(0, 128), reason: `${TABLE.partitionKey} holds no valid connection id` });
    else if (typeof provider !== 'string' || provider === '') unreadable.push({ id, reason: `${ATTRIBUTE.provider} is missing or not a string` });
    else if (typeof sort !== 'number') unreadable.push({ id, reason: `${sortKey} is not a number` });
    else entries.push(entry(id, provider, sort));
  }
  return { items: entries, ...(unreadable.length > 0 ? { unreadable } : {}) };
}

const readDuePage = (items: readonly Item[]): DuePage => readIndexPage(items, TABLE.dueIndexSortKey, (id, provider, refreshDueAt): DueConnection => ({ id, provider, refreshDueAt }));
const readCyclePage = (items: readonly Item[]): CyclePage => readIndexPage(items, TABLE.cycleIndexSortKey, (id, provider, phase): CycleEntry => ({ id, provider, phase }));

/** The records of a page, with the items that do not read as one named instead of failing the page. */
function readPage(items: readonly Item[]): ConnectionPage {
  const records: ConnectionRecord[] = [];
  const unreadable: UnreadableConnection[] = [];
  for (const item of items) {
    try {
      records.push(itemToRecord(item));
    } catch (err) {
      if (!(err instanceof MalformedItem)) throw err;
      unreadable.push({ id: err.connectionId, reason: err.message });
    }
  }
  return { items: records, ...(unreadable.length > 0 ? { unreadable } : {}) };
}

// ---- keys ------------------------------------------------------------------

const CONNECTION_KEY_PREFIX = 'conn#';

/** The connection id a connection item's key (`conn#<id>`) holds; undefined for any other key. */
function connectionIdOf(pk: unknown): string | undefined {
  return typeof pk === 'string' && pk.startsWith(CONNECTION_KEY_PREFIX) ? pk.slice(CONNECTION_KEY_PREFIX.length) : undefined;
}

/** The connection id a connection item's key holds; a malformed item when it holds none. */
function idOfKey(item: Item): string {
  const id = connectionIdOf(item[TABLE.partitionKey]);
  if (id === undefined) throw malformed(item, TABLE.partitionKey);
  return id;
}

function connectionKey(id: string): Key {
  return { [TABLE.partitionKey]: `${CONNECTION_KEY_PREFIX}${id}` };
}

function linkKey(linkId: string): Key {
  return { [TABLE.partitionKey]: `link#${linkId}` };
}

function stateKey(nonce: string): Key {
  return { [TABLE.partitionKey]: `state#${createHash('sha256').update(nonce).digest('base64url')}` };
}

function pickKey(item: Item, attributes: readonly string[]): Key {
  const key: Key = {};
  for (const attribute of attributes) {
    const value = item[attribute];
    if (typeof value !== 'string' && typeof value !== 'number') throw malformed(item, attribute);
    key[attribute] = value;
  }
  return key;
}

// ---- the list index -------------------------------------------------------------

/** The list-index partition of a connection id: stable, and spread evenly over `TABLE.listShards`. */
export function listShardOf(connectionId: string): number {
  return createHash('sha256').update(connectionId).digest().readUInt32BE(0) % TABLE.listShards;
}

function statusShard(status: ConnectionStatus, shard: number): string {
  return `${status}#${String(shard).padStart(2, '0')}`;
}

/** `<provider>#<tenant>#`: the sort-key prefix of a provider's (and tenant's) connections; `#` and `%` in a tenant are escaped. */
function sortKeyPrefix(provider: string, tenant?: string): string {
  return tenant === undefined ? `${provider}#` : `${provider}#${tenant.replace(/[%#]/g, encodeURIComponent)}#`;
}

/** The list-index keys of a record's item. */
function listKeysOf(record: Pick<ConnectionRecord, 'id' | 'provider' | 'status' | 'tenant'>): Record<string, string> {
  return {
    [TABLE.listIndexPartitionKey]: statusShard(record.status, listShardOf(record.id)),
    [TABLE.listIndexSortKey]: sortKeyPrefix(record.provider, record.tenant ?? ''),
  };
}

/**
 * The list-index keys an update writes, in the same write: the partition key when it sets
 * `status`, the sort key when it sets `provider` and sets or removes `tenant` (a re-install).
 * A refresh sets neither, except the commit's unchanged `status: active`, and DynamoDB writes
 * an index only when a key's value changes. Any other change of provider or tenant is put right
 * by `addMissingListKeys` after the write.
 */
function listKeyChanges(id: string, toSet: ReadonlyMap<Field, unknown>, toRemove: ReadonlySet<Field>): Record<string, string> {
  const keys: Record<string, string> = {};
  const status = toSet.get('status');
  if (typeof status === 'string') keys[TABLE.listIndexPartitionKey] = statusShard(status as ConnectionStatus, listShardOf(id));
  const provider = toSet.get('provider');
  const tenant = toRemove.has('tenant') ? '' : toSet.get('tenant');
  if (typeof provider === 'string' && typeof tenant === 'string') keys[TABLE.listIndexSortKey] = sortKeyPrefix(provider, tenant);
  return keys;
}

/** One partition of the list index a filtered list reads, and the sort-key prefix that narrows it. */
interface ListPartition {
  keyValue: string;
  prefix?: string;
}

/**
 * The partitions that hold every connection matching `filter`, in reading order: the 16 shards
 * of the status, or, without a status, the shards of each of the three (a closed set, so this is
 * exact), each narrowed by the provider (and tenant) prefix.
 */
function listPartitions(filter: ConnectionFilter): ListPartition[] {
  const prefix = filter.provider === undefined ? undefined : sortKeyPrefix(filter.provider, filter.tenant);
  const statuses = filter.status === undefined ? STATUSES : [filter.status];
  return statuses.flatMap((status) => Array.from({ length: TABLE.listShards }, (_, shard) => ({ keyValue: statusShard(status, shard), prefix })));
}

/** The filter without absent fields, or undefined when nothing is filtered. */
function normalFilter(filter: ConnectionFilter | undefined): ConnectionFilter | undefined {
  const normal = withoutUndefined({ provider: filter?.provider, status: filter?.status, tenant: filter?.tenant });
  return Object.keys(normal).length === 0 ? undefined : normal;
}


/** A filtered list's cursor: the filter it belongs to, the partition, and the last index key used there. */
function encodeListCursor(filter: ConnectionFilter, partition: number, key: Key): string {
  return encodeCursor({ f: JSON.stringify(filter), p: partition, k: JSON.stringify(key) });
}

function decodeListCursor(cursor: string | undefined, filter: ConnectionFilter, partitions: readonly ListPartition[]): { partition: number; startKey?: Key } {
  if (cursor === undefined) return { partition: 0 };
  const { f, p, k } = decodeCursor(cursor, { f: 'string', p: 'number', k: 'string' }) as { f: string; p: number; k: string };
  if (f !== JSON.stringify(filter)) throw new BrokerError('invalid_request', 'Invalid cursor: it belongs to a list with other filters');
  if (!Number.isInteger(p) || partitions[p] === undefined) throw new BrokerError('invalid_request', 'Invalid cursor');
  let key: unknown;
  try {
    key = JSON.parse(k);
  } catch (err) {
    throw new BrokerError('invalid_request', 'Invalid cursor', { cause: err });
  }
  const shape = { [TABLE.partitionKey]: 'string', [TABLE.listIndexPartitionKey]: 'string', [TABLE.listIndexSortKey]: 'string' } as const;
  if (!isPlainObject(key) || Object.keys(key).length !== 3 || Object.entries(shape).some(([name, type]) => typeof key[name] !== type)) {
    throw new BrokerError('invalid_request', 'Invalid cursor');
  }
  return { partition: p, startKey: key as Key };
}

// ---- record ↔ item -----------------------------------------------------------

/** The one record → item mapping (also used by `update` for each SET value through `encodeField`). */
function recordToItem(record: ConnectionRecord): Item {
  const item: Item = { [TABLE.partitionKey]: connectionKey(record.id)[TABLE.partitionKey], kind: KIND_CONNECTION };
  for (const field of Object.keys(ATTRIBUTE) as Field[]) {
    // The key already holds the id: written again it took 2 + its length of every write's bytes, and
    // the lease of a HubSpot-sized item over the 1 KB of one write unit (docs/design.md, "Writes per refresh").
    if (field === 'id') continue;
    const value = record[field];
    if (value !== undefined) item[ATTRIBUTE[field]] = encodeField(field, value);
  }
  return { ...item, ...listKeysOf(record) };
}

/** Values are stored as they are, except `lastError` (keys in the item's snake_case) and sealed blobs (binary when they pack). */
function encodeField(field: Field, value: unknown): unknown {
  if (field === 'sealed' || field === 'rescue') return packSealed(value as string) ?? value;
  if (field === 'lastError') {
    const lastError = value as LastError;
    return {
      code: lastError.code,
      message: lastError.message,
      provider_code: lastError.providerCode,
      at: lastError.at,
    };
  }
  return value;
}

/** The one item → record mapping; a malformed item fails loudly instead of leaking half a record. */
function itemToRecord(item: Item): ConnectionRecord {
  const read = new ItemReader(item);
  const record: ConnectionRecord = {
    id: item[ATTRIBUTE.id] === undefined ? idOfKey(item) : read.string(ATTRIBUTE.id),
    provider: read.string(ATTRIBUTE.provider),
    authMode: read.oneOf(ATTRIBUTE.authMode, AUTH_MODES),
    tenant: read.optionalString(ATTRIBUTE.tenant),
    tenants: read.optionalStringList(ATTRIBUTE.tenants),
    status: read.oneOf(ATTRIBUTE.status, STATUSES),
    scopes: read.stringList(ATTRIBUTE.scopes),
    sealed: read.optionalSealed(ATTRIBUTE.sealed),
    tokenGen: read.number(ATTRIBUTE.tokenGen),
    expiresAt: read.optionalNumber(ATTRIBUTE.expiresAt),
    refreshExpiresAt: read.optionalNumber(ATTRIBUTE.refreshExpiresAt),
    refreshDueAt: read.optionalNumber(ATTRIBUTE.refreshDueAt),
    shard: read.optionalNumber(ATTRIBUTE.shard),
    cycle: read.optionalString(ATTRIBUTE.cycle),
    cyclePhase: read.optionalNumber(ATTRIBUTE.cyclePhase),
    renewableAfter: read.optionalNumber(ATTRIBUTE.renewableAfter),
    version: read.number(ATTRIBUTE.version),
    leaseOwner: read.optionalString(ATTRIBUTE.leaseOwner),
    leaseUntil: read.optionalNumber(ATTRIBUTE.leaseUntil),
    leaseGen: read.optionalNumber(ATTRIBUTE.leaseGen),
    rescue: read.optionalSealed(ATTRIBUTE.rescue),
    rescueGen: read.optionalNumber(ATTRIBUTE.rescueGen),
    failureCount: read.number(ATTRIBUTE.failureCount),
    lastError: read.optionalLastError(ATTRIBUTE.lastError),
    lastRefreshAt: read.optionalNumber(ATTRIBUTE.lastRefreshAt),
    connectionConfig: read.optionalStringMap(ATTRIBUTE.connectionConfig),
    metadata: read.optionalStringMap(ATTRIBUTE.metadata),
    credentialsSecretName: read.optionalString(ATTRIBUTE.credentialsSecretName),
    tags: read.optionalStringMap(ATTRIBUTE.tags),
    createdAt: read.number(ATTRIBUTE.createdAt),
    updatedAt: read.number(ATTRIBUTE.updatedAt),
    ttl: read.optionalNumber(ATTRIBUTE.ttl),
  };
  return withoutUndefined(record);
}

/** The one state → item mapping; the nonce is only in the key, hashed. */
function stateToItem(state: InstallState): Item {
  return {
    ...stateKey(state.nonce),
    kind: KIND_STATE,
    provider: state.provider,
    return_to: state.returnTo,
    connection_id: state.connectionId,
    redirect_uri: state.redirectUri,
    scopes: state.scopes,
    connection_config: state.connectionConfig,
    tags: state.tags,
    link_id: state.link?.id,
    link_used_mark_until: state.link?.usedMarkUntil,
    created_at: state.createdAt,
    expires_at: state.expiresAt,
    [TABLE.ttlAttribute]: Math.ceil(state.expiresAt / 1000),
  };
}

/** The one item → state mapping; `nonce` comes from the caller, since the item holds only its hash. */
function itemToState(nonce: string, item: Item): InstallState {
  const read = new ItemReader(item);
  const linkId = read.optionalString('link_id');
  return withoutUndefined({
    nonce,
    provider: read.string('provider'),
    returnTo: read.optionalString('return_to'),
    connectionId: read.optionalString('connection_id'),
    redirectUri: read.string('redirect_uri'),
    scopes: read.stringList('scopes'),
    connectionConfig: read.optionalStringMap('connection_config'),
    tags: read.optionalStringMap('tags'),
    link: linkId === undefined ? undefined : { id: linkId, usedMarkUntil: read.number('link_used_mark_until') },
    createdAt: read.number('created_at'),
    expiresAt: read.number('expires_at'),
  });
}

/** Typed reads of an unmarshalled item, naming the attribute (never the value) when it is malformed. */
class ItemReader {
  constructor(private readonly item: Item) {}

  string(attribute: string): string {
    const value = this.item[attribute];
    if (typeof value !== 'string') throw malformed(this.item, attribute);
    return value;
  }

  optionalString(attribute: string): string | undefined {
    return this.item[attribute] === undefined ? undefined : this.string(attribute);
  }

  /** A sealed blob: binary (packed, sealed-binary.ts) or text (as written before, or when it did not pack). */
  optionalSealed(attribute: string): string | undefined {
    const value = this.item[attribute];
    if (value instanceof Uint8Array) {
      try {
        return unpackSealed(value);
      } catch {
        throw malformed(this.item, attribute);
      }
    }
    return this.optionalString(attribute);
  }

  number(attribute: string): number {
    const value = this.item[attribute];
    if (typeof value !== 'number') throw malformed(this.item, attribute);
    return value;
  }

  optionalNumber(attribute: string): number | undefined {
    return this.item[attribute] === undefined ? undefined : this.number(attribute);
  }

  oneOf<T extends string>(attribute: string, allowed: readonly T[]): T {
    const value = this.string(attribute);
    if (!(allowed as readonly string[]).includes(value)) throw malformed(this.item, attribute);
    return value as T;
  }

  stringList(attribute: string): string[] {
    const value = this.item[attribute];
    if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) throw malformed(this.item, attribute);
    return value as string[];
  }

  optionalStringList(attribute: string): string[] | undefined {
    return this.item[attribute] === undefined ? undefined : this.stringList(attribute);
  }

  optionalStringMap(attribute: string): Record<string, string> | undefined {
    const value = this.item[attribute];
    if (value === undefined) return undefined;
    if (!isPlainObject(value) || !Object.values(value).every((entry) => typeof entry === 'string')) {
      throw malformed(this.item, attribute);
    }
    return value as Record<string, string>;
  }

  optionalNumberMap(attribute: string): Record<string, number> | undefined {
    const value = this.item[attribute];
    if (value === undefined) return undefined;
    if (!isPlainObject(value) || !Object.values(value).every((entry) => typeof entry === 'number')) throw malformed(this.item, attribute);
    return value as Record<string, number>;
  }

  optionalTurnMarks(attribute: string): Record<string, TurnMark> | undefined {
    const value = this.item[attribute];
    if (value === undefined) return undefined;
    const isMark = (entry: unknown) => isPlainObject(entry) && typeof entry.at === 'number' && typeof entry.id === 'string';
    if (!isPlainObject(value) || !Object.values(value).every(isMark)) throw malformed(this.item, attribute);
    return Object.fromEntries(Object.entries(value).map(([provider, mark]) => [provider, { at: (mark as TurnMark).at, id: (mark as TurnMark).id }]));
  }

  optionalLastError(attribute: string): LastError | undefined {
    const value = this.item[attribute];
    if (value === undefined) return undefined;
    if (!isPlainObject(value)) throw malformed(this.item, attribute);
    const read = new ItemReader(value);
    try {
      return withoutUndefined({
        code: read.string('code'),
        message: read.string('message'),
        providerCode: read.optionalString('provider_code'),
        at: read.number('at'),
      });
    } catch {
      throw malformed(this.item, attribute);
    }
  }
}

/** A stored item that does not read as a record: an internal error naming the attribute, never its value. */
class MalformedItem extends BrokerError {
  /** The connection id from the item's key, `?` when the key itself is unreadable. */
  readonly connectionId: string;
  constructor(pk: unknown, attribute: string) {
    super('internal_error', `Stored item ${typeof pk === 'string' ? pk : '?'} has a malformed ${attribute}`, { details: { attribute } });
    this.connectionId = connectionIdOf(pk) ?? '?';
  }
}

function malformed(item: Item, attribute: string): BrokerError {
  return new MalformedItem(item[TABLE.partitionKey], attribute);
}

function mutableField(name: string): Field {
  if (!Object.hasOwn(ATTRIBUTE, name)) throw new BrokerError('internal_error', `Unknown connection field ${name}`);
  // `id` is the key and `version` is the store's own counter: neither is the caller's to change.
  if (name === 'id' || name === 'version') throw new BrokerError('internal_error', `Field ${name} cannot be changed`);
  return name as Field;
}

// ---- time, paging, errors -------------------------------------------------------

function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** Past its `ttl` (epoch seconds) at `now` (epoch ms): the same test as the `#ttl <= :nowSec` conditions. */
function isExpired(item: Item, now: number): boolean {
  const ttl = item[TABLE.ttlAttribute];
  return typeof ttl === 'number' && ttl <= epochSeconds(now);
}

function encodeCursor(key: Key): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** Accepts only a key of exactly the expected shape, so a cursor from elsewhere is a 400, not an SDK ValidationException. */
function decodeCursor(cursor: string | undefined, shape: Record<string, 'string' | 'number'>): Key | undefined {
  if (cursor === undefined) return undefined;
  const invalid = () => new BrokerError('invalid_request', 'Invalid cursor');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw new BrokerError('invalid_request', 'Invalid cursor', { cause: err });
  }
  if (!isPlainObject(parsed)) throw invalid();
  const names = Object.keys(parsed);
  if (names.length !== Object.keys(shape).length) throw invalid();
  for (const name of names) {
    if (shape[name] === undefined || typeof parsed[name] !== shape[name]) throw invalid();
  }
  return parsed as Key;
}

function isConditionalCheckFailed(err: unknown): boolean {
  // By name, not instanceof: a second copy of the SDK in the bundle would defeat instanceof.
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}
