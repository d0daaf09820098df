import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../../../functions/api/router';
import type { EntityCounts } from '../../../functions/core/model';
import { startTestStack, type TestStack } from '../../support/local-stack';

/** How each provider is connected on the local stack, and what its sandbox's default data set holds. */
interface ProviderCase {
  id: 'customerio' | 'delivrai' | 'o365' | 'fathom';
  connect(stack: TestStack, tenant: string): Promise<void>;
  expected: EntityCounts;
  /** Every sync re-reads everything (no change filter at the provider). */
  fullRescan?: boolean;
}

const apiKeyConnect =
  (id: ProviderCase['id'], config?: Record<string, unknown>) =>
  async (stack: TestStack, tenant: string): Promise<void> => {
    const answer = await stack.client(tenant, 'admin').connector.connect.mutate({ connectorId: id, apiKey: 'sandbox-key', config });
    expect(answer).toMatchObject({ connected: true, connectorId: id, databaseId: expect.stringMatching(/^conn_/) });
  };

const cases: ProviderCase[] = [
  { id: 'customerio', connect: apiKeyConnect('customerio', { region: 'eu' }), expected: { accounts: 0, people: 500, opportunities: 0 }, fullRescan: true },
  { id: 'fathom', connect: apiKeyConnect('fathom'), expected: { accounts: 0, people: 120, opportunities: 0 } },
  { id: 'delivrai', connect: apiKeyConnect('delivrai', { organizationId: 'sandbox-org' }), expected: { accounts: 60, people: 200, opportunities: 0 } },
  {
    id: 'o365',
    // OAuth: getAuthUrl for Office 365, the sandbox's consent, our callback.
    connect: async (stack, tenant) => {
      const { authUrl } = await stack.client(tenant, 'admin').connector.getAuthUrl.mutate({ connectorId: 'o365' });
      expect(authUrl).toMatch(/\/oauth2\/v2\.0\/authorize\?/);
      expect(new URL(authUrl).searchParams.get('scope')).toBe('offline_access User.Read Contacts.Read');
      const consent = await fetch(authUrl, { redirect: 'manual' });
      const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual' });
      expect(callback.status).toBe(200);
    },
    expected: { accounts: 0, people: 150, opportunities: 0 },
  },
];

// One stack for the file: handlers keep their clients for the life of the process, as Lambda containers do.
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.stop());

describe.each(cases)('$id on the local stack', (provider) => {
  const tenant = `tenant-${provider.id}`;
  const admin = () => stack.client(tenant, 'admin');
  const sync = async () => {
    await admin().connector.triggerSync.mutate({ connectorId: provider.id });
    await stack.stepFunctions.idle();
    return (await admin().connector.getSyncHistory.query({ connectorId: provider.id, limit: 1 }))[0]!;
  };

  beforeAll(async () => {
    await provider.connect(stack, tenant);
  });

  it('connects, and list shows it connected while the others stay disconnected', async () => {
    const connectors = await admin().connector.list.query();
    expect(connectors.find((c) => c.id === provider.id)?.status).toBe('connected');
    expect(connectors.filter((c) => c.status === 'connected').map((c) => c.id)).toEqual([provider.id]);
  });

  it('syncs the whole data set: counts equal it, history shows a completed entry', async () => {
    const entry = await sync();
    // The first sync after a connect is always full.
    // A record seen twice in one sync (a visitor on two pages of events) is one create, not a create and an update.
    expect(entry).toMatchObject({ status: 'completed', recordsFailed: 0, recordsUpdated: 0, recordsDeleted: 0, syncType: 'full' });
    expect(entry.recordsCreated).toBe(provider.expected.accounts + provider.expected.people + provider.expected.opportunities);
    expect(await admin().connector.getEntityCounts.query({ connectorId: provider.id })).toEqual(provider.expected);
  });

  it('a second sync creates nothing new and keeps the counts', async () => {
    const entry = await sync();
    expect(entry).toMatchObject({ status: 'completed', recordsCreated: 0 });
    expect(await admin().connector.getEntityCounts.query({ connectorId: provider.id })).toEqual(provider.expected);
  });

  it('disconnect removes the credentials', async () => {
    expect(await admin().connector.disconnect.mutate({ connectorId: provider.id })).toEqual({ disconnected: true });
    const item = await stack.documentClient.send(
      new GetCommand({ TableName: stack.tableName, Key: { pk: `TENANT#${tenant}#CONNECTOR#${provider.id}`, sk: 'META' } }),
    );
    expect(item.Item).not.toHaveProperty('credentials');
    expect((await admin().connector.getStatus.query({ connectorId: provider.id })).status).toBe('disconnected');
  });
});

describe('connect (API-key providers)', () => {
  const errorOf = (promise: Promise<unknown>) =>
    promise.then(
      () => expect.fail('expected the call to fail'),
      (error: TRPCClientError<AppRouter>) => error,
    );

  it('answers BAD_REQUEST when the provider rejects the key, and stores nothing', async () => {
    const error = await errorOf(stack.client('keys', 'admin').connector.connect.mutate({ connectorId: 'customerio', apiKey: 'wrong-key' }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/the provider rejected the API key/);
    const item = await stack.documentClient.send(new GetCommand({ TableName: stack.tableName, Key: { pk: 'TENANT#keys#CONNECTOR#customerio', sk: 'META' } }));
    expect(item.Item).toBeUndefined();
  });

  it('rejects bad provider settings with a message naming them', async () => {
    const error = await errorOf(
      stack.client('keys', 'admin').connector.connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'mars' } }),
    );
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/region/);
  });

  it('tells OAuth providers apart, and only admins may connect', async () => {
    const oauth = await errorOf(stack.client('keys', 'admin').connector.connect.mutate({ connectorId: 'salesforce', apiKey: 'x' }));
    expect(oauth.message).toBe('Salesforce connects with OAuth: use getAuthUrl.');
    expect((await errorOf(stack.client('keys', 'member').connector.connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key' }))).data?.code).toBe('FORBIDDEN');
  });

  it('never returns or stores the key in the clear', async () => {
    const answer = await stack.client('plain', 'admin').connector.connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key' });
    const item = await stack.documentClient.send(new GetCommand({ TableName: stack.tableName, Key: { pk: 'TENANT#plain#CONNECTOR#customerio', sk: 'META' } }));
    expect(JSON.stringify(answer)).not.toContain('sandbox-key');
    expect(JSON.stringify(item.Item)).not.toContain('sandbox-key');
  });
});

describe('full syncs of an event stream (Delivr.ai)', () => {
  it('keeps people seen before the lookback window: only a full read of everything may remove entities', async () => {
    const tenant = 'stream-full';
    await stack.client(tenant, 'admin').connector.connect.mutate({ connectorId: 'delivrai', apiKey: 'sandbox-key', config: { organizationId: 'sandbox-org' } });
    // A visitor from months ago, outside any window a sync reads again.
    await stack.repository.writeEntities(tenant, 'delivrai', [
      { type: 'people', sourceId: 'person-from-last-year', attributes: {}, firstSeen: 'old', lastSeenSync: 'old', deleted: false },
    ]);
    await stack.repository.adjustEntityCounts(tenant, 'delivrai', { people: 1 });

    await stack.client(tenant, 'admin').connector.triggerSync.mutate({ connectorId: 'delivrai', fullSync: true });
    await stack.stepFunctions.idle();

    expect(await stack.client(tenant, 'admin').connector.getEntityCounts.query({ connectorId: 'delivrai' })).toEqual({ accounts: 60, people: 201, opportunities: 0 });
  });
});
