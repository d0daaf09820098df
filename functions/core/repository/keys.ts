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

export function connectorPk(tenantId: string, providerId: ProviderId): string {
  assertTenantId(tenantId);
  return `TENANT#${tenantId}#CONNECTOR#${providerId}`;
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
