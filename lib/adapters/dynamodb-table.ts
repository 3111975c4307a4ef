/**
 * The one DynamoDB table's key schema, shared by the store adapter, the local
 * runtime (which creates the table) and the CDK stack (which declares it), so the
 * three cannot drift apart.
 */
export const TABLE = {
  partitionKey: 'pk',
  /** Sparse GSI for the refresh schedule: only refreshable connections carry both keys. */
  dueIndexName: 'refresh-due',
  dueIndexPartitionKey: 'shard',
  dueIndexSortKey: 'refresh_due_at',
  /**
   * What the schedule index projects beyond the keys: the provider (never changes) and the TTL
   * (changes with the status, never on a refresh), so the index is written only when a
   * connection's due time moves (the commit), never by a lease or a failure; whole records are
   * read from the table (docs/design.md, "Writes per refresh").
   */
  dueIndexProjected: ['provider', 'ttl'],
  /**
   * Sparse GSI for schedule entries on a cycle (docs/design.md, "A schedule entry that does not
   * move"): partition `<period minutes>m#<shard>`, sort key the phase (ms). A refresh on its turn
   * changes neither, so it writes nothing here; it projects the provider and the TTL like `refresh-due`.
   */
  cycleIndexName: 'refresh-cycle',
  cycleIndexPartitionKey: 'cycle',
  cycleIndexSortKey: 'cycle_phase',
  /**
   * Sparse KEYS_ONLY GSI for filtered admin lists; only connection items carry its keys (the
   * store derives them from status, provider and tenant, so a refresh never changes them).
   * Partition key `<status>#<nn>`, `nn` a hash of the id over `listShards`, so no key value takes
   * more than 1/16 of a status's writes; sort key `<provider>#<tenant>#`, so a provider, or a
   * provider and a tenant, narrow a partition with `begins_with`. No id in the value (the name is
   * older): the table key, in every LastEvaluatedKey, already pages the index, and 46 more bytes in
   * every item took a HubSpot-sized item past the 1 KB of one write unit (docs/design.md, "Writes
   * per refresh"). A key written with the id is rewritten by the item's next write (addMissingListKeys).
   */
  listIndexName: 'connection-list',
  listIndexPartitionKey: 'status_shard',
  listIndexSortKey: 'provider_tenant_id',
  /** Partitions of each status in the list index. Part of the stored format: changing it needs every connection rewritten. */
  listShards: 16,
  /** The refresh scheduler's marks item (its partition key value): the one item the scheduler writes. */
  scheduleMarksKey: 'meta#schedule',
  /** DynamoDB TTL attribute (epoch seconds). */
  ttlAttribute: 'ttl',
} as const;

/** A global secondary index of the table, in terms both CDK and DynamoDB's CreateTable/UpdateTable are written from. */
export interface TableIndex {
  name: string;
  partitionKey: { name: string; type: 'S' | 'N' };
  sortKey: { name: string; type: 'S' | 'N' };
  /** Non-key attributes projected (`INCLUDE`); absent: `KEYS_ONLY`. */
  projected?: readonly string[];
}

/**
 * The table's indexes, in the order releases added them: the CDK table declares them in this order
 * (CloudFormation adds one index per deploy to an existing table) and `ensureTable` adds the later
 * ones to a local table made before them in this order. The one declaration of the indexes: the
 * stack (infra/constructs/broker-table.ts) and the local runtime (lib/adapters/dynamodb-admin.ts)
 * both build theirs from it; test/infra/stack.test.ts states the deployed shape on its own.
 */
export const TABLE_INDEXES: readonly TableIndex[] = [
  // Sparse: only scheduled connections carry `shard` and `refresh_due_at`. The scheduler reads id,
  // provider and due time from the index alone; a lease or a failure changes nothing projected, and
  // only a commit that moves the due time writes to it (docs/design.md, "Writes per refresh").
  {
    name: TABLE.dueIndexName,
    partitionKey: { name: TABLE.dueIndexPartitionKey, type: 'N' },
    sortKey: { name: TABLE.dueIndexSortKey, type: 'N' },
    projected: TABLE.dueIndexProjected,
  },
  // Filtered admin lists (dynamodb-store.ts `listFiltered`): KEYS_ONLY, so a refresh, which changes
  // no key of it, writes nothing to it.
  {
    name: TABLE.listIndexName,
    partitionKey: { name: TABLE.listIndexPartitionKey, type: 'S' },
    sortKey: { name: TABLE.listIndexSortKey, type: 'S' },
  },
  // Entries on a cycle: a refresh on its turn changes neither key, so it writes nothing here.
  {
    name: TABLE.cycleIndexName,
    partitionKey: { name: TABLE.cycleIndexPartitionKey, type: 'S' },
    sortKey: { name: TABLE.cycleIndexSortKey, type: 'N' },
    projected: TABLE.dueIndexProjected,
  },
];
