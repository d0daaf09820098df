import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSyncDefinition } from '../../lib/sync-tasks';

const dir = mkdtempSync(join(tmpdir(), 'sync-tasks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** Writes a definition using these placeholders and a tasks file with these entries; returns both paths. */
function fixture(placeholders: string[], tasks: Record<string, unknown>): [string, string] {
  const n = files++;
  const definition = join(dir, `sync-${n}.asl.json`);
  const states = Object.fromEntries(placeholders.map((p, i) => [`S${i}`, { Type: 'Task', Resource: `\${${p}}`, End: true }]));
  writeFileSync(definition, JSON.stringify({ StartAt: 'S0', States: states }));
  const tasksFile = join(dir, `sync-${n}.tasks.json`);
  writeFileSync(tasksFile, JSON.stringify({ $comment: 'test', ...tasks }));
  return [definition, tasksFile];
}

describe('loadSyncDefinition', () => {
  it('reads the repository definition and maps each of its five Tasks to a handler', () => {
    const { definition, tasks } = loadSyncDefinition();
    expect(definition).toContain('${SyncPageFunctionArn}');
    expect(tasks.map((t) => t.handler).sort()).toEqual(['failSync', 'finishSync', 'purgePage', 'sweepPage', 'syncPage']);
  });

  it('ignores $comment and returns the placeholders with their handlers', () => {
    expect(loadSyncDefinition(...fixture(['A'], { A: 'stepA' })).tasks).toEqual([{ placeholder: 'A', handler: 'stepA' }]);
  });

  it('fails the synth on a placeholder the tasks file does not map', () => {
    expect(() => loadSyncDefinition(...fixture(['A', 'B'], { A: 'stepA' }))).toThrow(/uses \$\{B\}, which .* does not map to a handler/);
  });

  it('fails the synth on a mapping the definition never uses', () => {
    expect(() => loadSyncDefinition(...fixture(['A'], { A: 'stepA', C: 'stepC' }))).toThrow(/maps C, which .* never uses/);
  });

  it('refuses a handler that is not a plain file name', () => {
    expect(() => loadSyncDefinition(...fixture(['A'], { A: '../api/list' }))).toThrow(/not a plain file name/);
  });
});
