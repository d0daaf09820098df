import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** A DynamoDB item as the document client reads and writes it. */
export type Item = Record<string, unknown>;

/** BatchGet and BatchWrite calls in flight at once. */
export const BATCH_CONCURRENCY = 8;

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `work` over `items` with at most `concurrency` in flight. */
export async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}

/** Strongly consistent BatchGets of `keys`, 100 a request, in parallel; unprocessed keys are asked again. */
export async function batchGet(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: Item[],
  projection: string,
  onItem: (item: Item) => void,
  concurrency = BATCH_CONCURRENCY,
): Promise<void> {
  await inParallel(chunks(keys, 100), concurrency, async (chunk) => {
    let request: Record<string, { Keys: Item[]; ProjectionExpression: string; ConsistentRead: boolean }> | undefined = {
      [tableName]: { Keys: chunk, ProjectionExpression: projection, ConsistentRead: true },
    };
    while (request && Object.keys(request).length > 0) {
      const answer = await client.send(new BatchGetCommand({ RequestItems: request }));
      for (const item of answer.Responses?.[tableName] ?? []) onItem(item);
      request = answer.UnprocessedKeys as typeof request;
    }
  });
}

/**
 * Puts or deletes items, 25 a BatchWrite, in parallel; unprocessed items are sent again with
 * backoff. `toRequest` makes each write request only when its batch is sent, so a large page
 * is never held twice (as its entities and as their requests) at once.
 */
export async function batchWrite<T>(
  client: DynamoDBDocumentClient,
  tableName: string,
  items: T[],
  concurrency = BATCH_CONCURRENCY,
  toRequest: (item: T) => Item = (item) => item as Item,
): Promise<void> {
  await inParallel(chunks(items, 25), concurrency, async (chunk) => {
    let pending: Item[] = chunk.map(toRequest);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
      const answer = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (answer.UnprocessedItems?.[tableName] as Item[] | undefined) ?? [];
    }
  });
}

/** Attempts of a transaction that keeps meeting another transaction on the same items. */
const TRANSACTION_ATTEMPTS = 5;

/**
 * Which items of a transaction failed their condition, or null when it succeeded. Only a
 * condition failure is an expected answer; a conflict with another transaction in flight on
 * the same items is tried again (it says nothing about the items' state); anything else
 * (throttling, a validation error) is thrown on.
 */
export async function transactConditionally(send: () => Promise<unknown>): Promise<number[] | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      await send();
      return null;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const failed = reasons.flatMap((reason, index) => (reason.Code === 'ConditionalCheckFailed' ? [index] : []));
      if (failed.length > 0) return failed;
      const conflict = reasons.some((reason) => reason.Code === 'TransactionConflict');
      if (!conflict || attempt >= TRANSACTION_ATTEMPTS) throw error;
      await new Promise((retry) => setTimeout(retry, 10 * 2 ** attempt * Math.random()));
    }
  }
}

/** Runs a conditional write; answers false when its condition did not hold. */
export async function writeConditionally(send: () => Promise<unknown>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
