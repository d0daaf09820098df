/**
 * The yardstick: plain BatchWriteItem of the same items into the same DynamoDB Local, with
 * the client the runtime builds (document client, same marshalling), 25 items a request,
 * at the engine's write concurrency, unprocessed items retried as the engine retries them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';

export type Item = Record<string, unknown>;

/** A document client built the way functions/core/runtime.ts builds the engine's. */
export function engineLikeClient(endpoint: string): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint }), { marshallOptions: { removeUndefinedValues: true } });
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** At most `concurrency` of `work` in flight; workers take the next item as they finish (the engine's inParallel). */
export async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function batchWrite(client: DynamoDBDocumentClient, tableName: string, chunk: Item[]): Promise<void> {
  let pending: Item[] = chunk.map((item) => ({ PutRequest: { Item: item } }));
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
    const answer = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
    pending = (answer.UnprocessedItems?.[tableName] as Item[] | undefined) ?? [];
  }
}

/** Writes every item, 25 a request, `concurrency` requests in flight; answers seconds taken. */
export async function plainBatchWrite(client: DynamoDBDocumentClient, tableName: string, items: readonly Item[], concurrency: number): Promise<number> {
  const started = performance.now();
  await inParallel(chunks(items, 25), concurrency, (chunk) => batchWrite(client, tableName, chunk));
  return (performance.now() - started) / 1000;
}

/** Items kept one JSON object a line in a file (source-items.ts writeSourceItems), for data sets too large to hold in the stack's process. */
export interface ItemFile {
  readonly file: string;
  /** Items (lines) in the file. */
  readonly length: number;
}

/** A file's items `size` at a time, read as they are asked for (never the whole file at once); the first `limit` only. */
async function* chunksOfFile(file: string, size: number, limit = Infinity): AsyncGenerator<Item[]> {
  let chunk: Item[] = [];
  let read = 0;
  let rest = '';
  for await (const text of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }) as AsyncIterable<string>) {
    const lines = (rest + text).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (!line) continue;
      if (read++ >= limit) return;
      chunk.push(JSON.parse(line) as Item);
      if (chunk.length === size) {
        yield chunk;
        chunk = [];
      }
    }
  }
  if (rest && read < limit) chunk.push(JSON.parse(rest) as Item);
  if (chunk.length > 0) yield chunk;
}

/**
 * {@link plainBatchWrite} of a file's items (the first `limit`), streamed: each of the
 * `concurrency` writers takes the file's next 25 items as it finishes a request, so the
 * reading and parsing (a few microseconds an item) overlap the writes in flight. Answers
 * seconds taken and items written.
 */
export async function plainBatchWriteFromFile(client: DynamoDBDocumentClient, tableName: string, file: string, concurrency: number, limit?: number): Promise<{ seconds: number; items: number }> {
  const source = chunksOfFile(file, 25, limit);
  let items = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      // An async generator queues concurrent next() calls: each chunk goes to one writer.
      for (let next = await source.next(); !next.done; next = await source.next()) {
        items += next.value.length;
        await batchWrite(client, tableName, next.value);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, items };
}

/** A file's items (the first `limit`), all in memory. */
export async function readItemFile(file: string, limit?: number): Promise<Item[]> {
  const items: Item[] = [];
  for await (const chunk of chunksOfFile(file, 1000, limit)) items.push(...chunk);
  return items;
}

/**
 * The engine's write pattern without the rest of the engine: pages of `pageSize` items,
 * each written at `concurrency` with a barrier after it (a page commits once all its
 * writes are done: sync-engine.ts readPage), pages one after another. Answers seconds taken.
 */
export async function pagedBatchWrite(
  client: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Item[],
  concurrency: number,
  pageSize: number,
): Promise<number> {
  const started = performance.now();
  for (const page of chunks(items, pageSize)) {
    await inParallel(chunks(page, 25), concurrency, (chunk) => batchWrite(client, tableName, chunk));
  }
  return (performance.now() - started) / 1000;
}

/** The engine's findEntities read pattern: per page, BatchGet of 100 keys at `concurrency`. Answers seconds taken. */
export async function pagedBatchGet(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Item[],
  concurrency: number,
  pageSize: number,
): Promise<number> {
  const started = performance.now();
  for (const page of chunks(keys, pageSize)) {
    await inParallel(chunks(page, 100), concurrency, async (chunk) => {
      let request: Record<string, { Keys: Item[]; ProjectionExpression: string; ConsistentRead: boolean }> | undefined = {
        [tableName]: { Keys: chunk, ProjectionExpression: 'sk, firstSeen, deleted, deletedIn, sourceModifiedAt', ConsistentRead: true },
      };
      while (request && Object.keys(request).length > 0) {
        const answer = await client.send(new BatchGetCommand({ RequestItems: request }));
        request = answer.UnprocessedKeys as typeof request;
      }
    });
  }
  return (performance.now() - started) / 1000;
}

/** Every item of some partitions, read with paginated Queries, partitions in parallel. */
export async function readPartitions(client: DynamoDBDocumentClient, tableName: string, pks: readonly string[]): Promise<Item[]> {
  const parts = await Promise.all(
    pks.map(async (pk) => {
      const items: Item[] = [];
      let startKey: Item | undefined;
      do {
        const answer = await client.send(
          new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ExclusiveStartKey: startKey }),
        );
        items.push(...(answer.Items ?? []));
        startKey = answer.LastEvaluatedKey;
      } while (startKey);
      return items;
    }),
  );
  return parts.flat();
}

/** Items in some partitions, counted with paginated `Select: COUNT` Queries (nothing is held in memory), partitions in parallel. */
export async function countPartitions(client: DynamoDBDocumentClient, tableName: string, pks: readonly string[]): Promise<number> {
  const counts = await Promise.all(
    pks.map(async (pk) => {
      let count = 0;
      let startKey: Item | undefined;
      do {
        const answer = await client.send(
          new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, Select: 'COUNT', ExclusiveStartKey: startKey }),
        );
        count += answer.Count ?? 0;
        startKey = answer.LastEvaluatedKey;
      } while (startKey);
      return count;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}
