import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { entityTypes, type EntityType, type EntityWrite, type PageDelta, type StoredEntityState, type SyncLog } from '../model';
import type { ProviderId } from '../registry';
import {
  CONNECTOR_SK,
  ENTITY_SHARDS,
  SCHEDULE_INDEX,
  SCHEDULE_KEY,
  connectorPk,
  entityPk,
  entityShard,
  entitySk,
  pageMarkerPk,
  syncLogSk,
} from './keys';
import type { EntityChange, SyncRepository, SyncStart } from './types';

type Item = Record<string, unknown>;

/** How long a page marker is kept: longer than any sync can run. */
const PAGE_MARKER_TTL_S = 14 * 24 * 3600;
/** BatchWrite calls in flight at once for one page. */
export const WRITE_CONCURRENCY = 8;

/** `SyncRepository` over the single table. */
export class DynamoSyncRepository implements SyncRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly writeConcurrency = WRITE_CONCURRENCY,
  ) {}

  async beginSync(tenantId: string, providerId: ProviderId, log: SyncLog) {
    const pk = connectorPk(tenantId, providerId);
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { pk, sk: CONNECTOR_SK },
                ConditionExpression: '#status IN (:connected, :error)',
                UpdateExpression: 'SET #status = :syncing, activeSyncId = :syncId, updatedAt = :now',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: {
                  ':connected': 'connected',
                  ':error': 'error',
                  ':syncing': 'syncing',
                  ':syncId': log.id,
                  ':now': log.startedAt,
                },
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: { pk, sk: syncLogSk(log.id), type: 'syncLog', providerId, ...log },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return 'started' as const;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const { status } = await this.getSyncStart(tenantId, providerId);
      return status === 'syncing' ? ('busy' as const) : ('not_connected' as const);
    }
  }

  async getSyncStart(tenantId: string, providerId: ProviderId): Promise<SyncStart> {
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: connectorPk(tenantId, providerId), sk: CONNECTOR_SK },
        ProjectionExpression: `#status, activeSyncId, watermark, ${COUNTERS.join(', ')}`,
        ExpressionAttributeNames: { '#status': 'status' },
        ConsistentRead: true,
      }),
    );
    return {
      status: (answer.Item?.status as SyncStart['status'] | undefined) ?? null,
      activeSyncId: (answer.Item?.activeSyncId as string | undefined) ?? null,
      watermark: (answer.Item?.watermark as Record<string, string> | undefined) ?? null,
      liveEntities: liveEntities(answer.Item),
    };
  }

  async countSeen(tenantId: string, providerId: ProviderId, syncId: string): Promise<{ live: number; seen: number }> {
    const pk = connectorPk(tenantId, providerId);
    const answer = await this.client.send(
      new BatchGetCommand({
        RequestItems: {
          [this.tableName]: {
            Keys: [{ pk, sk: CONNECTOR_SK }, { pk, sk: syncLogSk(syncId) }],
            ProjectionExpression: `sk, recordsSeen, ${COUNTERS.join(', ')}`,
            ConsistentRead: true,
          },
        },
      }),
    );
    // Unprocessed keys (throttling): answer "unknown", and the engine sweeps, which is always correct.
    if (Object.keys(answer.UnprocessedKeys ?? {}).length > 0) return { live: 0, seen: -1 };
    const items = answer.Responses?.[this.tableName] ?? [];
    const connector = items.find((item) => item.sk === CONNECTOR_SK);
    const log = items.find((item) => item.sk !== CONNECTOR_SK);
    return { live: liveEntities(connector), seen: Number(log?.recordsSeen ?? 0) };
  }

  async recordSyncType(tenantId: string, providerId: ProviderId, syncId: string, syncType: SyncLog['syncType']): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: connectorPk(tenantId, providerId), sk: syncLogSk(syncId) },
        UpdateExpression: 'SET syncType = :type',
        ExpressionAttributeValues: { ':type': syncType },
      }),
    );
  }

  async findEntities(tenantId: string, providerId: ProviderId, refs: { type: string; sourceId: string }[]) {
    const found = new Map<string, StoredEntityState>();
    const keys = refs.map((ref) => ({ pk: entityPk(tenantId, providerId, entityShard(ref.sourceId)), sk: entitySk(ref.type, ref.sourceId) }));
    await this.batchGet(keys, 'sk, firstSeen, lastSeenSync, deleted, deletedIn, sourceModifiedAt', (item) =>
      found.set(item.sk as string, {
        firstSeen: item.firstSeen as string,
        lastSeenSync: item.lastSeenSync as string | undefined,
        deleted: item.deleted === true,
        deletedIn: item.deletedIn as string | undefined,
        sourceModifiedAt: item.sourceModifiedAt as string | undefined,
      }),
    );
    return found;
  }

  /** Strongly consistent BatchGets of `keys`, 100 a request, in parallel; unprocessed keys are asked again. */
  private async batchGet(keys: Item[], projection: string, onItem: (item: Item) => void): Promise<void> {
    await inParallel(chunks(keys, 100), this.writeConcurrency, async (chunk) => {
      let request: Record<string, { Keys: Item[]; ProjectionExpression: string; ConsistentRead: boolean }> | undefined = {
        [this.tableName]: { Keys: chunk, ProjectionExpression: projection, ConsistentRead: true },
      };
      while (request && Object.keys(request).length > 0) {
        const answer = await this.client.send(new BatchGetCommand({ RequestItems: request }));
        for (const item of answer.Responses?.[this.tableName] ?? []) onItem(item);
        request = answer.UnprocessedKeys as typeof request;
      }
    });
  }

  async writeEntities(tenantId: string, providerId: ProviderId, entities: EntityWrite[]): Promise<void> {
    const puts = entities.map((entity) => ({
      PutRequest: {
        Item: {
          pk: entityPk(tenantId, providerId, entityShard(entity.sourceId)),
          sk: entitySk(entity.type, entity.sourceId),
          entityType: entity.type,
          ...entity,
        },
      },
    }));
    await inParallel(chunks(puts, 25), this.writeConcurrency, async (chunk) => {
      let pending: Item[] = chunk;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
        const answer = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
        pending = (answer.UnprocessedItems?.[this.tableName] as Item[] | undefined) ?? [];
      }
    });
  }

  async commitPage(tenantId: string, providerId: ProviderId, syncId: string, pageKey: string, delta: PageDelta): Promise<boolean> {
    const pk = connectorPk(tenantId, providerId);
    const counts = Object.entries(delta.counts).filter(([, n]) => n);
    const transact: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
      {
        Put: {
          TableName: this.tableName,
          Item: { pk: pageMarkerPk(tenantId, providerId), sk: pageKey, type: 'pageMarker', expiresAt: Math.floor(Date.now() / 1000) + PAGE_MARKER_TTL_S },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Update: {
          TableName: this.tableName,
          Key: { pk, sk: syncLogSk(syncId) },
          UpdateExpression: 'ADD recordsCreated :created, recordsUpdated :updated, recordsFailed :failed, recordsSeen :seen',
          ExpressionAttributeValues: { ':created': delta.created, ':updated': delta.updated, ':failed': delta.failed, ':seen': delta.seen },
        },
      },
    ];
    if (counts.length > 0) {
      transact.push({
        Update: {
          TableName: this.tableName,
          Key: { pk, sk: CONNECTOR_SK },
          UpdateExpression: `ADD ${counts.map((_, i) => `#c${i} :c${i}`).join(', ')}`,
          ExpressionAttributeNames: Object.fromEntries(counts.map(([type], i) => [`#c${i}`, `count_${type}`])),
          ExpressionAttributeValues: Object.fromEntries(counts.map(([, n], i) => [`:c${i}`, n])),
        },
      });
    }
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: transact }));
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException && error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
      throw error;
    }
  }

  async findUnseenEntities(
    tenantId: string,
    providerId: ProviderId,
    sweep: { shard: number; startKey: Record<string, unknown> | null; syncId: string; pageKey: string; limit: number },
  ) {
    // Limit bounds the items read, before the filter: a retried sweep page reads the same items.
    const answer = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: '(lastSeenSync <> :sync AND deleted = :false) OR deletedIn = :page',
        ExpressionAttributeValues: { ':pk': entityPk(tenantId, providerId, sweep.shard), ':sync': sweep.syncId, ':false': false, ':page': sweep.pageKey },
        ExclusiveStartKey: sweep.startKey ?? undefined,
        Limit: sweep.limit,
        ConsistentRead: true,
      }),
    );
    return {
      entities: (answer.Items ?? []).map((item) => ({
        type: item.entityType as EntityWrite['type'],
        sourceId: item.sourceId as string,
        attributes: (item.attributes as Record<string, unknown>) ?? {},
        sourceModifiedAt: item.sourceModifiedAt as string | undefined,
        firstSeen: item.firstSeen as string,
        lastSeenSync: item.lastSeenSync as string,
        deleted: item.deleted === true,
        deletedIn: item.deletedIn as string | undefined,
      })),
      nextKey: (answer.LastEvaluatedKey as Record<string, unknown> | undefined) ?? null,
    };
  }

  async findEntityChangesOfSync(tenantId: string, providerId: ProviderId, syncId: string): Promise<EntityChange[]> {
    const shards = Array.from({ length: ENTITY_SHARDS }, (_, shard) => shard);
    const changes: EntityChange[][] = await Promise.all(
      shards.map(async (shard) => {
        const found: EntityChange[] = [];
        let startKey: Item | undefined;
        do {
          const answer = await this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: 'pk = :pk',
              FilterExpression: 'begins_with(firstSeen, :pages) OR begins_with(deletedIn, :pages)',
              ProjectionExpression: 'entityType, firstSeen, deleted, deletedIn',
              ExpressionAttributeValues: { ':pk': entityPk(tenantId, providerId, shard), ':pages': `${syncId}#` },
              ExclusiveStartKey: startKey,
              ConsistentRead: true,
            }),
          );
          for (const item of answer.Items ?? []) {
            found.push({ type: item.entityType as EntityType, firstSeen: item.firstSeen as string, deleted: item.deleted === true, deletedIn: item.deletedIn as string | undefined });
          }
          startKey = answer.LastEvaluatedKey;
        } while (startKey);
        return found;
      }),
    );
    return changes.flat();
  }

  async findCommittedPages(tenantId: string, providerId: ProviderId, pageKeys: string[]): Promise<Set<string>> {
    const committed = new Set<string>();
    const pk = pageMarkerPk(tenantId, providerId);
    await this.batchGet(
      pageKeys.map((sk) => ({ pk, sk })),
      'sk',
      (item) => committed.add(item.sk as string),
    );
    return committed;
  }

  async isSyncRunning(tenantId: string, providerId: ProviderId, syncId: string): Promise<boolean> {
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: connectorPk(tenantId, providerId), sk: syncLogSk(syncId) },
        ProjectionExpression: '#status',
        ExpressionAttributeNames: { '#status': 'status' },
        ConsistentRead: true,
      }),
    );
    return answer.Item?.status === 'running';
  }

  async finishSync(
    tenantId: string,
    providerId: ProviderId,
    syncId: string,
    result: { completedAt: string; watermark: Record<string, string> | null; nextSyncAt: string },
  ): Promise<void> {
    const pk = connectorPk(tenantId, providerId);
    await this.endSync(pk, syncId, {
      connector: {
        UpdateExpression:
          'SET #status = :connected, lastSyncAt = :at, lastSyncError = :null, watermark = :watermark, scheduleKey = :scheduled, nextSyncAt = :next, updatedAt = :at REMOVE activeSyncId',
        ExpressionAttributeValues: {
          ':connected': 'connected',
          ':at': result.completedAt,
          ':null': null,
          ':watermark': result.watermark ?? {},
          ':scheduled': SCHEDULE_KEY,
          ':next': result.nextSyncAt,
        },
      },
      log: { status: 'completed', completedAt: result.completedAt },
    });
  }

  async failSync(
    tenantId: string,
    providerId: ProviderId,
    syncId: string,
    failure: { completedAt: string; message: string; nextSyncAt: string | null },
  ): Promise<void> {
    const pk = connectorPk(tenantId, providerId);
    const schedule = failure.nextSyncAt
      ? { set: ', scheduleKey = :scheduled, nextSyncAt = :next', values: { ':scheduled': SCHEDULE_KEY, ':next': failure.nextSyncAt } }
      : { set: '', values: {} };
    await this.endSync(pk, syncId, {
      connector: {
        UpdateExpression: `SET #status = :error, lastSyncError = :message, updatedAt = :at${schedule.set} REMOVE activeSyncId${failure.nextSyncAt ? '' : ', scheduleKey, nextSyncAt'}`,
        ExpressionAttributeValues: { ':error': 'error', ':message': failure.message, ':at': failure.completedAt, ...schedule.values },
      },
      log: { status: 'failed', completedAt: failure.completedAt, error: failure.message },
    });
  }

  /**
   * Closes the sync log (if still running) and, if the connector still runs this sync, its
   * status: a disconnect or a newer sync in between is left alone.
   */
  private async endSync(
    pk: string,
    syncId: string,
    update: { connector: { UpdateExpression: string; ExpressionAttributeValues: Item }; log: Item },
  ): Promise<void> {
    const logNames = Object.fromEntries(Object.keys(update.log).map((name, i) => [`#l${i}`, name]));
    const logValues = Object.fromEntries(Object.values(update.log).map((value, i) => [`:l${i}`, value]));
    const closeLog = {
      Update: {
        TableName: this.tableName,
        Key: { pk, sk: syncLogSk(syncId) },
        ConditionExpression: '#status = :running',
        UpdateExpression: `SET ${Object.keys(logNames).map((name, i) => `${name} = :l${i}`).join(', ')}`,
        ExpressionAttributeNames: { ...logNames, '#status': 'status' },
        ExpressionAttributeValues: { ...logValues, ':running': 'running' },
      },
    };
    const connector = {
      Update: {
        TableName: this.tableName,
        Key: { pk, sk: CONNECTOR_SK },
        ConditionExpression: 'activeSyncId = :syncId',
        ...update.connector,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ...update.connector.ExpressionAttributeValues, ':syncId': syncId },
      },
    };
    // Each write on its own condition: a finished log and a connector that moved on are both fine.
    for (const item of [connector, closeLog]) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: [item] }));
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
      }
    }
  }

  async findDueConnectors(now: string, limit: number) {
    const due: { tenantId: string; providerId: ProviderId }[] = [];
    let startKey: Item | undefined;
    do {
      const answer = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: SCHEDULE_INDEX,
          KeyConditionExpression: 'scheduleKey = :scheduled AND nextSyncAt <= :now',
          ExpressionAttributeValues: { ':scheduled': SCHEDULE_KEY, ':now': now },
          ProjectionExpression: 'tenantId, providerId',
          Limit: limit - due.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of answer.Items ?? []) due.push({ tenantId: item.tenantId as string, providerId: item.providerId as ProviderId });
      startKey = answer.LastEvaluatedKey;
    } while (startKey && due.length < limit);
    return due;
  }
}

const COUNTERS = entityTypes.map((type) => `count_${type}`);

function liveEntities(item: Item | undefined): number {
  return COUNTERS.reduce((sum, counter) => sum + Number(item?.[counter] ?? 0), 0);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `work` over `items` with at most `concurrency` in flight. */
async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}
