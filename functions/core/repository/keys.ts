import { entityTypes } from '../model';
import type { ProviderId } from '../registry';

/**
 * Key formats of the single table; only the repository imports this module.
 *
 * One partition per (tenant, connector) holds the connector item and its sync logs:
 *   pk = TENANT#<tenantId>#CONNECTOR#<providerId>
 *   sk = META            the connector (status, config, sealed credentials, entity counters)
 *   sk = LOG#<syncId>    one sync run; sync ids sort by time, so LOG# items sort by start
 * `LOG#` < `META`, so one descending query over that range yields the connector first and
 * then its newest logs: getStatus is one request.
 */

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

/** Guards key building: a tenant id that could smuggle a key separator never reaches a key. */
export function assertTenantId(tenantId: string): void {
  if (!TENANT_ID.test(tenantId)) throw new Error('refusing to build a key from an invalid tenant id');
}

/** Every tenant's partition key begins so; nothing outside a tenant's data does. */
export const TENANT_PK_PREFIX = 'TENANT#';

export function connectorPk(tenantId: string, providerId: ProviderId): string {
  assertTenantId(tenantId);
  return `${TENANT_PK_PREFIX}${tenantId}#CONNECTOR#${providerId}`;
}

export const CONNECTOR_SK = 'META';
export const SYNC_LOG_SK_PREFIX = 'LOG#';

export function syncLogSk(syncId: string): string {
  return SYNC_LOG_SK_PREFIX + syncId;
}

/**
 * OAuth state lives outside any tenant partition: the provider's redirect carries no
 * token, so the state itself is the only key the callback has. The key is a hash of the
 * state, so a leaked table does not hand out usable states.
 */
export function oauthStatePk(stateHash: string): string {
  return `OAUTH_STATE#${stateHash}`;
}

/** Entities spread over this many partitions per connector: one partition takes ~1,000 writes/s in AWS. */
export const ENTITY_SHARDS = 16;

/** The partition of one entity: a stable hash of its source id picks the shard. */
export function entityPk(tenantId: string, providerId: ProviderId, shard: number): string {
  return `${connectorPk(tenantId, providerId)}#ENTITY#${shard}`;
}

export function entityShard(sourceId: string): number {
  let hash = 2166136261;
  for (let i = 0; i < sourceId.length; i++) hash = Math.imul(hash ^ sourceId.charCodeAt(i), 16777619);
  return (hash >>> 0) % ENTITY_SHARDS;
}

export function entitySk(type: string, sourceId: string): string {
  return `${type}#${sourceId}`;
}

/** Markers of committed sync pages, one partition per connector, swept by TTL. */
export function pageMarkerPk(tenantId: string, providerId: ProviderId): string {
  return `${connectorPk(tenantId, providerId)}#PAGES`;
}

/** The connector item's counter of one entity type (counters live on the connector item, so one GetItem reads all). */
export function counterAttribute(type: string): string {
  return `count_${type}`;
}

/** Every counter attribute of the connector item. */
export const COUNTER_ATTRIBUTES = entityTypes.map(counterAttribute);

/** The sync log's tally of one entity type's entities the sync saw (the per-type counterpart of the counters). */
export function seenAttribute(type: string): string {
  return `seen_${type}`;
}

/** The sparse index of connectors with a next scheduled sync: `scheduleKey` = SCHEDULED, sorted by `nextSyncAt`. */
export const SCHEDULE_INDEX = 'bySchedule';
export const SCHEDULE_KEY = 'SCHEDULED';
