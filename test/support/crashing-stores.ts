import { createRepositories } from '../../functions/core/repository';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SyncStores } from '../../functions/core/services/sync-engine';

/** Where a sync step may die in a real Lambda; each must be safe to retry. */
export type CrashPoint = 'afterFetch' | 'afterPartialWrites' | 'beforeCommit' | 'afterCommit' | 'beforeFinish';

/**
 * The sync stores over a table, with crashes injected through them (the engine has no hook
 * of its own): `crashAt(point, page)` decides, `page` being the page key where the call names
 * one (commits, and writes of entities a page created or removed).
 */
export function crashingStores(client: DynamoDBDocumentClient, tableName: string, crashAt: (point: CrashPoint, page: string | undefined) => boolean): SyncStores {
  const { lifecycle, runs, entities, ledger } = createRepositories(client, tableName);
  // A page reads its stored entities once per attempt: consecutive calls pair up as an attempt and its retry.
  let reads = 0;
  const crash = (point: CrashPoint, page: string | undefined) => {
    // What Step Functions reports when a Lambda dies mid-invocation.
    if (crashAt(point, page)) throw Object.assign(new Error(`injected crash ${point}`), { name: 'Lambda.Unknown' });
  };
  return {
    runs,
    lifecycle: Object.assign(Object.create(lifecycle) as typeof lifecycle, {
      finishSync: async (...args: Parameters<typeof lifecycle.finishSync>) => {
        crash('beforeFinish', args[2]);
        return await lifecycle.finishSync(...args);
      },
    }),
    entities: Object.assign(Object.create(entities) as typeof entities, {
      findEntities: async (...args: Parameters<typeof entities.findEntities>) => {
        crash('afterFetch', `read-${Math.floor(reads++ / 2)}`);
        return await entities.findEntities(...args);
      },
      writeEntities: async (...args: Parameters<typeof entities.writeEntities>) => {
        const [tenantId, providerId, writes] = args;
        const page = writes.map((write) => write.deletedIn ?? write.updatedIn ?? write.firstSeen).find((key) => key?.includes('#'));
        const half = Math.ceil(writes.length / 2);
        await entities.writeEntities(tenantId, providerId, writes.slice(0, half));
        crash('afterPartialWrites', page);
        await entities.writeEntities(tenantId, providerId, writes.slice(half));
      },
    }),
    ledger: Object.assign(Object.create(ledger) as typeof ledger, {
      commitPage: async (...args: Parameters<typeof ledger.commitPage>) => {
        crash('beforeCommit', args[2].pageKey);
        const answer = await ledger.commitPage(...args);
        crash('afterCommit', args[2].pageKey);
        return answer;
      },
    }),
  };
}
