/**
 * cdk-nag's AwsSolutions pack over the app exactly as `cdk synth` builds it: no
 * unacknowledged finding, and every acknowledgement is one of a reviewed list, each
 * with a reason that says why the finding does not apply here.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app';
import { newBrokerApp } from './support';

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

/** Every acknowledgement recorded in the construct tree, with where it was made. */
function acknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions', () => {
  let synthError: unknown;
  let acks: Acknowledgement[];

  beforeAll(() => {
    const app = newBrokerApp();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    buildApp(app);
    try {
      app.synth();
    } catch (err) {
      synthError = err;
    }
    acks = acknowledgements(app);
  });

  it('reports no unacknowledged finding (synth would throw)', () => {
    expect(synthError instanceof Error ? synthError.message : synthError).toBeUndefined();
  });

  it('acknowledges only the reviewed rules', () => {
    expect([...new Set(acks.map((a) => a.id.replace(/\[.*\]$/, '')))].sort()).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM5',
      'AwsSolutions-SMG4',
      'AwsSolutions-SQS3',
    ]);
  });

  it('acknowledges IAM5 only for named findings: X-Ray and the secret prefix', () => {
    const iam5 = [...new Set(acks.filter((a) => a.id.startsWith('AwsSolutions-IAM5')).map((a) => a.id))].sort();
    expect(iam5).toEqual([
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:oauth-token-broker/*]',
    ]);
  });

  it('acknowledges the missing authorizer on the three OAuth browser routes only', () => {
    const routes = acks.filter((a) => a.id === 'AwsSolutions-APIG4').map((a) => a.path);
    expect(routes).toHaveLength(3);
    expect(routes.join('\n')).toMatch(/install/);
    expect(routes.join('\n')).toMatch(/callback/);
    expect(routes.join('\n')).toMatch(/connected/);
  });

  it('gives every acknowledgement a specific reason', () => {
    for (const ack of acks) expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThan(120);
  });
});

describe('cdk-nag wiring (control)', () => {
  it('fails synth on a finding nobody acknowledged', () => {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    new sqs.Queue(new Stack(app, 'Control'), 'PlainQueue');
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });
});
