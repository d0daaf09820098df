import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../../support/local-stack';
import { errorOf } from '../../support/trpc-error';

/** The longest a sync waits for the budget, and each wait: 5 waits (the local runner makes each last WAIT_MS). */
const MAX_WAIT_SECONDS = 300;
const RECHECK_SECONDS = 60;
/** Each Wait state lasts this long here, so usage released by wall time can fall between re-checks. */
const WAIT_MS = 150;
const LIMIT = 100_000;

/**
 * The API budget governor end to end: the sandbox org's allowance (its usage, the calls its
 * other integrations make, the calls leaving the rolling window) against real syncs run by
 * the state machine file, WaitForApiBudget included.
 */
describe('Salesforce API budget through the local stack', () => {
  let stack: TestStack;
  const admin = (tenant: string) => stack.client(tenant, 'admin');
  const sync = async (tenant: string, fullSync = false) => {
    await admin(tenant).connector.triggerSync.mutate({ connectorId: 'salesforce', fullSync });
    await stack.stepFunctions.idle();
  };
  const status = (tenant: string) => admin(tenant).connector.getStatus.query({ connectorId: 'salesforce' });
  const counts = (tenant: string) => admin(tenant).connector.getEntityCounts.query({ connectorId: 'salesforce' });
  const latest = async (tenant: string) => (await admin(tenant).connector.getSyncHistory.query({ connectorId: 'salesforce', limit: 1 }))[0]!;
  const sourceCounts = () => stack.salesforce!.data.entityCounts();
  const sourceTotal = () => Object.values(sourceCounts()).reduce((a, b) => a + b, 0);
  const allowance = () => stack.salesforce!.allowance;
  const budgetWaits = () => stack.stepFunctions.transitions().byState.WaitForApiBudget ?? 0;
  const limitsCalls = () => stack.salesforce!.stats().byEndpoint.limits ?? 0;
  /** As soon as a sync waits for the budget, the org's other integrations stop and the rolling window lets calls go (about 2,000 per wait). */
  const rollWindowOnceWaiting = async (waitsBefore: number) => {
    while (budgetWaits() === waitsBefore) await new Promise((resolve) => setTimeout(resolve, 10));
    allowance().set({ othersPerCall: 0, releasePerSecond: 15_000 });
  };
  let tenants = 0;
  const connected = async () => {
    const tenant = `budget-${++tenants}`;
    await stack.connectSalesforce(tenant);
    return tenant;
  };

  beforeAll(async () => {
    Object.assign(process.env, {
      SALESFORCE_API_BUDGET_MAX_WAIT_SECONDS: String(MAX_WAIT_SECONDS),
      SALESFORCE_API_BUDGET_RECHECK_SECONDS: String(RECHECK_SECONDS),
      // 200-record pages: a sync makes about a dozen calls, so usage can cross the budget mid-sync.
      SALESFORCE_PAGE_SIZE: '200',
    });
    stack = await startTestStack({ stepFunctions: { retryDelayMs: 0, waitMs: WAIT_MS } });
  });
  afterAll(() => stack.stop());
  beforeEach(() => {
    stack.salesforce!.failures.reset();
    allowance().set({ limit: LIMIT, used: 0 });
  });

  it('records the org usage of every answer, and getStatus shows it with the budget', async () => {
    const tenant = await connected();
    expect((await status(tenant)).config.apiUsage).toEqual({ used: null, limit: null, budget: 0.8, observedAt: null });
    allowance().set({ used: 12_000 });

    await sync(tenant);

    const { apiUsage } = (await status(tenant)).config as { apiUsage: { used: number; limit: number; budget: number; observedAt: string } };
    expect(apiUsage).toEqual({ used: allowance().state().used, limit: LIMIT, budget: 0.8, observedAt: expect.any(String) });
    expect(apiUsage.used).toBeGreaterThan(12_000);
  });

  it('stops spending when the org runs out of budget mid-sync, waits in the state machine, and resumes once usage falls', async () => {
    const tenant = await connected();
    // The org's other integrations spend 500 calls for each of ours: 79,000 crosses 80,000 after two pages.
    allowance().set({ used: 79_000, othersPerCall: 500 });
    const waitsBefore = budgetWaits();
    const limitsBefore = limitsCalls();
    const watcher = rollWindowOnceWaiting(waitsBefore);

    await sync(tenant);
    await watcher;

    expect(budgetWaits() - waitsBefore).toBeGreaterThanOrEqual(1);
    // After each wait, one /limits call reads the usage again.
    expect(limitsCalls() - limitsBefore).toBe(budgetWaits() - waitsBefore);
    expect(await latest(tenant)).toMatchObject({ status: 'completed', recordsCreated: sourceTotal(), message: null });
    expect(await status(tenant)).toMatchObject({ status: 'connected', lastSyncError: null, lastSyncNote: null });
    expect(await counts(tenant)).toEqual(sourceCounts());
  });

  it('ends completed with what it read and a note when the budget stays spent, and the next sync continues from there', async () => {
    const tenant = await connected();
    allowance().set({ used: 79_000, othersPerCall: 500 });
    const waitsBefore = budgetWaits();

    await sync(tenant);

    // Five waits of a minute, then the sync gives up: what it read is kept, and it says why it stopped.
    expect(budgetWaits() - waitsBefore).toBe(MAX_WAIT_SECONDS / RECHECK_SECONDS);
    const stopped = await latest(tenant);
    expect(stopped).toMatchObject({ status: 'completed', syncType: 'full', message: expect.stringMatching(/^Paused by the API budget: the Salesforce org had used [\d,]+ of its 100,000 daily API requests \(the budget is 80%\) and did not fall below it in 0\.1 hours of waiting\./) });
    expect(stopped.recordsCreated).toBeGreaterThan(0);
    expect(stopped.recordsCreated).toBeLessThan(sourceTotal());
    const afterStop = await status(tenant);
    expect(afterStop).toMatchObject({ status: 'connected', lastSyncError: null, lastSyncNote: stopped.message });
    const partial = await counts(tenant);
    expect(partial.accounts + partial.people + partial.opportunities).toBe(stopped.recordsCreated);

    // The window rolls on: the next sync starts from the watermark the stopped one reached, and nothing is lost.
    allowance().set({ used: 0, othersPerCall: 0 });
    await sync(tenant);

    const resumed = await latest(tenant);
    expect(resumed).toMatchObject({ status: 'completed', syncType: 'incremental', recordsDeleted: 0, message: null });
    expect(resumed.recordsCreated).toBe(sourceTotal() - stopped.recordsCreated);
    expect(await counts(tenant)).toEqual(sourceCounts());
    expect(await status(tenant)).toMatchObject({ lastSyncNote: null });
  });

  it('a sync that starts over the budget reads the usage once before waiting, and goes on if it has fallen', async () => {
    const tenant = await connected();
    allowance().set({ used: 90_000 });
    await sync(tenant);
    expect((await latest(tenant)).message).toMatch(/^Paused by the API budget/);

    // The stored usage says 90%; the org's usage has since fallen: one /limits call, no wait.
    allowance().set({ used: 10_000 });
    const waitsBefore = budgetWaits();
    const limitsBefore = limitsCalls();
    await sync(tenant);

    expect(budgetWaits() - waitsBefore).toBe(0);
    expect(limitsCalls() - limitsBefore).toBe(1);
    expect(await latest(tenant)).toMatchObject({ status: 'completed', message: null });
    expect(await counts(tenant)).toEqual(sourceCounts());
  });

  it('waits when the whole allowance runs out under it (REQUEST_LIMIT_EXCEEDED), and resumes as the window rolls', async () => {
    const tenant = await connected();
    await admin(tenant).connector.setApiBudget.mutate({ connectorId: 'salesforce', budget: 1 });
    allowance().set({ used: 99_000, othersPerCall: 400 });
    const waitsBefore = budgetWaits();
    const watcher = rollWindowOnceWaiting(waitsBefore);

    await sync(tenant);
    await watcher;

    expect(budgetWaits() - waitsBefore).toBeGreaterThanOrEqual(1);
    expect(await latest(tenant)).toMatchObject({ status: 'completed', recordsCreated: sourceTotal(), message: null });
    expect(await counts(tenant)).toEqual(sourceCounts());
  });

  it('setApiBudget: a connector\'s own share, shown by getStatus, applied by its syncs; null goes back to the default', async () => {
    const tenant = await connected();
    expect(await admin(tenant).connector.setApiBudget.mutate({ connectorId: 'salesforce', budget: 0.5 })).toEqual({
      apiUsage: { used: null, limit: null, budget: 0.5, observedAt: null },
    });
    allowance().set({ used: 60_000 });
    const waitsBefore = budgetWaits();

    await sync(tenant);

    // 60% is under the default 80% but over this connector's 50%: after its first page it waits, then gives up.
    expect(budgetWaits() - waitsBefore).toBe(MAX_WAIT_SECONDS / RECHECK_SECONDS);
    expect((await latest(tenant)).message).toMatch(/\(the budget is 50%\)/);
    expect((await status(tenant)).config).toMatchObject({ apiUsage: { budget: 0.5, limit: LIMIT } });

    await admin(tenant).connector.setApiBudget.mutate({ connectorId: 'salesforce', budget: null });
    expect((await status(tenant)).config).toMatchObject({ apiUsage: { budget: 0.8 } });
  });

  it('setApiBudget refuses what it cannot apply: out of range, other providers, members, connectors never set up', async () => {
    const tenant = await connected();
    for (const budget of [0, 0.01, 1.5, '0.5', true, undefined]) {
      const error = await errorOf(admin(tenant).connector.setApiBudget.mutate({ connectorId: 'salesforce', budget } as never));
      expect(error.data?.code).toBe('BAD_REQUEST');
      expect(error.message).toMatch(/budget/);
    }
    const customerio = await errorOf(admin(tenant).connector.setApiBudget.mutate({ connectorId: 'customerio', budget: 0.5 }));
    expect(customerio.data?.code).toBe('BAD_REQUEST');
    expect(customerio.message).toBe('Customer.io has no shared API allowance to budget; an API budget applies to Salesforce.');
    expect((await errorOf(stack.client(tenant, 'member').connector.setApiBudget.mutate({ connectorId: 'salesforce', budget: 0.5 }))).data?.code).toBe('FORBIDDEN');
    const never = await errorOf(admin('never-connected').connector.setApiBudget.mutate({ connectorId: 'salesforce', budget: 0.5 }));
    expect(never.data?.code).toBe('BAD_REQUEST');
    expect(never.message).toBe('Salesforce is not set up yet; connect it, then set its API budget.');
  });
});
