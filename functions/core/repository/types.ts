import type { SealedSecret } from '../crypto';
import type { ConnectorRecord, EntityCounts, EntityType, EntityWrite, PageDelta, StoredEntityState, SyncLog } from '../model';
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

/** Sealed credentials as stored, with the version every replacement increments. */
export interface StoredCredentials {
  sealed: SealedSecret;
  version: number;
  config: Record<string, unknown>;
}

/**
 * The credential side of a connector: OAuth flows that end in sealed credentials, and
 * token refreshes that replace them. Writes that must not interleave are conditional.
 */
export interface CredentialRepository {
  /**
   * Creates the connector if needed and sets it `pending_auth` for this flow (the newest
   * flow wins). @throws ConflictError while a sync is running.
   */
  beginAuthorization(tenantId: string, providerId: ProviderId, flow: { id: string; stateHash: string; now: string }): Promise<void>;
  /**
   * Stores the sealed credentials, `connected`, the config and the first scheduled sync in
   * one write, only if this flow is still the pending one. Answers false when it is not.
   */
  completeAuthorization(
    tenantId: string,
    providerId: ProviderId,
    flow: { stateHash: string; sealed: SealedSecret; config: Record<string, unknown>; now: string; nextSyncAt: string },
  ): Promise<boolean>;
  /**
   * Ends a failed flow with a message: back to `connected` when older credentials remain,
   * else `disconnected`; only if this flow is still the pending one.
   */
  failAuthorization(tenantId: string, providerId: ProviderId, flow: { stateHash: string; message: string; now: string }): Promise<boolean>;
  /**
   * Creates or updates the connector as `connected` with these sealed credentials, its
   * config and the first scheduled sync, in one write. @throws ConflictError while a sync runs.
   */
  storeCredentials(
    tenantId: string,
    providerId: ProviderId,
    connection: { id: string; sealed: SealedSecret; config: Record<string, unknown>; now: string; nextSyncAt: string },
  ): Promise<void>;
  getCredentials(tenantId: string, providerId: ProviderId): Promise<StoredCredentials | null>;
  /**
   * Takes the refresh lease if the credentials are still at `version` and no live lease
   * exists: across processes, one refresh per stale token.
   */
  acquireRefreshLease(
    tenantId: string,
    providerId: ProviderId,
    lease: { version: number; owner: string; nowMs: number; untilMs: number },
  ): Promise<boolean>;
  /** Replaces the credentials (the rotated refresh token with them) and frees the lease, in one write. */
  storeRefreshedCredentials(
    tenantId: string,
    providerId: ProviderId,
    refreshed: { sealed: SealedSecret; version: number; owner: string; now: string },
  ): Promise<boolean>;
  releaseRefreshLease(tenantId: string, providerId: ProviderId, owner: string): Promise<void>;
  /** The grant is gone: `error`, with a message that says re-authorization is needed. */
  markReauthorizationRequired(tenantId: string, providerId: ProviderId, message: string, now: string): Promise<void>;
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

/** Where a sync of this connector can start from. */
export interface SyncStart {
  status: ConnectorRecord['status'] | null;
  activeSyncId: string | null;
  watermark: Record<string, string> | null;
  /** Entities the connector holds now (the sum of its counters). */
  liveEntities: number;
}

/** An entity as a sync left it: which of the sync's pages created or removed it. */
export interface EntityChange {
  type: EntityType;
  firstSeen: string;
  deleted: boolean;
  deletedIn?: string;
}

/**
 * The sync engine's storage: starting and ending syncs, entities by source id, and page
 * commits that count each page exactly once however often it is retried.
 */
export interface SyncRepository {
  /**
   * Flips a connected (or failed) connector to `syncing` and writes the running sync log,
   * atomically. Answers why it did not, when it did not.
   */
  beginSync(tenantId: string, providerId: ProviderId, log: SyncLog): Promise<'started' | 'busy' | 'not_connected'>;
  getSyncStart(tenantId: string, providerId: ProviderId): Promise<SyncStart>;
  /** Records that a running sync changed type (an expired watermark made it full). */
  recordSyncType(tenantId: string, providerId: ProviderId, syncId: string, syncType: SyncLog['syncType']): Promise<void>;
  /** The stored state of these entities (one or more BatchGets). */
  findEntities(tenantId: string, providerId: ProviderId, refs: { type: string; sourceId: string }[]): Promise<Map<string, StoredEntityState>>;
  /** Writes entities whole (BatchWrite, in parallel). */
  writeEntities(tenantId: string, providerId: ProviderId, entities: EntityWrite[]): Promise<void>;
  /**
   * Adds a page's delta to the counters and the sync log, with a marker for the page, in
   * one transaction. Answers false when the page had been committed already.
   */
  commitPage(tenantId: string, providerId: ProviderId, syncId: string, pageKey: string, delta: PageDelta): Promise<boolean>;
  /** After a full read: live entities now, and how many this sync saw (one request). Equal means nothing is left to sweep. */
  countSeen(tenantId: string, providerId: ProviderId, syncId: string): Promise<{ live: number; seen: number }>;
  /** A page of entities a full sync did not see (or that this page already removed), from a shard. */
  findUnseenEntities(
    tenantId: string,
    providerId: ProviderId,
    sweep: { shard: number; startKey: Record<string, unknown> | null; syncId: string; pageKey: string; limit: number },
  ): Promise<{ entities: (EntityWrite & StoredEntityState)[]; nextKey: Record<string, unknown> | null }>;
  /**
   * What a sync has written to entities, in the fields its commits count by: entities it
   * created (firstSeen) or removed (deletedIn) on one of its pages. Reads every entity of the
   * connector (a filtered query per shard): only for settling a sync that died mid-page.
   */
  findEntityChangesOfSync(tenantId: string, providerId: ProviderId, syncId: string): Promise<EntityChange[]>;
  /** Which of these pages have been committed (their markers exist). */
  findCommittedPages(tenantId: string, providerId: ProviderId, pageKeys: string[]): Promise<Set<string>>;
  /** Whether the sync's log still says `running` (its own failure or finish step has not closed it). */
  isSyncRunning(tenantId: string, providerId: ProviderId, syncId: string): Promise<boolean>;
  /** Completes the sync: log completed, connector connected with lastSyncAt, watermark and next schedule. */
  finishSync(tenantId: string, providerId: ProviderId, syncId: string, result: { completedAt: string; watermark: Record<string, string> | null; nextSyncAt: string }): Promise<void>;
  /** Fails the sync: log failed, connector `error` with the message (unless it moved on). */
  failSync(tenantId: string, providerId: ProviderId, syncId: string, failure: { completedAt: string; message: string; nextSyncAt: string | null }): Promise<void>;
  /** Connectors whose next scheduled sync is due, from the schedule index (never a scan). */
  findDueConnectors(now: string, limit: number): Promise<{ tenantId: string; providerId: ProviderId }[]>;
}
