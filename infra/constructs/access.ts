/**
 * Least-privilege access to the broker's data, as data: each function (and an app's
 * own Lambda using getToken in-process) declares which table actions, key operations,
 * secrets and event bus it needs, and `grantBrokerAccess` turns that into exact IAM
 * statements. No `dynamodb:*`, no `kms:*`, no resource wildcard except the secret
 * prefix for runtime-registered client-credentials secrets.
 */
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { IConstruct } from 'constructs';
import { TABLE } from '../../lib/adapters/dynamodb-table';

export type TableAction = 'GetItem' | 'BatchGetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Scan';
export type KeyAction = 'GenerateDataKey' | 'Decrypt';

/** The encryption-context keys a per-connection data key is bound to (see lib/adapters/kms-cipher.ts). */
export const ENCRYPTION_CONTEXT_KEYS = ['connection_id', 'provider'] as const;

/** How the functions get data keys (`BROKER_KMS_DATA_KEYS`; lib/adapters/kms-cipher.ts `DataKeyMode`). */
export type KmsDataKeys = 'cached' | 'per_connection';

export interface BrokerAccess {
  /** Item actions on the table itself. */
  table: readonly TableAction[];
  /** `dynamodb:Query` on the schedule GSIs, `refresh-due` and `refresh-cycle` (and only on them). */
  queryDueIndex?: boolean;
  /** `dynamodb:PutItem` on the refresh scheduler's marks item alone (`dynamodb:LeadingKeys`). */
  writeScheduleMarks?: boolean;
  /** `dynamodb:Query` on the list GSI (and only on it): filtered admin lists. */
  queryListIndex?: boolean;
  /** Key operations, always under an encryption context that names the provider (and the connection, per connection). */
  key: readonly KeyAction[];
  /**
   * Secrets to read: `catalogue` = exactly the provider-app secrets the catalogue names;
   * `prefix` = every secret under the broker's prefix (client-credentials connections
   * registered at runtime reference a secret of their own there).
   */
  secrets?: 'catalogue' | 'prefix';
  /** `events:PutEvents` on the broker's bus (reauth-required and connection events). */
  putEvents?: boolean;
  /** `secretsmanager:GetSecretValue` on the signing key (install links, derived PKCE verifiers). */
  signingKey?: boolean;
}

/** What `grantBrokerAccess` needs to know about the broker's resources. */
export interface BrokerResources {
  table: dynamodb.ITable;
  key: kms.IKey;
  bus: events.IEventBus;
  /** ARNs of the catalogue's provider-app secrets. */
  catalogueSecretArns: readonly string[];
  /** Prefix every broker secret name starts with, e.g. `oauth-token-broker/`. */
  secretPrefix: string;
  /** The only `source` the broker may publish events with. */
  eventSource: string;
  /** ARN of the signing key secret. */
  signingKeySecretArn: string;
  /** Which encryption context GenerateDataKey is allowed with. */
  kmsDataKeys: KmsDataKeys;
}

/** Grants `access` to `grantee` as separate, explicit statements (one per resource kind). */
export function grantBrokerAccess(grantee: iam.IGrantable, resources: BrokerResources, access: BrokerAccess): iam.Grant[] {
  return brokerAccessStatements(resources, access).map((statement) =>
    iam.Grant.addToPrincipal({ grantee, actions: statement.actions, resourceArns: statement.resources, conditions: statement.conditions }),
  );
}

interface StatementSpec {
  actions: string[];
  resources: string[];
  conditions?: Record<string, Record<string, unknown>>;
}

function brokerAccessStatements(resources: BrokerResources, access: BrokerAccess): StatementSpec[] {
  const statements: StatementSpec[] = [];
  if (access.table.length > 0) {
    statements.push({ actions: access.table.map((a) => `dynamodb:${a}`), resources: [resources.table.tableArn] });
  }
  if (access.queryDueIndex) {
    statements.push({ actions: ['dynamodb:Query'], resources: [dueIndexArn(resources.table), cycleIndexArn(resources.table)] });
  }
  if (access.writeScheduleMarks) {
    statements.push({
      actions: ['dynamodb:PutItem'],
      resources: [resources.table.tableArn],
      // The one item the scheduler writes: it can overwrite no connection.
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [TABLE.scheduleMarksKey] } },
    });
  }
  if (access.queryListIndex) {
    statements.push({ actions: ['dynamodb:Query'], resources: [listIndexArn(resources.table)] });
  }
  if (access.key.includes('GenerateDataKey')) {
    statements.push({ actions: ['kms:GenerateDataKey'], resources: [resources.key.keyArn], conditions: dataKeyConditions(resources.kmsDataKeys) });
  }
  if (access.key.includes('Decrypt')) {
    statements.push({ actions: ['kms:Decrypt'], resources: [resources.key.keyArn], conditions: decryptConditions() });
  }
  if (access.secrets === 'catalogue' && resources.catalogueSecretArns.length > 0) {
    statements.push({ actions: ['secretsmanager:GetSecretValue'], resources: [...resources.catalogueSecretArns] });
  }
  if (access.secrets === 'prefix') {
    statements.push({ actions: ['secretsmanager:GetSecretValue'], resources: [secretPrefixArn(resources.table, resources.secretPrefix)] });
  }
  if (access.signingKey) {
    statements.push({ actions: ['secretsmanager:GetSecretValue'], resources: [resources.signingKeySecretArn] });
  }
  if (access.putEvents) {
    statements.push({
      actions: ['events:PutEvents'],
      resources: [resources.bus.eventBusArn],
      // Nobody can impersonate another service's events on a shared bus with these credentials.
      conditions: { StringEquals: { 'events:source': resources.eventSource } },
    });
  }
  return statements;
}

/**
 * New data keys only under the context the mode binds them to. `per_connection`: exactly
 * `{connection_id, provider}`, both present (`Null: false`) and no other key (`ForAllValues`), so no
 * data key exists that does not name its connection, and CloudTrail shows each one. `cached`:
 * exactly `{provider}`; the connection is bound by AES-GCM instead (docs/design.md, "Encryption
 * bound to the row").
 */
export function dataKeyConditions(mode: KmsDataKeys): Record<string, Record<string, unknown>> {
  const keys = mode === 'per_connection' ? ENCRYPTION_CONTEXT_KEYS : (['provider'] as const);
  return {
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': [...keys] },
    Null: Object.fromEntries(keys.map((k) => [`kms:EncryptionContext:${k}`, 'false'])),
  };
}

/**
 * Decrypt reads blobs of either mode (so switching modes strands nothing): the context must name
 * the provider and may name the connection, nothing else. KMS itself still refuses a per-connection
 * data key under any context but its own.
 */
export function decryptConditions(): Record<string, Record<string, unknown>> {
  return {
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': [...ENCRYPTION_CONTEXT_KEYS] },
    Null: { 'kms:EncryptionContext:provider': 'false' },
  };
}

/** ARN of the schedule GSI by name: no `index/*` wildcard. */
export function dueIndexArn(table: dynamodb.ITable): string {
  return `${table.tableArn}/index/${TABLE.dueIndexName}`;
}

/** ARN of the cycle GSI by name. */
export function cycleIndexArn(table: dynamodb.ITable): string {
  return `${table.tableArn}/index/${TABLE.cycleIndexName}`;
}

/** ARN of the list GSI by name. */
export function listIndexArn(table: dynamodb.ITable): string {
  return `${table.tableArn}/index/${TABLE.listIndexName}`;
}

/** `arn:…:secret:<prefix>*`: Secrets Manager appends a random suffix to every secret ARN. */
export function secretPrefixArn(scope: IConstruct, prefix: string): string {
  return Arn.format(
    { service: 'secretsmanager', resource: 'secret', resourceName: `${prefix}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME },
    Stack.of(scope),
  );
}
