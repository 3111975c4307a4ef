/**
 * With AWS_ENDPOINT_URL_DYNAMODB set, the local runtime uses that endpoint (DynamoDB
 * Local, or AWS) instead of embedded dynalite, and creates the table when missing.
 * A separately started dynalite stands in for "some other DynamoDB endpoint".
 */
import { DescribeTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDynamoClient, startDynalite, type LocalDynamo } from '../../lib/local/dynalite';
import { fetchCallback, followInstall } from '../support/browserless-consent';
import { startTestBroker, type LocalFixture, signedInstallUrl } from '../support/local-broker';

let external: LocalDynamo;
let fixture: LocalFixture;

beforeAll(async () => {
  external = await startDynalite();
  fixture = await startTestBroker({ env: { AWS_ENDPOINT_URL_DYNAMODB: external.endpoint, BROKER_TABLE_NAME: 'external-table' } });
});
afterAll(async () => {
  await fixture?.close();
  await external?.close();
});

describe('AWS_ENDPOINT_URL_DYNAMODB', () => {
  it('creates the named table on that endpoint and stores connections there', async () => {
    const client = localDynamoClient(external.endpoint);
    const table = await client.send(new DescribeTableCommand({ TableName: 'external-table' }));
    expect(table.Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual(['refresh-due', 'connection-list', 'refresh-cycle']);

    const { callbackUrl, jar } = await followInstall(await signedInstallUrl(fixture.local, 'ext-1'));
    expect((await fetchCallback({ callbackUrl, jar })).status).toBe(200);
    const stored = await client.send(new GetItemCommand({ TableName: 'external-table', Key: { pk: { S: 'conn#ext-1' } }, ConsistentRead: true }));
    expect(stored.Item?.status).toEqual({ S: 'active' });
    expect((await fixture.local.broker.getToken('ext-1')).provider).toBe('sandbox');
  });
});
