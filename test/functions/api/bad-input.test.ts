import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../../../functions/api/router';
import { startTestStack, type TestStack } from '../../support/local-stack';

interface ErrorEnvelope {
  error: { message: string; data: { code: string; httpStatus: number } };
}

describe('bad input', () => {
  let stack: TestStack;
  let headers: Record<string, string>;

  const query = (path: string, input?: string) =>
    fetch(`${stack.url}/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(input)}`}`, { headers });
  const mutate = (path: string, body: string) =>
    fetch(`${stack.url}/trpc/${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });

  async function expectError(response: Response, status: number, code: string, message?: RegExp) {
    const body = (await response.json()) as ErrorEnvelope;
    expect({ status: response.status, code: body.error?.data?.code }).toEqual({ status, code });
    if (message) expect(body.error.message).toMatch(message);
  }

  beforeAll(async () => {
    stack = await startTestStack();
    headers = { authorization: `Bearer ${await stack.token('acme', 'admin')}` };
  });
  afterAll(() => stack.stop());

  it('rejects a connectorId of the wrong type with a message that names the field', async () => {
    await expectError(await query('connector.getStatus', '{"connectorId":42}'), 400, 'BAD_REQUEST', /connectorId must be a string/);
  });

  it('rejects missing and empty input', async () => {
    await expectError(await query('connector.getStatus'), 400, 'BAD_REQUEST', /input is required/);
    await expectError(await query('connector.getEntityCounts', '{"connectorId":"  "}'), 400, 'BAD_REQUEST', /must not be empty/);
    await expectError(await mutate('connector.disconnect', '{}'), 400, 'BAD_REQUEST', /connectorId/);
    await expectError(await query('connector.getStatus', '[1]'), 400, 'BAD_REQUEST', /input must be a JSON object/);
  });

  it('rejects an apiSecret that is not a non-empty string of at most 1024 characters, naming it', async () => {
    const connect = (apiSecret: unknown) => mutate('connector.connect', JSON.stringify({ connectorId: 'delivrai', apiKey: 'k', apiSecret, config: { organizationId: 'o' } }));
    await expectError(await connect(42), 400, 'BAD_REQUEST', /apiSecret must be a string/);
    await expectError(await connect('   '), 400, 'BAD_REQUEST', /apiSecret must not be empty/);
    await expectError(await connect('x'.repeat(1025)), 400, 'BAD_REQUEST', /apiSecret is at most 1024 characters/);
  });

  it('rejects an overlong connectorId', async () => {
    await expectError(await query('connector.getStatus', JSON.stringify({ connectorId: 'x'.repeat(129) })), 400, 'BAD_REQUEST', /at most 128/);
  });

  for (const limit of ['0', '101', '1.5', '"20"', '-1', 'null']) {
    it(`rejects getSyncHistory limit ${limit}`, async () => {
      await expectError(
        await query('connector.getSyncHistory', `{"connectorId":"salesforce","limit":${limit}}`),
        400,
        'BAD_REQUEST',
        /limit/,
      );
    });
  }

  it('accepts the limit bounds 1 and 100', async () => {
    for (const limit of [1, 100]) {
      expect((await query('connector.getSyncHistory', JSON.stringify({ connectorId: 'salesforce', limit }))).status).toBe(200);
    }
  });

  it('answers NOT_FOUND for an unknown connector', async () => {
    await expectError(await query('connector.getStatus', '{"connectorId":"hubspot"}'), 404, 'NOT_FOUND', /No connector "hubspot"/);
  });

  it('answers BAD_REQUEST (400) to malformed JSON in a query and in a mutation body', async () => {
    await expectError(await query('connector.getStatus', '{"connectorId":'), 400, 'BAD_REQUEST', /input is not valid JSON/);
    await expectError(await mutate('connector.disconnect', '{"connectorId": "salesforce"'), 400, 'BAD_REQUEST', /input is not valid JSON/);
  });

  it('answers PAYLOAD_TOO_LARGE (413) to an oversize body, as a tRPC error', async () => {
    await expectError(await mutate('connector.disconnect', JSON.stringify({ connectorId: 'x'.repeat(100_000) })), 413, 'PAYLOAD_TOO_LARGE', /at most 65536/);
  });

  it('answers 413 above the gateway\'s own 10 MB limit before any handler runs', async () => {
    const response = await mutate('connector.disconnect', 'x'.repeat(10 * 1024 * 1024 + 1));
    expect(response.status).toBe(413);
  });

  it('answers NOT_FOUND (404) to an unknown procedure, queried or mutated', async () => {
    await expectError(await query('connector.nope', '{}'), 404, 'NOT_FOUND');
    await expectError(await mutate('connector.nope', '{}'), 404, 'NOT_FOUND');
  });

  it('answers a batch with an unknown procedure per call: 207, the known call served, the unknown NOT_FOUND', async () => {
    const response = await fetch(`${stack.url}/trpc/connector.list,connector.nope?batch=1&input=%7B%7D`, { headers });
    const body = (await response.json()) as [{ result: { data: unknown[] } }, ErrorEnvelope];
    expect(response.status).toBe(207);
    expect(body[0].result.data).toHaveLength(5);
    expect(body[1].error.data.code).toBe('NOT_FOUND');
  });

  it('answers METHOD_NOT_SUPPORTED (405) to a query sent as a mutation', async () => {
    await expectError(await mutate('connector.list', '{}'), 405, 'METHOD_NOT_SUPPORTED');
  });

  it('quotes a connector id with bidi and NUL characters escaped, through the real client', async () => {
    const connectorId = 'sales\u202Eecrof\u0000\u2066x';
    const error = await stack.client('acme').connector.getStatus.query({ connectorId }).then(
      () => undefined,
      (caught: TRPCClientError<AppRouter>) => caught,
    );
    expect(error?.data?.code).toBe('NOT_FOUND');
    expect(error?.message).toBe('No connector "sales\\u{202E}ecrof\\u{0000}\\u{2066}x" exists in this tenant.');
    expect(error?.message).not.toMatch(/[\u0000-\u001f\u202a-\u202e\u2066-\u2069]/);
  });

  it('cuts a long connector id in a message to 64 characters and an ellipsis', async () => {
    const error = (await (await query('connector.getStatus', JSON.stringify({ connectorId: `"${'y'.repeat(127)}` }))).json()) as ErrorEnvelope;
    expect(error.error.message).toBe(`No connector "\\"${'y'.repeat(63)}…" exists in this tenant.`);
  });

  it('escapes control characters JSON.parse quotes back from the input', async () => {
    const response = await query('connector.getStatus', '\u202E\u0007not json');
    const body = (await response.json()) as ErrorEnvelope;
    expect(response.status).toBe(400);
    expect(body.error.message).toMatch(/^Invalid input: the input is not valid JSON/);
    expect(body.error.message).not.toMatch(/[\u0000-\u001f\u202a-\u202e]/);
  });

  it('quotes an unknown procedure path safely', async () => {
    const response = await query(`connector.${'\u202E'}${'z'.repeat(300)}`, '{}');
    const body = (await response.json()) as ErrorEnvelope;
    expect(response.status).toBe(404);
    expect(body.error.message).toBe(`No procedure found on path "connector.\\u{202E}${'z'.repeat(53)}…".`);
  });

  it('answers a batch of more than 10 calls with a 400 that names the limit', async () => {
    const paths = Array.from({ length: 11 }, () => 'connector.list').join(',');
    const response = await fetch(`${stack.url}/trpc/${paths}?batch=1&input=%7B%7D`, { headers });
    expect(response.status).toBe(400);
    const body = (await response.json()) as ErrorEnvelope | ErrorEnvelope[];
    const envelope = Array.isArray(body) ? body[0]! : body;
    expect(envelope.error.data.code).toBe('BAD_REQUEST');
    expect(envelope.error.message).toBe('A batch holds at most 10 calls; send the calls in smaller batches.');
    const ten = Array.from({ length: 10 }, () => 'connector.list').join(',');
    expect((await fetch(`${stack.url}/trpc/${ten}?batch=1&input=%7B%7D`, { headers })).status).toBe(200);
  });

  it('answers 404 outside the API\'s routes', async () => {
    expect((await fetch(`${stack.url}/nowhere`)).status).toBe(404);
  });
});
