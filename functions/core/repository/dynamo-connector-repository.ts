import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { entityTypes, type ConnectorRecord, type EntityCounts, type SyncLog } from '../model';
import type { ProviderId } from '../registry';
import { CONNECTOR_SK, SYNC_LOG_SK_PREFIX, connectorPk, syncLogSk } from './keys';
import type { ConnectorRepository } from './types';

type Item = Record<string, unknown>;

/** Counter attribute per entity type, kept on the connector item so one GetItem reads all. */
const counterAttribute = (type: string) => `count_${type}`;

/** `ConnectorRepository` over the service's single DynamoDB table. */
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

  async saveConnector(record: ConnectorRecord): Promise<void> {
    const fields: Item = {
      type: 'connector',
      tenantId: record.tenantId,
      providerId: record.providerId,
      id: record.id,
      status: record.status,
      config: record.config,
      lastSyncAt: record.lastSyncAt,
      lastSyncError: record.lastSyncError,
      updatedAt: record.updatedAt,
    };
    const names: Record<string, string> = {};
    const values: Item = { ':createdAt': record.createdAt };
    const sets = Object.entries(fields).map(([name, value], i) => {
      names[`#f${i}`] = name;
      values[`:f${i}`] = value;
      return `#f${i} = :f${i}`;
    });
    // An update, not a put: counters and credentials written by other paths survive.
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: connectorPk(record.tenantId, record.providerId), sk: CONNECTOR_SK },
        UpdateExpression: `SET ${sets.join(', ')}, createdAt = if_not_exists(createdAt, :createdAt)`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async adjustEntityCounts(tenantId: string, providerId: ProviderId, delta: Partial<EntityCounts>): Promise<void> {
    const entries = Object.entries(delta).filter(([, n]) => n !== undefined && n !== 0);
    if (entries.length === 0) return;
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: connectorPk(tenantId, providerId), sk: CONNECTOR_SK },
        UpdateExpression: `ADD ${entries.map((_, i) => `#c${i} :c${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(entries.map(([type], i) => [`#c${i}`, counterAttribute(type)])),
        ExpressionAttributeValues: Object.fromEntries(entries.map(([, n], i) => [`:c${i}`, n])),
      }),
    );
  }

  async saveSyncLog(providerId: ProviderId, log: SyncLog): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: connectorPk(log.tenantId, providerId), sk: syncLogSk(log.id), type: 'syncLog', ...log },
      }),
    );
  }

  async markDisconnected(tenantId: string, providerId: ProviderId, now: string): Promise<ConnectorRecord | null> {
    try {
      const answer = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: connectorPk(tenantId, providerId), sk: CONNECTOR_SK },
          ConditionExpression: 'attribute_exists(pk)',
          UpdateExpression:
            'SET #status = :disconnected, config = :empty, lastSyncError = :null, updatedAt = :now REMOVE credentials, pendingStateHash, refreshLeaseOwner, refreshLeaseUntil, activeSyncId, scheduleKey, nextSyncAt',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':disconnected': 'disconnected', ':empty': {}, ':null': null, ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return answer.Attributes ? toConnector(answer.Attributes) : null;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
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
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
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
    recordsFailed: Number(item.recordsFailed ?? 0),
    startedAt: item.startedAt as string,
    completedAt: (item.completedAt as string | null | undefined) ?? null,
  };
}
