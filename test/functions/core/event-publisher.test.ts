import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DETAIL_TYPES, envelope, type DomainEvent } from '../../../functions/core/domain-events';
import { EventBridgePublisher, type EventPublisher } from '../../../functions/core/event-publisher';
import { recordedMetrics } from '../../../functions/core/metrics';
import { DomainEventRelay } from '../../../functions/core/services/domain-event-relay';
import { startAwsJsonService, type AwsJsonService } from '../../support/fake-aws-json-service';
import { recordingLog } from '../../support/log';

function connected(n: number): DomainEvent {
  return envelope(DETAIL_TYPES.connected, {
    eventId: `conn_${n}:transition:1`,
    tenantId: 't',
    connectorId: `conn_${n}`,
    providerId: 'customerio',
    syncId: null,
    occurredAt: '2026-12-01T00:00:00.000Z',
    reconnected: false,
  });
}

/**
 * EventBridgePublisher over real HTTP against a stand-in for the EventBridge API on
 * 127.0.0.1 (no emulator exists): the AWS JSON protocol's PutEvents, partial failures included.
 */
describe('EventBridgePublisher', () => {
  type PutEventsBody = { Entries: { EventBusName: string; Source: string; DetailType: string; Detail: string; Time: number }[] };
  let service: AwsJsonService;
  let requests: { target: string; body: PutEventsBody }[];
  let refuse: string | undefined;
  let client: EventBridgeClient;

  beforeAll(async () => {
    service = await startAwsJsonService({
      onRequest: ({ target, body }) => requests.push({ target, body: body as PutEventsBody }),
      operations: {
        'AWSEvents.PutEvents': (body) => {
          const entries = (body as PutEventsBody).Entries.map((entry) =>
            refuse && entry.Detail.includes(refuse) ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' } : { EventId: crypto.randomUUID() },
          );
          return { FailedEntryCount: entries.filter((entry) => 'ErrorCode' in entry).length, Entries: entries };
        },
      },
    });
    client = new EventBridgeClient({ endpoint: service.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  });
  afterAll(async () => {
    client.destroy();
    await service.close();
  });
  beforeEach(() => {
    requests = [];
    refuse = undefined;
  });

  it('puts the events in order, ten a request, on the named bus, as source, detail-type, time and detail', async () => {
    const events = Array.from({ length: 23 }, (_, i) => connected(i));
    await new EventBridgePublisher(client, 'connector-dev').publish(events);
    expect(requests.map((request) => request.target)).toEqual(['AWSEvents.PutEvents', 'AWSEvents.PutEvents', 'AWSEvents.PutEvents']);
    expect(requests.map((request) => request.body.Entries.length)).toEqual([10, 10, 3]);
    const entries = requests.flatMap((request) => request.body.Entries);
    expect(entries.map((entry) => (JSON.parse(entry.Detail) as { connectorId: string }).connectorId)).toEqual(events.map((event) => event.detail.connectorId));
    expect(entries[0]).toMatchObject({ EventBusName: 'connector-dev', Source: 'connector-service', DetailType: 'Connector Connected' });
    expect(new Date(entries[0]!.Time * 1000).toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });

  it('fails when the bus refused any entry, so the stream gives the change again', async () => {
    refuse = 'conn_2';
    await expect(new EventBridgePublisher(client, 'connector-dev').publish([connected(1), connected(2)])).rejects.toThrow(
      'EventBridge refused 1 of 2 events (InternalFailure: try again)',
    );
  });
});

describe('DomainEventRelay', () => {
  it('stops at the first change it could not publish, answers its id, and counts metrics only for what was published', async () => {
    const published: string[] = [];
    let failOn: string | undefined = 'conn_2';
    const publisher: EventPublisher = {
      publish: async (events) => {
        if (events.some((event) => event.detail.connectorId === failOn)) throw new Error('bus unavailable');
        published.push(...events.map((event) => event.id));
      },
    };
    const metrics = recordedMetrics();
    const log = recordingLog();
    const relay = new DomainEventRelay({ publisher, metrics, log });
    const changes = [1, 2, 3].map((n) => ({ changeId: `seq-${n}`, events: [connected(n)] }));

    expect(await relay.relay([{ changeId: 'seq-0', events: [] }, ...changes])).toBe('seq-2');
    expect(published).toEqual(['conn_1:transition:1']);
    expect(log.lines.some((line) => line.level === 'error' && line.message.includes('not published'))).toBe(true);

    failOn = undefined;
    expect(await relay.relay(changes.slice(1))).toBeNull();
    expect(published).toEqual(['conn_1:transition:1', 'conn_2:transition:1', 'conn_3:transition:1']);
  });

  it('counts a finished sync once: its outcome, the records it wrote and, when completed, its duration', async () => {
    const metrics = recordedMetrics();
    const relay = new DomainEventRelay({ publisher: { publish: async () => undefined }, metrics, log: recordingLog() });
    const sync = {
      eventId: 'sync_1:completed',
      tenantId: 't',
      connectorId: 'conn_1',
      providerId: 'salesforce' as const,
      syncId: 'sync_1',
      occurredAt: '2026-12-01T00:01:30.000Z',
      syncType: 'full' as const,
      recordsCreated: 5,
      recordsUpdated: 2,
      recordsDeleted: 1,
      recordsFailed: 3,
      startedAt: '2026-12-01T00:00:00.000Z',
      completedAt: '2026-12-01T00:01:30.000Z',
    };
    await relay.relay([{ changeId: '1', events: [envelope(DETAIL_TYPES.syncCompleted, sync)] }]);
    expect(metrics.records).toEqual([
      { name: 'SyncCompleted', value: 1, context: { provider: 'salesforce', tenantId: 't', syncId: 'sync_1' } },
      { name: 'RecordsWritten', value: 8, context: { provider: 'salesforce', tenantId: 't', syncId: 'sync_1' } },
      { name: 'SyncDuration', value: 90, context: { provider: 'salesforce', tenantId: 't', syncId: 'sync_1' } },
    ]);
  });
});
