import { describe, expect, inject, it } from 'vitest';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { ensureTable, localDynamoDbClient } from '../../local/dynamodb-local';

describe('DynamoDB Local', () => {
  it('creates the service table with its key schema and TTL, idempotently', async () => {
    const client = localDynamoDbClient(inject('dynamoDbEndpoint'));
    const tableName = `t-${crypto.randomUUID()}`;
    await ensureTable(client, tableName);
    await ensureTable(client, tableName);
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    client.destroy();
  });
});
