import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseIdFor } from '../../../../functions/core/connector-ref';
import { NotFoundError } from '../../../../functions/core/errors';
import { DynamoLifecycleRepository } from '../../../../functions/core/repository/dynamo-lifecycle-repository';
import { TestConnectorStore } from '../../../support/connector-store';
import { ConnectorService } from '../../../../functions/core/services/connector-service';
import { freshTable } from '../../../support/dynamodb';
import { connectorRecord, syncLog } from '../../../support/factories';
import { caller } from '../../../support/log';
import { localCredentialService } from '../../../support/credentials';

describe('ConnectorService', () => {
  let table: Awaited<ReturnType<typeof freshTable>>;
  let service: ConnectorService;

  beforeAll(async () => {
    table = await freshTable();
    const repository = new TestConnectorStore(table.client, table.tableName);
    const credentialService = localCredentialService(table, () => undefined);
    service = new ConnectorService({
      repository,
      lifecycle: new DynamoLifecycleRepository(table.client, table.tableName),
      revoker: credentialService,
      // These tests read only: no sync to cancel, no purge to start.
      syncs: { cancelRunningSync: async () => null, startPurge: async () => undefined },
      disconnectReason: 'Disconnected during the sync.',
      clock: () => new Date('2026-03-06T00:00:00.000Z'),
    });
    // A small tenant and a large one: the request counts below must not depend on size.
    for (const tenantId of ['small', 'large']) {
      for (const providerId of ['salesforce', 'customerio', 'delivrai', 'o365', 'fathom'] as const) {
        await repository.saveConnector(connectorRecord(tenantId, providerId));
      }
    }
    await repository.saveSyncLog('salesforce', syncLog('small', 'salesforce'));
    await Promise.all(Array.from({ length: 120 }, () => repository.saveSyncLog('salesforce', syncLog('large', 'salesforce'))));
    await repository.adjustEntityCounts('large', 'salesforce', { accounts: 100_000 });
  });
  afterAll(() => table.destroy());

  const budgets = [
    ['list', (tenant: string) => service.list(caller(tenant)), 1],
    ['getStatus', (tenant: string) => service.getStatus(caller(tenant), 'salesforce'), 2],
    ['getSyncHistory', (tenant: string) => service.getSyncHistory(caller(tenant), 'salesforce', 100), 1],
    ['getEntityCounts', (tenant: string) => service.getEntityCounts(caller(tenant), 'salesforce'), 1],
  ] as const;

  for (const [name, call, budget] of budgets) {
    it(`${name} makes at most ${budget} DynamoDB request(s), whatever the tenant's data size`, async () => {
      const counts: number[] = [];
      for (const tenant of ['small', 'large']) {
        table.resetRequests();
        await call(tenant);
        counts.push(table.requests().length);
      }
      expect(counts[0]).toBeLessThanOrEqual(budget);
      expect(counts[1]).toBe(counts[0]);
    });
  }

  it('getStatus by database id reads one request too', async () => {
    table.resetRequests();
    const status = await service.getStatus(caller('large'), databaseIdFor('large', 'salesforce'));
    expect(status.id).toBe('salesforce');
    expect(table.requests()).toEqual(['QueryCommand']);
  });

  it('resolves another tenant\'s database id to NOT_FOUND without touching the table', async () => {
    table.resetRequests();
    await expect(service.getStatus(caller('small'), databaseIdFor('large', 'salesforce'))).rejects.toBeInstanceOf(NotFoundError);
    expect(table.requests()).toEqual([]);
  });

  it('disconnect logs what it did, and is idempotent', async () => {
    const admin = caller('small');
    expect(await service.disconnect(admin, 'fathom')).toEqual({ disconnected: true });
    expect(await service.disconnect(admin, 'fathom')).toEqual({ disconnected: true });
    expect((await service.getStatus(admin, 'fathom')).status).toBe('disconnected');
  });
});
