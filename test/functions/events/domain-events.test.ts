import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../functions/core/domain-events';
import { wrapRepositoriesForTests } from '../../../functions/core/runtime';
import { startTestStack, type TestStack } from '../../support/local-stack';

/**
 * The domain events end to end: real @trpc/client -> gateway -> handlers -> local Step
 * Functions -> Customer.io sandbox -> DynamoDB Local -> its stream -> the publishEvents
 * handler -> the local bus (`events.jsonl`).
 */
describe('domain events on the local bus', () => {
  let stack: TestStack;
  const admin = (tenant: string) => stack.client(tenant, 'admin').connector;

  /** Every event of the tenant delivered so far, in order (the stream is read to its end first). */
  async function eventsOf(tenant: string): Promise<DomainEvent[]> {
    await stack.events.caughtUp();
    const text = await readFile(stack.events.file, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as DomainEvent)
      .filter((event) => event.detail.tenantId === tenant);
  }

  async function syncToEnd(tenant: string) {
    const { syncId } = await admin(tenant).triggerSync.mutate({ connectorId: 'customerio' });
    await stack.stepFunctions.idle();
    return syncId;
  }

  /** Lifecycle writes after which the writer dies once (the write is made, nothing after it runs). */
  const dieAfter = new Set<'connect' | 'finishSync' | 'disconnect'>();

  beforeAll(async () => {
    wrapRepositoriesForTests((repositories) => {
      const { lifecycle } = repositories;
      const dying = Object.create(lifecycle) as typeof lifecycle;
      for (const method of ['connect', 'finishSync', 'disconnect'] as const) {
        Object.assign(dying, {
          [method]: async (...args: unknown[]) => {
            const written = await (lifecycle[method] as (...a: unknown[]) => Promise<boolean>).apply(lifecycle, args);
            if (dieAfter.delete(method)) throw Object.assign(new Error(`injected: the Lambda died after ${method}`), { name: 'Lambda.Unknown' });
            return written;
          },
        });
      }
      return { ...repositories, lifecycle: dying };
    });
    stack = await startTestStack({ events: {} });
  });
  afterAll(() => stack.stop());
  beforeEach(() => stack.customerio!.failures.reset());

  it('connect, sync, a failed sync, a cancelled sync and a disconnect publish exactly their events, in order', async () => {
    const tenant = 'events-e2e';
    await admin(tenant).connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'us' } });
    const completed = await syncToEnd(tenant);

    stack.customerio!.failures.serverError(Infinity, 503);
    const failed = await syncToEnd(tenant);
    stack.customerio!.failures.reset();

    stack.customerio!.failures.slow(200);
    const { syncId: cancelled } = await admin(tenant).triggerSync.mutate({ connectorId: 'customerio' });
    await expect.poll(async () => (await admin(tenant).getStatus.query({ connectorId: 'customerio' })).status).toBe('syncing');
    await admin(tenant).cancelSync.mutate({ connectorId: 'customerio' });
    await stack.stepFunctions.idle();
    await admin(tenant).disconnect.mutate({ connectorId: 'customerio' });

    const events = await eventsOf(tenant);
    expect(events.map((event) => [event['detail-type'], event.detail.syncId])).toEqual([
      ['Connector Connected', null],
      ['Connector Sync Started', completed],
      ['Connector Sync Completed', completed],
      ['Connector Sync Started', failed],
      ['Connector Sync Failed', failed],
      ['Connector Sync Started', cancelled],
      ['Connector Sync Cancelled', cancelled],
      ['Connector Disconnected', null],
    ]);

    const { connectorId } = events[0]!.detail;
    expect(connectorId).toMatch(/^conn_/);
    for (const event of events) {
      expect(event).toMatchObject({ source: 'connector-service', id: event.detail.eventId, time: event.detail.occurredAt });
      expect(event.detail).toMatchObject({ tenantId: tenant, connectorId, providerId: 'customerio' });
    }
    // The figures are the sync history's, to the record.
    const history = await admin(tenant).getSyncHistory.query({ connectorId: 'customerio', limit: 10 });
    const logOf = (syncId: string) => history.find((entry) => entry.id === syncId)!;
    expect(events[2]!.detail).toMatchObject({
      syncType: 'full',
      recordsCreated: logOf(completed).recordsCreated,
      recordsUpdated: logOf(completed).recordsUpdated,
      recordsDeleted: logOf(completed).recordsDeleted,
      recordsFailed: logOf(completed).recordsFailed,
      startedAt: logOf(completed).startedAt,
      completedAt: logOf(completed).completedAt,
    });
    expect(logOf(completed).recordsCreated).toBeGreaterThan(0);
    expect(events[4]!.detail).toMatchObject({ error: logOf(failed).message, completedAt: logOf(failed).completedAt });
    expect(events[6]!.detail).toMatchObject({ reason: 'Cancelled by an admin.' });
    expect(events[7]!.detail).toMatchObject({ purgeData: false });
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
  });

  it('a revoked key found by a sync publishes the failure and that a person must reconnect; no secret is in any event', async () => {
    const tenant = 'events-revoked';
    await admin(tenant).connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'us' } });
    stack.customerio!.failures.unauthorized(true);
    const syncId = await syncToEnd(tenant);

    const events = await eventsOf(tenant);
    expect(events.map((event) => event['detail-type'])).toEqual([
      'Connector Connected',
      'Connector Sync Started',
      'Connector Sync Failed',
      'Connector Reauthorization Required',
    ]);
    expect(events[3]!.detail).toMatchObject({ syncId, error: events[2]!.detail && (events[2]!.detail as { error: string }).error });
    const text = await readFile(stack.events.file, 'utf8');
    expect(text).not.toContain('sandbox-key');
    expect(text).not.toMatch(/credentials|ciphertext|accessToken|refreshToken/i);
  });

  it('a writer that dies right after a state change loses no event: the events come from the table, not from the writer', async () => {
    const tenant = 'events-crash';
    dieAfter.add('connect');
    const connectError = await admin(tenant)
      .connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'us' } })
      .catch((error: Error) => error);
    expect(connectError).toBeInstanceOf(Error);
    expect((await admin(tenant).getStatus.query({ connectorId: 'customerio' })).status).toBe('connected');

    // FinishSync dies after its write; the state machine retries it, and the retry finds the sync already finished.
    dieAfter.add('finishSync');
    const syncId = await syncToEnd(tenant);
    expect(dieAfter.size).toBe(0);
    expect((await admin(tenant).getSyncHistory.query({ connectorId: 'customerio', limit: 1 }))[0]).toMatchObject({ id: syncId, status: 'completed' });

    dieAfter.add('disconnect');
    await admin(tenant).disconnect.mutate({ connectorId: 'customerio' }).catch(() => undefined);
    expect((await admin(tenant).getStatus.query({ connectorId: 'customerio' })).status).toBe('disconnected');

    expect((await eventsOf(tenant)).map((event) => event['detail-type'])).toEqual([
      'Connector Connected',
      'Connector Sync Started',
      'Connector Sync Completed',
      'Connector Disconnected',
    ]);
  });

  it('a reconnect says it is one', async () => {
    const tenant = 'events-reconnect';
    await admin(tenant).connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'us' } });
    await admin(tenant).connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'us' } });
    const events = await eventsOf(tenant);
    expect(events.map((event) => [event['detail-type'], (event.detail as { reconnected?: boolean }).reconnected])).toEqual([
      ['Connector Connected', false],
      ['Connector Connected', true],
    ]);
  });
});
