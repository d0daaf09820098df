import { Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  Stats,
  TextWidget,
  type IAlarm,
  type IMetric,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../functions/core/metrics';
import { SCHEDULE_INDEX } from './connector-table';
import type { DeadLetterQueue } from './dead-letter-queue';
import { SERVICE_NAME, perProvider, serviceMetric } from './service-metrics';

/** Properties of an {@link OperationsDashboard}. */
export interface OperationsDashboardProps {
  readonly environmentName: string;
  readonly stateMachine: StateMachine;
  readonly table: ITableV2;
  /** Every Lambda function of the stack, by a label the graphs show (`api/list`, `sync/syncPage`). */
  readonly functions: ReadonlyMap<string, IFunction>;
  /** Every dead-letter queue, by short name. */
  readonly deadLetterQueues: Readonly<Record<string, DeadLetterQueue>>;
  /** The alarms whose state the dashboard's first row shows. */
  readonly alarms: readonly IAlarm[];
  /** The table stream's consumer. */
  readonly eventPublisher: IFunction;
}

const WIDTH = 24;
const PERIOD = Duration.minutes(5);

/**
 * The environment's CloudWatch dashboard `connector-<env>`, top to bottom: the alarms; syncs by
 * provider (outcomes, records, duration, provider throttling, tokens); the scheduler,
 * recovery and API errors; the state machine's executions; Lambda errors and throttles per
 * function; dead-letter queues, DynamoDB throttling and the event publisher's lag. The alarms'
 * descriptions point at these widgets by title.
 */
export class OperationsDashboard extends Construct {
  /** The dashboard. */
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const env = props.environmentName;
    const graph = (title: string, left: IMetric[], options: { width?: number; leftLabel?: string; right?: IMetric[] } = {}) =>
      new GraphWidget({
        title,
        left,
        right: options.right,
        width: options.width ?? WIDTH / 3,
        height: 6,
        period: PERIOD,
        leftYAxis: { min: 0, label: options.leftLabel, showUnits: false },
      });
    const functions = [...props.functions];
    const perFunction = (metric: (fn: IFunction) => Metric) => functions.map(([label, fn]) => withLabel(metric(fn), label));

    const rows: IWidget[][] = [
      [
        new AlarmStatusWidget({ title: `Alarms (connector-${env})`, alarms: [...props.alarms], width: WIDTH, height: 4 }),
      ],
      [heading('Syncs by provider', 'Custom metrics of namespace `ConnectorService`, summed per 5 minutes.')],
      [
        graph('Sync outcomes: completed', perProvider('SyncCompleted', env)),
        graph('Sync outcomes: failed', perProvider('SyncFailed', env)),
        graph('Sync outcomes: cancelled', perProvider('SyncCancelled', env)),
      ],
      [
        graph('Records written', perProvider('RecordsWritten', env)),
        graph('Sync duration (average, seconds)', perProvider('SyncDuration', env, { statistic: Stats.AVERAGE }), { leftLabel: 'seconds' }),
        graph('Sync duration (maximum, seconds)', perProvider('SyncDuration', env, { statistic: Stats.MAXIMUM }), { leftLabel: 'seconds' }),
      ],
      [
        graph('Throttle waits (provider throttled a sync)', perProvider('ThrottleWaits', env)),
        graph('Token refreshes', perProvider('TokenRefreshes', env), { right: perProvider('TokenRefreshFailures', env).map((m) => withLabel(m, `failed ${m.label}`)) }),
        graph('Reauthorization required', perProvider('ReauthorizationRequired', env)),
      ],
      [
        graph('API budget waits (an org at its API budget)', perProvider('ApiBudgetWaits', env)),
        graph('Bulk job polls', perProvider('BulkJobPolls', env)),
      ],
      [heading('Scheduler, recovery, API', 'Metrics without a provider: one series per environment.')],
      [
        graph('Scheduler', [
          serviceMetric('ScheduledSyncsStarted', env, {}, { label: 'started' }),
          serviceMetric('ScheduledSyncsSkipped', env, {}, { label: 'skipped' }),
          serviceMetric('ConnectorsOverdue', env, {}, { label: 'overdue (max)', statistic: Stats.MAXIMUM }),
        ]),
        graph('Recovery runs', [serviceMetric('RecoveryRuns', env, {}, { label: 'recovery runs' })]),
        // Every code that occurs, without a list to keep in step with the API: a search (dashboards allow it, alarms do not).
        graph('API errors by code', [
          new MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},code,environment,service} MetricName="ApiErrors" environment="${env}" service="${SERVICE_NAME}"', 'Sum', ${PERIOD.toSeconds()})`,
            usingMetrics: {},
            period: PERIOD,
            label: '',
          }),
        ]),
      ],
      [heading('Sync state machine', `Executions of ${props.stateMachine.node.path}.`)],
      [
        graph(
          'Executions',
          [
            withLabel(props.stateMachine.metricStarted({ period: PERIOD, statistic: Stats.SUM }), 'started'),
            withLabel(props.stateMachine.metricSucceeded({ period: PERIOD, statistic: Stats.SUM }), 'succeeded'),
            withLabel(props.stateMachine.metricFailed({ period: PERIOD, statistic: Stats.SUM }), 'failed'),
            withLabel(props.stateMachine.metricTimedOut({ period: PERIOD, statistic: Stats.SUM }), 'timed out'),
            withLabel(props.stateMachine.metricAborted({ period: PERIOD, statistic: Stats.SUM }), 'aborted (cancelled)'),
          ],
          { width: WIDTH },
        ),
      ],
      [heading('Lambda', 'One line per function.')],
      [
        graph('Lambda errors', perFunction((fn) => fn.metricErrors({ period: PERIOD, statistic: Stats.SUM })), { width: WIDTH / 2 }),
        graph('Lambda throttles', perFunction((fn) => fn.metricThrottles({ period: PERIOD, statistic: Stats.SUM })), { width: WIDTH / 2 }),
      ],
      [heading('Queues, table, events')],
      [
        graph(
          'Dead-letter queues (messages visible)',
          Object.entries(props.deadLetterQueues).map(([name, dlq]) =>
            withLabel(dlq.queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: Stats.MAXIMUM }), name),
          ),
        ),
        graph('DynamoDB throttles', [
          throttleMetric(props.table, 'ReadThrottleEvents', 'table reads'),
          throttleMetric(props.table, 'WriteThrottleEvents', 'table writes'),
          throttleMetric(props.table, 'ReadThrottleEvents', `${SCHEDULE_INDEX.indexName} reads`, SCHEDULE_INDEX.indexName),
          throttleMetric(props.table, 'WriteThrottleEvents', `${SCHEDULE_INDEX.indexName} writes`, SCHEDULE_INDEX.indexName),
        ]),
        graph('Event publisher lag (iterator age, ms)', [withLabel(props.eventPublisher.metric('IteratorAge', { period: PERIOD, statistic: Stats.MAXIMUM }), 'max iterator age')], {
          leftLabel: 'ms',
        }),
      ],
    ];

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `connector-${env}`,
      defaultInterval: Duration.hours(6),
      widgets: rows,
    });
  }
}

/** A full-width title line between groups of widgets. */
function heading(title: string, note?: string): TextWidget {
  return new TextWidget({ markdown: `### ${title}${note ? `\n${note}` : ''}`, width: WIDTH, height: note ? 2 : 1 });
}

function withLabel(metric: Metric, label: string): Metric {
  return metric.with({ label });
}

function throttleMetric(table: ITableV2, metricName: string, label: string, index?: string): IMetric {
  return table.metric(metricName, {
    period: PERIOD,
    statistic: Stats.SUM,
    label,
    dimensionsMap: { TableName: table.tableName, ...(index ? { GlobalSecondaryIndexName: index } : {}) },
  });
}
