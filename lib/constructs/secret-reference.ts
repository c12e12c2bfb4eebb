import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/** An existing Secrets Manager secret, by name or by complete ARN. */
export interface SecretReference {
  /** Friendly name of the secret. Exactly one of secretName / secretCompleteArn. */
  readonly secretName?: string;
  /** Complete ARN, including the 6-character suffix Secrets Manager appends. */
  readonly secretCompleteArn?: string;
  /**
   * Customer-managed KMS key that encrypts the secret; `grantRead` then also
   * grants kms:Decrypt through Secrets Manager.
   * @default - the secret uses the AWS managed key aws/secretsmanager
   */
  readonly encryptionKeyArn?: string;
}

/**
 * Imports an existing secret without reading its value. Importing by name
 * yields a partial ARN (no suffix): Secrets Manager accepts it as a SecretId and
 * `grantRead` scopes the policy to `<name>-??????`.
 */
export function importSecret(scope: Construct, id: string, ref: SecretReference): secretsmanager.ISecret {
  const hasName = ref.secretName !== undefined && ref.secretName !== '';
  const hasArn = ref.secretCompleteArn !== undefined && ref.secretCompleteArn !== '';
  if (hasName === hasArn) {
    throw new Error(`${id}: give exactly one of secretName or secretCompleteArn`);
  }
  if (hasName && !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(ref.secretName!)) {
    throw new Error(`${id}: "${ref.secretName}" is not a valid secret name`);
  }
  if (hasArn && !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(ref.secretCompleteArn!)) {
    throw new Error(`${id}: "${ref.secretCompleteArn}" is not a complete secret ARN (it must end with -<6 characters>)`);
  }
  const encryptionKey =
    ref.encryptionKeyArn === undefined ? undefined : kms.Key.fromKeyArn(scope, `${id}Key`, ref.encryptionKeyArn);
  return hasArn
    ? secretsmanager.Secret.fromSecretAttributes(scope, id, { secretCompleteArn: ref.secretCompleteArn, encryptionKey })
    : secretsmanager.Secret.fromSecretAttributes(scope, id, {
        secretPartialArn: partialArn(scope, ref.secretName!),
        encryptionKey,
      });
}

function partialArn(scope: Construct, name: string): string {
  // Same shape as Secret.fromSecretNameV2, which cannot take an encryption key.
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
