import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../../../functions/api/router';
import type { DomainEvent } from '../../../functions/core/domain-events';
import { wrapRepositoriesForTests } from '../../../functions/core/runtime';
import type { TaskGate } from '../../../local/step-functions';
import { startTestStack, type TestStack } from '../../support/local-stack';

/**
 * The model-based test of the lifecycle (issue 9): fast-check generates sequences of what
 * users and faults do to one Salesforce connector, and replays each against the local stack
 * (gateway, handlers, statemachines/sync.asl.json executing, the Salesforce sandbox with two
 * orgs, DynamoDB Local). The state machine's Tasks run only when a `page` step admits them,
 * so every interleaving is the sequence's own and a failure replays from its seed.
 *
 * After every step it checks what must always hold; after the sequence, a final full sync
 * must leave the counts equal to the stored entities and to the source's data set, and the
 * domain events published (from the table's stream) must tell exactly that history.
 * `FC_RUNS=N` runs more sequences (CI runs a bounded number); `FC_SEED` replays one.
 */

const RUNS = Number(process.env.FC_RUNS ?? 30);
const ORGS = ['default', 'org-b'] as const;
type Org = (typeof ORGS)[number];

type Step =
  | { kind: 'connect'; org: Org }
  | { kind: 'reauthStart' }
  | { kind: 'trigger'; full: boolean }
  | { kind: 'cancel' }
  | { kind: 'disconnect'; purge: boolean }
  | { kind: 'fault'; state: 'SyncPage' | 'SweepPage' | 'FinishSync' | 'PurgePage'; when: 'before' | 'after' }
  | { kind: 'outage'; times: number }
  /** The next page Tasks die half way through writing their entities (5 in a row outlast the Task's retries). */
  | { kind: 'halfWritten'; times: number }
  | { kind: 'tick' }
  | { kind: 'pages'; n: number }
  /** An action taken while a Task is in flight (a page half written when it lands). */
  | { kind: 'during'; action: { kind: 'cancel' } | { kind: 'disconnect'; purge: boolean } | { kind: 'connect'; org: Org } | { kind: 'trigger'; full: boolean } };

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('connect' as const), org: fc.constantFrom(...ORGS) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('reauthStart' as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('trigger' as const), full: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('cancel' as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('disconnect' as const), purge: fc.boolean() }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('fault' as const),
      state: fc.constantFrom('SyncPage' as const, 'SweepPage' as const, 'FinishSync' as const, 'PurgePage' as const),
      when: fc.constantFrom('before' as const, 'after' as const),
    }),
    weight: 1,
  },
  // 7 failures outlast the state machine's 6 attempts: the sync fails; fewer are retried away.
  { arbitrary: fc.record({ kind: fc.constant('outage' as const), times: fc.constantFrom(1, 3, 7) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('halfWritten' as const), times: fc.constantFrom(1, 5) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('tick' as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('pages' as const), n: fc.integer({ min: 1, max: 10 }) }), weight: 4 },
  {
    arbitrary: fc.record({
      kind: fc.constant('during' as const),
      action: fc.oneof(
        fc.record({ kind: fc.constant('cancel' as const) }),
        fc.record({ kind: fc.constant('disconnect' as const), purge: fc.boolean() }),
        fc.record({ kind: fc.constant('connect' as const), org: fc.constantFrom(...ORGS) }),
        fc.record({ kind: fc.constant('trigger' as const), full: fc.boolean() }),
      ),
    }),
    weight: 2,
  },
);

describe('connector lifecycle, model-based (fast-check over the local stack)', () => {
  let stack: TestStack;
  let gate: TaskGate;
  let tenants = 0;

  /** How many of the next entity writes die half way (what `halfWritten` arms). */
  let halfWrites = 0;

  beforeAll(async () => {
    // A page's Lambda dying between its entity writes, injected through the steps' repositories.
    wrapRepositoriesForTests((repositories) => {
      const { entities } = repositories;
      const dying = Object.assign(Object.create(entities) as typeof entities, {
        writeEntities: async (...args: Parameters<typeof entities.writeEntities>) => {
          const [tenantId, providerId, writes] = args;
          if (halfWrites === 0 || writes.length < 2) return await entities.writeEntities(...args);
          halfWrites -= 1;
          await entities.writeEntities(tenantId, providerId, writes.slice(0, Math.ceil(writes.length / 2)));
          throw Object.assign(new Error('injected: the Lambda died half way through its writes'), { name: 'Lambda.Unknown' });
        },
      });
      return { ...repositories, entities: dying };
    });
    // Small pages: a sync spans several Tasks, so steps land in the middle of it. Org A's
    // Account (300) and Contact (about 400) are read through Bulk jobs, org B's objects through
    // REST: generated sequences cancel, crash and reconnect in the middle of both paths.
    process.env.SALESFORCE_PAGE_SIZE = '200';
    process.env.SALESFORCE_BULK_THRESHOLD = '250';
    process.env.SALESFORCE_BULK_PAGE_SIZE = '120';
    stack = await startTestStack({
      events: {},
      salesforceSizes: { accounts: 300, people: 500, opportunities: 100, orgs: [{ id: 'org-b', accounts: 60, people: 250, opportunities: 20 }] },
    });
    gate = stack.stepFunctions.gateTasks();
  });
  afterAll(async () => {
    await drain();
    await stack.stop();
  });

  /** Lets every waiting Task run until no execution is left (bounded: a sync has a few dozen Tasks). */
  async function drain(): Promise<void> {
    for (let i = 0; i < 500 && (await gate.step()); i++);
  }

  it(`keeps every invariant through ${RUNS} generated sequences of user actions and faults`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 18 }), async (steps) => {
        const tenant = `model-${++tenants}`;
        stack.salesforce!.failures.reset();
        halfWrites = 0;
        gate.clearFaults();
        await drain();
        let org: Org = 'default';
        for (const [index, action] of steps.entries()) {
          if (action.kind === 'during') {
            // The next Task starts, and the action lands while it runs.
            const stepping = gate.step();
            if (action.action.kind === 'connect') {
              if (await connect(tenant, action.action.org)) org = action.action.org;
            } else await perform(tenant, action.action);
            await stepping;
          } else if (action.kind === 'connect') {
            if (await connect(tenant, action.org)) org = action.org;
          } else await perform(tenant, action);
          await gate.settled();
          await checkInvariants(tenant, `after step ${index} (${JSON.stringify(action)})`);
        }
        // Idle: everything runs to its end, and nothing is left open (faults not yet met are dropped).
        stack.salesforce!.failures.reset();
        halfWrites = 0;
        gate.clearFaults();
        gate.clearFaults();
        await drain();
        await checkInvariants(tenant, 'when idle');
        expect(await runningLogs(tenant), 'history entries still running when idle').toEqual([]);
        await checkEvents(tenant, 'when idle');

        // A final full sync repairs whatever came before: counts = stored entities = the source.
        const now = await raw(tenant);
        if (now?.status !== 'connected' && now?.status !== 'error') {
          expect(await connect(tenant, org), 'reconnecting for the final sync').toBe(true);
        }
        await api(tenant).triggerSync.mutate({ connectorId: 'salesforce', fullSync: true });
        await drain();
        const [last] = await api(tenant).getSyncHistory.query({ connectorId: 'salesforce', limit: 1 });
        expect(last, `the final full sync (${last?.message})`).toMatchObject({ status: 'completed', syncType: 'full' });
        const expected = stack.salesforce!.org(org).data.entityCounts();
        expect(await api(tenant).getEntityCounts.query({ connectorId: 'salesforce' })).toEqual(expected);
        expect(await stack.repository.liveEntities(tenant, 'salesforce')).toEqual(expected);
        await checkEvents(tenant, 'after the final sync');
      }),
      {
        numRuns: RUNS,
        // FC_SEED and FC_PATH (both printed with a failure) replay exactly the failing sequence.
        ...(process.env.FC_SEED && { seed: Number(process.env.FC_SEED) }),
        ...(process.env.FC_PATH && { path: process.env.FC_PATH }),
        // Each run is a whole replay against the stack: report the shrunk sequence, do not try forever.
        endOnFailure: false,
        interruptAfterTimeLimit: 20 * 60_000,
      },
    );
    // The sequences went through both paths: Bulk jobs (org A's large objects) and REST pages.
    const { bulkCreate, bulkResults, query } = stack.salesforce!.stats().byEndpoint;
    expect(Math.min(bulkCreate ?? 0, bulkResults ?? 0, query ?? 0)).toBeGreaterThan(0);
  }, RUNS * 15_000 + 60_000);

  const api = (tenant: string) => stack.client(tenant, 'admin').connector;

  /** Connects through the sandbox's consent as the org's user; false when the sandbox is down (an outage is pending). */
  async function connect(tenant: string, org: Org): Promise<boolean> {
    stack.salesforce!.consentAs(org);
    try {
      await stack.connectSalesforce(tenant);
      return true;
    } catch (error) {
      if (stack.salesforce!.failures.state().serverError !== 0) return false;
      const connector = await raw(tenant);
      const logs = await api(tenant).getSyncHistory.query({ connectorId: 'salesforce', limit: 3 });
      throw new Error(`${(error as Error).message}; connector ${JSON.stringify({ ...connector, credentials: undefined })}; history ${JSON.stringify(logs)}`);
    } finally {
      stack.salesforce!.consentAs();
    }
  }

  async function perform(tenant: string, action: Exclude<Step, { kind: 'connect' | 'during' }>): Promise<void> {
    switch (action.kind) {
      case 'reauthStart':
        return void (await expected4xx(api(tenant).getAuthUrl.mutate()));
      case 'trigger':
        return void (await expected4xx(api(tenant).triggerSync.mutate({ connectorId: 'salesforce', fullSync: action.full })));
      case 'cancel':
        return void (await expected4xx(api(tenant).cancelSync.mutate({ connectorId: 'salesforce' })));
      case 'disconnect':
        return void (await api(tenant).disconnect.mutate({ connectorId: 'salesforce', purgeData: action.purge }));
      case 'fault':
        return gate.injectFault(action.state, action.when);
      case 'outage':
        return stack.salesforce!.failures.serverError(action.times, 503);
      case 'halfWritten':
        return void (halfWrites = action.times);
      case 'tick': {
        // Due now, if it is on the schedule at all; then EventBridge Scheduler's run.
        await stack.documentClient
          .send(
            new UpdateCommand({
              TableName: stack.tableName,
              Key: key(tenant),
              ConditionExpression: 'attribute_exists(scheduleKey)',
              UpdateExpression: 'SET nextSyncAt = :past',
              ExpressionAttributeValues: { ':past': new Date(Date.now() - 1000).toISOString() },
            }),
          )
          .catch(() => undefined);
        const { handler } = await import('../../../functions/sync/scheduledSync');
        return void (await handler({}, { awsRequestId: `tick-${tenant}`, functionName: 'scheduledSync' } as never));
      }
      case 'pages':
        for (let i = 0; i < action.n; i++) if (!(await gate.step())) break;
        return;
    }
  }

  /** A refusal is a fine answer to an action that does not fit the state; a 5xx never is. */
  async function expected4xx(call: Promise<unknown>): Promise<void> {
    try {
      await call;
    } catch (error) {
      if (!(error instanceof TRPCClientError)) throw error;
      const status = (error as TRPCClientError<AppRouter>).data?.httpStatus ?? 500;
      expect(status, `${error.message}`).toBeLessThan(500);
    }
  }

  const key = (tenant: string) => ({ pk: `TENANT#${tenant}#CONNECTOR#salesforce`, sk: 'META' });
  const raw = async (tenant: string) => (await stack.documentClient.send(new GetCommand({ TableName: stack.tableName, Key: key(tenant), ConsistentRead: true }))).Item;
  const runningLogs = async (tenant: string) =>
    ((
      await stack.documentClient.send(
        new QueryCommand({
          TableName: stack.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :log)',
          ExpressionAttributeValues: { ':pk': key(tenant).pk, ':log': 'LOG#' },
          ConsistentRead: true,
        }),
      )
    ).Items ?? [])
      .filter((log) => log.status === 'running')
      .map((log) => log.id as string);

  /**
   * What the published events must say, whatever happened (crashes after a write included):
   * every sync in the history started once and ended once, as its log says, with its figures;
   * no event names a sync the history lacks; syncs never overlap; the last connection event
   * agrees with the status; no event is published twice.
   */
  async function checkEvents(tenant: string, when: string): Promise<void> {
    await stack.events.caughtUp();
    // No event yet (a sequence that never connected): no file yet.
    const events = (await readFile(stack.events.file, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as DomainEvent)
      .filter((event) => event.detail.tenantId === tenant);
    expect(new Set(events.map((event) => event.id)).size, `${when}: an event published twice`).toBe(events.length);
    const history = await api(tenant).getSyncHistory.query({ connectorId: 'salesforce', limit: 100 });
    const syncEvents = events.filter((event) => event['detail-type'].startsWith('Connector Sync '));
    for (const log of history) {
      const own = syncEvents.filter((event) => event.detail.syncId === log.id);
      const ends = { completed: 'Connector Sync Completed', failed: 'Connector Sync Failed', cancelled: 'Connector Sync Cancelled', running: undefined }[log.status];
      expect(own.map((event) => event['detail-type']), `${when}: events of ${log.id} (${log.status})`).toEqual(['Connector Sync Started', ...(ends ? [ends] : [])]);
      if (ends) {
        const { recordsCreated, recordsUpdated, recordsDeleted, recordsFailed, completedAt } = log;
        expect(own[1]!.detail, `${when}: figures of ${log.id}`).toMatchObject({ recordsCreated, recordsUpdated, recordsDeleted, recordsFailed, completedAt });
      }
    }
    const logged = new Set(history.map((log) => log.id));
    expect(syncEvents.filter((event) => !logged.has(event.detail.syncId!)).map((event) => event.id), `${when}: events of syncs not in the history`).toEqual([]);
    // One sync at a time: after a start, the connector's next sync event is that sync's end.
    syncEvents.forEach((event, i) => {
      if (event['detail-type'] === 'Connector Sync Started' && i + 1 < syncEvents.length) {
        expect(syncEvents[i + 1]!.detail.syncId, `${when}: ${event.detail.syncId} overlapped by another sync`).toBe(event.detail.syncId);
      }
    });
    const status = (await raw(tenant))?.status as string | undefined;
    const lastConnection = events.filter((event) => event['detail-type'] === 'Connector Connected' || event['detail-type'] === 'Connector Disconnected').at(-1);
    if (status === 'connected' || status === 'error' || status === 'syncing') expect(lastConnection?.['detail-type'], `${when}: ${status}`).toBe('Connector Connected');
    else if (lastConnection) expect(lastConnection['detail-type'], `${when}: ${status}`).toBe('Connector Disconnected');
  }

  /** What must hold between any two steps, whatever came before. */
  async function checkInvariants(tenant: string, when: string): Promise<void> {
    const connector = await raw(tenant);
    const running = [...stack.stepFunctions.executions.values()].filter(
      (execution) => execution.status === 'RUNNING' && (execution.input as { tenantId?: string }).tenantId === tenant,
    );
    const active = (connector?.activeSyncId as string | undefined) ?? null;
    // At most one execution per connector, and only the one that owns it.
    expect(running.length, `${when}: running executions ${running.map((e) => e.name)}`).toBeLessThanOrEqual(1);
    for (const execution of running) expect(execution.name.startsWith(active ?? '\u0000'), `${when}: ${execution.name} runs but ${active} owns the connector`).toBe(true);
    // No connector is syncing without a live execution of its sync; syncing exactly while a sync owns it.
    expect(connector?.status === 'syncing', `${when}: status ${connector?.status}, owner ${active} (${connector?.activeWork})`).toBe(connector?.activeWork === 'sync');
    if (connector?.status === 'syncing') expect(running.length, `${when}: syncing with no live execution`).toBe(1);
    // pending_auth only without credentials.
    if (connector?.status === 'pending_auth') expect(connector.credentials, `${when}: pending_auth holds credentials`).toBeUndefined();
    // Every history entry is closed, but the running sync's.
    const open = await runningLogs(tenant);
    expect(open.filter((id) => id !== active || connector?.activeWork !== 'sync'), `${when}: history entries left running`).toEqual([]);
    // Whenever no sync or purge owns the connector, the counters equal the entities stored (while one does, the
    // page a dying Lambda left half written waits for its retry, or for the settling of a failure or cancellation).
    if (!active) expect(await stack.repository.getEntityCounts(tenant, 'salesforce'), `${when}: counters`).toEqual(await stack.repository.liveEntities(tenant, 'salesforce'));
  }
});
