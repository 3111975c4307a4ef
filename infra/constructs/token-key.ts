/**
 * The customer-managed KMS key that wraps each connection's data key (envelope
 * encryption, lib/adapters/kms-cipher.ts). Rotation on; kept when the stack goes,
 * because every stored token set is unreadable without it.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface TokenKeyProps {
  /** @default `alias/<stack name>/tokens` (one per stack, so two brokers can share an account) */
  alias?: string;
  /** @default RemovalPolicy.RETAIN */
  removalPolicy?: RemovalPolicy;
}

export class TokenKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: TokenKeyProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'oauth-token-broker: wraps the per-connection data keys that encrypt stored OAuth token sets',
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      alias: props.alias ?? `alias/${Stack.of(this).stackName}/tokens`,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });
  }
}
