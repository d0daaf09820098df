/**
 * The entity items a sync of the sandbox would write, built before any sync runs: every
 * record read through the real Salesforce adapter, turned into the item
 * DynamoSyncRepository.writeEntities puts (same attributes, same key scheme; sync ids of
 * the same length as real ones). The baseline writes these, so both sides write the same bytes.
 *
 * The adapter reads as the stack's does: REST pages, and Bulk API jobs for objects above
 * SALESFORCE_BULK_THRESHOLD (SALESFORCE_BULK_PAGE_SIZE rows a page), from the same
 * environment; the API budget is not consulted (the bench resets the org's usage before each sync).
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { createWriteStream } from 'node:fs';
import { obtainSandboxTokens } from '../local/sandboxes/salesforce';
import { SalesforceAdapter } from '../functions/providers/salesforce/salesforce-adapter';
import type { SyncCursor } from '../functions/providers/types';
import { wholeNumberEnv } from '../functions/core/config';
import { entityPk, entityShard, entitySk } from '../functions/core/repository/keys';
import type { Item, ItemFile } from './baseline';
import { setHelperProcess } from './memory';

/** A sync id as triggerSync makes them (`sync_` + ULID), fixed so items are the same every run. */
const SYNC_ID = 'sync_01KBENCH0000000000000000AA';

type SandboxAddress = { url: string; clientId: string; clientSecret: string };

/** The items of the sandbox's first org, page by page as the adapter reads them. */
async function* sourceItemPages(sandbox: SandboxAddress, tenantId: string): AsyncGenerator<Item[]> {
  const tokens = await obtainSandboxTokens(sandbox);
  const adapter = new SalesforceAdapter({
    loginUrl: sandbox.url,
    clientId: sandbox.clientId,
    clientSecret: async () => sandbox.clientSecret,
    bulk: {
      threshold: wholeNumberEnv(process.env, 'SALESFORCE_BULK_THRESHOLD', 0),
      pageSize: wholeNumberEnv(process.env, 'SALESFORCE_BULK_PAGE_SIZE'),
    },
  });
  const credentials = { kind: 'oauth2' as const, accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
  const config = { instanceUrl: tokens.instance_url };
  let cursor: SyncCursor | null = null;
  let pageNo = 0;
  do {
    const page = await adapter.readPage(credentials, config, { mode: 'full', cursor, watermark: null });
    yield page.records.map((record) => ({
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
    }));
    cursor = page.nextCursor;
    pageNo += 1;
  } while (cursor);
}

/**
 * Every item into `file`, one JSON object a line, a page at a time: a data set of a million
 * items is never held in this process (the stack's, whose memory the bench measures).
 * Answers the file and the items' mean size as JSON.
 */
export async function writeSourceItems(sandbox: SandboxAddress, tenantId: string, file: string): Promise<ItemFile & { itemBytes: number }> {
  const out = createWriteStream(file);
  let length = 0;
  let bytes = 0;
  for await (const page of sourceItemPages(sandbox, tenantId)) {
    const text = page.map((item) => `${JSON.stringify(item)}\n`).join('');
    length += page.length;
    bytes += text.length - page.length;
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { file, length, itemBytes: length ? bytes / length : 0 };
}

/**
 * {@link writeSourceItems} in a child process (source-items-process.ts), so none of its memory
 * stays in this one; the child is named a helper of the bench's (memory.ts), so its CPU and
 * memory are counted neither as the stack's nor as DynamoDB Local's.
 */
export async function writeSourceItemsApart(sandbox: SandboxAddress, tenantId: string, file: string): Promise<ItemFile & { itemBytes: number }> {
  const script = new URL('./source-items-process.ts', import.meta.url).pathname;
  const { url, clientId, clientSecret } = sandbox;
  const running = promisify(execFile)(process.execPath, ['--import', 'tsx', script, JSON.stringify({ url, clientId, clientSecret, tenantId, file })], { maxBuffer: 1 << 20 });
  if (running.child.pid) setHelperProcess(running.child.pid);
  const { stdout } = await running;
  const { length, itemBytes } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { length: number; itemBytes: number };
  return { file, length, itemBytes };
}
