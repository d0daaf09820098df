import { Duration } from 'aws-cdk-lib';
import { join } from 'node:path';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ConnectorFunction } from './connector-function';
import { DeadLetterQueue } from './dead-letter-queue';
import { applyGrants, type GrantName, type GrantTargets } from './grants';
import { SYNC_HANDLERS_DIR } from './lambda-defaults';

/**
 * What the recovery function may do: close the sync log and set the connector's error. It
 * builds the runtime (which only needs the key's name to start) but never unseals a credential.
 */
export const SYNC_RECOVERY_GRANTS: readonly GrantName[] = ['table:readWrite'];

/**
 * The statuses that end an execution unsuccessfully. A crash, a timeout or an abort skips the
 * FailSync step; after FailSync ran, recovery's writes (conditional on the sync still running)
 * change nothing.
 */
export const RECOVERED_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

/** Properties of a {@link SyncRecovery}. */
export interface SyncRecoveryProps {
  /** The sync state machine whose dead executions are recovered. */
  readonly stateMachine: IStateMachine;
  readonly grantTargets: Omit<GrantTargets, 'stateMachine'>;
  /** Environment variables of the function (the runtime's configuration). */
  readonly environment: Readonly<Record<string, string>>;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default true */
  readonly retainLogs?: boolean;
}

/**
 * An EventBridge rule on the sync state machine's executions that FAILED, TIMED_OUT or were
 * ABORTED invokes functions/sync/recoverSync.ts, which closes the sync log and sets `error`:
 * no connector stays `syncing` forever.
 *
 * Delivery, in two legs that each end in the same dead-letter queue, so a lost recovery is an
 * alarm rather than a connector silently stuck in `syncing`: EventBridge retries an invocation
 * it could not make (throttled, permission or function missing) for up to 6 hours, 20 times;
 * once Lambda accepted the event, a function error is retried twice by Lambda, for up to 6
 * hours. Either way the queue receives the execution's status-change event (for a function
 * error, as the `requestPayload` of Lambda's failure record), which is all recovery needs to
 * run again.
 */
export class SyncRecovery extends Construct {
  /** The recovery function. */
  public readonly function: ConnectorFunction;
  /** The rule. */
  public readonly rule: Rule;
  /** Where the status changes that recovery could not handle land. */
  public readonly deadLetters: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: SyncRecoveryProps) {
    super(scope, id);
    this.function = new ConnectorFunction(this, 'recoverSync', {
      entry: join(SYNC_HANDLERS_DIR, 'recoverSync.ts'),
      environment: props.environment,
      logRetention: props.logRetention,
      retainLogs: props.retainLogs,
      description: 'recoverSync: fails the sync of an execution that failed, timed out or was aborted',
      // Like FailSync, it may settle a half-written page: a filtered read of every entity of the connector.
      memorySize: 1024,
      timeout: Duration.minutes(5),
    });
    applyGrants(this.function, SYNC_RECOVERY_GRANTS, props.grantTargets);

    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters', {
      holds: 'sync executions whose recovery could not be delivered or failed',
      runbook:
        "A connector may be stuck in 'syncing'. Each message is a Step Functions status-change event (or Lambda's failure record with it as requestPayload); recoverSync's logs say why it failed. Fix the cause, then run recovery again with the event: aws lambda invoke --function-name <recoverSync> --invocation-type Event --payload file://event.json, and delete the message.",
    });
    const maxEventAge = Duration.hours(6);
    // Lambda's side: an accepted event whose invocation keeps failing goes to the queue too.
    this.function.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge,
      onFailure: new SqsDestination(this.deadLetters.queue),
    });

    this.rule = new Rule(this, 'Rule', {
      description: 'Sync executions that ended without their own failure step: close the sync, set the connector error',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: [...RECOVERED_STATUSES], stateMachineArn: [props.stateMachine.stateMachineArn] },
      },
      targets: [
        new LambdaFunction(this.function.function, {
          // EventBridge's side: invocations it could not make. The queue's policy lets this rule send.
          deadLetterQueue: this.deadLetters.queue,
          retryAttempts: 20,
          maxEventAge,
        }),
      ],
    });
  }
}
