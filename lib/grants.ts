import { ArnFormat, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { TableGrants, type ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { ConnectorFunction } from './connector-function';
import { SCHEDULE_INDEX } from './connector-table';

/**
 * Grants on the table itself, not on its indexes: the table's own grant methods add
 * `<table>/index/*` once the table has an index, and only the scheduled sync queries one.
 */
const tableOnly = (table: ITableV2) => TableGrants.fromTable(table, undefined, false);

/** The OAuth client secret of each OAuth provider the environment is configured for. */
export interface OAuthClientSecrets {
  readonly salesforce: ISecret;
  /** Absent when the environment does not offer Office 365. */
  readonly o365?: ISecret;
}

/**
 * The variable that names each OAuth client secret to the runtime (functions/core/runtime.ts
 * reads `<NAME>_ARN` through secretFromEnv).
 */
const OAUTH_CLIENT_SECRET_VARIABLES = {
  salesforce: 'SALESFORCE_CLIENT_SECRET_ARN',
  o365: 'O365_CLIENT_SECRET_ARN',
} as const satisfies Record<keyof OAuthClientSecrets, string>;

/** The resources a function's grants can name. */
export interface GrantTargets {
  readonly table: ITableV2;
  readonly key: IKey;
  /** The OAuth client secrets the stack keeps, one per OAuth provider it is configured for. */
  readonly oauthClientSecrets: OAuthClientSecrets;
  /**
   * The sync state machine. Absent for the state machine's own steps, which are created before
   * it and never start executions themselves (continuing as new is a Task of the machine).
   * The construct, not an imported reference: stopping executions names them by the machine's
   * name and acknowledges cdk-nag's finding by the machine's logical id.
   */
  readonly stateMachine?: StateMachine;
  /**
   * The environment's domain-event bus. Absent where it does not exist yet; a function asking
   * for `events:put` there fails the synth.
   */
  readonly eventBus?: IEventBus;
}

/**
 * What reading a table's stream takes (the event source mapping polls it with the function's
 * role): AWS's own policy for a Lambda function that processes DynamoDB stream records names
 * these four actions on the stream.
 */
const STREAM_READ_ACTIONS = ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'];

/**
 * Every grant a function may ask for (routes.json for the API, the sync constructs for the
 * rest), and the only access each one gives. A grant that lets a function reach a resource
 * also sets the variable that names the resource, so a function never holds the name of
 * something it may not use. A new kind of access is a new line here, never an ad-hoc policy
 * statement elsewhere.
 */
export const GRANTS = {
  'table:read': (fn: ConnectorFunction, { table }: GrantTargets) => {
    tableOnly(table).readData(fn.function);
  },
  'table:readWrite': (fn: ConnectorFunction, { table }: GrantTargets) => {
    tableOnly(table).readWriteData(fn.function);
  },
  'table:querySchedule': (fn: ConnectorFunction, { table }: GrantTargets) => {
    // Query on the sparse bySchedule index only: how the scheduled sync finds due connectors.
    Grant.addToPrincipal({
      grantee: fn.function,
      actions: ['dynamodb:Query'],
      resourceArns: [`${table.tableArn}/index/${SCHEDULE_INDEX.indexName}`],
    });
  },
  'table:streamRead': (fn: ConnectorFunction, { table }: GrantTargets) => {
    // The stream only, never the table: a stream consumer sees the changes it is given and can
    // neither read other items nor write. Written out rather than grantStreamRead, which adds
    // dynamodb:ListStreams on every stream of the account ("*").
    if (!table.tableStreamArn) {
      throw new Error(`${fn.node.path} asks for "table:streamRead", but the table has no stream.`);
    }
    Grant.addToPrincipal({ grantee: fn.function, actions: STREAM_READ_ACTIONS, resourceArns: [table.tableStreamArn] });
  },
  'events:put': (fn: ConnectorFunction, { eventBus }: GrantTargets) => {
    if (!eventBus) {
      throw new Error(`${fn.node.path} asks for "events:put", but no event bus exists where it is created.`);
    }
    // events:PutEvents on the environment's bus only.
    eventBus.grantPutEventsTo(fn.function);
    fn.function.addEnvironment('EVENT_BUS_NAME', eventBus.eventBusName);
  },
  'key:decrypt': (fn: ConnectorFunction, { key }: GrantTargets) => {
    key.grantDecrypt(fn.function);
  },
  'key:encryptDecrypt': (fn: ConnectorFunction, { key }: GrantTargets) => {
    // kms:Decrypt, kms:Encrypt, kms:ReEncrypt*, kms:GenerateDataKey*: the last covers the
    // GenerateDataKey that envelope encryption needs, so nothing is added by hand.
    key.grantEncryptDecrypt(fn.function);
    Validations.of(fn.policy).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'grantEncryptDecrypt grants kms:GenerateDataKey*, which covers the GenerateDataKey that envelope encryption of provider credentials needs; the statement names only the connector key ARN.',
    });
    Validations.of(fn.policy).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      reason:
        'kms:ReEncrypt* (ReEncryptFrom/ReEncryptTo) comes with grantEncryptDecrypt; the service never calls it, and the statement names only the connector key ARN, so it cannot touch another key.',
    });
  },
  'stateMachine:start': (fn: ConnectorFunction, { stateMachine }: GrantTargets) => {
    if (!stateMachine) {
      throw new Error(`${fn.node.path} asks for "stateMachine:start", but no sync state machine exists where it is created.`);
    }
    // states:StartExecution on the sync state machine's ARN only (not on its executions).
    stateMachine.grantStartExecution(fn.function);
    fn.function.addEnvironment('STATE_MACHINE_ARN', stateMachine.stateMachineArn);
  },
  'stateMachine:stop': (fn: ConnectorFunction, { stateMachine }: GrantTargets) => {
    if (!stateMachine) {
      throw new Error(`${fn.node.path} asks for "stateMachine:stop", but no sync state machine exists where it is created.`);
    }
    // states:StopExecution on the executions of the sync state machine only (cancelling a sync
    // stops its execution and its continuation). An execution is named by its sync id at run time
    // (functions/core/sync-executions.ts), so the resource is `execution:<machine name>:*`, written
    // from the machine's name rather than with grantExecution, whose Fn::Select/Fn::Split of the
    // machine's ARN says the same less legibly.
    const stack = Stack.of(fn);
    Grant.addToPrincipal({
      grantee: fn.function,
      actions: ['states:StopExecution'],
      resourceArns: [
        stack.formatArn({
          service: 'states',
          resource: 'execution',
          resourceName: `${stateMachine.stateMachineName}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    });
    fn.function.addEnvironment('STATE_MACHINE_ARN', stateMachine.stateMachineArn);
    // The finding exactly as cdk-nag reports it: it flattens Ref/GetAtt to <Id>/<Id.Attribute>.
    const machineId = Stack.of(stateMachine).getLogicalId(stateMachine.node.defaultChild as CfnElement);
    Validations.of(fn.policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${machineId}.Name>:*]`,
      reason:
        'Execution ARNs carry the sync id, known only at run time; the wildcard is limited to the executions of the one sync state machine, and the only action is StopExecution.',
    });
  },
  'secret:oauthClients': (fn: ConnectorFunction, { oauthClientSecrets }: GrantTargets) => {
    // secretsmanager:GetSecretValue and DescribeSecret on each configured OAuth client secret
    // (the OAuth callback and the token refresh of a sync serve every provider); the runtime reads
    // one on first use (functions/core/secrets.ts), so no value ever sits in an environment variable.
    for (const provider of Object.keys(OAUTH_CLIENT_SECRET_VARIABLES) as (keyof OAuthClientSecrets)[]) {
      const secret = oauthClientSecrets[provider];
      if (!secret) continue;
      secret.grantRead(fn.function);
      fn.function.addEnvironment(OAUTH_CLIENT_SECRET_VARIABLES[provider], secret.secretArn);
    }
  },
} as const satisfies Record<string, (fn: ConnectorFunction, targets: GrantTargets) => void>;

/** The name of a grant a function may ask for. */
export type GrantName = keyof typeof GRANTS;

/** Whether `name` is a grant this stack knows how to give. */
export function isGrantName(name: unknown): name is GrantName {
  return typeof name === 'string' && Object.hasOwn(GRANTS, name);
}

/** Gives `fn` exactly the permissions of `grants`, nothing more. */
export function applyGrants(fn: ConnectorFunction, grants: Iterable<GrantName>, targets: GrantTargets): void {
  for (const grant of grants) GRANTS[grant](fn, targets);
}
