import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SealedSecret } from '../crypto';
import type { ProviderId } from '../registry';
import { CONNECTOR_SK, connectorPk } from './keys';
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

  async getCredentials(tenantId: string, providerId: ProviderId): Promise<StoredCredentials | null> {
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: this.key(tenantId, providerId),
        ProjectionExpression: 'credentials, credentialsVersion, config, apiBudget',
        ConsistentRead: true,
      }),
    );
    const item = answer.Item;
    if (!item?.credentials) return null;
    return {
      sealed: item.credentials as SealedSecret,
      version: Number(item.credentialsVersion ?? 0),
      // The admin's API budget is a setting of the connection as a sync sees it (it outlives the provider's config).
      config: { ...((item.config as Record<string, unknown> | undefined) ?? {}), ...(typeof item.apiBudget === 'number' && { apiBudget: item.apiBudget }) },
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
    refreshed: { sealed: SealedSecret; version: number; now: string; configUpdate?: Record<string, unknown> },
  ) {
    // Each changed config key is set on its own (`config.#c0 = :c0`): the rest of the config stays as connect wrote it.
    const changes = Object.entries(refreshed.configUpdate ?? {});
    const names = Object.fromEntries(changes.map(([key], i) => [`#c${i}`, key]));
    const values = Object.fromEntries(changes.map(([, value], i) => [`:c${i}`, value]));
    return await this.conditionally(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(tenantId, providerId),
        // Conditional on the version refreshed, not on holding the lease: tokens refreshed from
        // that version's refresh token are good (with rotation, the only good ones) even when
        // the lease lapsed meanwhile. A reconnect moved the version; a disconnect removed the credentials.
        // Stored credentials always come with a config map (connect writes one), so its keys can be set.
        ConditionExpression: 'credentialsVersion = :version AND attribute_exists(credentials)',
        UpdateExpression: `SET credentials = :sealed, credentialsVersion = :next, updatedAt = :now${changes.map((_, i) => `, config.#c${i} = :c${i}`).join('')} REMOVE refreshLeaseOwner, refreshLeaseUntil`,
        ...(changes.length > 0 && { ExpressionAttributeNames: names }),
        ExpressionAttributeValues: {
          ':version': refreshed.version,
          ':sealed': refreshed.sealed,
          ':next': refreshed.version + 1,
          ':now': refreshed.now,
          ...values,
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
}
