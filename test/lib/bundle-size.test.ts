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

/**
 * The X-Ray SDK under Powertools Tracer (functions/core/tracing.ts), with the packages only it
 * brings: about 120 KB in every function that builds the runtime since tracing came in (issue
 * 11), inherent to tracing with Powertools, and loaded only in Lambda. It has an allowance of
 * its own, measured from esbuild's metafile, so the design's budget still binds everything
 * else. (semver, 28 KB of it, serves only the SDK's AWS SDK v2 patcher: aliasing it to a stub
 * in LAMBDA_BUNDLING, or taking the tracer from the Powertools layer, would be the saving.)
 */
const TRACER_PACKAGES = [
  '@aws-lambda-powertools/tracer',
  'aws-xray-sdk-core',
  'semver',
  'cls-hooked',
  'emitter-listener',
  'shimmer',
  'atomic-batcher',
  '@smithy/service-error-classification',
];
const TRACER_ALLOWANCE_BYTES = 130 * 1024;

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

/** The package a bundled input file belongs to (the innermost node_modules), or undefined for our own code. */
function packageOf(input: string): string | undefined {
  return /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
}

/** Bundles one entry exactly as the stack's NodejsFunction does and returns the JS size, and how much of it is the tracer's. */
async function bundledSize(entry: string): Promise<{ total: number; tracer: number }> {
  const result = await build({
    ...esbuildOptionsFor(),
    entryPoints: [join(REPO_ROOT, entry)],
    outfile: join(REPO_ROOT, 'cdk.out', 'bundle-size', entry.replace(/\.ts$/, ''), 'index.mjs'),
    absWorkingDir: REPO_ROOT,
    write: false,
    logLevel: 'silent',
    metafile: true,
  });
  const js = result.outputFiles.find((file) => file.path.endsWith('.mjs'));
  if (!js) throw new Error(`esbuild produced no .mjs for ${entry}`);
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('.mjs'))![1];
  const tracer = Object.entries(output.inputs)
    .filter(([input]) => TRACER_PACKAGES.includes(packageOf(input) ?? ''))
    .reduce((bytes, [, input]) => bytes + input.bytesInOutput, 0);
  return { total: js.contents.byteLength, tracer };
}

describe('Lambda bundles', () => {
  const sizes = new Map<string, { total: number; tracer: number }>();

  beforeAll(async () => {
    for (const [entry, size] of await Promise.all(entries.map(async (e) => [e, await bundledSize(e)] as const))) {
      sizes.set(entry, size);
    }
    const width = Math.max(...entries.map((e) => e.length));
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(1).padStart(7)} KB`;
    const lines = entries.map((e) => {
      const { total, tracer } = sizes.get(e) ?? { total: 0, tracer: 0 };
      const ok = total - tracer <= BUDGET_BYTES && tracer <= TRACER_ALLOWANCE_BYTES;
      return `  ${e.padEnd(width)}  ${kb(total)}  (tracer ${kb(tracer).trim()})  ${ok ? 'ok' : 'OVER BUDGET'}`;
    });
    console.log(
      `Lambda bundle sizes (esbuild, minified, @aws-sdk/* external; budget ${BUDGET_BYTES / 1024} KB plus ${TRACER_ALLOWANCE_BYTES / 1024} KB for the tracer):\n${lines.join('\n')}`,
    );
  });

  it.each(entries)('keeps the %s bundle within 300 KB, the tracer aside', (entry) => {
    const { total, tracer } = sizes.get(entry)!;
    expect(total - tracer).toBeLessThanOrEqual(BUDGET_BYTES);
    expect(tracer).toBeLessThanOrEqual(TRACER_ALLOWANCE_BYTES);
  });
});
