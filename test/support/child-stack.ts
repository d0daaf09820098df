import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTRPCClient, httpLink } from '@trpc/client';
import { afterEach } from 'vitest';
import type { AppRouter } from '../../functions/api/router';
import { issueLocalToken } from '../../local/jwt-issuer';

/**
 * `npm start` in a child process: `bin/local.ts` (and its DynamoDB Local) in a process group
 * of its own, on a state directory the test chose, so a test can kill the whole stack as
 * `kill -9` would and start it again on the same state. Children left running are killed
 * after each test.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** One `bin/local.ts` process (and its DynamoDB Local) in a process group of its own. */
export interface ChildStack {
  url: string;
  /** Sandbox URLs by banner name ("Salesforce", "Customer.io", ...). */
  sandboxes: Record<string, string>;
  /** Resolves once the stack printed a line matching `pattern`. */
  printed(pattern: RegExp): Promise<string>;
  /** SIGKILL to the whole process group, as `kill -9 -<pgid>` would; resolves once it is gone. */
  kill(): Promise<void>;
}

/** The tenant `api` acts for unless told otherwise. */
export const DEFAULT_TENANT = 'restart-tenant';

const children = new Set<ChildProcess>();
/** Bumped after each test, so a poll of a test that failed stops instead of watching the next one. */
let testGeneration = 0;

afterEach(() => {
  testGeneration += 1;
  for (const child of children) killGroup(child);
  children.clear();
});

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export async function startChildStack(stateDir: string, env: Record<string, string> = {}): Promise<ChildStack> {
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    LOCAL_STATE_DIR: stateDir,
    SCHEDULE_EVERY_SECONDS: '0',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    ...env,
  };
  // Nothing of the test process's own configuration may point the child elsewhere.
  for (const key of ['SALESFORCE_CLIENT_ID', 'CUSTOMERIO_US_BASE_URL', 'FATHOM_BASE_URL', 'DELIVRAI_BASE_URL', 'O365_CLIENT_ID', 'TABLE_NAME', 'DYNAMODB_ENDPOINT', 'SFN_ENDPOINT', 'CONNECTOR_ENCRYPTION_KEY', 'OAUTH_REDIRECT_BASE_URL']) {
    delete childEnv[key];
  }
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['bin/local.ts'], { cwd: ROOT, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const exited = new Promise<void>((gone) => child.once('exit', () => gone()));
  let output = '';
  const watchers: Array<() => void> = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const watcher of [...watchers]) watcher();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const printed = (pattern: RegExp): Promise<string> =>
    new Promise((found, fail) => {
      const look = () => {
        const match = pattern.exec(output);
        if (match) {
          watchers.splice(watchers.indexOf(look), 1);
          found(match[0]);
        }
      };
      watchers.push(look);
      void exited.then(() => fail(new Error(`the stack exited before printing ${pattern}:\n${output.slice(-4000)}`)));
      look();
    });
  const ready = await printed(/ready at (http:\/\/127\.0\.0\.1:\d+)/);
  // The banner ends with the token hint; the sandboxes' lines come before it.
  await printed(/ {2}token: /);
  const sandboxes: Record<string, string> = {};
  for (const match of output.matchAll(/^ {2}([\w. ]+) sandbox: (http:\/\/127\.0\.0\.1:\d+)/gm)) sandboxes[match[1]!] = match[2]!;
  return {
    url: /http:\/\/127\.0\.0\.1:\d+/.exec(ready)![0],
    sandboxes,
    printed,
    kill: async () => {
      killGroup(child);
      await exited;
      children.delete(child);
    },
  };
}

export function api(stack: ChildStack, stateDir: string, tenant = DEFAULT_TENANT) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${stack.url}/trpc`, headers: async () => ({ authorization: `Bearer ${await issueLocalToken(stateDir, { tenantId: tenant, role: 'admin' })}` }) })],
  }).connector;
}

/** Polls until `check` answers something truthy (the test's own timeout bounds it). */
export async function until<T>(check: () => Promise<T | undefined | false | null>): Promise<T> {
  const generation = testGeneration;
  for (;;) {
    if (generation !== testGeneration) throw new Error('the test ended');
    const value = await check();
    if (value) return value;
    await new Promise((pause) => setTimeout(pause, 100));
  }
}

