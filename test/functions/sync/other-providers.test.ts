import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { EntityCounts } from '../../../functions/core/model';
import { startTestStack, type TestStack } from '../../support/local-stack';
import { errorOf } from '../../support/trpc-error';

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

describe('Delivr.ai with an API key and its secret (the current scheme)', () => {
  const storedItem = async (tenant: string) =>
    (await stack.documentClient.send(new GetCommand({ TableName: stack.tableName, Key: { pk: `TENANT#${tenant}#CONNECTOR#delivrai`, sk: 'META' } }))).Item;

  it('connects with the pair scoped by pixel, syncs every visitor, and keeps the secret sealed and out of config', async () => {
    const admin = stack.client('dlvr-pair', 'admin');
    const answer = await admin.connector.connect.mutate({ connectorId: 'delivrai', apiKey: 'sandbox-key', apiSecret: 'sandbox-secret', config: { pixelId: 'sandbox-org-pixel' } });
    expect(answer).toMatchObject({ connected: true, connectorId: 'delivrai' });

    const status = await admin.connector.getStatus.query({ connectorId: 'delivrai' });
    expect(status.config).toEqual({ pixelId: 'sandbox-org-pixel' });
    expect(JSON.stringify(status)).not.toContain('sandbox-secret');
    expect(JSON.stringify(await storedItem('dlvr-pair'))).not.toContain('sandbox-secret');

    await admin.connector.triggerSync.mutate({ connectorId: 'delivrai' });
    await stack.stepFunctions.idle();
    const [entry] = await admin.connector.getSyncHistory.query({ connectorId: 'delivrai', limit: 1 });
    expect(entry).toMatchObject({ status: 'completed', recordsFailed: 0, recordsCreated: 260 });
    expect(await admin.connector.getEntityCounts.query({ connectorId: 'delivrai' })).toEqual({ accounts: 60, people: 200, opportunities: 0 });
  });

  it('answers BAD_REQUEST for a wrong secret, and stores nothing', async () => {
    const error = await errorOf(
      stack.client('dlvr-wrong', 'admin').connector.connect.mutate({ connectorId: 'delivrai', apiKey: 'sandbox-key', apiSecret: 'not-the-secret', config: { pixelId: 'sandbox-org-pixel' } }),
    );
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toBe('Delivr.ai: the provider rejected the API key. Check the key and its secret and try again.');
    expect(await storedItem('dlvr-wrong')).toBeUndefined();
  });

  it('answers BAD_REQUEST for a secret put in config, which getStatus would show, and stores nothing', async () => {
    const error = await errorOf(
      stack.client('dlvr-config', 'admin').connector.connect.mutate({ connectorId: 'delivrai', apiKey: 'sandbox-key', config: { pixelId: 'sandbox-org-pixel', apiSecret: 'sandbox-secret' } }),
    );
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/send the API secret as apiSecret, beside apiKey/);
    expect(await storedItem('dlvr-config')).toBeUndefined();
  });

  it('answers BAD_REQUEST naming the fields a sync would miss when Delivr.ai names them otherwise, and stores nothing', async () => {
    stack.delivrai!.omitFields(['person_id']);
    try {
      const error = await errorOf(
        stack.client('dlvr-drift', 'admin').connector.connect.mutate({ connectorId: 'delivrai', apiKey: 'sandbox-key', apiSecret: 'sandbox-secret', config: { pixelId: 'sandbox-org-pixel' } }),
      );
      expect(error.data?.code).toBe('BAD_REQUEST');
      expect(error.message).toMatch(/^Delivr\.ai's events do not carry a field this connector reads: person_id/);
      expect(await storedItem('dlvr-drift')).toBeUndefined();
    } finally {
      stack.delivrai!.omitFields([]);
    }
  });

  it('answers BAD_REQUEST when another provider is given a secret it does not issue', async () => {
    const error = await errorOf(stack.client('cio-secret', 'admin').connector.connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', apiSecret: 'x' }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toBe('Customer.io takes no API secret: an App API key is all it needs; remove apiSecret.');
  });
});

describe("Customer.io's daily quota", () => {
  it('ends the sync with a sentence that says so, without retrying', async () => {
    const tenant = 'cio-quota';
    const admin = stack.client(tenant, 'admin');
    await admin.connector.connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'us' } });
    const sandbox = stack.customerio!;
    sandbox.failures.dailyQuota(0);
    sandbox.resetStats();
    try {
      await admin.connector.triggerSync.mutate({ connectorId: 'customerio' });
      await stack.stepFunctions.idle();
    } finally {
      sandbox.failures.dailyQuota(null);
    }
    const [entry] = await admin.connector.getSyncHistory.query({ connectorId: 'customerio', limit: 1 });
    expect(entry).toMatchObject({ status: 'failed' });
    expect(entry!.message).toMatch(/^Customer\.io refused further requests today \(HTTP 429 without Retry-After: the workspace's daily API quota/);
    // One refused call, not a retry a second for as long as the engine would wait.
    expect(sandbox.stats().byStatus).toEqual({ '429': sandbox.stats().requests });
    expect(sandbox.stats().requests).toBeLessThanOrEqual(2);
  });
});

describe('Fathom invitees without an email', () => {
  it('are skipped, not failed: the sync completes with no failed record, and says how many it skipped', async () => {
    const admin = stack.client('fathom-no-email', 'admin');
    await admin.connector.connect.mutate({ connectorId: 'fathom', apiKey: 'sandbox-key' });
    // Runs last in this file: the other Fathom tests have seen the data set as generated.
    stack.fathom!.data.addMeetings(1, { inviteesWithoutEmail: 2 });
    await admin.connector.triggerSync.mutate({ connectorId: 'fathom' });
    await stack.stepFunctions.idle();
    const [entry] = await admin.connector.getSyncHistory.query({ connectorId: 'fathom', limit: 1 });
    expect(entry).toMatchObject({ status: 'completed', recordsFailed: 0, recordsSkipped: 2, recordsCreated: 120 });
    expect((await admin.connector.getStatus.query({ connectorId: 'fathom' })).latestSync).toMatchObject({ recordsFailed: 0, recordsSkipped: 2 });
  });
});
