import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpdateCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { TestConnectorStore } from '../../../support/connector-store';
import { connectorRecord, syncLog } from '../../../support/factories';
import { freshTable } from '../../../support/dynamodb';

describe('DynamoConnectorRepository', () => {
  let table: Awaited<ReturnType<typeof freshTable>>;
  let repository: TestConnectorStore;

  beforeAll(async () => {
    table = await freshTable();
    repository = new TestConnectorStore(table.client, table.tableName);
  });
  afterAll(() => table.destroy());

  it('lists only the tenant\'s own connectors among the providers asked for', async () => {
    await repository.saveConnector(connectorRecord('list-a', 'salesforce'));
    await repository.saveConnector(connectorRecord('list-a', 'fathom', { status: 'error', lastSyncError: 'boom' }));
    await repository.saveConnector(connectorRecord('list-b', 'salesforce'));

    const records = await repository.listConnectors('list-a', ['salesforce', 'customerio', 'fathom']);

    expect(records.map((r) => [r.tenantId, r.providerId, r.status]).sort()).toEqual([
      ['list-a', 'fathom', 'error'],
      ['list-a', 'salesforce', 'connected'],
    ]);
  });

  it('reads a connector together with its newest sync log', async () => {
    await repository.saveConnector(connectorRecord('status', 'salesforce', { config: { instanceUrl: 'https://x.example' } }));
    await repository.saveSyncLog('salesforce', syncLog('status', 'salesforce', { recordsCreated: 1 }));
    await repository.saveSyncLog('salesforce', syncLog('status', 'salesforce', { recordsCreated: 2 }));

    const { connector, latestSync } = await repository.getConnectorWithLatestSync('status', 'salesforce');

    expect(connector?.config).toEqual({ instanceUrl: 'https://x.example' });
    expect(latestSync?.recordsCreated).toBe(2);
  });

  it('answers nulls for a connector the tenant never set up', async () => {
    expect(await repository.getConnectorWithLatestSync('nobody', 'salesforce')).toEqual({ connector: null, latestSync: null });
  });

  it('lists sync logs newest first, up to the limit', async () => {
    for (let i = 1; i <= 5; i++) await repository.saveSyncLog('o365', syncLog('history', 'o365', { recordsCreated: i }));

    const logs = await repository.listSyncLogs('history', 'o365', 3);

    expect(logs.map((log) => log.recordsCreated)).toEqual([5, 4, 3]);
  });

  it('keeps entity counters on the connector, zero until something is counted', async () => {
    expect(await repository.getEntityCounts('counts', 'salesforce')).toEqual({ accounts: 0, people: 0, opportunities: 0 });
    await repository.saveConnector(connectorRecord('counts', 'salesforce'));
    await repository.adjustEntityCounts('counts', 'salesforce', { accounts: 340, people: 1250 });
    await repository.adjustEntityCounts('counts', 'salesforce', { people: -50, opportunities: 89 });

    expect(await repository.getEntityCounts('counts', 'salesforce')).toEqual({ accounts: 340, people: 1200, opportunities: 89 });
  });

  it('refuses to build a key from a tenant id that could break out of its partition', async () => {
    await expect(repository.getEntityCounts('a#CONNECTOR#b', 'salesforce')).rejects.toThrow(/invalid tenant id/);
  });
});
