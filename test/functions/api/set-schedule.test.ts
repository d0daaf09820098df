import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { databaseIdFor } from '../../../functions/core/connector-ref';
import type { ProviderId } from '../../../functions/core/registry';
import { startTestStack, type TestStack } from '../../support/local-stack';
import { errorOf } from '../../support/trpc-error';

/**
 * `connector.setSchedule` end to end: the real @trpc/client -> local gateway -> handlers ->
 * DynamoDB Local, the sync state machine executing; the scheduled-sync handler is run by the
 * test (the local scheduler is off), so a run happens exactly when a test says.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ scheduleEveryMs: 0 });
});
afterAll(() => stack.stop());
beforeEach(() => stack.customerio!.failures.reset());

const admin = (tenant: string) => stack.client(tenant, 'admin').connector;
const connectFathom = (tenant: string) => admin(tenant).connect.mutate({ connectorId: 'fathom', apiKey: 'sandbox-key' });
const connectCustomerIo = (tenant: string) => admin(tenant).connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'us' } });
const scheduleOf = async (tenant: string, connectorId: ProviderId = 'fathom') => (await admin(tenant).getStatus.query({ connectorId })).schedule;
const history = (tenant: string, connectorId: ProviderId = 'fathom') => admin(tenant).getSyncHistory.query({ connectorId });
const key = (tenant: string, providerId: ProviderId) => ({ pk: `TENANT#${tenant}#CONNECTOR#${providerId}`, sk: 'META' });
const rawItem = async (tenant: string, providerId: ProviderId = 'fathom') =>
  (await stack.documentClient.send(new GetCommand({ TableName: stack.tableName, Key: key(tenant, providerId), ConsistentRead: true }))).Item!;
/** Makes the connector's next sync due now, on the schedule or not (as a stray or raced entry would be with `scheduleKey`). */
const dueNow = (tenant: string, options: { scheduleKey?: boolean } = {}) =>
  stack.documentClient.send(
    new UpdateCommand({
      TableName: stack.tableName,
      Key: key(tenant, 'fathom'),
      UpdateExpression: options.scheduleKey ? 'SET nextSyncAt = :past, scheduleKey = :s' : 'SET nextSyncAt = :past',
      ExpressionAttributeValues: { ':past': new Date(Date.now() - 1000).toISOString(), ...(options.scheduleKey && { ':s': 'SCHEDULED' }) },
    }),
  );
/** One run of the scheduled-sync function, as EventBridge Scheduler invokes it. */
async function runScheduler(): Promise<number> {
  const { handler } = await import('../../../functions/sync/scheduledSync');
  const { started } = (await handler({}, { awsRequestId: `schedule-${crypto.randomUUID()}`, functionName: 'scheduledSync' } as never)) as { started: number };
  await stack.stepFunctions.idle();
  return started;
}
/** Minutes from now until an ISO time. */
const minutesUntil = (iso: string | null) => (Date.parse(iso ?? 'invalid') - Date.now()) / 60_000;
describe('connector.setSchedule', () => {
  it('sets the minutes between scheduled syncs, and getStatus shows them (the default before)', async () => {
    await connectFathom('acme');
    const before = await scheduleOf('acme');
    expect(before).toMatchObject({ intervalMinutes: 60, paused: false });
    expect(minutesUntil(before.nextSyncAt)).toBeGreaterThan(59);

    const answer = await admin('acme').setSchedule.mutate({ connectorId: 'fathom', intervalMinutes: 15 });

    expect(answer).toEqual({
      connectorId: 'fathom',
      databaseId: databaseIdFor('acme', 'fathom'),
      schedule: { intervalMinutes: 15, paused: false, nextSyncAt: expect.any(String) },
    });
    expect(minutesUntil(answer.schedule.nextSyncAt)).toBeGreaterThan(14);
    expect(minutesUntil(answer.schedule.nextSyncAt)).toBeLessThanOrEqual(15);
    expect(await scheduleOf('acme')).toEqual(answer.schedule);
    // By database id too, and in a batch.
    const batched = stack.client('acme', 'admin', { batch: true }).connector;
    const [byDatabaseId, status] = await Promise.all([
      batched.setSchedule.mutate({ connectorId: databaseIdFor('acme', 'fathom'), intervalMinutes: 15 }),
      batched.getStatus.query({ connectorId: 'fathom' }),
    ]);
    expect(byDatabaseId.schedule).toEqual(answer.schedule);
    expect(status.status).toBe('connected');
  });

  describe('refuses bad input with a 400 naming intervalMinutes', () => {
    const post = async (body: string) => {
      const response = await fetch(`${stack.url}/trpc/connector.setSchedule`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await stack.token('acme', 'admin')}`, 'content-type': 'application/json' },
        body,
      });
      const envelope = (await response.json()) as { error: { message: string; data: { code: string; httpStatus: number } } };
      return { status: response.status, code: envelope.error?.data.code, message: envelope.error?.message };
    };

    for (const [label, value, message] of [
      ['14', '14', /intervalMinutes: intervalMinutes must be between 15 and 1440/],
      ['1441', '1441', /intervalMinutes: intervalMinutes must be between 15 and 1440/],
      ['30.5', '30.5', /intervalMinutes: intervalMinutes must be a whole number of minutes/],
      ['"60" (a string)', '"60"', /intervalMinutes: intervalMinutes must be a number of minutes \(15 to 1440\), or null to pause/],
      ['true', 'true', /intervalMinutes: intervalMinutes must be a number/],
    ] as const) {
      it(`intervalMinutes ${label}`, async () => {
        expect(await post(`{"connectorId":"fathom","intervalMinutes":${value}}`)).toEqual({ status: 400, code: 'BAD_REQUEST', message: expect.stringMatching(message) });
      });
    }

    it('intervalMinutes missing', async () => {
      expect(await post('{"connectorId":"fathom"}')).toEqual({
        status: 400,
        code: 'BAD_REQUEST',
        message: expect.stringMatching(/intervalMinutes: intervalMinutes is required: minutes between scheduled syncs \(15 to 1440\), or null to pause them/),
      });
    });

    it('through the typed client too, and changes nothing', async () => {
      await connectFathom('bad-input');
      const before = await scheduleOf('bad-input');
      const error = await errorOf(admin('bad-input').setSchedule.mutate({ connectorId: 'fathom', intervalMinutes: 14 }));
      expect(error.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
      expect(error.message).toMatch(/intervalMinutes/);
      expect(await scheduleOf('bad-input')).toEqual(before);
    });

    it('accepts the bounds 15 and 1440', async () => {
      await connectFathom('bounds');
      for (const intervalMinutes of [15, 1440]) {
        expect((await admin('bounds').setSchedule.mutate({ connectorId: 'fathom', intervalMinutes })).schedule.intervalMinutes).toBe(intervalMinutes);
      }
    });
  });

  it('is FORBIDDEN to a member, and changes nothing', async () => {
    await connectFathom('roles');
    const before = await scheduleOf('roles');

    const error = await errorOf(stack.client('roles', 'member').connector.setSchedule.mutate({ connectorId: 'fathom', intervalMinutes: 15 }));

    expect(error.data).toMatchObject({ code: 'FORBIDDEN', httpStatus: 403 });
    expect(await scheduleOf('roles')).toEqual(before);
  });

  it('answers NOT_FOUND for another tenant\'s connector, exactly as for one that never existed, and changes nothing', async () => {
    await connectFathom('victim');
    const before = await rawItem('victim');

    const foreign = await errorOf(admin('attacker').setSchedule.mutate({ connectorId: databaseIdFor('victim', 'fathom'), intervalMinutes: null }));
    const unknown = await errorOf(admin('attacker').setSchedule.mutate({ connectorId: 'hubspot', intervalMinutes: 15 }));

    expect(foreign.data).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404 });
    expect(unknown.data).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404 });
    expect(foreign.message).toBe(`No connector "${databaseIdFor('victim', 'fathom')}" exists in this tenant.`);
    expect(await rawItem('victim')).toEqual(before);
  });

  it('answers 400 for a connector the tenant never set up, and creates no record', async () => {
    const error = await errorOf(admin('newcomer').setSchedule.mutate({ connectorId: 'fathom', intervalMinutes: 15 }));
    expect(error.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
    expect(error.message).toBe('Fathom is not set up in this tenant yet; connect it before setting its schedule.');
    expect((await admin('newcomer').getStatus.query({ connectorId: 'fathom' })).status).toBe('disconnected');
  });
});

describe('pausing and resuming', () => {
  it('pauses: the scheduler does not start the connector even when it is due; triggerSync still works; a resume schedules it again', async () => {
    await connectFathom('pauses');
    await admin('pauses').setSchedule.mutate({ connectorId: 'fathom', intervalMinutes: 30 });

    const paused = await admin('pauses').setSchedule.mutate({ connectorId: 'fathom', intervalMinutes: null });

    expect(paused.schedule).toEqual({ intervalMinutes: 30, paused: true, nextSyncAt: null });
    expect(await scheduleOf('pauses')).toEqual(paused.schedule);
    expect(await rawItem('pauses')).not.toHaveProperty('scheduleKey');

    // Due, and even put back on the schedule by a write that raced the pause: not started, and taken off.
    await dueNow('pauses');
    expect(await runScheduler()).toBe(0);
    await dueNow('pauses', { scheduleKey: true });
    expect(await runScheduler()).toBe(0);
    expect(await history('pauses')).toEqual([]);
    expect(await rawItem('pauses')).not.toHaveProperty('scheduleKey');

    // A manual sync runs, and its end does not put the connector back on the schedule.
    await admin('pauses').triggerSync.mutate({ connectorId: 'fathom' });
    await stack.stepFunctions.idle();
    expect((await history('pauses')).map((entry) => entry.status)).toEqual(['completed']);
    expect(await scheduleOf('pauses')).toEqual({ intervalMinutes: 30, paused: true, nextSyncAt: null });
    expect(await rawItem('pauses')).not.toHaveProperty('scheduleKey');

    const resumed = await admin('pauses').setSchedule.mutate({ connectorId: 'fathom', intervalMinutes: 30 });

    expect(resumed.schedule).toMatchObject({ intervalMinutes: 30, paused: false });
    expect(minutesUntil(resumed.schedule.nextSyncAt)).toBeGreaterThan(28);
    expect(minutesUntil(resumed.schedule.nextSyncAt)).toBeLessThanOrEqual(30);
    expect(await scheduleOf('pauses')).toEqual(resumed.schedule);
    await dueNow('pauses');
    expect(await runScheduler()).toBe(1);
    expect((await history('pauses')).map((entry) => entry.status)).toEqual(['completed', 'completed']);
  });

  it('keeps the choice across a disconnect and a reconnect: the interval, and a pause', async () => {
    await connectFathom('keeps');
    await admin('keeps').setSchedule.mutate({ connectorId: 'fathom', intervalMinutes: 20 });

    await admin('keeps').disconnect.mutate({ connectorId: 'fathom' });
    expect(await scheduleOf('keeps')).toEqual({ intervalMinutes: 20, paused: false, nextSyncAt: null });
    await connectFathom('keeps');
    const reconnected = await scheduleOf('keeps');
    expect(reconnected).toMatchObject({ intervalMinutes: 20, paused: false });
    expect(minutesUntil(reconnected.nextSyncAt)).toBeGreaterThan(19);
    expect(minutesUntil(reconnected.nextSyncAt)).toBeLessThanOrEqual(20);

    await admin('keeps').setSchedule.mutate({ connectorId: 'fathom', intervalMinutes: null });
    await admin('keeps').disconnect.mutate({ connectorId: 'fathom' });
    // Set while disconnected: kept for the next connection.
    await connectFathom('keeps');
    expect(await scheduleOf('keeps')).toEqual({ intervalMinutes: 20, paused: true, nextSyncAt: null });
    expect(await rawItem('keeps')).not.toHaveProperty('scheduleKey');
  });

  it('schedules an OAuth connection\'s first sync at its interval when the authorization completes', async () => {
    await stack.connectSalesforce('oauth');
    await admin('oauth').setSchedule.mutate({ connectorId: 'salesforce', intervalMinutes: 120 });
    await admin('oauth').disconnect.mutate({ connectorId: 'salesforce' });

    await stack.connectSalesforce('oauth');

    const schedule = await scheduleOf('oauth', 'salesforce');
    expect(schedule).toMatchObject({ intervalMinutes: 120, paused: false });
    expect(minutesUntil(schedule.nextSyncAt)).toBeGreaterThan(119);
    expect(minutesUntil(schedule.nextSyncAt)).toBeLessThanOrEqual(120);
  });
});

describe('a sync\'s end schedules the next one at the connector\'s interval', () => {
  it('after a completed sync', async () => {
    await connectFathom('finishes');
    await admin('finishes').setSchedule.mutate({ connectorId: 'fathom', intervalMinutes: 1440 });
    await dueNow('finishes');

    expect(await runScheduler()).toBe(1);

    expect((await history('finishes'))[0]?.status).toBe('completed');
    expect(minutesUntil((await scheduleOf('finishes')).nextSyncAt)).toBeGreaterThan(1439);
  });

  it('after a failed sync; not after one only a person can fix, which a resume does not schedule either', async () => {
    await connectCustomerIo('fails');
    await admin('fails').setSchedule.mutate({ connectorId: 'customerio', intervalMinutes: 45 });
    stack.customerio!.failures.serverError(Infinity);

    await admin('fails').triggerSync.mutate({ connectorId: 'customerio' });
    await stack.stepFunctions.idle();

    const failed = await admin('fails').getStatus.query({ connectorId: 'customerio' });
    expect(failed.status).toBe('error');
    expect(minutesUntil(failed.schedule.nextSyncAt)).toBeGreaterThan(44);
    expect(minutesUntil(failed.schedule.nextSyncAt)).toBeLessThanOrEqual(45);

    stack.customerio!.failures.reset();
    stack.customerio!.failures.unauthorized(true);
    await admin('fails').triggerSync.mutate({ connectorId: 'customerio' });
    await stack.stepFunctions.idle();

    expect(await admin('fails').getStatus.query({ connectorId: 'customerio' })).toMatchObject({
      status: 'error',
      schedule: { intervalMinutes: 45, paused: false, nextSyncAt: null },
    });
    expect((await admin('fails').setSchedule.mutate({ connectorId: 'customerio', intervalMinutes: 15 })).schedule).toEqual({
      intervalMinutes: 15,
      paused: false,
      nextSyncAt: null,
    });
  });
});
