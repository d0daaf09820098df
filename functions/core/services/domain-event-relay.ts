import { metricsOf, type DomainEvent } from '../domain-events';
import type { EventPublisher } from '../event-publisher';
import type { MetricsRecorder } from '../metrics';
import type { Log } from './caller';

/** The events one table change means, under the id its stream gives the change. */
export interface ChangeEvents {
  readonly changeId: string;
  readonly events: readonly DomainEvent[];
}

export interface DomainEventRelayDeps {
  publisher: EventPublisher;
  metrics: MetricsRecorder;
  log: Log;
}

/**
 * Publishes the domain events of the table's changes, change after change, and counts the
 * metrics they stand for once published. It stops at the first change whose events could not
 * be published and answers its id: the stream gives that change and all after it again, so
 * events are neither lost nor reordered (a change published before a failure may be published
 * twice; subscribers dedupe by `detail.eventId`).
 */
export class DomainEventRelay {
  constructor(private readonly deps: DomainEventRelayDeps) {}

  /** Answers the id of the first change not published, or null when all were. */
  async relay(changes: readonly ChangeEvents[]): Promise<string | null> {
    for (const { changeId, events } of changes) {
      if (events.length === 0) continue;
      const published = { eventIds: events.map((event) => event.id), detailTypes: events.map((event) => event['detail-type']) };
      try {
        await this.deps.publisher.publish(events);
      } catch (error) {
        this.deps.log.error('domain events not published; the stream will give them again', { ...published, error });
        return changeId;
      }
      this.deps.log.info('domain events published', published);
      for (const { name, value, context } of events.flatMap(metricsOf)) this.deps.metrics.record(name, value, context);
    }
    return null;
  }
}
