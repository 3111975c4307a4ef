/**
 * The broker's signing key (lib/connections/signing.ts): signs install links and derives each
 * install's PKCE verifier and OIDC nonce, so neither is stored. A random value Secrets Manager
 * generates at deploy time — never in the template — read only by the install, callback and
 * admin functions (and an app's Lambda given `bindInstallLinks`).
 */
import { Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export class SigningKey extends Construct {
  readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: 'oauth-token-broker: signs install links and derives PKCE verifiers (random; read by the install, callback and admin functions)',
      // 64 characters of [A-Za-z0-9]: about 380 bits, used as HMAC-SHA256 key bytes.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Nothing outside the broker knows this key and nothing stored depends on it: rotating it only invalidates install links minted before (at most 24 h old) and installs in progress (10 min). Rotate by putting a new random value (docs/deploy.md); a rotation Lambda would add a function with write access for no gain.',
    });
  }
}
