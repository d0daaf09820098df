import type { SealedSecret } from '../crypto';
import type { ApiUsage, ConnectorRecord, ConnectorStatus, EntityCounts, EntityType, EntityWrite, PageDelta, SchedulePreference, StoredEntityState, SyncLog } from '../model';
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
  /**
   * Keeps an admin's API budget on the connector (null: back to the default); it outlives
   * disconnects, like the schedule. False when the tenant has no record for the connector.
   */
  setApiBudget(tenantId: string, providerId: ProviderId, budget: number | null, now: string): Promise<boolean>;
}

/** Sealed credentials as stored, with the version every replacement increments. */
export interface StoredCredentials {
  sealed: SealedSecret;
  version: number;
  config: Record<string, unknown>;
}

/** A refresh lease just taken. */
export interface RefreshLease {
  /** Another holder's lease had lapsed without being released: its refresh may still land. */
  tookOverLapsedLease: boolean;
}

/**
 * The credential side of a connector: OAuth flows that end in sealed credentials, and
 * token refreshes that replace them. Writes that must not interleave are conditional.
 */
export interface CredentialRepository {
  getCredentials(tenantId: string, providerId: ProviderId): Promise<StoredCredentials | null>;
  /**
   * Takes the refresh lease if the credentials are still at `version` (the one the caller
   * read) and no live lease exists: across processes, one refresh per stale token. Answers
   * null when it did not; `tookOverLapsedLease` when another holder's lease had lapsed
   * unreleased (its refresh may still be in flight).
   */
  acquireRefreshLease(
    tenantId: string,
    providerId: ProviderId,
    lease: { version: number; owner: string; nowMs: number; untilMs: number },
  ): Promise<RefreshLease | null>;
  /**
   * Replaces the credentials (the rotated refresh token with them) and frees the lease, in
   * one write, if they are still at `version`; `configUpdate` (keys the refresh answer changed,
   * such as an instance URL) is set in the connector's config in the same write. Answers false
   * when a newer version was stored (a reconnect or another refresher) or the credentials were
   * removed (a disconnect).
   */
  storeRefreshedCredentials(
    tenantId: string,
    providerId: ProviderId,
    refreshed: { sealed: SealedSecret; version: number; now: string; configUpdate?: Record<string, unknown> },
  ): Promise<boolean>;
  /** Frees the lease if `owner` still holds it; answers whether it did (false: it lapsed and was taken over, or was freed by a store). */
  releaseRefreshLease(tenantId: string, providerId: ProviderId, owner: string): Promise<boolean>;
}

/** A pending OAuth authorization, found by the hash of its state. */
export interface OAuthFlow {
  tenantId: string;
  providerId: ProviderId;
  codeVerifier: string;
  redirectUri: string;
  expiresAtMs: number;
}

/** Short-lived, single-use OAuth state. */
export interface OAuthStateRepository {
  save(stateHash: string, flow: OAuthFlow): Promise<void>;
  /** Removes and answers the flow in one request, so a state can be used once only. */
  consume(stateHash: string): Promise<OAuthFlow | null>;
}

/** The lifecycle fields of a connector, read strongly consistent. */
export interface ConnectorLifecycleState {
  /** Null when the tenant never had a record for this connector. */
  status: ConnectorStatus | null;
  holdsCredentials: boolean;
  /** The sync (or purge) that owns the connector's entities and counters now. */
  activeSyncId: string | null;
  activeWork: 'sync' | 'purge' | null;
  /** Where the next incremental sync starts; null after any (re)connect: the next sync is full. */
  watermark: Record<string, string> | null;
  /** A digest of the config of the source last connected (kept across disconnects). */
  sourceKey: string | null;
  /** Reconnected to another source: the next full sync removes whatever it does not see. */
  sweepUnseen: boolean;
  pendingAuthExpiresAt: string | null;
  /** Entities the connector holds now (the sum of its counters). */
  liveEntities: number;
  /** The admin's schedule: what every next scheduled sync is computed from. */
  schedule: SchedulePreference;
  /** The org's API usage as its provider last reported it (null: never, or not since the last connection). */
  apiUsage: ApiUsage | null;
}

/**
 * Every write of a connector's `status`, `activeSyncId` and watermark: one method per row of
 * the lifecycle table (functions/core/connector-lifecycle.ts), each one conditional write
 * from the row's states. Each answers false when the connector was not in such a state.
 *
 * The rows that set the next scheduled sync (`nextSyncAt`) take `schedulePaused`, as the
 * writer read it: when true, only the time is kept and the connector is not put (back) on the
 * schedule; a resume puts it there (see ScheduleRepository.resume). A pause landing between
 * the read and the write leaves a paused connector on the schedule; the scheduler takes it
 * off when it comes due, without starting it.
 */
export interface ConnectorLifecycleRepository {
  read(tenantId: string, providerId: ProviderId): Promise<ConnectorLifecycleState>;
  /** `connect`: stores an API key's sealed credentials; no sync may be running. */
  connect(
    tenantId: string,
    providerId: ProviderId,
    connection: { id: string; sealed: SealedSecret; config: Record<string, unknown>; sourceKey: string; sweepUnseen: boolean; now: string; nextSyncAt: string; schedulePaused?: boolean },
  ): Promise<boolean>;
  /** `authorizationStarted` (no credentials) or `reauthorizationStarted` (credentials held: status kept). */
  startAuthorization(
    tenantId: string,
    providerId: ProviderId,
    flow: { id: string; stateHash: string; now: string; expiresAt: string },
    holdsCredentials: boolean,
  ): Promise<boolean>;
  /** `authorizationCompleted`, only for the pending flow and while no sync runs. */
  completeAuthorization(
    tenantId: string,
    providerId: ProviderId,
    flow: { stateHash: string; sealed: SealedSecret; config: Record<string, unknown>; sourceKey: string; sweepUnseen: boolean; now: string; nextSyncAt: string; schedulePaused?: boolean },
  ): Promise<boolean>;
  /** `authorizationFailed` (back to `disconnected`, with the message) or `reauthorizationFailed` (nothing but the flow changes). */
  failAuthorization(tenantId: string, providerId: ProviderId, flow: { stateHash: string; message: string; now: string }, holdsCredentials: boolean): Promise<boolean>;
  /** `reauthorizationRequired`: `error` with the message, off the schedule. */
  markReauthorizationRequired(tenantId: string, providerId: ProviderId, message: string, now: string): Promise<boolean>;
  /** `disconnect`: no sync may be running; with `purgeId`, the purge of its entities owns the connector until it ends. */
  disconnect(tenantId: string, providerId: ProviderId, options: { now: string; purgeId?: string }): Promise<boolean>;
  /** The purge is done: its ownership ends and the counters are zero. */
  finishPurge(tenantId: string, providerId: ProviderId, purgeId: string, now: string): Promise<boolean>;
  /** Whether `syncId` (a sync or a purge) still owns the connector's entities and counters. */
  isOwner(tenantId: string, providerId: ProviderId, syncId: string): Promise<boolean>;
  /** `syncStarted`, with the running sync log, in one transaction. */
  beginSync(tenantId: string, providerId: ProviderId, log: SyncLog): Promise<boolean>;
  /**
   * `syncFinished`: log completed, watermark and next schedule kept, counters set to `counts`
   * when given. A sync `stoppedEarly` (the API budget) leaves that note on its log and as the
   * connector's `lastSyncNote`, and keeps any sweep it owed for the next full sync.
   */
  finishSync(
    tenantId: string,
    providerId: ProviderId,
    syncId: string,
    result: { completedAt: string; watermark: Record<string, string> | null; nextSyncAt: string; schedulePaused?: boolean; counts: EntityCounts | null; stoppedEarly?: string },
  ): Promise<boolean>;
  /** `syncFailed`: log failed with the message; the connector `error` (off the schedule when `nextSyncAt` is null). */
  failSync(
    tenantId: string,
    providerId: ProviderId,
    syncId: string,
    failure: { completedAt: string; message: string; nextSyncAt: string | null; schedulePaused?: boolean; reauthorizationRequired?: boolean },
  ): Promise<boolean>;
  /** `syncCancelled`: log cancelled with the reason; the connector `connected`. */
  cancelSync(tenantId: string, providerId: ProviderId, syncId: string, cancellation: { completedAt: string; reason: string }): Promise<boolean>;
}

/** A sync run as its own steps and its canceller need it. */
export interface SyncRun {
  status: SyncLog['status'];
  /** Set when someone asked to cancel it: the reason its log will end with. */
  cancelReason: string | null;
  /** Which execution of the sync (continue-as-new) committed its last page. */
  execution: number;
}

/** Sync runs (their logs) beyond the lifecycle's own writes. */
export interface SyncRunRepository {
  getRun(tenantId: string, providerId: ProviderId, syncId: string): Promise<SyncRun | null>;
  /** Notes, while it runs, that the sync is being cancelled and why. */
  requestCancel(tenantId: string, providerId: ProviderId, syncId: string, reason: string): Promise<boolean>;
  /** Closes a running log whose connector no longer names it (written by an older version). */
  closeOrphanRun(tenantId: string, providerId: ProviderId, syncId: string, end: { status: 'failed' | 'cancelled'; message: string; completedAt: string }): Promise<boolean>;
  /** Records that a running sync changed type (an expired watermark made it full). */
  recordSyncType(tenantId: string, providerId: ProviderId, syncId: string, syncType: SyncLog['syncType']): Promise<void>;
  /** Records the org's API usage a sync observed between pages (pages record theirs with their commit). */
  recordApiUsage(tenantId: string, providerId: ProviderId, usage: ApiUsage): Promise<void>;
  /**
   * After a full read: the counters now, and the entities this sync saw, by type (one request;
   * null when DynamoDB did not answer both). Equal means nothing is left to sweep or reconcile.
   */
  countSeen(tenantId: string, providerId: ProviderId, syncId: string): Promise<{ live: EntityCounts; seen: EntityCounts } | null>;
}

/** An entity as a sync left it: which of the sync's pages created, changed or removed it. */
export interface EntityChange {
  type: EntityType;
  firstSeen: string;
  deleted: boolean;
  deletedIn?: string;
  updatedIn?: string;
}

/** Where a walk over a connector's entities stands: opaque to callers, small JSON the state machine carries. */
export type EntityCursor = Record<string, unknown>;

/** Entities by source id, spread over shards. */
export interface EntityRepository {
  /** The key a sync names an entity by (`findEntities` answers by it). */
  entityKey(ref: { type: string; sourceId: string }): string;
  /**
   * The stored state of these entities (one or more BatchGets); their attributes too with
   * `withAttributes` (a page of partial records merges into them), otherwise only the state fields.
   */
  findEntities(
    tenantId: string,
    providerId: ProviderId,
    refs: { type: string; sourceId: string }[],
    options?: { withAttributes?: boolean },
  ): Promise<Map<string, StoredEntityState>>;
  /** Writes entities whole (BatchWrite, in parallel). */
  writeEntities(tenantId: string, providerId: ProviderId, entities: EntityWrite[]): Promise<void>;
  /**
   * A page of entities a full sync did not see (or that this page already removed), from
   * where `cursor` stands (null: the start); `nextCursor` is null once every entity was read.
   */
  findUnseenEntities(
    tenantId: string,
    providerId: ProviderId,
    sweep: { cursor: EntityCursor | null; syncId: string; pageKey: string; limit: number },
  ): Promise<{ entities: (EntityWrite & StoredEntityState)[]; nextCursor: EntityCursor | null }>;
  /**
   * What a sync has written, in the fields its commits count by: entities one of its pages
   * created (firstSeen), changed (updatedIn) or removed (deletedIn). Reads every entity of the
   * connector: only for settling a sync that stopped mid-page.
   */
  findEntityChangesOfSync(tenantId: string, providerId: ProviderId, syncId: string): Promise<EntityChange[]>;
  /** Live entities by type, counted over every shard: what a completed full sync sets the counters to. */
  countLiveEntities(tenantId: string, providerId: ProviderId): Promise<EntityCounts>;
  /** A page of the connector's entities, live or removed, to delete (a purge); cursors as in `findUnseenEntities`. */
  findPurgePage(
    tenantId: string,
    providerId: ProviderId,
    page: { cursor: EntityCursor | null; limit: number },
  ): Promise<{ entities: { key: Record<string, unknown>; type: EntityType; deleted: boolean }[]; nextCursor: EntityCursor | null }>;
  deleteEntities(keys: Record<string, unknown>[]): Promise<void>;
}

/** One page's commit: its delta, who must still own the connector, and the sync log to add to. */
export interface PageCommit {
  pageKey: string;
  delta: PageDelta;
  /** The `activeSyncId` the commit is fenced on. */
  owner: string;
  /** The sync log that counts the page (none for a purge), and the execution committing it (settling names none). */
  syncLog: { syncId: string; execution?: number } | null;
  /** The org's API usage the page's provider calls reported, kept on the connector. */
  apiUsage?: ApiUsage;
}

/** Page commits that count each page exactly once however often it is retried, fenced on ownership. */
export interface PageLedger {
  /** `duplicate`: the page had been committed already; `lost`: the connector no longer names the owner. */
  commitPage(tenantId: string, providerId: ProviderId, commit: PageCommit): Promise<'committed' | 'duplicate' | 'lost'>;
  /** Which of these pages have been committed (their markers exist). */
  findCommittedPages(tenantId: string, providerId: ProviderId, pageKeys: string[]): Promise<Set<string>>;
}

/** A connector's schedule as stored: the admin's preference and the next scheduled sync. */
export interface StoredSchedule extends SchedulePreference {
  /** When the next scheduled sync is due, kept while paused too; null when the connector has nothing to sync on its own. */
  nextSyncAt: string | null;
}

/**
 * The schedule index and the admin's schedule. A connector is on the schedule (in the sparse
 * index) while it has both `scheduleKey` and `nextSyncAt`: `nextSyncAt` says when (absent: it
 * cannot sync on its own: not connected, or waiting for a person to reconnect), `scheduleKey`
 * that it is not paused. Setting the schedule is not a lifecycle transition: it changes no
 * status and leaves the transition stamp alone.
 */
export interface ScheduleRepository {
  /** Connectors whose next scheduled sync is due, oldest first (never a scan). */
  findDueConnectors(now: string, limit: number): Promise<{ tenantId: string; providerId: ProviderId; nextSyncAt: string }[]>;
  /** Moves a due run that cannot start to a later time (if it is still the run seen). */
  postpone(tenantId: string, providerId: ProviderId, from: string, to: string): Promise<boolean>;
  /** Takes a connector that can never start on its own off the schedule (if its run is still the one seen). */
  unschedule(tenantId: string, providerId: ProviderId, from: string): Promise<boolean>;
  /** Takes a due connector that turned out to be paused off the schedule, keeping its time (if it is still paused and its run the one seen). */
  unscheduleWhilePaused(tenantId: string, providerId: ProviderId, from: string): Promise<boolean>;
  /** The connector's stored schedule (strongly consistent); null when the tenant has no record of the connector. */
  readSchedule(tenantId: string, providerId: ProviderId): Promise<StoredSchedule | null>;
  /** Pauses scheduled syncs: off the schedule, the interval and time kept. False when the connector has no record. */
  pause(tenantId: string, providerId: ProviderId, now: string): Promise<boolean>;
  /**
   * Sets the interval and unpauses: the connector is back on the schedule, its next sync moved
   * `from` the one `readSchedule` answered `to` a new time, or, with `nextSyncAt` null, while it
   * still has none (it gets one when it next connects or syncs). False when its next sync
   * changed meanwhile or it has no record.
   */
  resume(
    tenantId: string,
    providerId: ProviderId,
    schedule: { intervalMinutes: number; nextSyncAt: { from: string; to: string } | null; now: string },
  ): Promise<boolean>;
}
