/**
 * Starts bench/baseline-process.ts and drives it: the bench's own DynamoDB work (warm-up,
 * baselines, replays) runs there, so the stack's process, whose memory the bench measures,
 * holds the stack alone. See baseline-process.ts for why.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Where a set of items comes from. */
export type ItemSource =
  /** A file of items, one JSON object a line (source-items.ts writeSourceItems); its first `limit` only. */
  | { file: string; limit?: number }
  /** Every item stored in some partitions of a table: the engine's items, exactly as it stored them. */
  | { table: string; pks: string[] };

export type BaselineCommand =
  /** Reads a set of items into the baseline process's memory (not timed), under `name`. */
  | { op: 'load'; name: string; source: ItemSource }
  | { op: 'forget'; name: string }
  /** Plain BatchWriteItem of a loaded set (its `range` only), or with `pageSize` the engine's paged write pattern. */
  | { op: 'write'; table: string; items: string; range?: [number, number]; pageSize?: number }
  /** Plain BatchWriteItem of a file's items, streamed (baseline.ts plainBatchWriteFromFile): never all in memory. */
  | { op: 'writeStreamed'; table: string; file: string; limit?: number }
  /** The engine's findEntities pattern over a loaded set's keys (its `range` only). */
  | { op: 'read'; table: string; items: string; range?: [number, number]; pageSize: number };

export interface WriteResult {
  seconds: number;
  items: number;
  /** BatchWriteItem requests in flight on average while any was (the concurrency reached). */
  meanInFlight: number;
  /** The baseline process's RSS after the write, and its high-water mark so far, MB. */
  rssMb: number;
  maxRssMb: number;
}

export interface RemoteBaseline {
  /** The baseline process, so the bench tells its CPU and memory from the stack's and DynamoDB Local's. */
  readonly pid: number;
  load(name: string, source: ItemSource): Promise<{ items: number }>;
  forget(name: string): Promise<void>;
  write(table: string, items: string, options?: { range?: [number, number]; pageSize?: number }): Promise<WriteResult>;
  writeStreamed(table: string, file: string, limit?: number): Promise<WriteResult>;
  read(table: string, items: string, pageSize: number, range?: [number, number]): Promise<{ seconds: number; keys: number }>;
  close(): Promise<void>;
}

/** Starts the baseline process against DynamoDB Local at `endpoint`, writing `concurrency` requests at a time. */
export async function startRemoteBaseline(endpoint: string, concurrency: number): Promise<RemoteBaseline> {
  // The environment (AWS_REGION, the local credentials the stack set) is this process's: the same client settings.
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./baseline-process.ts', import.meta.url).pathname, JSON.stringify({ endpoint, concurrency })], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let ready: (() => void) | undefined;
  const started = new Promise<void>((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new Error(`the baseline process exited (${code}) before it was ready`)));
  });
  lines.on('line', (line) => {
    const answer = JSON.parse(line) as { ready?: true; id?: number; result?: unknown; error?: string };
    if (answer.ready) return ready?.();
    const pending = waiting.get(answer.id!);
    waiting.delete(answer.id!);
    if (answer.error !== undefined) pending?.reject(new Error(`baseline process: ${answer.error}`));
    else pending?.resolve(answer.result);
  });
  child.once('exit', (code) => {
    for (const pending of waiting.values()) pending.reject(new Error(`the baseline process exited (${code})`));
    waiting.clear();
  });
  await started;
  let nextId = 0;
  const send = <T>(command: BaselineCommand): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = ++nextId;
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.stdin!.write(`${JSON.stringify({ id, ...command })}\n`);
    });
  return {
    pid: child.pid!,
    load: (name, source) => send({ op: 'load', name, source }),
    forget: async (name) => void (await send({ op: 'forget', name })),
    write: (table, items, options = {}) => send({ op: 'write', table, items, ...options }),
    writeStreamed: (table, file, limit) => send({ op: 'writeStreamed', table, file, limit }),
    read: (table, items, pageSize, range) => send({ op: 'read', table, items, pageSize, range }),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin!.end();
      await exited;
    },
  };
}
