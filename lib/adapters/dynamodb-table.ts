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
  /** DynamoDB TTL attribute (epoch seconds). */
  ttlAttribute: 'ttl',
} as const;
