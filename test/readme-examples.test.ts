import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './support/local-stack';

/**
 * The README's examples, run as a reader pastes them: every ```sh block in order, in one
 * shell session (variables such as TOKEN carry from block to block), and every ```ts block
 * saved as a file in the repository root and run with tsx in that session, against a fresh
 * local stack. A block fails the test when it exits non-zero or prints a tRPC error.
 *
 * The rule for what does not run is in the README itself, visible next to each block: a
 * `<!-- readme-test: skip (reason) -->` line before it. Only the commands that start the
 * stack or the suite, deploy, or benchmark may be skipped, so a broken example cannot be
 * skipped to make this pass. `<!-- readme-test: shows an error -->` marks a block that
 * demonstrates a failure: it must print a tRPC error.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const README_PORT_URL = 'http://127.0.0.1:3000';

/** Commands a skip marker may stand before (every line of the block must be one). */
const SKIPPABLE = [
  /^npm ci && npm start$/,
  /^npm ci && npm test$/,
  /^npx cdk deploy\b/,
  /^npm run bench$/,
  // Longer runs or replays of the model-based test: the suite runs it already.
  /^(FC_\w+=\S+ )+npx vitest run test\/\S+\.test\.ts$/,
];

interface ShellExample {
  /** 1-based, counting only ```sh and ```ts blocks. */
  number: number;
  /** A shell session's commands, or a TypeScript file (run with tsx from the repository root). */
  language: 'sh' | 'ts';
  /** Line of the opening fence in README.md. */
  line: number;
  code: string;
  marker: { kind: 'skip'; reason: string } | { kind: 'shows-error' } | undefined;
}

/** The README's ```sh and ```ts blocks, each with the readme-test marker on the line before its fence (blank lines allowed). */
function shellExamples(markdown: string): ShellExample[] {
  const lines = markdown.split('\n');
  const examples: ShellExample[] = [];
  for (let index = 0; index < lines.length; index++) {
    const language = /^```(sh|ts)$/.exec(lines[index]!.trim())?.[1] as ShellExample['language'] | undefined;
    if (!language) continue;
    const end = lines.findIndex((line, at) => at > index && line.trim() === '```');
    if (end < 0) throw new Error(`README.md:${index + 1}: a sh block is never closed`);
    let before = index - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const comment = /^<!--\s*readme-test:\s*(.*?)\s*-->$/.exec(lines[before]?.trim() ?? '')?.[1];
    let marker: ShellExample['marker'];
    if (comment !== undefined) {
      const skip = /^skip \((.+)\)$/.exec(comment);
      if (skip) marker = { kind: 'skip', reason: skip[1]! };
      else if (comment === 'shows an error') marker = { kind: 'shows-error' };
      else throw new Error(`README.md:${before + 1}: unknown readme-test marker "${comment}"`);
    }
    examples.push({ number: examples.length + 1, language, line: index + 1, code: lines.slice(index + 1, end).join('\n'), marker });
    index = end;
  }
  return examples;
}

/** Names the examples assign (NAME=...), so the next block's shell gets them back. */
function assignedNames(code: string): string[] {
  return [...code.matchAll(/^\s*([A-Z_][A-Z0-9_]*)=/gm)].map((match) => match[1]!);
}

/** A tRPC error envelope anywhere in the output, single or batched. */
const TRPC_ERROR = /"error":\{"message":/;

function runBash(script: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  // Asynchronous on purpose: the stack answering these commands runs in this process.
  return new Promise((done, fail) => {
    const child = spawn('bash', ['-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

const examples = shellExamples(readFileSync(join(ROOT, 'README.md'), 'utf8'));

describe('README examples', () => {
  let stack: TestStack;
  let sessionDir: string;

  beforeAll(async () => {
    stack = await startTestStack({ events: {} });
    sessionDir = await mkdtemp(join(tmpdir(), 'readme-session-'));
  });
  afterAll(async () => {
    await stack?.stop();
    if (sessionDir) await rm(sessionDir, { recursive: true, force: true });
  });

  it('skips only the blocks that start the stack or the suite, deploy or benchmark, each with a reason', () => {
    const skipped = examples.filter((example) => example.marker?.kind === 'skip');
    for (const example of skipped) {
      for (const line of example.code.trim().split('\n')) {
        expect(SKIPPABLE.some((command) => command.test(line.trim())), `README.md:${example.line} may not be skipped`).toBe(true);
      }
    }
    expect(skipped.map((example) => example.code.trim().split(' ').slice(0, 3).join(' '))).toEqual([
      'npm ci &&',
      'npm ci &&',
      'FC_RUNS=200 npx vitest',
      'npm run bench',
      'npx cdk deploy',
    ]);
  });

  const names = [...new Set(examples.flatMap((example) => assignedNames(example.code)))];
  for (const example of examples) {
    if (example.marker?.kind === 'skip') continue;
    const firstCommand = example.code.split('\n')[0]!.slice(0, 70);
    it(`example ${example.number} (README.md:${example.line}) works: ${firstCommand}`, { timeout: 120_000 }, async () => {
      const variables = join(sessionDir, 'variables.sh');
      const code = example.code.replaceAll(README_PORT_URL, stack.url);
      // A TypeScript example is saved in the repository root (its imports are relative to it) and run with the session's variables exported.
      const tsFile = join(ROOT, `.readme-example-${example.number}-${process.pid}.ts`);
      if (example.language === 'ts') await writeFile(tsFile, code);
      const script = [
        'set -eo pipefail',
        `if [ -f '${variables}' ]; then source '${variables}'; fi`,
        example.language === 'ts' ? `${names.map((name) => `export ${name}; `).join('')}node_modules/.bin/tsx '${tsFile}'` : code,
        // Keep what the block assigned for the blocks after it, as one pasted session would.
        names.length ? `declare -p ${names.join(' ')} > '${variables}' 2>/dev/null || true` : '',
      ].join('\n');
      const { status, stdout, stderr } = await runBash(script, { ...process.env, LOCAL_STATE_DIR: stack.stateDir }).finally(() => rm(tsFile, { force: true }));
      const transcript = `README.md:${example.line}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`;
      expect(status, transcript).toBe(0);
      if (example.marker?.kind === 'shows-error') expect(stdout, transcript).toMatch(TRPC_ERROR);
      else expect(stdout, transcript).not.toMatch(TRPC_ERROR);
    });
  }
});
