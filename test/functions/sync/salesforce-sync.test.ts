import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../../../functions/api/router';
import { startTestStack, type TestStack } from '../../support/local-stack';
import { errorOf } from '../../support/trpc-error';

/** End to end, as a user sees it: real @trpc/client -> gateway -> handlers -> local Step Functions -> sandbox -> DynamoDB Local. */
describe('Salesforce sync through the local stack', () => {
  let stack: TestStack;
  const admin = (tenant: string) => stack.client(tenant, 'admin');
  const sync = async (tenant: string, fullSync = false) => {
    const answer = await admin(tenant).connector.triggerSync.mutate({ connectorId: 'salesforce', fullSync });
    await stack.stepFunctions.idle();
    return answer;
  };
  const counts = (tenant: string) => admin(tenant).connector.getEntityCounts.query({ connectorId: 'salesforce' });
  const latest = async (tenant: string) => (await admin(tenant).connector.getSyncHistory.query({ connectorId: 'salesforce', limit: 1 }))[0]!;
  const status = (tenant: string) => admin(tenant).connector.getStatus.query({ connectorId: 'salesforce' });
  /** What the sandbox holds now (earlier tests change it); a complete sync must count exactly this. */
  const sourceCounts = () => stack.salesforce!.data.entityCounts();
  const scheduledAt = async (tenant: string) =>
    (await stack.documentClient.send(new GetCommand({ TableName: stack.tableName, Key: { pk: `TENANT#${tenant}#CONNECTOR#salesforce`, sk: 'META' } }))).Item?.nextSyncAt;
  const sourceTotal = () => Object.values(sourceCounts()).reduce((a, b) => a + b, 0);
  /** The tenant's stored live entities of one type, read from the table's 16 shards. */
  const storedEntities = async (tenant: string, type: string) => {
    const items: Array<{ sourceId: string; attributes: Record<string, unknown> }> = [];
    for (let shard = 0; shard < 16; shard++) {
      const answer = await stack.documentClient.send(
        new QueryCommand({
          TableName: stack.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :type)',
          ExpressionAttributeValues: { ':pk': `TENANT#${tenant}#CONNECTOR#salesforce#ENTITY#${shard}`, ':type': `${type}#` },
        }),
      );
      items.push(...((answer.Items ?? []) as Array<{ sourceId: string; attributes: Record<string, unknown>; deleted?: boolean }>).filter((item) => !item.deleted));
    }
    return items;
  };

  /** A tenant of its own for each test, connected and synced once: no test depends on another having run. */
  let tenants = 0;
  const syncedTenant = async () => {
    const tenant = `synced-${++tenants}`;
    await stack.connectSalesforce(tenant);
    await sync(tenant);
    return tenant;
  };

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());
  beforeEach(() => stack.salesforce!.failures.reset());

  it('a first sync is a full one and brings in the whole data set, counted exactly', async () => {
    const tenant = await syncedTenant();
    expect(await counts(tenant)).toEqual(sourceCounts());
    expect(await latest(tenant)).toMatchObject({ status: 'completed', syncType: 'full', recordsCreated: sourceTotal(), recordsFailed: 0, completedAt: expect.any(String) });
    expect(await status(tenant)).toMatchObject({ status: 'connected', lastSyncError: null, lastSyncAt: expect.any(String) });
  });

  it('an immediate incremental sync creates nothing and rewrites nothing', async () => {
    const tenant = await syncedTenant();
    const providerRequests = stack.salesforce!.stats().requests;
    await sync(tenant);
    expect(await latest(tenant)).toMatchObject({ status: 'completed', recordsCreated: 0, recordsUpdated: 0 });
    // One queryAll per object, each answered from the watermark (no full re-read), and one
    // /deleted read per object for what was purged from the recycle bin; the describes are cached.
    expect(stack.salesforce!.stats().requests - providerRequests).toBe(8);
    expect(await counts(tenant)).toEqual(sourceCounts());
  });

  it('an incremental sync applies changes, additions and deletions', async () => {
    const tenant = await syncedTenant();
    const before = sourceCounts();
    stack.salesforce!.data.modify('Account', 10);
    stack.salesforce!.data.add('Lead', 3);
    stack.salesforce!.data.remove('Contact', 5);

    await sync(tenant);

    // Deletions are their own figure, never updates.
    expect(await latest(tenant)).toMatchObject({ status: 'completed', syncType: 'incremental', recordsCreated: 3, recordsUpdated: 10, recordsDeleted: 5 });
    expect(await counts(tenant)).toEqual({ ...before, people: before.people - 2 });
    expect(await counts(tenant)).toEqual(sourceCounts());
  });

  it('completes for an org whose user cannot read two mapped fields, without those attributes', async () => {
    const sandbox = stack.salesforce!;
    sandbox.fieldVisibility.hide({ Account: ['AnnualRevenue'], Opportunity: ['Probability'] });
    try {
      const tenant = await syncedTenant();

      // Without the describe first, every read of Account and Opportunity would answer 400 INVALID_FIELD.
      expect(await latest(tenant)).toMatchObject({ status: 'completed', syncType: 'full', recordsCreated: sourceTotal(), recordsFailed: 0 });
      expect(await counts(tenant)).toEqual(sourceCounts());
      const accounts = await storedEntities(tenant, 'accounts');
      const opportunities = await storedEntities(tenant, 'opportunities');
      expect(accounts.some((account) => 'annualRevenue' in account.attributes)).toBe(false);
      expect(accounts.filter((account) => 'name' in account.attributes)).toHaveLength(accounts.length);
      expect(opportunities.some((opportunity) => 'probability' in opportunity.attributes)).toBe(false);
      expect(opportunities.filter((opportunity) => 'stage' in opportunity.attributes)).toHaveLength(opportunities.length);
    } finally {
      sandbox.fieldVisibility.hide({});
    }
  });

  it('removes records purged from the recycle bin in the next incremental sync, counted once with those still in it', async () => {
    const sandbox = stack.salesforce!;
    const tenant = await syncedTenant();
    const before = sourceCounts();
    const removed = sandbox.data.remove('Contact', 6);
    sandbox.data.purge('Contact', 4);
    sandbox.data.remove('Account', 2);
    sandbox.data.purge('Account');
    // /deleted ignores seconds and answers up to the current minute: the org's clock moves on a little.
    sandbox.advanceTime(2 * 60_000);

    await sync(tenant);

    expect(await latest(tenant)).toMatchObject({ status: 'completed', syncType: 'incremental', recordsCreated: 0, recordsUpdated: 0, recordsDeleted: 8 });
    expect(await counts(tenant)).toEqual({ ...before, accounts: before.accounts - 2, people: before.people - 6 });
    expect(await counts(tenant)).toEqual(sourceCounts());
    const people = new Set((await storedEntities(tenant, 'people')).map((person) => person.sourceId));
    expect(removed.filter((id) => people.has(id))).toEqual([]);
  });

  it('becomes a full sync when the deletions since the watermark are older than Salesforce keeps (15 days)', async () => {
    const sandbox = stack.salesforce!;
    const tenant = await syncedTenant();
    // The org's clock 16 days on: its /deleted no longer covers the window since this tenant's last sync.
    sandbox.advanceTime(16 * 24 * 3600 * 1000);
    sandbox.data.remove('Lead', 2);
    sandbox.data.purge('Lead');

    await sync(tenant);

    expect(await latest(tenant)).toMatchObject({ status: 'completed', syncType: 'full', recordsCreated: 0 });
    expect(await counts(tenant)).toEqual(sourceCounts());
  });

  it('a full sync repairs counters that drifted, whatever made them drift', async () => {
    const tenant = await syncedTenant();
    await stack.repository.adjustEntityCounts(tenant, 'salesforce', { accounts: 7, people: -3 });

    await sync(tenant, true);

    expect(await counts(tenant)).toEqual(sourceCounts());
  });

  it('a full sync keeps the counts, and removes what the source no longer has', async () => {
    const tenant = await syncedTenant();
    // An entity we hold that Salesforce has never heard of (it was purged there, say).
    await stack.repository.writeEntities(tenant, 'salesforce', [
      { type: 'accounts', sourceId: '001STALE000000000A', attributes: { name: 'Gone Inc' }, firstSeen: 'old', lastSeenSync: 'old', deleted: false },
    ]);
    await stack.repository.adjustEntityCounts(tenant, 'salesforce', { accounts: 1 });

    expect(await sync(tenant, true)).toMatchObject({ queued: true, fullSync: true });

    expect(await latest(tenant)).toMatchObject({ status: 'completed', syncType: 'full', recordsCreated: 0 });
    expect(await counts(tenant)).toEqual(sourceCounts());
  });

  it('starts exactly one sync for 10 concurrent triggers; the rest answer CONFLICT', async () => {
    const tenant = await syncedTenant();
    stack.salesforce!.failures.slow(50);
    const executionsBefore = stack.stepFunctions.executions.size;

    const answers = await Promise.allSettled(Array.from({ length: 10 }, () => admin(tenant).connector.triggerSync.mutate({ connectorId: 'salesforce' })));
    await stack.stepFunctions.idle();

    expect(answers.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    const conflicts = answers.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
    expect(conflicts.map((c) => (c.reason as TRPCClientError<AppRouter>).data?.httpStatus)).toEqual(Array(9).fill(409));
    expect(stack.stepFunctions.executions.size).toBe(executionsBefore + 1);
  });

  it('names the execution by the sync id', async () => {
    const tenant = await syncedTenant();
    const { syncId } = await sync(tenant);
    expect(stack.stepFunctions.executions.get(syncId)?.status).toBe('SUCCEEDED');
    expect((await latest(tenant)).id).toBe(syncId);
  });

  it('shows progress in getStatus.latestSync while syncing', async () => {
    await stack.connectSalesforce('progress');
    stack.salesforce!.failures.slow(300);
    await admin('progress').connector.triggerSync.mutate({ connectorId: 'salesforce' });

    await expect.poll(async () => (await status('progress')).latestSync?.recordsCreated ?? 0, { timeout: 15_000, interval: 50 }).toBeGreaterThan(0);
    const during = await status('progress');
    expect(during.status).toBe('syncing');
    expect(during.latestSync!.recordsCreated).toBeLessThan(sourceTotal());

    await stack.stepFunctions.idle();
    expect((await status('progress')).latestSync?.recordsCreated).toBe(sourceTotal());
  });

  it('answers BAD_REQUEST for a connector that is not connected, and FORBIDDEN for members', async () => {
    const notConnected = await errorOf(admin('nobody').connector.triggerSync.mutate({ connectorId: 'salesforce' }));
    expect(notConnected.data?.code).toBe('BAD_REQUEST');
    expect(notConnected.message).toBe('The connector is not connected; connect it before syncing.');
    expect((await errorOf(stack.client('members', 'member').connector.triggerSync.mutate({ connectorId: 'salesforce' }))).data?.code).toBe('FORBIDDEN');
  });

  it('waits for an org whose whole API allowance is used up, and after the longest wait ends completed with a note saying so', async () => {
    await stack.connectSalesforce('limited');
    stack.salesforce!.failures.requestLimitExceeded(Infinity);

    await sync('limited');

    // REQUEST_LIMIT_EXCEEDED is the org's allowance spent: the sync waits for it like for its budget, then gives up quietly.
    expect(await status('limited')).toMatchObject({
      status: 'connected',
      lastSyncError: null,
      lastSyncNote: expect.stringMatching(/^Paused by the API budget: the Salesforce org had used 100,000 of its 100,000 daily API requests .* the next sync continues from there\.$/),
    });
    expect(await latest('limited')).toMatchObject({ status: 'completed', recordsCreated: 0, message: expect.stringMatching(/^Paused by the API budget/), completedAt: expect.any(String) });
    expect(stack.stepFunctions.transitions().byState.WaitForApiBudget).toBeGreaterThanOrEqual(24);
    expect(await scheduledAt('limited')).toEqual(expect.any(String));
  });

  it('says what failed and what to do once an unavailable Salesforce has used up every retry, and only then', async () => {
    await stack.connectSalesforce('down');
    stack.salesforce!.failures.serverError(Infinity, 503);

    await sync('down');

    const { lastSyncError } = await status('down');
    expect(lastSyncError).toMatch(/^Salesforce .*127\.0\.0\.1.* It did not answer after 6 attempts; check the connection or try again later\. The sync will run again at the next schedule\.$/);
    expect(lastSyncError).not.toMatch(/will be retried/);
    expect(await latest('down')).toMatchObject({ status: 'failed', message: lastSyncError });
  });

  it('recovers from a few transient failures without the user noticing', async () => {
    await stack.connectSalesforce('flaky');
    stack.salesforce!.failures.serverError(2);
    stack.salesforce!.failures.malformedJson(1);

    await sync('flaky');

    expect(await status('flaky')).toMatchObject({ status: 'connected', lastSyncError: null });
    expect(await counts('flaky')).toEqual(sourceCounts());
  });

  it('refreshes an expired session mid-sync and carries on', async () => {
    await stack.connectSalesforce('expiring');
    stack.salesforce!.failures.expireSessions();

    await sync('expiring');

    expect(await latest('expiring')).toMatchObject({ status: 'completed', recordsCreated: sourceTotal() });
  });

  it('ends in error saying re-authorization is needed when the grant was revoked', async () => {
    await stack.connectSalesforce('revoked');
    stack.salesforce!.failures.revokeGrant();

    await sync('revoked');

    expect(await status('revoked')).toMatchObject({
      status: 'error',
      lastSyncError: 'Salesforce access was revoked or has expired (invalid_grant); an admin needs to reconnect Salesforce to re-authorize it.',
    });
    expect(await latest('revoked')).toMatchObject({ status: 'failed' });
    // Only a person can fix it: no more scheduled syncs until then.
    expect(await scheduledAt('revoked')).toBeUndefined();
  });
});
