/**
 * The local stack behaves like AWS across restarts: `kill -9` of the whole stack (its
 * process group, DynamoDB Local included) in the middle of a sync, then a start on the same
 * state directory, and the sync completes as if nothing happened. Each stack runs in a
 * child process (`bin/local.ts`, as `npm start` does) with its own persisted DynamoDB Local.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSyncDefinition, readExecutionFiles } from '../../local/step-functions';
import { api, startChildStack, until, type ChildStack } from '../support/child-stack';

/** What a sandbox's control endpoint says about itself (entity counts, record counts). */
async function sandboxState(url: string): Promise<{ entityCounts?: Record<string, number>; count?: number }> {
  return (await (await fetch(`${url}/__sandbox/state`)).json()) as { entityCounts?: Record<string, number>; count?: number };
}

async function connectSalesforce(stack: ChildStack, stateDir: string): Promise<void> {
  const { authUrl } = await api(stack, stateDir).getAuthUrl.mutate();
  const consent = await fetch(authUrl, { redirect: 'manual' });
  const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual' });
  await callback.body?.cancel();
}

/** Waits for the connector's sync to end; then no history entry may still be running. */
async function syncEnded(stack: ChildStack, stateDir: string, connectorId: string) {
  const connector = api(stack, stateDir);
  await until(async () => (await connector.getStatus.query({ connectorId })).status !== 'syncing');
  const history = await connector.getSyncHistory.query({ connectorId, limit: 100 });
  return { status: await connector.getStatus.query({ connectorId }), history, counts: await connector.getEntityCounts.query({ connectorId }) };
}

/** Names of the definition's states of a kind (the definition changes; the tests must not name states). */
async function statesWhere(test: (state: { Type: string; Resource?: string }) => boolean): Promise<string[]> {
  const definition = await loadSyncDefinition();
  return Object.entries(definition.States as Record<string, { Type: string; Resource?: string }>)
    .filter(([, state]) => test(state))
    .map(([name]) => name);
}

describe('the local stack across kill -9 and restart', () => {
  let stateDir: string;
  afterEach(async () => {
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('completes a full Salesforce sync that was running when the whole stack was killed', { timeout: 90_000 }, async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'connector-restart-'));
    const sizes = { SANDBOX_SALESFORCE_ACCOUNTS: '800', SANDBOX_SALESFORCE_PEOPLE: '3200', SANDBOX_SALESFORCE_OPPORTUNITIES: '200' };
    let stack = await startChildStack(stateDir, sizes);
    const salesforceUrl = stack.sandboxes.Salesforce!;
    const source = (await sandboxState(salesforceUrl)).entityCounts;
    await connectSalesforce(stack, stateDir);
    const { syncId } = await api(stack, stateDir).triggerSync.mutate({ connectorId: 'salesforce', fullSync: true });

    // Kill once a good part is written, and well before the end.
    const progress = await until(async () => {
      const status = await api(stack, stateDir).getStatus.query({ connectorId: 'salesforce' });
      return status.latestSync && status.latestSync.recordsCreated >= 1000 ? status : undefined;
    });
    expect(progress.status).toBe('syncing');
    await stack.kill();
    const persisted = (await readExecutionFiles(join(stateDir, 'executions'))).filter((file) => file.status === 'RUNNING');
    expect(persisted.length).toBeGreaterThan(0);

    stack = await startChildStack(stateDir, sizes);
    // The sandbox is where the connection's instanceUrl says, with the same data.
    expect(stack.sandboxes.Salesforce).toBe(salesforceUrl);
    expect((await sandboxState(salesforceUrl)).entityCounts).toEqual(source);
    const after = await syncEnded(stack, stateDir, 'salesforce');
    expect(after.status.status).toBe('connected');
    expect(after.counts).toEqual({ ...source });
    expect(after.history.find((entry) => entry.id === syncId)?.status).toBe('completed');
    expect(after.history.filter((entry) => entry.status === 'running')).toEqual([]);

    // The connection made before the restart keeps syncing after it.
    await api(stack, stateDir).triggerSync.mutate({ connectorId: 'salesforce' });
    const next = await syncEnded(stack, stateDir, 'salesforce');
    expect(next.status.status).toBe('connected');
    expect(next.history[0]?.status).toBe('completed');
    expect(next.counts).toEqual({ ...source });
    await stack.kill();
  });

  it('resumes an execution killed in a Wait state, and an API-key connection keeps syncing', { timeout: 90_000 }, async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'connector-restart-'));
    const waitStates = await statesWhere((state) => state.Type === 'Wait');
    let stack = await startChildStack(stateDir);
    const customerioUrl = stack.sandboxes['Customer.io']!;
    const connector = api(stack, stateDir);
    await connector.connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'us' } });
    // The provider asks us to wait (429 with Retry-After) on the first page.
    await fetch(`${customerioUrl}/__sandbox/failures`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ throttle: { times: 1, retryAfterSeconds: 3 } }),
    });
    const { syncId } = await connector.triggerSync.mutate({ connectorId: 'customerio' });
    await until(async () =>
      (await readExecutionFiles(join(stateDir, 'executions'))).some((file) => file.status === 'RUNNING' && waitStates.includes(file.state ?? '')),
    );
    await stack.kill();

    stack = await startChildStack(stateDir);
    expect(stack.sandboxes['Customer.io']).toBe(customerioUrl);
    const after = await syncEnded(stack, stateDir, 'customerio');
    const source = (await sandboxState(customerioUrl)).count;
    expect(after.status.status).toBe('connected');
    expect(after.counts.people).toBe(source);
    expect(after.history.find((entry) => entry.id === syncId)?.status).toBe('completed');
    expect(after.history.filter((entry) => entry.status === 'running')).toEqual([]);

    await api(stack, stateDir).triggerSync.mutate({ connectorId: 'customerio' });
    const next = await syncEnded(stack, stateDir, 'customerio');
    expect(next.history[0]?.status).toBe('completed');
    expect(next.counts.people).toBe(source);
    await stack.kill();
  });

  it('hands a sync over to the next execution across kills before and after the hand-over starts it', { timeout: 90_000 }, async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'connector-restart-'));
    const [handOver] = await statesWhere((state) => state.Type === 'Task' && state.Resource === 'arn:aws:states:::states:startExecution');
    const handOverEnv = { SYNC_PAGES_PER_EXECUTION: '2' };
    // First kill: the old execution is about to start its successor.
    let stack = await startChildStack(stateDir, { ...handOverEnv, LOCAL_STEP_FUNCTIONS_HALT_AT: handOver! });
    const salesforceUrl = stack.sandboxes.Salesforce!;
    const source = (await sandboxState(salesforceUrl)).entityCounts;
    await connectSalesforce(stack, stateDir);
    const { syncId } = await api(stack, stateDir).triggerSync.mutate({ connectorId: 'salesforce', fullSync: true });
    await stack.printed(new RegExp(`halted ${syncId} at ${handOver}\\b`));
    await stack.kill();

    // Second kill: the successor is started (and on disk), the old execution has not ended yet.
    stack = await startChildStack(stateDir, { ...handOverEnv, LOCAL_STEP_FUNCTIONS_HALT_AT: `${handOver}:after` });
    await stack.printed(new RegExp(`halted ${syncId} at ${handOver}:after`));
    await stack.kill();
    const files = await readExecutionFiles(join(stateDir, 'executions'));
    const runningAtKill = files.filter((file) => file.status === 'RUNNING').map((file) => file.name);
    // The old execution (held after starting its successor) and the successor, both to be resumed.
    expect(runningAtKill).toContain(syncId);
    const successors = runningAtKill.filter((name) => name.startsWith(`${syncId}-`));
    expect(successors.length).toBeGreaterThan(0);

    stack = await startChildStack(stateDir, handOverEnv);
    const after = await syncEnded(stack, stateDir, 'salesforce');
    expect(after.status.status).toBe('connected');
    expect(after.counts).toEqual({ ...source });
    expect(after.history.find((entry) => entry.id === syncId)?.status).toBe('completed');
    expect(after.history.filter((entry) => entry.status === 'running')).toEqual([]);
    const ended = await readExecutionFiles(join(stateDir, 'executions'));
    const ofThisSync = ended.filter((file) => file.name === syncId || file.name.startsWith(`${syncId}-`));
    expect(ofThisSync.map((file) => file.name)).toEqual(expect.arrayContaining([syncId, ...successors]));
    expect(ofThisSync.every((file) => file.status === 'SUCCEEDED')).toBe(true);
    await stack.kill();
  });
});
