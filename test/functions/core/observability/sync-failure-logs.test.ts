import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepositories } from '../../../../functions/core/repository';
import { runningSyncLog } from '../../../support/factories';
import { startTestStack, type TestStack } from '../../../support/local-stack';

interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

/** The JSON log lines the process writes (INFO to stdout, WARN and ERROR to stderr) while `action` runs; EMF lines left out. */
async function captureLogs(action: () => Promise<unknown>): Promise<{ lines: LogLine[]; raw: string }> {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      chunks.push(chunk.toString());
      return true;
    }) as typeof stream.write;
  }
  try {
    await action();
  } finally {
    streams.forEach((stream, i) => (stream.write = writes[i]!));
  }
  const raw = chunks.join('');
  const lines = raw
    .split('\n')
    .filter((line) => line.startsWith('{') && !line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as LogLine);
  return { lines, raw };
}

describe('why a sync failed, in the log', () => {
  let stack: TestStack;
  const statusOf = async (tenant: string, connectorId: string) => (await stack.client(tenant).connector.getStatus.query({ connectorId })).status;

  /** A running sync of the tenant's Salesforce, as triggerSync leaves it, without an execution behind it. */
  async function runningSync(tenant: string, syncId: string): Promise<void> {
    await stack.connectSalesforce(tenant);
    await createRepositories(stack.documentClient, stack.tableName).lifecycle.beginSync(tenant, 'salesforce', runningSyncLog(tenant, 'salesforce', syncId));
  }

  beforeAll(async () => {
    // Powertools restores its initial level on every invocation: set it before handlers load.
    // Warnings and errors only: what these tests look for, without the stack's info lines in the test output.
    process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack.stop();
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  });

  it('FailSync warns with the sync, tenant, connector, error name and cause when a provider stayed down, and logs no key', async () => {
    const admin = stack.client('outage', 'admin').connector;
    await admin.connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'us' } });
    stack.customerio!.failures.serverError(Infinity, 503);
    let syncId = '';
    const { lines, raw } = await captureLogs(async () => {
      ({ syncId } = await admin.triggerSync.mutate({ connectorId: 'customerio' }));
      await expect.poll(() => statusOf('outage', 'customerio'), { timeout: 20_000, interval: 50 }).toBe('error');
      // The execution then fails in its SyncFailed state, and the local runner hands it to recovery as EventBridge would.
      await stack.stepFunctions.idle();
    });
    stack.customerio!.failures.reset();
    // Recovery sees the SyncFailed error, as in AWS, and has nothing to say above debug.
    expect(lines.filter((line) => line.syncId === syncId && String(line.message).startsWith('sync execution'))).toEqual([]);

    const failed = lines.filter((line) => line.message === 'sync failed');
    expect(failed).toEqual([
      expect.objectContaining({
        level: 'WARN',
        syncId,
        tenantId: 'outage',
        connectorId: 'customerio',
        errorName: 'ProviderUnavailable',
        cause: expect.stringMatching(/Customer\.io/),
      }),
    ]);
    expect(raw).not.toContain('sandbox-key');
  });

  it('FailSync logs an unexpected failure as an error, with the message of a Lambda cause and no credential it quoted', async () => {
    const syncId = 'sync_UNEXPECTED000000000000000';
    await runningSync('unexpected', syncId);
    const { handler } = await import('../../../../functions/sync/failSync');
    // The Cause Step Functions' Catch hands over for a Lambda error: JSON with the message and a stack trace.
    const cause = JSON.stringify({
      errorType: 'TypeError',
      errorMessage: 'Cannot read properties of undefined: {"access_token":"00DTOKENVALUE!AQ123","token_type":"Bearer"} (Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload)',
      trace: ['TypeError: Cannot read properties of undefined', '    at readPage (/var/task/index.mjs:1:2345)'],
    });

    const { lines, raw } = await captureLogs(() =>
      handler({ tenantId: 'unexpected', providerId: 'salesforce', syncId, failure: { Error: 'TypeError', Cause: cause } }, { awsRequestId: 'fail-1' } as never),
    );

    const failed = lines.filter((line) => line.message === 'sync failed unexpectedly');
    expect(failed).toEqual([
      expect.objectContaining({ level: 'ERROR', syncId, tenantId: 'unexpected', connectorId: 'salesforce', errorName: 'TypeError' }),
    ]);
    expect(failed[0]!.cause).toMatch(/^Cannot read properties of undefined: .*access_token.*\[redacted\]/);
    expect(raw).not.toMatch(/00DTOKENVALUE|eyJhbGciOiJSUzI1NiJ9|\/var\/task/);
    expect(await statusOf('unexpected', 'salesforce')).toBe('error');
  });

  it('recovery logs why the execution ended: an error when it timed out, a warning when it was stopped, nothing above debug after FailSync', async () => {
    const { handler } = await import('../../../../functions/sync/recoverSync');
    const timedOut = 'sync_TIMEDOUT0000000000000000';
    await runningSync('timed-out', timedOut);
    const stopped = 'sync_STOPPED00000000000000000';
    await runningSync('stopped', stopped);
    const closed = 'sync_CLOSED000000000000000000';
    await runningSync('closed', closed);
    const event = (syncId: string, tenantId: string, status: string, extra: Record<string, string> = {}) => ({
      detail: { status, name: syncId, input: JSON.stringify({ tenantId, providerId: 'salesforce', syncId }), ...extra },
    });

    const { lines } = await captureLogs(async () => {
      await handler(event(timedOut, 'timed-out', 'TIMED_OUT', { error: 'States.Timeout', cause: 'The execution timed out.' }), { awsRequestId: 'recover-1' } as never);
      await handler(event(stopped, 'stopped', 'ABORTED'), { awsRequestId: 'recover-2' } as never);
      // What EventBridge sends after every sync that failed through FailSync (the state machine's SyncFailed state).
      const syncFailed = { error: 'SyncFailed', cause: "The sync failed; the connector's lastSyncError says why." };
      await handler(event(closed, 'closed', 'FAILED', syncFailed), { awsRequestId: 'recover-3' } as never);
    });

    // Only these syncs' lines: a sync an earlier test failed may be recovered while this one runs.
    const ours = new Set([timedOut, stopped, closed]);
    expect(lines.filter((line) => ours.has(line.syncId as string))).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'sync execution ended without its failure step; recovering its sync',
        syncId: timedOut,
        tenantId: 'timed-out',
        connectorId: 'salesforce',
        status: 'TIMED_OUT',
        errorName: 'States.Timeout',
        cause: 'The execution timed out.',
      }),
      expect.objectContaining({
        level: 'WARN',
        message: 'sync execution was stopped; recovering its sync',
        syncId: stopped,
        tenantId: 'stopped',
        errorName: 'ABORTED',
        cause: 'the execution ended ABORTED',
      }),
    ]);
  });
});

describe('redactSecrets', () => {
  it('replaces the values of credential-shaped fields and auth headers, and leaves prose alone', async () => {
    // Imported here: importing the logger fixes its level, which the tests above set first.
    const { redactSecrets } = await import('../../../../functions/core/logger');
    expect(redactSecrets('access_token=abc.def&refresh_token=xyz&scope=api')).toBe('access_token=[redacted]&refresh_token=[redacted]&scope=api');
    expect(redactSecrets('{"client_secret": "s3cr3t", "apiKey":"k-123"}')).toBe('{"client_secret": "[redacted]", "apiKey":"[redacted]"}');
    expect(redactSecrets('Authorization: Bearer eyJhbGciOi.x.y')).not.toMatch(/eyJhbGciOi/);
    expect(redactSecrets('The secret named by SALESFORCE_CLIENT_SECRET_ARN is empty or not text.')).toBe(
      'The secret named by SALESFORCE_CLIENT_SECRET_ARN is empty or not text.',
    );
    expect(redactSecrets('a basic check failed; the bearer token expired')).toBe('a basic check failed; the bearer token expired');
  });
});

describe('FAILED_THROUGH_FAIL_SYNC', () => {
  it("is the Error of the state machine's SyncFailed state, the one FailSync leads to", async () => {
    const { readFile } = await import('node:fs/promises');
    const { FAILED_THROUGH_FAIL_SYNC } = await import('../../../../functions/core/services/sync-service');
    const definition = JSON.parse(await readFile(new URL('../../../../statemachines/sync.asl.json', import.meta.url), 'utf8')) as {
      States: Record<string, { Type: string; Next?: string; Error?: string }>;
    };
    const afterFailSync = definition.States[definition.States.FailSync!.Next!]!;
    expect(afterFailSync).toMatchObject({ Type: 'Fail', Error: FAILED_THROUGH_FAIL_SYNC });
  });
});
