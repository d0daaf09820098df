import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StateMachine } from 'aws-local-stepfunctions';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SyncState } from '../../functions/core/model';
import { createRepositories } from '../../functions/core/repository';
import { TestConnectorStore } from '../support/connector-store';
import { crashingStores, type CrashPoint } from '../support/crashing-stores';
import { ENTITY_SHARDS, entityPk, entityShard } from '../../functions/core/repository/keys';
import type { CredentialService } from '../../functions/core/services/credential-service';
import { PROVIDER_ATTEMPTS, SyncEngine, type SyncStores } from '../../functions/core/services/sync-engine';
import { SyncService } from '../../functions/core/services/sync-service';
import { SalesforceAdapter } from '../../functions/providers/salesforce/salesforce-adapter';
import type { SalesforceSandbox } from '../../local/sandboxes/salesforce';
import { loadSyncDefinition } from '../../local/step-functions';
import { freshTable } from '../support/dynamodb';
import { caller, recordingLog } from '../support/log';
import { startSalesforceSyncFixture, type SalesforceSyncFixture } from '../support/salesforce-sync';

const definitionText = readFileSync('statemachines/sync.asl.json', 'utf8');
const tasks = JSON.parse(readFileSync('statemachines/sync.tasks.json', 'utf8')) as Record<string, string>;
/** The definition as CDK deploys it: every ${...} replaced by a Lambda ARN. */
const definition = await loadSyncDefinition();
type JSONValue = Parameters<StateMachine['run']>[0];

describe('statemachines/sync.asl.json', () => {
  it('is a valid Amazon States Language definition (asl-validator)', () => {
    const validate = createRequire(import.meta.url)('asl-validator') as (d: unknown) => { isValid: boolean; errorsText: (s?: string) => string };
    const result = validate(definition);
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('tries an unavailable provider as often as the final message says', () => {
    const retry = (definition.States as Record<string, { Retry?: { ErrorEquals: string[]; MaxAttempts: number }[] }>).SyncPage!.Retry!;
    expect(retry.find((r) => r.ErrorEquals.includes('ProviderUnavailable'))!.MaxAttempts + 1).toBe(PROVIDER_ATTEMPTS);
  });

  it('uses JSONPath only, and only Task resources CDK can substitute', () => {
    expect(definitionText).not.toMatch(/JSONata|QueryLanguage|"IsNull":\s*false/);
    const resources = Object.values(JSON.parse(definitionText).States as Record<string, { Type: string; Resource?: string }>)
      .filter((state) => state.Type === 'Task')
      .map((state) => state.Resource);
    for (const resource of resources) {
      const substitution = /^\$\{(\w+)\}$/.exec(resource ?? '')?.[1];
      expect(substitution ? tasks[substitution] : resource).toMatch(/^(syncPage|sweepPage|purgePage|finishSync|failSync|arn:aws:states:::states:startExecution)$/);
    }
  });
});

/**
 * The state machine executed from its file, its Tasks bound to the real engine over DynamoDB
 * Local and the Salesforce sandbox, with crashes injected where a Lambda can die.
 */
describe('sync state machine under crashes', () => {
  let fixture: SalesforceSyncFixture;
  let table: Awaited<ReturnType<typeof freshTable>>;
  let sandbox: SalesforceSandbox;
  let adapter: SalesforceAdapter;
  let credentialService: CredentialService;
  const executions: { name: string; pages: number; done: Promise<unknown> }[] = [];

  /**
   * Runs the whole sync of `tenant`, crashing once per page at `crashAt` (on page
   * `keepsCrashingOn`, at every attempt); answers how many crashes happened.
   */
  async function syncWithCrashes(tenant: string, crashAt: CrashPoint | null, fullSync = false, keepsCrashingOn?: number, using: SalesforceAdapter = adapter): Promise<number> {
    const crashed = new Set<string>();
    let crashes = 0;
    const stores = crashingStores(table.client, table.tableName, (at, page) => {
      const key = `${at}#${page}`;
      if (at !== crashAt || (crashed.has(key) && !page?.endsWith(`#${keepsCrashingOn}`))) return false;
      crashed.add(key);
      crashes += 1;
      return true;
    });
    const engine = new SyncEngine({ ...stores, credentials: credentialService, syncAdapter: () => using });
    // FailSync is a Lambda of its own: the crashes injected into the page steps do not reach it.
    const failEngine = new SyncEngine({ ...createRepositories(table.client, table.tableName), credentials: credentialService, syncAdapter: () => using });
    executions.length = 0;
    const run = (name: string, input: SyncState) => {
      const execution = { name, pages: 0, done: Promise.resolve() as Promise<unknown> };
      const log = recordingLog();
      const result = new StateMachine(definition).run(input as unknown as JSONValue, {
        overrides: {
          taskResourceLocalHandlers: {
            SyncPage: async (state) => {
              execution.pages += 1;
              return (await engine.readPage(state as unknown as SyncState, log)) as unknown as JSONValue;
            },
            SweepPage: async (state) => {
              execution.pages += 1;
              return (await engine.sweepPage(state as unknown as SyncState, log)) as unknown as JSONValue;
            },
            PurgePage: async (state) => (await engine.purgePage(state as unknown as SyncState, log)) as unknown as JSONValue,
            FinishSync: async (state) => (await engine.finish(state as unknown as SyncState, log), {}),
            FailSync: async (input) => {
              const { failure, ...state } = input as unknown as SyncState & { failure: { Error: string; Cause: string } };
              await failEngine.fail(state, { error: failure.Error, cause: failure.Cause });
              return {};
            },
            ContinueAsNewExecution: async (input) => {
              const { Name, Input } = input as unknown as { Name: string; Input: SyncState };
              run(Name, Input);
              return {};
            },
          },
          retryIntervalOverrides: { SyncPage: 0, SweepPage: 0, PurgePage: 0, FinishSync: 0, FailSync: 0 },
          waitTimeOverrides: { WaitForProvider: 0, WaitForBulkJob: 0, WaitForApiBudget: 0 },
        },
        context: { StateMachine: { Id: 'arn:aws:states:eu-west-1:123456789012:stateMachine:connector-sync', Name: 'connector-sync' }, Execution: { Id: name, Name: name } },
      });
      execution.done = result.result.catch((error: unknown) => error);
      executions.push(execution);
    };
    const service = new SyncService({
      ...stores,
      schedule: createRepositories(table.client, table.tableName).schedule,
      engine,
      syncAdapter: () => using,
      pagesPerExecution: 3,
      executions: { start: async (name, state) => run(name, state), stop: async () => undefined },
    });
    await service.triggerSync(caller(tenant), 'salesforce', fullSync);
    for (let i = 0; i < executions.length; i++) await executions[i]!.done;
    return crashes;
  }

  const connect = (tenantId: string) => fixture.connect(tenantId);

  const stored = async (tenant: string) => {
    const connectors = new TestConnectorStore(table.client, table.tableName);
    const { connector, latestSync } = await connectors.getConnectorWithLatestSync(tenant, 'salesforce');
    return { connector, latestSync, counts: await connectors.getEntityCounts(tenant, 'salesforce') };
  };

  beforeAll(async () => {
    // Tiny pages: a dozen of them, so crashes, retries and continuations happen many times.
    fixture = await startSalesforceSyncFixture();
    ({ table, sandbox, adapter, credentialService } = fixture);
  });
  afterAll(() => fixture.close());

  it('continues as a new execution after its share of pages, so no execution nears the history limit', async () => {
    await connect('continue');
    await syncWithCrashes('continue', null);

    expect(executions.length).toBeGreaterThanOrEqual(4);
    expect(executions.every((execution) => execution.pages <= 3)).toBe(true);
    const [first, second] = executions;
    expect(second!.name).toBe(`${first!.name}-2`);
    const { connector, counts } = await stored('continue');
    expect(connector?.status).toBe('connected');
    expect(counts).toEqual(sandbox.data.entityCounts());
  });

  for (const crashAt of ['afterFetch', 'afterPartialWrites', 'beforeCommit', 'afterCommit', 'beforeFinish'] as const) {
    it(`counts exactly when every page crashes once at ${crashAt} and is retried`, async () => {
      const tenant = `crash-${crashAt}`;
      await connect(tenant);

      const crashes = await syncWithCrashes(tenant, crashAt);

      expect(crashes).toBeGreaterThan(crashAt === 'beforeFinish' ? 0 : 9);
      const { connector, latestSync, counts } = await stored(tenant);
      expect(counts).toEqual(sandbox.data.entityCounts());
      expect(latestSync).toMatchObject({ status: 'completed', recordsCreated: 2000, recordsFailed: 0 });
      expect(connector).toMatchObject({ status: 'connected', lastSyncError: null });
    });
  }

  describe('through Bulk API query jobs', () => {
    /** Every object above 100 records goes through a Bulk job: all four here, read in pages of 150 rows. */
    let bulkAdapter: SalesforceAdapter;
    beforeAll(() => {
      bulkAdapter = new SalesforceAdapter({
        loginUrl: sandbox.url,
        clientId: sandbox.clientId,
        clientSecret: async () => sandbox.clientSecret,
        pageSize: 200,
        bulk: { threshold: 100, pageSize: 150, jobMaxWaitSeconds: 60 },
      });
    });
    afterEach(() => sandbox.failures.reset());

    for (const crashAt of ['afterFetch', 'afterPartialWrites', 'beforeCommit', 'afterCommit', 'beforeFinish'] as const) {
      it(`counts exactly when every Bulk results page crashes once at ${crashAt} and is retried`, async () => {
        const tenant = `bulk-crash-${crashAt}`;
        await connect(tenant);
        const before = sandbox.stats().byEndpoint;

        const crashes = await syncWithCrashes(tenant, crashAt, false, undefined, bulkAdapter);

        expect(crashes).toBeGreaterThan(crashAt === 'beforeFinish' ? 0 : 9);
        const { connector, latestSync, counts } = await stored(tenant);
        expect(counts).toEqual(sandbox.data.entityCounts());
        expect(latestSync).toMatchObject({ status: 'completed', recordsCreated: 2000, recordsFailed: 0 });
        expect(connector).toMatchObject({ status: 'connected', lastSyncError: null });
        // All four objects went through Bulk jobs, a retried page read its locator again, and no job is left behind.
        const after = sandbox.stats().byEndpoint;
        expect((after.bulkCreate ?? 0) - (before.bulkCreate ?? 0)).toBe(4);
        expect((after.query ?? 0) - (before.query ?? 0)).toBe(4);
        expect(sandbox.bulkJobs()).toEqual([]);
      });
    }

    it('counts exactly when a Bulk read falls back to REST mid-object while its pages crash half written', async () => {
      await connect('bulk-fallback-crash');
      // The Contact job's second page: its locator has expired by the time it is read.
      sandbox.failures.bulkLocatorExpires(1);

      const crashes = await syncWithCrashes('bulk-fallback-crash', 'afterPartialWrites', false, undefined, bulkAdapter);

      expect(crashes).toBeGreaterThan(9);
      const { latestSync, counts } = await stored('bulk-fallback-crash');
      expect(counts).toEqual(sandbox.data.entityCounts());
      expect(latestSync).toMatchObject({ status: 'completed', recordsCreated: 2000 });
      expect(counts).toEqual(await liveStored('bulk-fallback-crash'));
    });
  });

  it('counts each update once when every page of an incremental sync crashes half written and is retried', async () => {
    await connect('updates');
    await syncWithCrashes('updates', null);
    sandbox.data.modify('Account', 150);
    sandbox.data.modify('Contact', 300);

    const crashes = await syncWithCrashes('updates', 'afterPartialWrites');

    expect(crashes).toBeGreaterThan(1);
    const { latestSync, counts } = await stored('updates');
    expect(latestSync).toMatchObject({ status: 'completed', syncType: 'incremental', recordsCreated: 0, recordsUpdated: 450, recordsDeleted: 0 });
    expect(counts).toEqual(sandbox.data.entityCounts());
  });

  it('counts exactly when a full sync with removals crashes in its sweep', async () => {
    await connect('sweep');
    await syncWithCrashes('sweep', null);
    await new TestConnectorStore(table.client, table.tableName).writeEntities('sweep', 'salesforce', [
      { type: 'people', sourceId: '003STALE', attributes: {}, firstSeen: 'x', lastSeenSync: 'x', deleted: false },
      { type: 'opportunities', sourceId: '006STALE', attributes: {}, firstSeen: 'x', lastSeenSync: 'x', deleted: false },
    ]);
    await new TestConnectorStore(table.client, table.tableName).adjustEntityCounts('sweep', 'salesforce', { people: 1, opportunities: 1 });

    const crashes = await syncWithCrashes('sweep', 'beforeCommit', true);

    expect(crashes).toBeGreaterThan(16);
    expect((await stored('sweep')).counts).toEqual(sandbox.data.entityCounts());
  });

  /** Live stored entities by type, counted item by item: what the counters must equal. */
  const liveStored = async (tenant: string) => {
    const counts = { accounts: 0, people: 0, opportunities: 0 };
    for (let shard = 0; shard < ENTITY_SHARDS; shard++) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await table.client.send(
          new QueryCommand({ TableName: table.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': entityPk(tenant, 'salesforce', shard) }, ExclusiveStartKey: startKey }),
        );
        for (const item of page.Items ?? []) if (item.deleted === false) counts[item.entityType as keyof typeof counts] += 1;
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }
    return counts;
  };

  it('keeps the counters equal to the stored entities when a page keeps dying after part of its writes', async () => {
    await connect('dies');

    await syncWithCrashes('dies', 'afterPartialWrites', false, 4);

    const failed = await stored('dies');
    expect(failed.latestSync).toMatchObject({ status: 'failed' });
    expect(failed.connector).toMatchObject({ status: 'error', lastSyncError: expect.stringContaining('interrupted repeatedly') });
    const live = await liveStored('dies');
    // Page 4 got half way: its entities exist, and they are counted.
    expect(failed.counts).toEqual(live);
    expect(failed.latestSync?.recordsCreated).toBe(live.accounts + live.people + live.opportunities);

    // The next sync meets those entities as ones it already has: the counts stay exact.
    await syncWithCrashes('dies', null);
    expect((await stored('dies')).counts).toEqual(sandbox.data.entityCounts());
  });

  it('keeps the counters equal to the stored entities when a sweep page keeps dying after its removals', async () => {
    await connect('sweep-dies');
    await syncWithCrashes('sweep-dies', null);
    await new TestConnectorStore(table.client, table.tableName).writeEntities('sweep-dies', 'salesforce', [
      { type: 'people', sourceId: '003STALE', attributes: {}, firstSeen: 'x', lastSeenSync: 'x', deleted: false },
    ]);
    await new TestConnectorStore(table.client, table.tableName).adjustEntityCounts('sweep-dies', 'salesforce', { people: 1 });

    // The sweep page of the stale entity's shard removes it, then dies before its commit, every time.
    await syncWithCrashes('sweep-dies', 'beforeCommit', true, fixture.readPages() + entityShard('003STALE'));

    const failed = await stored('sweep-dies');
    expect(failed.latestSync).toMatchObject({ status: 'failed', syncType: 'full' });
    expect(failed.counts).toEqual(await liveStored('sweep-dies'));
    expect(failed.counts).toEqual(sandbox.data.entityCounts());
  });

  /**
   * Starts a sync of `tenant` whose first page commits and whose second dies half written;
   * answers the execution's input and a service over `repository` (the real one by default).
   */
  async function halfWrittenSync(tenant: string, stores: SyncStores = createRepositories(table.client, table.tableName)) {
    await connect(tenant);
    let first: SyncState | undefined;
    const engine = new SyncEngine({ ...stores, credentials: credentialService, syncAdapter: () => adapter });
    const service = new SyncService({
      ...stores,
      schedule: createRepositories(table.client, table.tableName).schedule,
      engine,
      syncAdapter: () => adapter,
      executions: { start: async (_name, state) => void (first = state), stop: async () => undefined },
    });
    await service.triggerSync(caller(tenant), 'salesforce', false);
    const dying = new SyncEngine({
      ...crashingStores(table.client, table.tableName, (at) => at === 'afterPartialWrites'),
      credentials: credentialService,
      syncAdapter: () => adapter,
    });
    const second = await engine.readPage(first!, recordingLog());
    await expect(dying.readPage(second, recordingLog())).rejects.toThrow('injected crash');
    return { input: first!, second, service, engine };
  }

  it('settles a page left half written by an execution that was stopped, when it recovers the sync', async () => {
    const { input, service } = await halfWrittenSync('stopped');

    await service.recoverExecution(input, { status: 'ABORTED' }, recordingLog());

    const recovered = await stored('stopped');
    expect(recovered.latestSync).toMatchObject({ status: 'failed' });
    expect(recovered.connector).toMatchObject({ status: 'error', lastSyncError: expect.stringContaining('The sync was stopped') });
    expect(recovered.counts).toEqual(await liveStored('stopped'));
    expect(recovered.latestSync?.recordsCreated).toBe(300);
    await syncWithCrashes('stopped', null);
    expect((await stored('stopped')).counts).toEqual(sandbox.data.entityCounts());
  });

  describe('when the unfinished page cannot be settled (DynamoDB keeps failing that read)', () => {
    /** The stores, with every read of a sync's entity changes failing as under throttling. */
    const failingReads = (): SyncStores => {
      const stores = createRepositories(table.client, table.tableName);
      const entities = Object.assign(Object.create(stores.entities) as typeof stores.entities, {
        findEntityChangesOfSync: async (): Promise<never> => {
          throw Object.assign(new Error('Throughput exceeds the current capacity of your table'), { name: 'ProvisionedThroughputExceededException' });
        },
      });
      return { ...stores, entities };
    };

    it('FailSync fails, so Step Functions retries it and the sync stays open', async () => {
      const { second, engine } = await halfWrittenSync('settle-retried', failingReads());

      await expect(engine.fail(second, { error: 'Lambda.Unknown', cause: 'injected crash' })).rejects.toThrow('capacity');

      expect(await stored('settle-retried')).toMatchObject({ latestSync: { status: 'running' }, connector: { status: 'syncing' } });
    });

    it('the recovery of a dead execution still closes the sync, and logs why the counts may be off', async () => {
      const { input, service } = await halfWrittenSync('settle-skipped', failingReads());
      const log = recordingLog();

      await service.recoverExecution(input, { status: 'FAILED' }, log);

      expect(await stored('settle-skipped')).toMatchObject({ latestSync: { status: 'failed' }, connector: { status: 'error' } });
      expect(log.lines).toContainEqual(expect.objectContaining({ level: 'error', message: expect.stringContaining('could not settle') }));
    });
  });
});
