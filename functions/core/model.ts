import type { ProviderId } from './registry';

/** A connector's lifecycle, exactly the spec's statuses. */
export type ConnectorStatus = 'disconnected' | 'pending_auth' | 'connected' | 'syncing' | 'error';

export type SyncType = 'full' | 'incremental';
export type SyncStatus = 'running' | 'completed' | 'failed';

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
  createdAt: string;
  updatedAt: string;
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
  recordsFailed: number;
  startedAt: string;
  completedAt: string | null;
}
