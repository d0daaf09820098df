import { inject } from 'vitest';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTable, localDynamoDbClient } from '../../local/dynamodb-local';

/**
 * A fresh table on the shared DynamoDB Local, and a document client that counts the
 * requests it sends (the budgets say how many each API call may make).
 */
export async function freshTable(options: { stream?: boolean } = {}) {
  const low = localDynamoDbClient(inject('dynamoDbEndpoint'));
  const tableName = `t-${crypto.randomUUID()}`;
  // No stream unless asked: streams on the shared DynamoDB Local slow each other down (see ensureTable).
  await ensureTable(low, tableName, { stream: options.stream ?? false });
  const sent: string[] = [];
  low.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  const client = DynamoDBDocumentClient.from(low, { marshallOptions: { removeUndefinedValues: true } });
  return {
    client,
    tableName,
    /** Requests sent since the last reset, by command name. */
    requests: () => [...sent],
    resetRequests: () => void sent.splice(0),
    destroy: () => client.destroy(),
  };
}
