import { monotonicFactory } from 'ulid';
import { databaseIdFor, resolveConnector } from '../connector-ref';
import { ConflictError, InvalidInputError } from '../errors';
import type { SyncLog, SyncState, SyncType } from '../model';
import type { ProviderId } from '../registry';
import type { SyncRepository } from '../repository/types';
import type { SyncExecutions } from '../sync-executions';
import type { SyncAdapter } from '../../providers/types';
import type { Caller, Log } from './caller';
import type { SyncEngine } from './sync-engine';

/** Pages one execution handles before it continues as a new one (Standard executions cap history at 25,000 events). */
export const DEFAULT_PAGES_PER_EXECUTION = 500;

const nextUlid = monotonicFactory();

export interface SyncServiceDeps {
  repository: SyncRepository;
  executions: SyncExecutions;
  engine: SyncEngine;
  syncAdapter: (providerId: ProviderId) => SyncAdapter | undefined;
  pagesPerExecution?: number;
  clock?: () => Date;
}

/** Starting syncs: on request, on schedule; and closing syncs whose execution died. */
export class SyncService {
  private readonly clock: () => Date;

  constructor(private readonly deps: SyncServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * Queues a sync: the connector flips to `syncing` with a conditional write (one active
   * sync per connector), the sync log is written, and the state machine starts with the
   * sync id as execution name.
   * @throws ConflictError when a sync is already running; InvalidInputError when the connector is not connected.
   */
  async triggerSync(caller: Caller, connectorRef: string, fullSync: boolean): Promise<{ queued: true; connectorId: string; fullSync: boolean; syncId: string }> {
    const provider = resolveConnector(caller.tenantId, connectorRef);
    const syncId = await this.start(caller.tenantId, provider.id, fullSync ? 'full' : 'incremental', caller.log);
    return { queued: true, connectorId: connectorRef, fullSync, syncId };
  }

  /** Starts incremental syncs of the connectors whose schedule is due; answers how many started. */
  async startDueSyncs(log: Log, limit = 100): Promise<number> {
    const due = await this.deps.repository.findDueConnectors(this.clock().toISOString(), limit);
    let started = 0;
    for (const { tenantId, providerId } of due) {
      try {
        await this.start(tenantId, providerId, 'incremental', log);
        started += 1;
      } catch (error) {
        // Busy or disconnected since it was scheduled: the next run will see.
        log.info('scheduled sync not started', { tenantId, connectorId: providerId, reason: (error as Error).message });
      }
    }
    return started;
  }

  /**
   * An execution failed, timed out or was aborted without its own failure step running:
   * close the sync log and set `error`, so no connector stays `syncing` forever.
   */
  async recoverExecution(state: Pick<SyncState, 'tenantId' | 'providerId' | 'syncId'>, status: string, log: Log): Promise<void> {
    const reason =
      status === 'TIMED_OUT' ? 'The sync took too long and was stopped' : status === 'ABORTED' ? 'The sync was stopped' : 'The sync stopped unexpectedly';
    // Its own failure step ran (and closed the log) unless the execution died outright.
    if (!(await this.deps.repository.isSyncRunning(state.tenantId, state.providerId, state.syncId))) return;
    await this.deps.engine.fail(state, { error: 'SyncFailed', cause: `${reason}; it will run again at the next schedule.` }, { recovering: log });
  }

  private async start(tenantId: string, providerId: ProviderId, requested: SyncType, log: Log): Promise<string> {
    const adapter = this.deps.syncAdapter(providerId);
    if (!adapter) throw new InvalidInputError(`Syncing ${providerId} is not available yet.`);
    const syncType = adapter.effectiveSyncType(requested);
    const now = this.clock().toISOString();
    const syncId = `sync_${nextUlid()}`;
    const { watermark, liveEntities } = await this.deps.repository.getSyncStart(tenantId, providerId);
    const syncLog: SyncLog = {
      id: syncId,
      tenantId,
      connectorId: databaseIdFor(tenantId, providerId),
      syncType,
      status: 'running',
      recordsCreated: 0,
      recordsUpdated: 0,
      recordsFailed: 0,
      startedAt: now,
      completedAt: null,
    };
    const begun = await this.deps.repository.beginSync(tenantId, providerId, syncLog);
    if (begun === 'busy') throw new ConflictError('A sync is already running for this connector.');
    if (begun === 'not_connected') throw new InvalidInputError('The connector is not connected; connect it before syncing.');

    const state: SyncState = {
      tenantId,
      providerId,
      syncId,
      syncType,
      phase: 'read',
      cursor: null,
      pageNo: 0,
      execution: 1,
      pagesInExecution: 0,
      maxPagesPerExecution: this.deps.pagesPerExecution ?? DEFAULT_PAGES_PER_EXECUTION,
      watermark: syncType === 'incremental' ? watermark : null,
      nextWatermark: null,
      throttleWaits: 0,
      startedAt: now,
      firstLoad: liveEntities === 0 && adapter.listsRecordsOnce,
    };
    try {
      await this.deps.executions.start(syncId, state);
    } catch (error) {
      await this.deps.engine.fail(state, { error: 'SyncFailed', cause: 'The sync could not be started; try again in a moment.' });
      throw error;
    }
    log.info('sync started', { tenantId, connectorId: providerId, syncId, syncType });
    return syncId;
  }
}
