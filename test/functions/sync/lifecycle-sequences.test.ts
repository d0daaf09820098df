import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../../../functions/api/router';
import { startTestStack, type TestStack } from '../../support/local-stack';
import { connectorRecord } from '../../support/factories';

/**
 * The sequences of user actions that used to break a connector's status, history or counts,
 * replayed end to end: real @trpc/client -> gateway -> handlers -> local Step Functions ->
 * Salesforce sandbox -> DynamoDB Local.
 */
describe('connector lifecycle sequences through the local stack', () => {
  let stack: TestStack;
  const admin = (tenant: string) => stack.client(tenant, 'admin');
  const status = (tenant: string) => admin(tenant).connector.getStatus.query({ connectorId: 'salesforce' });
  const history = (tenant: string) => admin(tenant).connector.getSyncHistory.query({ connectorId: 'salesforce', limit: 10 });
  const counts = (tenant: string) => admin(tenant).connector.getEntityCounts.query({ connectorId: 'salesforce' });
  const source = () => stack.salesforce!.data.entityCounts();
  const live = (tenant: string) => stack.repository.liveEntities(tenant, 'salesforce');
  /** Starts a full sync slowed down enough to act during it, and waits until it has stored something. */
  async function syncUnderWay(tenant: string): Promise<string> {
    stack.salesforce!.failures.slow(150);
    const { syncId } = await admin(tenant).connector.triggerSync.mutate({ connectorId: 'salesforce', fullSync: true });
    await expect.poll(async () => (await status(tenant)).latestSync?.recordsCreated ?? 0, { timeout: 15_000, interval: 25 }).toBeGreaterThan(0);
    return syncId;
  }
  /** Triggers a sync and waits for the state machine to finish it (and anything it started). */
  async function syncToEnd(tenant: string) {
    const answer = await admin(tenant).connector.triggerSync.mutate({ connectorId: 'salesforce' });
    await stack.stepFunctions.idle();
    return answer;
  }
  /** Executions of a sync (its continuations included) that are still running. */
  const runningExecutions = (syncId: string) => [...stack.stepFunctions.executions.values()].filter((e) => e.name.startsWith(syncId) && e.status === 'RUNNING');

  beforeAll(async () => {
    // Small pages: a sync has many of them, so there is time to act between them.
    stack = await startTestStack({
      salesforceSizes: { accounts: 600, people: 2400, opportunities: 300, orgs: [{ id: 'org-b', accounts: 40, people: 300, opportunities: 11 }] },
      delivrai: { organizations: [{ id: 'other-org' }] },
    });
  });
  afterAll(() => stack.stop());
  beforeEach(() => stack.salesforce!.failures.reset());

  it('cancelSync stops the running sync: its log ends cancelled with a reason, the counts equal what was stored', async () => {
    await stack.connectSalesforce('cancel');
    const syncId = await syncUnderWay('cancel');

    expect(await admin('cancel').connector.cancelSync.mutate({ connectorId: 'salesforce' })).toEqual({ cancelled: true, syncId });

    expect(runningExecutions(syncId)).toEqual([]);
    expect((await history('cancel'))[0]).toMatchObject({ id: syncId, status: 'cancelled', message: 'Cancelled by an admin.', completedAt: expect.any(String) });
    expect((await status('cancel')).status).toBe('connected');
    expect(await counts('cancel')).toEqual(await live('cancel'));
    await stack.stepFunctions.idle();
    expect(await counts('cancel')).toEqual(await live('cancel'));

    stack.salesforce!.failures.reset();
    await syncToEnd('cancel');
    // Nothing completed since the connect: the next sync is full, and ends with exactly the source.
    expect((await history('cancel'))[0]).toMatchObject({ status: 'completed', syncType: 'full' });
    expect(await counts('cancel')).toEqual(source());
  });

  it('cancelSync answers BAD_REQUEST when no sync runs, and FORBIDDEN to members', async () => {
    await stack.connectSalesforce('idle');
    const error = await admin('idle').connector.cancelSync.mutate({ connectorId: 'salesforce' }).catch((e: TRPCClientError<AppRouter>) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<AppRouter>).data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
    expect((error as TRPCClientError<AppRouter>).message).toBe('No sync is running for this connector.');
    const member = await stack.client('idle', 'member').connector.cancelSync.mutate({ connectorId: 'salesforce' }).catch((e: TRPCClientError<AppRouter>) => e);
    expect((member as TRPCClientError<AppRouter>).data?.code).toBe('FORBIDDEN');
  });

  it('disconnect and reconnect during a sync: one execution writes, the first log ends cancelled, the counts end equal to the source', async () => {
    await stack.connectSalesforce('flip');
    const first = await syncUnderWay('flip');

    await admin('flip').connector.disconnect.mutate({ connectorId: 'salesforce' });
    expect(runningExecutions(first)).toEqual([]);
    expect(await status('flip')).toMatchObject({ status: 'disconnected' });
    expect((await history('flip'))[0]).toMatchObject({ id: first, status: 'cancelled', message: 'Disconnected during the sync.' });
    expect(await counts('flip')).toEqual(await live('flip'));

    stack.salesforce!.failures.reset();
    await stack.connectSalesforce('flip');
    const { syncId: second } = await syncToEnd('flip');

    const [latest, earlier] = await history('flip');
    expect(earlier).toMatchObject({ id: first, status: 'cancelled' });
    expect(latest).toMatchObject({ id: second, status: 'completed', syncType: 'full' });
    expect(await counts('flip')).toEqual(source());
    expect(await live('flip')).toEqual(source());
  });

  it('disconnect with purgeData deletes the entities and counters in pages, and a reconnect starts clean', async () => {
    await stack.connectSalesforce('purge');
    await syncToEnd('purge');
    expect(await counts('purge')).toEqual(source());

    expect(await admin('purge').connector.disconnect.mutate({ connectorId: 'salesforce', purgeData: true })).toEqual({ disconnected: true });
    await stack.stepFunctions.idle();

    expect(await counts('purge')).toEqual({ accounts: 0, people: 0, opportunities: 0 });
    expect(await storedEntityItems('purge')).toBe(0);
    expect((await status('purge')).status).toBe('disconnected');

    await stack.connectSalesforce('purge');
    await syncToEnd('purge');
    expect(await counts('purge')).toEqual(source());
  });

  it('a purge that is still deleting holds off a new sync with CONFLICT', async () => {
    await stack.connectSalesforce('purging');
    await syncToEnd('purging');
    // Hold the purge before its first page, as a slow table would.
    const release = stack.stepFunctions.holdTask('PurgePage');
    try {
      await admin('purging').connector.disconnect.mutate({ connectorId: 'salesforce', purgeData: true });
      await stack.connectSalesforce('purging');
    } catch (error) {
      release();
      throw error;
    }

    const busy = await admin('purging').connector.triggerSync.mutate({ connectorId: 'salesforce' }).catch((e: TRPCClientError<AppRouter>) => e);
    release();

    expect((busy as TRPCClientError<AppRouter>).data).toMatchObject({ code: 'CONFLICT' });
    expect((busy as TRPCClientError<AppRouter>).message).toMatch(/still being deleted/);
    await stack.stepFunctions.idle();
    expect(await counts('purging')).toEqual({ accounts: 0, people: 0, opportunities: 0 });
    // Deleted and connected again: the next sync brings the source back, exactly.
    await syncToEnd('purging');
    expect(await counts('purging')).toEqual(source());
  });

  it('reconnecting to another Salesforce org ends with exactly the new org\'s counts', async () => {
    await stack.connectSalesforce('two-orgs');
    await syncToEnd('two-orgs');
    expect(await counts('two-orgs')).toEqual(source());

    stack.salesforce!.consentAs('org-b');
    try {
      await stack.connectSalesforce('two-orgs');
    } finally {
      stack.salesforce!.consentAs();
    }
    expect((await status('two-orgs')).config).toMatchObject({ instanceUrl: stack.salesforce!.org('org-b').instanceUrl });
    await syncToEnd('two-orgs');

    // The first sync after the reconnect is full and removes the old org's entities.
    expect((await history('two-orgs'))[0]).toMatchObject({ status: 'completed', syncType: 'full', recordsDeleted: Object.values(source()).reduce((a, b) => a + b, 0) });
    expect(await counts('two-orgs')).toEqual(stack.salesforce!.org('org-b').data.entityCounts());
    expect(await live('two-orgs')).toEqual(stack.salesforce!.org('org-b').data.entityCounts());
  });

  it('reconnecting to another Delivr.ai organization ends with exactly the new organization\'s counts, though its full syncs read a window', async () => {
    const delivrai = (tenant: string) => admin(tenant).connector;
    const syncDelivrAi = async (tenant: string, organizationId: string) => {
      await delivrai(tenant).connect.mutate({ connectorId: 'delivrai', apiKey: 'sandbox-key', config: { organizationId } });
      await delivrai(tenant).triggerSync.mutate({ connectorId: 'delivrai' });
      await stack.stepFunctions.idle();
      return await delivrai(tenant).getEntityCounts.query({ connectorId: 'delivrai' });
    };
    const onlyOther = await syncDelivrAi('other-only', 'other-org');
    const first = await syncDelivrAi('moves', 'sandbox-org');
    expect(first).not.toEqual(onlyOther);

    const afterMove = await syncDelivrAi('moves', 'other-org');

    expect(afterMove).toEqual(onlyOther);
    expect(await stack.repository.liveEntities('moves', 'delivrai')).toEqual(onlyOther);
    expect((await delivrai('moves').getSyncHistory.query({ connectorId: 'delivrai', limit: 1 }))[0]).toMatchObject({ status: 'completed', syncType: 'full' });
  });

  it('the scheduler never starves: 150 connectors that cannot start and 1 that can; the due one starts in the first run', async () => {
    const longAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
    // Older in the schedule than the one that can start: they stand at the head of the index.
    for (let i = 0; i < 150; i++) {
      const kind = i % 3;
      await stack.repository.saveConnector({
        ...connectorRecord(`blocked-${i}`, 'salesforce', { status: kind === 0 ? 'syncing' : kind === 1 ? 'pending_auth' : 'disconnected' }),
        ...(kind === 0 && { activeSyncId: `sync_stuck_${i}` }),
        ...({ scheduleKey: 'SCHEDULED', nextSyncAt: longAgo(500 - i) } as object),
      });
    }
    await stack.connectSalesforce('due');
    await stack.repository.saveConnector({ ...(await stack.repository.getConnectorWithLatestSync('due', 'salesforce')).connector!, ...({ nextSyncAt: longAgo(1) } as object) });
    const { handler } = await import('../../../functions/sync/scheduledSync');

    const first = (await handler({}, { awsRequestId: 'schedule-1', functionName: 'scheduledSync' } as never)) as { started: number };

    expect(first.started).toBe(1);
    await stack.stepFunctions.idle();
    expect((await history('due'))[0]).toMatchObject({ status: 'completed' });
    // The blocked ones moved: the busy ones to their next run, the rest off the schedule.
    const second = (await handler({}, { awsRequestId: 'schedule-2', functionName: 'scheduledSync' } as never)) as { started: number };
    expect(second.started).toBe(0);
    const stillDue = await stack.documentClient.send(
      new QueryCommand({
        TableName: stack.tableName,
        IndexName: 'bySchedule',
        KeyConditionExpression: 'scheduleKey = :s AND nextSyncAt <= :now',
        ExpressionAttributeValues: { ':s': 'SCHEDULED', ':now': new Date().toISOString() },
      }),
    );
    expect(stillDue.Items).toEqual([]);
  });

  /** Entity items of the tenant's Salesforce connector, live or removed, counted in the table itself. */
  async function storedEntityItems(tenant: string): Promise<number> {
    let items = 0;
    for (let shard = 0; shard < 16; shard++) {
      const answer = await stack.documentClient.send(
        new QueryCommand({
          TableName: stack.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `TENANT#${tenant}#CONNECTOR#salesforce#ENTITY#${shard}` },
          Select: 'COUNT',
        }),
      );
      items += answer.Count ?? 0;
    }
    return items;
  }
});
