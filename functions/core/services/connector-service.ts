import { monotonicFactory } from 'ulid';
import { effectiveStatus } from '../connector-lifecycle';
import { resolveConnector } from '../connector-ref';
import { budgetShare, type ApiBudgetPolicy } from '../api-budget';
import { ConflictError, InvalidInputError } from '../errors';
import { scheduleOf, type ConnectorRecord, type ConnectorSchedule, type ConnectorStatus, type EntityCounts, type SyncLog, type SyncType } from '../model';
import { connectorRegistry, type ProviderDescriptor, type ProviderId } from '../registry';
import type { ConnectorLifecycleRepository, ConnectorRepository } from '../repository/types';
import type { Caller, Log } from './caller';

const nextUlid = monotonicFactory();

/** A connector as `list` shows it: the registry entry merged with the tenant's record. */
export interface ConnectorSummary {
  id: string;
  name: string;
  version: string;
  status: ConnectorStatus;
  lastSyncAt: string | null;
  lastSyncError: string | null;
  /** Set when the last sync completed but stopped early (the org's API budget stayed spent): what it says. */
  lastSyncNote: string | null;
  /** The database id, once the tenant has a record for this connector. */
  databaseId: string | null;
}

/** `getStatus`: the summary plus config, schedule and the newest sync's figures. */
export interface ConnectorStatusView extends ConnectorSummary {
  config: Record<string, unknown>;
  /** Scheduled syncs: the interval (while paused, the one a resume applies), paused, and when the next one is due. */
  schedule: ConnectorSchedule;
  latestSync: {
    recordsCreated: number;
    recordsUpdated: number;
    recordsDeleted: number;
    recordsFailed: number;
    recordsSkipped: number;
    syncType: SyncType;
  } | null;
}

/** Revokes a connector's grant at its provider (CredentialService does). */
export interface GrantRevoker {
  revoke(tenantId: string, providerId: ProviderId, log: Log): Promise<boolean>;
}

/** What `disconnect` needs of the sync side: a running sync cancelled, a purge started. */
export interface SyncControl {
  cancelRunningSync(tenantId: string, providerId: ProviderId, reason: string, log: Log): Promise<string | null>;
  startPurge(tenantId: string, providerId: ProviderId, purgeId: string, log: Log): Promise<void>;
}

export interface ConnectorServiceDeps {
  repository: ConnectorRepository;
  lifecycle: ConnectorLifecycleRepository;
  revoker: GrantRevoker;
  syncs: SyncControl;
  /** The reason a sync cancelled by a disconnect ends with. */
  disconnectReason: string;
  /** How syncs of this provider spend the org's shared API allowance; undefined where it has none. */
  apiBudgetPolicy?: (providerId: ProviderId) => ApiBudgetPolicy | undefined;
  clock?: () => Date;
}

/** An org's API allowance as `getStatus.config.apiUsage` shows it: the usage last reported (null before any) and the budget in force. */
export interface ApiUsageView {
  used: number | null;
  limit: number | null;
  budget: number;
  observedAt: string | null;
}

/** How often disconnect tries again when a sync started between its cancel and its write. */
const DISCONNECT_ATTEMPTS = 3;

/** The read side of the connector API and `disconnect`; every call is scoped to the caller's tenant. */
export class ConnectorService {
  private readonly repository: ConnectorRepository;
  private readonly clock: () => Date;

  constructor(private readonly deps: ConnectorServiceDeps) {
    this.repository = deps.repository;
    this.clock = deps.clock ?? (() => new Date());
  }

  /** Every registered provider with the tenant's status for it. */
  async list(caller: Caller): Promise<ConnectorSummary[]> {
    const records = await this.repository.listConnectors(
      caller.tenantId,
      connectorRegistry.map((provider) => provider.id),
    );
    const byProvider = new Map(records.map((record) => [record.providerId, record]));
    const now = this.clock();
    return connectorRegistry.map((provider) => summarize(provider, byProvider.get(provider.id), now));
  }

  /** One connector's status, config, schedule and newest sync figures. */
  async getStatus(caller: Caller, connectorRef: string): Promise<ConnectorStatusView> {
    const provider = resolveConnector(caller.tenantId, connectorRef);
    const { connector, latestSync } = await this.repository.getConnectorWithLatestSync(caller.tenantId, provider.id);
    const policy = this.deps.apiBudgetPolicy?.(provider.id);
    return {
      ...summarize(provider, connector ?? undefined, this.clock()),
      config: { ...connector?.config, ...(policy && { apiUsage: apiUsageView(policy, connector) }) },
      schedule: scheduleOf(connector),
      latestSync: latestSync && {
        recordsCreated: latestSync.recordsCreated,
        recordsUpdated: latestSync.recordsUpdated,
        recordsDeleted: latestSync.recordsDeleted,
        recordsFailed: latestSync.recordsFailed,
        recordsSkipped: latestSync.recordsSkipped,
        syncType: latestSync.syncType,
      },
    };
  }

  /**
   * `setApiBudget` (admin): the share of the org's API allowance a sync may bring its usage to
   * (null: the default). A running sync uses it from its next page on; one waiting for the
   * budget goes on at its next re-check if the usage is now below it.
   */
  async setApiBudget(caller: Caller, connectorRef: string, budget: number | null): Promise<{ apiUsage: ApiUsageView }> {
    const provider = resolveConnector(caller.tenantId, connectorRef);
    const policy = this.deps.apiBudgetPolicy?.(provider.id);
    if (!policy) throw new InvalidInputError(`${provider.name} has no shared API allowance to budget; an API budget applies to Salesforce.`);
    if (!(await this.repository.setApiBudget(caller.tenantId, provider.id, budget, this.clock().toISOString()))) {
      throw new InvalidInputError(`${provider.name} is not set up yet; connect it, then set its API budget.`);
    }
    caller.log.info('API budget set', { connectorId: provider.id, budget });
    const { connector } = await this.repository.getConnectorWithLatestSync(caller.tenantId, provider.id);
    return { apiUsage: apiUsageView(policy, connector) };
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
   * Revokes the grant at the provider where it can, cancels a running sync ("disconnected
   * during the sync"), then clears the connector's credentials, config, watermark and
   * schedule and sets it `disconnected`; a failed revoke still removes our copy (and is
   * logged). With `purgeData`, the connector's entities and counters are deleted too, page by
   * page in the sync state machine. Idempotent: a connector never set up is already disconnected.
   */
  async disconnect(caller: Caller, connectorRef: string, options: { purgeData?: boolean } = {}): Promise<{ disconnected: true }> {
    const { tenantId } = caller;
    const provider = resolveConnector(tenantId, connectorRef);
    const revoked = await this.deps.revoker.revoke(tenantId, provider.id, caller.log);
    for (let attempt = 0; attempt < DISCONNECT_ATTEMPTS; attempt++) {
      await this.deps.syncs.cancelRunningSync(tenantId, provider.id, this.deps.disconnectReason, caller.log);
      const before = await this.deps.lifecycle.read(tenantId, provider.id);
      if (before.status === null) {
        caller.log.info('connector had no record; nothing to disconnect', { connectorId: provider.id });
        return { disconnected: true };
      }
      // A purge already running deletes everything: no second one.
      const purgeId = options.purgeData && before.activeWork !== 'purge' ? `purge_${nextUlid()}` : undefined;
      if (await this.deps.lifecycle.disconnect(tenantId, provider.id, { now: this.clock().toISOString(), purgeId })) {
        if (purgeId) await this.deps.syncs.startPurge(tenantId, provider.id, purgeId, caller.log);
        caller.log.info('connector disconnected', { connectorId: provider.id, revokedAtProvider: revoked, purge: purgeId ?? before.activeWork === 'purge' });
        return { disconnected: true };
      }
      // A sync (a scheduled one) or a purge started between the read and the write: look again.
    }
    throw new ConflictError('Syncs kept starting while disconnecting; try again.');
  }
}

function summarize(provider: ProviderDescriptor, record: ConnectorRecord | undefined, now: Date): ConnectorSummary {
  return {
    id: provider.id,
    name: provider.name,
    version: provider.version,
    status: record ? effectiveStatus(record, now) : 'disconnected',
    lastSyncAt: record?.lastSyncAt ?? null,
    lastSyncError: record?.lastSyncError ?? null,
    lastSyncNote: record?.lastSyncNote ?? null,
    databaseId: record?.id ?? null,
  };
}

function apiUsageView(policy: ApiBudgetPolicy, record: ConnectorRecord | null | undefined): ApiUsageView {
  return {
    used: record?.apiUsage?.used ?? null,
    limit: record?.apiUsage?.limit ?? null,
    budget: budgetShare(policy, record?.apiBudget),
    observedAt: record?.apiUsage?.observedAt ?? null,
  };
}
