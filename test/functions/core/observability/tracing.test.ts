import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import xray from 'aws-xray-sdk-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { localDynamoDbClient } from '../../../../local/dynamodb-local';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const run = promisify(execFile);

/** A provider stand-in: answers each path's status (`/throttled` 429, `/broken` 503, else 200). */
let provider: Server;
let providerUrl: string;

beforeAll(async () => {
  provider = createServer((request, response) => {
    response.statusCode = request.url?.startsWith('/throttled') ? 429 : request.url?.startsWith('/broken') ? 503 : 200;
    response.end('{}');
  });
  await new Promise<void>((listening) => provider.listen(0, '127.0.0.1', listening));
  providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
});
afterAll(async () => {
  provider.closeAllConnections();
  await new Promise((closed) => provider.close(closed));
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('tracing outside Lambda (the local stack, tests)', () => {
  it('is off, does not even load the X-Ray SDK, prints nothing, and leaves SDK clients and provider calls as they were', async () => {
    // A process of its own, so that what importing the tracer prints is seen too.
    const script = `
      import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
      import { isTracingEnabled, tracer, traceAwsClient } from './functions/core/tracing.ts';
      import { providerFetch } from './functions/providers/http.ts';
      import { localDynamoDbClient } from './local/dynamodb-local.ts';
      const client = localDynamoDbClient(process.env.DYNAMODB_ENDPOINT);
      const middleware = client.middlewareStack.identify();
      const traced = traceAwsClient(client);
      const tables = await traced.send(new ListTablesCommand({ Limit: 1 }));
      const answer = await providerFetch('Salesforce', process.env.PROVIDER_URL + '/throttled');
      console.log(JSON.stringify({
        enabled: isTracingEnabled(),
        tracerLoaded: tracer !== undefined,
        // The X-Ray SDK's async-hook namespace (cls-hooked): made when the SDK is imported.
        xraySdkLoaded: Object.keys(process.namespaces ?? {}).length > 0,
        sameClient: traced === client,
        sameMiddleware: JSON.stringify(client.middlewareStack.identify()) === JSON.stringify(middleware),
        listed: Array.isArray(tables.TableNames),
        status: answer.status,
      }));
    `;
    const env: Record<string, string | undefined> = { ...process.env, DYNAMODB_ENDPOINT: inject('dynamoDbEndpoint'), PROVIDER_URL: providerUrl };
    delete env.AWS_EXECUTION_ENV;
    const { stdout, stderr } = await run(join(ROOT, 'node_modules/.bin/tsx'), ['--input-type=module', '-e', script], { cwd: ROOT, env });

    expect(stderr).toBe('');
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(stdout)).toEqual({ enabled: false, tracerLoaded: false, xraySdkLoaded: false, sameClient: true, sameMiddleware: true, listed: true, status: 429 });
  });
});

describe('tracing in Lambda', () => {
  /** The tracing module as a Lambda container loads it (AWS_EXECUTION_ENV set), and an invocation's segment to trace under. */
  async function inLambda() {
    vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs24.x');
    // Subsegments are sent to the X-Ray daemon over UDP; nothing listens here, and nothing needs to.
    vi.stubEnv('AWS_XRAY_DAEMON_ADDRESS', '127.0.0.1:2000');
    vi.resetModules();
    const tracing = await import('../../../../functions/core/tracing');
    const http = await import('../../../../functions/providers/http');
    const segment = new xray.Segment('connector-test-invocation');
    const invoke = <T>(body: () => Promise<T>) =>
      xray.getNamespace().runPromise(async () => {
        tracing.tracer!.setSegment(segment);
        return await body();
      });
    return { ...tracing, ...http, segment, invoke };
  }

  it('is on, and gives each provider call a subsegment named by provider, annotated with its status, recording no path or query', async () => {
    const { isTracingEnabled, providerFetch, segment, invoke } = await inLambda();
    expect(isTracingEnabled()).toBe(true);
    expect(Object.keys((process as { namespaces?: object }).namespaces ?? {})).toContain('AWSXRay');

    await invoke(async () => {
      await providerFetch('Salesforce', `${providerUrl}/throttled/services/data?q=SELECT+Id&access_token=abc`);
      await providerFetch('Customer.io', `${providerUrl}/broken`, { method: 'POST' });
      await providerFetch('Fathom', `${providerUrl}/meetings`);
    });

    const calls = (segment.subsegments ?? []).map((s) => JSON.parse(JSON.stringify(s)) as Record<string, unknown>);
    expect(calls).toEqual([
      expect.objectContaining({
        name: 'Salesforce',
        namespace: 'remote',
        annotations: { provider: 'Salesforce', status: 429 },
        http: { request: { method: 'GET', url: providerUrl }, response: { status: 429 } },
        throttle: true,
        error: true,
      }),
      expect.objectContaining({ name: 'Customer.io', annotations: { provider: 'Customer.io', status: 503 }, fault: true }),
      expect.objectContaining({ name: 'Fathom', annotations: { provider: 'Fathom', status: 200 } }),
    ]);
    expect(calls[2]).not.toHaveProperty('error');
    expect(JSON.stringify(calls)).not.toMatch(/services\/data|access_token|SELECT/);
    expect(calls.every((call) => typeof call.end_time === 'number')).toBe(true);
  });

  it('records a provider that did not answer as a fault, with its error, on its subsegment', async () => {
    const { providerFetch, segment, invoke } = await inLambda();
    await invoke(() => providerFetch('Delivr.ai', 'http://127.0.0.1:1/events').catch(() => undefined));
    expect(JSON.parse(JSON.stringify(segment.subsegments?.[0]))).toMatchObject({ name: 'Delivr.ai', fault: true, cause: { exceptions: [expect.objectContaining({ message: 'fetch failed' })] }, annotations: { provider: 'Delivr.ai' } });
  });

  it('traces an AWS SDK client: a subsegment per call, and the call still reaches DynamoDB Local', async () => {
    const { traceAwsClient, segment, invoke } = await inLambda();
    const client = traceAwsClient(localDynamoDbClient(inject('dynamoDbEndpoint')));
    try {
      const tables = await invoke(() => client.send(new ListTablesCommand({ Limit: 1 })));
      expect(tables.TableNames).toEqual(expect.any(Array));
      expect(JSON.parse(JSON.stringify(segment.subsegments?.[0]))).toMatchObject({ name: 'DynamoDB', namespace: 'aws', aws: { operation: 'ListTables' } });
    } finally {
      client.destroy();
    }
  });
});
