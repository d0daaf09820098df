import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Properties of an {@link OAuthClientSecret}. */
export interface OAuthClientSecretProps {
  /** The secret's name, e.g. `connector/dev/salesforce-client-secret`. */
  readonly secretName: string;
  /** The provider whose OAuth client this is, for the description (`Salesforce`, `Office 365`). */
  readonly provider: string;
  /**
   * Who issues (and rotates) the client secret, when it is not the provider itself
   * (`Microsoft Entra ID` for Office 365).
   * @default - the provider
   */
  readonly issuer?: string;
  /**
   * What the provider calls its OAuth client (`app registration` in Microsoft Entra ID).
   * @default 'connected app'
   */
  readonly clientApp?: string;
  /**
   * Whether the secret outlives the stack. Deleting it means asking the provider's admins
   * for the client secret again.
   * @default true
   */
  readonly retain?: boolean;
}

/**
 * Where an OAuth client's secret (a Salesforce connected app's consumer secret, a Microsoft
 * Entra app registration's client secret) lives. The
 * template holds no value: CloudFormation fills the secret with a random placeholder, and
 * operators put the real client secret there once (`aws secretsmanager put-secret-value
 * --secret-id <name> --secret-string <consumer secret>`), again whenever they rotate it at
 * the provider. Functions granted `secret:oauthClients` read it at first use and never log it.
 */
export class OAuthClientSecret extends Construct {
  /** The secret. */
  public readonly secret: Secret;
  /** The secret's name, as given (the ARN adds a random suffix). */
  public readonly secretName: string;

  constructor(scope: Construct, id: string, props: OAuthClientSecretProps) {
    super(scope, id);
    this.secretName = props.secretName;
    const issuer = props.issuer ?? props.provider;
    const clientApp = props.clientApp ?? 'connected app';
    this.secret = new Secret(this, 'Secret', {
      secretName: props.secretName,
      description: `Client secret of the ${props.provider} OAuth client (${clientApp}). Operators set the value; the stack only creates a placeholder.`,
      removalPolicy: (props.retain ?? true) ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: `The value is issued by ${issuer}, not by us: a Secrets Manager rotation function cannot mint a new client secret. It is rotated in the ${clientApp}'s settings in ${issuer} and the new value is pasted in here.`,
    });
  }
}
