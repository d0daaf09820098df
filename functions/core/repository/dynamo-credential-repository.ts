import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SealedSecret } from '../crypto';
import { ConflictError } from '../errors';
import type { ProviderId } from '../registry';
import { CONNECTOR_SK, SCHEDULE_KEY, connectorPk } from './keys';
import type { CredentialRepository, RefreshLease, StoredCredentials } from './types';

/** `CredentialRepository` over the single table: credentials live on the connector item. */
export class DynamoCredentialRepository implements CredentialRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private key(tenantId: string, providerId: ProviderId) {
    return { pk: connectorPk(tenantId, providerId), sk: CONNECTOR_SK };
  }

  /** Runs a conditional update; answers false when its condition did not hold. */
  private async conditionally(command: UpdateCommand): Promise<boolean> {
    try {
      await this.client.send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async beginAuthorization(tenantId: string, providerId: ProviderId, flow: { id: string; stateHash: string; now: string }) {
    const begun = await this.conditionally(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(tenantId, providerId),
        ConditionExpression: 'attribute_not_exists(#status) OR #status <> :syncing',
        UpdateExpression: [
          'SET #type = :type, tenantId = :tenantId, providerId = :providerId, id = :id, #status = :pending',
          'pendingStateHash = :hash, updatedAt = :now, createdAt = if_not_exists(createdAt, :now)',
          'config = if_not_exists(config, :empty), lastSyncAt = if_not_exists(lastSyncAt, :null)',
          'lastSyncError = :null',
        ].join(', '),
        ExpressionAttributeNames: { '#status': 'status', '#type': 'type' },
        ExpressionAttributeValues: {
          ':type': 'connector',
          ':tenantId': tenantId,
          ':providerId': providerId,
          ':id': flow.id,
          ':pending': 'pending_auth',
          ':syncing': 'syncing',
          ':hash': flow.stateHash,
          ':now': flow.now,
          ':empty': {},
          ':null': null,
        },
      }),
    );
    if (!begun) throw new ConflictError('A sync is running for this connector; reconnect it once the sync has finished.');
  }

  async completeAuthorization(
    tenantId: string,
    providerId: ProviderId,
    flow: { stateHash: string; sealed: SealedSecret; config: Record<string, unknown>; now: string; nextSyncAt: string },
  ) {
    return await this.conditionally(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(tenantId, providerId),
        ConditionExpression: 'pendingStateHash = :hash',
        UpdateExpression:
          'SET credentials = :sealed, credentialsVersion = if_not_exists(credentialsVersion, :zero) + :one, #status = :connected, config = :config, lastSyncError = :null, updatedAt = :now, scheduleKey = :scheduled, nextSyncAt = :next REMOVE pendingStateHash, refreshLeaseOwner, refreshLeaseUntil',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':hash': flow.stateHash,
          ':sealed': flow.sealed,
          ':zero': 0,
          ':one': 1,
          ':connected': 'connected',
          ':config': flow.config,
          ':null': null,
          ':now': flow.now,
          ':scheduled': SCHEDULE_KEY,
          ':next': flow.nextSyncAt,
        },
      }),
    );
  }

  async failAuthorization(tenantId: string, providerId: ProviderId, flow: { stateHash: string; message: string; now: string }) {
    const current = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(tenantId, providerId), ProjectionExpression: 'credentials', ConsistentRead: true }),
    );
    return await this.conditionally(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(tenantId, providerId),
        ConditionExpression: 'pendingStateHash = :hash',
        UpdateExpression: 'SET #status = :status, lastSyncError = :message, updatedAt = :now REMOVE pendingStateHash',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':hash': flow.stateHash,
          ':status': current.Item?.credentials ? 'connected' : 'disconnected',
          ':message': flow.message,
          ':now': flow.now,
        },
      }),
    );
  }

  async storeCredentials(
    tenantId: string,
    providerId: ProviderId,
    connection: { id: string; sealed: SealedSecret; config: Record<string, unknown>; now: string; nextSyncAt: string },
  ): Promise<void> {
    const stored = await this.conditionally(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(tenantId, providerId),
        ConditionExpression: 'attribute_not_exists(#status) OR #status <> :syncing',
        UpdateExpression: [
          'SET #type = :type, tenantId = :tenantId, providerId = :providerId, id = :id, #status = :connected',
          'credentials = :sealed, credentialsVersion = if_not_exists(credentialsVersion, :zero) + :one, config = :config',
          'lastSyncError = :null, lastSyncAt = if_not_exists(lastSyncAt, :null), createdAt = if_not_exists(createdAt, :now)',
          'updatedAt = :now, scheduleKey = :scheduled, nextSyncAt = :next REMOVE pendingStateHash',
        ].join(', '),
        ExpressionAttributeNames: { '#status': 'status', '#type': 'type' },
        ExpressionAttributeValues: {
          ':type': 'connector',
          ':tenantId': tenantId,
          ':providerId': providerId,
          ':id': connection.id,
          ':connected': 'connected',
          ':syncing': 'syncing',
          ':sealed': connection.sealed,
          ':zero': 0,
          ':one': 1,
          ':config': connection.config,
          ':null': null,
          ':now': connection.now,
          ':scheduled': SCHEDULE_KEY,
          ':next': connection.nextSyncAt,
        },
      }),
    );
    if (!stored) throw new ConflictError('A sync is running for this connector; reconnect it once the sync has finished.');
  }

  async getCredentials(tenantId: string, providerId: ProviderId): Promise<StoredCredentials | null> {
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: this.key(tenantId, providerId),
        ProjectionExpression: 'credentials, credentialsVersion, config',
        ConsistentRead: true,
      }),
    );
    const item = answer.Item;
    if (!item?.credentials) return null;
    return {
      sealed: item.credentials as SealedSecret,
      version: Number(item.credentialsVersion ?? 0),
      config: (item.config as Record<string, unknown> | undefined) ?? {},
    };
  }

  async acquireRefreshLease(
    tenantId: string,
    providerId: ProviderId,
    lease: { version: number; owner: string; nowMs: number; untilMs: number },
  ): Promise<RefreshLease | null> {
    try {
      const answer = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(tenantId, providerId),
          // Only for the version the caller read: a token replaced meanwhile is never refreshed again.
          ConditionExpression:
            'credentialsVersion = :version AND attribute_exists(credentials) AND (attribute_not_exists(refreshLeaseUntil) OR refreshLeaseUntil < :now)',
          UpdateExpression: 'SET refreshLeaseOwner = :owner, refreshLeaseUntil = :until',
          ExpressionAttributeValues: { ':version': lease.version, ':now': lease.nowMs, ':owner': lease.owner, ':until': lease.untilMs },
          // A lease still on the item was not released: its holder's lease lapsed, its refresh may still land.
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      return { tookOverLapsedLease: typeof answer.Attributes?.refreshLeaseOwner === 'string' };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
  }

  async storeRefreshedCredentials(
    tenantId: string,
    providerId: ProviderId,
    refreshed: { sealed: SealedSecret; version: number; now: string },
  ) {
    return await this.conditionally(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(tenantId, providerId),
        // Conditional on the version refreshed, not on holding the lease: tokens refreshed from
        // that version's refresh token are good (with rotation, the only good ones) even when
        // the lease lapsed meanwhile. A reconnect moved the version; a disconnect removed the credentials.
        ConditionExpression: 'credentialsVersion = :version AND attribute_exists(credentials)',
        UpdateExpression:
          'SET credentials = :sealed, credentialsVersion = :next, updatedAt = :now REMOVE refreshLeaseOwner, refreshLeaseUntil',
        ExpressionAttributeValues: {
          ':version': refreshed.version,
          ':sealed': refreshed.sealed,
          ':next': refreshed.version + 1,
          ':now': refreshed.now,
        },
      }),
    );
  }

  async releaseRefreshLease(tenantId: string, providerId: ProviderId, owner: string): Promise<boolean> {
    return await this.conditionally(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(tenantId, providerId),
        ConditionExpression: 'refreshLeaseOwner = :owner',
        UpdateExpression: 'REMOVE refreshLeaseOwner, refreshLeaseUntil',
        ExpressionAttributeValues: { ':owner': owner },
      }),
    );
  }

  async markReauthorizationRequired(tenantId: string, providerId: ProviderId, message: string, now: string): Promise<void> {
    await this.conditionally(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(tenantId, providerId),
        ConditionExpression: 'attribute_exists(pk)',
        UpdateExpression: 'SET #status = :error, lastSyncError = :message, updatedAt = :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':error': 'error', ':message': message, ':now': now },
      }),
    );
  }
}
