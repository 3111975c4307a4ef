/**
 * One broker Lambda with the defaults every handler shares: the current Node runtime on
 * ARM, the prebuilt ESM bundle with its source map, active tracing, its own log group with
 * retention, and its own role that starts empty except for writing to that log group — no
 * AWS managed policy.
 *
 * The code is the bundle `npm run build` wrote to dist/handlers/<name>/ (esbuild, options
 * from infra/bundling.ts, shared with the bench), never a bundle made at synth. One path
 * for this repository and for an app that installed the package: the package ships those
 * bundles, so a consumer needs neither our TypeScript sources nor esbuild, and the code it
 * deploys is byte for byte the code the package's tests ran. Here, cdk.json's app and the
 * tests' global setup run the handler build first, so a synth never deploys stale code.
 */
import { copyFileSync, cpSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerImage, type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CATALOGUE_LOADER, HANDLER_BUNDLE_DIR, HANDLER_BUNDLING, HANDLER_NODE_OPTIONS, LAMBDA_NODE_MAJOR, PACKAGE_NAME, type HandlerName } from '../bundling';

/** `nodejs24.x`; kept next to the esbuild target so the two cannot disagree. */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;
if (LAMBDA_RUNTIME.name !== `nodejs${LAMBDA_NODE_MAJOR}.x`) {
  throw new Error(`LAMBDA_RUNTIME ${LAMBDA_RUNTIME.name} does not match LAMBDA_NODE_MAJOR ${LAMBDA_NODE_MAJOR}`);
}

/**
 * The root of the oauth-token-broker package this module was loaded from: the repository
 * checkout (infra/constructs/), or node_modules/oauth-token-broker when the construct runs
 * from the built package (dist/). Found by walking up to our own package.json, so the
 * same code works from the sources, the ESM build and the CommonJS build.
 */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return dir;
    if (dirname(dir) === dir) throw new Error(`${PACKAGE_NAME}: cannot find the package root above ${from}`);
  }
}

/** The directory holding `handler`'s prebuilt bundle; throws, saying how to build it, when it is missing. */
export function handlerBundleDir(handler: HandlerName, root: string = packageRoot()): string {
  const dir = join(root, HANDLER_BUNDLE_DIR, handler);
  if (!existsSync(join(dir, HANDLER_BUNDLING.outFileName))) {
    throw new Error(
      `${PACKAGE_NAME}: the Lambda bundle for "${handler}" is missing (${join(dir, HANDLER_BUNDLING.outFileName)}). ` +
        'In a checkout of the repository run `npm run build` (or `npm run build:handlers`) first; the published package ships these bundles.',
    );
  }
  return dir;
}

/**
 * The prebuilt catalogue loader and its source map (infra/bundling.ts `CATALOGUE_LOADER`), by the
 * name each gets beside a function's `index.mjs`; throws, saying how to build it, when it is missing.
 */
export function catalogueLoaderFiles(root: string = packageRoot()): Record<string, string> {
  const file = join(root, HANDLER_BUNDLE_DIR, CATALOGUE_LOADER.dir, CATALOGUE_LOADER.fileName);
  if (!existsSync(file)) {
    throw new Error(`${PACKAGE_NAME}: the catalogue loader bundle is missing (${file}). In a checkout of the repository run \`npm run build\` (or \`npm run build:handlers\`) first.`);
  }
  return { [CATALOGUE_LOADER.fileName]: file, [`${CATALOGUE_LOADER.fileName}.map`]: `${file}.map` };
}

/**
 * `NodejsFunction` bundling built from the shared settings: for an app's own Lambda that
 * runs `getToken` in-process, so it is bundled the way the broker's functions are.
 */
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
  readonly function: lambda.Function;
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

    // Same construct id as the NodejsFunction it replaced: logical ids, and so deployed functions, are unchanged.
    this.function = new lambda.Function(this, 'Function', {
      code: bundleCode(handlerBundleDir(props.handler), props.extraFiles),
      handler: 'index.handler', // the `handler` export of index.mjs (HANDLER_BUNDLING.outFileName)
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      // Without it stack traces point into the minified bundle instead of lib/ and functions/.
      environment: { NODE_OPTIONS: HANDLER_NODE_OPTIONS, ...props.environment },
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

/**
 * The prebuilt bundle directory as the function's asset. With `extraFiles` (the operator
 * catalogue), the asset is a copy of that directory plus those files, made by CDK's local
 * bundling step: it runs at synth in this process (no Docker), honours
 * `aws:cdk:bundling-stacks`, and the asset hash then covers the copied files too.
 */
function bundleCode(dir: string, files: Record<string, string> | undefined): lambda.AssetCode {
  if (!files || Object.keys(files).length === 0) return lambda.Code.fromAsset(dir);
  return lambda.Code.fromAsset(dir, {
    bundling: {
      // Required by the type, never run: `local` always succeeds (NodejsFunction does the same).
      image: DockerImage.fromRegistry('dummy'),
      local: {
        tryBundle(outputDir: string): boolean {
          cpSync(dir, outputDir, { recursive: true });
          for (const [name, source] of Object.entries(files)) copyFileSync(resolve(source), join(outputDir, name));
          return true;
        },
      },
    },
  });
}
