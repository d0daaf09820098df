import { join } from 'node:path';
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { PolicyStatement, type Policy } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ConnectorFunction } from './connector-function';
import { applyGrants, type GrantName, type GrantTargets } from './grants';
import { SYNC_HANDLERS_DIR } from './lambda-defaults';
import { loadSyncDefinition, type SyncTask } from './sync-tasks';

/** How one step handler runs and what it may touch. */
export interface SyncStepSettings {
  readonly grants: readonly GrantName[];
  /** @default - LAMBDA_DEFAULTS.memorySize */
  readonly memorySize?: number;
  /** @default - LAMBDA_DEFAULTS.timeout */
  readonly timeout?: Duration;
}

/**
 * The step handlers of statemachines/sync.tasks.json, by handler name. Each gets only what its
 * code reaches: a page read unseals (and, after a refresh, re-seals) the provider's tokens and
 * may need that provider's OAuth client secret to refresh them (`secret:oauthClients` reads
 * every configured one); sweeping, purging, finishing and failing touch the table only. A page
 * is a provider round trip plus up to 2,000 writes (a REST page), or 50,000 from a Salesforce
 * Bulk results page (SALESFORCE_BULK_PAGE_SIZE) with the next one read ahead meanwhile, hence
 * 5 minutes (the Task's TimeoutSeconds in sync.asl.json) and 1 GB (more CPU for CSV, JSON and
 * marshalling). No step may
 * start or stop executions: they are created before the state machine, so a grant naming it
 * fails the synth.
 */
export const SYNC_STEPS: Readonly<Record<string, SyncStepSettings>> = {
  syncPage: {
    grants: ['table:readWrite', 'key:encryptDecrypt', 'secret:oauthClients'],
    memorySize: 1024,
    timeout: Duration.minutes(5),
  },
  sweepPage: { grants: ['table:readWrite'], memorySize: 1024, timeout: Duration.minutes(5) },
  purgePage: { grants: ['table:readWrite'], memorySize: 1024, timeout: Duration.minutes(5) },
  // A full sync's finish counts every live entity of the connector to reconcile its counters.
  finishSync: { grants: ['table:readWrite'], memorySize: 1024, timeout: Duration.minutes(5) },
  // Failing may settle a half-written page: a filtered read of every entity of the connector.
  failSync: { grants: ['table:readWrite'], memorySize: 1024, timeout: Duration.minutes(5) },
};

/** Properties of a {@link SyncStateMachine}. */
export interface SyncStateMachineProps {
  /**
   * The state machine's name. Fixed, so the machine's own ARN can be written into its role
   * (continuing as a new execution) without a reference from the role to the machine.
   * @default - `<stack name>-sync`
   */
  readonly stateMachineName?: string;
  /** What the steps' grants name (no state machine: the steps never start executions). */
  readonly grantTargets: Omit<GrantTargets, 'stateMachine'>;
  /** Environment variables of every step function (the runtime's configuration). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Retention of the execution log and the steps' logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Whether log groups outlive the stack.
   * @default true
   */
  readonly retainLogs?: boolean;
  /**
   * Settings of each step handler.
   * @default SYNC_STEPS
   */
  readonly steps?: Readonly<Record<string, SyncStepSettings>>;
}

/**
 * The sync state machine: statemachines/sync.asl.json as written, with each `${...}` Task
 * resource substituted by CloudFormation with the ARN of its step function
 * (statemachines/sync.tasks.json). Standard type, errors logged with their data, X-Ray traced. Its role
 * may invoke exactly its step functions and start executions of itself only.
 */
export class SyncStateMachine extends Construct {
  /** The state machine. */
  public readonly stateMachine: StateMachine;
  /** One function per step handler, by handler name. */
  public readonly functions: ReadonlyMap<string, ConnectorFunction>;
  /** The Tasks of the definition, with the handler each placeholder stands for. */
  public readonly tasks: readonly SyncTask[];
  /** Where the state machine logs its execution events. */
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: SyncStateMachineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const retainLogs = props.retainLogs ?? true;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const steps = props.steps ?? SYNC_STEPS;
    const stateMachineName = props.stateMachineName ?? `${stack.stackName}-sync`;
    const { definition, tasks } = loadSyncDefinition();
    this.tasks = tasks;

    const functions = new Map<string, ConnectorFunction>();
    for (const handler of new Set(tasks.map((task) => task.handler))) {
      const settings = steps[handler];
      if (!settings) {
        throw new Error(`statemachines/sync.tasks.json names the step handler "${handler}", which has no settings (grants, memory, timeout) in lib/sync-state-machine.ts.`);
      }
      const fn = new ConnectorFunction(this, handler, {
        entry: join(SYNC_HANDLERS_DIR, `${handler}.ts`),
        environment: props.environment,
        logRetention,
        retainLogs,
        memorySize: settings.memorySize,
        timeout: settings.timeout,
        description: `${handler}: a step of the ${stateMachineName} state machine`,
      });
      applyGrants(fn, settings.grants, props.grantTargets);
      functions.set(handler, fn);
    }
    this.functions = functions;

    // The vended-logs prefix keeps CloudWatch Logs' resource policy (which log delivery edits)
    // under its size limit however many state machines log in the account.
    this.logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention: logRetention,
      removalPolicy: retainLogs ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      // The file inline (fromString) rather than DefinitionBody.fromFile, which uploads it as an
      // S3 asset: inline, the template shows the definition that deploys and `cdk diff` shows
      // its changes. CloudFormation substitutes the ARNs (DefinitionSubstitutions).
      definitionBody: DefinitionBody.fromString(definition),
      definitionSubstitutions: Object.fromEntries(
        tasks.map(({ placeholder, handler }) => [placeholder, functions.get(handler)!.function.functionArn]),
      ),
      // Errors only, with their data: a failed Task, a failed execution, a timeout each log the
      // state's input and the error, which is what debugging a failure needs (the tenant,
      // connector, sync id, cursor and counts; the payloads never carry a token: credentials
      // stay sealed in the table, and steps read them there). Every other event stays in the
      // execution history (90 days); logging all of them with their data would write every
      // page's state of every sync into the log group.
      logs: { destination: this.logGroup, level: LogLevel.ERROR, includeExecutionData: true },
      tracingEnabled: true,
    });
    Validations.of(this.stateMachine.node.defaultChild!).acknowledge({
      id: 'AwsSolutions-SF1',
      reason:
        'The log group gets the ERROR events with their execution data (enough to debug a failure); every event of every execution, successes included, is in the execution history for 90 days, so logging ALL would only copy each page of each sync into CloudWatch Logs.',
    });

    for (const fn of functions.values()) fn.function.grantInvoke(this.stateMachine);
    // Continue-as-new (`arn:aws:states:::states:startExecution`, request-response) needs only
    // states:StartExecution on the machine itself. Its ARN is written from the fixed name: a
    // reference to the machine would make its role's policy depend on the machine, which
    // already depends on the policy.
    this.stateMachine.addToRolePolicy(
      new PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [
          stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        ],
      }),
    );

    const policy = this.stateMachine.role.node.findChild('DefaultPolicy') as Policy;
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the actions CDK adds for logging and tracing: the CloudWatch Logs delivery actions (logs:CreateLogDelivery, PutResourcePolicy, ...) and xray:PutTraceSegments/PutTelemetryRecords/GetSampling* support no resource-level permissions. Lambda and Step Functions statements name their resources.',
    });
    for (const [handler, fn] of functions) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.function.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason: `grantInvoke adds the ${handler} function's versions and aliases (<arn>:*) next to its ARN; the wildcard cannot reach another function, and the definition invokes the unqualified ARN.`,
      });
    }
  }
}
