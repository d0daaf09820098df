import { RemovalPolicy } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** Properties of an {@link EncryptionKey}. */
export interface EncryptionKeyProps {
  /** The alias, e.g. `alias/connector-dev`. */
  readonly aliasName: string;
  /**
   * Whether the key outlives the stack. A deleted key makes every stored credential unreadable.
   * @default true
   */
  readonly retainKey?: boolean;
}

/**
 * The customer-managed KMS key that wraps the data keys of provider tokens and API keys
 * (envelope encryption, `CONNECTOR_ENCRYPTION_KEY` at run time). Only functions granted
 * `key:*` may use it; the table is encrypted with a different key on purpose.
 */
export class EncryptionKey extends Construct {
  /** The key. */
  public readonly key: Key;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'Wraps the data keys of connector credentials (envelope encryption).',
      enableKeyRotation: true,
      alias: props.aliasName,
      removalPolicy: (props.retainKey ?? true) ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });
  }
}
