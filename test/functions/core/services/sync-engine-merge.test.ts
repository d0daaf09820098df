import { afterEach, describe, expect, it } from 'vitest';
import { databaseIdFor } from '../../../../functions/core/connector-ref';
import type { SyncLog, SyncState } from '../../../../functions/core/model';
import { createRepositories } from '../../../../functions/core/repository';
import type { CredentialService } from '../../../../functions/core/services/credential-service';
import { SyncEngine, nextScheduledSync } from '../../../../functions/core/services/sync-engine';
import { SyncService } from '../../../../functions/core/services/sync-service';
import type { SourceRecord, SyncAdapter } from '../../../../functions/providers/types';
import { crashingStores, type CrashPoint } from '../../../support/crashing-stores';
import { freshTable } from '../../../support/dynamodb';
import { caller, recordingLog } from '../../../support/log';

const sealed = { v: 1, keyId: 'k', wrappedKey: 'w', iv: 'i', ciphertext: 'c', tag: 't' } as never;
const TENANT = 'acme';

/** A whole record, as every adapter but a delta-reading one sends them. */
const whole = (sourceId: string, attributes: Record<string, unknown>): SourceRecord => ({ type: 'people', sourceId, attributes });
/** A record that carries only what changed. */
const partial = (sourceId: string, attributes: Record<string, unknown>): SourceRecord => ({ type: 'people', sourceId, partial: true, attributes });

/**
 * The engine's merge-or-replace rule against DynamoDB Local: an adapter whose pages a test
 * scripts (one list of records per page), the sync service starting syncs, and a loop that
 * runs the engine's steps as the state machine would, retrying a step that crashed.
 */
async function harness(crashAt: (point: CrashPoint, page: string | undefined) => boolean = () => false) {
  const table = await freshTable();
  let pages: SourceRecord[][] = [];
  const adapter: SyncAdapter = {
    providerId: 'o365',
    fullSyncSeesEverything: true,
    listsRecordsOnce: true,
    effectiveSyncType: (requested) => requested,
    readPage: async (_credentials, _config, request) => {
      const index = Number(request.cursor?.page ?? 0);
      const last = index + 1 >= pages.length;
      return { records: pages[index] ?? [], failed: 0, nextCursor: last ? null : { page: index + 1 }, watermark: last ? { at: String(Date.now()) } : null };
    },
  };
  const stores = crashingStores(table.client, table.tableName, crashAt);
  const repositories = createRepositories(table.client, table.tableName);
  const reads: ({ withAttributes?: boolean } | undefined)[] = [];
  const entities = Object.assign(Object.create(stores.entities) as typeof stores.entities, {
    findEntities: async (...args: Parameters<typeof stores.entities.findEntities>) => {
      reads.push(args[3]);
      return await stores.entities.findEntities(...args);
    },
  });
  const credentials = { withCredentials: async (_t: string, _p: string, call: (c: unknown, config: unknown) => Promise<unknown>) => call({ kind: 'apiKey', apiKey: 'k' }, {}) };
  const engine = new SyncEngine({ ...stores, entities, credentials: credentials as unknown as CredentialService, syncAdapter: () => adapter });
  const started: SyncState[] = [];
  const service = new SyncService({
    ...repositories,
    engine,
    syncAdapter: () => adapter,
    executions: { start: async (_name, state) => void started.push(state), stop: async () => undefined },
  });
  const now = new Date().toISOString();
  const connection = { id: databaseIdFor(TENANT, 'o365'), sealed, config: {}, sourceKey: 'source', sweepUnseen: false, now };
  expect(await repositories.lifecycle.connect(TENANT, 'o365', { ...connection, nextSyncAt: nextScheduledSync(new Date()), schedulePaused: false })).toBe(true);

  return {
    table,
    reads,
    /** Runs one sync over these pages to its end; answers its log. */
    async sync(scripted: SourceRecord[][], fullSync = false): Promise<SyncLog & { crashes: number }> {
      pages = scripted;
      await service.triggerSync(caller(TENANT), 'o365', fullSync);
      let state = started.pop()!;
      const log = recordingLog();
      let crashes = 0;
      while (state.phase !== 'done') {
        try {
          state = state.phase === 'read' ? await engine.readPage(state, log) : await engine.sweepPage(state, log);
        } catch (error) {
          // A Lambda that died mid-step: Step Functions runs the same step again.
          if ((error as Error).name !== 'Lambda.Unknown') throw error;
          crashes += 1;
          continue;
        }
        if (state.continuation) state = state.continuation;
      }
      await engine.finish(state, log);
      const [latest] = await repositories.connectors.listSyncLogs(TENANT, 'o365', 1);
      return { ...latest!, crashes };
    },
    async attributes(sourceId: string) {
      const found = await repositories.entities.findEntities(TENANT, 'o365', [{ type: 'people', sourceId }], { withAttributes: true });
      return found.get(repositories.entities.entityKey({ type: 'people', sourceId }))?.attributes;
    },
    people: async () => (await repositories.connectors.getEntityCounts(TENANT, 'o365')).people,
  };
}

describe('SyncEngine: partial records', () => {
  let h: Awaited<ReturnType<typeof harness>>;
  afterEach(() => h?.table.destroy());

  it('merges a partial update into the stored attributes; a null removes one; only a real change counts', async () => {
    h = await harness();
    await h.sync([[whole('a', { name: 'Ada', company: 'Contoso', jobTitle: 'Buyer' }), whole('b', { name: 'Ben', company: 'Fabrikam' })]]);

    const second = await h.sync([[partial('a', { jobTitle: 'CTO' }), partial('b', { company: 'Fabrikam' }), partial('c', { name: 'Cy', company: null })]]);

    expect(second).toMatchObject({ status: 'completed', recordsCreated: 1, recordsUpdated: 1 });
    expect(await h.attributes('a')).toEqual({ name: 'Ada', company: 'Contoso', jobTitle: 'CTO' });
    expect(await h.attributes('b')).toEqual({ name: 'Ben', company: 'Fabrikam' });
    // Nothing stored to merge into: the record's own attributes, without its nulls.
    expect(await h.attributes('c')).toEqual({ name: 'Cy' });

    expect(await h.sync([[partial('a', { company: null })]])).toMatchObject({ recordsCreated: 0, recordsUpdated: 1 });
    expect(await h.attributes('a')).toEqual({ name: 'Ada', jobTitle: 'CTO' });
    // Removing what is already gone changes nothing.
    expect(await h.sync([[partial('a', { company: null })]])).toMatchObject({ recordsUpdated: 0 });
    expect(await h.people()).toBe(3);
  });

  it('applies two partial records of one entity in one page, in order', async () => {
    h = await harness();
    await h.sync([[whole('a', { name: 'Ada', company: 'Contoso', jobTitle: 'Buyer' })]]);
    expect(await h.sync([[partial('a', { jobTitle: 'CTO', company: null }), partial('a', { company: 'Litware' })]])).toMatchObject({ recordsUpdated: 1 });
    expect(await h.attributes('a')).toEqual({ name: 'Ada', company: 'Litware', jobTitle: 'CTO' });
  });

  it('still replaces attributes with a whole record, and reads stored attributes only for pages that merge', async () => {
    h = await harness();
    await h.sync([[whole('a', { name: 'Ada', company: 'Contoso' })]]);
    h.reads.length = 0;

    expect(await h.sync([[whole('a', { name: 'Ada' })]])).toMatchObject({ recordsUpdated: 1 });
    expect(await h.attributes('a')).toEqual({ name: 'Ada' });
    expect(h.reads).toEqual([undefined]);

    await h.sync([[partial('a', { jobTitle: 'CTO' })]]);
    expect(h.reads).toEqual([undefined, { withAttributes: true }]);
  });

  for (const point of ['afterPartialWrites', 'beforeCommit', 'afterCommit'] as const) {
    it(`counts a page of partial updates once when it crashes ${point} and is retried`, async () => {
      const crashed = new Set<string>();
      let armed = false;
      h = await harness((at, page) => {
        if (!armed || at !== point || !page || crashed.has(page)) return false;
        crashed.add(page);
        return true;
      });
      await h.sync([[whole('a', { name: 'Ada', jobTitle: 'Buyer' }), whole('b', { name: 'Ben', jobTitle: 'Buyer' }), whole('c', { name: 'Cy' }), whole('d', { name: 'Di' })]]);
      armed = true;

      const retried = await h.sync([
        [partial('a', { jobTitle: 'CTO' }), partial('b', { jobTitle: null }), partial('c', { name: 'Cy' }), partial('d', { company: 'Litware' })],
        [partial('e', { name: 'Eve' })],
      ]);

      expect(retried.crashes).toBeGreaterThan(0);
      expect(retried).toMatchObject({ status: 'completed', recordsCreated: 1, recordsUpdated: 3 });
      expect(await h.attributes('a')).toEqual({ name: 'Ada', jobTitle: 'CTO' });
      expect(await h.attributes('b')).toEqual({ name: 'Ben' });
      expect(await h.attributes('d')).toEqual({ name: 'Di', company: 'Litware' });
      expect(await h.people()).toBe(5);
    });
  }
});
