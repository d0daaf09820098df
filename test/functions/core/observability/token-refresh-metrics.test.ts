import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEnvelopeCipher, generateLocalKey } from '../../../../functions/core/crypto';
import { ProviderError } from '../../../../functions/core/errors';
import { recordedMetrics } from '../../../../functions/core/metrics';
import { DynamoCredentialRepository } from '../../../../functions/core/repository/dynamo-credential-repository';
import { DynamoLifecycleRepository } from '../../../../functions/core/repository/dynamo-lifecycle-repository';
import { CredentialService } from '../../../../functions/core/services/credential-service';
import { SalesforceAdapter } from '../../../../functions/providers/salesforce/salesforce-adapter';
import type { OAuthCredentials } from '../../../../functions/providers/types';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../../../local/sandboxes/salesforce';
import { freshTable } from '../../../support/dynamodb';
import { connectThroughOAuth } from '../../../support/oauth';

const QUERY = '/services/data/v62.0/query?q=SELECT+Id+FROM+Account+LIMIT+1';

describe('CredentialService counts token refreshes at the provider', () => {
  let table: Awaited<ReturnType<typeof freshTable>>;
  let sandbox: SalesforceSandbox;
  let adapter: SalesforceAdapter;
  const key = generateLocalKey();

  /** A service as one Lambda container holds it, recording its metrics in `metrics`. */
  const container = (metrics = recordedMetrics()) =>
    new CredentialService({
      repository: new DynamoCredentialRepository(table.client, table.tableName),
      lifecycle: new DynamoLifecycleRepository(table.client, table.tableName),
      cipher: createEnvelopeCipher({ CONNECTOR_ENCRYPTION_KEY: key }),
      oauthAdapter: (providerId) => (providerId === 'salesforce' ? adapter : undefined),
      metrics,
    });
  const query = (credentials: OAuthCredentials, config: Record<string, unknown>) => adapter.get<{ totalSize: number }>(credentials, config, QUERY);
  const connect = (tenantId: string) =>
    connectThroughOAuth({ client: table.client, tableName: table.tableName, credentialService: container(), adapter, tenantId });

  beforeAll(async () => {
    table = await freshTable();
    sandbox = await startSalesforceSandbox();
    adapter = new SalesforceAdapter({ loginUrl: sandbox.url, clientId: sandbox.clientId, clientSecret: async () => sandbox.clientSecret });
  });
  afterAll(async () => {
    await sandbox.close();
    table.destroy();
  });
  beforeEach(() => sandbox.failures.reset());

  it('records one TokenRefreshes, by provider and tenant, for one refresh shared by 20 callers', async () => {
    await connect('shared');
    sandbox.failures.expireSessions();
    sandbox.resetStats();
    const metrics = recordedMetrics();
    const service = container(metrics);

    await Promise.all(Array.from({ length: 20 }, () => service.withOAuthCredentials('shared', 'salesforce', query)));

    expect(sandbox.stats().tokenRefreshes).toBe(1);
    expect(metrics.records).toEqual([{ name: 'TokenRefreshes', value: 1, context: { provider: 'salesforce', tenantId: 'shared' } }]);
  });

  it('records nothing while the token is valid', async () => {
    await connect('valid');
    const metrics = recordedMetrics();
    await container(metrics).withOAuthCredentials('valid', 'salesforce', query);
    expect(metrics.records).toEqual([]);
  });

  it('records TokenRefreshFailures when the provider refuses the refresh (a revoked grant)', async () => {
    await connect('revoked');
    sandbox.failures.revokeGrant();
    const metrics = recordedMetrics();

    await expect(container(metrics).withOAuthCredentials('revoked', 'salesforce', query)).rejects.toMatchObject({ reauthorizationRequired: true });

    expect(metrics.records).toEqual([{ name: 'TokenRefreshFailures', value: 1, context: { provider: 'salesforce', tenantId: 'revoked' } }]);
  });

  it('records TokenRefreshFailures when the provider does not answer the refresh', async () => {
    await connect('unreachable');
    sandbox.failures.expireSessions();
    const metrics = recordedMetrics();
    const offline = new SalesforceAdapter({ loginUrl: 'http://127.0.0.1:1', clientId: sandbox.clientId, clientSecret: async () => sandbox.clientSecret });
    const service = new CredentialService({
      repository: new DynamoCredentialRepository(table.client, table.tableName),
      lifecycle: new DynamoLifecycleRepository(table.client, table.tableName),
      cipher: createEnvelopeCipher({ CONNECTOR_ENCRYPTION_KEY: key }),
      oauthAdapter: () => offline,
      metrics,
    });

    await expect(service.withOAuthCredentials('unreachable', 'salesforce', query)).rejects.toBeInstanceOf(ProviderError);

    expect(metrics.records).toEqual([{ name: 'TokenRefreshFailures', value: 1, context: { provider: 'salesforce', tenantId: 'unreachable' } }]);
  });
});
