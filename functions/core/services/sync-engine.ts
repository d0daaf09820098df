import { createHash } from 'node:crypto';
import { CredentialDecryptionError, ProviderError } from '../errors';
import { emptyDelta, entityTypes, SYNC_INTERVAL_MINUTES, type EntityWrite, type PageDelta, type SchedulePreference, type StoredEntityState, type SyncState, type WaitReason } from '../model';
import { findProvider, type ProviderId } from '../registry';
import type { ConnectorLifecycleRepository, EntityRepository, PageLedger, SyncRunRepository } from '../repository/types';
import { executionName } from '../sync-executions';
import type { Credentials, SourcePage, SourceRecord, SyncAdapter, SyncCursor } from '../../providers/types';
import { budgetShare, budgetStopNote, isOverBudget } from '../api-budget';
import type { Log } from './caller';
import type { CredentialService } from './credential-service';
import { PageReadAhead } from './page-read-ahead';

/**
 * How many times SyncPage tries a page whose provider is unavailable: the first attempt and
 * the ProviderUnavailable Retry's MaxAttempts in statemachines/sync.asl.json (a test holds them equal).
 */
export const PROVIDER_ATTEMPTS = 6;
/** Waits for a throttling provider before the sync gives up with its message. */
export const MAX_THROTTLE_WAITS = 5;
/** Entities a sweep page reads (DynamoDB answers at most 1 MB per query, whatever the limit). */
const SWEEP_PAGE_SIZE = 2000;
/** How long until a connector's next scheduled sync, unless an admin chose another interval (`setSchedule`). */
export const DEFAULT_SYNC_INTERVAL_MINUTES = SYNC_INTERVAL_MINUTES.default;

/** Entities a purge page deletes. */
const PURGE_PAGE_SIZE = 1000;

/** The storage a sync's steps use; each port is one concern (see repository/types.ts). */
export interface SyncStores {
  lifecycle: ConnectorLifecycleRepository;
  runs: SyncRunRepository;
  entities: EntityRepository;
  ledger: PageLedger;
}

export interface SyncEngineDeps extends SyncStores {
  credentials: CredentialService;
  syncAdapter: (providerId: ProviderId) => SyncAdapter | undefined;
  clock?: () => Date;
}

/** The names of the errors steps throw on purpose: always before a page writes anything, with a message for users. */
export const STEP_FAILURES: readonly string[] = ['ProviderUnavailable', 'SyncFailed', 'ReauthorizationRequired'] satisfies SyncStepError['name'][];

/** The error a step throws for the state machine: its `name` is what Retry and Catch match. */
export class SyncStepError extends Error {
  declare name: 'ProviderUnavailable' | 'SyncFailed' | 'ReauthorizationRequired';

  constructor(name: SyncStepError['name'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

/**
 * The sync engine: each method is one state of statemachines/sync.asl.json. A page is
 * read, decided against what is stored, written, and committed once: the commit adds the
 * page's counter and progress deltas together with a marker for the page, and an entity
 * created, changed or removed by a page carries that page's key, so a page retried after a
 * crash at any point counts exactly what it would have counted the first time.
 *
 * Ownership is fenced: a step writes entities only after checking that the connector's
 * `activeSyncId` still names its sync, and every commit, finish and failure is conditional
 * on it. A step that finds it lost ownership (the sync was cancelled) writes nothing more and
 * answers phase `abandoned`, which ends the execution quietly.
 */
export class SyncEngine {
  private readonly clock: () => Date;
  /** Kept by the engine, which lives as long as its container: pages read ahead wait here for their task. */
  private readonly readAhead = new PageReadAhead();

  constructor(private readonly deps: SyncEngineDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** Reads, stores and commits one provider page; answers the state for the next step. */
  async readPage(state: SyncState, log: Log): Promise<SyncState> {
    const adapter = this.deps.syncAdapter(state.providerId);
    if (!adapter) throw new SyncStepError('SyncFailed', `Syncing ${state.providerId} is not available yet.`);
    try {
      return await this.storePage(state, adapter, log);
    } finally {
      // Nothing of this task stays in flight once it returns (a Lambda is frozen then).
      await this.readAhead.settled(state.syncId);
    }
  }

  private async storePage(read: SyncState, adapter: SyncAdapter, log: Log): Promise<SyncState> {
    const { tenantId, providerId, syncId } = read;
    let state = read;
    let page: SourcePage;
    try {
      // The credentials are read on every page, read ahead or not: a disconnected connector stops syncing.
      const answer = await this.deps.credentials.withCredentials(tenantId, providerId, async (credentials, config) => {
        const budget = await this.governApiBudget(state, adapter, credentials, config, log);
        if ('instead' in budget) return budget;
        state = budget.state;
        const read = (cursor: SyncCursor | null) => adapter.readPage(credentials, config, { mode: state.syncType, cursor, watermark: state.watermark });
        let page: SourcePage;
        try {
          page = (await this.readAhead.take(state)) ?? (await read(state.cursor as SyncCursor | null));
        } catch (error) {
          // The org's allowance ran out under us (its other integrations spend it too): wait for it like for the budget.
          if (!(error instanceof ProviderError && error.allowanceSpent && adapter.apiAllowance)) throw error;
          return { instead: this.waitForBudget(state, adapter, error.allowanceSpent, budgetShare(adapter.apiAllowance.policy, config.apiBudget), log) };
        }
        // A page that asks to wait is read again after the wait, not ahead of it.
        const readAhead = !(page.restartAsFull || page.wait || page.readNextAfterCommit);
        this.readAhead.served(state, readAhead ? page.nextCursor : null, () => read(page.nextCursor));
        return { page };
      });
      if ('instead' in answer) return answer.instead;
      page = answer.page;
    } catch (error) {
      // A cancelled sync's credentials may be gone: that is not this sync's failure to report.
      if (!(await this.deps.lifecycle.isOwner(tenantId, providerId, syncId))) return abandon(state, log);
      return this.onProviderError(state, error, log);
    }
    if (page.apiUsage) state = { ...state, apiUsage: page.apiUsage };
    // From here on a record may meet its own earlier copy of this sync: look every one up.
    if (page.repeatsEarlierRecords) state = { ...state, firstLoad: false };
    if (page.restartAsFull) {
      log.info('provider watermark expired; continuing as a full sync', { syncId });
      await this.deps.runs.recordSyncType(tenantId, providerId, syncId, 'full');
      const { waitSeconds: _wait, waitReason: _reason, ...rest } = state;
      return { ...rest, syncType: 'full', cursor: null, watermark: null, nextWatermark: null, throttleWaits: 0 };
    }
    if (page.wait) {
      // Nothing to write: the usage is recorded for getStatus, and the state machine waits.
      if (page.apiUsage) await this.deps.runs.recordApiUsage(tenantId, providerId, { ...page.apiUsage, observedAt: this.clock().toISOString() });
      log.debug('sync waits', { syncId, reason: page.wait.reason, waitSeconds: page.wait.seconds });
      return waitFor(state, page.wait, page.nextCursor);
    }

    const pageKey = pageKeyOf(state);
    const { entities } = this.deps;
    const records = latestPerSource(page.records, entities);
    // On a first load nothing is stored yet, except what this sync wrote: a record can meet
    // its own earlier copy only if it changed after the sync started, so only those are read.
    // A partial record is always read: it merges into what is stored (and only then are attributes read at all).
    const toRead = state.firstLoad ? records.filter((r) => r.partial || !r.modifiedAt || r.modifiedAt >= state.startedAt) : records;
    const merges = records.some((r) => r.partial && !r.deleted);
    const existing = await entities.findEntities(tenantId, providerId, toRead, merges ? { withAttributes: true } : undefined);
    const delta: PageDelta = { ...emptyDelta(), failed: page.failed, skipped: page.skipped ?? 0 };
    const writes: EntityWrite[] = [];
    for (const record of records) {
      const write = decide(record, existing.get(entities.entityKey(record)), state, pageKey, delta);
      if (write) writes.push(write);
    }
    if (!(await this.deps.lifecycle.isOwner(tenantId, providerId, syncId))) return abandon(state, log);
    await entities.writeEntities(tenantId, providerId, writes);
    const committed = await this.commit(state, pageKey, delta, page.apiUsage);
    if (committed === 'lost') return abandon(state, log);
    log.debug('sync page stored', { syncId, pageNo: state.pageNo, records: records.length, committed, ...delta });

    if (page.nextCursor) return advance(state, { cursor: page.nextCursor, nextWatermark: page.watermark, phase: 'read' });
    const { phase, countsConfirmed } = await this.afterRead(state, adapter);
    return advance({ ...state, ...(countsConfirmed && { countsConfirmed }) }, { cursor: null, nextWatermark: page.watermark, phase });
  }

  private commit(state: Pick<SyncState, 'tenantId' | 'providerId' | 'syncId' | 'execution' | 'purge'>, pageKey: string, delta: PageDelta, apiUsage?: { used: number; limit: number }) {
    return this.deps.ledger.commitPage(state.tenantId, state.providerId, {
      pageKey,
      delta,
      owner: state.syncId,
      syncLog: state.purge ? null : { syncId: state.syncId, execution: state.execution },
      ...(apiUsage && { apiUsage: { ...apiUsage, observedAt: this.clock().toISOString() } }),
    });
  }

  /**
   * The API budget governor, before each page of a provider whose org shares an API
   * allowance: while the org's usage (as the last call reported it) is at or above the
   * connector's budget, the sync spends nothing and waits in the state machine; after each
   * wait one call reads the usage again (the allowance is a rolling window, so it falls). Once
   * it has waited the policy's longest, the sync ends completed with what it read.
   * Answers the state to go on reading with, or the state to answer `instead` of a page.
   */
  private async governApiBudget(
    state: SyncState,
    adapter: SyncAdapter,
    credentials: Credentials,
    config: Record<string, unknown>,
    log: Log,
  ): Promise<{ state: SyncState } | { instead: SyncState }> {
    const allowance = adapter.apiAllowance;
    if (!allowance || !state.apiUsage) return { state };
    const share = budgetShare(allowance.policy, config.apiBudget);
    if (!isOverBudget(state.apiUsage, share)) {
      // Under the budget (an admin may have raised it while the sync waited): read on.
      const { budgetWaitedSeconds: _waited, ...rest } = state;
      return { state: rest };
    }
    // A figure this sync's last call reported: wait before spending more.
    if (state.budgetWaitedSeconds === undefined) return { instead: this.waitForBudget(state, adapter, state.apiUsage, share, log) };
    // After a wait, or a figure from before this sync: one call reads the usage now.
    let usage: { used: number; limit: number };
    try {
      usage = await allowance.readUsage(credentials, config);
    } catch (error) {
      if (!(error instanceof ProviderError && error.allowanceSpent)) throw error;
      usage = error.allowanceSpent;
    }
    await this.deps.runs.recordApiUsage(state.tenantId, state.providerId, { ...usage, observedAt: this.clock().toISOString() });
    if (isOverBudget(usage, share)) return { instead: this.waitForBudget(state, adapter, usage, share, log) };
    log.info('API usage is below the budget again; the sync goes on', { syncId: state.syncId, ...usage, share, waitedSeconds: state.budgetWaitedSeconds });
    const { budgetWaitedSeconds: _waited, ...rest } = state;
    return { state: { ...rest, apiUsage: usage } };
  }

  /** Over the budget: wait once more in the state machine, or, after the longest wait, end completed with what was read. */
  private waitForBudget(state: SyncState, adapter: SyncAdapter, usage: { used: number; limit: number }, share: number, log: Log): SyncState {
    const { policy } = adapter.apiAllowance!;
    const waited = state.budgetWaitedSeconds ?? 0;
    const { budgetWaitedSeconds: _waited, waitSeconds: _wait, waitReason: _reason, ...rest } = state;
    if (waited >= policy.maxWaitSeconds) {
      log.info('API budget still spent after the longest wait; the sync ends with what it read', { syncId: state.syncId, ...usage, share, waitedSeconds: waited });
      return { ...rest, apiUsage: usage, phase: 'done', cursor: null, stoppedEarly: budgetStopNote(findProvider(state.providerId)?.name ?? state.providerId, usage, share, waited) };
    }
    log.info('API usage is at the budget; the sync waits', { syncId: state.syncId, ...usage, share, waitSeconds: policy.recheckSeconds });
    return waitFor({ ...rest, apiUsage: usage, budgetWaitedSeconds: waited + policy.recheckSeconds }, { seconds: policy.recheckSeconds, reason: 'apiBudget' }, state.cursor as SyncCursor | null);
  }

  /**
   * Where a sync goes once the provider has nothing more: a full sync that read everything
   * sweeps what it did not see, unless it saw every live entity (then nothing can be left).
   */
  private async afterRead(state: SyncState, adapter: SyncAdapter): Promise<{ phase: SyncState['phase']; countsConfirmed?: boolean }> {
    if (state.syncType !== 'full' || !(adapter.fullSyncSeesEverything || state.sweepUnseen)) return { phase: 'done' };
    const tally = await this.deps.runs.countSeen(state.tenantId, state.providerId, state.syncId);
    // Every counted entity seen, type by type: nothing to sweep, and the counters are right.
    const equal = tally !== null && entityTypes.every((type) => tally.live[type] === tally.seen[type]);
    return equal ? { phase: 'done', countsConfirmed: true } : { phase: 'sweep' };
  }

  /** Full syncs end here: entities the source no longer has are removed, one stored page at a time. */
  async sweepPage(state: SyncState, log: Log): Promise<SyncState> {
    const { tenantId, providerId, syncId } = state;
    const pageKey = pageKeyOf(state);
    const { entities, nextCursor: cursor } = await this.deps.entities.findUnseenEntities(tenantId, providerId, {
      cursor: state.cursor,
      syncId,
      pageKey,
      limit: SWEEP_PAGE_SIZE,
    });
    const delta = emptyDelta();
    const tombstones: EntityWrite[] = [];
    for (const entity of entities) {
      delta.counts[entity.type] = (delta.counts[entity.type] ?? 0) - 1;
      delta.deleted += 1;
      // Already removed by a crashed attempt of this very page: count it, do not write it again.
      if (entity.deletedIn !== pageKey) tombstones.push({ ...entity, deleted: true, deletedIn: pageKey });
    }
    if (!(await this.deps.lifecycle.isOwner(tenantId, providerId, syncId))) return abandon(state, log);
    await this.deps.entities.writeEntities(tenantId, providerId, tombstones);
    if ((await this.commit(state, pageKey, delta)) === 'lost') return abandon(state, log);
    return advance(state, { cursor, nextWatermark: state.nextWatermark, phase: cursor ? 'sweep' : 'done' });
  }

  /**
   * A connector disconnected with `purgeData`: one page of its entities deleted, and the
   * counters lowered by the live ones among them, while the purge still owns the connector.
   */
  async purgePage(state: SyncState, log: Log): Promise<SyncState> {
    const { tenantId, providerId, syncId } = state;
    const { entities, nextCursor: cursor } = await this.deps.entities.findPurgePage(tenantId, providerId, { cursor: state.cursor, limit: PURGE_PAGE_SIZE });
    const delta = emptyDelta();
    for (const entity of entities) {
      if (!entity.deleted) delta.counts[entity.type] = (delta.counts[entity.type] ?? 0) - 1;
    }
    if (!(await this.deps.lifecycle.isOwner(tenantId, providerId, syncId))) return abandon(state, log);
    // Commit first: a retried page finds nothing left to delete, and its commit must not count twice.
    if ((await this.commit(state, pageKeyOf(state), delta)) === 'lost') return abandon(state, log);
    await this.deps.entities.deleteEntities(entities.map((entity) => entity.key));
    return advance(state, { cursor, nextWatermark: null, phase: cursor ? 'purge' : 'done' });
  }

  /**
   * Completes the sync: the log and the connector say so, and the next scheduled sync is set.
   * A full sync also reconciles: the counters become the live entities stored, so drift left
   * by anything earlier is repaired. A sync that lost ownership ends without a write.
   */
  async finish(state: SyncState, log: Log): Promise<void> {
    const { tenantId, providerId, syncId } = state;
    const now = this.clock();
    if (state.purge) {
      await this.deps.lifecycle.finishPurge(tenantId, providerId, syncId, now.toISOString());
      return;
    }
    // A full sync reconciles, unless its read already confirmed the counters type by type.
    const counts = state.syncType === 'full' && !state.countsConfirmed ? await this.deps.entities.countLiveEntities(tenantId, providerId) : null;
    const finished = await this.deps.lifecycle.finishSync(tenantId, providerId, syncId, {
      completedAt: now.toISOString(),
      // A sync stopped before its first page keeps the watermark it started from.
      watermark: state.nextWatermark ?? (state.stoppedEarly ? state.watermark : null),
      ...(state.stoppedEarly && { stoppedEarly: state.stoppedEarly }),
      ...(await this.nextSync(tenantId, providerId, now)),
      counts,
    });
    if (!finished) log.info('sync no longer owns the connector; ending without a write', { syncId });
  }

  /**
   * Fails the sync with a sentence a user can act on. Only messages written for users
   * (the domain's) pass through; anything else becomes a generic sentence. Whatever failed,
   * the page in flight may be half written: it is settled first, so the counters stay exact.
   * A sync someone is cancelling ends `cancelled` with their reason instead.
   *
   * FailSync lets a settling error through (Step Functions retries it); the recovery of a
   * dead execution (`recovering`) is the last word on a sync, so it logs the error and
   * closes the sync anyway: no connector may stay `syncing`.
   */
  async fail(
    state: Pick<SyncState, 'tenantId' | 'providerId' | 'syncId'> & Partial<Pick<SyncState, 'purge'>>,
    failure: { error: string; cause: string },
    options: { recovering?: Log } = {},
  ): Promise<void> {
    const { tenantId, providerId, syncId } = state;
    const now = this.clock();
    if (state.purge) {
      // A purge that keeps failing gives the connector back (FailSync retries this write); a later purge finishes the job.
      await this.deps.lifecycle.finishPurge(tenantId, providerId, syncId, now.toISOString());
      return;
    }
    const run = await this.deps.runs.getRun(tenantId, providerId, syncId);
    if (run && run.status !== 'running') return;
    try {
      await this.settle(state);
    } catch (error) {
      if (!options.recovering) throw error;
      options.recovering.error('could not settle the unfinished page of a stopped sync; closing it anyway (its entity counts may be off until the next full sync)', {
        syncId,
        error,
      });
    }
    if (run?.cancelReason) {
      await this.deps.lifecycle.cancelSync(tenantId, providerId, syncId, { completedAt: now.toISOString(), reason: run.cancelReason });
      return;
    }
    const message = userFacingFailure(failure);
    // Only a person can fix a revoked grant or a rejected key: no more scheduled syncs until then.
    const reauthorize = failure.error === 'ReauthorizationRequired';
    const failed = await this.deps.lifecycle.failSync(tenantId, providerId, syncId, {
      completedAt: now.toISOString(),
      message,
      ...(reauthorize ? { nextSyncAt: null } : await this.nextSync(tenantId, providerId, now)),
      reauthorizationRequired: reauthorize,
    });
    // The connector no longer names this sync; its log still must not stay `running`.
    if (!failed) await this.deps.runs.closeOrphanRun(tenantId, providerId, syncId, { status: 'failed', message, completedAt: now.toISOString() });
  }

  /**
   * Commits what a sync wrote on pages that never committed, as far as they got: entities
   * such a page created count as created, changed as updated, removed as deleted. Pages run
   * one after another, so at most one is unfinished; its commit marker makes this safe to
   * repeat, and the commit is fenced, so only a sync that still owns the connector settles.
   * Without it those entities would exist uncounted, and no later sync would count them.
   */
  async settle(state: Pick<SyncState, 'tenantId' | 'providerId' | 'syncId'>): Promise<void> {
    const { tenantId, providerId, syncId } = state;
    if (!(await this.deps.lifecycle.isOwner(tenantId, providerId, syncId))) return;
    const ofThisSync = (pageKey: string | undefined): pageKey is string => pageKey?.startsWith(`${syncId}#`) === true;
    const deltas = new Map<string, PageDelta>();
    const deltaOf = (pageKey: string) => {
      if (!deltas.has(pageKey)) deltas.set(pageKey, emptyDelta());
      return deltas.get(pageKey)!;
    };
    for (const change of await this.deps.entities.findEntityChangesOfSync(tenantId, providerId, syncId)) {
      if (!change.deleted && ofThisSync(change.firstSeen)) {
        const delta = deltaOf(change.firstSeen);
        delta.counts[change.type] = (delta.counts[change.type] ?? 0) + 1;
        delta.created += 1;
      } else if (change.deleted && ofThisSync(change.deletedIn)) {
        const delta = deltaOf(change.deletedIn);
        delta.counts[change.type] = (delta.counts[change.type] ?? 0) - 1;
        delta.deleted += 1;
      } else if (!change.deleted && ofThisSync(change.updatedIn)) {
        deltaOf(change.updatedIn).updated += 1;
      }
    }
    const committed = await this.deps.ledger.findCommittedPages(tenantId, providerId, [...deltas.keys()]);
    for (const [pageKey, delta] of deltas) {
      if (committed.has(pageKey)) continue;
      const answer = await this.deps.ledger.commitPage(tenantId, providerId, { pageKey, delta, owner: syncId, syncLog: { syncId } });
      if (answer === 'lost') return;
    }
  }

  /** The next scheduled sync after one that ends now, at the connector's own interval, read as it stands now. */
  private async nextSync(tenantId: string, providerId: ProviderId, now: Date): Promise<{ nextSyncAt: string; schedulePaused: boolean }> {
    const { schedule } = await this.deps.lifecycle.read(tenantId, providerId);
    return scheduleAfter(now, schedule);
  }

  private onProviderError(state: SyncState, error: unknown, log: Log): SyncState {
    if (error instanceof CredentialDecryptionError) throw new SyncStepError('ReauthorizationRequired', error.message, { cause: error });
    if (!(error instanceof ProviderError)) throw error;
    if (error.reauthorizationRequired) throw new SyncStepError('ReauthorizationRequired', error.message, { cause: error });
    if (!error.retryable) throw new SyncStepError('SyncFailed', error.message, { cause: error });
    if (error.retryAfterSeconds === undefined) {
      // No hint: the state machine's Retry backs off exponentially.
      throw new SyncStepError('ProviderUnavailable', error.message, { cause: error });
    }
    if (state.throttleWaits >= MAX_THROTTLE_WAITS) {
      throw new SyncStepError('SyncFailed', `${error.message} It kept asking us to wait, so the sync stopped; it will run again at the next schedule.`);
    }
    log.info('provider asked us to wait', { syncId: state.syncId, waitSeconds: error.retryAfterSeconds });
    const { waitReason: _reason, ...rest } = state;
    return { ...rest, throttleWaits: state.throttleWaits + 1, waitSeconds: Math.max(1, Math.ceil(error.retryAfterSeconds)) };
  }
}

/** The key that names one page's commit: the same on every retry of that page. */
function pageKeyOf(state: SyncState): string {
  return `${state.syncId}#${state.pageNo}`;
}

/** The sync waits in the state machine (a Wait state named by the reason), then reads `cursor`; no page is used up. */
function waitFor(state: SyncState, wait: { seconds: number; reason: WaitReason }, cursor: SyncCursor | null): SyncState {
  const { continuation: _continuation, continuationName: _name, ...rest } = state;
  // Waits count towards the execution's share, so a long wait loop cannot near the history limit.
  return { ...rest, cursor, waitSeconds: Math.max(1, Math.ceil(wait.seconds)), waitReason: wait.reason, pagesInExecution: state.pagesInExecution + 1 };
}

function advance(state: SyncState, next: Pick<SyncState, 'cursor' | 'nextWatermark' | 'phase'>): SyncState {
  const { waitSeconds: _wait, waitReason: _reason, continuation: _continuation, continuationName: _name, ...rest } = state;
  const advanced: SyncState = { ...rest, ...next, pageNo: state.pageNo + 1, pagesInExecution: state.pagesInExecution + 1, throttleWaits: 0 };
  if (advanced.phase === 'done' || advanced.pagesInExecution < advanced.maxPagesPerExecution) return advanced;
  // This execution has done its share: the next one carries on from here.
  const execution = state.execution + 1;
  return {
    ...advanced,
    continuation: { ...advanced, execution, pagesInExecution: 0 },
    continuationName: executionName(state.syncId, execution),
  };
}

/**
 * A source may list a record twice in one page (it changed while being read); the last one
 * wins, and a partial one is first merged into the one before it, so no change is lost.
 */
function latestPerSource(records: SourceRecord[], entities: Pick<EntityRepository, 'entityKey'>): SourceRecord[] {
  const byKey = new Map<string, SourceRecord>();
  for (const record of records) {
    const key = entities.entityKey(record);
    const earlier = byKey.get(key);
    if (!earlier || earlier.deleted || record.deleted || !record.partial) {
      byKey.set(key, record);
      continue;
    }
    // Two partials stay partial (their nulls still remove stored attributes); onto a whole record, the result is whole.
    const attributes = earlier.partial ? { ...earlier.attributes, ...record.attributes } : mergeAttributes(earlier.attributes, record.attributes);
    byKey.set(key, { ...record, partial: earlier.partial, attributes, modifiedAt: record.modifiedAt ?? earlier.modifiedAt });
  }
  return [...byKey.values()];
}

/** A partial record's attributes merged into stored ones: each key it names replaces the stored one, a null removes it. */
function mergeAttributes(stored: Record<string, unknown>, partial: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...stored };
  for (const [key, value] of Object.entries(partial)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

/**
 * The attributes a record leaves its entity with: its own, or, for a partial record, its own
 * merged into the live entity's (nothing live: its own, without the nulls).
 */
function attributesAfter(record: SourceRecord, stored: StoredEntityState | undefined): Record<string, unknown> {
  if (!record.partial || record.deleted) return record.attributes;
  if (!stored || stored.deleted) return mergeAttributes({}, record.attributes);
  // Merging into attributes that were never read would replace them: a repository that ignored withAttributes.
  if (!stored.attributes) throw new Error('A partial record met a stored entity read without its attributes.');
  return mergeAttributes(stored.attributes, record.attributes);
}

/** A stable digest of a record's attributes (keys sorted at every depth): equal attributes, equal digest. */
function attributesHash(attributes: Record<string, unknown>): string {
  const stable = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(stable)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, stable(v)]))
        : value;
  return createHash('sha256').update(JSON.stringify(stable(attributes))).digest('base64url').slice(0, 22);
}

/**
 * What one source record does to its stored entity, and how it counts: each entity a sync
 * touches counts once, as created, updated (only when its attributes change) or deleted.
 * "Created, changed or removed by this page" (firstSeen, updatedIn or deletedIn equal to the
 * page key) covers an earlier, crashed attempt of the same page: it counts again, exactly
 * once, at the commit. A partial record is merged into the stored attributes first, and
 * merging the same record again gives the same attributes, so a retried page decides alike.
 */
function decide(
  record: SourceRecord,
  stored: StoredEntityState | undefined,
  state: SyncState,
  pageKey: string,
  delta: PageDelta,
): EntityWrite | null {
  const alive = stored !== undefined && !stored.deleted;
  const count = (n: number) => (delta.counts[record.type] = (delta.counts[record.type] ?? 0) + n);
  // Seen for the first time in this sync and live afterwards: what lets a full sync skip its sweep.
  if (!record.deleted && stored?.lastSeenSync !== state.syncId) delta.seen[record.type] = (delta.seen[record.type] ?? 0) + 1;
  // A partial record counts and is written by what the entity holds once merged: unchanged merged attributes are no update.
  const attributes = attributesAfter(record, stored);
  const hash = attributesHash(attributes);
  const base = { type: record.type, sourceId: record.sourceId, attributes, attributesHash: hash, sourceModifiedAt: record.modifiedAt ?? (record.partial ? stored?.sourceModifiedAt : undefined), lastSeenSync: state.syncId };

  if (record.deleted) {
    if (alive || stored?.deletedIn === pageKey) {
      count(-1);
      delta.deleted += 1;
      return alive ? { ...base, firstSeen: stored.firstSeen, deleted: true, deletedIn: pageKey } : null;
    }
    return null;
  }
  if (!stored || (stored.deleted && stored.deletedIn !== pageKey) || stored.firstSeen === pageKey) {
    count(1);
    delta.created += 1;
    return { ...base, firstSeen: pageKey, deleted: false };
  }
  if (stored.updatedIn === pageKey) {
    // An earlier attempt of this page wrote this change and did not commit: count it now.
    delta.updated += 1;
    return { ...base, firstSeen: stored.firstSeen, deleted: false, updatedIn: pageKey };
  }
  // Created or updated on an earlier page of this very sync (an event stream repeats people):
  // the sync already counted that entity once; a later change in the same sync does not count again.
  const ofThisSync = (key: string | undefined) => key?.startsWith(`${state.syncId}#`) === true;
  if (ofThisSync(stored.firstSeen) || ofThisSync(stored.updatedIn)) {
    return { ...base, firstSeen: stored.firstSeen, deleted: false, updatedIn: stored.updatedIn };
  }
  // Entities stored before updates were stamped have no hash: a changed modification time decides for them.
  const changed = stored.attributesHash !== undefined ? stored.attributesHash !== hash : stored.sourceModifiedAt === undefined || stored.sourceModifiedAt !== record.modifiedAt;
  if (changed) {
    delta.updated += 1;
    return { ...base, firstSeen: stored.firstSeen, deleted: false, updatedIn: pageKey };
  }
  // Unchanged: incremental syncs skip it; full syncs write it anyway, to mark it seen.
  if (state.syncType === 'incremental') return null;
  return { ...base, firstSeen: stored.firstSeen, deleted: false, updatedIn: stored.updatedIn };
}

/** The step lost ownership of the connector (its sync was cancelled): end quietly. */
function abandon(state: SyncState, log: Log): SyncState {
  log.info('sync no longer owns the connector; ending without another write', { syncId: state.syncId });
  const { waitSeconds: _wait, waitReason: _reason, continuation: _continuation, continuationName: _name, ...rest } = state;
  return { ...rest, phase: 'abandoned' };
}

/** When a connector's next scheduled sync is due, counted from now: its own interval (null: the default) later. */
export function nextScheduledSync(now: Date, intervalMinutes: number | null = null): string {
  return new Date(now.getTime() + (intervalMinutes ?? DEFAULT_SYNC_INTERVAL_MINUTES) * 60_000).toISOString();
}

/**
 * What a lifecycle write that schedules the next sync records, from the admin's schedule as
 * the writer read it: the time one interval from now, and whether it is paused (then the
 * connector is not put on the schedule; see ConnectorLifecycleRepository).
 */
export function scheduleAfter(now: Date, schedule: SchedulePreference): { nextSyncAt: string; schedulePaused: boolean } {
  return { nextSyncAt: nextScheduledSync(now, schedule.intervalMinutes), schedulePaused: schedule.paused };
}

/** Turns a failed step's error into the connector's lastSyncError. */
function userFacingFailure(failure: { error: string; cause: string }): string {
  // Lambda reports the cause as JSON ({errorMessage, ...}); the local runner as the message itself.
  let message = failure.cause;
  try {
    const parsed = JSON.parse(failure.cause) as { errorMessage?: string };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // not JSON: the message itself
  }
  if (failure.error === 'ProviderUnavailable') {
    // The state machine's retries are spent: say so now, and only now.
    return `${message.replace(/\.?$/, '.')} It did not answer after ${PROVIDER_ATTEMPTS} attempts; check the connection or try again later. The sync will run again at the next schedule.`;
  }
  if (STEP_FAILURES.includes(failure.error)) return message;
  if (failure.error === 'States.Timeout' || failure.error.startsWith('Lambda.')) {
    return 'The sync was interrupted repeatedly and stopped; it will run again at the next schedule.';
  }
  return 'The sync failed unexpectedly; it will run again at the next schedule.';
}
