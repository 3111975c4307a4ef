/**
 * The broker stack as `cdk synth` builds it from cdk.json: routes and their authorization,
 * the table, key, secrets and schedule, each function's exact IAM, and the environment
 * that wires the functions to their resources. Logical ids are looked up, never written.
 */
import { Capture, Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE } from '../../lib/adapters/dynamodb-table';
import { DEFAULT_CONFIG, leaseFor } from '../../lib/connections/context';
import { refreshWorkersFor } from '../../lib/connections/refresh-policy';
import { ROUTES, routeKey } from '../../lib/http/routes';
import { HANDLER_NODE_OPTIONS, LAMBDA_NODE_MAJOR, type HandlerName } from '../../infra/bundling';
import { SECRET_PLACEHOLDER_CLIENT_ID } from '../../infra/constructs/provider-secrets';
import { actionsOf, functionByDescription, roleStatements, synthBroker } from './support';

/** Each handler's function, found by a phrase of its description. */
const DESCRIPTIONS: Record<HandlerName, string> = {
  authorize: 'GET /oauth/{provider}/install',
  callback: 'GET /oauth/{provider}/callback',
  'refresh-scheduler': 'refresh scheduler',
  'refresh-worker': 'refresh worker',
  'get-token': 'getToken for the app',
  admin: 'IAM-authorized admin routes',
};
const HANDLERS = Object.keys(DESCRIPTIONS) as HandlerName[];
/** What a function needs beyond the lease: answering its caller, and the start-up before the refresh. */
const FUNCTION_MARGIN_MS = 3_000;
const DEFAULT_PROVIDERS = ['hubspot', 'highlevel', 'rdstation', 'fracttal', 'marketo'];

let template: Template;
let ids: { table: string; key: string; deadLetterQueue: string; queues: Record<string, string>; api: string; signingKey: string; fn: Record<HandlerName, string> };

beforeAll(() => {
  template = synthBroker().template;
  const single = (type: string) => {
    const found = Object.keys(template.findResources(type));
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
    return found[0] as string;
  };
  ids = {
    table: single('AWS::DynamoDB::Table'),
    key: single('AWS::KMS::Key'),
    // The dead-letter queue is the one queue without a redrive policy of its own; the others are the providers' refresh queues.
    deadLetterQueue: (() => {
      const found = Object.entries(template.findResources('AWS::SQS::Queue')).filter(([, r]) => r.Properties?.RedrivePolicy === undefined);
      if (found.length !== 1) throw new Error(`expected one dead-letter queue, found ${found.length}`);
      return found[0]![0];
    })(),
    queues: Object.fromEntries(
      Object.entries(template.findResources('AWS::SQS::Queue'))
        .filter(([, r]) => r.Properties?.RedrivePolicy !== undefined)
        .map(([id]) => [DEFAULT_PROVIDERS.find((p) => id.toLowerCase().includes(`queue${p}`)) ?? id, id]),
    ),
    api: single('AWS::ApiGatewayV2::Api'),
    signingKey: (() => {
      const found = Object.entries(template.findResources('AWS::SecretsManager::Secret')).filter(([, r]) => String(r.Properties.Description).includes('signs install links'));
      if (found.length !== 1) throw new Error(`expected one signing key secret, found ${found.length}`);
      return found[0]![0];
    })(),
    fn: Object.fromEntries(HANDLERS.map((h) => [h, functionByDescription(template, DESCRIPTIONS[h]).id])) as Record<HandlerName, string>,
  };
});

const fnOf = (handler: HandlerName) => functionByDescription(template, DESCRIPTIONS[handler]).resource;
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** A function's statements other than writing its own logs and X-Ray traces (every function has those). */
function accessStatements(handler: HandlerName): Array<Record<string, unknown>> {
  return roleStatements(template, fnOf(handler)).filter((s) => {
    const actions = actionsOf(s);
    return !actions.every((a) => a.startsWith('logs:') || a.startsWith('xray:'));
  });
}

/** Statements about the signing key secret (kept apart from the provider-app secrets). */
function signingKeyStatements(handler: HandlerName): Array<Record<string, unknown>> {
  return accessStatements(handler).filter((s) => JSON.stringify(s.Resource) === JSON.stringify({ Ref: ids.signingKey }));
}

/** A function's statements on the token key, in order. */
function kmsStatements(from: Template, handler: HandlerName): Array<Record<string, unknown>> {
  const fn = functionByDescription(from, DESCRIPTIONS[handler]).resource;
  return roleStatements(from, fn).filter((s) => actionsOf(s).every((a) => a.startsWith('kms:')));
}

function statementFor(handler: HandlerName, service: string): Record<string, unknown> | undefined {
  const found = accessStatements(handler).filter((s) => actionsOf(s).every((a) => a.startsWith(`${service}:`)) && !signingKeyStatements(handler).includes(s));
  if (found.length > 1) throw new Error(`${handler}: ${found.length} ${service} statements`);
  return found[0];
}

describe('HTTP API routes', () => {
  const keys = ROUTES.map((route) => routeKey(route));

  it('serves install and callback publicly and only with GET', () => {
    for (const routeKey of ['GET /oauth/{provider}/install', 'GET /oauth/{provider}/callback']) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey, AuthorizationType: 'NONE' });
    }
  });

  it('gives every route of the routes table its authorization: public open, admin behind IAM', () => {
    for (const route of ROUTES) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey(route), AuthorizationType: route.auth === 'admin' ? 'AWS_IAM' : 'NONE' });
    }
  });

  it('has exactly the routes of the routes table (no $default catch-all)', () => {
    const deployed = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey as string);
    expect(deployed.sort()).toEqual([...keys].sort());
  });

  it('sends each route to the handler the routes table names', () => {
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    const handlerOf = (routeKey: string) => {
      const [route] = Object.values(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } }));
      const target = JSON.stringify(route?.Properties.Target);
      const integrationId = Object.keys(integrations).find((id) => target.includes(`"${id}"`));
      const uri = JSON.stringify(integrations[integrationId ?? '']?.Properties.IntegrationUri);
      return HANDLERS.find((h) => uri.includes(`"${ids.fn[h]}"`));
    };
    expect(handlerOf('GET /oauth/{provider}/install')).toBe('authorize');
    expect(handlerOf('GET /oauth/{provider}/callback')).toBe('callback');
    for (const route of ROUTES) expect(handlerOf(routeKey(route)), routeKey(route)).toBe(route.handler);
  });

  it('throttles the stage and writes access logs without query strings', () => {
    const format = new Capture();
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() }),
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: format },
    });
    const fields = JSON.parse(format.asString()) as Record<string, string>;
    expect(fields.requestId).toBe('$context.requestId');
    expect(Object.values(fields).join(' ')).not.toMatch(/querystring|rawQueryString/i);
  });
});

describe('DynamoDB table', () => {
  it('is on-demand with TTL on the shared ttl attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: TABLE.partitionKey, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
    });
  });

  it('has the sparse schedule GSIs, by due time (shard and refresh_due_at, numbers) and on a cycle (cycle string, cycle_phase number), and the KEYS_ONLY list GSI (strings)', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: TABLE.dueIndexPartitionKey, AttributeType: 'N' },
        { AttributeName: TABLE.dueIndexSortKey, AttributeType: 'N' },
        { AttributeName: TABLE.listIndexPartitionKey, AttributeType: 'S' },
        { AttributeName: TABLE.listIndexSortKey, AttributeType: 'S' },
        { AttributeName: TABLE.cycleIndexPartitionKey, AttributeType: 'S' },
        { AttributeName: TABLE.cycleIndexSortKey, AttributeType: 'N' },
      ]),
      // One index per deploy is all CloudFormation adds to an existing table: a 0.2 stack (which has the list index) gains exactly one.
      GlobalSecondaryIndexes: [
        {
          IndexName: TABLE.dueIndexName,
          KeySchema: [
            { AttributeName: TABLE.dueIndexPartitionKey, KeyType: 'HASH' },
            { AttributeName: TABLE.dueIndexSortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['provider', 'ttl'] },
        },
        {
          IndexName: TABLE.listIndexName,
          KeySchema: [
            { AttributeName: TABLE.listIndexPartitionKey, KeyType: 'HASH' },
            { AttributeName: TABLE.listIndexSortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
        {
          IndexName: TABLE.cycleIndexName,
          KeySchema: [
            { AttributeName: TABLE.cycleIndexPartitionKey, KeyType: 'HASH' },
            { AttributeName: TABLE.cycleIndexSortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['provider', 'ttl'] },
        },
      ],
    });
  });

  it('has point-in-time recovery and deletion protection, and is retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('token key', () => {
  it('is a customer-managed symmetric key with rotation, retained', () => {
    template.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ EnableKeyRotation: true }),
      DeletionPolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::KMS::Alias', { TargetKeyId: getAtt(ids.key) });
  });
});

describe('provider secrets', () => {
  it('creates one placeholder secret per provider app, named under the prefix', () => {
    for (const name of DEFAULT_PROVIDERS) {
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        Name: `oauth-token-broker/${name}`,
        GenerateSecretString: {
          SecretStringTemplate: JSON.stringify({ client_id: SECRET_PLACEHOLDER_CLIENT_ID }),
          GenerateStringKey: 'client_secret',
          ExcludePunctuation: true,
        },
      });
    }
    template.resourceCountIs('AWS::SecretsManager::Secret', DEFAULT_PROVIDERS.length + 1); // + the signing key
  });

  it('never puts a secret value in the template', () => {
    template.allResourcesProperties('AWS::SecretsManager::Secret', { SecretString: Match.absent() });
  });
});

describe('signing key', () => {
  it('is a secret Secrets Manager generates at deploy time (64 characters, none in the template)', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('signs install links'),
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
      SecretString: Match.absent(),
    });
  });

  it('only authorize, callback and admin may read it, with GetSecretValue alone, and only they know where it is', () => {
    for (const handler of HANDLERS) {
      const reads = signingKeyStatements(handler);
      const env = (fnOf(handler).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      if (['authorize', 'callback', 'admin'].includes(handler)) {
        expect(reads, handler).toEqual([{ Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: { Ref: ids.signingKey } }]);
        expect(env.BROKER_SIGNING_KEY_SECRET_ARN, handler).toEqual({ Ref: ids.signingKey });
      } else {
        expect(reads, handler).toEqual([]);
        expect(env.BROKER_SIGNING_KEY_SECRET_ARN, handler).toBeUndefined();
      }
    }
  });
});

describe('refresh: scheduler, queues, workers', () => {
  it('runs the scheduler every minute, without retries (the next run is the retry)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: getAtt(ids.fn['refresh-scheduler']), RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }) })],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: ids.fn['refresh-scheduler'] }, MaximumRetryAttempts: 0 });
  });

  it('has one refresh queue per enabled provider, encrypted, TLS-only, redriving to the one dead-letter queue after 5 receives', () => {
    expect(Object.keys(ids.queues).sort()).toEqual([...DEFAULT_PROVIDERS].sort());
    for (const queue of Object.values(ids.queues)) {
      expect(template.findResources('AWS::SQS::Queue')[queue]!.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: getAtt(ids.deadLetterQueue), maxReceiveCount: 5 },
        // Six times the worker's timeout, as AWS advises behind an event source mapping.
        VisibilityTimeout: 6 * (fnOf('refresh-worker').Properties as { Timeout: number }).Timeout,
      });
    }
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600, RedrivePolicy: Match.absent() });
    template.resourcePropertiesCountIs(
      'AWS::SQS::QueuePolicy',
      { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } },
      DEFAULT_PROVIDERS.length + 1,
    );
  });

  it("feeds each queue to the worker: batches of 10, partial batch failures, maximum concurrency = the workers its provider's budget is shared by", () => {
    const budget = { concurrency: DEFAULT_CONFIG.providerConcurrency, ratePerSecond: DEFAULT_CONFIG.providerRatePerSecond };
    for (const queue of Object.values(ids.queues)) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: getAtt(queue),
        FunctionName: { Ref: ids.fn['refresh-worker'] },
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: refreshWorkersFor(budget, 10) },
      });
    }
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', DEFAULT_PROVIDERS.length);
  });

  it('sizes a provider queue\'s workers from its budget (providerRefresh), and refuses a budget too small to share', () => {
    const hubspot = synthBroker({ providerRefresh: { hubspot: { concurrency: 200, rate_per_s: 800 } } }).template;
    const queueId = Object.entries(hubspot.findResources('AWS::SQS::Queue')).find(([id]) => id.toLowerCase().includes('queuehubspot'))![0];
    hubspot.hasResourceProperties('AWS::Lambda::EventSourceMapping', { EventSourceArn: getAtt(queueId), ScalingConfig: { MaximumConcurrency: 20 } });
    expect(() => synthBroker({ providerRefresh: { hubspot: { concurrency: 1 } } })).toThrow(/cannot be shared by 2 workers/);
  });

  it('alarms when a queue\'s oldest job waits longer than the queue delay, on the dead-letter queue, and on errors of either function', () => {
    for (const queue of Object.values(ids.queues)) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
        Statistic: 'Maximum',
        Threshold: 60,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.deadLetterQueue, 'QueueName'] } }],
      Threshold: 1,
    });
    for (const handler of ['refresh-scheduler', 'refresh-worker'] as const) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.fn[handler] } }], Threshold: 1 });
    }
    // What the refreshes themselves did is alarmed on the broker's metrics, never a log filter (monitoring.test.ts).
  });

  it('lets the scheduler send to, and read the depth of, exactly the refresh queues; names them to it in BROKER_REFRESH_QUEUES', () => {
    const sqs = accessStatements('refresh-scheduler').filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));
    const resources = sqs.flatMap((s) => [s.Resource].flat());
    expect(new Set(sqs.flatMap((s) => actionsOf(s)))).toEqual(new Set(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']));
    expect(new Set(resources.map((r) => JSON.stringify(r)))).toEqual(new Set(Object.values(ids.queues).map((q) => JSON.stringify(getAtt(q)))));
    const queuesVariable = JSON.stringify((fnOf('refresh-scheduler').Properties.Environment as { Variables: Record<string, unknown> }).Variables.BROKER_REFRESH_QUEUES);
    for (const [provider, queue] of Object.entries(ids.queues)) {
      expect(queuesVariable).toContain(`${provider}=`);
      expect(queuesVariable).toContain(`{"Ref":"${queue}"}`);
    }
  });

  it('lets the worker consume its queues and nothing else of SQS', () => {
    const actions = new Set(accessStatements('refresh-worker').filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:'))).flatMap((s) => actionsOf(s)));
    expect(actions).toEqual(new Set(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage']));
  });
});

describe('functions', () => {
  it.each(HANDLERS)('%s runs on the current Node runtime, ARM, traced, ESM with source maps, its own log group', (handler) => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp(DESCRIPTIONS[handler].replace(/[{}/]/g, '.')),
      Runtime: `nodejs${LAMBDA_NODE_MAJOR}.x`,
      Architectures: ['arm64'],
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON', LogGroup: { Ref: Match.anyValue() } }),
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: HANDLER_NODE_OPTIONS }) },
    });
  });

  it('gives every log group a retention', () => {
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('attaches no AWS managed policy to any role', () => {
    template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });
});

describe('least privilege', () => {
  const TABLE_ACTIONS: Record<HandlerName, string[]> = {
    authorize: ['dynamodb:GetItem', 'dynamodb:PutItem'],
    callback: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    'refresh-scheduler': ['dynamodb:GetItem'],
    'refresh-worker': ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    'get-token': ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    admin: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
  };

  it.each(HANDLERS)('%s: only its item actions, on the table ARN', (handler) => {
    const tableStatements = accessStatements(handler).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:') && a !== 'dynamodb:Query') && s.Condition === undefined);
    expect(tableStatements).toHaveLength(1);
    expect(actionsOf(tableStatements[0] ?? {})).toEqual(TABLE_ACTIONS[handler]);
    expect(tableStatements[0]?.Resource).toEqual(getAtt(ids.table));
  });

  it('lets only the refresh scheduler query the schedule indexes and only admin the list index, each by name', () => {
    const indexArn = (index: string) => ({ 'Fn::Join': ['', [getAtt(ids.table), `/index/${index}`]] });
    const queryOn = (...indexes: string[]) => [{ Action: 'dynamodb:Query', Effect: 'Allow', Resource: indexes.length === 1 ? indexArn(indexes[0]!) : indexes.map(indexArn) }];
    for (const handler of HANDLERS) {
      const queries = accessStatements(handler).filter((s) => actionsOf(s).includes('dynamodb:Query'));
      const expected = { 'refresh-scheduler': queryOn(TABLE.dueIndexName, TABLE.cycleIndexName), admin: queryOn(TABLE.listIndexName) }[handler as string] ?? [];
      expect(queries, handler).toEqual(expected);
    }
  });

  it('lets the refresh scheduler write one item, its marks, and no connection (dynamodb:LeadingKeys)', () => {
    const conditioned = (handler: (typeof HANDLERS)[number]) => accessStatements(handler).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')) && s.Condition !== undefined);
    expect(conditioned('refresh-scheduler')).toEqual([
      { Action: 'dynamodb:PutItem', Effect: 'Allow', Resource: getAtt(ids.table), Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [TABLE.scheduleMarksKey] } } },
    ]);
    for (const handler of HANDLERS.filter((h) => h !== 'refresh-scheduler')) expect(conditioned(handler), handler).toEqual([]);
  });

  /** Decrypt reads both formats (a provider-only data key, or one per connection), so it only ever needs the provider named. */
  const DECRYPT_CONDITION = {
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['connection_id', 'provider'] },
    Null: { 'kms:EncryptionContext:provider': 'false' },
  };

  it.each(HANDLERS.filter((h) => h !== 'authorize' && h !== 'refresh-scheduler'))('%s: cached data keys (default): GenerateDataKey only under {provider}, Decrypt only with the provider named', (handler) => {
    expect(kmsStatements(template, handler)).toEqual([
      {
        Action: 'kms:GenerateDataKey',
        Effect: 'Allow',
        Resource: getAtt(ids.key),
        Condition: {
          'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['provider'] },
          Null: { 'kms:EncryptionContext:provider': 'false' },
        },
      },
      { Action: 'kms:Decrypt', Effect: 'Allow', Resource: getAtt(ids.key), Condition: DECRYPT_CONDITION },
    ]);
    expect(fnOf(handler).Properties.Environment).toMatchObject({ Variables: { BROKER_KMS_DATA_KEYS: 'cached' } });
  });

  it('kmsDataKeys per_connection: no data key without the connection in its context (GenerateDataKey), in every function', () => {
    const perConnection = synthBroker({ kmsDataKeys: 'per_connection' }).template;
    for (const handler of HANDLERS.filter((h) => h !== 'authorize' && h !== 'refresh-scheduler')) {
      const keyId = Object.keys(perConnection.findResources('AWS::KMS::Key'))[0]!;
      expect(kmsStatements(perConnection, handler)).toEqual([
        {
          Action: 'kms:GenerateDataKey',
          Effect: 'Allow',
          Resource: getAtt(keyId),
          Condition: {
            'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['connection_id', 'provider'] },
            Null: { 'kms:EncryptionContext:connection_id': 'false', 'kms:EncryptionContext:provider': 'false' },
          },
        },
        { Action: 'kms:Decrypt', Effect: 'Allow', Resource: getAtt(keyId), Condition: DECRYPT_CONDITION },
      ]);
      expect(functionByDescription(perConnection, DESCRIPTIONS[handler]).resource.Properties.Environment).toMatchObject({
        Variables: { BROKER_KMS_DATA_KEYS: 'per_connection' },
      });
    }
  });

  it('gives authorize no key access and no event publishing', () => {
    expect(statementFor('authorize', 'kms')).toBeUndefined();
    expect(statementFor('authorize', 'events')).toBeUndefined();
  });

  it('gives the refresh scheduler no key, no secret and no event publishing: it decrypts nothing and calls no provider', () => {
    for (const service of ['kms', 'secretsmanager', 'events']) expect(statementFor('refresh-scheduler', service), service).toBeUndefined();
  });

  it('lets authorize and callback read exactly the catalogue secrets', () => {
    const secretRefs = Object.keys(template.findResources('AWS::SecretsManager::Secret'))
      .filter((id) => id !== ids.signingKey)
      .map((id) => ({ Ref: id }));
    for (const handler of ['authorize', 'callback'] as const) {
      const statement = statementFor(handler, 'secretsmanager');
      expect(statement?.Action).toBe('secretsmanager:GetSecretValue');
      expect(statement?.Resource).toEqual(expect.arrayContaining(secretRefs));
      expect(statement?.Resource).toHaveLength(secretRefs.length);
    }
  });

  it('lets the functions that renew client-credentials tokens read secrets under the prefix only', () => {
    for (const handler of ['refresh-worker', 'get-token', 'admin'] as const) {
      const statement = statementFor(handler, 'secretsmanager');
      expect(statement?.Action).toBe('secretsmanager:GetSecretValue');
      expect(JSON.stringify(statement?.Resource)).toMatch(/":secret:oauth-token-broker\/\*"/);
    }
  });

  it('lets every publisher put events on the bus with the broker source only', () => {
    for (const handler of ['callback', 'refresh-worker', 'get-token', 'admin'] as const) {
      const statement = statementFor(handler, 'events');
      expect(statement?.Action).toBe('events:PutEvents');
      expect(JSON.stringify(statement?.Resource)).toMatch(/:event-bus\/default"/);
      expect(statement?.Condition).toEqual({ StringEquals: { 'events:source': 'oauth-token-broker' } });
    }
  });

  it('has no wildcard action, and a "*" resource only for X-Ray or the secret prefix', () => {
    for (const handler of HANDLERS) {
      for (const statement of roleStatements(template, fnOf(handler))) {
        expect(actionsOf(statement).filter((a) => a.includes('*')), handler).toEqual([]);
        const resource = JSON.stringify(statement.Resource);
        if (!resource.includes('*')) continue;
        if (resource === '"*"') expect(actionsOf(statement), handler).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
        else expect(resource, handler).toMatch(/":secret:oauth-token-broker\/\*"/);
      }
    }
  });

  it('grants nothing beyond these kinds of access', () => {
    const services = (handler: HandlerName) =>
      [...new Set(accessStatements(handler).flatMap((s) => actionsOf(s).map((a) => a.split(':')[0])))].sort();
    expect(services('authorize')).toEqual(['dynamodb', 'secretsmanager']);
    expect(services('callback')).toEqual(['dynamodb', 'events', 'kms', 'secretsmanager']);
    expect(services('refresh-scheduler')).toEqual(['dynamodb', 'sqs']);
    expect(services('refresh-worker')).toEqual(['dynamodb', 'events', 'kms', 'secretsmanager', 'sqs']);
    expect(services('get-token')).toEqual(['dynamodb', 'events', 'kms', 'secretsmanager']);
    expect(services('admin')).toEqual(['dynamodb', 'events', 'kms', 'secretsmanager']);
  });
});

describe('environment wiring', () => {
  const env = (handler: HandlerName) => (fnOf(handler).Properties.Environment as { Variables: Record<string, unknown> }).Variables;

  it.each(HANDLERS)('%s reaches the table, key and secrets', (handler) => {
    expect(env(handler)).toMatchObject({
      BROKER_TABLE_NAME: { Ref: ids.table },
      BROKER_KMS_KEY_ID: getAtt(ids.key),
      BROKER_SECRET_PREFIX: 'oauth-token-broker/',
      BROKER_ENABLED_PROVIDERS: DEFAULT_PROVIDERS.join(','),
      BROKER_SHARDS: '16',
      BROKER_SCHEDULER_INTERVAL_S: '60',
      BROKER_REFRESH_QUEUE_DELAY_S: '60',
      POWERTOOLS_SERVICE_NAME: 'oauth-token-broker',
    });
  });

  it('names the event bus exactly where events may be published', () => {
    for (const handler of HANDLERS) {
      if (handler === 'authorize' || handler === 'refresh-scheduler') expect(env(handler).BROKER_EVENT_BUS_NAME).toBeUndefined();
      else expect(env(handler).BROKER_EVENT_BUS_NAME).toBe('default');
    }
  });

  it('gives the scheduler and the worker the horizon and the default budget', () => {
    for (const handler of ['refresh-scheduler', 'refresh-worker'] as const) {
      expect(env(handler)).toMatchObject({ BROKER_REFRESH_HORIZON_S: '60', BROKER_PROVIDER_CONCURRENCY: '8', BROKER_PROVIDER_RATE_PER_S: '50' });
    }
    expect(env('get-token').BROKER_REFRESH_HORIZON_S).toBeUndefined();
  });

  it('names the operator\'s per-provider refresh policies to every function (each schedules the next refresh when it writes a token)', () => {
    const withPolicy = synthBroker({ providerRefresh: { hubspot: { policy: 'on_demand' }, highlevel: { policy: 'keep_alive', keep_alive_s: 2_592_000 } } }).template;
    for (const [, fn] of Object.entries(withPolicy.findResources('AWS::Lambda::Function'))) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
      if (variables.BROKER_TABLE_NAME === undefined) continue;
      expect(JSON.parse(variables.BROKER_PROVIDER_REFRESH!)).toEqual({ hubspot: { policy: 'on_demand' }, highlevel: { policy: 'keep_alive', keep_alive_s: 2_592_000 } });
    }
  });

  it('lets every function that may refresh outlive a refresh lease it took at its start (so a live lease means a live holder)', () => {
    // The rule the numbers come from: lease = 2 × provider timeout + commit margin (context.ts `leaseFor`).
    expect(DEFAULT_CONFIG.leaseMs).toBe(leaseFor(DEFAULT_CONFIG.providerTimeoutMs));
    for (const handler of ['get-token', 'admin', 'refresh-worker'] as const) {
      const timeoutMs = (fnOf(handler).Properties as { Timeout: number }).Timeout * 1000;
      expect(timeoutMs, handler).toBeGreaterThanOrEqual(DEFAULT_CONFIG.leaseMs + FUNCTION_MARGIN_MS);
    }
  });

  it('never points a function at the API it sits behind (that would be a dependency cycle)', () => {
    for (const handler of HANDLERS) {
      expect(JSON.stringify(env(handler))).not.toContain(ids.api);
      expect(env(handler).BROKER_PUBLIC_URL).toBeUndefined();
    }
  });
});

describe('outputs', () => {
  it('prints the API URL, the get-token function name and an install + callback URL per browser-installed provider', () => {
    const outputs = template.findOutputs('*');
    const values = Object.values(outputs).map((o) => JSON.stringify(o.Value));
    template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [ids.api, 'ApiEndpoint'] } });
    template.hasOutput('GetTokenFunctionName', { Value: { Ref: ids.fn['get-token'] } });
    for (const key of ['hubspot', 'highlevel', 'rdstation', 'fracttal']) {
      expect(values.some((v) => v.includes(`/oauth/${key}/install`)), key).toBe(true);
      expect(values.some((v) => v.includes(`/oauth/${key}/callback`)), key).toBe(true);
    }
    // Marketo is client credentials: registered by an admin, never installed through a browser.
    expect(values.some((v) => v.includes('/oauth/marketo/'))).toBe(false);
  });
});
