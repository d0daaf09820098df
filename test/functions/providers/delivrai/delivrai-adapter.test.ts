import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, ProviderError } from '../../../../functions/core/errors';
import type { SyncType } from '../../../../functions/core/model';
import {
  DELIVRAI_WATERMARK_OVERLAP_MS,
  DELIVRAI_WINDOW_MS,
  DelivrAiAdapter,
  type DelivrAiAdapterConfig,
  rateLimitResetSeconds,
  schemaFieldNames,
} from '../../../../functions/providers/delivrai/delivrai-adapter';
import { joinApiKeyAndSecret } from '../../../../functions/providers/http';
import type { Credentials, SourcePage, SourceRecord, SyncCursor } from '../../../../functions/providers/types';
import { type DelivrAiSandbox, MAX_WINDOW_MS, startDelivrAiSandbox } from '../../../../local/sandboxes/delivrai';

const T0 = Date.UTC(2026, 2, 5, 8, 0, 0);
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const API_KEY = 'dlvr_test_4f9c2a7e1b';
const API_SECRET = '99ebda82ac1cdb68f8a9ece801051e4c';

let sandbox: DelivrAiSandbox;
/** The sandbox's data clock and the adapter's clock, moved by the tests. */
let dataNow: number;
let syncNow: number;
const credentials: Credentials = { kind: 'apiKey', apiKey: API_KEY };
const config = { organizationId: 'org-acme' };

beforeEach(async () => {
  dataNow = T0;
  syncNow = T0;
  sandbox = await startDelivrAiSandbox({ apiKey: API_KEY, apiSecret: API_SECRET, organizationId: config.organizationId, now: () => dataNow });
});
afterEach(async () => {
  await sandbox.close();
});

function adapter(overrides: DelivrAiAdapterConfig = {}): DelivrAiAdapter {
  return new DelivrAiAdapter({ baseUrl: sandbox.url, clock: () => syncNow, ...overrides });
}

/**
 * Reads pages until nextCursor is null, as the engine does (waiting out a 429 with its hint,
 * a few times at most); returns the pages, every record, and the records deduplicated by
 * (type, sourceId) as the engine upserts them.
 */
async function readAll(target: DelivrAiAdapter, mode: SyncType, watermark: Record<string, string> | null = null) {
  const pages: SourcePage[] = [];
  let cursor: SyncCursor | null = null;
  let waits = 0;
  do {
    let page: SourcePage;
    try {
      page = await target.readPage(credentials, config, { mode, cursor, watermark });
    } catch (error) {
      if (!(error instanceof ProviderError) || error.retryAfterSeconds === undefined || ++waits > 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, error.retryAfterSeconds! * 1000));
      continue;
    }
    pages.push(page);
    cursor = page.nextCursor;
    expect(pages.length).toBeLessThan(500);
  } while (cursor);
  const records = pages.flatMap((page) => page.records);
  const unique = new Map<string, SourceRecord>();
  for (const record of records) unique.set(`${record.type}#${record.sourceId}`, record);
  const of = (type: string) => [...unique.values()].filter((record) => record.type === type);
  return { pages, records, people: of('people'), accounts: of('accounts'), watermark: pages.at(-1)!.watermark, failed: pages.reduce((n, p) => n + p.failed, 0) };
}

/** Replaces the test's sandbox (same key, organization and data clock) with one started with `options`. */
async function restartSandbox(options: Parameters<typeof startDelivrAiSandbox>[0] = {}): Promise<void> {
  await sandbox.close();
  sandbox = await startDelivrAiSandbox({ apiKey: API_KEY, apiSecret: API_SECRET, organizationId: config.organizationId, now: () => dataNow, ...options });
}

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

/** Every window asked for is at most 24 hours, and the windows follow each other without gaps. */
function expectContiguousWindows(from: number, to: number): void {
  const windows = sandbox.stats().queries.filter((q) => q.offset === 0);
  expect(windows[0]!.startMs).toBe(from);
  expect(windows.at(-1)!.endMs).toBe(to);
  for (const [i, window] of windows.entries()) {
    expect(window.endMs - window.startMs).toBeLessThanOrEqual(DELIVRAI_WINDOW_MS);
    if (i > 0) expect(window.startMs).toBe(windows[i - 1]!.endMs);
  }
  expect(sandbox.stats().largestWindowMs).toBeLessThanOrEqual(MAX_WINDOW_MS);
}

describe('DelivrAiAdapter.readPage: full sync', () => {
  it('reads 30 days in 24-hour windows and yields exactly 200 people and 60 accounts', async () => {
    const { people, accounts, pages, watermark, failed } = await readAll(adapter(), 'full');
    expect(people).toHaveLength(200);
    expect(accounts).toHaveLength(60);
    expect(failed).toBe(0);
    expect(pages.length).toBe(sandbox.stats().requests);
    expect(watermark).toEqual({ eventsUntil: String(T0) });
    expectContiguousWindows(T0 - 30 * DAY, T0);
  });

  it('pages inside a window by offset, with the same result', async () => {
    // About 180 requests in a burst: past the real rate limit, which has tests of its own.
    await restartSandbox({ rateLimit: false });
    const { people, accounts, pages } = await readAll(adapter({ pageSize: 7 }), 'full');
    expect(people).toHaveLength(200);
    expect(accounts).toHaveLength(60);
    const eventCount = sandbox.data.count().events;
    expect(pages.length).toBeGreaterThan(eventCount / 7);
    expect(sandbox.stats().eventsReturned).toBe(eventCount);
    expect(sandbox.stats().queries.some((q) => q.offset > 0)).toBe(true);
  });

  it('maps a person and their company, keeping the latest visit', async () => {
    const { people, accounts, records } = await readAll(adapter(), 'full');
    const person = people[0]!;
    expect(person.sourceId).toMatch(/^dlvr_p_/);
    expect(person.attributes).toMatchObject({
      firstName: expect.any(String),
      lastName: expect.any(String),
      email: expect.stringMatching(/@/),
      title: expect.any(String),
      company: expect.any(String),
      accountId: expect.stringMatching(/^[a-z0-9]+\.[a-z]+$/),
      lastSeenAt: person.modifiedAt,
    });
    expect(accounts.map((a) => a.sourceId)).toContain(person.attributes.accountId);
    for (const account of accounts) expect(account.sourceId).toBe(account.sourceId.toLowerCase());
    // Windows run oldest first and the engine keeps the last record per sourceId: the latest visit.
    const visits = records.filter((r) => r.type === 'people' && r.sourceId === person.sourceId);
    expect(visits.length).toBeGreaterThan(1);
    expect(person.modifiedAt).toBe(visits.map((v) => v.modifiedAt!).sort().at(-1));
  });

  it('honours fullSyncLookbackDays', async () => {
    await readAll(adapter({ fullSyncLookbackDays: 3 }), 'full');
    expectContiguousWindows(T0 - 3 * DAY, T0);
    expect(sandbox.stats().queries.filter((q) => q.offset === 0)).toHaveLength(3);
  });

  it('sends the key as a bearer token with x-organization-id, so visitors come back resolved', async () => {
    // The sandbox answers unresolved events without x-organization-id; 200 people prove it was sent.
    const { people } = await readAll(adapter(), 'full');
    expect(people).toHaveLength(200);
  });
});

describe('DelivrAiAdapter.readPage: incremental sync', () => {
  it('reads only the window since the watermark and sees only the new visits', async () => {
    const full = await readAll(adapter(), 'full');
    dataNow = T0 + 2 * HOUR;
    const added = sandbox.data.addVisits(5);
    syncNow = T0 + 3 * HOUR;
    sandbox.resetStats();

    const incremental = await readAll(adapter(), 'incremental', full.watermark);

    expect(incremental.people.map((p) => p.sourceId).sort()).toEqual([...new Set(added.map((e) => e.person_id!))].sort());
    expect(incremental.accounts.map((a) => a.sourceId).sort()).toEqual([...new Set(added.map((e) => e.company_domain!.toLowerCase()))].sort());
    expect(sandbox.stats().eventsReturned).toBe(5);
    expectContiguousWindows(T0 - DELIVRAI_WATERMARK_OVERLAP_MS, T0 + 3 * HOUR);
    expect(incremental.watermark).toEqual({ eventsUntil: String(T0 + 3 * HOUR) });
  });

  it('reads nothing new when nothing happened, and moves the watermark on', async () => {
    const { watermark } = await readAll(adapter(), 'full');
    syncNow = T0 + HOUR;
    sandbox.resetStats();
    const incremental = await readAll(adapter(), 'incremental', watermark);
    expect(incremental.people).toEqual([]);
    expect(sandbox.stats().requests).toBe(1);
    expect(incremental.watermark).toEqual({ eventsUntil: String(T0 + HOUR) });
  });

  it('walks a long gap in windows no wider than 24 hours', async () => {
    const incremental = await readAll(adapter(), 'incremental', { eventsUntil: String(T0 - 10 * DAY) });
    expectContiguousWindows(T0 - 10 * DAY - DELIVRAI_WATERMARK_OVERLAP_MS, T0);
    expect(incremental.people.length).toBeGreaterThan(100);
  });

  it('starts at the lookback without a (usable) watermark', async () => {
    await readAll(adapter({ fullSyncLookbackDays: 5 }), 'incremental', null);
    expectContiguousWindows(T0 - 5 * DAY, T0);
    sandbox.resetStats();
    await readAll(adapter({ fullSyncLookbackDays: 5 }), 'incremental', { eventsUntil: 'yesterday' });
    expectContiguousWindows(T0 - 5 * DAY, T0);
  });

  it('ends at once when the watermark is in the future', async () => {
    const page = await adapter().readPage(credentials, config, { mode: 'incremental', cursor: null, watermark: { eventsUntil: String(T0 + DAY) } });
    expect(page).toEqual({ records: [], failed: 0, nextCursor: null, watermark: { eventsUntil: String(T0) } });
    expect(sandbox.stats().requests).toBe(0);
  });

  it('reports as watermark only what has been fully read', async () => {
    const target = adapter({ pageSize: 5 });
    const windowStart = T0 - 3 * DAY;
    const cursor = { windowStart, windowEnd: windowStart + DAY, offset: 0, until: T0 };
    let page = await target.readPage(credentials, config, { mode: 'full', cursor, watermark: null });
    expect(page.nextCursor).toEqual({ ...cursor, offset: 5 });
    expect(page.watermark).toEqual({ eventsUntil: String(windowStart) });
    while (page.nextCursor!.windowStart === windowStart) {
      page = await target.readPage(credentials, config, { mode: 'full', cursor: page.nextCursor, watermark: null });
    }
    expect(page.watermark).toEqual({ eventsUntil: String(windowStart + DAY) });
    expect(page.nextCursor).toEqual({ windowStart: windowStart + DAY, windowEnd: windowStart + 2 * DAY, offset: 0, until: T0 });
  });

  it('never asks for a window over 24 hours, even from a forged cursor', async () => {
    const cursor = { windowStart: T0 - 5 * DAY, windowEnd: T0, offset: 0, until: T0 };
    await adapter().readPage(credentials, config, { mode: 'full', cursor, watermark: null });
    expect(sandbox.stats().queries).toEqual([expect.objectContaining({ startMs: T0 - 5 * DAY, endMs: T0 - 4 * DAY, status: 200 })]);
  });
});

describe('DelivrAiAdapter.readPage: errors', () => {
  const firstPage = (target = adapter()) => target.readPage(credentials, config, { mode: 'full', cursor: null, watermark: null });

  it('turns a 429 into a retryable error with the Retry-After wait, and the same page then succeeds', async () => {
    sandbox.failures.throttle(1, 7);
    const error = await rejection(firstPage());
    expect(error).toMatchObject({ retryable: true, retryAfterSeconds: 7, reauthorizationRequired: false });
    expect((await firstPage()).nextCursor).toMatchObject({ windowStart: T0 - 29 * DAY, offset: 0 });
    expect(sandbox.stats().byStatus).toEqual({ '200': 1, '429': 1 });
  });

  it('turns the real rate limit into a retryable error with a wait', async () => {
    await restartSandbox({ rateLimit: { perSecond: 1, burst: 1 } });
    await firstPage();
    const error = await rejection(firstPage());
    expect(error.retryable).toBe(true);
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it('turns 502 and 500 into retryable errors', async () => {
    sandbox.failures.serverError(2);
    for (const status of [502, 500]) {
      const error = await rejection(firstPage());
      expect(error).toMatchObject({ retryable: true, reauthorizationRequired: false });
      expect(error.message).toContain(`HTTP ${status}`);
    }
  });

  it('turns malformed JSON into a retryable error', async () => {
    sandbox.failures.malformedJson(1);
    expect(await rejection(firstPage())).toMatchObject({ retryable: true, reauthorizationRequired: false });
  });

  it('turns 401 into "reconnect" without the key in the message', async () => {
    const error = await rejection(adapter().readPage({ kind: 'apiKey', apiKey: 'dlvr_wrong_key_123' }, config, { mode: 'full', cursor: null, watermark: null }));
    expect(error).toMatchObject({ reauthorizationRequired: true, retryable: false });
    expect(error.message).toMatch(/^Delivr\.ai rejected the API key/);
    expect(error.message).toMatch(/reconnect/);
    expect(error.message).not.toContain('dlvr_wrong_key_123');
  });

  it('turns 403 (another organization) into "reconnect"', async () => {
    const error = await rejection(adapter().readPage(credentials, { organizationId: 'org-other' }, { mode: 'full', cursor: null, watermark: null }));
    expect(error).toMatchObject({ reauthorizationRequired: true });
    expect(error.message).toContain('organization');
  });

  it('asks for reconnecting when the credentials or the stored config cannot work', async () => {
    const oauth = await rejection(adapter().readPage({ kind: 'oauth2', accessToken: 'x' }, config, { mode: 'full', cursor: null, watermark: null }));
    expect(oauth.reauthorizationRequired).toBe(true);
    const noOrganization = await rejection(adapter().readPage(credentials, {}, { mode: 'full', cursor: null, watermark: null }));
    expect(noOrganization.reauthorizationRequired).toBe(true);
  });

  it('turns an unreachable Delivr.ai into a retryable error', async () => {
    const url = sandbox.url;
    await sandbox.close();
    const error = await rejection(new DelivrAiAdapter({ baseUrl: url, clock: () => syncNow }).readPage(credentials, config, { mode: 'full', cursor: null, watermark: null }));
    expect(error.retryable).toBe(true);
    sandbox = await startDelivrAiSandbox();
  });
});

describe('DelivrAiAdapter.verifyApiKey', () => {
  it('accepts a good key with one request for a 1 ms window and one row', async () => {
    await adapter().verifyApiKey(API_KEY, config);
    expect(sandbox.stats().queries).toEqual([{ startMs: T0 - 1, endMs: T0, limit: 1, offset: 0, status: 200 }]);
  });

  it('rejects a wrong key with reauthorizationRequired and no key in the message', async () => {
    const error = await rejection(adapter().verifyApiKey('dlvr_wrong_key_123', config));
    expect(error).toMatchObject({ message: 'Delivr.ai rejected the API key.', reauthorizationRequired: true });
  });

  it('rejects a key for another organization', async () => {
    const error = await rejection(adapter().verifyApiKey(API_KEY, { organizationId: 'org-other' }));
    expect(error.reauthorizationRequired).toBe(true);
    expect(error.message).toMatch(/^Delivr\.ai rejected the API key for this pixel or organization/);
  });

  it('rejects a key no header can carry without calling Delivr.ai', async () => {
    const error = await rejection(adapter().verifyApiKey('two words', config));
    expect(error.reauthorizationRequired).toBe(true);
    expect(error.message).not.toContain('two words');
    expect(sandbox.stats().requests).toBe(0);
  });

  it('reports an outage as retryable, not as a rejected key', async () => {
    sandbox.failures.serverError(1);
    expect(await rejection(adapter().verifyApiKey(API_KEY, config))).toMatchObject({ retryable: true, reauthorizationRequired: false });
  });

  it('does not take a 200 that is not an events answer for a good key', async () => {
    const server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"hello":"world"}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(await rejection(new DelivrAiAdapter({ baseUrl }).verifyApiKey(API_KEY, config))).toMatchObject({ reauthorizationRequired: false });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('DelivrAiAdapter with an API key and its secret (the current scheme)', () => {
  const pairCredentials: Credentials = { kind: 'apiKey', apiKey: joinApiKeyAndSecret(API_KEY, API_SECRET) };
  const byPixel = () => ({ pixelId: sandbox.pixelId });

  it('syncs with X-Api-Key and X-Api-Secret, scoped by pixel_id, and finds every visitor resolved', async () => {
    // The sandbox refuses the pair without pixel_id and the key without its secret: 200s prove both went out.
    const page = await adapter().readPage(pairCredentials, byPixel(), { mode: 'full', cursor: null, watermark: null });
    let cursor = page.nextCursor;
    const people = new Set(page.records.filter((r) => r.type === 'people').map((r) => r.sourceId));
    while (cursor) {
      const next = await adapter().readPage(pairCredentials, byPixel(), { mode: 'full', cursor, watermark: null });
      for (const record of next.records) if (record.type === 'people') people.add(record.sourceId);
      cursor = next.nextCursor;
    }
    expect(people.size).toBe(200);
    expect(sandbox.stats().byStatus).toEqual({ '200': sandbox.stats().requests });
  });

  it('verifies the pair with one events query and the events schema', async () => {
    await adapter().verifyApiKey(pairCredentials.apiKey, byPixel());
    expect(sandbox.stats()).toMatchObject({ requests: 2, byStatus: { '200': 2 } });
    expect(sandbox.stats().queries).toEqual([{ startMs: T0 - 1, endMs: T0, limit: 1, offset: 0, status: 200 }]);
  });

  it('rejects a wrong secret as a rejected key, without the secret in the message', async () => {
    const error = await rejection(adapter().verifyApiKey(joinApiKeyAndSecret(API_KEY, 'wrong-secret-123'), byPixel()));
    expect(error).toMatchObject({ message: 'Delivr.ai rejected the API key or its secret.', reauthorizationRequired: true });
  });

  it('answers a clear bad input when Delivr.ai wants pixel_id and only organizationId was given', async () => {
    const error = await adapter().verifyApiKey(pairCredentials.apiKey, config).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(/^Delivr\.ai refused the query with this scope \(HTTP 400: pixel_id is required.*\); check pixelId and organizationId\.$/);
  });
});

describe('DelivrAiAdapter.verifyApiKey: the shape of the events', () => {
  it('answers a bad input naming the fields the mapping needs and the schema lacks', async () => {
    await restartSandbox({ omitFields: ['person_id', 'company_domain', 'job_title'] });
    const error = await adapter().verifyApiKey(API_KEY, config).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(/^Delivr\.ai's events do not carry fields this connector reads: person_id, company_domain \(per its events schema\)\./);
  });

  it('connects when only fields that fill attributes are missing', async () => {
    await restartSandbox({ omitFields: ['job_title', 'company_size'] });
    await adapter().verifyApiKey(API_KEY, config);
  });

  it('connects where the schema endpoint does not exist and the sample says nothing', async () => {
    await restartSandbox({ eventsSchema: false });
    await adapter().verifyApiKey(API_KEY, config);
    expect(sandbox.stats().byStatus).toEqual({ '200': 1, '404': 1 });
  });

  it('refuses a bearer key without organizationId: Delivr.ai would answer events without people', async () => {
    const error = await adapter().verifyApiKey(API_KEY, { pixelId: sandbox.pixelId }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(/needs organizationId/);
    expect(sandbox.stats().requests).toBe(0);
    const sync = await rejection(adapter().readPage(credentials, { pixelId: sandbox.pixelId }, { mode: 'full', cursor: null, watermark: null }));
    expect(sync.reauthorizationRequired).toBe(true);
  });
});

describe('schemaFieldNames', () => {
  it('reads a field list bare or wrapped, of objects or names', () => {
    expect(schemaFieldNames({ fields: [{ name: 'a', type: 'string' }, { name: 'b' }] })).toEqual(new Set(['a', 'b']));
    expect(schemaFieldNames([{ name: 'a' }])).toEqual(new Set(['a']));
    expect(schemaFieldNames({ schema: ['a', 'b'] })).toEqual(new Set(['a', 'b']));
    expect(schemaFieldNames({ columns: [{ name: 'a' }] })).toEqual(new Set(['a']));
  });

  it('answers undefined for anything else', () => {
    for (const answer of [{}, { fields: [] }, { fields: [{ type: 'x' }] }, 'a,b', null, { fields: 'a' }]) expect(schemaFieldNames(answer)).toBeUndefined();
  });
});

describe('DelivrAiAdapter.parseConfig', () => {
  it('answers the trimmed organization id and nothing else', () => {
    expect(adapter().parseConfig({ organizationId: '  bc638318-dba9-4c1c-9c0f-2b6a1d9f3f11 ', other: 1 })).toEqual({
      organizationId: 'bc638318-dba9-4c1c-9c0f-2b6a1d9f3f11',
    });
  });

  it('requires a scope: pixelId, organizationId or both', () => {
    for (const config of [undefined, {}, { organizationId: '' }, { organizationId: '   ' }, { organizationId: null, pixelId: ' ' }]) {
      expect(() => adapter().parseConfig(config)).toThrow(InvalidInputError);
      expect(() => adapter().parseConfig(config)).toThrow(/^Delivr\.ai needs a scope: pixelId/);
    }
    expect(adapter().parseConfig({ pixelId: ' px-1 ' })).toEqual({ pixelId: 'px-1' });
    expect(adapter().parseConfig({ pixelId: 'px-1', organizationId: 'org-1' })).toEqual({ pixelId: 'px-1', organizationId: 'org-1' });
    expect(() => adapter().parseConfig({ pixelId: 'px 1' })).toThrow(/^pixelId must be a Delivr\.ai pixel id/);
  });

  it('refuses a secret in config, which getStatus shows, and says where it goes', () => {
    for (const key of ['apiSecret', 'secret', 'apiKey']) {
      expect(() => adapter().parseConfig({ organizationId: 'org-1', [key]: 'x' })).toThrow(/send the API secret as apiSecret, beside apiKey/);
    }
  });

  it('rejects an organization id that is not one', () => {
    expect(() => adapter().parseConfig({ organizationId: 42 })).toThrow('organizationId must be a string.');
    expect(() => adapter().parseConfig({ organizationId: 'org acme' })).toThrow(/^organizationId must be a Delivr\.ai organization id/);
    expect(() => adapter().parseConfig({ organizationId: 'x'.repeat(129) })).toThrow(InvalidInputError);
  });
});

describe('DelivrAiAdapter', () => {
  it('is the delivrai provider and runs the sync type asked for', () => {
    expect(adapter().providerId).toBe('delivrai');
    expect(adapter().effectiveSyncType('incremental')).toBe('incremental');
    expect(adapter().effectiveSyncType('full')).toBe('full');
  });

  it('refuses a configuration that cannot work', () => {
    expect(() => new DelivrAiAdapter({ baseUrl: 'ftp://x' })).toThrow(/base URL/);
    expect(() => new DelivrAiAdapter({ fullSyncLookbackDays: 0 })).toThrow(/fullSyncLookbackDays/);
    expect(() => new DelivrAiAdapter({ pageSize: 1001 })).toThrow(/pageSize/);
  });
});

describe('rateLimitResetSeconds', () => {
  const now = Date.UTC(2026, 2, 5, 8, 0, 0);
  const reset = (value: string) => rateLimitResetSeconds(new Response(null, { headers: { 'X-RateLimit-Reset': value } }), now);

  it('reads epoch seconds, epoch milliseconds and seconds to wait', () => {
    expect(reset(String(now / 1000 + 4))).toBe(4);
    expect(reset(String(now + 2500))).toBe(3);
    expect(reset('2')).toBe(2);
  });

  it('never answers a negative wait, and nothing for no header or nonsense', () => {
    expect(reset(String(now / 1000 - 10))).toBe(0);
    expect(reset('soon')).toBeUndefined();
    expect(rateLimitResetSeconds(new Response(null), now)).toBeUndefined();
  });
});
