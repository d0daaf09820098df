import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_HANDLERS_DIR, API_ROUTES_FILE, esbuildOptionsFor, REPO_ROOT } from '../../lib/lambda-defaults';

/** The design's budget for each API Lambda bundle (minified JS, source map not counted). */
const BUDGET_BYTES = 300 * 1024;

// Read straight from the data file: the sizes do not depend on how the stack maps grants.
const handlers = [
  ...new Set((JSON.parse(readFileSync(API_ROUTES_FILE, 'utf8')) as { routes: { handler: string }[] }).routes.map((r) => r.handler)),
];

/** Bundles one handler exactly as the stack's NodejsFunction does and returns the JS size. */
async function bundledSize(handler: string): Promise<number> {
  const result = await build({
    ...esbuildOptionsFor(),
    entryPoints: [join(API_HANDLERS_DIR, `${handler}.ts`)],
    outfile: join(REPO_ROOT, 'cdk.out', 'bundle-size', handler, 'index.mjs'),
    absWorkingDir: REPO_ROOT,
    write: false,
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((file) => file.path.endsWith('.mjs'));
  if (!js) throw new Error(`esbuild produced no .mjs for ${handler}`);
  return js.contents.byteLength;
}

describe('API Lambda bundles', () => {
  const sizes = new Map<string, number>();

  beforeAll(async () => {
    for (const [handler, size] of await Promise.all(handlers.map(async (h) => [h, await bundledSize(h)] as const))) {
      sizes.set(handler, size);
    }
    const width = Math.max(...handlers.map((h) => h.length));
    const lines = handlers.map((h) => {
      const size = sizes.get(h) ?? 0;
      return `  ${h.padEnd(width)}  ${(size / 1024).toFixed(1).padStart(7)} KB  ${size <= BUDGET_BYTES ? 'ok' : 'OVER BUDGET'}`;
    });
    console.log(`API bundle sizes (esbuild, minified, @aws-sdk/* external; budget ${BUDGET_BYTES / 1024} KB):\n${lines.join('\n')}`);
  });

  it.each(handlers)('keeps the %s bundle within 300 KB', (handler) => {
    expect(sizes.get(handler)).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
