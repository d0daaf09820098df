/**
 * `npm run bench`: the budgets of DESIGN.md ("Budgets"), measured in one run on this machine.
 *
 *   npm run bench                       the REST scenario (rest.ts): 100,000 records
 *   npm run bench -- --bulk             the Bulk API scenario (bulk.ts): 1,000,000 records
 *
 * Both take --records N (a smaller data set for a quick check); see bench/README.md.
 * Exits 0 whatever the budgets say; FAIL lines say it.
 */

// Handlers read their configuration (the log level included) when they load: before the stack starts.
process.env.POWERTOOLS_LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'WARN';
process.env.AWS_REGION ??= 'local';

// The scenario modules load the stack and the handlers: only now, after the environment is set.
await (process.argv.slice(2).includes('--bulk') ? import('./bulk') : import('./rest'));

export {};
