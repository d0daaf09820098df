import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../../../functions/api/router';
import { databaseIdFor } from '../../../functions/core/connector-ref';
import { startTestStack, type TestStack } from '../../support/local-stack';
import { connectorRecord, syncLog } from '../../support/factories';

/** The read procedures end to end: real @trpc/client -> local gateway -> handlers -> DynamoDB Local. */
describe('connector read procedures', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
    await stack.repository.saveConnector(
      connectorRecord('acme', 'salesforce', {
        config: { instanceUrl: 'https://example.my.salesforce.com' },
        lastSyncAt: '2026-03-05T08:00:00.000Z',
      }),
    );
    await stack.repository.saveConnector(connectorRecord('acme', 'customerio', { status: 'error', lastSyncError: 'The provider rejected the API key.' }));
    for (let i = 1; i <= 25; i++) {
      await stack.repository.saveSyncLog('salesforce', syncLog('acme', 'salesforce', { recordsCreated: i }));
    }
    await stack.repository.adjustEntityCounts('acme', 'salesforce', { accounts: 340, people: 1250, opportunities: 89 });
    await stack.repository.saveConnector(connectorRecord('globex', 'salesforce', { config: { instanceUrl: 'https://globex.example' } }));
  });
  afterAll(() => stack.stop());

  describe('list', () => {
    it('returns all five registered connectors merged with the tenant\'s records', async () => {
      const connectors = await stack.client('acme').connector.list.query();

      expect(connectors.map(({ id, name, version }) => ({ id, name, version }))).toEqual([
        { id: 'salesforce', name: 'Salesforce', version: '1.0.0' },
        { id: 'customerio', name: 'Customer.io', version: '1.0.0' },
        { id: 'delivrai', name: 'Delivr.ai', version: '1.0.0' },
        { id: 'o365', name: 'Office 365', version: '1.0.0' },
        { id: 'fathom', name: 'Fathom', version: '1.0.0' },
      ]);
      expect(connectors[0]).toEqual({
        id: 'salesforce',
        name: 'Salesforce',
        version: '1.0.0',
        status: 'connected',
        lastSyncAt: '2026-03-05T08:00:00.000Z',
        lastSyncError: null,
        lastSyncNote: null,
        databaseId: databaseIdFor('acme', 'salesforce'),
      });
      expect(connectors[1]).toMatchObject({ status: 'error', lastSyncError: 'The provider rejected the API key.' });
      expect(connectors[2]).toMatchObject({ status: 'disconnected', lastSyncAt: null, lastSyncError: null, databaseId: null });
    });

    it('shows a fresh tenant every connector disconnected', async () => {
      const connectors = await stack.client('newcomer').connector.list.query();
      expect(connectors.map((c) => c.status)).toEqual(Array(5).fill('disconnected'));
    });
  });

  describe('getStatus', () => {
    it('returns status, config and the newest sync\'s figures', async () => {
      const status = await stack.client('acme').connector.getStatus.query({ connectorId: 'salesforce' });

      expect(status).toMatchObject({
        id: 'salesforce',
        name: 'Salesforce',
        version: '1.0.0',
        status: 'connected',
        config: { instanceUrl: 'https://example.my.salesforce.com' },
        lastSyncAt: '2026-03-05T08:00:00.000Z',
        lastSyncError: null,
        latestSync: { recordsCreated: 25, recordsUpdated: 42, recordsFailed: 0, syncType: 'incremental' },
      });
    });

    it('accepts the database id as well as the registry id', async () => {
      const byDatabaseId = await stack.client('acme').connector.getStatus.query({ connectorId: databaseIdFor('acme', 'salesforce') });
      expect(byDatabaseId.id).toBe('salesforce');
    });

    it('shows an unconfigured connector as disconnected with no sync', async () => {
      expect(await stack.client('acme').connector.getStatus.query({ connectorId: 'fathom' })).toMatchObject({
        status: 'disconnected',
        config: {},
        latestSync: null,
      });
    });
  });

  describe('getSyncHistory', () => {
    it('returns 20 entries by default, newest first, in the spec\'s shape plus recordsDeleted and message', async () => {
      const history = await stack.client('acme').connector.getSyncHistory.query({ connectorId: 'salesforce' });

      expect(history).toHaveLength(20);
      expect(history.map((entry) => entry.recordsCreated)).toEqual(Array.from({ length: 20 }, (_, i) => 25 - i));
      expect(Object.keys(history[0]!).sort()).toEqual(
        ['completedAt', 'connectorId', 'id', 'message', 'recordsCreated', 'recordsDeleted', 'recordsFailed', 'recordsSkipped', 'recordsUpdated', 'startedAt', 'status', 'syncType', 'tenantId'],
      );
      expect(history[0]).toMatchObject({ connectorId: databaseIdFor('acme', 'salesforce'), tenantId: 'acme', status: 'completed' });
    });

    it('honours the limit', async () => {
      const history = await stack.client('acme').connector.getSyncHistory.query({ connectorId: 'salesforce', limit: 3 });
      expect(history.map((entry) => entry.recordsCreated)).toEqual([25, 24, 23]);
    });

    it('is empty for a connector that never synced', async () => {
      expect(await stack.client('acme').connector.getSyncHistory.query({ connectorId: 'o365' })).toEqual([]);
    });
  });

  describe('getEntityCounts', () => {
    it('returns the counters of the connector', async () => {
      expect(await stack.client('acme').connector.getEntityCounts.query({ connectorId: 'salesforce' })).toEqual({
        accounts: 340,
        people: 1250,
        opportunities: 89,
      });
    });

    it('returns zeros for a connector with nothing synced', async () => {
      expect(await stack.client('acme').connector.getEntityCounts.query({ connectorId: 'delivrai' })).toEqual({
        accounts: 0,
        people: 0,
        opportunities: 0,
      });
    });
  });

  describe('batched calls (httpBatchLink)', () => {
    it('answers several queries sent in one HTTP request', async () => {
      const client = stack.client('acme', 'member', { batch: true });
      const [connectors, status, counts, history] = await Promise.all([
        client.connector.list.query(),
        client.connector.getStatus.query({ connectorId: 'salesforce' }),
        client.connector.getEntityCounts.query({ connectorId: 'salesforce' }),
        client.connector.getSyncHistory.query({ connectorId: 'salesforce', limit: 1 }),
      ]);
      expect(connectors).toHaveLength(5);
      expect(status.status).toBe('connected');
      expect(counts.accounts).toBe(340);
      expect(history).toHaveLength(1);
    });

    it('really is one request: the comma-joined batch path is served by the catch-all route', async () => {
      const token = await stack.token('acme');
      const input = encodeURIComponent(JSON.stringify({ 0: { connectorId: 'salesforce' }, 1: { connectorId: 'fathom' } }));
      const response = await fetch(`${stack.url}/trpc/connector.getEntityCounts,connector.getStatus?batch=1&input=${input}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await response.json()) as { result: { data: unknown } }[];
      expect(response.status).toBe(200);
      expect(body).toHaveLength(2);
      expect(body[0]!.result.data).toEqual({ accounts: 340, people: 1250, opportunities: 89 });
      expect(body[1]!.result.data).toMatchObject({ id: 'fathom', status: 'disconnected' });
    });

    it('reports a failing call in a batch without failing the others', async () => {
      const client = stack.client('acme', 'member', { batch: true });
      const [ok, missing] = await Promise.allSettled([
        client.connector.getStatus.query({ connectorId: 'salesforce' }),
        client.connector.getStatus.query({ connectorId: 'nope' }),
      ]);
      expect(ok.status).toBe('fulfilled');
      expect(missing.status).toBe('rejected');
      expect(((missing as PromiseRejectedResult).reason as TRPCClientError<AppRouter>).data?.code).toBe('NOT_FOUND');
    });
  });
});
