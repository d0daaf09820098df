/**
 * The domain-event bus and its stream consumer, the dead-letter queues of every asynchronous
 * delivery, the alarms with their topic, and the dashboard, as the prod template has them.
 * (cfn-lint and cdk-nag run over the whole template in connector-service-stack.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBRecord } from 'aws-lambda';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS, METRICS_NAMESPACE, type MetricName } from '../../functions/core/metrics';
import { isEventItemRecord } from '../../functions/core/repository/dynamo-domain-events';
import { providerIds } from '../../functions/core/registry';
import { ALARM_THRESHOLDS, evenChunks } from '../../lib/service-alarms';
import { getAtt, logicalIdIn, ofType, only, statementsOfFunction, statementsOfRole, synthesizeStack, type Resource, type Synthesized } from './stack-synth';

const ENV = 'prod';
const outRoot = mkdtempSync(join(tmpdir(), 'connector-operations-'));

type MetricStat = { Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: unknown }[] }; Period: number; Stat: string };
type Query = { Id: string; Expression?: string; MetricStat?: MetricStat; ReturnData?: boolean };

/** The dimensions of a metric as an object. */
const dimensionsOf = (stat: MetricStat) => Object.fromEntries((stat.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value]));

/** Every metric an alarm reads: its single metric, or the metric stats of its metric-math queries. */
function metricsOf(alarm: Resource): MetricStat[] {
  const p = alarm.Properties;
  if (p.Metrics) return (p.Metrics as Query[]).flatMap((q) => (q.MetricStat ? [q.MetricStat] : []));
  return [{ Metric: { Namespace: p.Namespace, MetricName: p.MetricName, Dimensions: p.Dimensions }, Period: p.Period, Stat: p.Statistic }];
}

/** The expression an alarm compares with its threshold (the query that returns data). */
const returnedExpression = (alarm: Resource) => (alarm.Properties.Metrics as Query[]).find((q) => q.ReturnData !== false)?.Expression;

/**
 * The part of Lambda's event filtering these patterns use: exact strings and `prefix`,
 * nested objects matched key by key. Enough to check what the mapping's filter lets through.
 */
function matchesPattern(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) {
    return pattern.some((rule) =>
      typeof rule === 'string' ? value === rule : typeof value === 'string' && typeof rule?.prefix === 'string' && value.startsWith(rule.prefix),
    );
  }
  if (pattern && typeof pattern === 'object') {
    return Object.entries(pattern).every(([key, sub]) => value !== null && typeof value === 'object' && matchesPattern(sub, (value as Record<string, unknown>)[key]));
  }
  return false;
}

/** A stream record of a change to the item with these keys (what the filter sees). */
const streamRecord = (pk: string, sk: string, eventName: 'INSERT' | 'MODIFY' | 'REMOVE' = 'MODIFY') =>
  ({ eventName, dynamodb: { Keys: { pk: { S: pk }, sk: { S: sk } }, SequenceNumber: '1' } }) as DynamoDBRecord;

describe(`events and operations (${ENV})`, () => {
  let s: Synthesized;
  let alarmsByName: Map<string, Resource>;
  const idOf = (construct: IConstruct) => logicalIdIn(s.stack, construct);
  const alarm = (name: string) => {
    const found = alarmsByName.get(`connector-${ENV}-${name}`);
    expect(found, name).toBeDefined();
    return found!;
  };

  beforeAll(() => {
    s = synthesizeStack(join(outRoot, ENV), ENV);
    alarmsByName = new Map(ofType(s.resources, 'AWS::CloudWatch::Alarm').map(([, a]) => [a.Properties.AlarmName as string, a]));
  });
  afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

  describe('domain events', () => {
    it('has one custom bus per environment, connector-<env>, exported by name and ARN', () => {
      const [busId, bus] = only(s.resources, 'AWS::Events::EventBus');
      expect(bus.Properties.Name).toBe(`connector-${ENV}`);
      const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
      expect(outputs.EventBusName!.Value).toEqual({ Ref: busId });
      expect(outputs.EventBusArn!.Value).toEqual(getAtt(busId));
    });

    it('feeds publishEvents from the table stream, in order, with partial batch responses, bisection, bounded retries and a dead-letter queue', () => {
      const [tableId] = only(s.resources, 'AWS::DynamoDB::GlobalTable');
      const [, mapping] = only(s.resources, 'AWS::Lambda::EventSourceMapping');
      expect(mapping.Properties).toMatchObject({
        EventSourceArn: getAtt(tableId, 'StreamArn'),
        FunctionName: { Ref: idOf(s.stack.domainEvents.function.function) },
        StartingPosition: 'TRIM_HORIZON',
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 10,
        // The stream keeps a record 24 hours.
        MaximumRecordAgeInSeconds: 24 * 3600,
        ParallelizationFactor: 1,
        DestinationConfig: { OnFailure: { Destination: getAtt(idOf(s.stack.domainEvents.deadLetters.queue)) } },
      });
    });

    it('filters the stream to tenants\' connector items and sync logs, as the local stack does: never entities, page markers, OAuth states or other items', () => {
      const [, mapping] = only(s.resources, 'AWS::Lambda::EventSourceMapping');
      const filters = mapping.Properties.FilterCriteria.Filters as { Pattern: string }[];
      expect(filters).toHaveLength(1);
      const pattern: unknown = JSON.parse(filters[0]!.Pattern);
      expect(pattern).toEqual({ dynamodb: { Keys: { pk: { S: [{ prefix: 'TENANT#' }] }, sk: { S: ['META', { prefix: 'LOG#' }] } } } });

      const connector = 'TENANT#acme#CONNECTOR#salesforce';
      const passing = [
        streamRecord(connector, 'META'),
        streamRecord(connector, 'META', 'INSERT'),
        streamRecord(connector, 'LOG#01JABCDEF0000000000000000'),
        streamRecord(connector, 'LOG#01JABCDEF0000000000000000', 'REMOVE'),
      ];
      const dropped = [
        streamRecord(`${connector}#ENTITY#3`, 'accounts#001000000000001'),
        streamRecord(`${connector}#ENTITY#7`, 'people#003000000000001', 'REMOVE'),
        streamRecord(`${connector}#PAGES`, '01JABCDEF0000000000000000#12'),
        streamRecord(connector, 'METADATA'),
        streamRecord(connector, 'LOG'),
        // OAuth states use the connector sort key outside any tenant.
        streamRecord('OAUTH_STATE#0123abcd', 'META', 'INSERT'),
      ];
      for (const record of passing) {
        expect(matchesPattern(pattern, record), JSON.stringify(record.dynamodb?.Keys)).toBe(true);
        expect(isEventItemRecord(record)).toBe(true);
      }
      for (const record of dropped) {
        expect(matchesPattern(pattern, record), JSON.stringify(record.dynamodb?.Keys)).toBe(false);
        expect(isEventItemRecord(record)).toBe(false);
      }
    });

    it('lets publishEvents put events on the bus only, read the stream only, and nothing else (no table, no key)', () => {
      const [tableId] = only(s.resources, 'AWS::DynamoDB::GlobalTable');
      const busId = idOf(s.stack.domainEvents.eventBus);
      const fn = s.resources[idOf(s.stack.domainEvents.function.function)]!;
      const statements = statementsOfFunction(s.resources, fn).filter((st) => !st.Action.every((a) => a.startsWith('logs:') || a.startsWith('xray:')));
      expect(statements).toEqual([
        {
          Effect: 'Allow',
          Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
          Resource: getAtt(tableId, 'StreamArn'),
        },
        { Effect: 'Allow', Action: ['events:PutEvents'], Resource: getAtt(busId) },
        {
          Effect: 'Allow',
          Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          Resource: getAtt(idOf(s.stack.domainEvents.deadLetters.queue)),
        },
      ]);
      expect(fn.Properties.Environment.Variables.EVENT_BUS_NAME).toEqual({ Ref: busId });
      // No other role may put events on the bus (or anywhere).
      const putters = ofType(s.resources, 'AWS::IAM::Role').filter(([roleId]) =>
        statementsOfRole(s.resources, roleId).some((st) => st.Action.some((a) => a.startsWith('events:'))),
      );
      expect(putters.map(([roleId]) => roleId)).toEqual([fn.Properties.Role['Fn::GetAtt'][0]]);
    });
  });

  describe('dead-letter queues', () => {
    const queueIds = () => ({
      events: idOf(s.stack.domainEvents.deadLetters.queue),
      scheduler: idOf(s.stack.scheduledSync.deadLetters.queue),
      recovery: idOf(s.stack.syncRecovery.deadLetters.queue),
    });

    it('are three unnamed queues, encrypted by SQS, TLS only, keeping a message 14 days', () => {
      const queues = ofType(s.resources, 'AWS::SQS::Queue');
      expect(queues.map(([id]) => id).sort()).toEqual(Object.values(queueIds()).sort());
      for (const [id, queue] of queues) {
        expect(queue.Properties, id).toEqual({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
        const policies = ofType(s.resources, 'AWS::SQS::QueuePolicy').filter(([, p]) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: id }]));
        expect(policies, id).toHaveLength(1);
        expect(policies[0]![1].Properties.PolicyDocument.Statement).toContainEqual(
          expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        );
      }
    });

    it('catch what the scheduler could not deliver, after 2 retries within one interval', () => {
      const [, schedule] = only(s.resources, 'AWS::Scheduler::Schedule');
      expect(schedule.Properties.Target).toMatchObject({
        DeadLetterConfig: { Arn: getAtt(queueIds().scheduler) },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
      });
    });

    it("catch what the recovery rule could not deliver and what the recovery function failed on, the rule's delivery allowed by the queue's policy", () => {
      const [ruleId, rule] = only(s.resources, 'AWS::Events::Rule');
      const queue = getAtt(queueIds().recovery);
      expect(rule.Properties.Targets).toEqual([
        expect.objectContaining({ DeadLetterConfig: { Arn: queue }, RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 6 * 3600 } }),
      ]);
      const [, policy] = ofType(s.resources, 'AWS::SQS::QueuePolicy').find(([, p]) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: queueIds().recovery }]))!;
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Action: 'sqs:SendMessage',
          Principal: { Service: 'events.amazonaws.com' },
          Condition: { ArnEquals: { 'aws:SourceArn': getAtt(ruleId) } },
          Resource: queue,
        }),
      );
      const [, invokeConfig] = only(s.resources, 'AWS::Lambda::EventInvokeConfig');
      expect(invokeConfig.Properties).toMatchObject({
        FunctionName: { Ref: idOf(s.stack.syncRecovery.function.function) },
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 6 * 3600,
        DestinationConfig: { OnFailure: { Destination: queue } },
      });
    });

    it('catch the stream batches publishEvents gave up on', () => {
      const [, mapping] = only(s.resources, 'AWS::Lambda::EventSourceMapping');
      expect(mapping.Properties.DestinationConfig).toEqual({ OnFailure: { Destination: getAtt(queueIds().events) } });
    });

    it.each(['events', 'scheduler', 'recovery'] as const)('alarm when the %s queue holds any message', (name) => {
      const a = alarm(`dlq-${name}`);
      expect(a.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: getAtt(queueIds()[name], 'QueueName') }],
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    });
  });

  describe('alarm topic', () => {
    it('is connector-<env>-alarms, encrypted with a rotating key CloudWatch may use, TLS only, exported', () => {
      const [topicId, topic] = only(s.resources, 'AWS::SNS::Topic');
      const keyId = idOf(s.stack.alarms.topicKey);
      expect(topic.Properties).toMatchObject({ TopicName: `connector-${ENV}-alarms`, KmsMasterKeyId: getAtt(keyId) });
      expect(s.resources[keyId]!.Properties.EnableKeyRotation).toBe(true);
      const [, policy] = only(s.resources, 'AWS::SNS::TopicPolicy');
      const statements = policy.Properties.PolicyDocument.Statement as Record<string, unknown>[];
      expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Action: 'sns:Publish',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Condition: expect.objectContaining({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
        }),
      );
      const keyStatements = s.resources[keyId]!.Properties.KeyPolicy.Statement as { Principal?: unknown; Action: string | string[] }[];
      const forCloudWatch = keyStatements.filter((st) => JSON.stringify(st.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }));
      expect(forCloudWatch.flatMap((st) => [st.Action].flat()).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
      const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
      expect(outputs.AlarmTopicArn!.Value).toEqual({ Ref: topicId });
    });
  });

  describe('alarms', () => {
    it('are exactly these, each notifying the topic on ALARM and OK, with a runbook and a deliberate treatment of missing data', () => {
      const [topicId] = only(s.resources, 'AWS::SNS::Topic');
      expect([...alarmsByName.keys()].map((name) => name.replace(`connector-${ENV}-`, '')).sort()).toEqual(
        [
          'sync-failure-ratio',
          'sync-executions-failed',
          'sync-executions-timed-out',
          'dlq-events',
          'dlq-scheduler',
          'dlq-recovery',
          'lambda-errors-api-1',
          'lambda-errors-api-2',
          'lambda-errors-sync-steps',
          'lambda-errors-background',
          'lambda-throttles-api-1',
          'lambda-throttles-api-2',
          'lambda-throttles-sync-steps',
          'lambda-throttles-background',
          'dynamodb-throttles',
          'connectors-overdue',
          'scheduler-not-running',
          'events-publisher-lagging',
        ].sort(),
      );
      for (const [name, a] of alarmsByName) {
        expect(a.Properties.AlarmActions, name).toEqual([{ Ref: topicId }]);
        expect(a.Properties.OKActions, name).toEqual([{ Ref: topicId }]);
        expect(a.Properties.TreatMissingData, name).toMatch(/^(notBreaching|breaching)$/);
        expect(String(a.Properties.AlarmDescription).length, name).toBeGreaterThan(100);
        expect(String(a.Properties.AlarmDescription).length, name).toBeLessThanOrEqual(1024);
        // CloudWatch's limit: at most ten metrics in one alarm.
        expect(metricsOf(a).length, name).toBeLessThanOrEqual(10);
      }
    });

    it('sync-failure-ratio: failed / (completed + failed) over an hour, every provider summed, above 25%, only when syncs ended', () => {
      const a = alarm('sync-failure-ratio');
      expect(a.Properties).toMatchObject({ Threshold: ALARM_THRESHOLDS.syncFailurePercent, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', EvaluationPeriods: 1 });
      expect(ALARM_THRESHOLDS.syncFailurePercent).toBe(25);
      expect(returnedExpression(a)).toBe('IF(completed + failed > 0, 100 * failed / (completed + failed), 0)');
      const queries = a.Properties.Metrics as Query[];
      for (const [id, metricName] of [['completed', 'SyncCompleted'], ['failed', 'SyncFailed']] as const) {
        expect(queries.find((q) => q.Id === id)?.Expression).toBe(providerIds.map((p) => `FILL(${id}_${p}, 0)`).join(' + '));
        for (const provider of providerIds) {
          const stat = queries.find((q) => q.Id === `${id}_${provider}`)?.MetricStat;
          expect(stat, `${id}_${provider}`).toEqual({
            Metric: {
              Namespace: METRICS_NAMESPACE,
              MetricName: metricName,
              Dimensions: [
                { Name: 'environment', Value: ENV },
                { Name: 'provider', Value: provider },
                { Name: 'service', Value: 'connector' },
              ],
            },
            Period: 3600,
            Stat: 'Sum',
          });
        }
      }
    });

    it('sync-executions-failed and -timed-out: the state machine executions that failed (a burst) or timed out (any)', () => {
      const machine = { Name: 'StateMachineArn', Value: { Ref: idOf(s.stack.sync.stateMachine) } };
      expect(alarm('sync-executions-failed').Properties).toMatchObject({
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsFailed',
        Dimensions: [machine],
        Period: 3600,
        Statistic: 'Sum',
        Threshold: ALARM_THRESHOLDS.executionsFailedPerHour,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(alarm('sync-executions-timed-out').Properties).toMatchObject({
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsTimedOut',
        Dimensions: [machine],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    });

    it('lambda-errors-* and lambda-throttles-*: every function of the stack exactly once, in groups of at most ten', () => {
      const functionIds = ofType(s.resources, 'AWS::Lambda::Function').map(([id]) => id).sort();
      for (const [kind, metricName] of [['errors', 'Errors'], ['throttles', 'Throttles']] as const) {
        const watched = [...alarmsByName]
          .filter(([name]) => name.startsWith(`connector-${ENV}-lambda-${kind}-`))
          .flatMap(([name, a]) => {
            expect(returnedExpression(a), name).toMatch(/^FILL\(m0, 0\)( \+ FILL\(m\d, 0\))*$/);
            return metricsOf(a).map((stat) => {
              expect(stat.Metric).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: metricName });
              return (dimensionsOf(stat).FunctionName as { Ref: string }).Ref;
            });
          });
        expect(watched.sort(), kind).toEqual(functionIds);
      }
      // Per group: crashes of the API and background functions at once, the sync steps only in numbers.
      for (const [name, threshold, period] of [
        ['lambda-errors-api-1', 1, 300],
        ['lambda-errors-background', 1, 300],
        ['lambda-errors-sync-steps', ALARM_THRESHOLDS.syncStepErrorsPer15Minutes, 900],
      ] as const) {
        expect(alarm(name).Properties, name).toMatchObject({ Threshold: threshold, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
        for (const stat of metricsOf(alarm(name))) expect(stat.Period, name).toBe(period);
      }
      const background = metricsOf(alarm('lambda-errors-background')).map((stat) => (dimensionsOf(stat).FunctionName as { Ref: string }).Ref);
      expect(background.sort()).toEqual(
        [s.stack.scheduledSync.function, s.stack.syncRecovery.function, s.stack.domainEvents.function].map((fn) => idOf(fn.function)).sort(),
      );
    });

    it('splits a group into the fewest chunks of at most ten, of even sizes', () => {
      expect(evenChunks([...Array(12).keys()], 10).map((c) => c.length)).toEqual([6, 6]);
      expect(evenChunks([...Array(10).keys()], 10).map((c) => c.length)).toEqual([10]);
      expect(evenChunks([...Array(21).keys()], 10).map((c) => c.length)).toEqual([7, 7, 7]);
      expect(evenChunks([], 10)).toEqual([]);
    });

    it('dynamodb-throttles: read and write throttle events of the table and of bySchedule, sustained for 15 minutes', () => {
      const [tableId] = only(s.resources, 'AWS::DynamoDB::GlobalTable');
      const a = alarm('dynamodb-throttles');
      expect(a.Properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 3, DatapointsToAlarm: 3, TreatMissingData: 'notBreaching' });
      const read = metricsOf(a).map((stat) => ({ metric: stat.Metric.MetricName, namespace: stat.Metric.Namespace, ...dimensionsOf(stat) }));
      const table = { TableName: { Ref: tableId } };
      expect(read).toEqual(
        expect.arrayContaining([
          { metric: 'ReadThrottleEvents', namespace: 'AWS/DynamoDB', ...table },
          { metric: 'WriteThrottleEvents', namespace: 'AWS/DynamoDB', ...table },
          { metric: 'ReadThrottleEvents', namespace: 'AWS/DynamoDB', ...table, GlobalSecondaryIndexName: 'bySchedule' },
          { metric: 'WriteThrottleEvents', namespace: 'AWS/DynamoDB', ...table, GlobalSecondaryIndexName: 'bySchedule' },
        ]),
      );
      expect(read).toHaveLength(4);
    });

    it('connectors-overdue: ConnectorsOverdue (service and environment only) above 0', () => {
      expect(alarm('connectors-overdue').Properties).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        MetricName: 'ConnectorsOverdue',
        Dimensions: [
          { Name: 'environment', Value: ENV },
          { Name: 'service', Value: 'connector' },
        ],
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(alarm('connectors-overdue').Properties.AlarmDescription).toContain('A connector is due by more than two intervals');
    });

    it('scheduler-not-running: no scheduledSync invocation in three intervals, missing data breaching', () => {
      expect(alarm('scheduler-not-running').Properties).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Invocations',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: idOf(s.stack.scheduledSync.function.function) } }],
        Period: 900,
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
    });

    it("events-publisher-lagging: publishEvents' iterator age above an hour", () => {
      expect(alarm('events-publisher-lagging').Properties).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'IteratorAge',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: idOf(s.stack.domainEvents.function.function) } }],
        Statistic: 'Maximum',
        Threshold: 3_600_000,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    });
  });

  describe('dashboard', () => {
    /** The dashboard body with each reference written `ref:<id>` or `getatt:<id>.<attribute>`. */
    type Widget = { type: string; properties: { title?: string; metrics?: unknown[][]; alarms?: string[] } };
    let widgets: Widget[];
    beforeAll(() => {
      const [, dashboard] = only(s.resources, 'AWS::CloudWatch::Dashboard');
      expect(dashboard.Properties.DashboardName).toBe(`connector-${ENV}`);
      const parts = dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[];
      const body = parts
        .map((part) => {
          if (typeof part === 'string') return part;
          const ref = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
          return ref.Ref ? `ref:${ref.Ref}` : `getatt:${ref['Fn::GetAtt']![0]}.${ref['Fn::GetAtt']![1]}`;
        })
        .join('');
      widgets = (JSON.parse(body) as { widgets: Widget[] }).widgets;
    });
    const graph = (title: string) => {
      const found = widgets.find((w) => w.properties.title === title);
      expect(found, title).toBeDefined();
      return found!.properties.metrics!;
    };
    /** [namespace, name, ...dimension pairs] of each line of a graph. */
    const lines = (title: string) =>
      graph(title).map((line) => {
        const [namespace, name, ...rest] = line.filter((item) => typeof item === 'string') as string[];
        const dims: Record<string, string> = {};
        for (let i = 0; i + 1 < rest.length; i += 2) dims[rest[i]!] = rest[i + 1]!;
        return { namespace, name, dims };
      });

    it("shows every alarm's state", () => {
      const states = widgets.find((w) => w.type === 'alarm')!.properties.alarms!;
      expect(states.sort()).toEqual(ofType(s.resources, 'AWS::CloudWatch::Alarm').map(([id]) => `getatt:${id}.Arn`).sort());
    });

    it('graphs every custom metric of functions/core/metrics.ts, by provider where it has one', () => {
      const custom = widgets.flatMap((w) => (w.properties.metrics ?? []).filter((line) => line[0] === METRICS_NAMESPACE).map((line) => line[1] as string));
      const searched = JSON.stringify(graph('API errors by code'));
      const shown = new Set([...custom, ...(searched.includes('MetricName=\\"ApiErrors\\"') ? ['ApiErrors'] : [])]);
      expect([...shown].sort()).toEqual((Object.keys(METRICS) as MetricName[]).sort());
      for (const title of ['Sync outcomes: completed', 'Sync outcomes: failed', 'Sync outcomes: cancelled', 'Records written', 'Throttle waits (provider throttled a sync)', 'Reauthorization required']) {
        expect(lines(title).map((l) => l.dims.provider).sort(), title).toEqual([...providerIds].sort());
        for (const l of lines(title)) expect(l.dims, title).toMatchObject({ environment: ENV, service: 'connector' });
      }
      for (const l of lines('Scheduler')) expect(l.dims, l.name).toEqual({ environment: ENV, service: 'connector' });
      expect(lines('Scheduler').map((l) => l.name).sort()).toEqual(['ConnectorsOverdue', 'ScheduledSyncsSkipped', 'ScheduledSyncsStarted']);
      expect(searched).toContain(`{${METRICS_NAMESPACE},code,environment,service}`);
    });

    it('graphs executions, Lambda errors and throttles of every function, dead-letter queues and DynamoDB throttles', () => {
      expect(lines('Executions').map((l) => l.name).sort()).toEqual(['ExecutionsAborted', 'ExecutionsFailed', 'ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsTimedOut']);
      const functionRefs = ofType(s.resources, 'AWS::Lambda::Function').map(([id]) => `ref:${id}`).sort();
      expect(lines('Lambda errors').map((l) => l.dims.FunctionName).sort()).toEqual(functionRefs);
      expect(lines('Lambda throttles').map((l) => l.dims.FunctionName).sort()).toEqual(functionRefs);
      expect(lines('Dead-letter queues (messages visible)').map((l) => l.dims.QueueName).sort()).toEqual(
        ofType(s.resources, 'AWS::SQS::Queue').map(([id]) => `getatt:${id}.QueueName`).sort(),
      );
      expect(lines('DynamoDB throttles')).toHaveLength(4);
    });
  });
});
