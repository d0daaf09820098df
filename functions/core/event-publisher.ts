import { appendFile } from 'node:fs/promises';
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { DomainEvent } from './domain-events';

/** Where domain events go: the environment's EventBridge bus in AWS, a JSON-lines file locally. */
export interface EventPublisher {
  /**
   * Publishes the events, in order; resolves only once every one is accepted.
   * @throws when any was not: the caller publishes them again (delivery is at least once).
   */
  publish(events: readonly DomainEvent[]): Promise<void>;
}

/** PutEvents takes at most 10 entries a request. */
const PUT_EVENTS_MAX_ENTRIES = 10;

/** Publishes to an EventBridge bus; entries the bus refused fail the call. */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async publish(events: readonly DomainEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += PUT_EVENTS_MAX_ENTRIES) {
      const entries: PutEventsRequestEntry[] = events.slice(start, start + PUT_EVENTS_MAX_ENTRIES).map((event) => ({
        EventBusName: this.eventBusName,
        Source: event.source,
        DetailType: event['detail-type'],
        Time: new Date(event.time),
        Detail: JSON.stringify(event.detail),
      }));
      const answer = await this.client.send(new PutEventsCommand({ Entries: entries }));
      if (answer.FailedEntryCount) {
        const refused = answer.Entries?.find((entry) => entry.ErrorCode);
        throw new Error(`EventBridge refused ${answer.FailedEntryCount} of ${entries.length} events (${refused?.ErrorCode}: ${refused?.ErrorMessage})`);
      }
    }
  }
}

/**
 * Appends each event as one EventBridge-shaped JSON line (`id`, `source`, `detail-type`,
 * `time`, `detail`) to a file: the local stack's bus.
 */
export class JsonLinesPublisher implements EventPublisher {
  constructor(private readonly file: string) {}

  async publish(events: readonly DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    await appendFile(this.file, events.map((event) => `${JSON.stringify(event)}\n`).join(''));
  }
}
