/**
 * Stable sandbox addresses: a connection stores its provider's URL (Salesforce's
 * `instanceUrl`, for one), so a restarted stack must serve each sandbox where it was.
 * The first start of a state directory takes free ports and records them; later starts
 * of the same directory take the same ones.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Port per sandbox name, as recorded in `<stateDir>/sandbox-ports.json`. */
export type SandboxPorts = Record<string, number>;

/** The file under a state directory that records the sandboxes' ports. */
export function sandboxPortsFile(stateDir: string): string {
  return join(stateDir, 'sandbox-ports.json');
}

/** The ports recorded for this state directory; empty on its first start. */
export async function readSandboxPorts(stateDir: string): Promise<SandboxPorts> {
  try {
    const recorded = JSON.parse(await readFile(sandboxPortsFile(stateDir), 'utf8')) as unknown;
    if (!recorded || typeof recorded !== 'object') return {};
    return Object.fromEntries(
      Object.entries(recorded).filter((entry): entry is [string, number] => Number.isInteger(entry[1]) && entry[1] > 0 && entry[1] < 65536),
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

/** Records the sandboxes' ports (atomically: a stack killed mid-write keeps the old record). */
export async function writeSandboxPorts(stateDir: string, ports: SandboxPorts): Promise<void> {
  const file = sandboxPortsFile(stateDir);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(ports, null, 2)}\n`);
  await rename(temp, file);
}

/** The port of a sandbox's `http://127.0.0.1:PORT` URL. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/**
 * Starts a sandbox on its recorded port; a port now taken by something else fails with a
 * sentence that says how to get past it.
 */
export async function startOnRecordedPort<T>(name: string, stateDir: string, port: number | undefined, start: (port: number | undefined) => Promise<T>): Promise<T> {
  try {
    return await start(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new Error(
      `the ${name} sandbox's port ${port} (recorded in ${sandboxPortsFile(stateDir)}) is in use by another program; ` +
        'stop that program, or delete the file to let the sandboxes take new ports (connections made before then must reconnect)',
      { cause: error },
    );
  }
}
