import { GetCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SealedSecret } from '../crypto';
import { lifecycle, type LifecycleRow } from '../connector-lifecycle';
import type { ApiUsage, ConnectorStatus, EntityCounts, SyncLog } from '../model';
import type { ProviderId } from '../registry';
import { transactConditionally, writeConditionally, type Item } from './dynamo-batches';
import { schedulePreferenceOf } from './dynamo-schedule-repository';
import { CONNECTOR_SK, SCHEDULE_KEY, connectorPk, COUNTER_ATTRIBUTES, counterAttribute, syncLogSk } from './keys';
import type { ConnectorLifecycleRepository, ConnectorLifecycleState } from './types';

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;
type Update = NonNullable<TransactItems[number]['Update']>;

/** What a write does besides the status: its SET and REMOVE clauses, values, and any further condition. */
interface Change {
  set?: string[];
  remove?: string[];
  values?: Item;
  names?: Record<string, string>;
  condition?: string;
}

/**
 * A connection may be made while no sync runs; a purge of the old connection's data may go on
 * (the first sync then waits for it to end).
 */
const NO_RUNNING_SYNC = '(attribute_not_exists(activeSyncId) OR activeWork = :purging)';

/**
 * What a connector loses when it stops being connected to a source. The admin's schedule
 * (`scheduleIntervalMinutes`, `schedulePaused`) is not part of it: a reconnect keeps it.
 */
const CONNECTION_FIELDS = ['credentials', 'pendingStateHash', 'pendingAuthExpiresAt', 'refreshLeaseOwner', 'refreshLeaseUntil', 'watermark', 'scheduleKey', 'nextSyncAt', 'apiUsage', 'lastSyncNote'];

/** What a (re)connection starts without: the old flow's leftovers, the watermark (the next sync is full), and what the old source reported. */
const CLEARED_ON_CONNECT = ['pendingStateHash', 'pendingAuthExpiresAt', 'refreshLeaseOwner', 'refreshLeaseUntil', 'watermark', 'apiUsage', 'lastSyncNote'];

/**
 * `ConnectorLifecycleRepository` over the single table: each method is one row of the
 * lifecycle table (functions/core/connector-lifecycle.ts) written as one conditional write,
 * whose condition is the row's `from` states plus its guard. Answers false when the
 * connector was not in a state the row allows.
 */
export class DynamoLifecycleRepository implements ConnectorLifecycleRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async read(tenantId: string, providerId: ProviderId): Promise<ConnectorLifecycleState> {
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: this.key(tenantId, providerId),
        ProjectionExpression: `#status, activeSyncId, activeWork, watermark, sourceKey, sweepUnseen, pendingAuthExpiresAt, #credentials, scheduleIntervalMinutes, schedulePaused, apiUsage, ${COUNTER_ATTRIBUTES.join(', ')}`,
        ExpressionAttributeNames: { '#status': 'status', '#credentials': 'credentials' },
        ConsistentRead: true,
      }),
    );
    const item = answer.Item;
    return {
      status: (item?.status as ConnectorStatus | undefined) ?? null,
      holdsCredentials: item?.credentials !== undefined,
      activeSyncId: (item?.activeSyncId as string | undefined) ?? null,
      activeWork: (item?.activeWork as 'sync' | 'purge' | undefined) ?? null,
      watermark: (item?.watermark as Record<string, string> | undefined) ?? null,
      sourceKey: (item?.sourceKey as string | undefined) ?? null,
      sweepUnseen: item?.sweepUnseen === true,
      pendingAuthExpiresAt: (item?.pendingAuthExpiresAt as string | undefined) ?? null,
      liveEntities: COUNTER_ATTRIBUTES.reduce((sum, counter) => sum + Number(item?.[counter] ?? 0), 0),
      schedule: schedulePreferenceOf(item),
      apiUsage: (item?.apiUsage as ApiUsage | undefined) ?? null,
    };
  }

  async connect(
    tenantId: string,
    providerId: ProviderId,
    connection: { id: string; sealed: SealedSecret; config: Record<string, unknown>; sourceKey: string; sweepUnseen: boolean; now: string; nextSyncAt: string; schedulePaused?: boolean },
  ) {
    return await this.write(tenantId, providerId, 'connect', {
      ...this.newConnection(tenantId, providerId, connection),
      condition: NO_RUNNING_SYNC,
      remove: CLEARED_ON_CONNECT,
    });
  }

  async startAuthorization(
    tenantId: string,
    providerId: ProviderId,
    flow: { id: string; stateHash: string; now: string; expiresAt: string },
    holdsCredentials: boolean,
  ) {
    const pending = { ':hash': flow.stateHash, ':expires': flow.expiresAt };
    if (holdsCredentials) {
      return await this.write(tenantId, providerId, 'reauthorizationStarted', {
        condition: 'attribute_exists(#credentials)',
        names: { '#credentials': 'credentials' },
        set: ['pendingStateHash = :hash', 'pendingAuthExpiresAt = :expires'],
        values: { ...pending, ':now': flow.now },
      });
    }
    return await this.write(tenantId, providerId, 'authorizationStarted', {
      condition: 'attribute_not_exists(#credentials)',
      names: { '#credentials': 'credentials', '#type': 'type' },
      set: [
        '#type = :type, tenantId = :tenantId, providerId = :providerId, id = :id',
        'pendingStateHash = :hash, pendingAuthExpiresAt = :expires, createdAt = if_not_exists(createdAt, :now)',
        'config = if_not_exists(config, :empty), lastSyncAt = if_not_exists(lastSyncAt, :null), lastSyncError = :null',
      ],
      values: { ...pending, ':now': flow.now, ':type': 'connector', ':tenantId': tenantId, ':providerId': providerId, ':id': flow.id, ':empty': {}, ':null': null },
    });
  }

  async completeAuthorization(
    tenantId: string,
    providerId: ProviderId,
    flow: { stateHash: string; sealed: SealedSecret; config: Record<string, unknown>; sourceKey: string; sweepUnseen: boolean; now: string; nextSyncAt: string; schedulePaused?: boolean },
  ) {
    const { set, values, names } = this.newConnection(tenantId, providerId, { ...flow, id: undefined });
    return await this.write(tenantId, providerId, 'authorizationCompleted', {
      condition: `pendingStateHash = :hash AND ${NO_RUNNING_SYNC}`,
      set,
      names,
      values: { ...values, ':hash': flow.stateHash },
      remove: CLEARED_ON_CONNECT,
    });
  }

  async failAuthorization(tenantId: string, providerId: ProviderId, flow: { stateHash: string; message: string; now: string }, holdsCredentials: boolean) {
    const condition = 'pendingStateHash = :hash';
    if (holdsCredentials) {
      return await this.write(tenantId, providerId, 'reauthorizationFailed', {
        condition,
        values: { ':hash': flow.stateHash, ':now': flow.now },
        remove: ['pendingStateHash', 'pendingAuthExpiresAt'],
      });
    }
    return await this.write(tenantId, providerId, 'authorizationFailed', {
      condition,
      set: ['lastSyncError = :message'],
      values: { ':hash': flow.stateHash, ':message': flow.message, ':now': flow.now },
      remove: ['pendingStateHash', 'pendingAuthExpiresAt'],
    });
  }

  async markReauthorizationRequired(tenantId: string, providerId: ProviderId, message: string, now: string) {
    return await this.write(tenantId, providerId, 'reauthorizationRequired', {
      set: ['lastSyncError = :message'],
      values: { ':message': message, ':now': now },
      remove: ['scheduleKey', 'nextSyncAt'],
    });
  }

  async disconnect(tenantId: string, providerId: ProviderId, options: { now: string; purgeId?: string }) {
    // A purge may go on (it deletes everything anyway); a new one starts only where none runs.
    return await this.write(tenantId, providerId, 'disconnect', {
      condition: options.purgeId ? 'attribute_exists(pk) AND attribute_not_exists(activeSyncId)' : `attribute_exists(pk) AND ${NO_RUNNING_SYNC}`,
      set: ['config = :empty', 'lastSyncError = :null', ...(options.purgeId ? ['activeSyncId = :purge', 'activeWork = :purging'] : [])],
      values: { ':empty': {}, ':null': null, ':now': options.now, ':purging': 'purge', ...(options.purgeId && { ':purge': options.purgeId }) },
      // sourceKey stays: a reconnect compares it to tell another source from the same one.
      remove: CONNECTION_FIELDS,
    });
  }

  async finishPurge(tenantId: string, providerId: ProviderId, purgeId: string, now: string) {
    // Not a status change: the connector stays as it is now (disconnected, or connected again meanwhile).
    return await writeConditionally(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(tenantId, providerId),
          ConditionExpression: 'activeSyncId = :purge',
          UpdateExpression: `SET updatedAt = :now, ${COUNTER_ATTRIBUTES.map((_, i) => `#c${i} = :zero`).join(', ')} REMOVE activeSyncId, activeWork`,
          ExpressionAttributeNames: Object.fromEntries(COUNTER_ATTRIBUTES.map((counter, i) => [`#c${i}`, counter])),
          ExpressionAttributeValues: { ':purge': purgeId, ':now': now, ':zero': 0 },
        }),
      ),
    );
  }

  async isOwner(tenantId: string, providerId: ProviderId, syncId: string): Promise<boolean> {
    const answer = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(tenantId, providerId), ProjectionExpression: 'activeSyncId', ConsistentRead: true }),
    );
    return answer.Item?.activeSyncId === syncId;
  }

  async beginSync(tenantId: string, providerId: ProviderId, log: SyncLog) {
    const connector = this.update(tenantId, providerId, 'syncStarted', {
      condition: 'attribute_not_exists(activeSyncId) AND attribute_exists(#credentials)',
      names: { '#credentials': 'credentials' },
      set: ['activeSyncId = :syncId', 'activeWork = :sync'],
      values: { ':syncId': log.id, ':sync': 'sync', ':now': log.startedAt },
    });
    const failed = await transactConditionally(() =>
      this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            { Update: connector },
            {
              Put: {
                TableName: this.tableName,
                Item: { pk: connectorPk(tenantId, providerId), sk: syncLogSk(log.id), type: 'syncLog', providerId, ...log },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      ),
    );
    return failed === null;
  }

  async finishSync(
    tenantId: string,
    providerId: ProviderId,
    syncId: string,
    result: { completedAt: string; watermark: Record<string, string> | null; nextSyncAt: string; schedulePaused?: boolean; counts: EntityCounts | null; stoppedEarly?: string },
  ) {
    const counts = result.counts ? Object.entries(result.counts) : [];
    const note = result.stoppedEarly;
    const schedule = nextSync(result.nextSyncAt, result.schedulePaused);
    return await this.endSync(tenantId, providerId, syncId, 'syncFinished', {
      connector: {
        set: [
          'lastSyncAt = :at',
          'lastSyncError = :null',
          'watermark = :watermark',
          ...schedule.set,
          // A completed full sync reconciles: the counters become the entities stored, whatever drift came before.
          ...counts.map((_, i) => `#c${i} = :c${i}`),
          ...(note ? ['lastSyncNote = :note'] : []),
        ],
        // A sync that stopped early did not see everything: the sweep it owed is still owed.
        remove: note ? [] : ['sweepUnseen', 'lastSyncNote'],
        names: Object.fromEntries(counts.map(([type], i) => [`#c${i}`, counterAttribute(type)])),
        values: {
          ':at': result.completedAt,
          ':null': null,
          ':watermark': result.watermark ?? {},
          ...(note && { ':note': note }),
          ...schedule.values,
          ...Object.fromEntries(counts.map(([, n], i) => [`:c${i}`, n])),
        },
      },
      log: { status: 'completed', completedAt: result.completedAt, message: note ?? null },
    });
  }

  async failSync(
    tenantId: string,
    providerId: ProviderId,
    syncId: string,
    failure: { completedAt: string; message: string; nextSyncAt: string | null; schedulePaused?: boolean; reauthorizationRequired?: boolean },
  ) {
    const schedule = failure.nextSyncAt ? nextSync(failure.nextSyncAt, failure.schedulePaused) : { set: [], values: {} };
    return await this.endSync(tenantId, providerId, syncId, 'syncFailed', {
      connector: {
        set: ['lastSyncError = :message', ...schedule.set],
        remove: ['lastSyncNote', ...(failure.nextSyncAt ? [] : ['scheduleKey', 'nextSyncAt'])],
        values: { ':message': failure.message, ...schedule.values },
      },
      log: {
        status: 'failed',
        completedAt: failure.completedAt,
        message: failure.message,
        // The log says why, so the event derived from it can tell the platform a person must reconnect.
        ...(failure.reauthorizationRequired && { reauthorizationRequired: true }),
      },
    });
  }

  async cancelSync(tenantId: string, providerId: ProviderId, syncId: string, cancellation: { completedAt: string; reason: string }) {
    return await this.endSync(tenantId, providerId, syncId, 'syncCancelled', {
      connector: { remove: ['lastSyncNote'] },
      log: { status: 'cancelled', completedAt: cancellation.completedAt, message: cancellation.reason },
    });
  }

  /**
   * Ends the sync that `activeSyncId` names, with its log, in one transaction: the log closes
   * only while it runs and the connector moves only while the sync still owns it. Answers
   * false when it no longer did (it was cancelled, or ended by another step).
   */
  private async endSync(
    tenantId: string,
    providerId: ProviderId,
    syncId: string,
    row: 'syncFinished' | 'syncFailed' | 'syncCancelled',
    end: { connector: Change; log: Item },
  ): Promise<boolean> {
    const connector = this.update(tenantId, providerId, row, {
      ...end.connector,
      condition: 'activeSyncId = :syncId',
      values: { ...end.connector.values, ':syncId': syncId, ':now': String(end.log.completedAt) },
      remove: [...(end.connector.remove ?? []), 'activeSyncId', 'activeWork'],
    });
    const fields = Object.entries(end.log);
    const closeLog: Update = {
      TableName: this.tableName,
      Key: { pk: connectorPk(tenantId, providerId), sk: syncLogSk(syncId) },
      ConditionExpression: '#s = :running',
      UpdateExpression: `SET ${fields.map((_, i) => `#l${i} = :l${i}`).join(', ')}`,
      ExpressionAttributeNames: { '#s': 'status', ...Object.fromEntries(fields.map(([name], i) => [`#l${i}`, name])) },
      ExpressionAttributeValues: { ':running': 'running', ...Object.fromEntries(fields.map(([, value], i) => [`:l${i}`, value])) },
    };
    const failed = await transactConditionally(() =>
      this.client.send(new TransactWriteCommand({ TransactItems: [{ Update: connector }, { Update: closeLog }] })),
    );
    return failed === null;
  }

  /** The fields a new connection sets: credentials (a new version), config, source, the first scheduled sync. */
  private newConnection(
    tenantId: string,
    providerId: ProviderId,
    connection: { id: string | undefined; sealed: SealedSecret; config: Record<string, unknown>; sourceKey: string; sweepUnseen: boolean; now: string; nextSyncAt: string; schedulePaused?: boolean },
  ): Change {
    const schedule = nextSync(connection.nextSyncAt, connection.schedulePaused);
    return {
      names: { '#type': 'type' },
      set: [
        '#type = :type, tenantId = :tenantId, providerId = :providerId',
        ...(connection.id ? ['id = :id'] : []),
        'credentials = :sealed, credentialsVersion = if_not_exists(credentialsVersion, :zero) + :one, config = :config',
        'sourceKey = :source, sweepUnseen = :sweep',
        'lastSyncError = :null, lastSyncAt = if_not_exists(lastSyncAt, :null), createdAt = if_not_exists(createdAt, :now)',
        ...schedule.set,
      ],
      values: {
        ':type': 'connector',
        ':tenantId': tenantId,
        ':providerId': providerId,
        ...(connection.id && { ':id': connection.id }),
        ':sealed': connection.sealed,
        ':zero': 0,
        ':one': 1,
        ':config': connection.config,
        ':source': connection.sourceKey,
        ':sweep': connection.sweepUnseen,
        ':null': null,
        ':now': connection.now,
        ...schedule.values,
        ':purging': 'purge',
      },
    };
  }

  private async write(tenantId: string, providerId: ProviderId, row: LifecycleRow, change: Change): Promise<boolean> {
    const update = this.update(tenantId, providerId, row, change);
    return await writeConditionally(() => this.client.send(new UpdateCommand(update)));
  }

  /** One lifecycle row as an update: the row's `from` states (and guard) as its condition, its `to` state set. */
  private update(tenantId: string, providerId: ProviderId, row: LifecycleRow, change: Change): Update {
    const { from, to } = lifecycle[row];
    const fromValues = Object.fromEntries(from.map((status, i) => [`:from${i}`, status]));
    let fromCondition = `#status IN (${Object.keys(fromValues).join(', ')})`;
    // A connector never set up has no item yet: it is `disconnected`.
    if ((from as readonly ConnectorStatus[]).includes('disconnected')) fromCondition = `(attribute_not_exists(#status) OR ${fromCondition})`;
    // Every write names its row and counts it: the table's stream derives the domain events
    // from these (functions/events), so a transition is published even if its writer dies next.
    const transition = ['lastTransition = :transition', 'transitionSeq = if_not_exists(transitionSeq, :transitionZero) + :transitionOne'];
    const set = [...(to === 'unchanged' ? [] : ['#status = :to']), 'updatedAt = :now', ...transition, ...(change.set ?? [])];
    const remove = change.remove ?? [];
    return {
      TableName: this.tableName,
      Key: this.key(tenantId, providerId),
      ConditionExpression: change.condition ? `${fromCondition} AND ${change.condition}` : fromCondition,
      UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ExpressionAttributeNames: { '#status': 'status', ...change.names },
      ExpressionAttributeValues: {
        ...fromValues,
        ...(to === 'unchanged' ? {} : { ':to': to }),
        ':transition': row,
        ':transitionZero': 0,
        ':transitionOne': 1,
        ...change.values,
      },
    };
  }

  private key(tenantId: string, providerId: ProviderId) {
    return { pk: connectorPk(tenantId, providerId), sk: CONNECTOR_SK };
  }
}

/**
 * The SET clauses of a row that schedules the next sync: on the schedule (`scheduleKey` and
 * `nextSyncAt`), or, for a connector the writer read paused, only the time: it stays off the
 * schedule, and a resume puts it back, also when the resume lands between that read and this write.
 */
function nextSync(nextSyncAt: string, paused = false): { set: string[]; values: Item } {
  return paused
    ? { set: ['nextSyncAt = :next'], values: { ':next': nextSyncAt } }
    : { set: ['scheduleKey = :scheduled', 'nextSyncAt = :next'], values: { ':scheduled': SCHEDULE_KEY, ':next': nextSyncAt } };
}
