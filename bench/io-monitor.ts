/**
 * Watches every HTTP request this process makes, without touching the code that makes
 * them: Node's diagnostics channels report each `http.request` (the AWS SDK's DynamoDB and
 * Step Functions clients) and each `fetch` (the provider adapters, the tRPC client).
 *
 * DynamoDB requests are counted per operation (X-Amz-Target) and their items counted from
 * the request body; every request also leaves a time interval, so a sync's wall time can be
 * split by what was in flight. This replaces a counting proxy in front of DynamoDB Local:
 * same counts, no extra hop in the measured path.
 */
import dc from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface Interval {
  /** DynamoDB operation (BatchWriteItem, ...), `provider`, `api`, `sfn` or `other`. */
  kind: string;
  start: number;
  end: number;
}

export interface DynamoCounts {
  /** Requests per operation. */
  requests: Record<string, number>;
  /** Items per operation: BatchWriteItem put/delete requests, TransactWriteItems actions, 1 per single-item write. */
  itemsWritten: Record<string, number>;
  /** Keys asked for by BatchGetItem. */
  keysRead: number;
  /** Answers with an HTTP status >= 400 (throttling, validation...). */
  errors: number;
}

export interface IoSnapshot {
  dynamo: DynamoCounts;
  /** Requests per origin category (provider = the Salesforce sandbox). */
  fetches: Record<string, number>;
  intervals: Interval[];
}

export const WRITE_OPERATIONS = ['BatchWriteItem', 'TransactWriteItems', 'PutItem', 'UpdateItem', 'DeleteItem'];

export interface IoMonitor {
  /** Names the origin of the provider (sandbox) and the API, to tell fetches apart. */
  setOrigins(origins: { provider?: string; api?: string }): void;
  /** Parse every write body fully (slow, exact) instead of counting markers (fast). Both agree; `exact` checks it. */
  setExact(exact: boolean): void;
  /** Zeroes counters and intervals. */
  reset(): void;
  snapshot(): IoSnapshot;
  /** Bodies whose fast count disagreed with the parsed count (must stay 0). */
  readonly mismatches: number;
  stop(): void;
}

export function startIoMonitor(): IoMonitor {
  let origins: { provider?: string; api?: string } = {};
  let exact = false;
  let mismatches = 0;
  let state = fresh();

  function fresh(): IoSnapshot {
    return { dynamo: { requests: {}, itemsWritten: {}, keysRead: 0, errors: 0 }, fetches: {}, intervals: [] };
  }
  const add = (record: Record<string, number>, key: string, n: number) => {
    record[key] = (record[key] ?? 0) + n;
  };

  // --- http.request: the AWS SDK (DynamoDB, Step Functions) ---
  const onCreated = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    const target = String(request.getHeader('x-amz-target') ?? '');
    const kind = target.startsWith('DynamoDB_20120810.') ? target.slice('DynamoDB_20120810.'.length) : target.startsWith('AWSStepFunctions.') ? 'sfn' : 'other';
    const started = performance.now();
    const generation = state;
    if (kind !== 'sfn' && kind !== 'other') {
      add(generation.dynamo.requests, kind, 1);
      if (WRITE_OPERATIONS.includes(kind) || kind === 'BatchGetItem') {
        const end = request.end.bind(request) as (...args: unknown[]) => ClientRequest;
        (request as { end: (...args: unknown[]) => ClientRequest }).end = (...args: unknown[]) => {
          const body = args[0];
          if (typeof body === 'string' || Buffer.isBuffer(body)) countBody(generation, kind, body.toString());
          return end(...args);
        };
      }
    }
    request.once('response', (response: IncomingMessage) => {
      if ((response.statusCode ?? 0) >= 400 && kind !== 'sfn' && kind !== 'other') generation.dynamo.errors += 1;
      response.once('end', () => generation.intervals.push({ kind, start: started, end: performance.now() }));
    });
  };

  function countBody(generation: IoSnapshot, kind: string, body: string): void {
    if (kind === 'BatchGetItem') {
      // {"RequestItems":{"table":{"Keys":[{...},{...}]...}}}: one key per object in Keys.
      const parsed = JSON.parse(body) as { RequestItems: Record<string, { Keys: unknown[] }> };
      for (const table of Object.values(parsed.RequestItems)) generation.dynamo.keysRead += table.Keys.length;
      return;
    }
    if (kind === 'BatchWriteItem') {
      const fast = occurrences(body, '{"PutRequest":') + occurrences(body, '{"DeleteRequest":');
      if (exact) {
        const parsed = JSON.parse(body) as { RequestItems: Record<string, unknown[]> };
        const items = Object.values(parsed.RequestItems).reduce((sum, list) => sum + list.length, 0);
        if (items !== fast) mismatches += 1;
        add(generation.dynamo.itemsWritten, kind, items);
      } else {
        add(generation.dynamo.itemsWritten, kind, fast);
      }
      return;
    }
    if (kind === 'TransactWriteItems') {
      add(generation.dynamo.itemsWritten, kind, (JSON.parse(body) as { TransactItems: unknown[] }).TransactItems.length);
      return;
    }
    add(generation.dynamo.itemsWritten, kind, 1);
  }

  // --- fetch (undici): provider adapters, the tRPC client ---
  const undiciStarts = new WeakMap<object, { kind: string; start: number; generation: IoSnapshot }>();
  const onUndiciCreate = (message: unknown) => {
    const request = (message as { request: { origin: string } }).request;
    const origin = String(request.origin);
    const kind = origin === origins.provider ? 'provider' : origin === origins.api ? 'api' : 'other-fetch';
    add(state.fetches, kind, 1);
    undiciStarts.set(request, { kind, start: performance.now(), generation: state });
  };
  const onUndiciDone = (message: unknown) => {
    const request = (message as { request: object }).request;
    const started = undiciStarts.get(request);
    if (!started) return;
    undiciStarts.delete(request);
    started.generation.intervals.push({ kind: started.kind, start: started.start, end: performance.now() });
  };

  dc.subscribe('http.client.request.created', onCreated);
  dc.subscribe('undici:request:create', onUndiciCreate);
  dc.subscribe('undici:request:trailers', onUndiciDone);
  dc.subscribe('undici:request:error', onUndiciDone);

  return {
    setOrigins: (next) => {
      origins = { ...origins, ...next };
    },
    setExact: (on) => {
      exact = on;
    },
    reset: () => {
      state = fresh();
    },
    snapshot: () => structuredClone(state),
    get mismatches() {
      return mismatches;
    },
    stop: () => {
      dc.unsubscribe('http.client.request.created', onCreated);
      dc.unsubscribe('undici:request:create', onUndiciCreate);
      dc.unsubscribe('undici:request:trailers', onUndiciDone);
      dc.unsubscribe('undici:request:error', onUndiciDone);
    },
  };
}

function occurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count += 1;
  return count;
}

/**
 * Splits [from, to] by what was in flight, one label per instant, the first of `priority`
 * that had a request open; instants with nothing open are `idle` (Node busy on CPU:
 * parsing, marshalling, the state machine runner, GC). Also answers the mean number of
 * requests of each kind in flight while any of that kind was.
 */
export function splitTime(
  intervals: Interval[],
  from: number,
  to: number,
  priority: string[],
): { byLabel: Record<string, number>; busy: Record<string, number>; meanInFlight: Record<string, number> } {
  const events: { at: number; kind: string; delta: number }[] = [];
  for (const interval of intervals) {
    const start = Math.max(from, interval.start);
    const end = Math.min(to, interval.end);
    if (end <= start) continue;
    events.push({ at: start, kind: interval.kind, delta: 1 }, { at: end, kind: interval.kind, delta: -1 });
  }
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  const open: Record<string, number> = {};
  const byLabel: Record<string, number> = {};
  const busy: Record<string, number> = {};
  const area: Record<string, number> = {};
  let last = from;
  const account = (until: number) => {
    const span = until - last;
    if (span <= 0) return;
    const label = priority.find((kind) => (open[kind] ?? 0) > 0) ?? (Object.keys(open).find((kind) => (open[kind] ?? 0) > 0) ?? 'idle');
    byLabel[label] = (byLabel[label] ?? 0) + span;
    for (const [kind, n] of Object.entries(open)) {
      if (n <= 0) continue;
      busy[kind] = (busy[kind] ?? 0) + span;
      area[kind] = (area[kind] ?? 0) + span * n;
    }
  };
  for (const event of events) {
    account(event.at);
    last = Math.max(last, event.at);
    open[event.kind] = (open[event.kind] ?? 0) + event.delta;
  }
  account(to);
  const meanInFlight = Object.fromEntries(Object.entries(busy).map(([kind, t]) => [kind, (area[kind] ?? 0) / t]));
  return { byLabel, busy, meanInFlight };
}
