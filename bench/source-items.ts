/**
 * The entity items a sync of the sandbox would write, built before any sync runs: every
 * record read through the real Salesforce adapter, turned into the item
 * DynamoSyncRepository.writeEntities puts (same attributes, same key scheme; sync ids of
 * the same length as real ones). The baseline writes these, so both sides write the same bytes.
 */
import { obtainSandboxTokens } from '../local/sandboxes/salesforce';
import { SalesforceAdapter } from '../functions/providers/salesforce/salesforce-adapter';
import type { SyncCursor } from '../functions/providers/types';
import { entityPk, entityShard, entitySk } from '../functions/core/repository/keys';
import type { Item } from './baseline';

/** A sync id as triggerSync makes them (`sync_` + ULID), fixed so items are the same every run. */
const SYNC_ID = 'sync_01KBENCH0000000000000000AA';

export async function sourceItems(sandbox: { url: string; clientId: string; clientSecret: string }, tenantId: string): Promise<Item[]> {
  const tokens = await obtainSandboxTokens(sandbox);
  const adapter = new SalesforceAdapter({ loginUrl: sandbox.url, clientId: sandbox.clientId, clientSecret: async () => sandbox.clientSecret });
  const credentials = { kind: 'oauth2' as const, accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
  const config = { instanceUrl: tokens.instance_url };
  const items: Item[] = [];
  let cursor: SyncCursor | null = null;
  let pageNo = 0;
  do {
    const page = await adapter.readPage(credentials, config, { mode: 'full', cursor, watermark: null });
    for (const record of page.records) {
      items.push({
        pk: entityPk(tenantId, 'salesforce', entityShard(record.sourceId)),
        sk: entitySk(record.type, record.sourceId),
        entityType: record.type,
        type: record.type,
        sourceId: record.sourceId,
        attributes: record.attributes,
        sourceModifiedAt: record.modifiedAt,
        lastSeenSync: SYNC_ID,
        firstSeen: `${SYNC_ID}#${pageNo}`,
        deleted: false,
      });
    }
    cursor = page.nextCursor;
    pageNo += 1;
  } while (cursor);
  return items;
}
