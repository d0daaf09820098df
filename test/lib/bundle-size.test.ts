import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  API_HANDLERS_DIR,
  API_ROUTES_FILE,
  esbuildOptionsFor,
  EVENTS_HANDLERS_DIR,
  REPO_ROOT,
  SYNC_HANDLERS_DIR,
  SYNC_TASKS_FILE,
} from '../../lib/lambda-defaults';

/** The design's budget for each API Lambda bundle (minified JS, source map not counted); the sync and event functions keep to it too. */
const BUDGET_BYTES = 300 * 1024;

// Read straight from the data files: the sizes do not depend on how the stack maps grants.
const apiHandlers = [
  ...new Set((JSON.parse(readFileSync(API_ROUTES_FILE, 'utf8')) as { routes: { handler: string }[] }).routes.map((r) => r.handler)),
];
const syncHandlers = [
  ...new Set([
    ...Object.entries(JSON.parse(readFileSync(SYNC_TASKS_FILE, 'utf8')) as Record<string, string>)
      .filter(([placeholder]) => !placeholder.startsWith('$'))
      .map(([, handler]) => handler),
    'scheduledSync',
    'recoverSync',
  ]),
];
/** Every Lambda entry file of the stack, as `functions/<dir>/<handler>.ts`. */
const entries = [
  ...apiHandlers.map((h) => join(API_HANDLERS_DIR, `${h}.ts`)),
  ...syncHandlers.map((h) => join(SYNC_HANDLERS_DIR, `${h}.ts`)),
  join(EVENTS_HANDLERS_DIR, 'publishEvents.ts'),
].map((file) => relative(REPO_ROOT, file));

/** Bundles one entry exactly as the stack's NodejsFunction does and returns the JS size. */
async function bundledSize(entry: string): Promise<number> {
  const result = await build({
    ...esbuildOptionsFor(),
    entryPoints: [join(REPO_ROOT, entry)],
    outfile: join(REPO_ROOT, 'cdk.out', 'bundle-size', entry.replace(/\.ts$/, ''), 'index.mjs'),
    absWorkingDir: REPO_ROOT,
    write: false,
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((file) => file.path.endsWith('.mjs'));
  if (!js) throw new Error(`esbuild produced no .mjs for ${entry}`);
  return js.contents.byteLength;
}

describe('Lambda bundles', () => {
  const sizes = new Map<string, number>();

  beforeAll(async () => {
    for (const [entry, size] of await Promise.all(entries.map(async (e) => [e, await bundledSize(e)] as const))) {
      sizes.set(entry, size);
    }
    const width = Math.max(...entries.map((e) => e.length));
    const lines = entries.map((e) => {
      const size = sizes.get(e) ?? 0;
      return `  ${e.padEnd(width)}  ${(size / 1024).toFixed(1).padStart(7)} KB  ${size <= BUDGET_BYTES ? 'ok' : 'OVER BUDGET'}`;
    });
    console.log(`Lambda bundle sizes (esbuild, minified, @aws-sdk/* external; budget ${BUDGET_BYTES / 1024} KB):\n${lines.join('\n')}`);
  });

  it.each(entries)('keeps the %s bundle within 300 KB', (entry) => {
    expect(sizes.get(entry)).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
