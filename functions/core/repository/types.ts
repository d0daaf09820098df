import type { ConnectorRecord, EntityCounts, SyncLog } from '../model';
import type { ProviderId } from '../registry';

/**
 * Storage of tenants' connectors, their sync logs and entity counters. The services
 * depend on this port; `DynamoConnectorRepository` is its one implementation and the
 * only code that knows key formats. Every method takes the caller's tenant first: there
 * is no way to name an item without it.
 */
export interface ConnectorRepository {
  /** The tenant's stored connectors among these providers (one request). */
  listConnectors(tenantId: string, providerIds: readonly ProviderId[]): Promise<ConnectorRecord[]>;
  /** A connector and its newest sync log, read together (one request). */
  getConnectorWithLatestSync(
    tenantId: string,
    providerId: ProviderId,
  ): Promise<{ connector: ConnectorRecord | null; latestSync: SyncLog | null }>;
  /** The connector's entity counters; zero where nothing was synced (one request). */
  getEntityCounts(tenantId: string, providerId: ProviderId): Promise<EntityCounts>;
  /** The connector's sync logs, newest first (one request). */
  listSyncLogs(tenantId: string, providerId: ProviderId, limit: number): Promise<SyncLog[]>;
  /** Creates the connector or overwrites its state fields; counters are kept. */
  saveConnector(record: ConnectorRecord): Promise<void>;
  /** Adds (or, with negative numbers, subtracts) to the connector's entity counters. */
  adjustEntityCounts(tenantId: string, providerId: ProviderId, delta: Partial<EntityCounts>): Promise<void>;
  /** Stores a sync log (new or updated). */
  saveSyncLog(providerId: ProviderId, log: SyncLog): Promise<void>;
  /**
   * Sets the connector `disconnected` and removes its credentials and config in one
   * write. Answers the record as it is now, or null when the tenant never had one.
   */
  markDisconnected(tenantId: string, providerId: ProviderId, now: string): Promise<ConnectorRecord | null>;
}
