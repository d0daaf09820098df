import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { generateLocalKey } from '../../../../functions/core/crypto';
import { CredentialDecryptionError, ProviderError } from '../../../../functions/core/errors';
import { DynamoConnectorRepository } from '../../../../functions/core/repository/dynamo-connector-repository';
import type { CredentialService } from '../../../../functions/core/services/credential-service';
import { SalesforceAdapter } from '../../../../functions/providers/salesforce/salesforce-adapter';
import type { OAuthCredentials } from '../../../../functions/providers/types';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../../../local/sandboxes/salesforce';
import { freshTable } from '../../../support/dynamodb';
import { recordingLog } from '../../../support/log';
import { connectThroughOAuth } from '../../../support/oauth';
import { localCredentialService } from '../../../support/credentials';

const QUERY = '/services/data/v62.0/query?q=SELECT+Id+FROM+Account+LIMIT+1';

describe('CredentialService with the Salesforce sandbox', () => {
  let table: Awaited<ReturnType<typeof freshTable>>;
  let sandbox: SalesforceSandbox;
  let adapter: SalesforceAdapter;
  const key = generateLocalKey();

  /** A service as one Lambda container would hold it: its own in-process state, the shared table. */
  function container(): CredentialService {
    return localCredentialService(table, (providerId) => (providerId === 'salesforce' ? adapter : undefined), key);
  }

  const connect = (tenantId: string) =>
    connectThroughOAuth({ client: table.client, tableName: table.tableName, credentialService: container(), adapter, tenantId });

  const query = (credentials: OAuthCredentials, config: Record<string, unknown>) =>
    adapter.get<{ totalSize: number }>(credentials, config, QUERY);

  beforeAll(async () => {
    table = await freshTable();
    sandbox = await startSalesforceSandbox();
    adapter = new SalesforceAdapter({ loginUrl: sandbox.url, clientId: sandbox.clientId, clientSecret: async () => sandbox.clientSecret });
  });
  afterAll(async () => {
    await sandbox.close();
    table.destroy();
  });
  beforeEach(() => {
    sandbox.failures.reset();
    sandbox.resetStats();
  });

  it('calls through with the stored token while it is valid, without refreshing', async () => {
    await connect('valid');
    const answer = await container().withOAuthCredentials('valid', 'salesforce', query);
    expect(answer.totalSize).toBe(1);
    expect(sandbox.stats().tokenRefreshes).toBe(0);
  });

  it('refreshes on INVALID_SESSION_ID and tries again once', async () => {
    await connect('expiring');
    sandbox.failures.expireSessions();

    const answer = await container().withOAuthCredentials('expiring', 'salesforce', query);

    expect(answer.totalSize).toBe(1);
    expect(sandbox.stats().tokenRefreshes).toBe(1);
  });

  it('persists a rotated refresh token in the same write as the new access token', async () => {
    await connect('rotating');
    const service = container();
    const before = await service.current('rotating', 'salesforce');
    sandbox.failures.rotateRefreshTokens(true);
    sandbox.failures.expireSessions();

    await service.withOAuthCredentials('rotating', 'salesforce', query);

    const after = await service.current('rotating', 'salesforce');
    expect(after?.version).toBe(before!.version + 1);
    const [old, fresh] = [before!.credentials, after!.credentials] as OAuthCredentials[];
    expect(fresh!.refreshToken).not.toBe(old!.refreshToken);
    expect(fresh!.accessToken).not.toBe(old!.accessToken);
    // The old refresh token is dead at the provider: only the stored new one keeps the connection alive.
    await expect(adapter.refresh(old!)).rejects.toMatchObject({ reauthorizationRequired: true });
    sandbox.failures.expireSessions();
    expect((await service.withOAuthCredentials('rotating', 'salesforce', query)).totalSize).toBe(1);
  });

  it('makes one refresh call for 20 concurrent callers in one container', async () => {
    await connect('race-one');
    const service = container();
    sandbox.failures.expireSessions();
    sandbox.resetStats();

    const answers = await Promise.all(Array.from({ length: 20 }, () => service.withOAuthCredentials('race-one', 'salesforce', query)));

    expect(answers.every((a) => a.totalSize === 1)).toBe(true);
    expect(sandbox.stats().tokenRefreshes).toBe(1);
  });

  it('makes one refresh call for 20 concurrent callers in 20 containers, even with token rotation', async () => {
    await connect('race-many');
    sandbox.failures.rotateRefreshTokens(true);
    sandbox.failures.expireSessions();
    sandbox.resetStats();
    const containers = Array.from({ length: 20 }, container);

    const answers = await Promise.all(containers.map((service) => service.withOAuthCredentials('race-many', 'salesforce', query)));

    expect(answers.every((a) => a.totalSize === 1)).toBe(true);
    expect(sandbox.stats().tokenRefreshes).toBe(1);
    const stored = await containers[0]!.current('race-many', 'salesforce');
    expect(stored?.version).toBe(2);
  });

  it('sets error with a re-authorization message when the grant was revoked (invalid_grant)', async () => {
    await connect('revoked');
    sandbox.failures.revokeGrant();

    const failure = await container().withOAuthCredentials('revoked', 'salesforce', query).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ reauthorizationRequired: true });
    const status = await new DynamoConnectorRepository(table.client, table.tableName).getConnectorWithLatestSync('revoked', 'salesforce');
    expect(status.connector).toMatchObject({ status: 'error', lastSyncError: expect.stringMatching(/reconnect Salesforce to re-authorize/) });
  });

  it('does not decrypt credentials copied onto another tenant\'s record', async () => {
    await connect('owner');
    await connect('thief');
    const item = await table.client.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: 'TENANT#owner#CONNECTOR#salesforce', sk: 'META' } }),
    );
    await table.client.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: 'TENANT#thief#CONNECTOR#salesforce', sk: 'META' },
        UpdateExpression: 'SET credentials = :stolen',
        ExpressionAttributeValues: { ':stolen': item.Item!.credentials },
      }),
    );

    await expect(container().current('thief', 'salesforce')).rejects.toBeInstanceOf(CredentialDecryptionError);
    expect((await container().current('owner', 'salesforce'))?.credentials.kind).toBe('oauth2');
  });

  it('reports a revoke that fails at the provider, so disconnect can still remove our copy', async () => {
    await connect('unreachable');
    const log = recordingLog();
    const broken = localCredentialService(table, () => new SalesforceAdapter({ loginUrl: 'http://127.0.0.1:9', clientId: 'x', clientSecret: async () => 'x' }), key);

    expect(await broken.revoke('unreachable', 'salesforce', log)).toBe(false);
    expect(log.lines).toEqual([
      expect.objectContaining({ level: 'warn', message: expect.stringMatching(/revoking the grant at the provider failed/) }),
    ]);
  });
});
