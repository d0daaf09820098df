import { QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ProviderId } from '../registry';
import { writeConditionally, type Item } from './dynamo-batches';
import { CONNECTOR_SK, SCHEDULE_INDEX, SCHEDULE_KEY, connectorPk } from './keys';
import type { ScheduleRepository } from './types';

/** `ScheduleRepository` over the sparse schedule index (`scheduleKey` = SCHEDULED, sorted by `nextSyncAt`). */
export class DynamoScheduleRepository implements ScheduleRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async findDueConnectors(now: string, limit: number) {
    const due: { tenantId: string; providerId: ProviderId; nextSyncAt: string }[] = [];
    let startKey: Item | undefined;
    do {
      const answer = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: SCHEDULE_INDEX,
          KeyConditionExpression: 'scheduleKey = :scheduled AND nextSyncAt <= :now',
          ExpressionAttributeValues: { ':scheduled': SCHEDULE_KEY, ':now': now },
          ProjectionExpression: 'tenantId, providerId, nextSyncAt',
          Limit: limit - due.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of answer.Items ?? []) {
        due.push({ tenantId: item.tenantId as string, providerId: item.providerId as ProviderId, nextSyncAt: item.nextSyncAt as string });
      }
      startKey = answer.LastEvaluatedKey;
    } while (startKey && due.length < limit);
    return due;
  }

  async postpone(tenantId: string, providerId: ProviderId, from: string, to: string): Promise<boolean> {
    return await this.ifStillAt(tenantId, providerId, from, { UpdateExpression: 'SET nextSyncAt = :to', ExpressionAttributeValues: { ':to': to } });
  }

  async unschedule(tenantId: string, providerId: ProviderId, from: string): Promise<boolean> {
    return await this.ifStillAt(tenantId, providerId, from, { UpdateExpression: 'REMOVE scheduleKey, nextSyncAt' });
  }

  /** Changes the connector's schedule only if its next run is still the one seen: one rescheduled meanwhile keeps its new time. */
  private async ifStillAt(
    tenantId: string,
    providerId: ProviderId,
    from: string,
    change: { UpdateExpression: string; ExpressionAttributeValues?: Record<string, unknown> },
  ): Promise<boolean> {
    return await writeConditionally(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: connectorPk(tenantId, providerId), sk: CONNECTOR_SK },
          ConditionExpression: 'nextSyncAt = :from',
          UpdateExpression: change.UpdateExpression,
          ExpressionAttributeValues: { ':from': from, ...change.ExpressionAttributeValues },
        }),
      ),
    );
  }
}
