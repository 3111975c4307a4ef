/**
 * One broker Lambda with the defaults every handler shares: the current Node runtime on
 * ARM, ESM bundle with source maps (options from infra/bundling.ts, shared with the
 * bench), active tracing, its own log group with retention, and its own role that
 * starts empty except for writing to that log group — no AWS managed policy.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HANDLER_BUNDLING, HANDLER_ENTRIES, HANDLER_NODE_OPTIONS, LAMBDA_NODE_MAJOR, type HandlerName } from '../bundling';

/** `nodejs24.x`; kept next to the esbuild target so the two cannot disagree. */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;
if (LAMBDA_RUNTIME.name !== `nodejs${LAMBDA_NODE_MAJOR}.x`) {
  throw new Error(`LAMBDA_RUNTIME ${LAMBDA_RUNTIME.name} does not match LAMBDA_NODE_MAJOR ${LAMBDA_NODE_MAJOR}`);
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `NodejsFunction` bundling built from the shared settings. */
export function nodejsBundlingOptions(): nodejs.BundlingOptions {
  return {
    target: HANDLER_BUNDLING.target,
    format: nodejs.OutputFormat.ESM,
    minify: HANDLER_BUNDLING.minify,
    sourceMap: HANDLER_BUNDLING.sourceMap,
    sourcesContent: HANDLER_BUNDLING.sourcesContent,
    mainFields: [...HANDLER_BUNDLING.mainFields],
    externalModules: [...HANDLER_BUNDLING.externalModules],
    bundleAwsSDK: true,
    banner: HANDLER_BUNDLING.banner,
  };
}

export interface BrokerFunctionProps {
  /** Which handler in functions/ this is. */
  handler: HandlerName;
  description: string;
  environment: Record<string, string>;
  timeout: Duration;
  /** @default 512 */
  memorySize?: number;
  logRetention: logs.RetentionDays;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  logRemovalPolicy?: RemovalPolicy;
  /** Files copied next to the bundle: name in the bundle -> path on this machine. */
  extraFiles?: Record<string, string>;
}

export class BrokerFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BrokerFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    // An explicit role instead of AWSLambdaBasicExecutionRole: that managed policy lets the
    // function create any log group and write to all of them; this one writes to its own.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `oauth-token-broker ${props.handler} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: `${REPO_ROOT}${HANDLER_ENTRIES[props.handler]}`,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      // aws-cdk-lib no longer adds this for `sourceMap: true`; without it stack traces point into the minified bundle.
      environment: { NODE_OPTIONS: HANDLER_NODE_OPTIONS, ...props.environment },
      bundling: { ...nodejsBundlingOptions(), commandHooks: copyFilesHook(props.extraFiles) },
    });

    // Scoped to this role; test/infra asserts the only "*" resource in any broker role is X-Ray's.
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions (Resource must be "*"); they only send trace data.',
    });
  }

  /** Records why this role's `secret:<prefix>*` read is acceptable (see `grantBrokerAccess`). */
  acknowledgeSecretPrefix(prefix: string): void {
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}*]`,
      reason:
        `Client-credentials connections registered at run time (PUT /connections/{id}) name their own Secrets Manager secret, which an operator creates under the broker's prefix "${prefix}"; those names do not exist at deploy time. The grant is GetSecretValue only, bounded to that prefix (Secrets Manager appends a random suffix to every secret ARN, so an exact ARN is impossible).`,
    });
  }
}

/** `NodejsFunction` hook copying `files` (bundle name -> local path) into the bundle directory. */
function copyFilesHook(files: Record<string, string> | undefined): nodejs.ICommandHooks | undefined {
  if (!files || Object.keys(files).length === 0) return undefined;
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_inputDir: string, outputDir: string) =>
      Object.entries(files).map(([name, source]) => `cp ${shellQuote(resolve(source))} ${shellQuote(`${outputDir}/${name}`)}`),
  };
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
