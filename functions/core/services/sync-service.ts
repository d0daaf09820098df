import { monotonicFactory } from 'ulid';
import { databaseIdFor, resolveConnector } from '../connector-ref';
import { ConflictError, InvalidInputError } from '../errors';
import type { SyncLog, SyncState, SyncType } from '../model';
import type { ProviderId } from '../registry';
import type { ScheduleRepository } from '../repository/types';
import { executionName, type SyncExecutions } from '../sync-executions';
import type { SyncAdapter } from '../../providers/types';
import type { MetricsRecorder } from '../metrics';
import type { Caller, Log } from './caller';
import { nextScheduledSync, type SyncEngine, type SyncStores } from './sync-engine';

/** Pages one execution handles before it continues as a new one (Standard executions cap history at 25,000 events). */
export const DEFAULT_PAGES_PER_EXECUTION = 500;
/** Due connectors one scheduler run reads at a time, and how many such batches it takes at most. */
const SCHEDULE_BATCH = 100;
const SCHEDULE_BATCHES_PER_RUN = 10;

const nextUlid = monotonicFactory();

export interface SyncServiceDeps extends Pick<SyncStores, 'lifecycle' | 'runs'> {
  schedule: ScheduleRepository;
  executions: SyncExecutions;
  engine: SyncEngine;
  syncAdapter: (providerId: ProviderId) => SyncAdapter | undefined;
  /** Where the scheduler's runs are counted. */
  metrics?: MetricsRecorder;
  pagesPerExecution?: number;
  clock?: () => Date;
}

/** Why a sync ended `cancelled`, in the words its log keeps. */
export const CANCEL_REASONS = {
  requested: 'Cancelled by an admin.',
  disconnected: 'Disconnected during the sync.',
  reconnected: 'Reconnected during the sync; the next sync starts from the new connection.',
} as const;

/** Starting, cancelling and recovering syncs: on request, on schedule, and when an execution died. */
export class SyncService {
  private readonly clock: () => Date;

  constructor(private readonly deps: SyncServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * Queues a sync: the connector flips to `syncing` with a conditional write (one active
   * sync per connector), the sync log is written, and the state machine starts with the
   * sync id as execution name. The first sync after a (re)connect is always full.
   * @throws ConflictError when a sync is already running; InvalidInputError when the connector is not connected.
   */
  async triggerSync(caller: Caller, connectorRef: string, fullSync: boolean): Promise<{ queued: true; connectorId: string; fullSync: boolean; syncId: string }> {
    const provider = resolveConnector(caller.tenantId, connectorRef);
    const syncId = await this.start(caller.tenantId, provider.id, fullSync ? 'full' : 'incremental', caller.log);
    return { queued: true, connectorId: connectorRef, fullSync, syncId };
  }

  /** `cancelSync`: stops the running sync; its log ends `cancelled` and the connector is `connected` again. */
  async cancelSync(caller: Caller, connectorRef: string): Promise<{ cancelled: true; syncId: string }> {
    const provider = resolveConnector(caller.tenantId, connectorRef);
    const syncId = await this.cancelRunningSync(caller.tenantId, provider.id, CANCEL_REASONS.requested, caller.log);
    if (!syncId) throw new InvalidInputError('No sync is running for this connector.');
    return { cancelled: true, syncId };
  }

  /**
   * Cancels the connector's running sync, if any, and answers its id: the reason is noted on
   * the log, the execution stopped, the page in flight settled (so counters equal stored
   * entities), and the log closed `cancelled` with the connector back to `connected`, in
   * one conditional write. Safe to race with the execution's own failure step or the
   * recovery of the stopped execution: whichever closes the sync, it closes it as cancelled.
   */
  async cancelRunningSync(tenantId: string, providerId: ProviderId, reason: string, log: Log): Promise<string | null> {
    const { activeSyncId: syncId, activeWork } = await this.deps.lifecycle.read(tenantId, providerId);
    if (!syncId || activeWork !== 'sync') return null;
    await this.deps.runs.requestCancel(tenantId, providerId, syncId, reason);
    const run = await this.deps.runs.getRun(tenantId, providerId, syncId);
    const execution = run?.execution ?? 1;
    // The one running now, or the one it is handing over to.
    await Promise.all([execution, execution + 1].map((n) => this.deps.executions.stop(executionName(syncId, n))));
    await this.deps.engine.settle({ tenantId, providerId, syncId });
    const closed = await this.deps.lifecycle.cancelSync(tenantId, providerId, syncId, { completedAt: this.clock().toISOString(), reason });
    log.info(closed ? 'sync cancelled' : 'sync cancelled; its recovery closed it', { tenantId, connectorId: providerId, syncId, reason });
    return syncId;
  }

  /**
   * Starts incremental syncs of the connectors whose schedule is due; answers how many
   * started. A due connector that cannot start never stays at the head of the schedule: a
   * busy one moves its next run forward, one that cannot start on its own (not connected,
   * waiting for authorization, needing a person, not configured here) leaves the schedule.
   */
  async startDueSyncs(log: Log): Promise<number> {
    let started = 0;
    for (let batch = 0; batch < SCHEDULE_BATCHES_PER_RUN; batch++) {
      const now = this.clock();
      const due = await this.deps.schedule.findDueConnectors(now.toISOString(), SCHEDULE_BATCH);
      for (const { tenantId, providerId, nextSyncAt } of due) {
        let cannotStart: Error | undefined;
        try {
          await this.start(tenantId, providerId, 'incremental', log);
          started += 1;
        } catch (error) {
          cannotStart = error as Error;
        }
        // Only a connector that cannot start on its own leaves the schedule; a started, busy or
        // transiently failing one is due again an interval later (a finished sync sets its own next run).
        if (cannotStart instanceof InvalidInputError) await this.deps.schedule.unschedule(tenantId, providerId, nextSyncAt);
        else await this.deps.schedule.postpone(tenantId, providerId, nextSyncAt, nextScheduledSync(now));
        if (cannotStart) {
          log.info(cannotStart instanceof InvalidInputError ? 'scheduled sync cannot start; taken off the schedule' : 'scheduled sync postponed', {
            tenantId,
            connectorId: providerId,
            reason: cannotStart.message,
          });
        }
      }
      if (due.length < SCHEDULE_BATCH) break;
    }
    return started;
  }

  /**
   * An execution failed, timed out or was aborted without its own failure step running:
   * close the sync log (as cancelled, if someone was cancelling it) and set `error`, so no
   * connector stays `syncing` forever.
   */
  async recoverExecution(state: Pick<SyncState, 'tenantId' | 'providerId' | 'syncId' | 'purge'>, status: string, log: Log): Promise<void> {
    const reason =
      status === 'TIMED_OUT' ? 'The sync took too long and was stopped' : status === 'ABORTED' ? 'The sync was stopped' : 'The sync stopped unexpectedly';
    await this.deps.engine.fail(state, { error: 'SyncFailed', cause: `${reason}; it will run again at the next schedule.` }, { recovering: log });
  }

  private async start(tenantId: string, providerId: ProviderId, requested: SyncType, log: Log): Promise<string> {
    const adapter = this.deps.syncAdapter(providerId);
    if (!adapter) throw new InvalidInputError(`Syncing ${providerId} is not available in this environment.`);
    const connector = await this.deps.lifecycle.read(tenantId, providerId);
    // No watermark: nothing synced since the last (re)connect, which may be another source.
    const syncType = connector.watermark === null ? 'full' : adapter.effectiveSyncType(requested);
    const now = this.clock().toISOString();
    const syncId = `sync_${nextUlid()}`;
    const syncLog: SyncLog = {
      id: syncId,
      tenantId,
      connectorId: databaseIdFor(tenantId, providerId),
      syncType,
      status: 'running',
      recordsCreated: 0,
      recordsUpdated: 0,
      recordsDeleted: 0,
      recordsFailed: 0,
      startedAt: now,
      completedAt: null,
      message: null,
    };
    if (!(await this.deps.lifecycle.beginSync(tenantId, providerId, syncLog))) throw await this.whyNotStarted(tenantId, providerId);

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
      watermark: syncType === 'incremental' ? connector.watermark : null,
      nextWatermark: null,
      throttleWaits: 0,
      startedAt: now,
      firstLoad: connector.liveEntities === 0 && adapter.listsRecordsOnce,
      ...(connector.sweepUnseen && { sweepUnseen: true }),
    };
    await this.startExecution(state, log);
    log.info('sync started', { tenantId, connectorId: providerId, syncId, syncType });
    return syncId;
  }

  /**
   * Starts the purge of a connector just disconnected with `purgeData` (the disconnect made
   * `purgeId` its owner): its entities are deleted page by page by the state machine.
   */
  async startPurge(tenantId: string, providerId: ProviderId, purgeId: string, log: Log): Promise<void> {
    await this.startExecution(
      {
        tenantId,
        providerId,
        syncId: purgeId,
        syncType: 'full',
        phase: 'purge',
        cursor: null,
        pageNo: 0,
        execution: 1,
        pagesInExecution: 0,
        maxPagesPerExecution: this.deps.pagesPerExecution ?? DEFAULT_PAGES_PER_EXECUTION,
        watermark: null,
        nextWatermark: null,
        throttleWaits: 0,
        startedAt: this.clock().toISOString(),
        firstLoad: false,
        purge: true,
      },
      log,
    );
  }

  private async startExecution(state: SyncState, log: Log): Promise<void> {
    try {
      await this.deps.executions.start(state.syncId, state);
    } catch (error) {
      log.error('the sync state machine did not start', { syncId: state.syncId, error: error as Error });
      await this.deps.engine.fail(state, { error: 'SyncFailed', cause: 'The sync could not be started; try again in a moment.' });
      throw error;
    }
  }

  private async whyNotStarted(tenantId: string, providerId: ProviderId): Promise<Error> {
    const connector = await this.deps.lifecycle.read(tenantId, providerId);
    if (connector.activeWork === 'purge') return new ConflictError('The connector\'s synced data is still being deleted; try again in a moment.');
    if (connector.activeSyncId) return new ConflictError('A sync is already running for this connector.');
    return new InvalidInputError('The connector is not connected; connect it before syncing.');
  }
}
