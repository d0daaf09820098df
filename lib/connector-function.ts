import { RemovalPolicy, Validations, type Duration } from 'aws-cdk-lib';
import { Policy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LAMBDA_DEFAULTS } from './lambda-defaults';

/** Properties of a {@link ConnectorFunction}. */
export interface ConnectorFunctionProps {
  /** Absolute path of the TypeScript entry file; it must export `handler`. */
  readonly entry: string;
  /** Environment variables of the function. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Whether the log group outlives the stack.
   * @default true
   */
  readonly retainLogs?: boolean;
  /**
   * A description shown in the Lambda console.
   * @default - none
   */
  readonly description?: string;
  /**
   * Memory of the function, in MB.
   * @default - LAMBDA_DEFAULTS.memorySize (256 MB)
   */
  readonly memorySize?: number;
  /**
   * How long one invocation may run.
   * @default - LAMBDA_DEFAULTS.timeout (longer than the provider calls of one API request)
   */
  readonly timeout?: Duration;
}

/**
 * One Lambda function of the service with the shared defaults (Node 24 on arm64, ESM bundle,
 * X-Ray), its own log group and its own role. The role starts empty: no managed policy, only
 * write access to its own log group; every other permission comes from a grant.
 */
export class ConnectorFunction extends Construct {
  /** The function. */
  public readonly function: NodejsFunction;
  /** The function's execution role. */
  public readonly role: Role;
  /** The inline policy of the role, where grants land. */
  public readonly policy: Policy;
  /** The function's log group. */
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ConnectorFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: (props.retainLogs ?? true) ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });

    // An own role instead of the default one, which would carry AWSLambdaBasicExecutionRole
    // (logs:CreateLogGroup and writes to every log group of the account).
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${this.node.path}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      ...LAMBDA_DEFAULTS,
      entry: props.entry,
      role: this.role,
      logGroup: this.logGroup,
      environment: { ...props.environment },
      description: props.description,
      memorySize: props.memorySize ?? LAMBDA_DEFAULTS.memorySize,
      timeout: props.timeout ?? LAMBDA_DEFAULTS.timeout,
    });

    // The role's default policy exists now: it holds the log grant and tracing's X-Ray statement.
    this.policy = this.role.node.findChild('DefaultPolicy') as Policy;
    Validations.of(this.policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing) support no resource-level permissions; every other statement of this policy names its resource.',
    });
  }
}
