/**
 * The broker's one DynamoDB table, declared from the same key constants the store
 * adapter and the local runtime use (lib/adapters/dynamodb-table.ts).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE } from '../../lib/adapters/dynamodb-table';

export interface BrokerTableProps {
  /** @default RemovalPolicy.RETAIN — the table holds the only copy of rotated refresh tokens. */
  removalPolicy?: RemovalPolicy;
  /** @default true */
  deletionProtection?: boolean;
}

export class BrokerTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: BrokerTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // Sparse: only scheduled connections carry `shard` and `refresh_due_at`. Keys, the provider and
    // the TTL, as the store's ensureTable creates it: the refresh scheduler reads id, provider and
    // refresh_due_at from the index alone, a lease write or a failure changes nothing projected, and
    // only the commit (which moves the due time) writes to it (docs/design.md, "Writes per refresh").
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE.dueIndexName,
      partitionKey: { name: TABLE.dueIndexPartitionKey, type: dynamodb.AttributeType.NUMBER },
      sortKey: { name: TABLE.dueIndexSortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...TABLE.dueIndexProjected],
    });
    // Filtered admin lists (lib/adapters/dynamodb-store.ts `listFiltered`): sparse like the
    // schedule index (only connections carry its keys), KEYS_ONLY so a refresh, which changes
    // no key of it, writes nothing to it; status partitions sharded 16 ways against hot keys.
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE.listIndexName,
      partitionKey: { name: TABLE.listIndexPartitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.listIndexSortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    // Schedule entries on a cycle (docs/design.md, "A schedule entry that does not move"): sparse,
    // projected like `refresh-due`; a refresh on its turn changes neither key, so it writes nothing here.
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE.cycleIndexName,
      partitionKey: { name: TABLE.cycleIndexPartitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.cycleIndexSortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...TABLE.dueIndexProjected],
    });
  }
}
