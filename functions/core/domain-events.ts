import type { MetricContext, MetricName } from './metrics';
import type { SyncStatus, SyncType } from './model';
import type { ProviderId } from './registry';

/** The `source` of every event the service publishes. */
export const EVENT_SOURCE = 'connector-service';

/** Each event's `detail-type`. */
export const DETAIL_TYPES = {
  connected: 'Connector Connected',
  disconnected: 'Connector Disconnected',
  reauthorizationRequired: 'Connector Reauthorization Required',
  syncStarted: 'Connector Sync Started',
  syncCompleted: 'Connector Sync Completed',
  syncFailed: 'Connector Sync Failed',
  syncCancelled: 'Connector Sync Cancelled',
} as const;

export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

/** What every event's detail holds. */
interface ConnectorEventDetail {
  /**
   * The same for every delivery of one event: delivery is at least once (a publisher that
   * dies after publishing but before it records so publishes again), so subscribers dedupe by it.
   */
  eventId: string;
  tenantId: string;
  /** The connector's database id (`conn_...`). */
  connectorId: string;
  providerId: ProviderId;
  /** The sync the event is about; null for connection events. */
  syncId: string | null;
  /** When it happened (ISO 8601); also the event's `time`. */
  occurredAt: string;
}

export interface ConnectedDetail extends ConnectorEventDetail {
  /** The connector held credentials before (a reconnect or re-authorization), rather than none. */
  reconnected: boolean;
}

export interface DisconnectedDetail extends ConnectorEventDetail {
  /** The connector's synced entities are being deleted (`disconnect({purgeData: true})`). */
  purgeData: boolean;
}

export interface ReauthorizationRequiredDetail extends ConnectorEventDetail {
  /** Why, in the sentence `getStatus` shows as `lastSyncError`. */
  error: string;
}

export interface SyncDetail extends ConnectorEventDetail {
  syncId: string;
  syncType: SyncType;
  recordsCreated: number;
  recordsUpdated: number;
  recordsDeleted: number;
  recordsFailed: number;
  startedAt: string;
  /** null while the sync runs (`Connector Sync Started`). */
  completedAt: string | null;
}

export interface SyncFailedDetail extends SyncDetail {
  /** Why it failed, in the sentence the sync history shows. */
  error: string;
}

export interface SyncCancelledDetail extends SyncDetail {
  /** Why it was cancelled (an admin, a disconnect, a reconnect). */
  reason: string;
}

/** One domain event, as EventBridge carries it (`id` is the detail's `eventId`). */
export type DomainEvent =
  | Envelope<typeof DETAIL_TYPES.connected, ConnectedDetail>
  | Envelope<typeof DETAIL_TYPES.disconnected, DisconnectedDetail>
  | Envelope<typeof DETAIL_TYPES.reauthorizationRequired, ReauthorizationRequiredDetail>
  | Envelope<typeof DETAIL_TYPES.syncStarted, SyncDetail>
  | Envelope<typeof DETAIL_TYPES.syncCompleted, SyncDetail>
  | Envelope<typeof DETAIL_TYPES.syncFailed, SyncFailedDetail>
  | Envelope<typeof DETAIL_TYPES.syncCancelled, SyncCancelledDetail>;

interface Envelope<T extends DetailType, D> {
  id: string;
  source: typeof EVENT_SOURCE;
  'detail-type': T;
  time: string;
  detail: D;
}

/** An event with its envelope: EventBridge's `id` and `time` are the detail's `eventId` and `occurredAt`. */
export function envelope<E extends DomainEvent>(detailType: E['detail-type'], detail: E['detail']): E {
  return { id: detail.eventId, source: EVENT_SOURCE, 'detail-type': detailType, time: detail.occurredAt, detail } as E;
}

/**
 * The metrics an event stands for: sync outcomes, records written and duration, and
 * re-authorizations needed. Counted where the events are published, so each is counted once
 * per event however many steps, retries or recoveries led to it.
 */
export function metricsOf(event: DomainEvent): { name: MetricName; value: number; context: MetricContext }[] {
  const { detail } = event;
  const context = { provider: detail.providerId, tenantId: detail.tenantId, ...(detail.syncId && { syncId: detail.syncId }) };
  switch (event['detail-type']) {
    case DETAIL_TYPES.reauthorizationRequired:
      return [{ name: 'ReauthorizationRequired', value: 1, context }];
    case DETAIL_TYPES.syncCompleted:
    case DETAIL_TYPES.syncFailed:
    case DETAIL_TYPES.syncCancelled: {
      const sync = event.detail as SyncDetail;
      const outcome = OUTCOME_METRICS[event['detail-type']];
      const written = sync.recordsCreated + sync.recordsUpdated + sync.recordsDeleted;
      const metrics: { name: MetricName; value: number; context: MetricContext }[] = [
        { name: outcome, value: 1, context },
        { name: 'RecordsWritten', value: written, context },
      ];
      // A duration is a completed sync's: failed and cancelled ones stop at any point.
      if (outcome === 'SyncCompleted' && sync.completedAt) {
        metrics.push({ name: 'SyncDuration', value: (Date.parse(sync.completedAt) - Date.parse(sync.startedAt)) / 1000, context });
      }
      return metrics;
    }
    default:
      return [];
  }
}

const OUTCOME_METRICS = {
  [DETAIL_TYPES.syncCompleted]: 'SyncCompleted',
  [DETAIL_TYPES.syncFailed]: 'SyncFailed',
  [DETAIL_TYPES.syncCancelled]: 'SyncCancelled',
} as const satisfies Record<string, MetricName>;
