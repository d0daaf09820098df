/**
 * The yardstick: plain BatchWriteItem of the same items into the same DynamoDB Local, with
 * the client the runtime builds (document client, same marshalling), 25 items a request,
 * at the engine's write concurrency, unprocessed items retried as the engine retries them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
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
