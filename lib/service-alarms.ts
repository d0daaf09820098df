import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Stats,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { SCHEDULE_INDEX } from './connector-table';
import type { DeadLetterQueue } from './dead-letter-queue';
import { filledSum, MAX_METRICS_PER_ALARM, serviceMetric, sumOverProviders } from './service-metrics';

/**
 * The service's Lambda functions in the three groups that fail differently, so each group
 * gets its own error threshold.
 */
export interface ServiceFunctions {
  /** One per API handler: an error is a crash or a timeout (tRPC answers expected errors itself). */
  readonly api: readonly IFunction[];
  /**
   * The sync state machine's steps: a provider failure is an error by design (the state machine
   * retries it, then fails the sync), so single errors are normal and the sync failure ratio is
   * the alarm on them; this group alarms only on many.
   */
  readonly syncSteps: readonly IFunction[];
  /** Scheduled sync, recovery, event publishing: nothing retries them in sight of a user. */
  readonly background: readonly IFunction[];
}

/**
 * Thresholds of the alarms, in one place. Counts are per alarm period; the ratio is a
 * percentage.
 */
export const ALARM_THRESHOLDS = {
  /** Failed syncs in percent of the syncs that ended within an hour. */
  syncFailurePercent: 25,
  /**
   * Failed executions an hour. Every failed sync fails its execution (FailSync, then the
   * SyncFailed state), tenants' revoked grants included, so a few an hour are normal.
   */
  executionsFailedPerHour: 20,
  /** Lambda errors per 5 minutes of an API or background function group. */
  lambdaErrors: 1,
  /** Lambda errors per 15 minutes of the sync steps (provider failures count, see ServiceFunctions). */
  syncStepErrorsPer15Minutes: 10,
  /** Throttled requests per 5 minutes, in each of 3 periods in a row (a short burst is retried by the SDK). */
  dynamoDbThrottledRequests: 1,
  /** Age of the newest stream record the publisher read, when it is read: an hour behind. */
  eventsIteratorAgeMs: 60 * 60 * 1000,
} as const;

/** Properties of {@link ServiceAlarms}. */
export interface ServiceAlarmsProps {
  /** The environment's name: in the topic's and alarms' names and the custom metrics' dimension. */
  readonly environmentName: string;
  readonly stateMachine: StateMachine;
  readonly table: ITableV2;
  readonly functions: ServiceFunctions;
  /** Every dead-letter queue of the stack, by a short name (`events`, `scheduler`, `recovery`). */
  readonly deadLetterQueues: Readonly<Record<string, DeadLetterQueue>>;
  /** The scheduled-sync function and how often its schedule runs (its heartbeat). */
  readonly scheduledSync: { readonly function: IFunction; readonly every: Duration };
  /** The table stream's consumer (its iterator age). */
  readonly eventPublisher: IFunction;
}

/**
 * The environment's alarms and the SNS topic they notify (`connector-<env>-alarms`; subscribe
 * an email address, a chat integration or a pager to it). Each alarm's description is its
 * runbook: what it means, where to look, what to do. Each notifies on ALARM and on OK.
 */
export class ServiceAlarms extends Construct {
  /** Where every alarm of the environment notifies. */
  public readonly topic: Topic;
  /** The topic's encryption key (CloudWatch may use it to publish). */
  public readonly topicKey: Key;
  /** Every alarm, by its short name (the alarm's name is `connector-<env>-<short name>`). */
  public readonly alarms: ReadonlyMap<string, Alarm>;

  private readonly environmentName: string;
  private readonly byName = new Map<string, Alarm>();

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    const env = (this.environmentName = props.environmentName);
    const stack = Stack.of(this);
    const dashboard = `dashboard connector-${env}`;

    // SNS encrypts with a key CloudWatch may use: the AWS-managed SNS key's policy cannot let
    // CloudWatch publish. The key protects notifications only, so it goes with the stack.
    this.topicKey = new Key(this, 'TopicKey', {
      description: `Encrypts the connector-${env}-alarms topic (CloudWatch alarm notifications).`,
      enableKeyRotation: true,
      alias: `alias/connector-${env}-alarms`,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.topic = new Topic(this, 'Topic', {
      topicName: `connector-${env}-alarms`,
      displayName: `Connector service (${env}) alarms`,
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // CloudWatch publishes as its service principal, for this account's alarms only: the topic
    // policy allows sns:Publish and the key policy kms:Decrypt and kms:GenerateDataKey*.
    this.topic.grantPublish(
      new ServicePrincipal('cloudwatch.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );

    // --- Syncs -----------------------------------------------------------------------------
    // There is no series without the provider dimension: sum the providers, each outcome first,
    // then the ratio. Two outcomes x five providers is exactly CloudWatch's ten metrics an alarm.
    const hour = Duration.hours(1);
    const completed = sumOverProviders('SyncCompleted', env, 'completed', hour);
    const failed = sumOverProviders('SyncFailed', env, 'failed', hour);
    this.alarm('sync-failure-ratio', {
      metric: new MathExpression({
        expression: 'IF(completed + failed > 0, 100 * failed / (completed + failed), 0)',
        usingMetrics: { completed, failed },
        period: hour,
        label: 'Failed syncs (% of ended syncs)',
      }),
      threshold: ALARM_THRESHOLDS.syncFailurePercent,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No sync ended in the hour: nothing to judge.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      description: `More than ${ALARM_THRESHOLDS.syncFailurePercent}% of the syncs that ended in the last hour failed. The ${dashboard} shows which providers (Sync outcomes). The connectors' lastSyncError (connector.getStatus, getSyncHistory) and the syncPage and failSync logs say why. One provider: its API is down or rejects our app (a ReauthorizationRequired rise is tenants' revoked grants: they reconnect). All providers: a deploy or a dependency (DynamoDB, KMS, Secrets Manager); roll back or fix it.`,
    });

    this.alarm('sync-executions-failed', {
      metric: props.stateMachine.metricFailed({ period: hour, statistic: Stats.SUM }),
      threshold: ALARM_THRESHOLDS.executionsFailedPerHour,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      description: `${ALARM_THRESHOLDS.executionsFailedPerHour} or more sync executions failed within an hour. Every failed sync fails its execution, so check the sync failure ratio and the ${dashboard} first. In the Step Functions console, open the state machine's failed executions: the failing state and its error (the state machine's log group has each error with its input). An execution that ended without FailSync was closed by recoverSync (RecoveryRuns).`,
    });
    this.alarm('sync-executions-timed-out', {
      metric: props.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: Stats.SUM }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      description: `A sync execution timed out. recoverSync closes its sync and sets the connector error (check RecoveryRuns and the recovery DLQ). In the Step Functions console, open the timed-out execution: its last state shows where it hung (a Task whose Lambda kept timing out, a Wait that never ended). The state machine's log group has the error with its input.`,
    });

    // --- Dead-letter queues ----------------------------------------------------------------
    for (const [name, dlq] of Object.entries(props.deadLetterQueues)) {
      this.alarm(`dlq-${name}`, {
        metric: dlq.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: Stats.MAXIMUM }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        // SQS stops publishing for an empty, idle queue: missing means empty.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        description: `A message is in the ${name} dead-letter queue (${dlq.holds}). ${dlq.runbook}`,
      });
    }

    // --- Lambda ----------------------------------------------------------------------------
    // One alarm per group of at most ten functions (CloudWatch's metrics per alarm), summed with
    // metric math, rather than two alarms per function: fewer alarms to route, and the dashboard's
    // Lambda widgets name the function. A group larger than ten is split into equal chunks.
    const lambdaGroups = [
      {
        name: 'api',
        functions: props.functions.api,
        errors: ALARM_THRESHOLDS.lambdaErrors,
        period: Duration.minutes(5),
        what: 'An API function crashed or timed out (tRPC answers expected errors without a Lambda error): callers got a 5xx.',
      },
      {
        name: 'sync-steps',
        functions: props.functions.syncSteps,
        errors: ALARM_THRESHOLDS.syncStepErrorsPer15Minutes,
        period: Duration.minutes(15),
        what: 'Provider failures count too (the state machine retries them and fails the sync): check the sync failure ratio first.',
      },
      {
        name: 'background',
        functions: props.functions.background,
        errors: ALARM_THRESHOLDS.lambdaErrors,
        period: Duration.minutes(5),
        what: 'scheduledSync, recoverSync or publishEvents failed: scheduled syncs may not start, dead executions may stay open, events may be late.',
      },
    ];
    for (const group of lambdaGroups) {
      const chunks = evenChunks(group.functions, MAX_METRICS_PER_ALARM);
      chunks.forEach((functions, index) => {
        const suffix = chunks.length === 1 ? '' : `-${index + 1}`;
        this.alarm(`lambda-errors-${group.name}${suffix}`, {
          metric: sumOf(functions.map((fn) => fn.metricErrors({ period: group.period, statistic: Stats.SUM })), `Errors (${group.name}${suffix})`, group.period),
          threshold: group.errors,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          description: `${group.errors} or more Lambda errors in ${group.period.toMinutes()} minutes across the ${group.name} functions${suffix ? ` (part ${index + 1} of ${chunks.length})` : ''}. ${group.what} The Lambda errors widget of the ${dashboard} names the function; its log group (search "ERROR" or "Task timed out") says why. A deploy just before: roll it back.`,
        });
        this.alarm(`lambda-throttles-${group.name}${suffix}`, {
          metric: sumOf(functions.map((fn) => fn.metricThrottles({ period: Duration.minutes(5), statistic: Stats.SUM })), `Throttles (${group.name}${suffix})`, Duration.minutes(5)),
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          description: `Lambda throttled ${group.name} functions: the account's concurrency in this region is used up (or a function's reserved concurrency). The Lambda throttles widget of the ${dashboard} names the function; the account's ConcurrentExecutions metric shows who uses the concurrency. Ask for a higher concurrency quota (Service Quotas, Lambda) or find the runaway caller.`,
        });
      });
    }

    // --- DynamoDB --------------------------------------------------------------------------
    const fiveMinutes = Duration.minutes(5);
    const throttleMetric = (metricName: string, index?: string) =>
      props.table.metric(metricName, {
        period: fiveMinutes,
        statistic: Stats.SUM,
        dimensionsMap: { TableName: props.table.tableName, ...(index ? { GlobalSecondaryIndexName: index } : {}) },
      });
    this.alarm('dynamodb-throttles', {
      metric: sumOf(
        [
          throttleMetric('ReadThrottleEvents'),
          throttleMetric('WriteThrottleEvents'),
          throttleMetric('ReadThrottleEvents', SCHEDULE_INDEX.indexName),
          throttleMetric('WriteThrottleEvents', SCHEDULE_INDEX.indexName),
        ],
        'Throttle events (table and bySchedule)',
        fiveMinutes,
      ),
      threshold: ALARM_THRESHOLDS.dynamoDbThrottledRequests,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      description: `DynamoDB has throttled the table or its bySchedule index for 15 minutes: syncs and API calls slow down or fail after the SDK's retries. The DynamoDB throttles widget of the ${dashboard} says read or write, table or index. On-demand tables throttle a hot partition or a jump past twice the previous peak: look at the table's CloudWatch Contributor Insights for the hot keys; a large full sync writing one connector's entities is the usual cause and passes.`,
    });

    // --- Scheduler and events --------------------------------------------------------------
    this.alarm('connectors-overdue', {
      metric: serviceMetric('ConnectorsOverdue', env, {}, { statistic: Stats.MAXIMUM, period: Duration.minutes(15) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // The scheduler records it when it runs; a scheduler that does not run is scheduler-not-running.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      description: `A connector is due by more than two intervals: the scheduler is not keeping up or is failing. The Scheduler widget of the ${dashboard} shows ScheduledSyncsStarted and ScheduledSyncsSkipped; scheduledSync's logs list the connectors it skipped and why (a sync still running, a purge, an error). Check the scheduler DLQ and the background Lambda alarms.`,
    });

    const heartbeat = Duration.minutes(Math.max(15, 3 * props.scheduledSync.every.toMinutes()));
    this.alarm('scheduler-not-running', {
      metric: props.scheduledSync.function.metricInvocations({ period: heartbeat, statistic: Stats.SUM }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      // No invocation is no datapoint: that is exactly what this alarm is for.
      treatMissingData: TreatMissingData.BREACHING,
      description: `scheduledSync has not run for ${heartbeat.toMinutes()} minutes, so no scheduled sync starts. Check the EventBridge Scheduler schedule of this stack (enabled? its target?) and the scheduler dead-letter queue; redeploy the stack if the schedule was changed by hand.`,
    });

    this.alarm('events-publisher-lagging', {
      metric: props.eventPublisher.metric('IteratorAge', { period: fiveMinutes, statistic: Stats.MAXIMUM }),
      threshold: ALARM_THRESHOLDS.eventsIteratorAgeMs,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      description: `publishEvents is more than an hour behind the table's stream: domain events are late, and records older than 24 hours leave the stream unpublished (then the events DLQ alarms). Its log group says why it keeps retrying (EventBridge refusing PutEvents, a bad record); its Errors and Throttles are on the ${dashboard}.`,
    });

    this.alarms = this.byName;
  }

  /** Creates `connector-<env>-<name>`, notifying the topic on ALARM and on OK. */
  private alarm(
    name: string,
    spec: {
      metric: IMetric;
      threshold: number;
      comparisonOperator: ComparisonOperator;
      treatMissingData: TreatMissingData;
      description: string;
      evaluationPeriods?: number;
      datapointsToAlarm?: number;
    },
  ): Alarm {
    if (this.byName.has(name)) throw new Error(`Two alarms are named ${name}.`);
    // CloudWatch's limit on AlarmDescription.
    if (spec.description.length > 1024) throw new Error(`The description of alarm ${name} is longer than 1024 characters.`);
    const alarm = new Alarm(this, alarmId(name), {
      alarmName: `connector-${this.environmentName}-${name}`,
      alarmDescription: spec.description,
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.comparisonOperator,
      evaluationPeriods: spec.evaluationPeriods ?? 1,
      datapointsToAlarm: spec.datapointsToAlarm,
      treatMissingData: spec.treatMissingData,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.byName.set(name, alarm);
    return alarm;
  }
}

/** The sum of up to ten metrics, a missing datapoint counting as 0 (an idle function has none). */
function sumOf(metrics: readonly IMetric[], label: string, period: Duration): MathExpression {
  if (metrics.length > MAX_METRICS_PER_ALARM) throw new Error(`${label}: ${metrics.length} metrics, more than an alarm may read.`);
  return filledSum(Object.fromEntries(metrics.map((metric, index) => [`m${index}`, metric])), label, period);
}

/** `items` in the fewest chunks of at most `max`, of sizes that differ by one at most. */
export function evenChunks<T>(items: readonly T[], max: number): T[][] {
  if (items.length === 0) return [];
  const count = Math.ceil(items.length / max);
  const size = Math.ceil(items.length / count);
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/** A construct id from an alarm's short name: `dlq-events` -> `DlqEvents`. */
function alarmId(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
