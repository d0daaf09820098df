/**
 * What both scenarios of `npm run bench` stand on: DynamoDB Local, the Salesforce sandbox in
 * a process of its own (remote-sandbox.ts), the local stack pointed at it as at a real org,
 * the request monitor and the memory sampler; connecting a tenant as an admin would, one
 * measured full sync with its count checks, and the plain BatchWriteItem baseline, which
 * runs in a process of its own too (remote-baseline.ts): this process holds the stack alone.
 *
 * Loaded by run.ts after it has set the handlers' environment (they read it when they load).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { createTRPCClient, httpLink } from '@trpc/client';
import { startIoMonitor } from './io-monitor';
import { cpuSeconds, setHelperProcess, setProviderProcess, startMemorySampler } from './memory';
import { startRemoteSalesforceSandbox } from './remote-sandbox';
import { startRemoteBaseline } from './remote-baseline';
import * as baseline from './baseline';
import { startDynamoDbLocal, ensureTable, localDynamoDbClient } from '../local/dynamodb-local';
import { startLocalStack } from '../local/stack';
import { issueLocalToken } from '../local/jwt-issuer';
import { BATCH_CONCURRENCY } from '../functions/core/repository/dynamo-batches';
import type { AppRouter } from '../functions/api/router';
import type { DataSetSizes } from '../local/sandboxes/salesforce/data';

/** The engine's write concurrency, which the baseline writes at too. */
export const WRITE_CONCURRENCY = BATCH_CONCURRENCY;

export const log = (line = '') => process.stdout.write(`${line}\n`);
export const seconds = (ms: number) => ms / 1000;
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const pass = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
export const busy = () => `load average ${loadavg().map((n) => fmt(n, 1)).join(' ')} on ${availableParallelism()} cores`;
export const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

export type Harness = Awaited<ReturnType<typeof startHarness>>;
export type EntityCounts = { accounts: number; people: number; opportunities: number };

/**
 * Starts DynamoDB Local, the provider process (its first org of `sizes`, more in `sizes.orgs`),
 * the local stack and the baseline process. `stop()` ends them all, also on SIGINT / SIGTERM.
 */
export async function startHarness(sizes: Partial<DataSetSizes>) {
  const monitor = startIoMonitor();
  const memory = startMemorySampler(100);
  const stateDir = await mkdtemp(join(tmpdir(), 'connector-bench-'));
  const dynamo = await startDynamoDbLocal();
  // The provider runs in a process of its own, as a real one runs on another machine: its
  // page building must not share the event loop of the stack being measured.
  const sandbox = await startRemoteSalesforceSandbox(sizes).catch(async (error: unknown) => {
    await dynamo.stop();
    throw error;
  });
  setProviderProcess(sandbox.pid);
  // DynamoDB Local, the provider and the baseline process are child processes: stop them however the bench ends (an error, Ctrl-C), or they outlive us.
  let writer: Awaited<ReturnType<typeof startRemoteBaseline>> | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void Promise.allSettled([dynamo.stop(), sandbox.close(), writer?.close(), rm(stateDir, { recursive: true, force: true })]).finally(() => process.exit(130));
    });
  }
  // Pointed at "a real org" (the provider process), the stack starts no Salesforce sandbox of its own.
  Object.assign(process.env, { SALESFORCE_LOGIN_URL: sandbox.url, SALESFORCE_CLIENT_ID: sandbox.clientId, SALESFORCE_CLIENT_SECRET: sandbox.clientSecret });
  const stack = await startLocalStack({
    port: 0,
    stateDir,
    dynamoDbEndpoint: dynamo.endpoint,
    tableName: 'connector-bench',
    stepFunctions: { retryDelayMs: 0, waitMs: 0 },
    // No stream and no stream reader: in AWS the stream costs the table's writes nothing and its
    // consumer runs apart from the sync, while DynamoDB Local's stream slows every write and the
    // local reader would parse each entity's images in this process. The baseline tables have none either.
    events: false,
  }).catch(async (error: unknown) => {
    await Promise.allSettled([dynamo.stop(), sandbox.close()]);
    throw error;
  });
  monitor.setOrigins({ provider: sandbox.url, api: stack.url });
  // The stack's own checks (stored items counted) use this client; the baselines use the same one, built the same way, in their process.
  const db = baseline.engineLikeClient(dynamo.endpoint);
  // Started after the stack, whose environment (AWS_REGION, the local credentials) it inherits: the same client settings.
  writer = await startRemoteBaseline(dynamo.endpoint, WRITE_CONCURRENCY).catch(async (error: unknown) => {
    await Promise.allSettled([stack.stop(), dynamo.stop(), sandbox.close()]);
    throw error;
  });
  setHelperProcess(writer.pid);
  const baselines = writer;

  const adminOf = (tenantId: string) =>
    createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${stack.url}/trpc`, headers: async () => ({ authorization: `Bearer ${await issueLocalToken(stateDir, { tenantId, role: 'admin' })}` }) })],
    });
  const newTable = async (name: string) => {
    const raw = localDynamoDbClient(dynamo.endpoint);
    await ensureTable(raw, name, { stream: false });
    raw.destroy();
    return name;
  };
  // DynamoDB Local scans every table with TTL enabled, all the time, under the table's write
  // lock (its TimeToLiveDeletionJob): a table the bench is done with is dropped at once so
  // it does not slow what is measured next.
  const dropTable = async (name: string) => {
    const raw = localDynamoDbClient(dynamo.endpoint);
    await raw.send(new DeleteTableCommand({ TableName: name }));
    raw.destroy();
  };

  /**
   * Plain BatchWriteItem into a fresh table, dropped after, in the baseline process (same
   * code, client and concurrency as in this process before; its request monitor checks every
   * item was sent): of an item set it loaded (`items`: its name), or of a file's items
   * streamed (`{ file }`). CPU is measured from here (the baseline process's apart).
   */
  const measureBaseline = async (name: string, items: string | { file: string; limit?: number }) => {
    const table = await newTable(name);
    const cpuBefore = cpuSeconds();
    const run = typeof items === 'string' ? await baselines.write(table, items) : await baselines.writeStreamed(table, items.file, items.limit);
    const cpu = diffCpu(cpuBefore, cpuSeconds());
    await dropTable(table);
    return { seconds: run.seconds, items: run.items, rate: run.items / run.seconds, cpu, meanInFlight: run.meanInFlight, processRssMb: run.rssMb, processMaxRssMb: run.maxRssMb };
  };

  /**
   * Connects Salesforce for `tenant` as an admin would in a browser (authUrl -> consent ->
   * callback), logging into the sandbox org `org` (its first by default).
   */
  const connectSalesforce = async (tenant: string, org?: string) => {
    const client = adminOf(tenant);
    if (org) await sandbox.consentAs(org);
    const { authUrl } = await client.connector.getAuthUrl.mutate();
    const consent = await fetch(authUrl, { redirect: 'manual' });
    await consent.body?.cancel();
    const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual' });
    await callback.body?.cancel();
    if (org) await sandbox.consentAs(null);
    const { status } = await client.connector.getStatus.query({ connectorId: 'salesforce' });
    if (status !== 'connected') throw new Error(`Salesforce did not connect: ${status}`);
    return client;
  };

  /**
   * One full sync of a connected tenant through the real API (`triggerSync` with `fullSync:
   * true`) until the local Step Functions runner is idle, measured: wall time, CPU, peak
   * memory, every request, the provider's counters (reset first: the org's API usage starts
   * at 0) and state transitions. Throws when the entity counters or the sync log disagree
   * with `expected` (the sandbox's live records).
   */
  const fullSync = async (tenant: string, expected: EntityCounts) => {
    const client = adminOf(tenant);
    const total = expected.accounts + expected.people + expected.opportunities;
    monitor.reset();
    await sandbox.resetStats();
    memory.mark();
    const transitionsBefore = stack.stepFunctions.transitions();
    const cpuBefore = cpuSeconds();
    const started = performance.now();
    const triggered = await client.connector.triggerSync.mutate({ connectorId: 'salesforce', fullSync: true });
    await stack.stepFunctions.idle();
    const ended = performance.now();
    const run = {
      started,
      ended,
      seconds: seconds(ended - started),
      rate: total / seconds(ended - started),
      cpu: diffCpu(cpuBefore, cpuSeconds()),
      memory: memory.peaks(),
      io: monitor.snapshot(),
      provider: await sandbox.stats(),
      transitionsBefore,
      transitionsAfter: stack.stepFunctions.transitions(),
    };
    const counts = await client.connector.getEntityCounts.query({ connectorId: 'salesforce' });
    const [fullLog] = await client.connector.getSyncHistory.query({ connectorId: 'salesforce', limit: 1 });
    if (JSON.stringify(counts) !== JSON.stringify(expected)) {
      throw new Error(`FULL SYNC WRONG: getEntityCounts ${JSON.stringify(counts)} != sandbox ${JSON.stringify(expected)}`);
    }
    if (fullLog?.status !== 'completed' || fullLog.recordsCreated !== total) {
      throw new Error(`FULL SYNC WRONG: sync log ${JSON.stringify(fullLog)} (expected completed, recordsCreated ${total}; trigger answered ${JSON.stringify(triggered)})`);
    }
    return { ...run, counts, total };
  };

  const stop = async () => {
    memory.stop();
    monitor.stop();
    db.destroy();
    await baselines.close();
    await stack.stop();
    await Promise.allSettled([dynamo.stop(), sandbox.close()]);
    await rm(stateDir, { recursive: true, force: true });
  };

  return { monitor, memory, stateDir, dynamo, sandbox, stack, db, baselines, adminOf, newTable, dropTable, measureBaseline, connectSalesforce, fullSync, stop };
}

/** A full garbage collection, so RSS sampled next is the stack's and not the bench's leftovers. */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export type Cpu = ReturnType<typeof cpuSeconds>;

export function diffCpu(before: Cpu, after: Cpu): Cpu {
  return {
    self: after.self - before.self,
    children: after.children - before.children,
    provider: after.provider - before.provider,
    helpers: after.helpers - before.helpers,
    machine: after.machine - before.machine,
  };
}

export function othersCores(cpu: Cpu, wallSeconds: number): string {
  return fmt(othersSeconds(cpu) / wallSeconds, 2);
}

/** Cores used by the stack's process (the bench's), by the baseline process, by DynamoDB Local, and by everything else on the machine. */
export function cpuLine(cpu: Cpu, wallSeconds: number): string {
  const cores = (s: number) => fmt(s / wallSeconds, 2);
  return (
    `Node: stack process ${cores(cpu.self)} cores${cpu.helpers > 0.005 * wallSeconds ? `, baseline process ${cores(cpu.helpers)}` : ''}; DynamoDB Local ${cores(cpu.children)}, ` +
    `provider sandbox ${cores(cpu.provider)}, other processes ${cores(othersSeconds(cpu))} (of ${availableParallelism()}) over ${fmt(wallSeconds, 1)} s`
  );
}

/** CPU seconds the machine spent on processes that are not part of the bench. */
export function othersSeconds(cpu: Cpu): number {
  return Math.max(0, cpu.machine - cpu.self - cpu.children - cpu.provider - cpu.helpers);
}

/** Prints a table of [metric, value, budget, result] rows. */
export function printTable(rows: [string, string, string, string][]): void {
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length), ['metric', 'value', 'budget', 'result'][i]!.length));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  log(line(['metric', 'value', 'budget', 'result']));
  log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) log(line(row));
}
