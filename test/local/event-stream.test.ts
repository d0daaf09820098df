import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { inject, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLocalEventStream, type LocalEventStream } from '../../local/event-stream';
import { freshTable } from '../support/dynamodb';

/**
 * The local stand-in for the stream's event source mapping, against DynamoDB Local's stream:
 * it passes what the AWS filter passes, in order, and gives a failed batch again from the
 * record the handler reported, as Lambda does.
 */
describe('local event stream', () => {
  let table: Awaited<ReturnType<typeof freshTable>>;
  let stateDir: string;
  let stream: LocalEventStream | undefined;

  beforeEach(async () => {
    table = await freshTable({ stream: true });
    stateDir = await mkdtemp(join(tmpdir(), 'connector-stream-'));
  });
  afterEach(async () => {
    await stream?.stop();
    stream = undefined;
    table.destroy();
    await rm(stateDir, { recursive: true, force: true });
  });

  const put = (sk: string, n: number, pk = 'TENANT#t#CONNECTOR#customerio') => table.client.send(new PutCommand({ TableName: table.tableName, Item: { pk, sk, n } }));
  const start = (handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>) =>
    startLocalEventStream({ endpoint: inject('dynamoDbEndpoint'), tableName: table.tableName, stateDir, handler, pollMs: 20 });
  const numbers = (event: DynamoDBStreamEvent) => event.Records.map((record) => Number(record.dynamodb!.NewImage!.n!.N));

  it('hands over only tenants\' connector items and sync logs, in the order they were written', async () => {
    const seen: number[] = [];
    stream = await start(async (event) => {
      seen.push(...numbers(event));
      return { batchItemFailures: [] };
    });
    await put('META', 1);
    await put('accounts#001', 2);
    await put('LOG#sync_1', 3);
    await put('META', 4, 'OAUTH_STATE#abc');
    await put('META', 5);
    await put('1', 6, 'TENANT#t#CONNECTOR#customerio#PAGES');
    await stream.caughtUp();
    expect(seen).toEqual([1, 3, 5]);
  });

  it('gives a failed batch again from the record the handler reported: each record is taken once, in order', async () => {
    const taken: number[] = [];
    const firstOfEachCall: number[] = [];
    let failures = 2;
    stream = await start(async (event) => {
      const batch = numbers(event);
      firstOfEachCall.push(batch[0]!);
      // As publishEvents does: take the records in order, stop at the one that fails.
      for (const [i, n] of batch.entries()) {
        if (n === 3 && failures-- > 0) return { batchItemFailures: [{ itemIdentifier: event.Records[i]!.dynamodb!.SequenceNumber! }] };
        taken.push(n);
      }
      return { batchItemFailures: [] };
    });
    for (let n = 1; n <= 5; n++) await put(`LOG#sync_${n}`, n);
    await expect.poll(() => taken.includes(5), { timeout: 10_000 }).toBe(true);
    await stream.caughtUp();
    expect(taken).toEqual([1, 2, 3, 4, 5]);
    // The two calls after each failure began at the failed record.
    expect(firstOfEachCall.filter((n) => n === 3).length).toBeGreaterThanOrEqual(2);
  });

  it('goes on after a restart from its checkpoint, not from the beginning', async () => {
    const first: number[] = [];
    stream = await start(async (event) => {
      first.push(...numbers(event));
      return { batchItemFailures: [] };
    });
    await put('META', 1);
    await stream.caughtUp();
    await stream.stop();
    await put('META', 2);

    const second: number[] = [];
    stream = await start(async (event) => {
      second.push(...numbers(event));
      return { batchItemFailures: [] };
    });
    await stream.caughtUp();
    expect(first).toEqual([1]);
    expect(second).toEqual([2]);
  });
});
