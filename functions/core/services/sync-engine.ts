import { CredentialDecryptionError, ProviderError } from '../errors';
import type { EntityWrite, PageDelta, StoredEntityState, SyncState } from '../model';
import type { ProviderId } from '../registry';
import { ENTITY_SHARDS, entitySk } from '../repository/keys';
import type { SyncRepository } from '../repository/types';
import type { SourceRecord, SyncAdapter, SyncCursor } from '../../providers/types';
import type { Log } from './caller';
import type { CredentialService } from './credential-service';
import { PageReadAhead } from './page-read-ahead';

/** Waits for a throttling provider before the sync gives up with its message. */
export const MAX_THROTTLE_WAITS = 5;
/** Entities a sweep page reads (DynamoDB answers at most 1 MB per query, whatever the limit). */
const SWEEP_PAGE_SIZE = 2000;
/** How long until a connector's next scheduled sync. */
export const DEFAULT_SYNC_INTERVAL_MINUTES = 60;

/**
 * Where a step may be interrupted on purpose (tests inject crashes there). A real Lambda
 * can die at any of these points; each must be safe to retry.
 */
export type SyncCheckpoint = 'afterFetch' | 'afterPartialWrites' | 'beforeCommit' | 'afterCommit' | 'beforeFinish';

export interface SyncEngineDeps {
  repository: SyncRepository;
  credentials: CredentialService;
  syncAdapter: (providerId: ProviderId) => SyncAdapter | undefined;
  clock?: () => Date;
  checkpoint?: (at: SyncCheckpoint, state: SyncState) => void | Promise<void>;
}

/** The names of the errors steps throw on purpose: always before a page writes anything, with a message for users. */
const STEP_FAILURES: readonly string[] = ['ProviderUnavailable', 'SyncFailed', 'ReauthorizationRequired'] satisfies SyncStepError['name'][];

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
 * created by a page carries that page's key, so a page retried after a crash at any point
 * counts exactly what it would have counted the first time.
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

  private async storePage(state: SyncState, adapter: SyncAdapter, log: Log): Promise<SyncState> {
    let page;
    try {
      // The credentials are read on every page, read ahead or not: a disconnected connector stops syncing.
      page = await this.deps.credentials.withCredentials(state.tenantId, state.providerId, async (credentials, config) => {
        const read = (cursor: SyncCursor | null) => adapter.readPage(credentials, config, { mode: state.syncType, cursor, watermark: state.watermark });
        const page = (await this.readAhead.take(state)) ?? (await read(state.cursor as SyncCursor | null));
        this.readAhead.served(state, page.restartAsFull ? null : page.nextCursor, () => read(page.nextCursor));
        return page;
      });
    } catch (error) {
      return this.onProviderError(state, error, log);
    }
    await this.deps.checkpoint?.('afterFetch', state);
    if (page.restartAsFull) {
      log.info('provider watermark expired; continuing as a full sync', { syncId: state.syncId });
      await this.deps.repository.recordSyncType(state.tenantId, state.providerId, state.syncId, 'full');
      const { waitSeconds: _wait, ...rest } = state;
      return { ...rest, syncType: 'full', cursor: null, watermark: null, nextWatermark: null, throttleWaits: 0 };
    }

    const pageKey = pageKeyOf(state);
    const records = latestPerSource(page.records);
    // On a first load nothing is stored yet, except what this sync wrote: a record can meet
    // its own earlier copy only if it changed after the sync started, so only those are read.
    const toRead = state.firstLoad ? records.filter((r) => !r.modifiedAt || r.modifiedAt >= state.startedAt) : records;
    const existing = await this.deps.repository.findEntities(state.tenantId, state.providerId, toRead);
    const delta: PageDelta = { counts: {}, created: 0, updated: 0, failed: page.failed, seen: 0 };
    const writes: EntityWrite[] = [];
    for (const record of records) {
      const write = decide(record, existing.get(entitySk(record.type, record.sourceId)), state, pageKey, delta);
      if (write) writes.push(write);
    }
    await this.write(state, writes);
    await this.deps.checkpoint?.('beforeCommit', state);
    const committed = await this.deps.repository.commitPage(state.tenantId, state.providerId, state.syncId, pageKey, delta);
    await this.deps.checkpoint?.('afterCommit', state);
    log.debug('sync page stored', { syncId: state.syncId, pageNo: state.pageNo, records: records.length, committed, ...delta });

    return advance(state, { cursor: page.nextCursor, nextWatermark: page.watermark, phase: page.nextCursor ? 'read' : await this.afterRead(state, adapter) });
  }

  /**
   * Where a sync goes once the provider has nothing more: a full sync that read everything
   * sweeps what it did not see, unless it saw every live entity (then nothing can be left).
   */
  private async afterRead(state: SyncState, adapter: SyncAdapter): Promise<SyncState['phase']> {
    if (state.syncType !== 'full' || !adapter.fullSyncSeesEverything) return 'done';
    const { live, seen } = await this.deps.repository.countSeen(state.tenantId, state.providerId, state.syncId);
    return live === seen ? 'done' : 'sweep';
  }

  /** Writes a page's entities; with a checkpoint hook (tests), in two halves with a crash point between. */
  private async write(state: SyncState, writes: EntityWrite[]): Promise<void> {
    if (!this.deps.checkpoint) return await this.deps.repository.writeEntities(state.tenantId, state.providerId, writes);
    const half = Math.ceil(writes.length / 2);
    await this.deps.repository.writeEntities(state.tenantId, state.providerId, writes.slice(0, half));
    await this.deps.checkpoint('afterPartialWrites', state);
    await this.deps.repository.writeEntities(state.tenantId, state.providerId, writes.slice(half));
  }

  /** Full syncs end here: entities the source no longer has are removed, one stored page at a time. */
  async sweepPage(state: SyncState): Promise<SyncState> {
    const shard = Number(state.cursor?.shard ?? 0);
    const pageKey = pageKeyOf(state);
    const { entities, nextKey } = await this.deps.repository.findUnseenEntities(state.tenantId, state.providerId, {
      shard,
      startKey: (state.cursor?.startKey as Record<string, unknown> | undefined) ?? null,
      syncId: state.syncId,
      pageKey,
      limit: SWEEP_PAGE_SIZE,
    });
    const delta: PageDelta = { counts: {}, created: 0, updated: 0, failed: 0, seen: 0 };
    const tombstones: EntityWrite[] = [];
    for (const entity of entities) {
      delta.counts[entity.type] = (delta.counts[entity.type] ?? 0) - 1;
      delta.updated += 1;
      // Already removed by a crashed attempt of this very page: count it, do not write it again.
      if (entity.deletedIn !== pageKey) tombstones.push({ ...entity, deleted: true, deletedIn: pageKey });
    }
    await this.deps.repository.writeEntities(state.tenantId, state.providerId, tombstones);
    await this.deps.checkpoint?.('beforeCommit', state);
    await this.deps.repository.commitPage(state.tenantId, state.providerId, state.syncId, pageKey, delta);
    await this.deps.checkpoint?.('afterCommit', state);
    const cursor = nextKey ? { shard, startKey: nextKey } : shard + 1 < ENTITY_SHARDS ? { shard: shard + 1, startKey: null } : null;
    return advance(state, { cursor, nextWatermark: state.nextWatermark, phase: cursor ? 'sweep' : 'done' });
  }

  /** Completes the sync: the log and the connector say so, and the next scheduled sync is set. */
  async finish(state: SyncState): Promise<void> {
    await this.deps.checkpoint?.('beforeFinish', state);
    const now = this.clock();
    await this.deps.repository.finishSync(state.tenantId, state.providerId, state.syncId, {
      completedAt: now.toISOString(),
      watermark: state.nextWatermark,
      nextSyncAt: new Date(now.getTime() + DEFAULT_SYNC_INTERVAL_MINUTES * 60_000).toISOString(),
    });
  }

  /**
   * Fails the sync with a sentence a user can act on. Only messages written for users
   * (the domain's) pass through; anything else becomes a generic sentence. A step that died
   * on something unexpected (or an execution that was stopped) may have written part of a
   * page without committing it: that page is settled first, so the counters stay exact.
   *
   * FailSync lets a settling error through (Step Functions retries it); the recovery of a
   * dead execution (`recovering`) is the last word on a sync, so it logs the error and
   * closes the sync anyway: no connector may stay `syncing`.
   */
  async fail(
    state: Pick<SyncState, 'tenantId' | 'providerId' | 'syncId'>,
    failure: { error: string; cause: string },
    options: { recovering?: Log } = {},
  ): Promise<void> {
    if (options.recovering || !STEP_FAILURES.includes(failure.error)) {
      try {
        await this.settleUnfinishedPages(state);
      } catch (error) {
        if (!options.recovering) throw error;
        options.recovering.error('could not settle the unfinished page of a stopped sync; closing it anyway (its entity counts may be off)', { syncId: state.syncId, error });
      }
    }
    const message = userFacingFailure(failure);
    const now = this.clock();
    // Only a person can fix a revoked grant or a rejected key: no more scheduled syncs until then.
    const reauthorize = failure.error === 'ReauthorizationRequired';
    await this.deps.repository.failSync(state.tenantId, state.providerId, state.syncId, {
      completedAt: now.toISOString(),
      message,
      nextSyncAt: reauthorize ? null : new Date(now.getTime() + DEFAULT_SYNC_INTERVAL_MINUTES * 60_000).toISOString(),
    });
  }

  /**
   * Commits what a failed sync wrote on pages that never committed, as far as they got:
   * entities such a page created count as created, entities it removed as removed. Pages run
   * one after another, so at most one is unfinished; its commit marker makes this safe to
   * repeat. Without it those entities would exist uncounted, and no later sync would count
   * them (to a later sync they are entities it already has).
   */
  private async settleUnfinishedPages(state: Pick<SyncState, 'tenantId' | 'providerId' | 'syncId'>): Promise<void> {
    const { tenantId, providerId, syncId } = state;
    const ofThisSync = (pageKey: string | undefined): pageKey is string => pageKey?.startsWith(`${syncId}#`) === true;
    const deltas = new Map<string, PageDelta>();
    const deltaOf = (pageKey: string) => {
      if (!deltas.has(pageKey)) deltas.set(pageKey, { counts: {}, created: 0, updated: 0, failed: 0, seen: 0 });
      return deltas.get(pageKey)!;
    };
    for (const change of await this.deps.repository.findEntityChangesOfSync(tenantId, providerId, syncId)) {
      if (!change.deleted && ofThisSync(change.firstSeen)) {
        const delta = deltaOf(change.firstSeen);
        delta.counts[change.type] = (delta.counts[change.type] ?? 0) + 1;
        delta.created += 1;
      } else if (change.deleted && ofThisSync(change.deletedIn)) {
        const delta = deltaOf(change.deletedIn);
        delta.counts[change.type] = (delta.counts[change.type] ?? 0) - 1;
        delta.updated += 1;
      }
    }
    const committed = await this.deps.repository.findCommittedPages(tenantId, providerId, [...deltas.keys()]);
    for (const [pageKey, delta] of deltas) {
      if (!committed.has(pageKey)) await this.deps.repository.commitPage(tenantId, providerId, syncId, pageKey, delta);
    }
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
    return { ...state, throttleWaits: state.throttleWaits + 1, waitSeconds: Math.max(1, Math.ceil(error.retryAfterSeconds)) };
  }
}

/** The key that names one page's commit: the same on every retry of that page. */
function pageKeyOf(state: SyncState): string {
  return `${state.syncId}#${state.pageNo}`;
}

function advance(state: SyncState, next: Pick<SyncState, 'cursor' | 'nextWatermark' | 'phase'>): SyncState {
  const { waitSeconds: _wait, continuation: _continuation, continuationName: _name, ...rest } = state;
  const advanced: SyncState = { ...rest, ...next, pageNo: state.pageNo + 1, pagesInExecution: state.pagesInExecution + 1, throttleWaits: 0 };
  if (advanced.phase === 'done' || advanced.pagesInExecution < advanced.maxPagesPerExecution) return advanced;
  // This execution has done its share: the next one carries on from here.
  const execution = state.execution + 1;
  return {
    ...advanced,
    continuation: { ...advanced, execution, pagesInExecution: 0 },
    continuationName: `${state.syncId}-${execution}`,
  };
}

/** A source may list a record twice in one page (it changed while being read); the last one wins. */
function latestPerSource(records: SourceRecord[]): SourceRecord[] {
  const byKey = new Map<string, SourceRecord>();
  for (const record of records) byKey.set(entitySk(record.type, record.sourceId), record);
  return [...byKey.values()];
}

/**
 * What one source record does to its stored entity, and how it counts. "Created by this
 * page" (firstSeen or deletedIn equal to the page key) covers an earlier, crashed attempt.
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
  if (!record.deleted && stored?.lastSeenSync !== state.syncId) delta.seen += 1;
  const base = { type: record.type, sourceId: record.sourceId, attributes: record.attributes, sourceModifiedAt: record.modifiedAt, lastSeenSync: state.syncId };

  if (record.deleted) {
    if (alive || stored?.deletedIn === pageKey) {
      count(-1);
      delta.updated += 1;
      return alive ? { ...base, firstSeen: stored.firstSeen, deleted: true, deletedIn: pageKey } : null;
    }
    return null;
  }
  if (!stored || (stored.deleted && stored.deletedIn !== pageKey) || stored.firstSeen === pageKey) {
    count(1);
    delta.created += 1;
    return { ...base, firstSeen: pageKey, deleted: false };
  }
  const unchanged = stored.sourceModifiedAt !== undefined && stored.sourceModifiedAt === record.modifiedAt;
  // Incremental syncs skip what did not change; full syncs write it anyway, to mark it seen.
  if (unchanged && state.syncType === 'incremental') return null;
  if (!unchanged) delta.updated += 1;
  return { ...base, firstSeen: stored.firstSeen, deleted: false };
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
  if (STEP_FAILURES.includes(failure.error)) return message;
  if (failure.error === 'States.Timeout' || failure.error.startsWith('Lambda.')) {
    return 'The sync was interrupted repeatedly and stopped; it will run again at the next schedule.';
  }
  return 'The sync failed unexpectedly; it will run again at the next schedule.';
}
