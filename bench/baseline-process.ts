/**
 * The bench's own DynamoDB work, in a Node process of its own: the warm-up, the plain
 * BatchWriteItem baselines and the replays of the engine's patterns (baseline.ts, the same
 * code that ran in the stack's process before), with the client the runtime builds
 * (baseline.ts engineLikeClient) against the same DynamoDB Local, at the concurrency the
 * bench passes (the engine's). Started and driven by remote-baseline.ts.
 *
 * Why apart: the bench measures the memory of its own process as the stack's. Writing a
 * million items there (parsing them, marshalling, request and response buffers) grew the
 * process by a few hundred MB that glibc's malloc keeps after V8 frees it, so every sync was
 * charged with the baseline's footprint. The stack's process now holds the stack alone.
 *
 * Arguments: one JSON object {endpoint, concurrency}. Prints `{"ready":true}` when ready,
 * then reads one command a line on stdin ({id, op, ...}) and answers one line on stdout
 * ({id, result} or {id, error}), in order; exits when its stdin closes.
 */
import { createInterface } from 'node:readline';
import * as baseline from './baseline';
import { startIoMonitor, splitTime } from './io-monitor';
import type { Item } from './baseline';
import type { BaselineCommand, WriteResult } from './remote-baseline';

const { endpoint, concurrency } = JSON.parse(process.argv[2] ?? '{}') as { endpoint: string; concurrency: number };
const db = baseline.engineLikeClient(endpoint);
// The same request monitor as the stack's process: it checks that every item was written and times the requests.
const monitor = startIoMonitor();
/** Item sets loaded by `load`, by name. */
const sets = new Map<string, Item[]>();

const itemsOf = (name: string, range?: [number, number]): Item[] => {
  const items = sets.get(name);
  if (!items) throw new Error(`no item set ${name} loaded`);
  return range ? items.slice(range[0], range[1]) : items;
};

/** Runs one timed write, then checks the monitor saw all its items. */
async function measuredWrite(write: () => Promise<{ seconds: number; items: number }>): Promise<WriteResult> {
  monitor.reset();
  const { seconds, items } = await write();
  const io = monitor.snapshot();
  const seen = io.dynamo.itemsWritten.BatchWriteItem ?? 0;
  if (seen < items) throw new Error(`the request monitor missed writes: ${seen} of ${items} items seen`);
  if (io.dynamo.errors > 0) throw new Error(`${io.dynamo.errors} DynamoDB requests failed during a baseline write`);
  const meanInFlight = splitTime(io.intervals, 0, Infinity, ['BatchWriteItem']).meanInFlight.BatchWriteItem ?? 0;
  return { seconds, items, meanInFlight, rssMb: process.memoryUsage.rss() / 2 ** 20, maxRssMb: process.resourceUsage().maxRSS / 1024 };
}

async function run(command: BaselineCommand): Promise<unknown> {
  switch (command.op) {
    case 'load': {
      const { source } = command;
      const items = 'file' in source ? await baseline.readItemFile(source.file, source.limit) : await baseline.readPartitions(db, source.table, source.pks);
      sets.set(command.name, items);
      return { items: items.length };
    }
    case 'forget':
      sets.delete(command.name);
      return {};
    case 'write': {
      const items = itemsOf(command.items, command.range);
      return await measuredWrite(async () => ({
        seconds:
          command.pageSize === undefined
            ? await baseline.plainBatchWrite(db, command.table, items, concurrency)
            : await baseline.pagedBatchWrite(db, command.table, items, concurrency, command.pageSize),
        items: items.length,
      }));
    }
    case 'writeStreamed':
      return await measuredWrite(() => baseline.plainBatchWriteFromFile(db, command.table, command.file, concurrency, command.limit));
    case 'read': {
      const keys = itemsOf(command.items, command.range).map(({ pk, sk }) => ({ pk, sk }));
      return { seconds: await baseline.pagedBatchGet(db, command.table, keys, concurrency, command.pageSize), keys: keys.length };
    }
  }
}

process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
// One command at a time, in order: the parent awaits each answer before it sends the next.
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { id, ...command } = JSON.parse(line) as BaselineCommand & { id: number };
  try {
    const result = await run(command as BaselineCommand);
    process.stdout.write(`${JSON.stringify({ id, result })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) })}\n`);
  }
}
db.destroy();
monitor.stop();
