import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProviderId } from '../../../functions/core/registry';
import { PROVIDER_CALL_TIMEOUT_MS } from '../../../functions/core/timeouts';
import { startTestStack, type TestStack } from '../../support/local-stack';

/**
 * Connect and the OAuth callback against providers that fail or hang (the sandboxes' failure
 * modes), through the local stack: the connector is left exactly as it was before the call,
 * and the caller gets the status that fits (503 for an outage, 429 with Retry-After for
 * throttling) with a sentence.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.stop());
beforeEach(() => {
  stack.customerio!.failures.reset();
  stack.fathom!.failures.reset();
  stack.delivrai!.failures.reset();
  stack.salesforce!.failures.reset();
});

/**
 * A provider that hangs: it answers only after the connector has given up on it. These tests
 * need the local gateway to give API handlers the deployed functions' time
 * (API_FUNCTION_TIMEOUT_MS): with less, middy ends the handler first, as Lambda would.
 */
const HANGING_MS = PROVIDER_CALL_TIMEOUT_MS + 1_000;
/** Long enough for a hanging provider call to time out, and the request around it to end. */
const HANGING_TEST_TIMEOUT_MS = PROVIDER_CALL_TIMEOUT_MS + 15_000;

/** POSTs a mutation as the tenant's admin; answers status, Retry-After and the error message. */
async function mutate(tenantId: string, procedure: string, input: unknown) {
  const response = await fetch(`${stack.url}/trpc/connector.${procedure}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await stack.token(tenantId, 'admin')}`, 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  const body = (await response.json()) as { error?: { message: string } };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), message: body.error?.message };
}

/** The connector's lifecycle and credential fields as stored, or null when it has no record. */
async function storedConnector(tenantId: string, providerId: ProviderId) {
  const { Item } = await stack.documentClient.send(
    new GetCommand({ TableName: stack.tableName, Key: { pk: `TENANT#${tenantId}#CONNECTOR#${providerId}`, sk: 'META' }, ConsistentRead: true }),
  );
  if (!Item) return null;
  return { status: Item.status, credentials: Item.credentials, credentialsVersion: Item.credentialsVersion, config: Item.config };
}

const CONNECT_INPUT = {
  customerio: { connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'us' } },
  fathom: { connectorId: 'fathom', apiKey: 'sandbox-key' },
  delivrai: { connectorId: 'delivrai', apiKey: 'sandbox-key', config: { organizationId: 'sandbox-org' } },
} as const;

async function connected(tenantId: string, providerId: keyof typeof CONNECT_INPUT) {
  const answer = await mutate(tenantId, 'connect', CONNECT_INPUT[providerId]);
  expect(answer.status).toBe(200);
  return await storedConnector(tenantId, providerId);
}

/** Runs the flow up to the provider's redirect back, and answers the callback URL it names. */
async function consentedCallbackUrl(tenantId: string): Promise<URL> {
  const started = await fetch(`${stack.url}/trpc/connector.getAuthUrl`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await stack.token(tenantId, 'admin')}`, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(started.status).toBe(200);
  const { authUrl } = ((await started.json()) as { result: { data: { authUrl: string } } }).result.data;
  const consent = await fetch(authUrl, { redirect: 'manual' });
  return new URL(consent.headers.get('location')!);
}

describe('connect with an API key against a failing provider', () => {
  it('answers 503 with a sentence and stores nothing when Customer.io is down', async () => {
    stack.customerio!.failures.serverError(Infinity, 503);

    const answer = await mutate('cio-down', 'connect', CONNECT_INPUT.customerio);

    expect(answer).toMatchObject({ status: 503, message: expect.stringMatching(/^Customer\.io at 127\.0\.0\.1:\d+ is unavailable \(HTTP 503\)\.$/) });
    expect(await storedConnector('cio-down', 'customerio')).toBeNull();
  });

  it('leaves a working Fathom connection as it was when Fathom is down during a reconnect', async () => {
    const before = await connected('fathom-down', 'fathom');
    stack.fathom!.failures.serverError(Infinity);

    const answer = await mutate('fathom-down', 'connect', CONNECT_INPUT.fathom);

    expect(answer.status).toBe(503);
    expect(answer.message).toMatch(/^Fathom .*is unavailable/);
    expect(await storedConnector('fathom-down', 'fathom')).toEqual(before);
  });

  it('answers 429 with Retry-After when Delivr.ai throttles, and leaves the connection as it was', async () => {
    const before = await connected('delivrai-throttled', 'delivrai');
    stack.delivrai!.failures.throttle(1, 30);

    const answer = await mutate('delivrai-throttled', 'connect', CONNECT_INPUT.delivrai);

    expect(answer).toMatchObject({ status: 429, message: expect.stringMatching(/limiting our request rate/) });
    expect(Number(answer.retryAfter)).toBeGreaterThan(0);
    expect(await storedConnector('delivrai-throttled', 'delivrai')).toEqual(before);
  });

  it('answers 429 with the provider\'s Retry-After when Customer.io throttles', async () => {
    stack.customerio!.failures.throttle(1, 7);

    const answer = await mutate('cio-throttled', 'connect', CONNECT_INPUT.customerio);

    expect(answer).toMatchObject({ status: 429, retryAfter: '7' });
    expect(await storedConnector('cio-throttled', 'customerio')).toBeNull();
  });
});

describe('the OAuth callback against a failing Salesforce token endpoint', () => {
  it('leaves a connected Salesforce connector as it was when the code exchange is refused', async () => {
    await stack.connectSalesforce('sf-refused');
    const before = await storedConnector('sf-refused', 'salesforce');
    const callback = await consentedCallbackUrl('sf-refused');
    callback.searchParams.set('code', 'a-code-salesforce-never-issued');

    const page = await fetch(callback, { redirect: 'manual' });
    await page.body?.cancel();

    expect(await storedConnector('sf-refused', 'salesforce')).toEqual(before);
  });

  it('leaves a never-connected Salesforce connector disconnected and without credentials when the exchange is refused', async () => {
    const callback = await consentedCallbackUrl('sf-new-refused');
    callback.searchParams.set('code', 'a-code-salesforce-never-issued');

    const page = await fetch(callback, { redirect: 'manual' });
    await page.body?.cancel();

    const after = await storedConnector('sf-new-refused', 'salesforce');
    expect(after?.status ?? 'disconnected').toBe('disconnected');
    expect(after?.credentials).toBeUndefined();
  });
});

describe('against hanging providers', () => {
  it.concurrent(
    'connect leaves a working Customer.io connection as it was and answers 503 naming the host',
    async () => {
      const before = await connected('cio-hangs', 'customerio');
      stack.customerio!.failures.slow(HANGING_MS);

      const answer = await mutate('cio-hangs', 'connect', CONNECT_INPUT.customerio);

      expect(answer.status).toBe(503);
      expect(answer.message).toMatch(new RegExp(`^Customer\\.io did not answer at 127\\.0\\.0\\.1:\\d+ within ${PROVIDER_CALL_TIMEOUT_MS / 1000} seconds\\.$`));
      expect(await storedConnector('cio-hangs', 'customerio')).toEqual(before);
    },
    HANGING_TEST_TIMEOUT_MS,
  );

  it.concurrent(
    'the callback leaves a connected Salesforce connector as it was when the token endpoint hangs',
    async () => {
      await stack.connectSalesforce('sf-hangs');
      const before = await storedConnector('sf-hangs', 'salesforce');
      const callback = await consentedCallbackUrl('sf-hangs');
      stack.salesforce!.failures.slow(HANGING_MS);

      const page = await fetch(callback, { redirect: 'manual' });
      await page.body?.cancel();

      // The callback itself ended (a failure page, not a function that ran out of time), so
      // nothing is left in flight that could still change the connector.
      expect(page.status).toBeLessThan(500);
      expect(await storedConnector('sf-hangs', 'salesforce')).toEqual(before);
    },
    HANGING_TEST_TIMEOUT_MS,
  );
});
