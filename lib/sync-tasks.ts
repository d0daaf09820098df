import { readFileSync } from 'node:fs';
import { SYNC_STATE_MACHINE_FILE, SYNC_TASKS_FILE } from './lambda-defaults';

/** One Task of the state machine: the `${placeholder}` its Resource holds, and the handler behind it. */
export interface SyncTask {
  /** The name inside `${...}` in sync.asl.json, e.g. `SyncPageFunctionArn`. */
  readonly placeholder: string;
  /** Names the entry file functions/sync/<handler>.ts, which exports `handler`. */
  readonly handler: string;
}

/** The state machine's definition, as deployed, and the Tasks whose ARNs CloudFormation substitutes. */
export interface SyncDefinition {
  /** The definition file's text, unchanged (the local runner executes the same file). */
  readonly definition: string;
  readonly tasks: readonly SyncTask[];
}

/**
 * Reads the state machine and the placeholder-to-handler map, and checks they agree: every
 * `${...}` of the definition has a handler and every handler's placeholder is used, so a
 * typo fails the synth instead of deploying a Task with a literal `${...}` as its resource.
 */
export function loadSyncDefinition(definitionFile: string = SYNC_STATE_MACHINE_FILE, tasksFile: string = SYNC_TASKS_FILE): SyncDefinition {
  const definition = readFileSync(definitionFile, 'utf8');
  try {
    JSON.parse(definition);
  } catch (error) {
    throw new Error(`${definitionFile} is not valid JSON: ${(error as Error).message}`);
  }
  const raw: unknown = JSON.parse(readFileSync(tasksFile, 'utf8'));
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`${tasksFile} must be an object of "<placeholder>": "<handler>".`);
  }
  const tasks: SyncTask[] = [];
  for (const [placeholder, handler] of Object.entries(raw)) {
    if (placeholder.startsWith('$')) continue; // "$comment"
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(placeholder)) {
      throw new Error(`${tasksFile} has the placeholder ${JSON.stringify(placeholder)}; use letters, digits and _.`);
    }
    // The handler becomes a file path: a plain name keeps it inside functions/sync.
    if (typeof handler !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(handler)) {
      throw new Error(`${tasksFile} maps ${placeholder} to ${JSON.stringify(handler)}, which is not a plain file name.`);
    }
    tasks.push({ placeholder, handler });
  }
  const used = new Set([...definition.matchAll(/\$\{([^}]*)\}/g)].map((match) => match[1]!));
  const known = new Set(tasks.map((task) => task.placeholder));
  const unknown = [...used].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new Error(`${definitionFile} uses \${${unknown.join('}, ${')}}, which ${tasksFile} does not map to a handler.`);
  }
  const unused = [...known].filter((name) => !used.has(name));
  if (unused.length > 0) {
    throw new Error(`${tasksFile} maps ${unused.join(', ')}, which ${definitionFile} never uses.`);
  }
  return { definition, tasks };
}
