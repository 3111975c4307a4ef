/**
 * Synthesizes the broker app the way `cdk synth` does (cdk.json context, infra/app.ts
 * buildApp), minus bundling — template tests need no handler code. The built-in
 * CloudFormation schema validation is switched off here (it costs seconds per synth);
 * the CLI test runs it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/app';
import type { OAuthTokenBrokerStack } from '../../infra/stack';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The context cdk.json gives every `cdk` command. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(`${REPO_ROOT}cdk.json`, 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

export interface SynthesizedBroker {
  app: App;
  stack: OAuthTokenBrokerStack;
  template: Template;
}

/** A new app with cdk.json's context overlaid by `context`, bundling skipped. */
export function newBrokerApp(context: Record<string, unknown> = {}): App {
  process.env.CDK_VALIDATION = 'false';
  return new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
}

export function synthBroker(context: Record<string, unknown> = {}): SynthesizedBroker {
  const app = newBrokerApp(context);
  const stack = buildApp(app);
  return { app, stack, template: Template.fromStack(stack) };
}

export type Resource = { Type?: string; Properties: Record<string, unknown> };

/** The Lambda function resource whose description names `handler`'s route or job, and its logical id. */
export function functionByDescription(template: Template, descriptionPart: string): { id: string; resource: Resource } {
  const found = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([, r]) =>
    String((r as Resource).Properties.Description ?? '').includes(descriptionPart),
  );
  if (found.length !== 1) throw new Error(`expected one function described "${descriptionPart}", found ${found.length}`);
  const [id, resource] = found[0] as [string, Resource];
  return { id, resource };
}

/** The statements of every inline policy attached to the role a function runs as. */
export function roleStatements(template: Template, fn: Resource): Array<Record<string, unknown>> {
  const roleRef = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: roleRef }]) } }));
  return policies.flatMap((p) => (p as Resource).Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).flatMap((d) => d.Statement);
}

/** Actions of a statement as a sorted array (CloudFormation allows a string or a list). */
export function actionsOf(statement: Record<string, unknown>): string[] {
  const action = statement.Action as string | string[];
  return (Array.isArray(action) ? action : [action]).slice().sort();
}
