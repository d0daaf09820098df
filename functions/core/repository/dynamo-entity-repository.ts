import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { entityTypes, type EntityCounts, type EntityType, type EntityWrite, type StoredEntityState } from '../model';
import type { ProviderId } from '../registry';
import { BATCH_CONCURRENCY, batchGet, batchWrite, inParallel, type Item } from './dynamo-batches';
import { ENTITY_SHARDS, entityPk, entityShard, entitySk } from './keys';
import type { EntityChange, EntityCursor, EntityRepository } from './types';

/** `EntityRepository` over the single table: entities spread over ENTITY_SHARDS partitions per connector. */
export class DynamoEntityRepository implements EntityRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly concurrency = BATCH_CONCURRENCY,
  ) {}

  async findEntities(tenantId: string, providerId: ProviderId, refs: { type: string; sourceId: string }[], options: { withAttributes?: boolean } = {}) {
    const found = new Map<string, StoredEntityState>();
    const keys = refs.map((ref) => ({ pk: entityPk(tenantId, providerId, entityShard(ref.sourceId)), sk: entitySk(ref.type, ref.sourceId) }));
    const state = 'sk, firstSeen, lastSeenSync, deleted, deletedIn, updatedIn, attributesHash, sourceModifiedAt';
    await batchGet(
      this.client,
      this.tableName,
      keys,
      options.withAttributes ? `${state}, attributes` : state,
      (item) =>
        found.set(item.sk as string, {
          firstSeen: item.firstSeen as string,
          lastSeenSync: item.lastSeenSync as string | undefined,
          deleted: item.deleted === true,
          deletedIn: item.deletedIn as string | undefined,
          updatedIn: item.updatedIn as string | undefined,
          attributesHash: item.attributesHash as string | undefined,
          sourceModifiedAt: item.sourceModifiedAt as string | undefined,
          ...(options.withAttributes && { attributes: (item.attributes as Record<string, unknown> | undefined) ?? {} }),
        }),
      this.concurrency,
    );
    return found;
  }

  /** The key of an entity as a sync names it (type and source id); only the repository knows the format. */
  entityKey(ref: { type: string; sourceId: string }): string {
    return entitySk(ref.type, ref.sourceId);
  }

  async writeEntities(tenantId: string, providerId: ProviderId, entities: EntityWrite[]): Promise<void> {
    await batchWrite(this.client, this.tableName, entities, this.concurrency, (entity) => ({
      PutRequest: {
        Item: {
          pk: entityPk(tenantId, providerId, entityShard(entity.sourceId)),
          sk: entitySk(entity.type, entity.sourceId),
          entityType: entity.type,
          ...entity,
        },
      },
    }));
  }

  async findUnseenEntities(
    tenantId: string,
    providerId: ProviderId,
    sweep: { cursor: EntityCursor | null; syncId: string; pageKey: string; limit: number },
  ) {
    const { shard, startKey } = shardCursor(sweep.cursor);
    // Limit bounds the items read, before the filter: a retried sweep page reads the same items.
    const answer = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: '(lastSeenSync <> :sync AND deleted = :false) OR deletedIn = :page',
        ExpressionAttributeValues: { ':pk': entityPk(tenantId, providerId, shard), ':sync': sweep.syncId, ':false': false, ':page': sweep.pageKey },
        ExclusiveStartKey: startKey,
        Limit: sweep.limit,
        ConsistentRead: true,
      }),
    );
    return { entities: (answer.Items ?? []).map(toEntity), nextCursor: nextShardCursor(shard, answer.LastEvaluatedKey) };
  }

  async findEntityChangesOfSync(tenantId: string, providerId: ProviderId, syncId: string): Promise<EntityChange[]> {
    const found: EntityChange[] = [];
    await this.queryEveryShard(
      tenantId,
      providerId,
      {
        FilterExpression: 'begins_with(firstSeen, :pages) OR begins_with(deletedIn, :pages) OR begins_with(updatedIn, :pages)',
        ProjectionExpression: 'entityType, firstSeen, deleted, deletedIn, updatedIn',
        ExpressionAttributeValues: { ':pages': `${syncId}#` },
      },
      (item) =>
        found.push({
          type: item.entityType as EntityType,
          firstSeen: item.firstSeen as string,
          deleted: item.deleted === true,
          deletedIn: item.deletedIn as string | undefined,
          updatedIn: item.updatedIn as string | undefined,
        }),
    );
    return found;
  }

  async countLiveEntities(tenantId: string, providerId: ProviderId): Promise<EntityCounts> {
    const counts = Object.fromEntries(entityTypes.map((type) => [type, 0])) as EntityCounts;
    await this.queryEveryShard(
      tenantId,
      providerId,
      { FilterExpression: 'deleted = :false', ProjectionExpression: 'entityType', ExpressionAttributeValues: { ':false': false } },
      (item) => (counts[item.entityType as EntityType] += 1),
    );
    return counts;
  }

  async findPurgePage(tenantId: string, providerId: ProviderId, page: { cursor: EntityCursor | null; limit: number }) {
    const { shard, startKey } = shardCursor(page.cursor);
    const answer = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ProjectionExpression: 'pk, sk, entityType, deleted',
        ExpressionAttributeValues: { ':pk': entityPk(tenantId, providerId, shard) },
        ExclusiveStartKey: startKey,
        Limit: page.limit,
        ConsistentRead: true,
      }),
    );
    return {
      entities: (answer.Items ?? []).map((item) => ({ key: { pk: item.pk, sk: item.sk }, type: item.entityType as EntityType, deleted: item.deleted === true })),
      nextCursor: nextShardCursor(shard, answer.LastEvaluatedKey),
    };
  }

  async deleteEntities(keys: Record<string, unknown>[]): Promise<void> {
    await batchWrite(this.client, this.tableName, keys.map((Key) => ({ DeleteRequest: { Key } })), this.concurrency);
  }

  /** A filtered query over each shard in turn's every page, all shards in parallel. */
  private async queryEveryShard(
    tenantId: string,
    providerId: ProviderId,
    query: { FilterExpression: string; ProjectionExpression: string; ExpressionAttributeValues: Item },
    onItem: (item: Item) => void,
  ): Promise<void> {
    const shards = Array.from({ length: ENTITY_SHARDS }, (_, shard) => shard);
    await inParallel(shards, ENTITY_SHARDS, async (shard) => {
      let startKey: Item | undefined;
      do {
        const answer = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ...query,
            ExpressionAttributeValues: { ...query.ExpressionAttributeValues, ':pk': entityPk(tenantId, providerId, shard) },
            ExclusiveStartKey: startKey,
            ConsistentRead: true,
          }),
        );
        for (const item of answer.Items ?? []) onItem(item);
        startKey = answer.LastEvaluatedKey;
      } while (startKey);
    });
  }
}

/** A walk over the entities goes shard by shard, each from its start key. */
function shardCursor(cursor: EntityCursor | null): { shard: number; startKey: Item | undefined } {
  return { shard: Number(cursor?.shard ?? 0), startKey: (cursor?.startKey as Item | null | undefined) ?? undefined };
}

function nextShardCursor(shard: number, lastKey: Item | undefined): EntityCursor | null {
  if (lastKey) return { shard, startKey: lastKey };
  return shard + 1 < ENTITY_SHARDS ? { shard: shard + 1, startKey: null } : null;
}

function toEntity(item: Item): EntityWrite & StoredEntityState {
  return {
    type: item.entityType as EntityWrite['type'],
    sourceId: item.sourceId as string,
    attributes: (item.attributes as Record<string, unknown>) ?? {},
    sourceModifiedAt: item.sourceModifiedAt as string | undefined,
    firstSeen: item.firstSeen as string,
    lastSeenSync: item.lastSeenSync as string,
    deleted: item.deleted === true,
    deletedIn: item.deletedIn as string | undefined,
    updatedIn: item.updatedIn as string | undefined,
    attributesHash: item.attributesHash as string | undefined,
  };
}
