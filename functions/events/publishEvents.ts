import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { requiredEnv } from '../core/config';
import { EventBridgePublisher, JsonLinesPublisher } from '../core/event-publisher';
import { logger, logWithKeys } from '../core/logger';
import { emfMetrics } from '../core/metrics';
import { deriveDomainEvents, itemChangeOf } from '../core/repository/dynamo-domain-events';
import { DomainEventRelay } from '../core/services/domain-event-relay';
import { traceAwsClient, traceInvocations } from '../core/tracing';

const relay = new DomainEventRelay({
  publisher: process.env.EVENTS_FILE
    ? new JsonLinesPublisher(process.env.EVENTS_FILE)
    : new EventBridgePublisher(traceAwsClient(new EventBridgeClient({})), requiredEnv(process.env, 'EVENT_BUS_NAME', 'it names the bus events go to')),
  metrics: emfMetrics(),
  log: logWithKeys({ procedure: 'publishEvents' }),
});

/**
 * The table stream's consumer: publishes the domain events its records mean, in order, to the
 * service's EventBridge bus (EVENT_BUS_NAME), or locally to a JSON-lines file (EVENTS_FILE).
 * A record whose events were not published is the batch's failure: the stream gives it, and
 * every record after it, again.
 */
export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(traceInvocations())
  .handler(async (event) => {
    const changes = event.Records.map((record) => ({
      changeId: record.dynamodb?.SequenceNumber ?? '',
      events: deriveDomainEvents(itemChangeOf(record)),
    }));
    const failed = await relay.relay(changes);
    return { batchItemFailures: failed === null ? [] : [{ itemIdentifier: failed }] };
  });
