import { monotonicFactory } from 'ulid';
import { databaseIdFor, resolveConnector } from '../connector-ref';
import { ConflictError, InvalidInputError } from '../errors';
import { scheduleOf, type ConnectorSchedule, type SyncLog, type SyncState, type SyncType } from '../model';
import type { ProviderId } from '../registry';
import type { ConnectorLifecycleState, ScheduleRepository } from '../repository/types';
import { executionName, type SyncExecutions } from '../sync-executions';
import type { SyncAdapter } from '../../providers/types';
import { loggableCause } from '../logger';
import type { MetricsRecorder } from '../metrics';
import type { Caller, Log } from './caller';
import { DEFAULT_SYNC_INTERVAL_MINUTES, nextScheduledSync, type SyncEngine, type SyncStores } from './sync-engine';

/**
 * The Error of the state machine's `SyncFailed` state (statemachines/sync.asl.json), which
 * follows FailSync: an execution that FAILED with it went through FailSync, which closed its
 * sync and logged why.
 */
export const FAILED_THROUGH_FAIL_SYNC = 'SyncFailed';

/** Pages one execution handles before it continues as a new one (Standard executions cap history at 25,000 events). */
export const DEFAULT_PAGES_PER_EXECUTION = 500;
/** Due connectors one scheduler run reads at a time, and how many such batches it takes at most. */
const SCHEDULE_BATCH = 100;
const SCHEDULE_BATCHES_PER_RUN = 10;
/** A due connector is overdue when its scheduled sync is late by more than this many of its intervals. */
const OVERDUE_INTERVALS = 2;
/** How often setSchedule reads and writes again when a sync or connect moved the next sync in between. */
const SET_SCHEDULE_ATTEMPTS = 3;

const nextUlid = monotonicFactory();

export interface SyncServiceDeps extends Pick<SyncStores, 'lifecycle' | 'runs'> {
  schedule: ScheduleRepository;
  executions: SyncExecutions;
  engine: SyncEngine;
  syncAdapter: (providerId: ProviderId) => SyncAdapter | undefined;
  /** Where the scheduler's runs are counted: ScheduledSyncsStarted, ScheduledSyncsSkipped, ConnectorsOverdue, once per run. */
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

/** Salesforce's API allowance is a rolling 24-hour window: an older usage figure says nothing. */
const API_USAGE_WINDOW_MS = 24 * 3600 * 1000;

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
   * `setSchedule`: the admin's interval between scheduled syncs, or null to pause them (a manual
   * `triggerSync` still works). Pausing takes the connector off the schedule and keeps its
   * interval for a resume. An interval resumes and puts it back: its next sync becomes the
   * earlier of the one already planned and one new interval from now, so a shorter interval
   * applies at once, sending the same schedule again never postpones a sync, and a resume after
   * the planned time syncs at the scheduler's next run. A connector that has nothing to sync on
   * its own (disconnected, waiting for a person to reconnect) keeps the choice for its next
   * connection. Not a lifecycle transition: no status changes.
   * @throws InvalidInputError when the tenant never set the connector up; ConflictError when its schedule kept changing.
   */
  async setSchedule(
    caller: Caller,
    connectorRef: string,
    intervalMinutes: number | null,
  ): Promise<{ connectorId: string; databaseId: string; schedule: ConnectorSchedule }> {
    const { tenantId } = caller;
    const provider = resolveConnector(tenantId, connectorRef);
    const answer = (schedule: ConnectorSchedule) => ({ connectorId: provider.id, databaseId: databaseIdFor(tenantId, provider.id), schedule });
    const notSetUp = () => new InvalidInputError(`${provider.name} is not set up in this tenant yet; connect it before setting its schedule.`);
    for (let attempt = 0; attempt < SET_SCHEDULE_ATTEMPTS; attempt++) {
      const now = this.clock();
      const stored = await this.deps.schedule.readSchedule(tenantId, provider.id);
      if (!stored) throw notSetUp();
      if (intervalMinutes === null) {
        if (!(await this.deps.schedule.pause(tenantId, provider.id, now.toISOString()))) throw notSetUp();
        caller.log.info('scheduled syncs paused', { connectorId: provider.id });
        return answer(scheduleOf({ scheduleIntervalMinutes: stored.intervalMinutes ?? undefined, schedulePaused: true }));
      }
      const soonest = nextScheduledSync(now, intervalMinutes);
      const nextSyncAt = stored.nextSyncAt === null ? null : { from: stored.nextSyncAt, to: stored.nextSyncAt < soonest ? stored.nextSyncAt : soonest };
      if (await this.deps.schedule.resume(tenantId, provider.id, { intervalMinutes, nextSyncAt, now: now.toISOString() })) {
        caller.log.info('schedule set', { connectorId: provider.id, intervalMinutes, nextSyncAt: nextSyncAt?.to ?? null });
        return answer(scheduleOf({ scheduleIntervalMinutes: intervalMinutes, schedulePaused: false, nextSyncAt: nextSyncAt?.to }));
      }
      // A sync ended or a connection was made between the read and the write: read again.
    }
    throw new ConflictError('The connector\'s schedule kept changing while it was being set; try again.');
  }

  /**
   * Starts incremental syncs of the connectors whose schedule is due; answers how many
   * started. A due connector that cannot start never stays at the head of the schedule: a
   * busy one moves its next run forward (by its own interval), one that cannot start on its
   * own (not connected, waiting for authorization, needing a person, not configured here)
   * leaves the schedule, and one an admin paused meanwhile leaves it without starting.
   * Each run records ScheduledSyncsStarted, ScheduledSyncsSkipped (due but not started) and
   * ConnectorsOverdue (due more than two of its intervals ago), zeros included.
   */
  async startDueSyncs(log: Log): Promise<number> {
    const run = { started: 0, skipped: 0, overdue: 0 };
    try {
      for (let batch = 0; batch < SCHEDULE_BATCHES_PER_RUN; batch++) {
        const now = this.clock();
        const due = await this.deps.schedule.findDueConnectors(now.toISOString(), SCHEDULE_BATCH);
        for (const connector of due) await this.startDue(connector, now, run, log);
        if (due.length < SCHEDULE_BATCH) break;
      }
    } finally {
      // Once per run, without a provider: an alarm needs a series, so zeros are recorded too.
      this.deps.metrics?.record('ScheduledSyncsStarted', run.started);
      this.deps.metrics?.record('ScheduledSyncsSkipped', run.skipped);
      this.deps.metrics?.record('ConnectorsOverdue', run.overdue);
    }
    return run.started;
  }

  /** One due connector of a scheduler run: started, or skipped and moved on or off the schedule. */
  private async startDue(
    { tenantId, providerId, nextSyncAt }: { tenantId: string; providerId: ProviderId; nextSyncAt: string },
    now: Date,
    run: { started: number; skipped: number; overdue: number },
    log: Log,
  ): Promise<void> {
    let connector: ConnectorLifecycleState | undefined;
    let cannotStart: Error | undefined;
    try {
      connector = await this.deps.lifecycle.read(tenantId, providerId);
    } catch (error) {
      cannotStart = error as Error;
    }
    const intervalMinutes = connector?.schedule.intervalMinutes ?? DEFAULT_SYNC_INTERVAL_MINUTES;
    if (now.getTime() > Date.parse(nextSyncAt) + OVERDUE_INTERVALS * intervalMinutes * 60_000) {
      run.overdue += 1;
      log.warn('scheduled sync overdue', { tenantId, connectorId: providerId, provider: providerId, nextSyncAt, intervalMinutes });
    }
    if (connector?.schedule.paused) {
      // Paused between the write that scheduled it and now: it leaves the schedule, its time kept for a resume.
      run.skipped += 1;
      await this.deps.schedule.unscheduleWhilePaused(tenantId, providerId, nextSyncAt);
      log.info('scheduled syncs are paused; taken off the schedule', { tenantId, connectorId: providerId });
      return;
    }
    if (connector) {
      try {
        await this.start(tenantId, providerId, 'incremental', log, connector);
        run.started += 1;
      } catch (error) {
        cannotStart = error as Error;
      }
    }
    if (cannotStart) run.skipped += 1;
    // Only a connector that cannot start on its own leaves the schedule; a started, busy or
    // transiently failing one is due again an interval later (a finished sync sets its own next run).
    if (cannotStart instanceof InvalidInputError) await this.deps.schedule.unschedule(tenantId, providerId, nextSyncAt);
    else await this.deps.schedule.postpone(tenantId, providerId, nextSyncAt, nextScheduledSync(now, intervalMinutes));
    if (cannotStart) {
      log.info(cannotStart instanceof InvalidInputError ? 'scheduled sync cannot start; taken off the schedule' : 'scheduled sync postponed', {
        tenantId,
        connectorId: providerId,
        reason: cannotStart.message,
      });
    }
  }

  /**
   * An execution failed, timed out or was aborted: close the sync log (as cancelled, if
   * someone was cancelling it) and set `error`, so no connector stays `syncing` forever. One
   * that failed through FailSync (every failed sync does) has nothing left to recover: closing
   * again is a no-op, logged at debug and not counted. Any other is logged with why it ended
   * (an error when it failed or timed out; a warning when it was stopped, as cancelling does)
   * and counted in RecoveryRuns.
   */
  async recoverExecution(
    state: Pick<SyncState, 'tenantId' | 'providerId' | 'syncId' | 'purge'>,
    ended: { status: string; error?: string | null; cause?: string | null },
    log: Log,
  ): Promise<void> {
    const { status } = ended;
    const why = { errorName: ended.error || status, cause: ended.cause ? loggableCause(ended.cause) : `the execution ended ${status}` };
    const throughFailSync = status === 'FAILED' && why.errorName === FAILED_THROUGH_FAIL_SYNC;
    if (throughFailSync) log.debug('sync execution failed through FailSync, which closed its sync', why);
    else if (status === 'ABORTED') log.warn('sync execution was stopped; recovering its sync', why);
    else log.error('sync execution ended without its failure step; recovering its sync', why);
    const reason =
      status === 'TIMED_OUT' ? 'The sync took too long and was stopped' : status === 'ABORTED' ? 'The sync was stopped' : 'The sync stopped unexpectedly';
    await this.deps.engine.fail(state, { error: 'SyncFailed', cause: `${reason}; it will run again at the next schedule.` }, { recovering: log });
    if (!throughFailSync) {
      this.deps.metrics?.record('RecoveryRuns', 1, { tenantId: state.tenantId, syncId: state.syncId });
      log.info('sync execution recovered');
    }
  }

  /** Starts a sync; `read` is the connector as the caller just read it, if it did. */
  private async start(tenantId: string, providerId: ProviderId, requested: SyncType, log: Log, read?: ConnectorLifecycleState): Promise<string> {
    const adapter = this.deps.syncAdapter(providerId);
    if (!adapter) throw new InvalidInputError(`Syncing ${providerId} is not available in this environment.`);
    const connector = read ?? (await this.deps.lifecycle.read(tenantId, providerId));
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
      recordsSkipped: 0,
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
      // The org's usage as last reported within its rolling day: a sync starting over the budget spends nothing before it re-checks.
      ...(adapter.apiAllowance && connector.apiUsage && Date.parse(connector.apiUsage.observedAt) > Date.parse(now) - API_USAGE_WINDOW_MS && {
        apiUsage: { used: connector.apiUsage.used, limit: connector.apiUsage.limit },
        // Not this sync's own figure: read the usage again before waiting on it.
        budgetWaitedSeconds: 0,
      }),
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
