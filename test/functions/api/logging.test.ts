import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { localDynamoDbClient } from '../../../local/dynamodb-local';
import { startTestStack, type TestStack } from '../../support/local-stack';
import { connectorRecord } from '../../support/factories';

interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

/** Captures the JSON lines the service writes (INFO to stdout, WARN and ERROR to stderr) while `action` runs. */
async function captureLogs(action: () => Promise<unknown>): Promise<LogLine[]> {
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      return true;
    }) as typeof stream.write;
  }
  try {
    await action().catch(() => undefined);
  } finally {
    streams.forEach((stream, i) => (stream.write = writes[i]!));
  }
  return lines.map((line) => JSON.parse(line) as LogLine);
}

describe('structured logs', () => {
  let stack: TestStack;

  beforeAll(async () => {
    // Powertools restores its initial level on every invocation: set it before handlers load.
    process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
    stack = await startTestStack();
    await stack.repository.saveConnector(connectorRecord('logs', 'salesforce'));
  });
  afterAll(() => stack.stop());

  it('stamps request id, tenant, procedure and connector on what a procedure logs', async () => {
    const lines = await captureLogs(() => stack.client('logs', 'admin').connector.disconnect.mutate({ connectorId: 'salesforce' }));

    const line = lines.find((l) => l.message === 'connector disconnected');
    expect(line).toMatchObject({
      level: 'INFO',
      service: 'connector',
      tenantId: 'logs',
      procedure: 'connector.disconnect',
      connectorId: 'salesforce',
    });
    expect(line?.requestId).toEqual(expect.any(String));
    expect(line?.function_request_id).toBe(line?.requestId);
  });

  it('logs a rejected call once, as a warning with its code and reason', async () => {
    const lines = await captureLogs(() => stack.client('logs').connector.getStatus.query({ connectorId: 'hubspot' }));

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'WARN',
      message: 'procedure rejected',
      code: 'NOT_FOUND',
      tenantId: 'logs',
      procedure: 'connector.getStatus',
      connectorId: 'hubspot',
      reason: 'No connector "hubspot" exists in this tenant.',
    });
  });

  it('logs an unexpected failure once with its cause, and answers a generic 500 without internals', async () => {
    const client = localDynamoDbClient(stack.dynamoDbEndpoint);
    await client.send(new DeleteTableCommand({ TableName: stack.tableName }));
    client.destroy();
    let response: Response | undefined;
    const lines = await captureLogs(async () => {
      response = await fetch(`${stack.url}/trpc/connector.getEntityCounts?input=${encodeURIComponent('{"connectorId":"salesforce"}')}`, {
        headers: { authorization: `Bearer ${await stack.token('logs')}` },
      });
    });

    const errors = lines.filter((l) => l.level === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ message: 'procedure failed', code: 'INTERNAL_SERVER_ERROR', tenantId: 'logs', connectorId: 'salesforce' });
    expect(JSON.stringify(errors[0]!.error)).toMatch(/ResourceNotFoundException|non-existent table/);
    expect(response?.status).toBe(500);
    const body = JSON.stringify(await response!.json());
    expect(body).toContain('Something went wrong on our side');
    expect(body).not.toMatch(/ResourceNotFound|table|stack/i);
  });
});
