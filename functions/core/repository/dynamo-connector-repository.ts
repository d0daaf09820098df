import { BatchGetCommand, GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { entityTypes, type ApiUsage, type ConnectorRecord, type EntityCounts, type SyncLog } from '../model';
import type { ProviderId } from '../registry';
import { writeConditionally, type Item } from './dynamo-batches';
import { schedulePreferenceOf } from './dynamo-schedule-repository';
import { CONNECTOR_SK, SYNC_LOG_SK_PREFIX, connectorPk, counterAttribute } from './keys';
import type { ConnectorRepository } from './types';

/** `ConnectorRepository` over the service's single DynamoDB table: what the read procedures show. */
export class DynamoConnectorRepository implements ConnectorRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async listConnectors(tenantId: string, providerIds: readonly ProviderId[]): Promise<ConnectorRecord[]> {
    const keys = providerIds.map((providerId) => ({ pk: connectorPk(tenantId, providerId), sk: CONNECTOR_SK }));
    const records: ConnectorRecord[] = [];
    let request: Record<string, { Keys: Item[]; ConsistentRead: boolean }> | undefined = {
      [this.tableName]: { Keys: keys, ConsistentRead: true },
    };
    // A batch answers unprocessed keys only under throttling; ask again for just those.
    while (request && Object.keys(request).length > 0) {
      const answer = await this.client.send(new BatchGetCommand({ RequestItems: request }));
      for (const item of answer.Responses?.[this.tableName] ?? []) records.push(toConnector(item));
      request = answer.UnprocessedKeys as typeof request;
    }
    return records;
  }

  async getConnectorWithLatestSync(tenantId: string, providerId: ProviderId) {
    const answer = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :firstLog AND :meta',
        ExpressionAttributeValues: {
          ':pk': connectorPk(tenantId, providerId),
          ':firstLog': SYNC_LOG_SK_PREFIX,
          ':meta': CONNECTOR_SK,
        },
        ScanIndexForward: false,
        Limit: 2,
        ConsistentRead: true,
      }),
    );
    let connector: ConnectorRecord | null = null;
    let latestSync: SyncLog | null = null;
    for (const item of answer.Items ?? []) {
      if (item.sk === CONNECTOR_SK) connector = toConnector(item);
      else latestSync ??= toSyncLog(item);
    }
    return { connector, latestSync };
  }

  async getEntityCounts(tenantId: string, providerId: ProviderId): Promise<EntityCounts> {
    const names = Object.fromEntries(entityTypes.map((type, i) => [`#c${i}`, counterAttribute(type)]));
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: connectorPk(tenantId, providerId), sk: CONNECTOR_SK },
        ProjectionExpression: Object.keys(names).join(', '),
        ExpressionAttributeNames: names,
        ConsistentRead: true,
      }),
    );
    const item = answer.Item ?? {};
    return Object.fromEntries(
      entityTypes.map((type) => [type, Number(item[counterAttribute(type)] ?? 0)]),
    ) as EntityCounts;
  }

  async listSyncLogs(tenantId: string, providerId: ProviderId, limit: number): Promise<SyncLog[]> {
    const answer = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :log)',
        ExpressionAttributeValues: { ':pk': connectorPk(tenantId, providerId), ':log': SYNC_LOG_SK_PREFIX },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (answer.Items ?? []).map(toSyncLog);
  }

  async setApiBudget(tenantId: string, providerId: ProviderId, budget: number | null, now: string): Promise<boolean> {
    return await writeConditionally(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: connectorPk(tenantId, providerId), sk: CONNECTOR_SK },
          ConditionExpression: 'attribute_exists(pk)',
          UpdateExpression: budget === null ? 'SET updatedAt = :now REMOVE apiBudget' : 'SET apiBudget = :budget, updatedAt = :now',
          ExpressionAttributeValues: { ':now': now, ...(budget !== null && { ':budget': budget }) },
        }),
      ),
    );
  }
}

function toConnector(item: Item): ConnectorRecord {
  return {
    tenantId: item.tenantId as string,
    providerId: item.providerId as ProviderId,
    id: item.id as string,
    status: item.status as ConnectorRecord['status'],
    config: (item.config as Record<string, unknown> | undefined) ?? {},
    lastSyncAt: (item.lastSyncAt as string | null | undefined) ?? null,
    lastSyncError: (item.lastSyncError as string | null | undefined) ?? null,
    pendingAuthExpiresAt: (item.pendingAuthExpiresAt as string | undefined) ?? null,
    lastSyncNote: (item.lastSyncNote as string | undefined) ?? null,
    ...(item.apiUsage !== undefined && { apiUsage: item.apiUsage as ApiUsage }),
    ...(typeof item.apiBudget === 'number' && { apiBudget: item.apiBudget }),
    ...schedule(item),
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}

/** The schedule fields of a connector item, only those it has; `nextSyncAt` only while it is on the schedule (in the index). */
function schedule(item: Item): Pick<ConnectorRecord, 'scheduleIntervalMinutes' | 'schedulePaused' | 'nextSyncAt'> {
  const { intervalMinutes, paused } = schedulePreferenceOf(item);
  return {
    ...(intervalMinutes !== null && { scheduleIntervalMinutes: intervalMinutes }),
    ...(item.schedulePaused !== undefined && { schedulePaused: paused }),
    ...(item.scheduleKey !== undefined && typeof item.nextSyncAt === 'string' && { nextSyncAt: item.nextSyncAt }),
  };
}

function toSyncLog(item: Item): SyncLog {
  return {
    id: item.id as string,
    tenantId: item.tenantId as string,
    connectorId: item.connectorId as string,
    syncType: item.syncType as SyncLog['syncType'],
    status: item.status as SyncLog['status'],
    recordsCreated: Number(item.recordsCreated ?? 0),
    recordsUpdated: Number(item.recordsUpdated ?? 0),
    recordsDeleted: Number(item.recordsDeleted ?? 0),
    recordsFailed: Number(item.recordsFailed ?? 0),
    recordsSkipped: Number(item.recordsSkipped ?? 0),
    startedAt: item.startedAt as string,
    completedAt: (item.completedAt as string | null | undefined) ?? null,
    message: (item.message as string | null | undefined) ?? null,
  };
}
