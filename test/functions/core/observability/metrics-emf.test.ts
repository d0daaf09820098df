import { TRPCClientError } from '@trpc/client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AppRouter } from '../../../../functions/api/router';
import { createRepositories } from '../../../../functions/core/repository';
import { runningSyncLog } from '../../../support/factories';
import { startTestStack, type TestStack } from '../../../support/local-stack';
import { emfLines } from './emf';

/**
 * The metrics the handlers publish, read as the EMF lines they print (CloudWatch reads the
 * same lines from the Lambda's log): ThrottleWaits from SyncPage, RecoveryRuns from the
 * recovery handler, TokenRefreshes and TokenRefreshFailures from the credential service,
 * ApiErrors from the API's one error hook.
 */
describe('metrics the local stack publishes', () => {
  let stack: TestStack;
  /** What the process printed on stdout during the current test (not passed on: EMF lines are noise in a test run). */
  let printed: string[];
  const write = process.stdout.write;

  beforeAll(async () => {
    // vitest.config.ts switches metrics off for every test; this file needs them. Read on each record.
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack.stop();
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  });
  beforeEach(() => {
    printed = [];
    process.stdout.write = ((chunk: string | Uint8Array) => {
      printed.push(chunk.toString());
      return true;
    }) as typeof process.stdout.write;
  });
  afterEach(() => {
    process.stdout.write = write;
  });

  const emf = (metric: string) => emfLines(printed.join('')).filter((line) => line.metrics.includes(metric));
  const statusOf = async (tenant: string, connectorId: string) =>
    (await stack.client(tenant).connector.getStatus.query({ connectorId })).status;
  /** Starts a sync and waits until it has ended; answers its id. */
  async function syncToEnd(tenant: string, connectorId: 'salesforce' | 'customerio'): Promise<string> {
    const { syncId } = await stack.client(tenant, 'admin').connector.triggerSync.mutate({ connectorId });
    await expect.poll(() => statusOf(tenant, connectorId), { timeout: 20_000, interval: 50 }).not.toBe('syncing');
    return syncId;
  }

  it('ThrottleWaits: one per wait the provider asked for, by provider, with tenant and sync as properties only', async () => {
    await stack.client('throttled', 'admin').connector.connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'us' } });
    stack.customerio!.failures.throttle(2, 1);

    const syncId = await syncToEnd('throttled', 'customerio');

    expect(await statusOf('throttled', 'customerio')).toBe('connected');
    const waits = emf('ThrottleWaits');
    expect(waits).toHaveLength(2);
    for (const line of waits) {
      expect(line.namespace).toBe('ConnectorService');
      expect(line.dimensionSets).toEqual([['service', 'environment', 'provider']]);
      expect(line.values).toMatchObject({ ThrottleWaits: 1, provider: 'customerio', tenantId: 'throttled', syncId });
    }
  });

  it('TokenRefreshes and TokenRefreshFailures: each refresh the provider answered, by provider', async () => {
    await stack.connectSalesforce('refreshing');
    stack.salesforce!.failures.expireSessions();
    await syncToEnd('refreshing', 'salesforce');
    expect(emf('TokenRefreshes').map((line) => line.values)).toEqual([
      expect.objectContaining({ TokenRefreshes: 1, provider: 'salesforce', tenantId: 'refreshing' }),
    ]);
    expect(emf('TokenRefreshes')[0]!.dimensionSets).toEqual([['service', 'environment', 'provider']]);

    printed = [];
    stack.salesforce!.failures.revokeGrant();
    await syncToEnd('refreshing', 'salesforce');
    expect(await statusOf('refreshing', 'salesforce')).toBe('error');
    expect(emf('TokenRefreshFailures').map((line) => line.values)).toEqual([
      expect.objectContaining({ TokenRefreshFailures: 1, provider: 'salesforce', tenantId: 'refreshing' }),
    ]);
    expect(emf('TokenRefreshes')).toEqual([]);
  });

  it('RecoveryRuns: one per execution the recovery handler recovers, none after FailSync or for an event it cannot use', async () => {
    await stack.connectSalesforce('recovered');
    const syncId = 'sync_RECOVERED00000000000000000';
    await createRepositories(stack.documentClient, stack.tableName).lifecycle.beginSync('recovered', 'salesforce', runningSyncLog('recovered', 'salesforce', syncId));
    const { handler } = await import('../../../../functions/sync/recoverSync');
    const input = JSON.stringify({ tenantId: 'recovered', providerId: 'salesforce', syncId });

    await handler({ detail: { status: 'TIMED_OUT', name: syncId, input } }, { awsRequestId: 'recover-metrics-1' } as never);
    await handler({ detail: { status: 'FAILED', name: 'not-a-sync', input: '{"hello":1}' } }, { awsRequestId: 'recover-metrics-2' } as never);
    // After every sync that failed through FailSync: nothing was left to recover.
    const syncFailed = { error: 'SyncFailed', cause: "The sync failed; the connector's lastSyncError says why." };
    await handler({ detail: { status: 'FAILED', name: syncId, input, ...syncFailed } }, { awsRequestId: 'recover-metrics-3' } as never);

    // Only this sync's: the local runner may be recovering an earlier test's failed sync meanwhile.
    const runs = emf('RecoveryRuns').filter((line) => line.values.syncId === syncId);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.dimensionSets).toEqual([['service', 'environment']]);
    expect(runs[0]!.values).toMatchObject({ RecoveryRuns: 1, tenantId: 'recovered', syncId });
  });

  it('ApiErrors: one per failed call, even in a batch, with its tRPC code as the dimension', async () => {
    const codeOf = (promise: Promise<unknown>) => promise.then(
      () => 'OK',
      (error: unknown) => (error as TRPCClientError<AppRouter>).data?.code,
    );
    expect(await codeOf(stack.client('api-errors').connector.getStatus.query({ connectorId: '' }))).toBe('BAD_REQUEST');
    expect(await codeOf(stack.client('api-errors').connector.disconnect.mutate({ connectorId: 'salesforce' }))).toBe('FORBIDDEN');
    expect(await codeOf(stack.client('api-errors').connector.getStatus.query({ connectorId: 'hubspot' }))).toBe('NOT_FOUND');
    // A token whose tenant claim the API cannot use: the gateway lets it through, the procedure refuses it.
    const noTenant = await fetch(`${stack.url}/trpc/connector.list`, { headers: { authorization: `Bearer ${await stack.token('not a tenant!')}` } });
    expect(noTenant.status).toBe(401);
    const batch = stack.client('api-errors', 'member', { batch: true }).connector;
    await Promise.allSettled([batch.getStatus.query({ connectorId: 'hubspot' }), batch.getStatus.query({ connectorId: 'pipedrive' }), batch.list.query()]);

    const errors = emf('ApiErrors');
    expect(errors.map((line) => line.values.code)).toEqual(['BAD_REQUEST', 'FORBIDDEN', 'NOT_FOUND', 'UNAUTHORIZED', 'NOT_FOUND', 'NOT_FOUND']);
    for (const line of errors) {
      expect(line.dimensionSets).toEqual([['service', 'environment', 'code']]);
      expect(line.values.ApiErrors).toBe(1);
    }
    expect(errors.filter((line) => line.values.tenantId === 'api-errors')).toHaveLength(5);
  });

  it('ApiErrors: an OAuth callback that is not one (no or unknown state) counts as a bad request', async () => {
    for (const query of ['', '?state=forged&code=x']) {
      const answer = await fetch(`${stack.url}/oauth/salesforce/callback${query}`);
      expect(answer.status).toBe(400);
      await answer.body?.cancel();
    }
    expect(emf('ApiErrors').map((line) => line.values.code)).toEqual(['BAD_REQUEST', 'BAD_REQUEST']);
  });
});
