import type { ProviderId } from './registry';

/** A connector's lifecycle, exactly the spec's statuses. */
export type ConnectorStatus = 'disconnected' | 'pending_auth' | 'connected' | 'syncing' | 'error';

export type SyncType = 'full' | 'incremental';
export type SyncStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/** The entity kinds the service keeps per connector. */
export const entityTypes = ['accounts', 'people', 'opportunities'] as const;
export type EntityType = (typeof entityTypes)[number];
export type EntityCounts = Record<EntityType, number>;

/** A tenant's connector as stored (credentials stay sealed; they never leave core). */
export interface ConnectorRecord {
  tenantId: string;
  providerId: ProviderId;
  /** The database id (`conn_...`). */
  id: string;
  status: ConnectorStatus;
  config: Record<string, unknown>;
  lastSyncAt: string | null;
  lastSyncError: string | null;
  /** What a completed sync that stopped early (the org's API budget ran out) says about it; null otherwise. */
  lastSyncNote?: string | null;
  /** The org's API usage as the provider last reported it (Salesforce: `Sforce-Limit-Info`). */
  apiUsage?: ApiUsage;
  /** The share of the org's API allowance a sync may bring its usage to, as an admin set it (`setApiBudget`); absent: the default. */
  apiBudget?: number;
  /** When the pending OAuth flow expires (a `pending_auth` connector reads as `disconnected` after it). */
  pendingAuthExpiresAt?: string | null;
  /** Minutes between scheduled syncs an admin chose (`setSchedule`); absent: the default. */
  scheduleIntervalMinutes?: number;
  /** An admin paused the scheduled syncs (`setSchedule` with a null interval). */
  schedulePaused?: boolean;
  /** When the next scheduled sync is due; only while the connector is on the schedule. */
  nextSyncAt?: string;
  createdAt: string;
  updatedAt: string;
}

/** An org's API allowance as its provider reported it: calls used in the rolling window, of `limit`. */
export interface ApiUsage {
  used: number;
  limit: number;
  /** When it was reported (ISO 8601). */
  observedAt: string;
}

/** Minutes between a connector's scheduled syncs: what `setSchedule` accepts, and the default. */
export const SYNC_INTERVAL_MINUTES = { min: 15, max: 1440, default: 60 } as const;

/** An admin's choice of schedule, as stored on the connector (and kept across disconnects). */
export interface SchedulePreference {
  /** Null: never chosen, the default applies. */
  intervalMinutes: number | null;
  paused: boolean;
}

/** A connector's schedule as `getStatus` and `setSchedule` show it. */
export interface ConnectorSchedule {
  /** The interval in force, or, while paused, the one that applies once resumed (the default unless chosen). */
  intervalMinutes: number;
  paused: boolean;
  /** When the next scheduled sync is due; null while paused or when nothing is scheduled (not connected, waiting for a person to reconnect). */
  nextSyncAt: string | null;
}

/** The schedule view of a stored connector (none stored: the default, nothing scheduled). */
export function scheduleOf(record: Pick<ConnectorRecord, 'scheduleIntervalMinutes' | 'schedulePaused' | 'nextSyncAt'> | null | undefined): ConnectorSchedule {
  const paused = record?.schedulePaused === true;
  return {
    intervalMinutes: record?.scheduleIntervalMinutes ?? SYNC_INTERVAL_MINUTES.default,
    paused,
    nextSyncAt: paused ? null : (record?.nextSyncAt ?? null),
  };
}

/** One sync run of one connector. */
export interface SyncLog {
  id: string;
  tenantId: string;
  /** The connector's database id. */
  connectorId: string;
  syncType: SyncType;
  status: SyncStatus;
  recordsCreated: number;
  recordsUpdated: number;
  /** Entities the sync removed (the source deleted them, or a full sync no longer saw them); never counted as updates. */
  recordsDeleted: number;
  recordsFailed: number;
  /** Source records that are not ours to keep (an invitee without an email), neither synced nor failed. */
  recordsSkipped: number;
  startedAt: string;
  completedAt: string | null;
  /**
   * Why the sync failed or was cancelled, or why a completed one stopped early (the org's API
   * budget); null while it runs and once it completed whole.
   */
  message: string | null;
}

/** What a sync waits for in the state machine besides a provider's Retry-After: a Bulk query job to finish, or the org's API usage to fall below its budget. */
export type WaitReason = 'bulkJob' | 'apiBudget';

/** Where a running sync stands; the state machine passes it from step to step (never records). */
export interface SyncState {
  tenantId: string;
  providerId: ProviderId;
  syncId: string;
  syncType: SyncType;
  /**
   * read: provider pages; sweep: removing what a full sync did not see; purge: deleting a
   * disconnected connector's entities; done: finish; abandoned: this execution no longer
   * owns the connector (the sync was cancelled), so it ends without another write.
   */
  phase: 'read' | 'sweep' | 'purge' | 'done' | 'abandoned';
  cursor: Record<string, unknown> | null;
  /** Pages handled so far in this sync; names each page's commit, so a retried page commits once. */
  pageNo: number;
  /** Which execution of the sync this is (long syncs continue as new executions). */
  execution: number;
  pagesInExecution: number;
  maxPagesPerExecution: number;
  /** The watermark the sync started from (null: read everything). */
  watermark: Record<string, string> | null;
  /** The watermark this sync has reached; kept for the next incremental sync when it finishes. */
  nextWatermark: Record<string, string> | null;
  /** Consecutive waits for a throttling provider. */
  throttleWaits: number;
  /** When the sync started (ISO 8601). */
  startedAt: string;
  /**
   * The connector held no live entity when the sync started and its provider lists each
   * record once per sync: existing-entity reads are needed only for records that changed
   * after the sync started (only those can appear twice).
   */
  firstLoad: boolean;
  /**
   * The connector was reconnected to another source: this full sync sweeps whatever it did
   * not see, even from a provider whose full syncs read only a window.
   */
  sweepUnseen?: boolean;
  /** A full sync found every live entity seen, type by type: its counters are right as they are (no reconciling count). */
  countsConfirmed?: boolean;
  /** Not a sync: deleting the entities of a connector disconnected with `purgeData`. */
  purge?: boolean;
  /** Set when the sync waits in the state machine before its next page (the provider asked, a Bulk job runs, the API budget is spent). */
  waitSeconds?: number;
  /** What it waits for, when not the provider's Retry-After: picks the state machine's Wait state, so an execution's history says. */
  waitReason?: WaitReason;
  /** The org's API usage the provider reported with the last call of this sync. */
  apiUsage?: { used: number; limit: number };
  /**
   * Seconds this sync has waited so far for the org's API usage to fall below its budget; set
   * while the usage it knows is not its last call's (after a wait, or at start from the stored
   * figure): the next page reads the usage again first.
   */
  budgetWaitedSeconds?: number;
  /** The sync ends now, completed with what it read, for this reason (the API budget stayed spent); no sweep. */
  stoppedEarly?: string;
  /** Set when this execution has done its share of pages: the next execution's input and name. */
  continuation?: SyncState;
  continuationName?: string;
}

/** An entity as stored, in the few fields a sync decides by. */
export interface StoredEntityState {
  firstSeen: string;
  lastSeenSync?: string;
  deleted: boolean;
  deletedIn?: string;
  /** The page that last changed the entity's attributes: a retried page counts that update again, once. */
  updatedIn?: string;
  /** A digest of the stored attributes: an update counts only when they change. */
  attributesHash?: string;
  sourceModifiedAt?: string;
  /** The stored attributes: read only when asked (a page of partial records merges into them). */
  attributes?: Record<string, unknown>;
}

/** An entity to write, whole. */
export interface EntityWrite {
  type: EntityType;
  sourceId: string;
  attributes: Record<string, unknown>;
  sourceModifiedAt?: string;
  firstSeen: string;
  lastSeenSync: string;
  deleted: boolean;
  deletedIn?: string;
  updatedIn?: string;
  attributesHash?: string;
}

/** What one page changed: counter deltas and sync-log progress. */
export interface PageDelta {
  counts: Partial<EntityCounts>;
  created: number;
  updated: number;
  deleted: number;
  failed: number;
  skipped: number;
  /**
   * Entities this page marked seen for the first time in this sync, by type: a full sync whose
   * seen entities equal its counters, type by type, has nothing to sweep and nothing to reconcile.
   */
  seen: Partial<EntityCounts>;
}

/** A page delta with nothing in it yet. */
export function emptyDelta(): PageDelta {
  return { counts: {}, created: 0, updated: 0, deleted: 0, failed: 0, skipped: 0, seen: {} };
}
