import { join } from 'node:path';
import { ArnFormat, Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { Policy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ConnectorFunction } from './connector-function';
import { DeadLetterQueue } from './dead-letter-queue';
import { applyGrants, type GrantName, type GrantTargets } from './grants';
import { SYNC_HANDLERS_DIR } from './lambda-defaults';

/** What the scheduled-sync function may do: find due connectors, mark them syncing, start executions. */
export const SCHEDULED_SYNC_GRANTS: readonly GrantName[] = ['table:querySchedule', 'table:readWrite', 'stateMachine:start'];

/** Properties of a {@link ScheduledSync}. */
export interface ScheduledSyncProps {
  /** The state machine the function starts executions of. */
  readonly stateMachine: StateMachine;
  /** What the function's grants name. */
  readonly grantTargets: Omit<GrantTargets, 'stateMachine'>;
  /** Environment variables of the function (the runtime's configuration). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * How often the due connectors are looked for; each connector has its own interval.
   * @default Duration.minutes(5)
   */
  readonly every?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default true */
  readonly retainLogs?: boolean;
}

/**
 * EventBridge Scheduler runs functions/sync/scheduledSync.ts every few minutes; it starts
 * incremental syncs of the connected connectors whose next sync is due (the `bySchedule` index).
 *
 * Delivery: Scheduler invokes the function asynchronously and retries a failed invocation
 * (throttled, function or permission missing) twice within one interval; a run it still
 * cannot deliver lands in the dead-letter queue, whose alarm says the scheduler is not running.
 * The run itself is not worth redriving: the next one finds the same due connectors.
 */
export class ScheduledSync extends Construct {
  /** The scheduled-sync function. */
  public readonly function: ConnectorFunction;
  /** The schedule. */
  public readonly schedule: Schedule;
  /** The role EventBridge Scheduler assumes to invoke the function. */
  public readonly schedulerRole: Role;
  /** Where Scheduler puts the runs it could not deliver. */
  public readonly deadLetters: DeadLetterQueue;
  /** How often the schedule runs. */
  public readonly every: Duration;

  constructor(scope: Construct, id: string, props: ScheduledSyncProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const every = (this.every = props.every ?? Duration.minutes(5));

    this.function = new ConnectorFunction(this, 'scheduledSync', {
      entry: join(SYNC_HANDLERS_DIR, 'scheduledSync.ts'),
      environment: props.environment,
      logRetention: props.logRetention,
      retainLogs: props.retainLogs,
      // Up to 100 due connectors a run, three requests each, one after the other.
      timeout: Duration.minutes(1),
      description: 'scheduledSync: starts incremental syncs of the connectors that are due',
    });
    applyGrants(this.function, SCHEDULED_SYNC_GRANTS, { ...props.grantTargets, stateMachine: props.stateMachine });

    // An own role (LambdaInvoke would create one at the stack's root), trusted only by schedules
    // of this account's default group, as the one CDK creates.
    this.schedulerRole = new Role(this, 'SchedulerRole', {
      description: `Lets EventBridge Scheduler invoke ${this.node.path}/scheduledSync`,
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({
              service: 'scheduler',
              resource: 'schedule-group',
              resourceName: 'default',
              arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
            }),
          },
        },
      }),
    });

    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters', {
      holds: 'scheduled-sync runs EventBridge Scheduler could not deliver',
      runbook:
        "The scheduler could not invoke scheduledSync, so no scheduled sync started. The messages' attributes (ERROR_CODE, ERROR_MESSAGE) say why: usually the function's throttling, a missing permission or a missing function. Fix it and delete the messages; there is nothing to redrive, the next run finds the same due connectors.",
    });

    this.schedule = new Schedule(this, 'Schedule', {
      schedule: ScheduleExpression.rate(every),
      description: 'Starts incremental syncs of connected connectors whose next sync is due',
      target: new LambdaInvoke(this.function.function, {
        role: this.schedulerRole,
        // A run that cannot be delivered before the next one is worth nothing: the next run
        // finds the same due connectors.
        maxEventAge: Duration.seconds(Math.max(60, every.toSeconds())),
        retryAttempts: 2,
        // Adds sqs:SendMessage on the queue to the scheduler role.
        deadLetterQueue: this.deadLetters.queue,
      }),
    });

    const policy = this.schedulerRole.node.findChild('DefaultPolicy') as Policy;
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.function.function.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason:
        "LambdaInvoke grants lambda:InvokeFunction on the scheduledSync function and its versions and aliases (<arn>:*); the wildcard cannot reach another function, and the schedule invokes the unqualified ARN.",
    });
  }
}
