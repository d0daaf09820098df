import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ConnectorRecord, EntityCounts, EntityWrite, SyncLog } from '../../functions/core/model';
import type { ProviderId } from '../../functions/core/registry';
import { DynamoConnectorRepository } from '../../functions/core/repository/dynamo-connector-repository';
import { DynamoEntityRepository } from '../../functions/core/repository/dynamo-entity-repository';
import { CONNECTOR_SK, connectorPk, counterAttribute, syncLogSk } from '../../functions/core/repository/keys';

/**
 * The production read repository plus writes that put state in place directly, for tests
 * only: the production ports write status and counters only through the lifecycle and the
 * page ledger, which is what the tests then exercise.
 */
export class TestConnectorStore extends DynamoConnectorRepository {
  constructor(
    private readonly documentClient: DynamoDBDocumentClient,
    private readonly table: string,
  ) {
    super(documentClient, table);
  }

  /** Creates the connector or overwrites its state fields; counters are kept. */
  async saveConnector(record: ConnectorRecord & { activeSyncId?: string }): Promise<void> {
    const fields = Object.entries({ type: 'connector', ...record }).filter(([, value]) => value !== undefined);
    await this.documentClient.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: connectorPk(record.tenantId, record.providerId), sk: CONNECTOR_SK },
        UpdateExpression: `SET ${fields.map((_, i) => `#f${i} = :f${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(fields.map(([name], i) => [`#f${i}`, name])),
        ExpressionAttributeValues: Object.fromEntries(fields.map(([, value], i) => [`:f${i}`, value])),
      }),
    );
  }

  /** Adds to the connector's entity counters (negative numbers subtract). */
  async adjustEntityCounts(tenantId: string, providerId: ProviderId, delta: Partial<EntityCounts>): Promise<void> {
    const entries = Object.entries(delta).filter(([, n]) => n);
    if (entries.length === 0) return;
    await this.documentClient.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: connectorPk(tenantId, providerId), sk: CONNECTOR_SK },
        UpdateExpression: `ADD ${entries.map((_, i) => `#c${i} :c${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(entries.map(([type], i) => [`#c${i}`, counterAttribute(type)])),
        ExpressionAttributeValues: Object.fromEntries(entries.map(([, n], i) => [`:c${i}`, n])),
      }),
    );
  }

  async saveSyncLog(providerId: ProviderId, log: SyncLog): Promise<void> {
    await this.documentClient.send(
      new PutCommand({ TableName: this.table, Item: { pk: connectorPk(log.tenantId, providerId), sk: syncLogSk(log.id), type: 'syncLog', ...log } }),
    );
  }

  /** Live entities stored, by type, counted item by item: what the counters must equal. */
  async liveEntities(tenantId: string, providerId: ProviderId): Promise<EntityCounts> {
    return await new DynamoEntityRepository(this.documentClient, this.table).countLiveEntities(tenantId, providerId);
  }

  /** Writes entities whole, as a sync would, without counting them. */
  async writeEntities(tenantId: string, providerId: ProviderId, entities: EntityWrite[]): Promise<void> {
    await new DynamoEntityRepository(this.documentClient, this.table).writeEntities(tenantId, providerId, entities);
  }
}
