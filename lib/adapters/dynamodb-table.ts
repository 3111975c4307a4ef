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
  /** DynamoDB TTL attribute (epoch seconds). */
  ttlAttribute: 'ttl',
} as const;
