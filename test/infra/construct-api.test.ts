/**
 * What an app gets from `oauth-token-broker/cdk` beyond the broker itself: the prebuilt
 * Lambda bundles as the functions' code (with the operator catalogue copied in), the admin
 * grant, and subscriptions to connection events.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { afterAll, describe, expect, it } from 'vitest';
import { EVENT_SOURCE, OAuthTokenBroker } from '../../infra/broker';
import { CATALOGUE_LOADER, HANDLER_BUNDLE_DIR, HANDLER_BUNDLING, HANDLER_ENTRIES, type HandlerName } from '../../infra/bundling';
import { handlerBundleDir, packageRoot } from '../../infra/constructs/broker-function';
import { functionByDescription, REPO_ROOT, type Resource } from './support';

// CloudFormation schema validation costs seconds per synth; test/infra/synth-cli.test.ts runs it.
process.env.CDK_VALIDATION = 'false';
const scratch = mkdtempSync(join(tmpdir(), 'broker-construct-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A stack with only the broker in it; bundling (here: the catalogue copy) skipped unless asked for. */
function brokerStack(props: ConstructorParameters<typeof OAuthTokenBroker>[2] = {}, options: { bundle?: boolean; outdir?: string } = {}) {
  const app = new App({
    outdir: options.outdir,
    // Asset metadata names each function's staged directory (the CLI turns it on; tests must ask).
    context: { 'aws:cdk:enable-asset-metadata': true, ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
  const stack = new Stack(app, 'Consumer');
  const broker = new OAuthTokenBroker(stack, 'Broker', { providers: ['hubspot'], ...props });
  return { app, stack, broker };
}

describe('function code: the prebuilt bundles', () => {
  it('finds its package root from wherever the construct is loaded (here: the repository)', () => {
    expect(packageRoot()).toBe(REPO_ROOT.replace(/\/$/, ''));
    expect(packageRoot(join(REPO_ROOT, 'dist', 'cdk.mjs'))).toBe(REPO_ROOT.replace(/\/$/, ''));
  });

  it('deploys dist/handlers/<name> as each function\'s asset, handler index.handler', () => {
    const outdir = join(scratch, 'assembly');
    const { app, stack } = brokerStack({}, { outdir });
    const template = Template.fromStack(stack);
    app.synth();
    const fn = functionByDescription(template, 'getToken for the app').resource as Resource & { Metadata: Record<string, string> };
    expect(fn.Properties.Handler).toBe('index.handler');
    const staged = join(outdir, fn.Metadata['aws:asset:path'] as string);
    expect(readFileSync(join(staged, HANDLER_BUNDLING.outFileName))).toEqual(
      readFileSync(join(handlerBundleDir('get-token'), HANDLER_BUNDLING.outFileName)),
    );
  });

  it('copies the operator catalogue into every bundle, where BROKER_PROVIDERS_FILE points', async () => {
    const file = join(scratch, 'my-providers.yaml');
    writeFileSync(file, ['acme-crm:', '  extends: hubspot', '  display_name: Acme CRM', ''].join('\n'));
    const outdir = join(scratch, 'with-catalogue');
    const { app, stack } = brokerStack({ providers: ['hubspot', 'acme-crm'], providersFile: file }, { bundle: true, outdir });
    const template = Template.fromStack(stack);
    app.synth();
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Array<Resource & { Metadata: Record<string, string> }>;
    const handlers = functions.filter((f) => String(f.Properties.Description).startsWith('oauth-token-broker:'));
    expect(handlers).toHaveLength(Object.keys(HANDLER_ENTRIES).length);
    for (const fn of handlers) {
      const staged = join(outdir, fn.Metadata['aws:asset:path'] as string);
      expect(readFileSync(join(staged, 'providers.yaml'), 'utf8')).toContain('acme-crm:');
      expect(existsSync(join(staged, HANDLER_BUNDLING.outFileName))).toBe(true);
      // The catalogue loader (zod, yaml) comes along only with an operator catalogue, as its own file.
      expect(existsSync(join(staged, CATALOGUE_LOADER.fileName))).toBe(true);
      expect((fn.Properties.Environment as { Variables: Record<string, string> }).Variables.BROKER_PROVIDERS_FILE).toBe('/var/task/providers.yaml');
    }
    const staged = join(outdir, handlers[0]!.Metadata['aws:asset:path'] as string);
    const loader = (await import(pathToFileURL(join(staged, CATALOGUE_LOADER.fileName)).href)) as typeof import('../../lib/providers/catalogue');
    const catalogue = loader.loadCatalogue({ env: { BROKER_PROVIDERS_FILE: join(staged, 'providers.yaml') } });
    expect(catalogue.get('acme-crm')?.display_name).toBe('Acme CRM');
  });

  it('handler bundles carry neither zod nor yaml: the catalogue loader is imported from its own file, only with BROKER_PROVIDERS_FILE', () => {
    for (const handler of Object.keys(HANDLER_ENTRIES) as HandlerName[]) {
      const code = readFileSync(join(handlerBundleDir(handler), HANDLER_BUNDLING.outFileName), 'utf8');
      expect(code, handler).toContain(`import("./${CATALOGUE_LOADER.fileName}")`);
      expect(code, handler).not.toContain('ZodError');
      expect(code, handler).not.toContain('YAMLParseError');
    }
    const outdir = join(scratch, 'no-catalogue');
    const { app, stack } = brokerStack({}, { bundle: true, outdir });
    const template = Template.fromStack(stack);
    app.synth();
    const fn = functionByDescription(template, 'getToken for the app').resource as Resource & { Metadata: Record<string, string> };
    expect(existsSync(join(outdir, fn.Metadata['aws:asset:path'] as string, CATALOGUE_LOADER.fileName))).toBe(false);
  });

  it('the authorize bundle has no KMS or EventBridge client (it never seals a token or publishes an event)', () => {
    const authorize = readFileSync(join(handlerBundleDir('authorize'), HANDLER_BUNDLING.outFileName), 'utf8');
    expect(authorize).not.toContain('TrentService');
    expect(authorize).not.toContain('AWSEvents');
    const callback = readFileSync(join(handlerBundleDir('callback'), HANDLER_BUNDLING.outFileName), 'utf8');
    expect(callback).toContain('TrentService');
    expect(callback).toContain('AWSEvents');
  });

  it('says how to build the bundles when they are missing', () => {
    const emptyRoot = mkdtempSync(join(scratch, 'no-build-'));
    expect(() => handlerBundleDir('refresh-worker' satisfies HandlerName, emptyRoot)).toThrow(
      new RegExp(`${HANDLER_BUNDLE_DIR}/refresh-worker/index\\.mjs.*npm run build`),
    );
  });
});

describe('bindInstallLinks', () => {
  it('lets an app\'s Lambda mint signed links in-process: GetSecretValue on the signing key only, and the variables createInstallLink reads', () => {
    const { stack, broker } = brokerStack({ returnToAllowlist: ['https://app.example.com'] });
    const fn = new lambda.Function(stack, 'AppFn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>{}') });
    broker.bindInstallLinks(fn);
    const template = Template.fromStack(stack);
    const signingKey = Object.entries(template.findResources('AWS::SecretsManager::Secret')).find(([, r]) => String(r.Properties.Description).includes('signs install links'))![0];
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^AppFnServiceRole') }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: signingKey } }] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Environment: {
        Variables: {
          BROKER_SIGNING_KEY_SECRET_ARN: { Ref: signingKey },
          BROKER_PUBLIC_URL: Match.anyValue(),
          BROKER_ENABLED_PROVIDERS: 'hubspot',
          BROKER_RETURN_TO_ALLOWLIST: 'https://app.example.com',
        },
      },
    });
  });
});

describe('grantAdmin', () => {
  it('allows execute-api:Invoke on this API (whose only IAM-authorized routes are the admin ones), and nothing else', () => {
    const { stack, broker } = brokerStack();
    const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    broker.grantAdmin(operator);
    const template = Template.fromStack(stack);
    const apiId = Object.keys(template.findResources('AWS::ApiGatewayV2::Api'))[0] as string;
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Operator') }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'execute-api:Invoke',
            Resource: {
              'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':execute-api:'), { Ref: apiId }, '/*/*/*'])],
            },
          },
        ],
      },
    });
  });
});

describe('onConnectionEvent', () => {
  it('delivers the chosen broker event types from the broker bus to the target', () => {
    const { stack, broker } = brokerStack();
    const queue = new sqs.Queue(stack, 'Reauth');
    broker.onConnectionEvent('ReauthRequired', new targets.SqsQueue(queue), { types: ['connection.reauth_required', 'connection.revoked'] });
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
      EventBusName: 'default',
      EventPattern: { source: [EVENT_SOURCE], 'detail-type': ['connection.reauth_required', 'connection.revoked'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Reauth'), 'Arn'] } })],
    });
  });

  it('without types, matches every event the broker publishes (by source only)', () => {
    const { stack, broker } = brokerStack();
    broker.onConnectionEvent('All', new targets.SqsQueue(new sqs.Queue(stack, 'All')));
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', { EventPattern: { source: [EVENT_SOURCE], 'detail-type': Match.absent() } });
  });

  it('refuses an empty type list (it would silently match everything)', () => {
    const { stack, broker } = brokerStack();
    expect(() => broker.onConnectionEvent('None', new targets.SqsQueue(new sqs.Queue(stack, 'None')), { types: [] })).toThrow(/types/);
  });
});
