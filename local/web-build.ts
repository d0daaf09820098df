import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds the connections page (web/) into web/dist when it is missing or stale: what
 * `npm start` and the browser test call first. Stale means the page's sources (or the
 * locked dependencies) hash to something other than what web/dist was built from, so a
 * fresh clone, a pull and an edit all rebuild, and an unchanged tree costs a hash of a few
 * small files. Builds made at once by several processes (the test run starts stacks in
 * parallel) take turns under a lock, and each lands whole: it is written beside web/dist
 * and renamed into place.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const WEB_DIR = join(ROOT, 'web');
export const WEB_DIST = join(WEB_DIR, 'dist');
const HASH_FILE = '.build-hash';
const LOCK_DIR = join(WEB_DIR, '.build-lock');
/** A lock older than this is left over from a build that died. */
const STALE_LOCK_MS = 120_000;

export interface WebBuild {
  /** Whether this call built the page (false: web/dist was up to date). */
  built: boolean;
  ms: number;
}

export async function ensureWebBuilt(options: { force?: boolean; log?: (line: string) => void } = {}): Promise<WebBuild> {
  const started = Date.now();
  const hash = await sourceHash();
  if (!options.force && (await builtHash()) === hash) return { built: false, ms: Date.now() - started };
  await withLock(async () => {
    // Another process may have built the same sources while this one waited.
    if (!options.force && (await builtHash()) === hash) return;
    options.log?.('building the connections page (web/) ...');
    await buildInto(hash);
  });
  return { built: true, ms: Date.now() - started };
}

async function buildInto(hash: string): Promise<void> {
  const { build } = await import('vite');
  const out = join(WEB_DIR, `.dist-${process.pid}-${Date.now()}`);
  const aside = `${out}-old`;
  try {
    await build({ root: WEB_DIR, configFile: join(WEB_DIR, 'vite.config.ts'), logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
    await writeFile(join(out, HASH_FILE), `${hash}\n`);
    await rename(WEB_DIST, aside).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(out, WEB_DIST);
  } finally {
    await rm(out, { recursive: true, force: true });
    await rm(aside, { recursive: true, force: true });
  }
}

/** The hash of what the page is built from: web/ less its output and docs, and the lockfile. */
async function sourceHash(): Promise<string> {
  const files = [...(await filesUnder(WEB_DIR)), join(ROOT, 'package-lock.json')].sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${relative(ROOT, file)}\0`).update(await readFile(file)).update('\0');
  return hash.digest('hex');
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries
      .filter((entry) => !entry.name.startsWith('.') && entry.name !== 'dist' && entry.name !== 'node_modules' && !entry.name.endsWith('.md'))
      .map((entry) => (entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)])),
  );
  return files.flat();
}

async function builtHash(): Promise<string | undefined> {
  return (await readFile(join(WEB_DIST, HASH_FILE), 'utf8').catch(() => undefined))?.trim();
}

/** Runs `work` holding web/.build-lock (a directory: creating one is atomic). */
async function withLock(work: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const since = await stat(LOCK_DIR).then((info) => Date.now() - info.mtimeMs, () => 0);
      if (since > STALE_LOCK_MS) await rm(LOCK_DIR, { recursive: true, force: true });
      else await new Promise((pause) => setTimeout(pause, 200));
    }
  }
  try {
    await work();
  } finally {
    await rm(LOCK_DIR, { recursive: true, force: true });
  }
}
