import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../../../../functions/api/router';
import { issueLocalToken } from '../../../../local/jwt-issuer';
import { emfLines, type EmfLine } from './emf';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const TENANT = 'metrics-tenant';

/**
 * `npm start` as a user runs it, with metrics on (as they are outside the tests): a fresh
 * state directory, DynamoDB Local in memory, any free port, and no scheduler, so that the
 * only metric lines are the ones the test's own calls cause.
 */
function npmStart(stateDir: string): { child: ChildProcess; stdout: () => string; ready: Promise<string> } {
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    LOCAL_STATE_DIR: stateDir,
    LOCAL_DYNAMODB_IN_MEMORY: '1',
    SCHEDULE_EVERY_SECONDS: '0',
  };
  // The tests switch metrics off (vitest.config.ts); a user's `npm start` does not.
  delete env.POWERTOOLS_METRICS_DISABLED;
  // Nothing of the test process's own configuration may point the stack elsewhere.
  for (const key of ['TABLE_NAME', 'DYNAMODB_ENDPOINT', 'SFN_ENDPOINT', 'CONNECTOR_ENCRYPTION_KEY', 'OAUTH_REDIRECT_BASE_URL', 'ENVIRONMENT_NAME']) delete env[key];
  const child = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let everything = '';
  const ready = new Promise<string>((resolveUrl, reject) => {
    const look = () => {
      const match = /ready at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match) resolveUrl(match[1]!);
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      everything += chunk.toString('utf8');
      look();
    });
    child.stderr!.on('data', (chunk: Buffer) => void (everything += chunk.toString('utf8')));
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code} before it was ready:\n${everything.slice(-4000)}`)));
  });
  return { child, stdout: () => stdout, ready };
}

/** SIGTERM to the stack's process group (npm, tsx, DynamoDB Local): it stops as on Ctrl-C; SIGKILL if it lingers. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((gone) => child.once('exit', gone));
  process.kill(-child.pid!, 'SIGTERM');
  const lingering = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(lingering);
}

describe("metrics in npm start's output", () => {
  let stateDir: string;
  let stack: ReturnType<typeof npmStart>;
  let url: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'connector-metrics-'));
    stack = npmStart(stateDir);
    url = await stack.ready;
  }, 60_000);
  afterAll(async () => {
    if (stack) await stop(stack.child);
    await rm(stateDir, { recursive: true, force: true });
  });

  it('prints an EMF line for an API error, with the tRPC code as a dimension and the tenant only as a property', async () => {
    const client = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${url}/trpc`, headers: async () => ({ authorization: `Bearer ${await issueLocalToken(stateDir, { tenantId: TENANT, role: 'member' })}` }) })],
    });
    const error = await client.connector.getStatus.query({ connectorId: 'hubspot' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<AppRouter>).data?.code).toBe('NOT_FOUND');

    let apiErrors: EmfLine[] = [];
    await expect
      .poll(() => (apiErrors = emfLines(stack.stdout()).filter((line) => line.metrics.includes('ApiErrors'))), { timeout: 5_000, interval: 50 })
      .toHaveLength(1);
    const [line] = apiErrors;
    expect(line!.namespace).toBe('ConnectorService');
    expect(line!.dimensionSets).toEqual([['service', 'environment', 'code']]);
    expect(line!.values).toMatchObject({ ApiErrors: 1, code: 'NOT_FOUND', service: 'connector', environment: 'local', tenantId: TENANT });
    expect(line!.units).toEqual({ ApiErrors: 'Count' });

    // No metric of the stack's has the tenant among its dimensions, by name or by value.
    for (const emf of emfLines(stack.stdout())) {
      for (const dimension of emf.dimensionSets.flat()) {
        expect(dimension).not.toMatch(/tenant/i);
        expect(emf.values[dimension]).not.toBe(TENANT);
      }
    }
  });
});
