import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ProviderId } from '../registry';
import { CONNECTOR_SK, oauthStatePk } from './keys';
import type { OAuthFlow, OAuthStateRepository } from './types';

/** `OAuthStateRepository` over the single table; DynamoDB's TTL sweeps states nobody used. */
export class DynamoOAuthStateRepository implements OAuthStateRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async save(stateHash: string, flow: OAuthFlow): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: oauthStatePk(stateHash),
          sk: CONNECTOR_SK,
          type: 'oauthState',
          ...flow,
          expiresAt: Math.ceil(flow.expiresAtMs / 1000),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async consume(stateHash: string): Promise<OAuthFlow | null> {
    const answer = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: oauthStatePk(stateHash), sk: CONNECTOR_SK },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const item = answer.Attributes;
    if (!item) return null;
    return {
      tenantId: item.tenantId as string,
      providerId: item.providerId as ProviderId,
      codeVerifier: item.codeVerifier as string,
      redirectUri: item.redirectUri as string,
      expiresAtMs: Number(item.expiresAtMs),
    };
  }
}
