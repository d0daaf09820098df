import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as StreamAttributeValue, DynamoDBRecord } from 'aws-lambda';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { LifecycleRow } from '../connector-lifecycle';
import { DETAIL_TYPES, envelope, type DetailType, type DomainEvent, type SyncDetail } from '../domain-events';
import type { SyncStatus, SyncType } from '../model';
import type { ProviderId } from '../registry';
import { CONNECTOR_SK, SYNC_LOG_SK_PREFIX, TENANT_PK_PREFIX } from './keys';

/**
 * The items whose changes can mean events: tenants' connectors and sync logs (OAuth states
 * also use the connector sort key, outside any tenant). The stream's event source mapping
 * passes only these to the publisher (an entity sync writes millions of other items); the
 * local stack filters the same way.
 */
export const EVENT_ITEMS_FILTER_PATTERN = {
  dynamodb: { Keys: { pk: { S: [{ prefix: TENANT_PK_PREFIX }] }, sk: { S: [CONNECTOR_SK, { prefix: SYNC_LOG_SK_PREFIX }] } } },
};

/** Whether a stream record passes {@link EVENT_ITEMS_FILTER_PATTERN}. */
export function isEventItemRecord(record: DynamoDBRecord): boolean {
  const pk = record.dynamodb?.Keys?.pk?.S;
  const sk = record.dynamodb?.Keys?.sk?.S;
  return (pk?.startsWith(TENANT_PK_PREFIX) ?? false) && (sk === CONNECTOR_SK || (sk?.startsWith(SYNC_LOG_SK_PREFIX) ?? false));
}

/** A stream record's change, images unmarshalled. */
export function itemChangeOf(record: DynamoDBRecord): ItemChange {
  const image = (raw: Record<string, StreamAttributeValue> | undefined) =>
    raw ? unmarshall(raw as Record<string, AttributeValue>) : undefined;
  return { kind: record.eventName ?? 'MODIFY', before: image(record.dynamodb?.OldImage), after: image(record.dynamodb?.NewImage) };
}

/** A change of one table item, as a stream record gives it (images unmarshalled). */
export interface ItemChange {
  kind: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** The item before; absent for an insert. */
  before?: Record<string, unknown>;
  /** The item after; absent for a removal. */
  after?: Record<string, unknown>;
}

/** The lifecycle rows that are events of their own; the others (flows started or failed) are not. */
const CONNECTOR_EVENTS: Partial<Record<LifecycleRow, DetailType>> = {
  connect: DETAIL_TYPES.connected,
  authorizationCompleted: DETAIL_TYPES.connected,
  disconnect: DETAIL_TYPES.disconnected,
  reauthorizationRequired: DETAIL_TYPES.reauthorizationRequired,
};

/**
 * The domain events one item change means. The lifecycle repository stamps every write of the
 * connector item with its row (`lastTransition`) and a count (`transitionSeq`), and a sync's
 * log is written when it starts and closed when it ends, in the same transaction as the
 * connector's move: so the table's own changes say what happened, and an event cannot be lost
 * between a state change and a publish. Other items (entities, page markers, OAuth states)
 * mean nothing here. Only named fields are copied: no credential ever reaches an event.
 */
export function deriveDomainEvents(change: ItemChange): DomainEvent[] {
  const item = change.after;
  if (!item || typeof item.sk !== 'string') return [];
  if (item.sk === CONNECTOR_SK) return connectorEvents(item, change.before);
  if (item.sk.startsWith(SYNC_LOG_SK_PREFIX)) return syncEvents(item, change.before);
  return [];
}

function connectorEvents(after: Record<string, unknown>, before: Record<string, unknown> | undefined): DomainEvent[] {
  const seq = after.transitionSeq;
  if (typeof seq !== 'number' || seq === before?.transitionSeq) return [];
  const detailType = CONNECTOR_EVENTS[after.lastTransition as LifecycleRow];
  if (!detailType) return [];
  const base = {
    eventId: `${String(after.id)}:transition:${seq}`,
    tenantId: String(after.tenantId),
    connectorId: String(after.id),
    providerId: after.providerId as ProviderId,
    syncId: null,
    occurredAt: String(after.updatedAt),
  };
  switch (detailType) {
    case DETAIL_TYPES.connected:
      return [envelope(detailType, { ...base, reconnected: before?.credentials !== undefined })];
    case DETAIL_TYPES.disconnected:
      return [envelope(detailType, { ...base, purgeData: after.activeWork === 'purge' })];
    default:
      return [envelope(DETAIL_TYPES.reauthorizationRequired, { ...base, error: String(after.lastSyncError ?? '') })];
  }
}

function syncEvents(after: Record<string, unknown>, before: Record<string, unknown> | undefined): DomainEvent[] {
  const status = after.status as SyncStatus;
  const detail: SyncDetail = {
    eventId: `${String(after.id)}:${status}`,
    tenantId: String(after.tenantId),
    connectorId: String(after.connectorId),
    providerId: after.providerId as ProviderId,
    syncId: String(after.id),
    occurredAt: String(status === 'running' ? after.startedAt : after.completedAt),
    syncType: after.syncType as SyncType,
    recordsCreated: Number(after.recordsCreated ?? 0),
    recordsUpdated: Number(after.recordsUpdated ?? 0),
    recordsDeleted: Number(after.recordsDeleted ?? 0),
    recordsFailed: Number(after.recordsFailed ?? 0),
    startedAt: String(after.startedAt),
    completedAt: (after.completedAt as string | null | undefined) ?? null,
  };
  if (!before) return status === 'running' ? [envelope(DETAIL_TYPES.syncStarted, detail)] : [];
  // A log is closed once, from `running`; any other change (a page's progress) is not an event.
  if (before.status !== 'running' || status === 'running') return [];
  const message = String(after.message ?? '');
  switch (status) {
    case 'completed':
      return [envelope(DETAIL_TYPES.syncCompleted, detail)];
    case 'cancelled':
      return [envelope(DETAIL_TYPES.syncCancelled, { ...detail, reason: message })];
    default: {
      const failed = envelope(DETAIL_TYPES.syncFailed, { ...detail, error: message });
      if (after.reauthorizationRequired !== true) return [failed];
      // A sync that found the grant gone is also the connector needing a person.
      const { tenantId, connectorId, providerId, syncId, occurredAt } = detail;
      const needsPerson = envelope(DETAIL_TYPES.reauthorizationRequired, {
        eventId: `${syncId}:reauthorizationRequired`,
        tenantId,
        connectorId,
        providerId,
        syncId,
        occurredAt,
        error: message,
      });
      return [failed, needsPerson];
    }
  }
}
