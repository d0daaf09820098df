import { databaseIdFor } from '../../functions/core/connector-ref';
import type { ConnectorRecord, SyncLog } from '../../functions/core/model';
import type { ProviderId } from '../../functions/core/registry';

/** A stored connector as the OAuth and sync paths leave it, with overrides. */
export function connectorRecord(
  tenantId: string,
  providerId: ProviderId,
  overrides: Partial<ConnectorRecord> = {},
): ConnectorRecord {
  return {
    tenantId,
    providerId,
    id: databaseIdFor(tenantId, providerId),
    status: 'connected',
    config: {},
    lastSyncAt: null,
    lastSyncError: null,
    createdAt: '2026-03-01T00:00:00.000Z',
    updatedAt: '2026-03-01T00:00:00.000Z',
    ...overrides,
  };
}

let sequence = 0;

/** A finished sync log; ids sort by creation order, as real sync ids do. */
export function syncLog(tenantId: string, providerId: ProviderId, overrides: Partial<SyncLog> = {}): SyncLog {
  sequence += 1;
  const startedAt = new Date(Date.UTC(2026, 2, 5, 8, 0, 0) + sequence * 60_000).toISOString();
  return {
    id: `sync_${String(sequence).padStart(8, '0')}`,
    tenantId,
    connectorId: databaseIdFor(tenantId, providerId),
    syncType: 'incremental',
    status: 'completed',
    recordsCreated: 150,
    recordsUpdated: 42,
    recordsDeleted: 0,
    recordsFailed: 0,
    recordsSkipped: 0,
    startedAt,
    completedAt: new Date(Date.parse(startedAt) + 150_000).toISOString(),
    message: null,
    ...overrides,
  };
}

/** A sync log as `triggerSync` writes it: running since now, nothing counted yet. */
export function runningSyncLog(tenantId: string, providerId: ProviderId, id: string): SyncLog {
  return syncLog(tenantId, providerId, {
    id,
    status: 'running',
    recordsCreated: 0,
    recordsUpdated: 0,
    startedAt: new Date().toISOString(),
    completedAt: null,
  });
}
