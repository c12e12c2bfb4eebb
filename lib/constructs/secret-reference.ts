import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** An existing Secrets Manager secret, by name or by complete ARN. */
export interface SecretReference {
  /** Friendly name of the secret. Exactly one of secretName / secretCompleteArn. */
  readonly secretName?: string;
  /** Complete ARN, including the 6-character suffix Secrets Manager appends. */
  readonly secretCompleteArn?: string;
  /**
   * Customer-managed KMS key that encrypts the secret.
   * @default - the secret uses the AWS managed key aws/secretsmanager, which needs no grant
   */
  readonly encryptionKeyArn?: string;
}

/** What the backends need from a secret: its ARN for the environment, and read access. */
export interface IReadableSecret {
  readonly secretArn: string;
  grantRead(grantee: iam.IGrantable): unknown;
}

/**
 * An existing secret, imported without reading its value.
 *
 * Importing by name yields a partial ARN (no suffix): Secrets Manager accepts it
 * as a SecretId, and `grantRead` scopes the policy to `<name>-??????`.
 */
export class ExistingSecret extends Construct implements IReadableSecret {
  public readonly secret: secretsmanager.ISecret;
  public readonly secretArn: string;
  private readonly encryptionKeyArn?: string;

  constructor(scope: Construct, id: string, ref: SecretReference) {
    super(scope, id);
    const hasName = ref.secretName !== undefined && ref.secretName !== '';
    const hasArn = ref.secretCompleteArn !== undefined && ref.secretCompleteArn !== '';
    if (hasName === hasArn) {
      throw new Error(`${id}: give exactly one of secretName or secretCompleteArn`);
    }
    if (hasName && !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(ref.secretName)) {
      throw new Error(`${id}: "${ref.secretName}" is not a valid secret name`);
    }
    if (hasArn && !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(ref.secretCompleteArn)) {
      throw new Error(`${id}: "${ref.secretCompleteArn}" is not a complete secret ARN (it must end with -<6 characters>)`);
    }
    if (ref.encryptionKeyArn !== undefined && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/.test(ref.encryptionKeyArn)) {
      throw new Error(`${id}: "${ref.encryptionKeyArn}" is not a KMS key ARN`);
    }

    this.secret = hasArn
      ? secretsmanager.Secret.fromSecretAttributes(this, 'Secret', { secretCompleteArn: ref.secretCompleteArn })
      : secretsmanager.Secret.fromSecretAttributes(this, 'Secret', {
          // Same shape as Secret.fromSecretNameV2.
          secretPartialArn: Stack.of(this).formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: ref.secretName,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        });
    this.secretArn = this.secret.secretArn;
    this.encryptionKeyArn = ref.encryptionKeyArn;
  }

  public grantRead(grantee: iam.IGrantable): void {
    this.secret.grantRead(grantee);
    if (this.encryptionKeyArn !== undefined) {
      // Granted explicitly: an imported key's policy cannot be changed, and
      // CDK's grant through an imported key adds nothing to the role. The
      // condition limits decryption to calls made by Secrets Manager.
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [this.encryptionKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
  }
}
