import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { OutputFormat, type BundlingOptions, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { API_FUNCTION_TIMEOUT_MS } from '../functions/core/timeouts';

/** The repository root: where package.json, the lock file and functions/ live. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the API's handlers live; a route's `handler` names `<dir>/<handler>.ts`. */
export const API_HANDLERS_DIR = join(REPO_ROOT, 'functions', 'api');

/** The routes of the API, as data shared with the local gateway. */
export const API_ROUTES_FILE = join(API_HANDLERS_DIR, 'routes.json');

/** Where the state machine's step handlers and the scheduled-sync and recovery handlers live. */
export const SYNC_HANDLERS_DIR = join(REPO_ROOT, 'functions', 'sync');

/** Where the domain-event publisher (the table stream's consumer) lives. */
export const EVENTS_HANDLERS_DIR = join(REPO_ROOT, 'functions', 'events');

/** The sync state machine (Amazon States Language), deployed as is and run by the local stack. */
export const SYNC_STATE_MACHINE_FILE = join(REPO_ROOT, 'statemachines', 'sync.asl.json');

/** Which handler in functions/sync each `${...}` placeholder of the state machine stands for. */
export const SYNC_TASKS_FILE = join(REPO_ROOT, 'statemachines', 'sync.tasks.json');

/** The Node.js version every function runs; the bundle targets the same version. */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;

/**
 * How every function is bundled. ESM output needs a `require` for the CommonJS
 * dependencies esbuild inlines, hence the createRequire banner. The runtime ships
 * AWS SDK v3, so the SDK stays out of the bundle (smaller, faster cold start).
 * The bundle-size test builds with these same options.
 */
export const LAMBDA_BUNDLING = {
  minify: true,
  sourceMap: true,
  format: OutputFormat.ESM,
  target: 'node24',
  mainFields: ['module', 'main'],
  externalModules: ['@aws-sdk/*'],
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
} satisfies BundlingOptions;

/**
 * The esbuild build options NodejsFunction derives from {@link LAMBDA_BUNDLING}
 * (its CLI flags, as an esbuild API object), so a test can build exactly what synth builds.
 */
export function esbuildOptionsFor(bundling: typeof LAMBDA_BUNDLING = LAMBDA_BUNDLING) {
  return {
    bundle: true,
    platform: 'node' as const,
    format: bundling.format === OutputFormat.ESM ? ('esm' as const) : ('cjs' as const),
    target: bundling.target,
    minify: bundling.minify,
    sourcemap: bundling.sourceMap,
    mainFields: [...bundling.mainFields],
    external: [...bundling.externalModules],
    banner: { js: bundling.banner },
  };
}

/**
 * Props every NodejsFunction of the service shares; a construct adds entry, role,
 * log group and environment. Memory suits short API calls to DynamoDB and KMS; the timeout
 * outlasts the provider calls an API request makes (derived from the provider HTTP timeout
 * in functions/core/timeouts.ts, so the two cannot drift). A function that does more (a
 * sync page) overrides them.
 */
export const LAMBDA_DEFAULTS = {
  runtime: LAMBDA_RUNTIME,
  architecture: Architecture.ARM_64,
  memorySize: 256,
  timeout: Duration.seconds(Math.ceil(API_FUNCTION_TIMEOUT_MS / 1000)),
  tracing: Tracing.ACTIVE,
  handler: 'handler',
  projectRoot: REPO_ROOT,
  depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
  bundling: LAMBDA_BUNDLING,
} satisfies NodejsFunctionProps;
