import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type DelivrAiSandbox,
  type DelivrAiSandboxOptions,
  type DelivrAiWireEvent,
  delivrAiSandboxOptionsFromEnv,
  HISTORY_MS,
  MAX_WINDOW_MS,
  QUIET_MS,
  startDelivrAiSandbox,
} from '../../../local/sandboxes/delivrai';

const T0 = Date.UTC(2026, 2, 5, 8, 0, 0);
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

interface EventsAnswer {
  data: DelivrAiWireEvent[];
  total: number;
  limit: number;
  offset: number;
}

let sandbox: DelivrAiSandbox;
let dataNow: number;
const opened: DelivrAiSandbox[] = [];

async function start(options: DelivrAiSandboxOptions = {}): Promise<DelivrAiSandbox> {
  const started = await startDelivrAiSandbox({ now: () => dataNow, ...options });
  opened.push(started);
  return started;
}

beforeEach(async () => {
  dataNow = T0;
  sandbox = await start();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

/** The headers of the older (deprecated) scheme: bearer key plus organization. */
function auth(target: DelivrAiSandbox = sandbox): Record<string, string> {
  return { Authorization: `Bearer ${target.apiKey}`, 'x-organization-id': target.organizationId };
}

/** The headers of the current scheme: the organization's key and its secret. */
function pair(target: DelivrAiSandbox = sandbox): Record<string, string> {
  return { 'X-Api-Key': target.apiKey, 'X-Api-Secret': target.apiSecret };
}

function events(params: Record<string, string | number | undefined>, headers: Record<string, string> = auth(), target = sandbox): Promise<Response> {
  const url = new URL('/api/v1/events', target.url);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, String(value));
  return fetch(url, { headers });
}

/** A query of the organization over [start, end). */
function window(startMs: number, endMs: number, extra: Record<string, string | number> = {}, target = sandbox) {
  return events({ organization_id: target.organizationId, start_ms: startMs, end_ms: endMs, ...extra }, auth(target), target);
}

async function ok(response: Response | Promise<Response>): Promise<EventsAnswer> {
  const answer = await response;
  expect(answer.status).toBe(200);
  return (await answer.json()) as EventsAnswer;
}

/** Every event of the generated history, read day by day and page by page. */
async function wholeHistory(target = sandbox): Promise<DelivrAiWireEvent[]> {
  const all: DelivrAiWireEvent[] = [];
  for (let from = T0 - HISTORY_MS; from < T0; from += DAY) {
    for (let offset = 0; ; ) {
      const page = await ok(window(from, from + DAY, { offset, limit: 1000 }, target));
      all.push(...page.data);
      offset += page.data.length;
      if (offset >= page.total) break;
    }
  }
  return all;
}

async function control(path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(new URL(path, sandbox.url), {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('Delivr.ai sandbox: the generated history', () => {
  it('holds 200 resolved visitors from 60 companies, several events each, in the 14 days before start (not the last hour)', async () => {
    const all = await wholeHistory();
    expect(new Set(all.map((e) => e.person_id)).size).toBe(200);
    expect(new Set(all.map((e) => e.company_domain?.toLowerCase())).size).toBe(60);
    expect(all.length).toBeGreaterThanOrEqual(400);
    expect(sandbox.data.count()).toEqual({ events: all.length, people: 200, companies: 60 });
    for (const event of all) {
      expect(event.timestamp).toBeGreaterThanOrEqual(T0 - HISTORY_MS);
      expect(event.timestamp).toBeLessThan(T0 - QUIET_MS);
    }
  });

  it('gives each event a resolved person and a company', async () => {
    const [event] = (await ok(window(T0 - HISTORY_MS, T0 - HISTORY_MS + DAY))).data;
    expect(event).toMatchObject({
      event_id: expect.stringMatching(/^evt_/),
      timestamp: expect.any(Number),
      resolved: true,
      person_id: expect.stringMatching(/^dlvr_p_[0-9a-f]{16}$/),
      first_name: expect.any(String),
      last_name: expect.any(String),
      email: expect.stringMatching(/@/),
      job_title: expect.any(String),
      company_name: expect.any(String),
      company_domain: expect.stringMatching(/^[A-Za-z0-9]+\.[a-z]+$/),
      company_industry: expect.any(String),
      company_size: expect.stringMatching(/^\d+-\d+$/),
      organization_id: sandbox.organizationId,
    });
  });

  it('repeats people across windows and keeps each person at one company', async () => {
    const all = await wholeHistory();
    const daysSeen = new Map<string, Set<number>>();
    const companyOf = new Map<string, string>();
    for (const event of all) {
      const day = Math.floor((event.timestamp - (T0 - HISTORY_MS)) / DAY);
      daysSeen.set(event.person_id!, (daysSeen.get(event.person_id!) ?? new Set()).add(day));
      const domain = event.company_domain!.toLowerCase();
      expect(companyOf.get(event.person_id!) ?? domain).toBe(domain);
      companyOf.set(event.person_id!, domain);
    }
    expect([...daysSeen.values()].filter((days) => days.size > 1).length).toBeGreaterThan(100);
  });

  it('is the same for the same seed and start time, and differs for another seed', async () => {
    const twin = await start();
    const other = await start({ seed: 7 });
    expect(await wholeHistory(twin)).toEqual(await wholeHistory());
    expect(await wholeHistory(other)).not.toEqual(await wholeHistory());
  });

  it('adds visits stamped now, by existing and new people, that the next query sees', async () => {
    const before = sandbox.data.count();
    dataNow = T0 + HOUR;
    const added = sandbox.data.addVisits(5);
    expect(added).toHaveLength(5);
    for (const event of added) expect(event).toMatchObject({ timestamp: T0 + HOUR, resolved: true });
    expect(sandbox.data.count().events).toBe(before.events + 5);
    const page = await ok(window(T0, T0 + 2 * HOUR));
    expect(page.data.map((e) => e.event_id)).toEqual(added.map((e) => e.event_id).sort());
  });
});

describe('Delivr.ai sandbox: GET /api/v1/events', () => {
  it('answers {data, total, limit, offset} in time then id order, 300 rows by default', async () => {
    const page = await ok(window(T0 - HISTORY_MS, T0 - HISTORY_MS + MAX_WINDOW_MS));
    expect(Object.keys(page).sort()).toEqual(['data', 'limit', 'offset', 'total']);
    expect(page).toMatchObject({ limit: 300, offset: 0 });
    expect(page.total).toBe(page.data.length);
    const order = page.data.map((e) => [e.timestamp, e.event_id] as const);
    expect(order).toEqual([...order].sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1])));
  });

  it('pages a window by offset without gaps or repeats', async () => {
    const from = T0 - 3 * DAY;
    const whole = await ok(window(from, from + DAY, { limit: 1000 }));
    expect(whole.total).toBeGreaterThan(10);
    const paged: DelivrAiWireEvent[] = [];
    for (let offset = 0; offset < whole.total; offset += 7) {
      const page = await ok(window(from, from + DAY, { limit: 7, offset }));
      expect(page).toMatchObject({ total: whole.total, limit: 7, offset });
      paged.push(...page.data);
    }
    expect(paged).toEqual(whole.data);
    expect((await ok(window(from, from + DAY, { offset: whole.total }))).data).toEqual([]);
  });

  it('includes start_ms and excludes end_ms', async () => {
    const [first] = (await ok(window(T0 - 2 * DAY, T0 - DAY))).data;
    const at = first!.timestamp;
    expect((await ok(window(at, at + 1))).data.map((e) => e.event_id)).toContain(first!.event_id);
    expect((await ok(window(at - 1, at))).data.map((e) => e.event_id)).not.toContain(first!.event_id);
  });

  it('accepts a window of exactly 25 hours and rejects a longer one with 400', async () => {
    await ok(window(T0 - 2 * DAY, T0 - 2 * DAY + MAX_WINDOW_MS));
    const response = await window(T0 - 2 * DAY, T0 - 2 * DAY + MAX_WINDOW_MS + 1);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'bad_request', message: expect.stringContaining('25 hours') });
    expect(sandbox.stats().largestWindowMs).toBe(MAX_WINDOW_MS + 1);
  });

  it('requires exactly one of organization_id, pixel_id and project_id', async () => {
    const range = { start_ms: T0 - DAY, end_ms: T0 };
    expect((await events(range)).status).toBe(400);
    expect((await events({ ...range, organization_id: sandbox.organizationId, pixel_id: sandbox.pixelId })).status).toBe(400);
    const byOrganization = await ok(events({ ...range, organization_id: sandbox.organizationId }));
    expect(await ok(events({ ...range, pixel_id: sandbox.pixelId }))).toEqual(byOrganization);
    expect(await ok(events({ ...range, project_id: sandbox.projectId }))).toEqual(byOrganization);
  });

  it('answers 403 for a scope id the key does not own', async () => {
    expect((await events({ organization_id: 'someone-else', start_ms: T0 - DAY, end_ms: T0 })).status).toBe(403);
    expect((await events({ pixel_id: 'someone-elses-pixel', start_ms: T0 - DAY, end_ms: T0 })).status).toBe(403);
  });

  it('rejects a missing window, a reversed one and bad paging values with 400', async () => {
    const organization_id = sandbox.organizationId;
    expect((await events({ organization_id, start_ms: T0 - DAY })).status).toBe(400);
    expect((await events({ organization_id, start_time: '2026-03-01', end_time: '2026-03-02' })).status).toBe(400);
    expect((await window(T0, T0 - 1)).status).toBe(400);
    expect((await window(T0 - DAY, T0, { limit: 0 })).status).toBe(400);
    expect((await window(T0 - DAY, T0, { limit: 'ten' })).status).toBe(400);
    expect((await window(T0 - DAY, T0, { offset: -1 })).status).toBe(400);
  });

  it('serves at most 1000 rows and says so in limit', async () => {
    const big = await start({ visitors: 400, companies: 10, seed: 3 });
    dataNow = T0 + HOUR;
    big.data.addVisits(1200);
    const page = await ok(window(T0, T0 + 2 * HOUR, { limit: 5000 }, big));
    expect(page).toMatchObject({ limit: 1000, total: 1200 });
    expect(page.data).toHaveLength(1000);
  });

  it('answers 404 for other paths', async () => {
    expect((await fetch(new URL('/api/v1/nothing', sandbox.url), { headers: auth() })).status).toBe(404);
  });
});

describe('Delivr.ai sandbox: authentication', () => {
  const range = () => ({ organization_id: sandbox.organizationId, start_ms: T0 - DAY, end_ms: T0 });

  it('accepts the key as a bearer token with x-organization-id and returns resolved visitors', async () => {
    const page = await ok(events(range()));
    expect(page.data.length).toBeGreaterThan(0);
    expect(page.data.every((e) => e.resolved && e.person_id)).toBe(true);
  });

  it('accepts the current scheme, X-Api-Key with X-Api-Secret, scoped by pixel, with resolved visitors', async () => {
    const byPixel = { pixel_id: sandbox.pixelId, start_ms: T0 - DAY, end_ms: T0 };
    expect(await ok(events(byPixel, pair()))).toEqual(await ok(events(range())));
    // The pair is the organization's; x-organization-id may name it.
    expect((await events(byPixel, { ...pair(), 'x-organization-id': sandbox.organizationId })).status).toBe(200);
  });

  it('honours the apiSecret option', async () => {
    const custom = await start({ apiSecret: 'custom-secret' });
    expect(custom.apiSecret).toBe('custom-secret');
    const byPixel = { pixel_id: custom.pixelId, start_ms: T0 - DAY, end_ms: T0 };
    expect((await events(byPixel, pair(custom), custom)).status).toBe(200);
    expect((await events(byPixel, { 'X-Api-Key': custom.apiKey, 'X-Api-Secret': 'sandbox-secret' }, custom)).status).toBe(401);
  });

  it('answers 401 for a missing or wrong key', async () => {
    const attempts: Array<Record<string, string>> = [{}, { Authorization: 'Bearer wrong' }, { 'X-API-Key': 'wrong' }, { Authorization: sandbox.apiKey }];
    for (const headers of attempts) {
      const response = await events(range(), headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'unauthorized' });
    }
  });

  it('answers 403 for another organization in x-organization-id', async () => {
    const response = await events(range(), { ...auth(), 'x-organization-id': 'someone-else' });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: 'forbidden' });
  });

  it('returns raw events without person or company when x-organization-id is missing', async () => {
    const page = await ok(events(range(), { Authorization: `Bearer ${sandbox.apiKey}` }));
    expect(page.data.length).toBeGreaterThan(0);
    for (const event of page.data) {
      expect(event.resolved).toBe(false);
      expect(event.person_id).toBeUndefined();
      expect(event.company_domain).toBeUndefined();
    }
  });

  it('honours the apiKey and organizationId options', async () => {
    const custom = await start({ apiKey: 'dlvr_custom', organizationId: 'org-42' });
    expect(custom).toMatchObject({ apiKey: 'dlvr_custom', organizationId: 'org-42' });
    expect((await window(T0 - DAY, T0, {}, custom)).status).toBe(200);
    expect((await events({ organization_id: 'org-42', start_ms: T0 - DAY, end_ms: T0 }, auth(sandbox), custom)).status).toBe(401);
  });
});

/**
 * Requests the real Delivr.ai refuses, by its current documentation: an adapter that comes
 * to send one of them fails here, not in a customer's first sync.
 */
describe('Delivr.ai sandbox: the contract (requests Delivr.ai refuses)', () => {
  const window = (scope: Record<string, string>) => ({ ...scope, start_ms: T0 - DAY, end_ms: T0 });
  const contract: Array<{ refused: string; scope: () => Record<string, string>; headers: () => Record<string, string>; status: number }> = [
    { refused: 'X-Api-Key without X-Api-Secret (the older apiv2 scheme)', scope: () => ({ pixel_id: sandbox.pixelId }), headers: () => ({ 'X-Api-Key': sandbox.apiKey }), status: 401 },
    { refused: 'X-Api-Key with a wrong secret', scope: () => ({ pixel_id: sandbox.pixelId }), headers: () => ({ 'X-Api-Key': sandbox.apiKey, 'X-Api-Secret': 'wrong' }), status: 401 },
    { refused: 'the secret as a bearer token', scope: () => ({ pixel_id: sandbox.pixelId }), headers: () => ({ Authorization: `Bearer ${sandbox.apiSecret}` }), status: 401 },
    { refused: 'the key without "Bearer"', scope: () => ({ organization_id: sandbox.organizationId }), headers: () => ({ Authorization: sandbox.apiKey }), status: 401 },
    { refused: 'the current scheme without pixel_id (apiv3 requires it)', scope: () => ({ organization_id: sandbox.organizationId }), headers: () => pair(), status: 400 },
    { refused: 'a pixel of another organization', scope: () => ({ pixel_id: 'someone-elses-pixel' }), headers: () => pair(), status: 403 },
    { refused: 'x-organization-id of another organization', scope: () => ({ organization_id: 'someone-else' }), headers: () => ({ ...auth(), 'x-organization-id': 'someone-else' }), status: 403 },
    { refused: 'no scope at all', scope: () => ({}), headers: () => pair(), status: 400 },
  ];

  it.each(contract)('refuses $refused with $status', async ({ scope, headers, status }) => {
    expect((await events(window(scope()), headers())).status).toBe(status);
  });

  it('refuses a window over 25 hours with 400, in either scheme', async () => {
    const wide = { pixel_id: sandbox.pixelId, start_ms: T0 - DAY - 2 * HOUR, end_ms: T0 };
    expect((await events(wide, pair())).status).toBe(400);
    expect((await events({ ...wide, pixel_id: undefined, organization_id: sandbox.organizationId }, auth())).status).toBe(400);
  });
});

describe('Delivr.ai sandbox: GET /api/v1/events_schema', () => {
  const schema = (target = sandbox, headers: Record<string, string> = pair(target)) => fetch(new URL('/api/v1/events_schema', target.url), { headers });

  it('lists every field an event carries, with type and nullability, in either scheme', async () => {
    const response = await schema();
    expect(response.status).toBe(200);
    const { fields } = (await response.json()) as { fields: Array<{ name: string; type: string; nullable: boolean }> };
    expect(fields).toContainEqual({ name: 'person_id', type: 'string', nullable: true });
    expect(fields).toContainEqual({ name: 'timestamp', type: 'int64', nullable: false });
    const [event] = (await ok(window(T0 - HISTORY_MS, T0 - HISTORY_MS + DAY))).data;
    expect(fields.map((field) => field.name).sort()).toEqual(Object.keys(event!).sort());
    expect((await schema(sandbox, auth())).status).toBe(200);
  });

  it('needs the key like the events do', async () => {
    expect((await schema(sandbox, {})).status).toBe(401);
    expect((await schema(sandbox, { 'X-Api-Key': sandbox.apiKey })).status).toBe(401);
  });

  it('leaves omitted fields out of the schema and of every event', async () => {
    const drifted = await start({ omitFields: ['person_id', 'company_domain'] });
    const { fields } = (await (await schema(drifted)).json()) as { fields: Array<{ name: string }> };
    expect(fields.map((field) => field.name)).not.toContain('person_id');
    expect(fields.map((field) => field.name)).not.toContain('company_domain');
    const page = await ok(window(T0 - HISTORY_MS, T0 - HISTORY_MS + DAY, {}, drifted));
    expect(page.data.length).toBeGreaterThan(0);
    for (const event of page.data) expect(Object.keys(event)).not.toContain('person_id');
  });

  it('changes the omitted fields while running, in code and over HTTP', async () => {
    const names = async () => ((await (await schema()).json()) as { fields: Array<{ name: string }> }).fields.map((field) => field.name);
    sandbox.omitFields(['email']);
    expect(await names()).not.toContain('email');
    expect(await control('/__sandbox/fields', { omit: ['person_id'] })).toEqual({ status: 200, body: { omitted: ['person_id'] } });
    expect(await names()).toContain('email');
    expect(await names()).not.toContain('person_id');
    expect((await control('/__sandbox/fields', { omit: 'person_id' })).status).toBe(400);
    sandbox.omitFields([]);
    expect(await names()).toContain('person_id');
  });

  it('answers 404 where the endpoint does not exist', async () => {
    expect((await schema(await start({ eventsSchema: false }))).status).toBe(404);
  });
});

describe('Delivr.ai sandbox: rate limit', () => {
  it('enforces 25 requests per second per organization with a burst of 50', async () => {
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 70 }, () => window(T0 - HOUR, T0)));
    const elapsedSeconds = (performance.now() - started) / 1000;
    const allowed = answers.filter((a) => a.status === 200).length;
    // The burst, plus what 25 per second refilled while the requests were being served.
    expect(allowed).toBeGreaterThanOrEqual(50);
    expect(allowed).toBeLessThanOrEqual(50 + Math.ceil(elapsedSeconds * 25));
    expect(allowed).toBeLessThan(70);
    const limited = answers.find((a) => a.status === 429)!;
    expect(limited.headers.get('x-ratelimit-limit')).toBe('25');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
    expect(sandbox.stats().rateLimited).toBe(70 - allowed);
  });

  it('refills the bucket on real time, even with the data clock frozen', async () => {
    const tight = await start({ rateLimit: { perSecond: 2, burst: 2 } });
    expect((await window(T0 - HOUR, T0, {}, tight)).status).toBe(200);
    expect((await window(T0 - HOUR, T0, {}, tight)).status).toBe(200);
    expect((await window(T0 - HOUR, T0, {}, tight)).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const again = await window(T0 - HOUR, T0, {}, tight);
    expect(again.status).toBe(200);
    expect(again.headers.get('x-ratelimit-limit')).toBe('2');
    expect(again.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
  });

  it('can be turned off', async () => {
    const unlimited = await start({ rateLimit: false });
    const answers = await Promise.all(Array.from({ length: 80 }, () => window(T0 - HOUR, T0, {}, unlimited)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
  });
});

describe('Delivr.ai sandbox: failure modes', () => {
  it('throttles the next n calls with 429, Retry-After and X-RateLimit-* headers, then recovers', async () => {
    sandbox.failures.throttle(2, 7);
    for (let i = 0; i < 2; i++) {
      const response = await window(T0 - HOUR, T0);
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('7');
      expect(response.headers.get('x-ratelimit-limit')).toBe('25');
      expect(response.headers.get('x-ratelimit-remaining')).toBe('0');
      const reset = Number(response.headers.get('x-ratelimit-reset'));
      expect(reset - Date.now() / 1000).toBeGreaterThan(5);
      expect(await response.json()).toMatchObject({ error: 'rate_limited' });
    }
    expect((await window(T0 - HOUR, T0)).status).toBe(200);
  });

  it('answers server errors (502 HTML, then 500 JSON) before checking the key, then recovers', async () => {
    sandbox.failures.serverError(2);
    const first = await events({}, {});
    expect(first.status).toBe(502);
    expect(first.headers.get('content-type')).toMatch(/text\/html/);
    const second = await window(T0 - HOUR, T0);
    expect(second.status).toBe(500);
    expect(await second.json()).toMatchObject({ error: 'internal_error' });
    expect((await window(T0 - HOUR, T0)).status).toBe(200);
  });

  it('truncates the next n successful answers into invalid JSON', async () => {
    sandbox.failures.malformedJson(1);
    const broken = await window(T0 - DAY, T0);
    expect(broken.status).toBe(200);
    await expect(broken.clone().json()).rejects.toThrow();
    expect((await broken.text()).length).toBeGreaterThan(0);
    await ok(window(T0 - DAY, T0));
  });

  it('delays every answer when slow', async () => {
    sandbox.failures.slow(150);
    const started = performance.now();
    await ok(window(T0 - HOUR, T0));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('keeps failing until reset with Infinity, and reset turns everything off', async () => {
    sandbox.failures.serverError(Infinity);
    sandbox.failures.slow(10);
    expect((await window(T0 - HOUR, T0)).status).toBe(502);
    expect((await window(T0 - HOUR, T0)).status).toBe(500);
    expect(sandbox.failures.state()).toMatchObject({ serverError: 'always', slowMs: 10 });
    sandbox.failures.reset();
    expect(sandbox.failures.state()).toEqual({ throttle: 0, throttleResetSeconds: 1, serverError: 0, malformedJson: 0, slowMs: 0 });
    expect((await window(T0 - HOUR, T0)).status).toBe(200);
  });

  it('rejects nonsense counts', () => {
    expect(() => sandbox.failures.throttle(-1)).toThrow(RangeError);
    expect(() => sandbox.failures.serverError(1.5)).toThrow(RangeError);
    expect(() => sandbox.failures.slow(-5)).toThrow(RangeError);
  });
});

describe('Delivr.ai sandbox: control endpoints', () => {
  it('sets failure modes over HTTP and shows them in the state', async () => {
    const set = await control('/__sandbox/failures', { throttle: { times: 1, resetSeconds: 3 }, malformedJson: 'always', slow: 5 });
    expect(set).toEqual({ status: 200, body: { throttle: 1, throttleResetSeconds: 3, serverError: 0, malformedJson: 'always', slowMs: 5 } });
    const throttled = await window(T0 - HOUR, T0);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('3');
    expect((await control('/__sandbox/failures', { reset: true, serverError: 1 })).body).toMatchObject({ malformedJson: 0, serverError: 1 });
  });

  it('rejects unknown failure modes and bad values with 400', async () => {
    expect((await control('/__sandbox/failures', { explode: true })).status).toBe(400);
    expect((await control('/__sandbox/failures', { throttle: 'often' })).status).toBe(400);
  });

  it('shows ids, counts, failures and stats in the state, never the key', async () => {
    await ok(window(T0 - DAY, T0));
    const response = await fetch(new URL('/__sandbox/state', sandbox.url));
    const text = await response.text();
    expect(text).not.toContain(sandbox.apiKey);
    expect(JSON.parse(text)).toMatchObject({
      url: sandbox.url,
      organizationId: sandbox.organizationId,
      pixelId: sandbox.pixelId,
      projectId: sandbox.projectId,
      counts: { people: 200, companies: 60 },
      failures: { throttle: 0 },
      stats: { requests: 1, byStatus: { '200': 1 } },
    });
  });

  it('adds visits and resets stats over HTTP, uncounted', async () => {
    await ok(window(T0 - DAY, T0));
    const added = await control('/__sandbox/data', { addVisits: 3 });
    expect(added.status).toBe(200);
    expect(added.body.added).toHaveLength(3);
    expect(sandbox.stats().requests).toBe(1);
    expect((await control('/__sandbox/stats/reset', {})).body).toMatchObject({ requests: 0, queries: [] });
    expect((await control('/__sandbox/data', { addVisits: -1 })).status).toBe(400);
  });

  it('records the window, paging and status of each events query', async () => {
    await ok(window(T0 - DAY, T0, { limit: 10, offset: 20 }));
    await window(T0 - 2 * DAY, T0);
    expect(sandbox.stats().queries).toEqual([
      { startMs: T0 - DAY, endMs: T0, limit: 10, offset: 20, status: 200 },
      { startMs: T0 - 2 * DAY, endMs: T0, limit: 300, offset: 0, status: 400 },
    ]);
  });
});

describe('delivrAiSandboxOptionsFromEnv', () => {
  it('reads sizes, key and organization, keeping defaults for unset variables', () => {
    expect(delivrAiSandboxOptionsFromEnv({})).toEqual({ visitors: 200, companies: 60 });
    expect(
      delivrAiSandboxOptionsFromEnv({
        SANDBOX_DELIVRAI_VISITORS: '1000',
        SANDBOX_DELIVRAI_COMPANIES: ' 80 ',
        SANDBOX_DELIVRAI_API_KEY: 'k',
        SANDBOX_DELIVRAI_API_SECRET: 's',
        SANDBOX_DELIVRAI_ORGANIZATION_ID: 'o',
      }),
    ).toEqual({ visitors: 1000, companies: 80, apiKey: 'k', apiSecret: 's', organizationId: 'o' });
  });

  it('names the variable and value it cannot read', () => {
    expect(() => delivrAiSandboxOptionsFromEnv({ SANDBOX_DELIVRAI_VISITORS: 'many' })).toThrow("SANDBOX_DELIVRAI_VISITORS must be a positive integer of at most 1000000, got 'many'");
  });
});
