import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createTRPCClient, httpBatchLink, httpLink } from '@trpc/client';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AppRouter } from '../../functions/api/router';
import { TestConnectorStore } from './connector-store';
import { issueLocalToken } from '../../local/jwt-issuer';
import { localDynamoDbClient } from '../../local/dynamodb-local';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack';

/** A local stack for one test file: the shared DynamoDB Local, a fresh table and state dir. */
export interface TestStack extends LocalStack {
  /** A typed tRPC client for a tenant and role, over httpLink or httpBatchLink. */
  client(tenantId: string, role?: 'admin' | 'member', options?: { batch?: boolean }): ReturnType<typeof createTRPCClient<AppRouter>>;
  token(tenantId: string, role?: 'admin' | 'member'): Promise<string>;
  /** The repository over the stack's table, for arranging state the write procedures of later issues create. */
  repository: TestConnectorStore;
  /** A document client on the stack's DynamoDB Local, for looking at raw items. */
  documentClient: DynamoDBDocumentClient;
  /** Connects the tenant's Salesforce through the sandbox, as an admin would in a browser. */
  connectSalesforce(tenantId: string): Promise<void>;
}

/**
 * Starts a test stack. Without `events`, it shares the run's DynamoDB Local and publishes no
 * domain events (its table has no stream). With `events: {}`, it gets a DynamoDB Local of its
 * own, in memory, and the whole event pipeline: streamed tables slow each other down in one
 * DynamoDB Local (see ensureTable).
 */
export async function startTestStack(options: Partial<LocalStackOptions> = {}): Promise<TestStack> {
  const stateDir = await mkdtemp(join(tmpdir(), 'connector-test-'));
  const withEvents = options.events !== undefined && options.events !== false;
  const stack = await startLocalStack({
    port: 0,
    stateDir,
    ...(withEvents ? { inMemoryDynamoDb: true } : { dynamoDbEndpoint: inject('dynamoDbEndpoint') }),
    tableName: `connector-${crypto.randomUUID()}`,
    // Retries and provider waits are instant in tests; their timing is the state machine's business.
    stepFunctions: { retryDelayMs: 0, waitMs: 0 },
    events: false,
    ...options,
  });
  const documentClient = DynamoDBDocumentClient.from(localDynamoDbClient(stack.dynamoDbEndpoint));
  const token = (tenantId: string, role: 'admin' | 'member' = 'member') =>
    issueLocalToken(stateDir, { tenantId, role });
  const client = (tenantId: string, role: 'admin' | 'member' = 'member', options: { batch?: boolean } = {}) => {
    const link = options.batch ? httpBatchLink : httpLink;
    return createTRPCClient<AppRouter>({
      links: [link({ url: `${stack.url}/trpc`, headers: async () => ({ authorization: `Bearer ${await token(tenantId, role)}` }) })],
    });
  };
  return {
    ...stack,
    token,
    client,
    documentClient,
    repository: new TestConnectorStore(documentClient, stack.tableName),
    async connectSalesforce(tenantId) {
      const admin = client(tenantId, 'admin');
      const { authUrl } = await admin.connector.getAuthUrl.mutate();
      const consent = await fetch(authUrl, { redirect: 'manual' });
      const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual' });
      const page = callback.status === 302 ? callback.headers.get('location') : (await callback.text()).slice(0, 300);
      const { status } = await admin.connector.getStatus.query({ connectorId: 'salesforce' });
      if (status !== 'connected') throw new Error(`Salesforce did not connect for ${tenantId}: ${status} (callback ${callback.status}: ${page})`);
    },
    stop: async () => {
      documentClient.destroy();
      await stack.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
