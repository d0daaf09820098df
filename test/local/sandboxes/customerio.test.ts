import { afterEach, describe, expect, it } from 'vitest';
import {
  type CustomerIoSandbox,
  type CustomerIoSandboxOptions,
  customerIoSandboxOptionsFromEnv,
  startCustomerIoSandbox,
} from '../../../local/sandboxes/customerio';

const EVERYONE = { attribute: { field: 'cio_id', operator: 'exists' } };

interface Identifier {
  email: string;
  id: string | null;
  /** A string, or a number with `cioIdAs: 'number'`. */
  cio_id: string;
}
interface ListAnswer {
  identifiers: Identifier[];
  ids: string[];
  next: string;
}
interface Customer {
  id: string | null;
  identifiers: Identifier;
  attributes: Record<string, string>;
  timestamps: Record<string, number>;
  unsubscribed: boolean;
  devices: unknown[];
}

const sandboxes: CustomerIoSandbox[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.close()));
});

async function start(options: CustomerIoSandboxOptions = {}): Promise<CustomerIoSandbox> {
  const sandbox = await startCustomerIoSandbox(options);
  sandboxes.push(sandbox);
  return sandbox;
}

/** A POST to the sandbox with a JSON body (a string is sent as is) and the given key. */
async function post(
  sandbox: CustomerIoSandbox,
  path: string,
  body: unknown,
  key: string | null = sandbox.apiKey,
): Promise<{ status: number; headers: Headers; text: string; json: () => unknown }> {
  const response = await fetch(new URL(path, sandbox.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

async function list(sandbox: CustomerIoSandbox, query: string, filter: unknown = EVERYONE): Promise<ListAnswer> {
  const answer = await post(sandbox, `/v1/customers${query}`, { filter });
  expect(answer.status, answer.text).toBe(200);
  return answer.json() as ListAnswer;
}

async function attributes(sandbox: CustomerIoSandbox, ids: string[], idType = 'cio_id'): Promise<Customer[]> {
  const answer = await post(sandbox, `/v1/customers/attributes?id_type=${idType}`, { ids });
  expect(answer.status, answer.text).toBe(200);
  return (answer.json() as { customers: Array<{ customer: Customer }> }).customers.map((entry) => entry.customer);
}

/** Walks the whole list with `limit` per page; returns every identifier and the number of pages. */
async function walk(sandbox: CustomerIoSandbox, limit: number, filter: unknown = EVERYONE): Promise<{ people: Identifier[]; pages: number }> {
  const people: Identifier[] = [];
  let start = '';
  let pages = 0;
  do {
    const page = await list(sandbox, `?limit=${limit}${start ? `&start=${encodeURIComponent(start)}` : ''}`, filter);
    pages++;
    expect(page.identifiers.length).toBeLessThanOrEqual(limit);
    expect(page.ids).toEqual(page.identifiers.map((person) => person.id ?? ''));
    people.push(...page.identifiers);
    start = page.next;
  } while (start !== '');
  return { people, pages };
}

function control(sandbox: CustomerIoSandbox, path: string, body?: unknown): Promise<Response> {
  return fetch(new URL(path, sandbox.url), body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
}

describe('Customer.io sandbox', () => {
  describe('listing people', () => {
    it('walks all 500 people exactly once, page by page, and ends with an empty next', async () => {
      const sandbox = await start({ requestsPerSecond: Infinity });

      const { people, pages } = await walk(sandbox, 37);

      expect(people).toHaveLength(500);
      expect(new Set(people.map((person) => person.cio_id)).size).toBe(500);
      expect(new Set(people.map((person) => person.email)).size).toBe(500);
      expect(pages).toBe(Math.ceil(500 / 37));
      expect(sandbox.data.count()).toBe(500);
    });

    it('pages 50 people by default and refuses a limit outside 1 to 1000', async () => {
      const sandbox = await start();

      expect((await list(sandbox, '')).identifiers).toHaveLength(50);
      expect((await list(sandbox, '?limit=1000')).identifiers).toHaveLength(500);
      expect((await post(sandbox, '/v1/customers?limit=1001', { filter: EVERYONE })).status).toBe(400);
      expect((await post(sandbox, '/v1/customers?limit=0', { filter: EVERYONE })).status).toBe(400);
    });

    it('answers the last page with an empty next, even when it is full', async () => {
      const sandbox = await start();

      const first = await list(sandbox, '?limit=250');
      const last = await list(sandbox, `?limit=250&start=${encodeURIComponent(first.next)}`);

      expect(first.next).not.toBe('');
      expect(last.identifiers).toHaveLength(250);
      expect(last.next).toBe('');
    });

    it('requires a filter: 400 without one, in the errors envelope', async () => {
      const sandbox = await start();

      const missing = await post(sandbox, '/v1/customers', {});
      const empty = await post(sandbox, '/v1/customers', { filter: {} });
      const notJson = await post(sandbox, '/v1/customers', '{"filter":');

      expect(missing.status).toBe(400);
      expect(missing.json()).toEqual({ errors: [{ detail: 'filter is required.', status: '400' }] });
      expect(empty.status).toBe(400);
      expect(notJson.status).toBe(400);
    });

    it('applies and, or, not, eq and exists conditions; a segment matches nobody', async () => {
      const sandbox = await start();
      const everyone = (await list(sandbox, '?limit=1000')).identifiers;
      const someone = everyone[123] as Identifier;

      const byEmail = await list(sandbox, '?limit=1000', { attribute: { field: 'email', operator: 'eq', value: someone.email } });
      const withoutId = await walk(sandbox, 1000, { not: { attribute: { field: 'id', operator: 'exists' } } });
      const union = await list(sandbox, '?limit=1000', {
        or: [
          { attribute: { field: 'id', operator: 'exists' } },
          { attribute: { field: 'email', operator: 'exists' } },
        ],
      });
      const segment = await list(sandbox, '?limit=1000', { segment: { id: 4 } });

      expect(byEmail.identifiers).toEqual([someone]);
      expect(withoutId.people.length).toBe(everyone.filter((person) => person.id === null).length);
      expect(withoutId.people.length).toBeGreaterThan(0);
      expect(union.identifiers).toHaveLength(500);
      expect(segment.identifiers).toEqual([]);
      expect(segment.next).toBe('');
    });

    it('refuses a start token it did not issue', async () => {
      const sandbox = await start();

      const answer = await post(sandbox, '/v1/customers?start=not-a-token', { filter: EVERYONE });

      expect(answer.status).toBe(400);
    });
  });

  describe('attributes', () => {
    it('answers the attributes of up to 100 people by cio_id, in the order asked', async () => {
      const sandbox = await start();
      const page = await list(sandbox, '?limit=100');
      const ids = page.identifiers.map((person) => person.cio_id).reverse();

      const customers = await attributes(sandbox, ids);

      expect(customers.map((customer) => customer.identifiers.cio_id)).toEqual(ids);
      for (const customer of customers) {
        expect(customer.attributes).toMatchObject({
          cio_id: customer.identifiers.cio_id,
          email: customer.identifiers.email,
          first_name: expect.any(String),
          last_name: expect.any(String),
          company: expect.any(String),
          created_at: expect.stringMatching(/^\d{10}$/),
        });
        expect(customer.timestamps.email).toEqual(expect.any(Number));
        expect(customer.unsubscribed).toEqual(expect.any(Boolean));
        expect(customer.devices).toEqual([]);
      }
    });

    it('refuses more than 100 ids, none, or ids that are not strings', async () => {
      const sandbox = await start();
      const ids = (await list(sandbox, '?limit=101')).identifiers.map((person) => person.cio_id);

      expect((await post(sandbox, '/v1/customers/attributes?id_type=cio_id', { ids })).status).toBe(400);
      expect((await post(sandbox, '/v1/customers/attributes?id_type=cio_id', { ids: [] })).status).toBe(400);
      expect((await post(sandbox, '/v1/customers/attributes?id_type=cio_id', { ids: [1, 2] })).status).toBe(400);
      expect((await post(sandbox, '/v1/customers/attributes?id_type=cio_id', {})).status).toBe(400);
      expect((await post(sandbox, '/v1/customers/attributes?id_type=cio_id', { ids: ids.slice(0, 100) })).status).toBe(200);
    });

    it('looks people up by id (the default), email or cio_id, and leaves unknown ids out', async () => {
      const sandbox = await start();
      const [withId, other] = (await list(sandbox, '?limit=1000')).identifiers.filter((person) => person.id !== null) as [Identifier, Identifier];

      const byId = await attributes(sandbox, [withId.id as string, 'no-such-id'], '');
      const byEmail = await attributes(sandbox, [other.email], 'email');
      const byCioId = await attributes(sandbox, ['ffffffff', withId.cio_id, withId.cio_id]);
      const byPhone = await post(sandbox, '/v1/customers/attributes?id_type=phone', { ids: ['+14155552671'] });

      expect(byId.map((customer) => customer.identifiers)).toEqual([withId]);
      expect(byEmail.map((customer) => customer.identifiers)).toEqual([other]);
      expect(byCioId.map((customer) => customer.identifiers)).toEqual([withId]);
      expect(byPhone.status).toBe(400);
    });
  });

  describe('authentication', () => {
    it('accepts only the configured key; anything else is a 401 with an error body', async () => {
      const sandbox = await start({ apiKey: 'key-one' });

      const right = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE }, 'key-one');
      const wrong = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE }, 'sandbox-key');
      const none = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE }, null);

      expect(right.status).toBe(200);
      expect(wrong.status).toBe(401);
      expect(none.status).toBe(401);
      expect(wrong.json()).toEqual({ errors: [{ detail: expect.stringContaining('Unauthorized'), status: '401' }] });
      expect(wrong.text).not.toContain('key-one');
    });

    it('answers 401 to the right key while unauthorized is on, as for a revoked key', async () => {
      const sandbox = await start();

      sandbox.failures.unauthorized(true);
      const revoked = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });
      sandbox.failures.unauthorized(false);
      const restored = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });

      expect(revoked.status).toBe(401);
      expect(restored.status).toBe(200);
    });
  });

  describe('failure modes', () => {
    it('throttle answers 429 with Retry-After for the next n calls, then recovers', async () => {
      const sandbox = await start();

      sandbox.failures.throttle(2, 3);
      const first = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });
      const second = await post(sandbox, '/v1/customers/attributes', { ids: ['x'] });
      const third = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });
      sandbox.failures.throttle(1, null);
      const bare = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });

      expect([first.status, second.status, third.status]).toEqual([429, 429, 200]);
      expect(first.headers.get('retry-after')).toBe('3');
      expect(bare.status).toBe(429);
      expect(bare.headers.get('retry-after')).toBeNull();
      expect(sandbox.stats().rateLimited).toBe(0);
    });

    it('exhausts a daily quota: past it every call answers 429 without Retry-After, until lifted', async () => {
      const sandbox = await start({ dailyQuota: 2 });

      const allowed = [await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE }), await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE })];
      const refused = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });
      const stillRefused = await post(sandbox, '/v1/customers/attributes', { ids: ['x'] });
      expect(sandbox.failures.state().dailyQuota).toBe(0);
      sandbox.failures.dailyQuota(null);
      const lifted = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });

      expect(allowed.map((answer) => answer.status)).toEqual([200, 200]);
      expect([refused.status, stillRefused.status]).toEqual([429, 429]);
      expect(refused.headers.get('retry-after')).toBeNull();
      expect(refused.json()).toEqual({ errors: [{ detail: expect.stringMatching(/^Daily request limit reached/), status: '429' }] });
      expect(lifted.status).toBe(200);
      expect(() => sandbox.failures.dailyQuota(-1)).toThrow(RangeError);
    });

    it('serverError answers a JSON 500 or an HTML 5xx page for the next n calls', async () => {
      const sandbox = await start();

      sandbox.failures.serverError(1);
      const json = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });
      sandbox.failures.serverError(1, 503);
      const html = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });
      const after = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });

      expect(json.status).toBe(500);
      expect(json.json()).toEqual({ errors: [{ detail: expect.any(String), status: '500' }] });
      expect(html.status).toBe(503);
      expect(html.headers.get('content-type')).toContain('text/html');
      expect(after.status).toBe(200);
    });

    it('malformedJson truncates the next successful answer', async () => {
      const sandbox = await start();

      sandbox.failures.malformedJson(1);
      const broken = await post(sandbox, '/v1/customers?limit=5', { filter: EVERYONE });
      const whole = await post(sandbox, '/v1/customers?limit=5', { filter: EVERYONE });

      expect(broken.status).toBe(200);
      expect(() => broken.json()).toThrow();
      expect(() => whole.json()).not.toThrow();
    });

    it('slow delays every answer until turned off', async () => {
      const sandbox = await start();

      sandbox.failures.slow(250);
      const started = performance.now();
      await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });
      const slowMs = performance.now() - started;
      sandbox.failures.slow(0);

      expect(slowMs).toBeGreaterThanOrEqual(240);
      expect(sandbox.failures.state().slowMs).toBe(0);
    });

    it('reset turns every failure mode off and state reports them', async () => {
      const sandbox = await start();

      sandbox.failures.unauthorized(true);
      sandbox.failures.throttle(Infinity, 5);
      sandbox.failures.serverError(3, 502);
      sandbox.failures.malformedJson(2);
      sandbox.failures.slow(10);
      const before = sandbox.failures.state();
      sandbox.failures.reset();

      expect(before).toEqual({
        unauthorized: true,
        throttle: 'always',
        throttleRetryAfterSeconds: 5,
        serverError: 3,
        serverErrorStatus: 502,
        malformedJson: 2,
        slowMs: 10,
        dailyQuota: null,
      });
      expect(sandbox.failures.state()).toEqual({
        unauthorized: false,
        throttle: 0,
        throttleRetryAfterSeconds: 1,
        serverError: 0,
        serverErrorStatus: 500,
        malformedJson: 0,
        slowMs: 0,
        dailyQuota: null,
      });
      expect((await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE })).status).toBe(200);
      expect(() => sandbox.failures.throttle(-1)).toThrow(RangeError);
      expect(() => sandbox.failures.serverError(1, 404)).toThrow(RangeError);
    });
  });

  describe('identifiers and deprecated fields', () => {
    it('writes cio_id as a number when asked to, and finds people by its decimal digits', async () => {
      const sandbox = await start({ cioIdAs: 'number' });

      const page = await list(sandbox, '?limit=3');
      const ids: unknown[] = page.identifiers.map((person) => person.cio_id);
      const customers = await attributes(sandbox, ids.map(String));

      expect(ids.every((id) => typeof id === 'number')).toBe(true);
      expect(customers.map((customer) => customer.identifiers.cio_id)).toEqual(ids);
      expect(customers.map((customer) => customer.attributes.cio_id)).toEqual(ids.map(String));
    });

    it('leaves the deprecated timestamps out when asked to', async () => {
      const sandbox = await start({ timestamps: false });

      const [person] = await attributes(sandbox, [String((await list(sandbox, '?limit=1')).identifiers[0]!.cio_id)]);

      expect(person).not.toHaveProperty('timestamps');
      expect(person!.attributes.email).toMatch(/@/);
    });
  });

  /**
   * Requests the real App API refuses: an adapter that comes to send one of them fails here,
   * not in a customer's first sync.
   */
  describe('the contract (requests Customer.io refuses)', () => {
    const send = (sandbox: CustomerIoSandbox, path: string, body: unknown, headers: Record<string, string>) =>
      fetch(new URL(path, sandbox.url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const bearer = (sandbox: CustomerIoSandbox) => ({ authorization: `Bearer ${sandbox.apiKey}` });
    const contract: Array<{ refused: string; path: string; body: unknown; headers: (sandbox: CustomerIoSandbox) => Record<string, string>; status: number }> = [
      { refused: 'a list without a filter', path: '/v1/customers?limit=1', body: {}, headers: bearer, status: 400 },
      { refused: 'a list with an empty filter', path: '/v1/customers?limit=1', body: { filter: {} }, headers: bearer, status: 400 },
      { refused: 'a filter with two conditions side by side', path: '/v1/customers?limit=1', body: { filter: { ...EVERYONE, and: [EVERYONE] } }, headers: bearer, status: 400 },
      { refused: 'a page over 1000', path: '/v1/customers?limit=1001', body: { filter: EVERYONE }, headers: bearer, status: 400 },
      {
        refused: 'Track API credentials (Basic site id and key)',
        path: '/v1/customers?limit=1',
        body: { filter: EVERYONE },
        headers: (sandbox) => ({ authorization: `Basic ${Buffer.from(`site-id:${sandbox.apiKey}`).toString('base64')}` }),
        status: 401,
      },
      { refused: 'the key without "Bearer"', path: '/v1/customers?limit=1', body: { filter: EVERYONE }, headers: (sandbox) => ({ authorization: sandbox.apiKey }), status: 401 },
      { refused: 'attributes of more than 100 people', path: '/v1/customers/attributes?id_type=cio_id', body: { ids: Array.from({ length: 101 }, (_, i) => String(i)) }, headers: bearer, status: 400 },
      { refused: 'attributes of nobody', path: '/v1/customers/attributes?id_type=cio_id', body: { ids: [] }, headers: bearer, status: 400 },
      { refused: 'an unknown id_type', path: '/v1/customers/attributes?id_type=phone', body: { ids: ['x'] }, headers: bearer, status: 400 },
    ];

    it.each(contract)('refuses $refused with $status, in the errors envelope', async ({ path, body, headers, status }) => {
      const sandbox = await start();
      const response = await send(sandbox, path, body, headers(sandbox));
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual({ errors: [{ detail: expect.any(String), status: String(status) }] });
    });
  });

  describe('rate limit', () => {
    it('answers 429 past 10 requests in a rolling second, per key, and lets requests through again a second later', async () => {
      const sandbox = await start();
      const call = (key: string = sandbox.apiKey) => post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE }, key);

      const burst = await Promise.all(Array.from({ length: 12 }, () => call()));
      const otherKey = await call('someone-else');
      const limited = burst.filter((answer) => answer.status === 429);
      await new Promise((resolve) => setTimeout(resolve, 1050));
      const later = await call();

      expect(burst.filter((answer) => answer.status === 200)).toHaveLength(10);
      expect(limited).toHaveLength(2);
      expect(limited[0]?.headers.get('retry-after')).toBe('1');
      expect(otherKey.status).toBe(401);
      expect(later.status).toBe(200);
      expect(sandbox.stats().rateLimited).toBe(2);
    });

    it('lets a client that keeps to 10 requests a second through without a 429', async () => {
      const sandbox = await start();

      for (let i = 0; i < 10; i++) await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });

      expect(sandbox.stats().byStatus).toEqual({ 200: 10 });
    });
  });

  describe('HTTP control endpoints', () => {
    it('sets failure modes with POST /__sandbox/failures and reports them in GET /__sandbox/state', async () => {
      const sandbox = await start();

      const set = await control(sandbox, '/__sandbox/failures', {
        throttle: { times: 1, retryAfterSeconds: 2 },
        serverError: { times: 'always', status: 503 },
        unauthorized: true,
      });
      const state = (await (await control(sandbox, '/__sandbox/state')).json()) as Record<string, unknown>;
      const throttled = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });
      const failing = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });
      await control(sandbox, '/__sandbox/failures', { reset: true, malformedJson: 1 });
      const malformed = await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });

      expect(set.status).toBe(200);
      expect(state).toMatchObject({
        url: sandbox.url,
        count: 500,
        requestsPerSecond: 10,
        failures: { throttle: 1, throttleRetryAfterSeconds: 2, serverError: 'always', serverErrorStatus: 503, unauthorized: true },
        stats: { requests: 0 },
      });
      expect(JSON.stringify(state)).not.toContain(sandbox.apiKey);
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get('retry-after')).toBe('2');
      expect(failing.status).toBe(503);
      expect(malformed.status).toBe(200);
      expect(() => malformed.json()).toThrow();
    });

    it('refuses unknown failure modes and bad values without changing anything', async () => {
      const sandbox = await start();

      const unknown = await control(sandbox, '/__sandbox/failures', { explode: true });
      const badTimes = await control(sandbox, '/__sandbox/failures', { throttle: 'often', slow: 100 });

      expect(unknown.status).toBe(400);
      expect(((await unknown.json()) as { error: string }).error).toContain('explode');
      expect(badTimes.status).toBe(400);
      expect(sandbox.failures.state().slowMs).toBe(0);
    });

    it('changes data with POST /__sandbox/data and resets stats with POST /__sandbox/stats/reset', async () => {
      const sandbox = await start();
      await post(sandbox, '/v1/customers?limit=1', { filter: EVERYONE });

      const changed = await control(sandbox, '/__sandbox/data', { add: 3, remove: 5, modify: 2 });
      const reset = await control(sandbox, '/__sandbox/stats/reset', {});

      expect(changed.status).toBe(200);
      expect(await changed.json()).toMatchObject({ count: 498, changed: { add: expect.any(Array), remove: expect.any(Array) } });
      expect(await reset.json()).toMatchObject({ requests: 0 });
      expect(sandbox.stats().requests).toBe(0);
    });
  });

  describe('data', () => {
    it('is deterministic: the same seed gives the same people, another seed other people', async () => {
      const [a, b, c] = await Promise.all([start(), start(), start({ seed: 7 })]);

      const [first, second, third] = await Promise.all([list(a, '?limit=20'), list(b, '?limit=20'), list(c, '?limit=20')]);
      const ids = first.identifiers.map((person) => person.cio_id);
      const [attributesA, attributesB] = await Promise.all([attributes(a, ids), attributes(b, ids)]);

      expect(second).toEqual(first);
      expect(attributesB).toEqual(attributesA);
      expect(third.identifiers).not.toEqual(first.identifiers);
    });

    it('add, modify and remove change what the list and the attributes show', async () => {
      const sandbox = await start({ requestsPerSecond: Infinity });
      const [toModify] = sandbox.data.modify(1) as [string];
      const removed = sandbox.data.remove(4);
      const added = sandbox.data.add(2);

      const { people } = await walk(sandbox, 100);
      const listed = people.map((person) => person.cio_id);
      const [modified] = await attributes(sandbox, [toModify]);
      const gone = await attributes(sandbox, removed);

      expect(sandbox.data.count()).toBe(498);
      expect(listed).toHaveLength(498);
      expect(listed.slice(-2)).toEqual(added);
      expect(listed.filter((cioId) => removed.includes(cioId))).toEqual([]);
      expect(gone).toEqual([]);
      expect(Math.max(...Object.values(modified?.timestamps ?? {}))).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 5);
      expect(() => sandbox.data.remove(1000)).toThrow(RangeError);
    });

    it('sizes the data set from SANDBOX_CUSTOMERIO_PEOPLE and refuses nonsense', () => {
      expect(customerIoSandboxOptionsFromEnv({})).toEqual({});
      expect(customerIoSandboxOptionsFromEnv({ SANDBOX_CUSTOMERIO_PEOPLE: '1200', SANDBOX_CUSTOMERIO_API_KEY: 'k' })).toEqual({ people: 1200, apiKey: 'k' });
      expect(() => customerIoSandboxOptionsFromEnv({ SANDBOX_CUSTOMERIO_PEOPLE: '-3' })).toThrow(/SANDBOX_CUSTOMERIO_PEOPLE/);
    });
  });

  it('counts requests per endpoint and per status', async () => {
    const sandbox = await start();

    await list(sandbox, '?limit=2');
    await attributes(sandbox, ['ffffffff']);
    await post(sandbox, '/v1/campaigns', {});
    await post(sandbox, '/v1/customers', {}, 'wrong');

    expect(sandbox.stats()).toMatchObject({
      requests: 4,
      byEndpoint: { listCustomers: 2, customerAttributes: 1, notFound: 1 },
      byStatus: { 200: 2, 404: 1, 401: 1 },
    });
    sandbox.resetStats();
    expect(sandbox.stats().requests).toBe(0);
  });
});
