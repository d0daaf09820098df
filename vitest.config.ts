import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One DynamoDB Local for the whole run (it takes seconds to start); files isolate by table name.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Handlers log JSON to stdout; the logging tests turn it back on for themselves.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
