/**
 * The broker's one DynamoDB table, declared from the same key constants the store
 * adapter and the local runtime use (lib/adapters/dynamodb-table.ts).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE, TABLE_INDEXES, type TableIndex } from '../../lib/adapters/dynamodb-table';

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
    // From the one declaration of the indexes, in the order releases added them (one per deploy).
    for (const index of TABLE_INDEXES) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey.name, type: attributeType(index.partitionKey.type) },
        sortKey: { name: index.sortKey.name, type: attributeType(index.sortKey.type) },
        ...(index.projected
          ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...index.projected] }
          : { projectionType: dynamodb.ProjectionType.KEYS_ONLY }),
      });
    }
  }
}

function attributeType(type: TableIndex['partitionKey']['type']): dynamodb.AttributeType {
  return type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING;
}
