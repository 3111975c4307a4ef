/**
 * ProviderHealthStore on the broker's one DynamoDB table: one item per provider,
 * `pk = health#<provider>`, `kind = health`, the health's fields in snake_case. Every write is
 * one UpdateItem conditional on `version` (or on the item not existing yet), like connection
 * writes; the connection listing and the schedule index never see these items (their `kind`
 * differs and they have no schedule keys).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { BrokerError } from '../errors';
import type { ProviderHealth } from '../model';
import { isPlainObject, withoutUndefined } from '../plain-object';
import { systemClock, type Clock, type HealthChanges, type ProviderHealthStore } from '../ports';
import { TABLE } from './dynamodb-table';

export interface DynamoDbProviderHealthStoreOptions {
  tableName: string;
  client?: DynamoDBClient;
  clock?: Clock;
}

type Item = Record<string, unknown>;
type Field = keyof ProviderHealth;

const KIND_HEALTH = 'health';

/** Health field → item attribute, the one naming table. */
const ATTRIBUTE = {
  provider: 'provider',
  failures: 'failures',
  failingSince: 'failing_since',
  openedAt: 'opened_at',
  nextProbeAt: 'next_probe_at',
  probeOwner: 'probe_owner',
  probeUntil: 'probe_until',
  lastFailure: 'last_failure',
  version: 'version',
  updatedAt: 'updated_at',
} as const satisfies { [K in Field]-?: string };

export class DynamoDbProviderHealthStore implements ProviderHealthStore {
  private readonly tableName: string;
  private readonly doc: DynamoDBDocumentClient;
  private readonly clock: Clock;

  constructor(options: DynamoDbProviderHealthStoreOptions) {
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
    this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  }

  async getHealth(provider: string, options: { consistent?: boolean } = {}): Promise<ProviderHealth | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: healthKey(provider), ConsistentRead: options.consistent ?? false }));
    return Item === undefined ? undefined : itemToHealth(Item);
  }

  async updateHealth(provider: string, expectedVersion: number, changes: HealthChanges): Promise<ProviderHealth> {
    const names: Record<string, string> = { '#version': ATTRIBUTE.version, '#kind': 'kind', '#provider': ATTRIBUTE.provider };
    if (expectedVersion === 0) names['#pk'] = TABLE.partitionKey;
    const values: Record<string, unknown> = { ':next': expectedVersion + 1, ':kind': KIND_HEALTH, ':provider': provider };
    const set = ['#version = :next', '#kind = :kind', '#provider = :provider'];
    const remove: string[] = [];
    const fields: Partial<ProviderHealth> = { updatedAt: this.clock.now(), ...(expectedVersion === 0 ? { failures: 0 } : {}), ...changes.set };
    for (const [field, value] of Object.entries(fields) as Array<[Field, unknown]>) {
      const attribute = mutableAttribute(field);
      names[`#${attribute}`] = attribute;
      if (value === undefined) {
        remove.push(`#${attribute}`);
        continue;
      }
      values[`:${attribute}`] = field === 'lastFailure' ? encodeLastFailure(value as NonNullable<ProviderHealth['lastFailure']>) : value;
      set.push(`#${attribute} = :${attribute}`);
    }
    for (const field of changes.remove ?? []) {
      const attribute = mutableAttribute(field);
      names[`#${attribute}`] = attribute;
      remove.push(`#${attribute}`);
    }
    if (expectedVersion !== 0) values[':expected'] = expectedVersion;
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: healthKey(provider),
          UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(#pk)' : '#version = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (Attributes === undefined) throw new BrokerError('internal_error', `UpdateItem on health of ${provider} returned no attributes`);
      return itemToHealth(Attributes);
    } catch (err) {
      if (err instanceof Error && err.name === 'ConditionalCheckFailedException') {
        throw new BrokerError('conflict', `Health of provider ${provider} changed concurrently (expected version ${expectedVersion})`, { cause: err });
      }
      throw err;
    }
  }
}

function healthKey(provider: string): Record<string, string> {
  return { [TABLE.partitionKey]: `health#${provider}` };
}

function mutableAttribute(field: string): string {
  if (!Object.hasOwn(ATTRIBUTE, field) || field === 'provider' || field === 'version') {
    throw new BrokerError('internal_error', `Health field ${field} cannot be changed`);
  }
  return ATTRIBUTE[field as Field];
}

function encodeLastFailure(failure: NonNullable<ProviderHealth['lastFailure']>): Item {
  return withoutUndefined({ code: failure.code, provider_code: failure.providerCode, at: failure.at });
}

/** The one item → health mapping; a malformed item fails loudly, naming the attribute. */
function itemToHealth(item: Item): ProviderHealth {
  const malformed = (attribute: string) => new BrokerError('internal_error', `Stored health item ${String(item[TABLE.partitionKey])} has a malformed ${attribute}`);
  const number = (attribute: string, optional = false): number | undefined => {
    const value = item[attribute];
    if (value === undefined && optional) return undefined;
    if (typeof value !== 'number') throw malformed(attribute);
    return value;
  };
  const string = (attribute: string, optional = false): string | undefined => {
    const value = item[attribute];
    if (value === undefined && optional) return undefined;
    if (typeof value !== 'string') throw malformed(attribute);
    return value;
  };
  let lastFailure: ProviderHealth['lastFailure'];
  const raw = item[ATTRIBUTE.lastFailure];
  if (raw !== undefined) {
    if (!isPlainObject(raw) || typeof raw.code !== 'string' || typeof raw.at !== 'number' || (raw.provider_code !== undefined && typeof raw.provider_code !== 'string')) {
      throw malformed(ATTRIBUTE.lastFailure);
    }
    lastFailure = withoutUndefined({ code: raw.code, providerCode: raw.provider_code as string | undefined, at: raw.at });
  }
  return withoutUndefined({
    provider: string(ATTRIBUTE.provider)!,
    failures: number(ATTRIBUTE.failures)!,
    failingSince: number(ATTRIBUTE.failingSince, true),
    openedAt: number(ATTRIBUTE.openedAt, true),
    nextProbeAt: number(ATTRIBUTE.nextProbeAt, true),
    probeOwner: string(ATTRIBUTE.probeOwner, true),
    probeUntil: number(ATTRIBUTE.probeUntil, true),
    lastFailure,
    version: number(ATTRIBUTE.version)!,
    updatedAt: number(ATTRIBUTE.updatedAt)!,
  });
}
