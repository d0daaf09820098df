import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ProviderId } from '../registry';
import { writeConditionally, type Item } from './dynamo-batches';
import { CONNECTOR_SK, SCHEDULE_INDEX, SCHEDULE_KEY, connectorPk } from './keys';
import type { ScheduleRepository, StoredSchedule } from './types';

/** One conditional update of the connector item. */
interface ScheduleChange {
  ConditionExpression: string;
  UpdateExpression: string;
  ExpressionAttributeValues?: Record<string, unknown>;
}

/**
 * `ScheduleRepository` over the sparse schedule index (`scheduleKey` = SCHEDULED, sorted by
 * `nextSyncAt`) and the admin's schedule on the connector item (`scheduleIntervalMinutes`,
 * `schedulePaused`). An item is in the index only while it has both key attributes: a paused
 * connector keeps `nextSyncAt` without `scheduleKey`.
 */
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

  async unscheduleWhilePaused(tenantId: string, providerId: ProviderId, from: string): Promise<boolean> {
    // Only `scheduleKey`: the time stays, for a resume to start from; a resume meanwhile wins.
    return await this.update(tenantId, providerId, {
      ConditionExpression: 'nextSyncAt = :from AND schedulePaused = :paused',
      UpdateExpression: 'REMOVE scheduleKey',
      ExpressionAttributeValues: { ':from': from, ':paused': true },
    });
  }

  async readSchedule(tenantId: string, providerId: ProviderId): Promise<StoredSchedule | null> {
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: this.key(tenantId, providerId),
        ProjectionExpression: 'pk, scheduleIntervalMinutes, schedulePaused, nextSyncAt',
        ConsistentRead: true,
      }),
    );
    const item = answer.Item;
    if (!item) return null;
    return { ...schedulePreferenceOf(item), nextSyncAt: (item.nextSyncAt as string | undefined) ?? null };
  }

  async pause(tenantId: string, providerId: ProviderId, now: string): Promise<boolean> {
    return await this.update(tenantId, providerId, {
      ConditionExpression: 'attribute_exists(pk)',
      UpdateExpression: 'SET schedulePaused = :paused, updatedAt = :now REMOVE scheduleKey',
      ExpressionAttributeValues: { ':paused': true, ':now': now },
    });
  }

  async resume(
    tenantId: string,
    providerId: ProviderId,
    schedule: { intervalMinutes: number; nextSyncAt: { from: string; to: string } | null; now: string },
  ): Promise<boolean> {
    const { nextSyncAt } = schedule;
    // `scheduleKey` even without a next sync: a connect or sync that read the connector paused
    // just before this write sets only `nextSyncAt`, and must still land on the schedule.
    const set = ['scheduleIntervalMinutes = :interval', 'schedulePaused = :paused', 'scheduleKey = :scheduled', 'updatedAt = :now'];
    return await this.update(tenantId, providerId, {
      ConditionExpression: nextSyncAt ? 'nextSyncAt = :from' : 'attribute_exists(pk) AND attribute_not_exists(nextSyncAt)',
      UpdateExpression: `SET ${[...set, ...(nextSyncAt ? ['nextSyncAt = :to'] : [])].join(', ')}`,
      ExpressionAttributeValues: {
        ':interval': schedule.intervalMinutes,
        ':paused': false,
        ':scheduled': SCHEDULE_KEY,
        ':now': schedule.now,
        ...(nextSyncAt && { ':from': nextSyncAt.from, ':to': nextSyncAt.to }),
      },
    });
  }

  /** Changes the connector's schedule only if its next run is still the one seen: one rescheduled meanwhile keeps its new time. */
  private async ifStillAt(
    tenantId: string,
    providerId: ProviderId,
    from: string,
    change: { UpdateExpression: string; ExpressionAttributeValues?: Record<string, unknown> },
  ): Promise<boolean> {
    return await this.update(tenantId, providerId, {
      ConditionExpression: 'nextSyncAt = :from',
      UpdateExpression: change.UpdateExpression,
      ExpressionAttributeValues: { ':from': from, ...change.ExpressionAttributeValues },
    });
  }

  private async update(tenantId: string, providerId: ProviderId, change: ScheduleChange): Promise<boolean> {
    return await writeConditionally(() => this.client.send(new UpdateCommand({ TableName: this.tableName, Key: this.key(tenantId, providerId), ...change })));
  }

  private key(tenantId: string, providerId: ProviderId) {
    return { pk: connectorPk(tenantId, providerId), sk: CONNECTOR_SK };
  }
}

/** The admin's schedule from a connector item (nothing stored: the default interval, not paused). */
export function schedulePreferenceOf(item: Item | undefined): { intervalMinutes: number | null; paused: boolean } {
  const interval = item?.scheduleIntervalMinutes;
  return { intervalMinutes: interval === undefined || interval === null ? null : Number(interval), paused: item?.schedulePaused === true };
}
