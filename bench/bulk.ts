/**
 * `npm run bench -- --bulk`: the Bulk API 2.0 budgets of DESIGN.md ("Budgets"), measured in
 * one run on this machine (see bench/README.md).
 *
 *  1. Full sync of 1,000,000 Salesforce records (accounts 10%, people 85%, opportunities 5%)
 *     through the real API, state machine and handlers; every object above
 *     SALESFORCE_BULK_THRESHOLD (default 50,000) is read through a Bulk API 2.0 query job.
 *     Counts are checked against the sandbox.
 *  2. Plain BatchWriteItem of the same items (streamed from a file) before and after the
 *     syncs, in a Node process of their own (baseline-process.ts): the `bulk ratio:` line.
 *     Neither the items nor the memory writing them leaves behind are in the stack's process.
 *  3. Provider API calls per 1,000,000 records, Bulk against REST (a 50,000-record sync of
 *     another org whose objects all stay under the threshold, scaled).
 *  4. State transitions per 1,000 records (<= 3).
 *  5. Peak RSS of the stack's process during the sync, against a sync a fifth of the size
 *     run before it (flat in the data size, under 512 MB), with its RSS just before each sync.
 *
 * Options: --records N (default 1000000; at least 10000): a smaller data set.
 * Exits 0 whatever the budgets say; FAIL lines say it.
 */
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { splitTime } from './io-monitor';
import * as baseline from './baseline';
import { writeSourceItemsApart } from './source-items';
import { busy, collectGarbage, cpuLine, type EntityCounts, fmt, type Harness, log, othersCores, pass, printTable, seconds, startHarness, WRITE_CONCURRENCY } from './harness';
import { ENTITY_SHARDS, entityPk } from '../functions/core/repository/keys';
import { wholeNumberEnv } from '../functions/core/config';
import { DEFAULT_BULK } from '../functions/providers/salesforce/salesforce-adapter';
import { SALESFORCE_OBJECTS } from '../functions/providers/salesforce/salesforce-objects';
import { splitPeople } from '../local/sandboxes/salesforce/data';

const args = process.argv.slice(2);
const option = (name: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};
const MILLION = 1_000_000;
const TOTAL = Number(option('records') ?? MILLION);
if (!Number.isInteger(TOTAL) || TOTAL < 10_000) throw new Error('--records must be an integer of at least 10000');
/** Mostly people, as in a B2C org: 10% accounts, 85% people (80% of them contacts, 20% leads), 5% opportunities. */
const sizesOf = (total: number) => ({ accounts: Math.round(total * 0.1), people: Math.round(total * 0.85), opportunities: total - Math.round(total * 0.1) - Math.round(total * 0.85) });
const SIZES = sizesOf(TOTAL);
/** The same sizes in the stack's environment as in the handlers': an unset variable keeps the adapter's default. */
const THRESHOLD = wholeNumberEnv(process.env, 'SALESFORCE_BULK_THRESHOLD', 0) ?? DEFAULT_BULK.threshold;
const BULK_PAGE = wholeNumberEnv(process.env, 'SALESFORCE_BULK_PAGE_SIZE') ?? DEFAULT_BULK.pageSize;
/** A fifth of the data set, synced first: its peak memory against the full size's shows whether the peak grows with the data. */
const SMALL = Math.round(TOTAL / 5);
/** The REST reference: the largest data set of these proportions whose every object stays under the threshold (contacts are 68%), at most 50,000. */
const REST_RECORDS = Math.min(50_000, Math.floor(THRESHOLD / 0.68));
if (REST_RECORDS < 1000) throw new Error(`SALESFORCE_BULK_THRESHOLD ${THRESHOLD} leaves no REST data set to compare with (its contacts must stay under it)`);
const ORGS = { small: 'bench-small', rest: 'bench-rest' } as const;
const TENANT = 'bench';
/** DESIGN.md: "the same ratio holds for the Bulk API 2.0 path"; the REST scenario's line holds the engine to 0.8 of the baseline. */
const RATIO_BUDGET = 0.8;
const CALLS_BUDGET = 100;
const MEMORY_BUDGET_MB = 512;
const TRANSITIONS_BUDGET = 3;

// Metrics are EMF lines on stdout, as in Lambda (BulkJobPolls on every poll): they would be mixed into the report.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const runStarted = performance.now();
const describe = (sizes: EntityCounts) => {
  const { contacts, leads } = splitPeople(sizes.people);
  return `accounts ${fmt(sizes.accounts)}, people ${fmt(sizes.people)} (contacts ${fmt(contacts)}, leads ${fmt(leads)}), opportunities ${fmt(sizes.opportunities)}`;
};
log(`bench: ${busy()}${loadavg()[0]! > availableParallelism() ? ' - WARNING: the machine is busy with other work; figures will be noisy' : ''}`);
log(`bench --bulk: ${fmt(TOTAL)} Salesforce records (${describe(SIZES)}); write concurrency ${WRITE_CONCURRENCY}`);
log(
  `bench --bulk: objects above ${fmt(THRESHOLD)} records (SALESFORCE_BULK_THRESHOLD) are read through Bulk API 2.0 jobs, ${fmt(BULK_PAGE)} rows a results page (SALESFORCE_BULK_PAGE_SIZE); ` +
    `also a ${fmt(SMALL)}-record Bulk sync (memory at a fifth of the size) and a ${fmt(REST_RECORDS)}-record REST sync (API calls of the REST path), each from an org of its own`,
);
if (TOTAL < MILLION) log(`bench --bulk: NOTE ${fmt(TOTAL)} records, not 1,000,000: figures "per 1,000,000" are scaled from this size (see bench/README.md for the 1,000,000-record run)`);

const harness = await startHarness({ ...SIZES, orgs: [{ id: ORGS.small, ...sizesOf(SMALL) }, { id: ORGS.rest, ...sizesOf(REST_RECORDS) }] });
const { sandbox, memory } = harness;
const rssAtStartMb = process.memoryUsage.rss() / 2 ** 20;
log(
  `bench --bulk: the warm-up and the baselines run in a Node process of their own (bench/baseline-process.ts: the same baseline.ts code, the same DynamoDB Local, ` +
    `the same document client, concurrency ${WRITE_CONCURRENCY}), and the source items are read in another: writing a million items leaves a few hundred MB ` +
    `in a process's allocator (glibc keeps what V8 frees), and this process's RSS is measured as the stack's, so it must hold the stack alone`,
);

try {
  // The items a sync writes, read through the real adapter (Bulk jobs included) before anything is timed, into a file.
  const readStarted = performance.now();
  const items = await writeSourceItemsApart(sandbox, TENANT, join(harness.stateDir, 'source-items.jsonl'));
  log(`source items: ${fmt(items.length)} read through the adapter (in a process of its own) into a file in ${fmt(seconds(performance.now() - readStarted), 1)} s (avg ${fmt(items.itemBytes)} B as JSON)`);
  collectGarbage();

  // --- Warm-up: DynamoDB Local needs ~100,000 writes before its speed settles (JIT); neither side should pay for that. ---
  {
    const warmUp = await harness.measureBaseline('bench-warmup', { file: items.file, limit: Math.min(items.length, 100_000) });
    log(`warm-up: ${fmt(warmUp.items)} writes (${fmt(warmUp.rate)} records/s; in the baseline process)`);
  }

  // ===================== Baseline before the syncs =====================
  const measureBaseline = async (name: string) => {
    const run = await harness.measureBaseline(name, { file: items.file });
    if (run.items !== items.length) throw new Error(`the baseline wrote ${run.items} items, the file holds ${items.length}`);
    return run;
  };
  const baselineBefore = await measureBaseline('bench-baseline-before');
  log(
    `baseline before the syncs: ${fmt(items.length)} items streamed from the file, plain BatchWriteItem x25 at concurrency ${WRITE_CONCURRENCY}, in the baseline process: ` +
      `${fmt(baselineBefore.seconds, 2)} s = ${fmt(baselineBefore.rate)} records/s (that process's RSS after it ${fmt(baselineBefore.processRssMb)} MB)`,
  );

  // ===================== The smaller Bulk sync, then the full size =====================
  const small = await measuredFullSync(harness, `${TENANT}-small`, ORGS.small);
  const full = await measuredFullSync(harness, TENANT);

  // ===================== Baseline after the syncs =====================
  const baselineAfter = await measureBaseline('bench-baseline-after');
  log(`baseline after the syncs: ${fmt(baselineAfter.seconds, 2)} s = ${fmt(baselineAfter.rate)} records/s (the baseline process's RSS after it ${fmt(baselineAfter.processRssMb)} MB, its peak ${fmt(baselineAfter.processMaxRssMb)} MB)`);
  const baselineRate = (baselineBefore.rate + baselineAfter.rate) / 2;
  const ratio = full.rate / baselineRate;
  log(
    `bulk ratio: ${fmt(ratio, 2)} (budget >= ${RATIO_BUDGET}) ${pass(ratio >= RATIO_BUDGET)}; the ${fmt(full.total)}-record Bulk sync (${fmt(full.rate)} records/s) ` +
      `against the mean of the baselines before and after it (${fmt(baselineBefore.rate)} and ${fmt(baselineAfter.rate)} records/s)`,
  );

  // ===================== The REST reference: API calls of the REST path =====================
  const rest = await measuredFullSync(harness, `${TENANT}-rest`, ORGS.rest);
  if (rest.provider.bulkJobsCreated > 0) throw new Error(`the REST reference sync created ${rest.provider.bulkJobsCreated} Bulk jobs: it is not the REST path`);

  // ===================== Report =====================
  const perMillion = (calls: number, records: number) => (calls * MILLION) / records;
  const bulkCalls = perMillion(full.provider.apiUsage, full.total);
  const restCalls = perMillion(rest.provider.apiUsage, rest.total);
  // Each object read from the start costs one SELECT COUNT() and (unless cached: 10 minutes per process and org user) one
  // describe whatever its size: only the pages scale.
  const restCounts = SALESFORCE_OBJECTS.length;
  const restDescribes = rest.provider.byEndpoint.describe ?? 0;
  const restFixed = restCounts + restDescribes;
  const restPagesScaled = perMillion(rest.provider.apiUsage - restFixed, rest.total) + restFixed;
  const measuredHow = (run: Run) =>
    run.total === MILLION ? 'measured' : `measured ${fmt(run.provider.apiUsage)} on the ${fmt(run.total)}-record sync, scaled x${fmt(MILLION / run.total, 1)}`;
  log(
    `API calls per 1,000,000 records: Bulk path ${fmt(bulkCalls)} (${measuredHow(full)}) vs REST path ${fmt(restCalls)} (${measuredHow(rest)}; ` +
      `${fmt(restPagesScaled)} when only its pages are scaled, not its ${restCounts} SELECT COUNT() queries and ${restDescribes} describes); budget Bulk < ${CALLS_BUDGET} ${pass(bulkCalls < CALLS_BUDGET)}`,
  );
  log(`  Bulk sync calls by endpoint: ${JSON.stringify(full.provider.byEndpoint)}`);
  log(`  REST sync calls by endpoint: ${JSON.stringify(rest.provider.byEndpoint)}`);
  {
    // Usage is reset before each sync (sandbox stats reset): what the org's allowance shows is this sync's calls alone.
    const allowance = full.provider.allowances.default;
    if (allowance) {
      log(
        `  the org's API allowance after the ${fmt(full.total)}-record sync: ${fmt(allowance.used)} of ${fmt(allowance.limit)} daily calls used (usage set to 0 before each sync; ` +
          `a sync stops reading at 80%, SALESFORCE_API_BUDGET, which no sync here came near)`,
      );
    }
  }
  const growthMb = full.memory.selfMb - small.memory.selfMb;
  const flat = growthMb <= 0.1 * small.memory.selfMb;
  // Only a smaller sync that also read Bulk pages says whether the Bulk path's peak grows with the data.
  const comparable = small.provider.bulkJobsCreated > 0;
  const rise = (run: Run) => `${fmt(run.memory.selfMb - run.rssBeforeMb)} MB`;
  log(
    `peak RSS of the stack's process: ${fmt(full.memory.selfMb)} MB during the ${fmt(full.total)}-record sync, ${fmt(small.memory.selfMb)} MB during the ${fmt(small.total)}-record one; ` +
      `the process right after the stack started ${fmt(rssAtStartMb)} MB; just before each sync (after a full GC) ${fmt(small.rssBeforeMb)} MB / ${fmt(full.rssBeforeMb)} MB, ` +
      `so each sync rose ${rise(small)} / ${rise(full)} above it. The baselines ran in their own process (peak RSS ${fmt(baselineAfter.processMaxRssMb)} MB there), not counted here`,
  );
  for (const run of [full, small]) {
    const { rssMb, heapTotalMb, heapUsedMb, externalMb, arrayBuffersMb, spaces, anonMb, fileMb } = run.memory.atPeak;
    log(
      `  at the ${fmt(run.total)}-record peak: V8 heap ${fmt(heapTotalMb)} MB committed (${fmt(heapUsedMb)} MB in use, live or garbage), external ${fmt(externalMb)} MB (ArrayBuffers ${fmt(arrayBuffersMb)} MB), ` +
        `the rest (code, stacks, allocator) ${fmt(rssMb - heapTotalMb - externalMb)} MB; live heap left after the sync (full GC) ${run.heapLeftMb >= 0 ? '+' : ''}${fmt(run.heapLeftMb, 1)} MB; peak RSS by tenth of the sync: ${run.memory.byTenth.map((mb) => fmt(mb)).join(', ')} MB`,
    );
    log(
      `    V8 heap spaces at that peak, committed / in use (MB): ${Object.entries(spaces)
        .filter(([, space]) => space.committedMb >= 0.5)
        .map(([name, space]) => `${name.replace(/_space$/, '')} ${fmt(space.committedMb)} / ${fmt(space.usedMb)}`)
        .join(', ')}; RSS anonymous ${fmt(anonMb)} MB, file-backed (node binary, libraries) ${fmt(fileMb)} MB`,
    );
  }
  if (small.provider.bulkJobsCreated === 0) log(`  NOTE: the ${fmt(small.total)}-record sync read every object through REST (none above ${fmt(THRESHOLD)}): the two peaks are not Bulk against Bulk`);

  const wall = full.ended - full.started;
  const priority = ['BatchWriteItem', 'BatchGetItem', 'provider', 'Query', 'TransactWriteItems', 'GetItem', 'UpdateItem', 'PutItem', 'api', 'sfn'];
  const split = splitTime(full.io.intervals, full.started, full.ended, priority);
  log();
  log(`Where the ${fmt(full.total)}-record sync spends its wall time (one label per instant; requests timed from the client side):`);
  log(
    `  ${[...priority, 'idle']
      .filter((label) => split.byLabel[label])
      .map((label) => `${label === 'idle' ? 'nothing (Node on CPU)' : label} ${fmt(seconds(split.byLabel[label]!), 1)} s (${fmt((100 * split.byLabel[label]!) / wall)}%)`)
      .join(', ')}`,
  );
  log(`  DynamoDB requests: ${JSON.stringify(full.io.dynamo.requests)} (errors ${full.io.dynamo.errors}); items written ${JSON.stringify(full.io.dynamo.itemsWritten)}`);
  log(`  CPU during the sync: ${cpuLine(full.cpu, seconds(wall))}`);
  for (const [name, run] of [['before', baselineBefore], ['after', baselineAfter]] as const) {
    log(`  CPU during the baseline ${name.padEnd(6)}: ${cpuLine(run.cpu, run.seconds)}; BatchWrite mean in flight ${fmt(run.meanInFlight, 1)}`);
  }

  log();
  log('Summary (--bulk)');
  const transitionsLine = (run: Run) => `${fmt(run.transitionsPer1000, 2)} (${run.transitions} = ${JSON.stringify(run.byState)}${run.retried ? ` incl. ${run.retried} retries` : ''})`;
  const rows: [string, string, string, string][] = [
    ['Bulk full sync (records/s)', `${fmt(full.rate)} (${fmt(full.total)} records in ${fmt(full.seconds, 1)} s); ${fmt(small.total)}: ${fmt(small.rate)} (${fmt(small.seconds, 1)} s)`, '', ''],
    ['Plain BatchWriteItem (records/s)', `${fmt(baselineRate)} (${fmt(baselineBefore.rate)} before, ${fmt(baselineAfter.rate)} after; ${fmt(items.length)} items each)`, '', ''],
    ['Bulk full sync engine / baseline', fmt(ratio, 2), `>= ${RATIO_BUDGET}`, pass(ratio >= RATIO_BUDGET)],
    ['API calls per 1,000,000 records, Bulk', `${fmt(bulkCalls)} (${measuredHow(full)}; ${full.provider.bulkJobsCreated} Bulk jobs)`, `< ${CALLS_BUDGET}`, pass(bulkCalls < CALLS_BUDGET)],
    ['API calls per 1,000,000 records, REST', `${fmt(restCalls)} (${measuredHow(rest)}; ${fmt(restPagesScaled)} scaling only the pages)`, 'about 500', ''],
    ['Transitions per 1,000 records', transitionsLine(full), `<= ${TRANSITIONS_BUDGET}`, pass(full.transitionsPer1000 <= TRANSITIONS_BUDGET)],
    [`Peak RSS, stack process, ${fmt(full.total)} (MB)`, `${fmt(full.memory.selfMb)} (${fmt(full.rssBeforeMb)} just before the sync, +${rise(full)})`, `< ${MEMORY_BUDGET_MB}`, pass(full.memory.selfMb < MEMORY_BUDGET_MB)],
    [
      `Peak RSS, stack process, ${fmt(small.total)} (MB)`,
      `${fmt(small.memory.selfMb)} (${fmt(small.rssBeforeMb)} just before, +${rise(small)}; the full size ${growthMb >= 0 ? '+' : ''}${fmt(growthMb)} MB above it at ${fmt(full.total / small.total, 0)}x the records)`,
      'flat (+10% at most)',
      comparable ? pass(flat) : 'n/a (REST)',
    ],
    ['Peak RSS, baseline process (MB)', `${fmt(baselineAfter.processMaxRssMb)} (its own process: not the stack's)`, '', ''],
    ['Peak RSS, DynamoDB Local JVM (MB)', fmt(memory.overall().childrenMb), '', ''],
    ['Cores taken by other processes', `sync ${othersCores(full.cpu, full.seconds)}, baselines ${othersCores(baselineBefore.cpu, baselineBefore.seconds)} / ${othersCores(baselineAfter.cpu, baselineAfter.seconds)} (of ${availableParallelism()})`, '', ''],
  ];
  printTable(rows);
  const failed = [ratio >= RATIO_BUDGET, bulkCalls < CALLS_BUDGET, full.transitionsPer1000 <= TRANSITIONS_BUDGET, full.memory.selfMb < MEMORY_BUDGET_MB, flat || !comparable].filter((ok) => !ok).length;
  log(failed ? `BENCH --bulk: ${failed} budget(s) FAIL` : 'BENCH --bulk: all budgets PASS');
  log(`bench --bulk took ${fmt(seconds(performance.now() - runStarted), 0)} s for ${fmt(TOTAL)} records; at the end: ${busy()}`);
} finally {
  await harness.stop();
}

type Run = Awaited<ReturnType<typeof measuredFullSync>>;

/**
 * Connects `tenant` to the sandbox org `org` (the first by default), runs one full sync of it
 * after a full garbage collection (so the peak is the sync's), and checks the stored entity
 * items against the org's live records as well as the counters and the sync log.
 */
async function measuredFullSync(harness: Harness, tenant: string, org?: string) {
  const expected = org ? await harness.sandbox.orgEntityCounts(org) : await harness.sandbox.entityCounts();
  await harness.connectSalesforce(tenant, org);
  collectGarbage();
  const rssBeforeMb = process.memoryUsage.rss() / 2 ** 20;
  const heapBeforeMb = process.memoryUsage().heapUsed / 2 ** 20;
  const run = await harness.fullSync(tenant, expected);
  // What the sync left live in the heap (a leak grows this with the data; garbage does not count).
  collectGarbage();
  const heapLeftMb = process.memoryUsage().heapUsed / 2 ** 20 - heapBeforeMb;
  const pks = Array.from({ length: ENTITY_SHARDS }, (_, shard) => entityPk(tenant, 'salesforce', shard));
  const stored = await baseline.countPartitions(harness.db, harness.stack.tableName, pks);
  if (stored !== run.total) throw new Error(`FULL SYNC WRONG: ${stored} entity items stored for ${tenant}, expected ${run.total}`);
  const entered = run.transitionsAfter.entered - run.transitionsBefore.entered;
  const retried = run.transitionsAfter.retried - run.transitionsBefore.retried;
  const byState = Object.fromEntries(
    Object.entries(run.transitionsAfter.byState)
      .map(([name, n]) => [name, n - (run.transitionsBefore.byState[name] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
  const transitions = entered + retried;
  const bulkJobs = run.provider.bulkJobsCreated;
  log(
    `full sync (${tenant}${org ? `, org ${org}` : ''}): ${fmt(run.total)} records in ${fmt(run.seconds, 2)} s = ${fmt(run.rate)} records/s; ${bulkJobs} Bulk job${bulkJobs === 1 ? '' : 's'}, ` +
      `${fmt(run.provider.apiUsage)} API calls; peak RSS ${fmt(run.memory.selfMb)} MB (${fmt(rssBeforeMb)} MB just before it, +${fmt(run.memory.selfMb - rssBeforeMb)} MB); counts ${JSON.stringify(run.counts)} and ${fmt(stored)} stored items match the sandbox`,
  );
  return { ...run, rssBeforeMb, heapLeftMb, retried, transitions, byState, transitionsPer1000: (transitions / run.total) * 1000 };
}
