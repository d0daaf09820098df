import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncState } from '../../../../functions/core/model';
import { createRepositories, type Repositories } from '../../../../functions/core/repository';
import type { CredentialService } from '../../../../functions/core/services/credential-service';
import { SyncEngine } from '../../../../functions/core/services/sync-engine';
import { SyncService } from '../../../../functions/core/services/sync-service';
import type { SalesforceAdapter } from '../../../../functions/providers/salesforce/salesforce-adapter';
import type { SalesforceSandbox } from '../../../../local/sandboxes/salesforce';
import { freshTable } from '../../../support/dynamodb';
import { caller, recordingLog } from '../../../support/log';
import { startSalesforceSyncFixture, type SalesforceSyncFixture } from '../../../support/salesforce-sync';

/**
 * Reading the next provider page while the current one is written (PageReadAhead inside
 * SyncEngine.readPage), against the Salesforce sandbox over HTTP and DynamoDB Local. Each
 * engine stands for one container: tasks of a sync may land on the same one or another.
 */
describe('reading the next page ahead', () => {
  let fixture: SalesforceSyncFixture;
  let table: Awaited<ReturnType<typeof freshTable>>;
  let sandbox: SalesforceSandbox;
  let adapter: SalesforceAdapter;
  let credentialService: CredentialService;
  let repositories: Repositories;
  const log = recordingLog();
  /** A sync's read pages, one request each. */
  let PAGES: number;

  const container = () => new SyncEngine({ ...repositories, credentials: credentialService, syncAdapter: () => adapter });
  /** Page reads (query pages), one request each; an object's first page also reads its describe (cached), which is not a page. */
  const requests = () => {
    const { query = 0, queryMore = 0, queryAll = 0 } = sandbox.stats().byEndpoint;
    return query + queryMore + queryAll;
  };

  /** Connects the tenant and starts a sync; answers its first state (what the execution would get). */
  async function startSync(tenant: string, fullSync = false): Promise<SyncState> {
    await fixture.connect(tenant);
    let first: SyncState | undefined;
    const service = new SyncService({
      ...repositories,
      engine: container(),
      syncAdapter: () => adapter,
      executions: { start: async (_name, state) => void (first = state), stop: async () => undefined },
    });
    await service.triggerSync(caller(tenant), 'salesforce', fullSync);
    return first!;
  }

  /** Runs the sync's read pages, each on the container `pick` chooses; answers the state after the last page. */
  async function readAll(state: SyncState, pick: (pageNo: number) => SyncEngine): Promise<SyncState> {
    while (state.phase === 'read') state = await pick(state.pageNo).readPage(state, log);
    return state;
  }

  const countsOf = (tenant: string) => repositories.connectors.getEntityCounts(tenant, 'salesforce');

  beforeAll(async () => {
    fixture = await startSalesforceSyncFixture();
    ({ table, sandbox, adapter, credentialService } = fixture);
    repositories = createRepositories(table.client, table.tableName);
    PAGES = fixture.readPages();
  });
  afterAll(() => fixture.close());

  it('reads each page once when the tasks stay on one container, the next one already fetched when a task returns', async () => {
    let state = await startSync('same-container');
    const engine = container();
    const before = requests();
    const fetchedWhenReturned: number[] = [];
    while (state.phase === 'read') {
      state = await engine.readPage(state, log);
      fetchedWhenReturned.push(requests() - before);
    }

    // Page 0 has no earlier page on this container, so nothing is read ahead; from page 1 on, the next page is.
    expect(fetchedWhenReturned).toEqual([1, ...Array.from({ length: PAGES - 2 }, (_, i) => i + 3), PAGES]);
    expect(requests() - before).toBe(PAGES);
    expect(await countsOf('same-container')).toEqual(sandbox.data.entityCounts());
  });

  it('does not read ahead for a sync whose tasks keep landing on other containers', async () => {
    const state = await startSync('round-robin');
    const containers = [container(), container(), container()];
    const before = requests();

    await readAll(state, (pageNo) => containers[pageNo % containers.length]!);

    // Every page read by its own task, and not one request wasted on a page nobody took.
    expect(requests() - before).toBe(PAGES);
    expect(await countsOf('round-robin')).toEqual(sandbox.data.entityCounts());
  });

  it('reads the page itself when its task lands on another container, wasting one request at most', async () => {
    const state = await startSync('moved');
    const [first, second] = [container(), container()];
    const before = requests();

    // Pages 0-4 on one container (it reads page 5 ahead), the rest on another.
    await readAll(state, (pageNo) => (pageNo < 5 ? first : second)!);

    expect(requests() - before).toBe(PAGES + 1);
    expect(await countsOf('moved')).toEqual(sandbox.data.entityCounts());
  });

  it('keeps a failed read ahead to itself: the page is read again by its task', async () => {
    let state = await startSync('flaky');
    const engine = container();
    const before = requests();
    // Pages 0 to 3 (Account's three, Contact's first), page 4 read ahead; from here on Contact's pages need no describe.
    for (let page = 0; page < 4; page++) state = await engine.readPage(state, log);
    sandbox.failures.serverError(1, 500);
    // Page 4's task finds its page waiting; reading page 5 ahead meets the server error.
    state = await engine.readPage(state, log);
    expect(requests() - before).toBe(6);
    expect(sandbox.failures.state().serverError).toBe(0);

    const done = await readAll(state, () => engine);

    expect(done.phase).toBe('done');
    expect(requests() - before).toBe(PAGES + 1);
    expect(await countsOf('flaky')).toEqual(sandbox.data.entityCounts());
  });

  it('still stops a sync whose connector was disconnected, even with the next page read ahead', async () => {
    let state = await startSync('disconnected');
    const engine = container();
    state = await engine.readPage(state, log);
    state = await engine.readPage(state, log);
    // What disconnect does to a running sync: cancel it, then clear the credentials.
    const now = new Date().toISOString();
    await repositories.lifecycle.cancelSync('disconnected', 'salesforce', state.syncId, { completedAt: now, reason: 'Disconnected during the sync.' });
    await repositories.lifecycle.disconnect('disconnected', 'salesforce', { now });
    const counted = await countsOf('disconnected');

    // The page waiting in the read-ahead is not stored: the step ends quietly, writing nothing.
    expect((await engine.readPage(state, log)).phase).toBe('abandoned');
    expect(await countsOf('disconnected')).toEqual(counted);
  });

  it('serves a retried task the page its first attempt read ahead', async () => {
    let state = await startSync('retried');
    const engine = container();
    state = await engine.readPage(state, log);
    state = await engine.readPage(state, log); // page 2 is read ahead
    // Page 2's task dies after its commit; Step Functions runs it again with the same input.
    const retriedInput = state;
    state = await engine.readPage(retriedInput, log); // page 3 is read ahead
    const before = requests();
    const again = await engine.readPage(retriedInput, log);

    // The retry re-reads its own page (the read ahead was taken), but page 3 is still waiting.
    expect(requests() - before).toBe(1);
    // The same next state, but for the org's API usage: the retry's own call reported a later figure.
    expect(again).toEqual({ ...state, apiUsage: { limit: state.apiUsage!.limit, used: expect.any(Number) } });
    expect(again.apiUsage!.used).toBeGreaterThan(state.apiUsage!.used);
    await readAll(again, () => engine);
    expect(await countsOf('retried')).toEqual(sandbox.data.entityCounts());
  });
});
