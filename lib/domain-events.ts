import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { EventSourceMapping, FilterCriteria, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EVENT_ITEMS_FILTER_PATTERN } from '../functions/core/repository/dynamo-domain-events';
import { ConnectorFunction } from './connector-function';
import { DeadLetterQueue } from './dead-letter-queue';
import { applyGrants, type GrantName, type GrantTargets } from './grants';
import { EVENTS_HANDLERS_DIR } from './lambda-defaults';

/**
 * What the publisher may do: read the table's stream and put events on the bus. No table
 * read or write and no key: the stream hands it the changed items (whose credentials are
 * sealed), and it publishes ids and statuses, never a token.
 */
export const PUBLISH_EVENTS_GRANTS: readonly GrantName[] = ['table:streamRead', 'events:put'];

/**
 * Which stream records reach the publisher: tenants' connector items (`sk` = `META` in a
 * `TENANT#` partition) and sync logs (`sk` = `LOG#<syncId>`), the only items whose changes are
 * domain events. Entities and page
 * markers, millions of changes in a large sync, never invoke the function. `Keys` is in every
 * record (a REMOVE too), so the filter holds for every kind of change. The pattern is the one
 * the local stack's stream reader applies (functions/core/repository/dynamo-domain-events.ts).
 */
export const PUBLISHED_CHANGES_FILTER = FilterCriteria.filter(EVENT_ITEMS_FILTER_PATTERN);

/** Properties of {@link DomainEvents}. */
export interface DomainEventsProps {
  /** The bus's name, e.g. `connector-dev`. */
  readonly eventBusName: string;
  /** What the publisher's grants name; the table must have a stream. */
  readonly grantTargets: Omit<GrantTargets, 'stateMachine' | 'eventBus'>;
  /** Environment variables of the function (the runtime's configuration). */
  readonly environment: Readonly<Record<string, string>>;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default true */
  readonly retainLogs?: boolean;
}

/**
 * The environment's custom EventBridge bus and what fills it: the table's stream, filtered to
 * connector and sync-log changes, drives functions/events/publishEvents.ts, which maps each
 * change to a domain event (source `connector-service`, detail types in
 * functions/core/domain-events.ts) and puts it on the bus. Deriving events from the stream
 * means a committed change is never lost between the write and the publish.
 *
 * Delivery: batches in stream order, one at a time per shard (order per connector matters),
 * from the oldest record still in the stream. The function answers with the records it could
 * not publish (partial batch response); Lambda retries from the first of them, halving the
 * batch on each error, up to 10 times or until the record is a day old (the stream keeps 24
 * hours), then sends a description of the batch to the dead-letter queue and moves on.
 */
export class DomainEvents extends Construct {
  /** The bus other services subscribe to. */
  public readonly eventBus: EventBus;
  /** The stream consumer that publishes the events. */
  public readonly function: ConnectorFunction;
  /** The mapping from the table's stream to the function. */
  public readonly streamMapping: EventSourceMapping;
  /** Where the mapping describes the batches it gave up on. */
  public readonly deadLetters: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: DomainEventsProps) {
    super(scope, id);
    const { table } = props.grantTargets;
    if (!table.tableStreamArn) throw new Error(`DomainEvents at ${this.node.path} needs a table with a stream.`);

    this.eventBus = new EventBus(this, 'Bus', {
      eventBusName: props.eventBusName,
      description: 'Domain events of the connector service: connections, re-authorizations and syncs, one per lifecycle change',
    });

    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters', {
      holds: 'descriptions of table-stream batches whose events could not be published',
      runbook:
        "Domain events were dropped. Each message names the stream shard and the sequence range given up on; publishEvents' log group says why (search its logs for the message's time). Fix the cause; the events of that range are not on the bus, so subscribers must resync those connectors (connector.list/getStatus). Then delete the messages.",
    });

    this.function = new ConnectorFunction(this, 'publishEvents', {
      entry: join(EVENTS_HANDLERS_DIR, 'publishEvents.ts'),
      environment: props.environment,
      logRetention: props.logRetention,
      retainLogs: props.retainLogs,
      // A batch of 100 changes is at most 100 PutEvents requests (one per change that means events), each a few milliseconds.
      timeout: Duration.minutes(1),
      description: "publishEvents: maps the table stream's connector and sync-log changes to domain events on the bus",
    });
    applyGrants(this.function, PUBLISH_EVENTS_GRANTS, { ...props.grantTargets, eventBus: this.eventBus });

    this.streamMapping = new EventSourceMapping(this, 'StreamMapping', {
      target: this.function.function,
      eventSourceArn: table.tableStreamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      filters: [PUBLISHED_CHANGES_FILTER],
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: 10,
      maxRecordAge: Duration.days(1),
      // One batch per shard at a time: a connector's changes are published in the order they happened.
      parallelizationFactor: 1,
      // Grants the function's role sqs:SendMessage on the queue (the mapping sends with it).
      onFailure: new SqsDlq(this.deadLetters.queue),
    });
  }
}
