import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { isEventItemRecord } from '../functions/core/repository/dynamo-domain-events';
import { localDynamoDbClient } from './dynamodb-local';

/** The stream consumer's handler (functions/events/publishEvents.ts). */
export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

export interface LocalEventStreamOptions {
  endpoint: string;
  tableName: string;
  /** Where the checkpoint (`events-checkpoint.json`) is kept, so a restart goes on where the last run stopped. */
  stateDir: string;
  handler: StreamHandler;
  /** How long to wait when the stream had nothing new, in ms (`caughtUp()` and `stop()` cut the wait short). */
  pollMs?: number;
  /**
   * A test switch: read records with events, then stop before handing them to the handler,
   * as a consumer killed between reading and publishing would. Prints a line when it does.
   */
  haltBeforePublish?: boolean;
}

export interface LocalEventStream {
  /** Resolves once everything written to the table before the call has been handed to the handler. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/** What has been handed over, per shard: the last sequence number, or `done` for a closed shard read to its end. */
interface Checkpoint {
  streamArn: string;
  shards: Record<string, string>;
}

/** The batch size of the event source mapping in AWS (its default). */
const BATCH_SIZE = 100;
const MAX_BACKOFF_MS = 5_000;
/** How long a listing of the stream's shards is used before it is listed again (a closed shard lists them at once). */
const SHARD_LIST_MS = 5_000;

/**
 * The local stand-in for the Lambda event source mapping on the table's stream: reads
 * DynamoDB Local's stream shard by shard, passes the records the AWS filter would pass
 * (connector items and sync logs) to the very handler AWS runs, in batches, and keeps a
 * checkpoint in the state directory. A batch the handler reports failed is given again from
 * the failed record, with backoff, as AWS does; a record is checkpointed only once handed over,
 * so a stack killed at any point loses no event when it starts again.
 */
export async function startLocalEventStream(options: LocalEventStreamOptions): Promise<LocalEventStream> {
  const pollMs = options.pollMs ?? 500;
  const checkpointFile = join(options.stateDir, 'events-checkpoint.json');
  const tables = localDynamoDbClient(options.endpoint);
  const streams = new DynamoDBStreamsClient({
    endpoint: options.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const { Table } = await tables.send(new DescribeTableCommand({ TableName: options.tableName }));
  tables.destroy();
  const streamArn = Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${options.tableName} has no stream: the domain events cannot be derived`);
  const checkpoint = await readCheckpoint(checkpointFile, streamArn);
  const iterators = new Map<string, string>();

  let stopped = false;
  let halted = false;
  let backoffMs = 0;
  let passes = 0;
  const passWaiters: { after: number; resolve: () => void }[] = [];
  let wake: () => void = () => undefined;
  let shards: { list: Shard[]; at: number } | undefined;

  /**
   * One pass over every open shard, to its current end: `handedOver` false when a batch
   * failed (it is given again), `read` whether there were records at all.
   */
  async function pass(): Promise<{ handedOver: boolean; read: boolean }> {
    let read = false;
    if (!shards || Date.now() - shards.at > SHARD_LIST_MS) shards = { list: await listShards(), at: Date.now() };
    for (const shard of shards.list) {
      const shardId = shard.ShardId!;
      if (checkpoint.shards[shardId] === 'done') continue;
      for (;;) {
        const iterator = iterators.get(shardId) ?? (await shardIterator(shardId));
        let page;
        try {
          page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        } catch (error) {
          iterators.delete(shardId);
          if (error instanceof ExpiredIteratorException) continue;
          throw error;
        }
        const records = page.Records ?? [];
        read ||= records.length > 0;
        if (records.length > 0 && !(await handOver(shardId, records))) {
          iterators.delete(shardId);
          return { handedOver: false, read };
        }
        if (!page.NextShardIterator) {
          checkpoint.shards[shardId] = 'done';
          iterators.delete(shardId);
          await saveCheckpoint();
          // A shard closes when the stream moves on to new ones: list them again.
          shards = undefined;
          break;
        }
        iterators.set(shardId, page.NextShardIterator);
        if (records.length === 0) break;
      }
    }
    return { handedOver: true, read };
  }

  /** Hands one page of records to the handler, batch by batch; false when a batch failed (its checkpoint stays before the failure). */
  async function handOver(shardId: string, records: StreamRecord[]): Promise<boolean> {
    const passing = records.map(toLambdaRecord).filter(isEventItemRecord);
    for (let start = 0; start < passing.length; start += BATCH_SIZE) {
      const batch = passing.slice(start, start + BATCH_SIZE);
      if (options.haltBeforePublish) {
        halted = true;
        console.log(`events: halted before publishing ${batch.length} stream record(s)`);
        return false;
      }
      const answer = await options.handler({ Records: batch }, lambdaContext());
      const failed = answer.batchItemFailures[0]?.itemIdentifier;
      if (failed !== undefined) {
        const index = batch.findIndex((record) => record.dynamodb?.SequenceNumber === failed);
        const before = index > 0 ? batch[index - 1]! : start > 0 ? passing[start - 1] : undefined;
        if (before) checkpoint.shards[shardId] = before.dynamodb!.SequenceNumber!;
        await saveCheckpoint();
        return false;
      }
      checkpoint.shards[shardId] = batch.at(-1)!.dynamodb!.SequenceNumber!;
    }
    // The page's records the filter dropped are handed over too: nothing to give again.
    checkpoint.shards[shardId] = records.at(-1)!.dynamodb!.SequenceNumber!;
    await saveCheckpoint();
    return true;
  }

  async function listShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }));
      shards.push(...(StreamDescription?.Shards ?? []));
      exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    // A parent shard's records come before its children's; sequence numbers order them.
    return shards.sort((a, b) => compareSequence(a.SequenceNumberRange?.StartingSequenceNumber, b.SequenceNumberRange?.StartingSequenceNumber));
  }

  async function shardIterator(shardId: string): Promise<string> {
    const after = checkpoint.shards[shardId];
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return ShardIterator!;
  }

  async function saveCheckpoint(): Promise<void> {
    const temporary = `${checkpointFile}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(checkpoint));
    await rename(temporary, checkpointFile);
  }

  function toLambdaRecord(record: StreamRecord): DynamoDBRecord {
    const { ApproximateCreationDateTime, ...dynamodb } = record.dynamodb ?? {};
    return {
      eventID: record.eventID,
      eventName: record.eventName,
      eventVersion: record.eventVersion,
      eventSource: 'aws:dynamodb',
      awsRegion: 'local',
      eventSourceARN: streamArn,
      dynamodb: {
        ...(dynamodb as DynamoDBRecord['dynamodb']),
        ...(ApproximateCreationDateTime && { ApproximateCreationDateTime: Math.floor(ApproximateCreationDateTime.getTime() / 1000) }),
      },
    };
  }

  const loop = (async () => {
    while (!stopped) {
      let outcome = { handedOver: false, read: false };
      if (!halted) {
        try {
          outcome = await pass();
        } catch (error) {
          if (!stopped) console.error(`events: reading the table's stream failed (${(error as Error).message}); trying again`);
        }
      }
      backoffMs = outcome.handedOver ? 0 : Math.min(MAX_BACKOFF_MS, Math.max(pollMs, backoffMs * 2));
      if (outcome.handedOver) {
        passes += 1;
        for (const waiter of passWaiters.filter((w) => passes > w.after)) {
          passWaiters.splice(passWaiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
      // Records came, or someone waits to catch up: read on at once. Nothing new: wait until asked, or a while.
      if (outcome.handedOver && (outcome.read || passWaiters.length > 0)) continue;
      await new Promise<void>((pause) => {
        const timer = setTimeout(pause, outcome.handedOver ? pollMs : backoffMs);
        timer.unref();
        wake = () => {
          clearTimeout(timer);
          pause();
        };
      });
    }
  })();

  return {
    // A pass that starts after this call reads whatever was written before it.
    caughtUp: () =>
      new Promise((resolve) => {
        passWaiters.push({ after: passes + 1, resolve });
        if (!halted) wake();
      }),
    stop: async () => {
      stopped = true;
      wake();
      await loop;
      streams.destroy();
    },
  };
}

async function readCheckpoint(file: string, streamArn: string): Promise<Checkpoint> {
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as Checkpoint;
    // Another stream (a new table, or a stream turned on anew) starts from its beginning.
    if (saved.streamArn === streamArn) return saved;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { streamArn, shards: {} };
}

/** Sequence numbers are decimal strings of varying length: longer is later. */
function compareSequence(a = '', b = ''): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function lambdaContext(): Context {
  return { awsRequestId: randomUUID(), functionName: 'connector-local-publishEvents' } as Context;
}
