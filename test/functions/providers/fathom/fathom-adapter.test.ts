import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidInputError, ProviderError } from '../../../../functions/core/errors';
import type { SyncType } from '../../../../functions/core/model';
import { FATHOM_API_BASE_URL, FATHOM_WATERMARK_OVERLAP_MS, FathomAdapter, rateLimitResetSeconds } from '../../../../functions/providers/fathom/fathom-adapter';
import { peopleOf } from '../../../../functions/providers/fathom/fathom-meetings';
import { joinApiKeyAndSecret } from '../../../../functions/providers/http';
import type { Credentials, SourcePage, SourceRecord, SyncCursor } from '../../../../functions/providers/types';
import { type FathomMeeting, type FathomSandbox, startFathomSandbox } from '../../../../local/sandboxes/fathom';

/** A key that must never show up in a message. */
const API_KEY = 'fk_live_7Hq2SecretKeyValue';

let sandbox: FathomSandbox;
let adapter: FathomAdapter;
let credentials: Credentials;
beforeEach(async () => {
  sandbox = await startFathomSandbox({ apiKey: API_KEY });
  adapter = new FathomAdapter({ baseUrl: sandbox.url });
  credentials = { kind: 'apiKey', apiKey: API_KEY };
});
afterEach(async () => {
  await sandbox.close();
});

/** What the engine does: read pages until nextCursor is null; the last page's watermark is kept. */
async function readAll(mode: SyncType, watermark: Record<string, string> | null = null, target = adapter) {
  const pages: SourcePage[] = [];
  let cursor: SyncCursor | null = null;
  do {
    const page = await target.readPage(credentials, {}, { mode, cursor, watermark });
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor);
  const records = pages.flatMap((page) => page.records);
  return { pages, records, watermark: pages.at(-1)?.watermark ?? null };
}

/** The engine's view: one entity per (type, sourceId). */
function entities(records: SourceRecord[]): Map<string, SourceRecord> {
  return new Map(records.map((record) => [`${record.type}#${record.sourceId}`, record]));
}

/** The people in these meetings, as lowercased emails (invitees and recorders). */
function peopleIn(meetings: readonly FathomMeeting[]): Set<string> {
  return new Set(
    meetings
      .flatMap((meeting) => [...meeting.calendar_invitees.flatMap((invitee) => (invitee.email === null ? [] : [invitee.email])), meeting.recorded_by.email])
      .map((email) => email.toLowerCase()),
  );
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => expect.fail('expected the call to fail'),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  const providerError = error as ProviderError;
  expect(providerError.provider).toBe('Fathom');
  expect(providerError.message).not.toContain(API_KEY);
  expect(JSON.stringify(providerError)).not.toContain(API_KEY);
  return providerError;
}

describe('FathomAdapter: full sync', () => {
  it('reads every page until nextCursor is null and yields exactly the 120 distinct people', async () => {
    const { pages, records, watermark } = await readAll('full');
    expect(pages).toHaveLength(4);
    expect(pages.every((page) => page.failed === 0)).toBe(true);
    const people = entities(records);
    expect(people.size).toBe(120);
    expect(new Set(people.keys())).toEqual(new Set([...peopleIn(sandbox.data.meetings())].map((email) => `people#${email}`)));
    expect(sandbox.stats()).toMatchObject({ requests: 4, meetingsReturned: 40 });
    expect(watermark).toEqual({ createdAfter: sandbox.data.meetings().at(-1)?.created_at });
  });

  it('maps a person to sourceId = lowercased email with name, email and isExternal', async () => {
    const { records } = await readAll('full');
    for (const record of records) {
      expect(record.type).toBe('people');
      expect(record.sourceId).toBe(record.sourceId.toLowerCase());
      expect(record.attributes).toEqual({ email: record.sourceId, name: expect.any(String), isExternal: expect.any(Boolean) });
      expect(record.attributes.isExternal).toBe(!record.sourceId.endsWith('@northwind.example'));
    }
  });

  it('lists a person once per page even when invited to several of its meetings in other letter cases', async () => {
    const { pages } = await readAll('full');
    for (const page of pages) expect(new Set(page.records.map((record) => record.sourceId)).size).toBe(page.records.length);
    const spellings = sandbox.data.meetings().flatMap((meeting) => meeting.calendar_invitees.map((invitee) => invitee.email!));
    expect(spellings.some((email) => email !== email.toLowerCase())).toBe(true);
  });

  it('keeps the latest created_at as the watermark when Fathom lists newest first', async () => {
    const newestFirst = await startFathomSandbox({ apiKey: API_KEY, order: 'desc' });
    try {
      const { pages, records, watermark } = await readAll('full', null, new FathomAdapter({ baseUrl: newestFirst.url }));
      expect(entities(records).size).toBe(120);
      expect(watermark).toEqual({ createdAfter: newestFirst.data.meetings().at(-1)?.created_at });
      // The last page holds the oldest meetings; the watermark came along in the cursor.
      expect(pages.at(-1)?.nextCursor).toBeNull();
    } finally {
      await newestFirst.close();
    }
  });

  it('ignores a stored watermark: a full sync reads everything', async () => {
    const { records } = await readAll('full', { createdAfter: sandbox.data.meetings().at(-1)!.created_at });
    expect(entities(records).size).toBe(120);
  });
});

describe('FathomAdapter: incremental sync', () => {
  /** The meetings of the generated data set within the overlap before the watermark: the last one (they are days apart). */
  const overlapped = () => sandbox.data.meetings().slice(-1);

  it('reads only the meetings created after the watermark, less the overlap: the new people and the known ones in them', async () => {
    const full = await readAll('full');
    const known = new Set(entities(full.records).keys());
    const lastBefore = overlapped();
    const added = sandbox.data.addMeetings(2, { newInvitees: 3 });
    sandbox.resetStats();

    const { records, watermark } = await readAll('incremental', full.watermark);

    expect(sandbox.stats()).toMatchObject({ requests: 1, meetingsReturned: 3 });
    const people = entities(records);
    expect(new Set([...people.values()].map((record) => record.sourceId))).toEqual(new Set([...peopleIn(added), ...peopleIn(lastBefore)]));
    expect([...people.keys()].filter((key) => !known.has(key))).toHaveLength(3);
    expect(watermark).toEqual({ createdAfter: added[1]?.created_at });
  });

  it('re-reads only the overlap right after a sync, and keeps the watermark', async () => {
    const full = await readAll('full');
    const again = await readAll('incremental', full.watermark);
    expect(new Set(again.records.map((record) => record.sourceId))).toEqual(peopleIn(overlapped()));
    expect(again.pages).toHaveLength(1);
    expect(again.watermark).toEqual(full.watermark);
  });

  it('finds a meeting listed late, created a little before the watermark', async () => {
    const full = await readAll('full');
    const known = new Set(entities(full.records).keys());
    const [late] = sandbox.data.addMeetings(1, { newInvitees: 2, lateBySeconds: 90 });
    expect(Date.parse(late!.created_at)).toBeLessThan(Date.parse(full.watermark!.createdAfter!));
    expect(90_000).toBeLessThan(FATHOM_WATERMARK_OVERLAP_MS);

    const { records, watermark } = await readAll('incremental', full.watermark);

    expect([...entities(records).keys()].filter((key) => !known.has(key))).toHaveLength(2);
    // The watermark never moves back to the late meeting.
    expect(watermark).toEqual(full.watermark);
  });

  it('sends the created_after filter with every cursor, so later pages stay filtered', async () => {
    const full = await readAll('full');
    const lastBefore = overlapped();
    const added = sandbox.data.addMeetings(15, { newInvitees: 20 });
    sandbox.resetStats();
    const { pages, records } = await readAll('incremental', full.watermark);
    expect(pages).toHaveLength(2);
    expect(sandbox.stats().meetingsReturned).toBe(16);
    expect(new Set(records.map((record) => record.sourceId))).toEqual(new Set([...peopleIn(added), ...peopleIn(lastBefore)]));
  });
});

describe('FathomAdapter: invitees without an email', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('skips them without counting them as failed: each page counts them apart', async () => {
    sandbox.data.addMeetings(2, { inviteesWithoutEmail: 3 });

    const { pages, records } = await readAll('full');

    expect(pages.reduce((sum, page) => sum + page.failed, 0)).toBe(0);
    expect(pages.reduce((sum, page) => sum + (page.skipped ?? 0), 0)).toBe(6);
    expect(entities(records).size).toBe(120);
  });

  it('counts a malformed email as failed, and a missing or empty one as skipped', () => {
    const meeting = {
      calendar_invitees: [
        { name: 'Room', email: null },
        { name: 'Dial-in' },
        { name: 'Blank', email: ' ' },
        { name: 'Typo', email: 'not-an-address' },
        { name: 'Ada', email: 'Ada@Example.com' },
      ],
    };
    expect(peopleOf([meeting])).toMatchObject({ failed: 1, skipped: 3, records: [{ sourceId: 'ada@example.com' }] });
  });
});

describe('FathomAdapter: incremental sync settings', () => {

  it('reads everything when there is no usable watermark yet', async () => {
    expect(entities((await readAll('incremental', null)).records).size).toBe(120);
    expect(entities((await readAll('incremental', { createdAfter: 'not a date' })).records).size).toBe(120);
  });

  it('runs incremental syncs as incremental: Fathom filters by created_after', () => {
    expect(adapter.effectiveSyncType('incremental')).toBe('incremental');
    expect(adapter.effectiveSyncType('full')).toBe('full');
  });
});

describe('FathomAdapter: API key', () => {
  it('refuses an API secret, which Fathom does not issue, without calling it', async () => {
    await expect(adapter.verifyApiKey(joinApiKeyAndSecret(API_KEY, 'a-secret'), {})).rejects.toThrow(InvalidInputError);
    expect(sandbox.stats().requests).toBe(0);
  });

  it('accepts a working key with one call, trimming what was pasted around it', async () => {
    await adapter.verifyApiKey(`  ${API_KEY}\n`, {});
    expect(sandbox.stats()).toMatchObject({ requests: 1, byStatus: { '200': 1 } });
  });

  it('rejects a key Fathom refuses with reauthorizationRequired, never quoting it', async () => {
    const error = await failure(adapter.verifyApiKey('fk_live_wrong', {}));
    expect(error.message).toBe('Fathom rejected the API key.');
    expect(error.message).not.toContain('fk_live_wrong');
    expect(error.reauthorizationRequired).toBe(true);
    expect(error.retryable).toBe(false);
  });

  it('refuses an empty or unusable key as invalid input, without calling Fathom', async () => {
    for (const key of ['', '   ', 'two words', 'line\nbreak']) {
      await expect(adapter.verifyApiKey(key, {})).rejects.toBeInstanceOf(InvalidInputError);
    }
    expect(sandbox.stats().requests).toBe(0);
  });

  it('answers 401 during a sync with reauthorizationRequired and a sentence that says to reconnect', async () => {
    credentials = { kind: 'apiKey', apiKey: 'fk_live_revoked' };
    const error = await failure(adapter.readPage(credentials, {}, { mode: 'full', cursor: null, watermark: null }));
    expect(error.message).toMatch(/^Fathom rejected the API key.*reconnect Fathom/);
    expect(error.message).not.toContain('fk_live_revoked');
    expect(error).toMatchObject({ reauthorizationRequired: true, retryable: false });
  });

  it('refuses OAuth credentials: Fathom connects with an API key', async () => {
    credentials = { kind: 'oauth2', accessToken: API_KEY };
    const error = await failure(adapter.readPage(credentials, {}, { mode: 'full', cursor: null, watermark: null }));
    expect(error.reauthorizationRequired).toBe(true);
    expect(sandbox.stats().requests).toBe(0);
  });
});

describe('FathomAdapter: throttling and outages', () => {
  const firstPage = () => adapter.readPage(credentials, {}, { mode: 'full', cursor: null, watermark: null });

  it('turns a 429 into a retryable error that waits for RateLimit-Reset', async () => {
    sandbox.failures.throttle(1, 17);
    const error = await failure(firstPage());
    expect(error).toMatchObject({ retryable: true, retryAfterSeconds: 17, reauthorizationRequired: false });
    expect(error.message).toMatch(/rate limit/i);
    expect((await firstPage()).records.length).toBeGreaterThan(0);
  });

  it('waits for the real window when the 60 calls of the last minute are used up', async () => {
    for (let i = 0; i < 60; i++) await firstPage();
    sandbox.advanceTime(15_000);
    const error = await failure(firstPage());
    expect(error).toMatchObject({ retryable: true, retryAfterSeconds: 45 });
    sandbox.advanceTime(45_000);
    expect((await firstPage()).records.length).toBeGreaterThan(0);
  });

  it('says a throttled key check may be retried', async () => {
    sandbox.failures.throttle(1, 5);
    const error = await failure(adapter.verifyApiKey(API_KEY, {}));
    expect(error).toMatchObject({ retryable: true, retryAfterSeconds: 5, reauthorizationRequired: false });
  });

  it('turns 5xx answers (JSON or a gateway’s HTML) into retryable errors', async () => {
    sandbox.failures.serverError(2);
    for (const status of [500, 502]) {
      const error = await failure(firstPage());
      expect(error.message).toContain(`HTTP ${status}`);
      expect(error).toMatchObject({ retryable: true, reauthorizationRequired: false });
    }
  });

  it('turns a 200 with broken JSON into a retryable error', async () => {
    sandbox.failures.malformedJson(1);
    const error = await failure(firstPage());
    expect(error.retryable).toBe(true);
  });

  it('fails without retrying on a cursor Fathom refuses', async () => {
    const error = await failure(adapter.readPage(credentials, {}, { mode: 'full', cursor: { cursor: 'garbage', latestCreatedAt: null }, watermark: null }));
    expect(error).toMatchObject({ retryable: false, reauthorizationRequired: false });
    expect(error.message).toContain('HTTP 400');
  });
});

describe('FathomAdapter: settings', () => {
  it('takes no settings: undefined and {} give {}', () => {
    expect(adapter.parseConfig(undefined)).toEqual({});
    expect(adapter.parseConfig({})).toEqual({});
  });

  it('refuses any setting, naming it, so none is stored and silently ignored', () => {
    expect(() => adapter.parseConfig({ baseUrl: 'https://elsewhere.example' })).toThrow(InvalidInputError);
    expect(() => adapter.parseConfig({ region: 'eu', team: 'Sales' })).toThrow(/"region", "team"/);
  });

  it('talks to api.fathom.ai by default and refuses a base URL that is not http(s)', () => {
    expect(FATHOM_API_BASE_URL).toBe('https://api.fathom.ai/external/v1');
    expect(new FathomAdapter().providerId).toBe('fathom');
    expect(() => new FathomAdapter({ baseUrl: 'ftp://fathom.example' })).toThrow(TypeError);
    expect(() => new FathomAdapter({ baseUrl: 'not a url' })).toThrow(TypeError);
  });

  it('accepts a base URL with a trailing slash', async () => {
    const slashed = new FathomAdapter({ baseUrl: `${sandbox.url}/` });
    await slashed.verifyApiKey(API_KEY, {});
  });
});

describe('rateLimitResetSeconds', () => {
  const at = (headers: Record<string, string>) => rateLimitResetSeconds(new Response(null, { status: 429, headers }), 1_800_000_000_000);

  it('reads delta seconds, rounding up', () => {
    expect(at({ 'RateLimit-Reset': '17' })).toBe(17);
    expect(at({ 'RateLimit-Reset': ' 2.5 ' })).toBe(3);
    expect(at({ 'RateLimit-Reset': '0' })).toBe(0);
  });

  it('reads an epoch timestamp as the time until then', () => {
    expect(at({ 'RateLimit-Reset': '1800000030' })).toBe(30);
  });

  it('gives undefined when the header is missing or not a number', () => {
    expect(at({})).toBeUndefined();
    expect(at({ 'RateLimit-Reset': 'soon' })).toBeUndefined();
    expect(at({ 'RateLimit-Reset': '-3' })).toBeUndefined();
  });
});

describe('FathomAdapter: a 429 without RateLimit-Reset', () => {
  /** A bare server that answers every call 429 with these headers. */
  async function throttlingServer(headers: Record<string, string>) {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => res.writeHead(429, headers).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return { url: `http://127.0.0.1:${port}/external/v1`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it('waits for Retry-After when that is all Fathom sends, and for the whole 60-second window when it sends nothing', async () => {
    for (const [headers, wait] of [[{ 'Retry-After': '9' }, 9], [{}, 60]] as const) {
      const server = await throttlingServer(headers);
      try {
        const error = await failure(new FathomAdapter({ baseUrl: server.url }).verifyApiKey(API_KEY, {}));
        expect(error).toMatchObject({ retryable: true, retryAfterSeconds: wait });
      } finally {
        await server.close();
      }
    }
  });
});
