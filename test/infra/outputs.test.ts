/**
 * The stack's outputs: what a user copies after `cdk deploy` and what other stacks and IAM
 * policies reference. Each has a description; the referenced ones are exported under the
 * stack's own name, so a second broker stack in the account does not clash.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, routeKey } from '../../lib/http/routes';
import { functionByDescription, synthBroker } from './support';

let template: Template;
let ids: { api: string; table: string; key: string; getToken: string };

const single = (t: Template, type: string) => {
  const found = Object.keys(t.findResources(type));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0] as string;
};

beforeAll(() => {
  template = synthBroker().template;
  ids = {
    api: single(template, 'AWS::ApiGatewayV2::Api'),
    table: single(template, 'AWS::DynamoDB::Table'),
    key: single(template, 'AWS::KMS::Key'),
    getToken: functionByDescription(template, 'getToken for the app').id,
  };
});

describe('outputs for other stacks and IAM policies', () => {
  it('GetTokenFunctionArn: the get-token function ARN, exported', () => {
    template.hasOutput('GetTokenFunctionArn', {
      Description: Match.stringLikeRegexp('lambda:InvokeFunction'),
      Value: { 'Fn::GetAtt': [ids.getToken, 'Arn'] },
      Export: { Name: 'OAuthTokenBroker-GetTokenFunctionArn' },
    });
  });

  it('GetTokenFunctionName: the name invokeGetToken takes, exported', () => {
    template.hasOutput('GetTokenFunctionName', {
      Description: Match.stringLikeRegexp('connection_id'),
      Value: { Ref: ids.getToken },
      Export: { Name: 'OAuthTokenBroker-GetTokenFunctionName' },
    });
  });

  it('InstallLinksApiArn: execute-api ARN of POST /install-links on every stage, exported', () => {
    template.hasOutput('InstallLinksApiArn', {
      Description: Match.stringLikeRegexp('install-links'),
      Value: { 'Fn::Join': ['', Match.arrayWith([{ Ref: ids.api }, '/*/POST/install-links'])] },
      Export: { Name: 'OAuthTokenBroker-InstallLinksApiArn' },
    });
  });

  it('AdminApiArn: execute-api ARN of every method and stage of the API\'s routes, exported', () => {
    template.hasOutput('AdminApiArn', {
      Description: Match.stringLikeRegexp('execute-api:Invoke'),
      Value: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':execute-api:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':',
            { Ref: ids.api },
            '/*/*/*',
          ],
        ],
      },
      Export: { Name: 'OAuthTokenBroker-AdminApiArn' },
    });
  });

  it('TableName and TokenKeyArn: the table and the key, exported', () => {
    template.hasOutput('TableName', {
      Description: Match.stringLikeRegexp('DynamoDB'),
      Value: { Ref: ids.table },
      Export: { Name: 'OAuthTokenBroker-TableName' },
    });
    template.hasOutput('TokenKeyArn', {
      Description: Match.stringLikeRegexp('KMS'),
      Value: { 'Fn::GetAtt': [ids.key, 'Arn'] },
      Export: { Name: 'OAuthTokenBroker-TokenKeyArn' },
    });
  });

  it('ApiUrl: the API endpoint, exported', () => {
    template.hasOutput('ApiUrl', {
      Description: Match.stringLikeRegexp('URL'),
      Value: { 'Fn::GetAtt': [ids.api, 'ApiEndpoint'] },
      Export: { Name: 'OAuthTokenBroker-ApiUrl' },
    });
  });
});

describe('AdminApiArn against the routes table', () => {
  /** The resource part of the output (`/<stage>/<method>/<path>` pattern), as an IAM glob. */
  const covers = (method: string, path: string) => {
    const joined = (template.findOutputs('AdminApiArn').AdminApiArn?.Value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    const pattern = joined[joined.length - 1] as string;
    const glob = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    return glob.test(`/$default/${method}${path.replace(/\{\w+\}/g, 'x-1')}`);
  };

  it.each(ROUTES.filter((r) => r.auth === 'admin').map((r) => [routeKey(r), r] as const))('covers the admin route %s', (_key, route) => {
    expect(covers(route.method, route.path)).toBe(true);
  });

  it('covers no other IAM-authorized route: every route that is not an admin route has no authorizer in the template', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties as { RouteKey: string; AuthorizationType?: string });
    const admin = new Set<string>(ROUTES.filter((r) => r.auth === 'admin').map((r) => routeKey(r)));
    expect(routes).toHaveLength(ROUTES.length);
    for (const route of routes) expect(route.AuthorizationType ?? 'NONE', route.RouteKey).toBe(admin.has(route.RouteKey) ? 'AWS_IAM' : 'NONE');
  });
});

describe('every output', () => {
  it('has a description', () => {
    const undocumented = Object.entries(template.findOutputs('*'))
      .filter(([, output]) => typeof output.Description !== 'string' || output.Description.length < 10)
      .map(([id]) => id);
    expect(undocumented).toEqual([]);
  });

  it('is exported under its own stack name, so a second broker stack exports different names', () => {
    const exportsOf = (t: Template) =>
      Object.values(t.findOutputs('*'))
        .map((o) => (o.Export as { Name?: string } | undefined)?.Name)
        .filter((name): name is string => name !== undefined)
        .sort();
    const first = exportsOf(template);
    const second = exportsOf(synthBroker({ stackName: 'SecondBroker', secretPrefix: 'second-broker/' }).template);
    expect(first.length).toBeGreaterThanOrEqual(6);
    expect(first.every((name) => name.startsWith('OAuthTokenBroker-'))).toBe(true);
    expect(second).toEqual(first.map((name) => name.replace(/^OAuthTokenBroker-/, 'SecondBroker-')));
  });
});
