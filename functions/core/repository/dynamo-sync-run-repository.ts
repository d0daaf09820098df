import { BatchGetCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { entityTypes, type ApiUsage, type EntityCounts, type SyncLog } from '../model';
import type { ProviderId } from '../registry';
import { writeConditionally } from './dynamo-batches';
import { CONNECTOR_SK, connectorPk, COUNTER_ATTRIBUTES, counterAttribute, seenAttribute, syncLogSk } from './keys';
import type { SyncRun, SyncRunRepository } from './types';

const SEEN = entityTypes.map(seenAttribute);

/** `SyncRunRepository` over the single table: a sync run is its log item, beside the connector item. */
export class DynamoSyncRunRepository implements SyncRunRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getRun(tenantId: string, providerId: ProviderId, syncId: string): Promise<SyncRun | null> {
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: connectorPk(tenantId, providerId), sk: syncLogSk(syncId) },
        ProjectionExpression: '#status, cancelReason, execution',
        ExpressionAttributeNames: { '#status': 'status' },
        ConsistentRead: true,
      }),
    );
    if (!answer.Item) return null;
    return {
      status: answer.Item.status as SyncLog['status'],
      cancelReason: (answer.Item.cancelReason as string | undefined) ?? null,
      execution: Number(answer.Item.execution ?? 1),
    };
  }

  async requestCancel(tenantId: string, providerId: ProviderId, syncId: string, reason: string): Promise<boolean> {
    return await this.whileRunning(tenantId, providerId, syncId, {
      UpdateExpression: 'SET cancelReason = if_not_exists(cancelReason, :reason)',
      ExpressionAttributeValues: { ':reason': reason },
    });
  }

  async closeOrphanRun(
    tenantId: string,
    providerId: ProviderId,
    syncId: string,
    end: { status: 'failed' | 'cancelled'; message: string; completedAt: string },
  ): Promise<boolean> {
    return await this.whileRunning(tenantId, providerId, syncId, {
      UpdateExpression: 'SET #status = :status, message = :message, completedAt = :at',
      ExpressionAttributeValues: { ':status': end.status, ':message': end.message, ':at': end.completedAt },
    });
  }

  /** Updates the sync's log only while it still says `running`. */
  private async whileRunning(
    tenantId: string,
    providerId: ProviderId,
    syncId: string,
    change: { UpdateExpression: string; ExpressionAttributeValues: Record<string, unknown> },
  ): Promise<boolean> {
    return await writeConditionally(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: connectorPk(tenantId, providerId), sk: syncLogSk(syncId) },
          ConditionExpression: '#status = :running',
          UpdateExpression: change.UpdateExpression,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':running': 'running', ...change.ExpressionAttributeValues },
        }),
      ),
    );
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

  async recordApiUsage(tenantId: string, providerId: ProviderId, usage: ApiUsage): Promise<void> {
    // Only on a connector that still holds a connection: a disconnect cleared what the old one reported.
    await writeConditionally(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: connectorPk(tenantId, providerId), sk: CONNECTOR_SK },
          ConditionExpression: 'attribute_exists(credentials)',
          UpdateExpression: 'SET apiUsage = :usage',
          ExpressionAttributeValues: { ':usage': usage },
        }),
      ),
    );
  }

  async countSeen(tenantId: string, providerId: ProviderId, syncId: string): Promise<{ live: EntityCounts; seen: EntityCounts } | null> {
    const pk = connectorPk(tenantId, providerId);
    const answer = await this.client.send(
      new BatchGetCommand({
        RequestItems: {
          [this.tableName]: {
            Keys: [{ pk, sk: CONNECTOR_SK }, { pk, sk: syncLogSk(syncId) }],
            ProjectionExpression: ['sk', ...COUNTER_ATTRIBUTES, ...SEEN].join(', '),
            ConsistentRead: true,
          },
        },
      }),
    );
    // Unprocessed keys (throttling): answer "unknown", and the engine sweeps, which is always correct.
    if (Object.keys(answer.UnprocessedKeys ?? {}).length > 0) return null;
    const items = answer.Responses?.[this.tableName] ?? [];
    const connector = items.find((item) => item.sk === CONNECTOR_SK);
    const log = items.find((item) => item.sk !== CONNECTOR_SK);
    const byType = (item: Record<string, unknown> | undefined, attribute: (type: string) => string) =>
      Object.fromEntries(entityTypes.map((type) => [type, Number(item?.[attribute(type)] ?? 0)])) as EntityCounts;
    return { live: byType(connector, counterAttribute), seen: byType(log, seenAttribute) };
  }
}
