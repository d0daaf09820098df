import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateMachine } from 'aws-local-stepfunctions';
import { createEnvelopeCipher, generateLocalKey } from '../../functions/core/crypto';
import type { SyncState } from '../../functions/core/model';
import { DynamoConnectorRepository } from '../../functions/core/repository/dynamo-connector-repository';
import { DynamoCredentialRepository } from '../../functions/core/repository/dynamo-credential-repository';
import { DynamoSyncRepository } from '../../functions/core/repository/dynamo-sync-repository';
import { CredentialService } from '../../functions/core/services/credential-service';
import { SyncEngine, type SyncCheckpoint } from '../../functions/core/services/sync-engine';
import { SyncService } from '../../functions/core/services/sync-service';
import { SalesforceAdapter } from '../../functions/providers/salesforce/salesforce-adapter';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../local/sandboxes/salesforce';
import { loadSyncDefinition } from '../../local/step-functions';
import { freshTable } from '../support/dynamodb';
import { caller, recordingLog } from '../support/log';
import { connectThroughOAuth } from '../support/oauth';

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

  it('uses JSONPath only, and only Task resources CDK can substitute', () => {
    expect(definitionText).not.toMatch(/JSONata|QueryLanguage|"IsNull":\s*false/);
    const resources = Object.values(JSON.parse(definitionText).States as Record<string, { Type: string; Resource?: string }>)
      .filter((state) => state.Type === 'Task')
      .map((state) => state.Resource);
    for (const resource of resources) {
      const substitution = /^\$\{(\w+)\}$/.exec(resource ?? '')?.[1];
      expect(substitution ? tasks[substitution] : resource).toMatch(/^(syncPage|sweepPage|finishSync|failSync|arn:aws:states:::states:startExecution)$/);
    }
  });
});

/**
 * The state machine executed from its file, its Tasks bound to the real engine over DynamoDB
 * Local and the Salesforce sandbox, with crashes injected where a Lambda can die.
 */
describe('sync state machine under crashes', () => {
  let table: Awaited<ReturnType<typeof freshTable>>;
  let sandbox: SalesforceSandbox;
  let adapter: SalesforceAdapter;
  let credentialService: CredentialService;
  const executions: { name: string; pages: number; done: Promise<unknown> }[] = [];

  /** Runs the whole sync of `tenant`, crashing once per page at `crashAt`; answers how many crashes happened. */
  async function syncWithCrashes(tenant: string, crashAt: SyncCheckpoint | null, fullSync = false): Promise<number> {
    const crashed = new Set<string>();
    const repository = new DynamoSyncRepository(table.client, table.tableName);
    const engine = new SyncEngine({
      repository,
      credentials: credentialService,
      syncAdapter: () => adapter,
      checkpoint: (at, state) => {
        const key = `${at}#${state.syncId}#${state.pageNo}`;
        if (at !== crashAt || crashed.has(key)) return;
        crashed.add(key);
        // What Step Functions reports when a Lambda dies mid-invocation.
        throw Object.assign(new Error('injected crash'), { name: 'Lambda.Unknown' });
      },
    });
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
              return (await engine.sweepPage(state as unknown as SyncState)) as unknown as JSONValue;
            },
            FinishSync: async (state) => (await engine.finish(state as unknown as SyncState), {}),
            FailSync: async (input) => {
              const { failure, ...state } = input as unknown as SyncState & { failure: { Error: string; Cause: string } };
              await engine.fail(state, { error: failure.Error, cause: failure.Cause });
              return {};
            },
            ContinueAsNewExecution: async (input) => {
              const { Name, Input } = input as unknown as { Name: string; Input: SyncState };
              run(Name, Input);
              return {};
            },
          },
          retryIntervalOverrides: { SyncPage: 0, SweepPage: 0, FinishSync: 0, FailSync: 0 },
          waitTimeOverrides: { WaitForProvider: 0 },
        },
        context: { StateMachine: { Id: 'arn:aws:states:eu-west-1:123456789012:stateMachine:connector-sync', Name: 'connector-sync' }, Execution: { Id: name, Name: name } },
      });
      execution.done = result.result.catch((error: unknown) => error);
      executions.push(execution);
    };
    const service = new SyncService({
      repository,
      engine,
      syncAdapter: () => adapter,
      pagesPerExecution: 3,
      executions: { start: async (name, state) => run(name, state) },
    });
    await service.triggerSync(caller(tenant), 'salesforce', fullSync);
    for (let i = 0; i < executions.length; i++) await executions[i]!.done;
    return crashed.size;
  }

  const connect = (tenantId: string) =>
    connectThroughOAuth({ client: table.client, tableName: table.tableName, credentialService, adapter, tenantId });

  const stored = async (tenant: string) => {
    const connectors = new DynamoConnectorRepository(table.client, table.tableName);
    const { connector, latestSync } = await connectors.getConnectorWithLatestSync(tenant, 'salesforce');
    return { connector, latestSync, counts: await connectors.getEntityCounts(tenant, 'salesforce') };
  };

  beforeAll(async () => {
    table = await freshTable();
    sandbox = await startSalesforceSandbox({ accounts: 450, people: 1300, opportunities: 250 });
    // Tiny pages: ten of them, so crashes, retries and continuations happen many times.
    adapter = new SalesforceAdapter({ loginUrl: sandbox.url, clientId: sandbox.clientId, clientSecret: async () => sandbox.clientSecret, pageSize: 200 });
    credentialService = new CredentialService({
      repository: new DynamoCredentialRepository(table.client, table.tableName),
      cipher: createEnvelopeCipher({ CONNECTOR_ENCRYPTION_KEY: generateLocalKey() }),
      oauthAdapter: () => adapter,
    });
  });
  afterAll(async () => {
    await sandbox.close();
    table.destroy();
  });

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

  it('counts exactly when a full sync with removals crashes in its sweep', async () => {
    await connect('sweep');
    await syncWithCrashes('sweep', null);
    await new DynamoSyncRepository(table.client, table.tableName).writeEntities('sweep', 'salesforce', [
      { type: 'people', sourceId: '003STALE', attributes: {}, firstSeen: 'x', lastSeenSync: 'x', deleted: false },
      { type: 'opportunities', sourceId: '006STALE', attributes: {}, firstSeen: 'x', lastSeenSync: 'x', deleted: false },
    ]);
    await new DynamoConnectorRepository(table.client, table.tableName).adjustEntityCounts('sweep', 'salesforce', { people: 1, opportunities: 1 });

    const crashes = await syncWithCrashes('sweep', 'beforeCommit', true);

    expect(crashes).toBeGreaterThan(16);
    expect((await stored('sweep')).counts).toEqual(sandbox.data.entityCounts());
  });
});
