import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createRepositories } from '../../../functions/core/repository';
import { TestConnectorStore } from '../../support/connector-store';
import type { SyncState } from '../../../functions/core/model';
import { freshTable } from '../../support/dynamodb';
import { startTestStack, type TestStack } from '../../support/local-stack';
import { connectorRecord, runningSyncLog } from '../../support/factories';

const key = (tenant: string) => ({ pk: `TENANT#${tenant}#CONNECTOR#salesforce`, sk: 'META' });

describe('scheduled syncs and recovery through the local stack', () => {
  let stack: TestStack;
  const history = (tenant: string) => stack.client(tenant, 'admin').connector.getSyncHistory.query({ connectorId: 'salesforce' });
  const connector = async (tenant: string) =>
    (await stack.documentClient.send(new GetCommand({ TableName: stack.tableName, Key: key(tenant) }))).Item!;
  const dueNow = (tenant: string) =>
    stack.documentClient.send(
      new UpdateCommand({
        TableName: stack.tableName,
        Key: key(tenant),
        UpdateExpression: 'SET nextSyncAt = :past',
        ExpressionAttributeValues: { ':past': new Date(Date.now() - 1000).toISOString() },
      }),
    );

  beforeAll(async () => {
    // The local scheduler ticks every 200 ms here (EventBridge Scheduler's stand-in).
    stack = await startTestStack({ scheduleEveryMs: 200 });
  });
  afterAll(() => stack.stop());

  it('schedules the first sync an interval after connecting', async () => {
    const before = Date.now();
    await stack.connectSalesforce('fresh');
    const item = await connector('fresh');
    expect(item.scheduleKey).toBe('SCHEDULED');
    expect(Date.parse(item.nextSyncAt as string) - before).toBeGreaterThan(59 * 60_000);
    expect(await history('fresh')).toEqual([]);
  });

  it('starts a sync when a connector is due (full, the first after connecting; incremental after), then schedules the next one an interval later', async () => {
    await stack.connectSalesforce('due');
    await dueNow('due');

    // The scheduler writes the sync log before it starts the execution: wait for the outcome, not for idleness.
    await expect.poll(async () => (await history('due'))[0]?.status, { timeout: 15_000, interval: 100 }).toBe('completed');
    await dueNow('due');
    await expect.poll(async () => (await history('due')).map((entry) => entry.status), { timeout: 15_000, interval: 100 }).toEqual(['completed', 'completed']);

    const entries = await history('due');
    expect(entries.map((entry) => entry.syncType)).toEqual(['incremental', 'full']);
    expect(Date.parse((await connector('due')).nextSyncAt as string) - Date.now()).toBeGreaterThan(59 * 60_000);
  });

  it('takes a disconnected connector off the schedule, and never syncs it even if it were due', async () => {
    await stack.connectSalesforce('gone');
    await stack.client('gone', 'admin').connector.disconnect.mutate({ connectorId: 'salesforce' });
    expect(await connector('gone')).not.toHaveProperty('nextSyncAt');

    // Even a stray schedule entry cannot start a sync of a disconnected connector.
    await stack.documentClient.send(
      new UpdateCommand({ TableName: stack.tableName, Key: key('gone'), UpdateExpression: 'SET scheduleKey = :s', ExpressionAttributeValues: { ':s': 'SCHEDULED' } }),
    );
    await dueNow('gone');
    await new Promise((resolve) => setTimeout(resolve, 800));

    expect(await history('gone')).toEqual([]);
    expect((await connector('gone')).status).toBe('disconnected');
  });

  it('recovers a sync whose execution died without its failure step: log failed, connector error, not syncing', async () => {
    await stack.connectSalesforce('stuck');
    // A sync that started and whose execution then vanished (timed out in AWS).
    const { lifecycle } = createRepositories(stack.documentClient, stack.tableName);
    const syncId = 'sync_STUCK0000000000000000000';
    await lifecycle.beginSync('stuck', 'salesforce', runningSyncLog('stuck', 'salesforce', syncId));
    const state: Pick<SyncState, 'tenantId' | 'providerId' | 'syncId'> = { tenantId: 'stuck', providerId: 'salesforce', syncId };
    const { handler } = await import('../../../functions/sync/recoverSync');

    // The event EventBridge delivers for a TIMED_OUT execution.
    const answer = await handler(
      { source: 'aws.states', 'detail-type': 'Step Functions Execution Status Change', detail: { status: 'TIMED_OUT', name: syncId, input: JSON.stringify(state) } },
      { awsRequestId: 'recover-1', functionName: 'recoverSync' } as never,
    );

    expect(answer).toEqual({ recovered: true });
    expect(await stack.client('stuck', 'admin').connector.getStatus.query({ connectorId: 'salesforce' })).toMatchObject({
      status: 'error',
      lastSyncError: 'The sync took too long and was stopped; it will run again at the next schedule.',
    });
    expect((await history('stuck'))[0]).toMatchObject({ id: syncId, status: 'failed', completedAt: expect.any(String) });
  });

  it('leaves a connector alone when a stale failure event arrives after it moved on', async () => {
    await stack.connectSalesforce('moved-on');
    const { handler } = await import('../../../functions/sync/recoverSync');
    const state = { tenantId: 'moved-on', providerId: 'salesforce', syncId: 'sync_OLD' };

    await handler({ detail: { status: 'FAILED', name: 'sync_OLD', input: JSON.stringify(state) } }, { awsRequestId: 'recover-2' } as never);

    expect((await stack.client('moved-on', 'admin').connector.getStatus.query({ connectorId: 'salesforce' })).status).toBe('connected');
  });

  it('ignores events whose input is not a sync state', async () => {
    const { handler } = await import('../../../functions/sync/recoverSync');
    expect(await handler({ detail: { status: 'FAILED', name: 'x', input: '{"hello":1}' } }, { awsRequestId: 'recover-3' } as never)).toEqual({
      recovered: false,
    });
  });
});

describe('DynamoScheduleRepository.findDueConnectors', () => {
  it('reads the sparse schedule index, never scanning the table', async () => {
    const table = await freshTable();
    const repository = createRepositories(table.client, table.tableName).schedule;
    const connectors = new TestConnectorStore(table.client, table.tableName);
    for (const [tenant, next] of [['a', '2026-01-01T00:00:00.000Z'], ['b', '2026-01-01T02:00:00.000Z'], ['c', null]] as const) {
      await connectors.saveConnector(connectorRecord(tenant, 'salesforce'));
      if (next) {
        await table.client.send(
          new UpdateCommand({
            TableName: table.tableName,
            Key: key(tenant),
            UpdateExpression: 'SET scheduleKey = :s, nextSyncAt = :n',
            ExpressionAttributeValues: { ':s': 'SCHEDULED', ':n': next },
          }),
        );
      }
    }
    table.resetRequests();

    const due = await repository.findDueConnectors('2026-01-01T01:00:00.000Z', 100);

    expect(due).toEqual([{ tenantId: 'a', providerId: 'salesforce', nextSyncAt: '2026-01-01T00:00:00.000Z' }]);
    expect(table.requests()).toEqual(['QueryCommand']);
    table.destroy();
  });
});
