/**
 * Deploy-time configuration: every context key changes the template the way docs/deploy.md
 * says, bad values fail the synth with a message naming the key, and `grantGetToken` /
 * `bindGetToken` give an app's own Lambda exactly one of the two ways to get tokens.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EVENT_SOURCE } from '../../lib/adapters/eventbridge-sink';
import { buildApp } from '../../infra/app';
import { EVENT_SOURCE, GetTokenAccess, OAuthTokenBroker } from '../../infra/broker';
import { CONTEXT_KEYS, configFromContext, type ContextKey } from '../../infra/config';
import { actionsOf, functionByDescription, newBrokerApp, roleStatements, type Resource } from './support';

const CONTEXT = {
  stackName: 'AcmeBroker',
  providers: 'hubspot, rdstation',
  scheduleRateMinutes: 10,
  refreshHorizonSeconds: 900,
  returnToAllowlist: 'https://app.example.com,https://admin.example.com:8443',
  customDomainName: 'auth.example.com',
  customDomainCertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c',
  secretPrefix: 'acme/',
  secrets: 'reference',
  eventBusName: 'acme-events',
  alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:acme-alarms',
  shards: 8,
  providerConcurrency: 3,
  logRetentionDays: 90,
  brandName: 'Acme CRM',
  brandLogoUrl: 'https://cdn.acme.example/logo.svg',
  brandColor: '#1F6FEB',
  supportUrl: 'mailto:help@acme.example',
};

let template: Template;
let invoker: Resource;
let inProcess: Resource;

beforeAll(() => {
  const app = newBrokerApp(CONTEXT);
  const stack = buildApp(app);
  const code = lambda.Code.fromInline('export const handler = async () => ({});');
  const appFunction = (id: string) =>
    new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code, description: id });
  stack.broker.bindGetToken(appFunction('AppInvoker'));
  stack.broker.bindGetToken(appFunction('AppInProcess'), GetTokenAccess.IN_PROCESS);
  template = Template.fromStack(stack);
  invoker = functionByDescription(template, 'AppInvoker').resource;
  inProcess = functionByDescription(template, 'AppInProcess').resource;
});

const env = (descriptionPart: string) =>
  (functionByDescription(template, descriptionPart).resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

describe('context', () => {
  it('enables only the listed providers', () => {
    expect(env('refresh worker').BROKER_ENABLED_PROVIDERS).toBe('hubspot,rdstation');
    const outputs = JSON.stringify(template.findOutputs('*'));
    expect(outputs).toContain('https://auth.example.com/oauth/hubspot/install');
    expect(outputs).toContain('https://auth.example.com/oauth/rdstation/callback');
    expect(outputs).not.toContain('/oauth/highlevel/');
  });

  it('sets the schedule rate, sweep interval and horizon', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(10 minutes)' });
    expect(env('refresh scheduler')).toMatchObject({ BROKER_SCHEDULER_INTERVAL_S: '600', BROKER_REFRESH_HORIZON_S: '900' });
    expect(env('refresh worker')).toMatchObject({ BROKER_SCHEDULER_INTERVAL_S: '600', BROKER_REFRESH_HORIZON_S: '900' });
    expect(env('getToken for the app').BROKER_SCHEDULER_INTERVAL_S).toBe('600');
  });

  it('passes the return_to allowlist and the public URL to the browser-facing functions', () => {
    for (const fn of ['GET /oauth/{provider}/install', 'GET /oauth/{provider}/callback']) {
      expect(env(fn)).toMatchObject({
        BROKER_RETURN_TO_ALLOWLIST: 'https://app.example.com,https://admin.example.com:8443',
        BROKER_PUBLIC_URL: 'https://auth.example.com',
      });
    }
    expect(env('getToken for the app').BROKER_PUBLIC_URL).toBeUndefined();
  });

  it('gives the branding to the functions that draw pages for people, and only to them', () => {
    const branding = { BROKER_BRAND_NAME: 'Acme CRM', BROKER_BRAND_LOGO_URL: 'https://cdn.acme.example/logo.svg', BROKER_BRAND_COLOR: '#1f6feb', BROKER_SUPPORT_URL: 'mailto:help@acme.example' };
    for (const fn of ['GET /oauth/{provider}/install', 'GET /oauth/{provider}/callback']) expect(env(fn)).toMatchObject(branding);
    for (const fn of ['refresh scheduler', 'refresh worker', 'getToken for the app', 'IAM-authorized admin']) expect(env(fn).BROKER_BRAND_NAME, fn).toBeUndefined();
  });

  it('maps the custom domain onto the stage with TLS 1.2', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'auth.example.com',
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: CONTEXT.customDomainCertificateArn, SecurityPolicy: 'TLS_1_2' })],
    });
    template.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 1);
    template.hasOutput('ApiUrl', { Value: 'https://auth.example.com' });
    template.hasOutput('CustomDomainTarget', { Value: { 'Fn::GetAtt': [Match.anyValue(), 'RegionalDomainName'] } });
  });

  it('references existing secrets under the configured prefix instead of creating them', () => {
    // The only secret the stack creates is the broker's own signing key.
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', { Description: Match.stringLikeRegexp('signs install links') });
    expect(env('getToken for the app').BROKER_SECRET_PREFIX).toBe('acme/');
    const authorizeSecrets = roleStatements(template, functionByDescription(template, 'GET /oauth/{provider}/install').resource).find((s) =>
      actionsOf(s).includes('secretsmanager:GetSecretValue'),
    );
    expect(JSON.stringify(authorizeSecrets?.Resource)).toContain(':secret:acme/hubspot-??????');
    expect(JSON.stringify(authorizeSecrets?.Resource)).toContain(':secret:acme/rdstation-??????');
  });

  it('keeps refresh and get-token on the catalogue secrets when no client-credentials provider is enabled', () => {
    for (const fn of ['refresh worker', 'getToken for the app']) {
      const statement = roleStatements(template, functionByDescription(template, fn).resource).find((s) =>
        actionsOf(s).includes('secretsmanager:GetSecretValue'),
      );
      expect(JSON.stringify(statement?.Resource), fn).not.toContain('*');
    }
  });

  it('publishes to the configured bus', () => {
    expect(env('refresh worker').BROKER_EVENT_BUS_NAME).toBe('acme-events');
    const statement = roleStatements(template, functionByDescription(template, 'refresh worker').resource).find((s) =>
      actionsOf(s).includes('events:PutEvents'),
    );
    expect(JSON.stringify(statement?.Resource)).toContain(':event-bus/acme-events');
  });

  it('sends alarm and OK notifications to the topic', () => {
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [CONTEXT.alarmTopicArn],
      OKActions: [CONTEXT.alarmTopicArn],
    });
  });

  it('sets shards, provider concurrency and log retention', () => {
    expect(env('refresh worker')).toMatchObject({ BROKER_SHARDS: '8', BROKER_PROVIDER_CONCURRENCY: '3' });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('publishes with the source the EventBridge adapter uses', () => {
    expect(EVENT_SOURCE).toBe(DEFAULT_EVENT_SOURCE);
  });

  // infra/config.ts says docs/deploy.md lists every key; a key missing there is one a deployer cannot find.
  it('is documented: docs/deploy.md\'s context table names every key the app reads', () => {
    const deployDoc = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
    const tableKeys = new Set([...deployDoc.matchAll(/^\| (.+?) \|/gm)].flatMap(([, cell]) => [...cell!.matchAll(/`(\w+)`/g)].map(([, key]) => key)));
    expect(CONTEXT_KEYS.filter((key) => !tableKeys.has(key))).toEqual([]);
  });
});

describe('grantGetToken', () => {
  it('INVOKE: invoke permission on the get-token function only, and its name in the environment', () => {
    const getToken = Object.entries(template.findResources('AWS::Lambda::Function')).find(([, r]) =>
      String(r.Properties.Description).includes('getToken for the app'),
    )?.[0] as string;
    const statements = roleStatements(template, invoker);
    const services = new Set(statements.flatMap((s) => actionsOf(s)).map((a) => a.split(':')[0]));
    expect([...services]).toEqual(['lambda']);
    expect(statements).toEqual([
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Resource: expect.arrayContaining([{ 'Fn::GetAtt': [getToken, 'Arn'] }]),
      }),
    ]);
    expect((invoker.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toEqual({
      BROKER_GET_TOKEN_FUNCTION_NAME: { Ref: getToken },
    });
  });

  it('IN_PROCESS: the get-token function’s own table, key, secret and event access, and its environment', () => {
    const statements = roleStatements(template, inProcess);
    const actions = statements.flatMap((s) => actionsOf(s)).sort();
    expect(actions).toEqual([
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'secretsmanager:GetSecretValue',
    ]);
    const kms = statements.find((s) => actionsOf(s).includes('kms:Decrypt'));
    expect(kms?.Condition).toMatchObject({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['connection_id', 'provider'] } });
    const generate = statements.find((s) => actionsOf(s).includes('kms:GenerateDataKey'));
    expect(generate?.Condition).toMatchObject({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['provider'] } });
    const variables = (inProcess.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toMatchObject({
      BROKER_TABLE_NAME: { Ref: expect.any(String) },
      BROKER_KMS_KEY_ID: { 'Fn::GetAtt': [expect.any(String), 'Arn'] },
      BROKER_SECRET_PREFIX: 'acme/',
      BROKER_EVENT_BUS_NAME: 'acme-events',
      BROKER_ENABLED_PROVIDERS: 'hubspot,rdstation',
    });
  });
});

describe('validation', () => {
  const config = (context: Partial<Record<ContextKey, unknown>>) => () => configFromContext((key) => context[key]);

  it('rejects a custom domain without a certificate', () => {
    expect(config({ customDomainName: 'auth.example.com' })).toThrow(/customDomainName and customDomainCertificateArn/);
  });

  it('rejects a schedule rate that is not a positive integer of minutes', () => {
    expect(config({ scheduleRateMinutes: '0.5' })).toThrow(/scheduleRateMinutes must be a positive integer/);
  });

  it('rejects an unknown secrets mode and an unsupported log retention', () => {
    expect(config({ secrets: 'import' })).toThrow(/secrets must be "create" or "reference"/);
    expect(config({ logRetentionDays: 31 })).toThrow(/logRetentionDays must be one of/);
  });

  it('reads providerRefresh in the format of BROKER_PROVIDER_REFRESH, as an object or its JSON, and rejects what that parser rejects', () => {
    const read = (value: unknown) => configFromContext((key) => (key === 'providerRefresh' ? value : undefined)).broker.providerRefresh;
    const object = { highlevel: { policy: 'keep_alive', keep_alive_s: 2_592_000 }, xero: { concurrency: 4, rate_per_s: 5 } };
    for (const value of [object, JSON.stringify(object)]) {
      const props = read(value)!;
      expect(props.highlevel).toMatchObject({ policy: 'keep_alive' });
      expect(props.highlevel!.keepAlive!.toSeconds()).toBe(2_592_000);
      expect(props.xero).toMatchObject({ concurrency: 4, ratePerSecond: 5 });
    }
    expect(config({ providerRefresh: { highlevel: { policy: 'keep_alive' } } })).toThrow(/providerRefresh highlevel: policy keep_alive needs keep_alive_s/);
    expect(config({ providerRefresh: { hubspot: { keepAliveDays: 30 } } })).toThrow(/providerRefresh hubspot: unknown field\(s\) keepAliveDays/);
  });

  it('accepts lists from the command line or as JSON arrays', () => {
    expect(configFromContext((key) => ({ providers: ['hubspot', ' marketo '] })[key as 'providers']).broker.providers).toEqual([
      'hubspot',
      'marketo',
    ]);
  });

  it('rejects unknown providers, naming the catalogue keys', () => {
    expect(() => new OAuthTokenBroker(new Stack(), 'Broker', { providers: ['hubspot', 'intercom'] })).toThrow(
      /Unknown provider\(s\) intercom; the catalogue has: .*hubspot/,
    );
  });

  it('rejects branding the pages could not use, naming the prop', () => {
    expect(() => new OAuthTokenBroker(new Stack(), 'Broker', { branding: { color: 'blue' } })).toThrow(/^branding\.color must be a hex colour/);
    expect(() => new OAuthTokenBroker(new Stack(), 'Broker', { branding: { logoUrl: 'http://cdn.example/logo.png' } })).toThrow(/^branding\.logoUrl must be an absolute https URL/);
  });

  it('rejects return_to entries that are not bare https origins', () => {
    for (const entry of ['https://app.example.com/after-install', 'http://app.example.com', 'app.example.com']) {
      expect(() => new OAuthTokenBroker(new Stack(), 'Broker', { returnToAllowlist: [entry] }), entry).toThrow(/returnToAllowlist/);
    }
  });
});

describe('operator catalogue file', () => {
  it('adds its providers at synth and points the functions at the copy inside their bundle', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'broker-providers-')), 'my-providers.yaml');
    writeFileSync(
      file,
      ['acme-crm:', '  extends: hubspot', '  display_name: Acme CRM', '  authorization_url: https://auth.acme.example/oauth/authorize', ''].join('\n'),
    );
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'WithProvidersFile');
    const broker = new OAuthTokenBroker(stack, 'Broker', { providers: ['hubspot', 'acme-crm'], providersFile: file });
    expect(broker.installableProviders.map((p) => p.key)).toEqual(['hubspot', 'acme-crm']);
    const variables = (functionByDescription(Template.fromStack(stack), 'refresh worker').resource.Properties.Environment as {
      Variables: Record<string, unknown>;
    }).Variables;
    expect(variables).toMatchObject({ BROKER_PROVIDERS_FILE: '/var/task/providers.yaml', BROKER_ENABLED_PROVIDERS: 'hubspot,acme-crm' });
  });
});
