import { resolveConnector } from '../connector-ref';
import type { ConnectorRecord, ConnectorStatus, EntityCounts, SyncLog, SyncType } from '../model';
import { connectorRegistry, type ProviderDescriptor, type ProviderId } from '../registry';
import type { ConnectorRepository } from '../repository/types';
import type { Caller, Log } from './caller';

/** A connector as `list` shows it: the registry entry merged with the tenant's record. */
export interface ConnectorSummary {
  id: string;
  name: string;
  version: string;
  status: ConnectorStatus;
  lastSyncAt: string | null;
  lastSyncError: string | null;
  /** The database id, once the tenant has a record for this connector. */
  databaseId: string | null;
}

/** `getStatus`: the summary plus config and the newest sync's figures. */
export interface ConnectorStatusView extends ConnectorSummary {
  config: Record<string, unknown>;
  latestSync: {
    recordsCreated: number;
    recordsUpdated: number;
    recordsFailed: number;
    syncType: SyncType;
  } | null;
}

/** Revokes a connector's grant at its provider (CredentialService does). */
export interface GrantRevoker {
  revoke(tenantId: string, providerId: ProviderId, log: Log): Promise<boolean>;
}

/** The read side of the connector API and `disconnect`; every call is scoped to the caller's tenant. */
export class ConnectorService {
  constructor(
    private readonly repository: ConnectorRepository,
    private readonly revoker: GrantRevoker,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Every registered provider with the tenant's status for it. */
  async list(caller: Caller): Promise<ConnectorSummary[]> {
    const records = await this.repository.listConnectors(
      caller.tenantId,
      connectorRegistry.map((provider) => provider.id),
    );
    const byProvider = new Map(records.map((record) => [record.providerId, record]));
    return connectorRegistry.map((provider) => summarize(provider, byProvider.get(provider.id)));
  }

  /** One connector's status, config and newest sync figures. */
  async getStatus(caller: Caller, connectorRef: string): Promise<ConnectorStatusView> {
    const provider = resolveConnector(caller.tenantId, connectorRef);
    const { connector, latestSync } = await this.repository.getConnectorWithLatestSync(caller.tenantId, provider.id);
    return {
      ...summarize(provider, connector ?? undefined),
      config: connector?.config ?? {},
      latestSync: latestSync && {
        recordsCreated: latestSync.recordsCreated,
        recordsUpdated: latestSync.recordsUpdated,
        recordsFailed: latestSync.recordsFailed,
        syncType: latestSync.syncType,
      },
    };
  }

  /** The connector's sync logs, newest first. */
  async getSyncHistory(caller: Caller, connectorRef: string, limit: number): Promise<SyncLog[]> {
    const provider = resolveConnector(caller.tenantId, connectorRef);
    return await this.repository.listSyncLogs(caller.tenantId, provider.id, limit);
  }

  /** How many accounts, people and opportunities the connector has synced. */
  async getEntityCounts(caller: Caller, connectorRef: string): Promise<EntityCounts> {
    const provider = resolveConnector(caller.tenantId, connectorRef);
    return await this.repository.getEntityCounts(caller.tenantId, provider.id);
  }

  /**
   * Revokes the grant at the provider where it can, then clears the connector's
   * credentials and config and sets it `disconnected`; a failed revoke still removes our
   * copy (and is logged). Idempotent: a connector never set up is already disconnected.
   */
  async disconnect(caller: Caller, connectorRef: string): Promise<{ disconnected: true }> {
    const provider = resolveConnector(caller.tenantId, connectorRef);
    const revoked = await this.revoker.revoke(caller.tenantId, provider.id, caller.log);
    const record = await this.repository.markDisconnected(caller.tenantId, provider.id, this.clock().toISOString());
    caller.log.info(record ? 'connector disconnected' : 'connector had no record; nothing to disconnect', {
      connectorId: provider.id,
      revokedAtProvider: revoked,
    });
    return { disconnected: true };
  }
}

function summarize(provider: ProviderDescriptor, record: ConnectorRecord | undefined): ConnectorSummary {
  return {
    id: provider.id,
    name: provider.name,
    version: provider.version,
    status: record?.status ?? 'disconnected',
    lastSyncAt: record?.lastSyncAt ?? null,
    lastSyncError: record?.lastSyncError ?? null,
    databaseId: record?.id ?? null,
  };
}
