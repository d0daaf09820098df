import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../../support/local-stack';

/** Objects above this many live records are read by a Bulk job: Account (340) and Contact (about 1,000) are, Lead and Opportunity are not. */
const BULK_THRESHOLD = 300;
/** Rows per Bulk results page: several pages per object, so locators and their failures matter. */
const BULK_PAGE_SIZE = 150;

/**
 * Bulk API 2.0 reads end to end, as a user sees them: real @trpc/client -> gateway ->
 * handlers -> the state machine file run locally (WaitForBulkJob included) -> the Salesforce
 * sandbox's Bulk query jobs over HTTP -> DynamoDB Local.
 */
describe('Salesforce Bulk API 2.0 reads through the local stack', () => {
  let stack: TestStack;
  const admin = (tenant: string) => stack.client(tenant, 'admin');
  const sync = async (tenant: string, fullSync = false) => {
    await admin(tenant).connector.triggerSync.mutate({ connectorId: 'salesforce', fullSync });
    await stack.stepFunctions.idle();
  };
  const counts = (tenant: string) => admin(tenant).connector.getEntityCounts.query({ connectorId: 'salesforce' });
  const latest = async (tenant: string) => (await admin(tenant).connector.getSyncHistory.query({ connectorId: 'salesforce', limit: 1 }))[0]!;
  const sourceCounts = () => stack.salesforce!.data.entityCounts();
  const sourceTotal = () => Object.values(sourceCounts()).reduce((a, b) => a + b, 0);
  /** Sandbox calls by endpoint since `before`. */
  const callsSince = (before: Record<string, number>) =>
    Object.fromEntries(Object.entries(stack.salesforce!.stats().byEndpoint).map(([endpoint, n]) => [endpoint, n - (before[endpoint] ?? 0)]).filter(([, n]) => n !== 0));
  const pages = (records: number) => Math.ceil(records / BULK_PAGE_SIZE);
  /** A first sync of a new tenant: the whole data set, exactly once, whatever path each object took. */
  const expectExactFirstSync = async (tenant: string) => {
    expect(await counts(tenant)).toEqual(sourceCounts());
    expect(await latest(tenant)).toMatchObject({ status: 'completed', syncType: 'full', recordsCreated: sourceTotal(), recordsUpdated: 0, recordsDeleted: 0, recordsFailed: 0, message: null });
  };
  let tenants = 0;
  const connected = async () => {
    const tenant = `bulk-${++tenants}`;
    await stack.connectSalesforce(tenant);
    return tenant;
  };

  beforeAll(async () => {
    Object.assign(process.env, {
      SALESFORCE_BULK_THRESHOLD: String(BULK_THRESHOLD),
      SALESFORCE_BULK_PAGE_SIZE: String(BULK_PAGE_SIZE),
      SALESFORCE_BULK_JOB_MAX_WAIT_SECONDS: '60',
    });
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());
  beforeEach(() => stack.salesforce!.failures.reset());

  it('a first sync reads large objects through Bulk jobs, polled from the state machine, and counts exactly', async () => {
    const tenant = await connected();
    const before = stack.salesforce!.stats().byEndpoint;
    const waitsBefore = stack.stepFunctions.transitions().byState.WaitForBulkJob ?? 0;
    const { Account, Contact } = stack.salesforce!.data.counts();

    await sync(tenant);

    await expectExactFirstSync(tenant);
    const calls = callsSince(before);
    // Two large objects: one job each, polled until complete (the sandbox completes a job on its second poll), read by locator, deleted.
    expect(calls).toMatchObject({ bulkCreate: 2, bulkPoll: 4, bulkResults: pages(Account!) + pages(Contact!), bulkDelete: 2 });
    // Every object is counted first; the two small ones are read through REST pages of up to 2,000.
    expect(calls.query).toBe(4 + 2);
    expect(stack.stepFunctions.transitions().byState.WaitForBulkJob! - waitsBefore).toBe(4);
    expect(stack.salesforce!.bulkJobs()).toEqual([]);
  });

  it('an incremental sync keeps to REST from the watermarks the Bulk reads left', async () => {
    const tenant = await connected();
    await sync(tenant);
    stack.salesforce!.data.modify('Contact', 20);
    stack.salesforce!.data.add('Account', 3);
    const before = stack.salesforce!.stats().byEndpoint;

    await sync(tenant);

    expect(await latest(tenant)).toMatchObject({ status: 'completed', syncType: 'incremental', recordsCreated: 3, recordsUpdated: 20, recordsDeleted: 0 });
    // A Bulk read leaves a deletions watermark too (the time of its job): /deleted goes on from there.
    expect(callsSince(before)).toEqual({ queryAll: 4, deleted: 4 });
    expect(await counts(tenant)).toEqual(sourceCounts());
  });

  it('a full sync through Bulk sees deletions (queryAll) and removals, and repairs the counts', async () => {
    const tenant = await connected();
    await sync(tenant);
    stack.salesforce!.data.remove('Contact', 7);
    stack.salesforce!.data.remove('Account', 2);

    await sync(tenant, true);

    expect(await latest(tenant)).toMatchObject({ status: 'completed', syncType: 'full', recordsCreated: 0, recordsDeleted: 9 });
    expect(await counts(tenant)).toEqual(sourceCounts());
  });

  it('falls back to REST pages when a job fails, and counts each record once', async () => {
    const tenant = await connected();
    stack.salesforce!.failures.bulkJobFails(1);
    const before = stack.salesforce!.stats().byEndpoint;

    await sync(tenant);

    await expectExactFirstSync(tenant);
    expect(callsSince(before)).toMatchObject({ bulkCreate: 2 });
    expect(stack.salesforce!.bulkJobs()).toEqual([]);
  });

  it('falls back to REST pages when a job is aborted', async () => {
    const tenant = await connected();
    stack.salesforce!.failures.bulkJobAborted(2);

    await sync(tenant);

    await expectExactFirstSync(tenant);
  });

  it('after Bulk pages were stored, an expired locator falls back to REST for the object, with nothing counted twice', async () => {
    const tenant = await connected();
    // The first page of Account is read (no locator), its second page's locator has expired.
    stack.salesforce!.failures.bulkLocatorExpires(1);
    const before = stack.salesforce!.stats().byEndpoint;

    await sync(tenant);

    // A first load trusts that each record comes once; the fallback's pages say they repeat, so each is looked up.
    await expectExactFirstSync(tenant);
    expect(callsSince(before).bulkResults).toBeGreaterThan(2);
  });

  it('aborts a job that never completes after the longest wait, and reads the object through REST', async () => {
    const tenant = await connected();
    stack.salesforce!.failures.bulkJobNeverCompletes(1);
    const waitsBefore = stack.stepFunctions.transitions().byState.WaitForBulkJob ?? 0;

    await sync(tenant);

    await expectExactFirstSync(tenant);
    // Waits of 2, 2, 4, 8, 16 and 30 seconds reach the 60-second bound; the other job takes two.
    expect(stack.stepFunctions.transitions().byState.WaitForBulkJob! - waitsBefore).toBe(6 + 2);
    expect(stack.salesforce!.bulkJobs()).toEqual([]);
  });
});
