import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeCursor,
  FATHOM_DATA_SET_DAYS,
  FATHOM_DATA_SET_END,
  type FathomMeeting,
  type FathomSandbox,
  fathomSandboxSizesFromEnv,
  INTERNAL_DOMAIN,
  startFathomSandbox,
} from '../../../local/sandboxes/fathom';

interface MeetingsPage {
  limit: number;
  next_cursor: string | null;
  items: FathomMeeting[];
}

const DAY_MS = 24 * 3600 * 1000;

let sandbox: FathomSandbox;
beforeEach(async () => {
  sandbox = await startFathomSandbox();
});
afterEach(async () => {
  await sandbox.close();
});

/** `GET /external/v1/meetings` with the sandbox's key unless told otherwise. */
function list(params: Record<string, string> = {}, headers: Record<string, string> = { 'X-Api-Key': sandbox.apiKey }, target = sandbox): Promise<Response> {
  const query = new URLSearchParams(params).toString();
  return fetch(`${target.url}/meetings${query ? `?${query}` : ''}`, { headers });
}

async function page(params: Record<string, string> = {}): Promise<MeetingsPage> {
  const response = await list(params);
  expect(response.status).toBe(200);
  return (await response.json()) as MeetingsPage;
}

/** Follows next_cursor to the end, sending `params` with every page. */
async function everyPage(params: Record<string, string> = {}, target = sandbox): Promise<MeetingsPage[]> {
  const pages: MeetingsPage[] = [];
  let cursor: string | null = null;
  do {
    const response = await list({ ...params, ...(cursor ? { cursor } : {}) }, { 'X-Api-Key': target.apiKey }, target);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as MeetingsPage;
    pages.push(answer);
    cursor = answer.next_cursor;
  } while (cursor);
  return pages;
}

function rateLimit(response: Response): { limit: string | null; remaining: string | null; reset: string | null } {
  return {
    limit: response.headers.get('ratelimit-limit'),
    remaining: response.headers.get('ratelimit-remaining'),
    reset: response.headers.get('ratelimit-reset'),
  };
}

async function control(path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${sandbox.origin}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Makes `n` accepted calls (a call that fails the test if it is refused). */
async function calls(n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect((await list()).status).toBe(200);
}

describe('Fathom sandbox: listing meetings', () => {
  it('lists the 40 meetings 10 a page, oldest first, with a Fathom-like cursor until next_cursor is null', async () => {
    const pages = await everyPage();
    expect(pages.map((answer) => answer.items.length)).toEqual([10, 10, 10, 10]);
    expect(pages.map((answer) => answer.limit)).toEqual([10, 10, 10, 10]);
    expect(pages[0]?.next_cursor).toBe('eyJwYWdlX251bSI6Mn0='); // {"page_num":2}, as in Fathom's examples
    expect(pages.at(-1)?.next_cursor).toBeNull();
    const stamps = pages.flatMap((answer) => answer.items.map((meeting) => meeting.created_at));
    expect(stamps).toEqual([...stamps].sort());
    expect(new Set(stamps).size).toBe(40);
    expect(sandbox.stats()).toMatchObject({ requests: 4, byStatus: { '200': 4 }, meetingsReturned: 40 });
  });

  it('answers meetings in Fathom’s shape', async () => {
    const [meeting] = (await page({ limit: '1' })).items;
    expect(meeting).toMatchObject({
      title: expect.any(String),
      recording_id: expect.any(Number),
      url: expect.stringMatching(/^https:\/\/fathom\.video\//),
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      calendar_invitees: expect.arrayContaining([{ name: expect.any(String), email: expect.any(String), email_domain: expect.any(String), is_external: expect.any(Boolean) }]),
      recorded_by: { name: expect.any(String), email: expect.any(String), email_domain: INTERNAL_DOMAIN, team: expect.any(String) },
    });
  });

  it('lists only meetings created strictly after created_after', async () => {
    const all = sandbox.data.meetings();
    const after = all[29]?.created_at as string;
    const pages = await everyPage({ created_after: after });
    const listed = pages.flatMap((answer) => answer.items.map((meeting) => meeting.recording_id));
    expect(listed).toEqual(all.slice(30).map((meeting) => meeting.recording_id));
    // An offset and a fractional second work too.
    const offset = after.replace('Z', '.000+00:00');
    expect((await page({ created_after: offset })).items).toHaveLength(10);
    expect((await page({ created_after: '2000-01-01' })).items).toHaveLength(10);
  });

  it('keeps no filter in the cursor: the next page is filtered only when the filter is sent again', async () => {
    const all = sandbox.data.meetings();
    const after = all[14]?.created_at as string;
    const first = await page({ created_after: after });
    const cursor = first.next_cursor as string;
    const refiltered = await page({ created_after: after, cursor });
    const unfiltered = await page({ cursor });
    expect(refiltered.items.map((meeting) => meeting.recording_id)).toEqual(all.slice(25, 35).map((meeting) => meeting.recording_id));
    expect(unfiltered.items.map((meeting) => meeting.recording_id)).toEqual(all.slice(10, 20).map((meeting) => meeting.recording_id));
  });

  it('honours a limit of 1 to 100 and refuses others, bad timestamps and bad cursors with 400', async () => {
    expect((await page({ limit: '25' })).items).toHaveLength(25);
    expect((await page({ limit: '100' })).next_cursor).toBeNull();
    const refused: Array<Record<string, string>> = [{ limit: '0' }, { limit: '101' }, { limit: 'ten' }, { created_after: 'yesterday' }, { created_after: '1700000000' }, { cursor: 'not-a-cursor' }, { cursor: encodeCursor(0) }];
    for (const params of refused) {
      const response = await list(params);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: expect.any(String) });
    }
  });

  it('lists newest first when started with order "desc"', async () => {
    const newestFirst = await startFathomSandbox({ order: 'desc' });
    try {
      const pages = await everyPage({}, newestFirst);
      const stamps = pages.flatMap((answer) => answer.items.map((meeting) => meeting.created_at));
      expect(stamps).toEqual([...stamps].sort().reverse());
      expect(stamps).toHaveLength(40);
    } finally {
      await newestFirst.close();
    }
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    expect((await fetch(`${sandbox.url}/teams`, { headers: { 'X-Api-Key': sandbox.apiKey } })).status).toBe(404);
    expect((await fetch(`${sandbox.origin}/meetings`, { headers: { 'X-Api-Key': sandbox.apiKey } })).status).toBe(404);
    const post = await fetch(`${sandbox.url}/meetings`, { method: 'POST', headers: { 'X-Api-Key': sandbox.apiKey } });
    expect(post.status).toBe(405);
  });
});

describe('Fathom sandbox: API key', () => {
  it('answers 401 with a JSON error when X-Api-Key is missing, wrong, or sent as a bearer token', async () => {
    const attempts: Array<Record<string, string>> = [{}, { 'X-Api-Key': 'wrong-key' }, { 'X-Api-Key': `${sandbox.apiKey}x` }, { Authorization: `Bearer ${sandbox.apiKey}` }];
    for (const headers of attempts) {
      const response = await list({}, headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: 'Invalid or missing API key' });
    }
    expect(sandbox.stats().byStatus).toEqual({ '401': 4 });
  });

  it('accepts only the key it was started with', async () => {
    const other = await startFathomSandbox({ apiKey: 'fk_other' });
    try {
      expect((await list({}, { 'X-Api-Key': 'sandbox-key' }, other)).status).toBe(401);
      expect((await list({}, { 'X-Api-Key': 'fk_other' }, other)).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe('Fathom sandbox: 60 calls per 60 seconds, for real', () => {
  it('sends RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset with every answer', async () => {
    expect(rateLimit(await list())).toEqual({ limit: '60', remaining: '59', reset: '60' });
    sandbox.advanceTime(10_000);
    expect(rateLimit(await list())).toEqual({ limit: '60', remaining: '58', reset: '50' });
  });

  it('refuses the 61st call within 60 seconds with 429, and says when a slot frees up', async () => {
    await calls(59);
    sandbox.advanceTime(20_000);
    expect(rateLimit(await list())).toEqual({ limit: '60', remaining: '0', reset: '40' });
    const refused = await list();
    expect(refused.status).toBe(429);
    expect(rateLimit(refused)).toEqual({ limit: '60', remaining: '0', reset: '40' });
    expect(refused.headers.get('retry-after')).toBeNull();
    expect(await refused.json()).toEqual({ error: 'Rate limit exceeded' });
  });

  it('is a rolling window: each call leaves it 60 seconds after it was made', async () => {
    await calls(30);
    sandbox.advanceTime(30_000);
    await calls(30);
    expect((await list()).status).toBe(429);
    sandbox.advanceTime(30_000);
    // The first 30 calls have left the window; the last 30 have not (a fixed window would allow 60).
    await calls(30);
    const refused = await list();
    expect(refused.status).toBe(429);
    expect(rateLimit(refused).reset).toBe('30');
  });

  it('does not count refused calls or calls with a wrong key', async () => {
    for (let i = 0; i < 5; i++) expect((await list({}, { 'X-Api-Key': 'wrong' })).status).toBe(401);
    await calls(60);
    sandbox.advanceTime(30_000);
    for (let i = 0; i < 5; i++) expect((await list()).status).toBe(429);
    sandbox.advanceTime(30_000);
    // Had the refusals 30 seconds ago counted, only 55 calls would be allowed now.
    await calls(60);
  });
});

describe('Fathom sandbox: failure modes', () => {
  it('throttle(n, resetSeconds): the next n calls answer 429 with that RateLimit-Reset, outside the real window', async () => {
    sandbox.failures.throttle(2, 17);
    for (let i = 0; i < 2; i++) {
      const refused = await list();
      expect(refused.status).toBe(429);
      expect(rateLimit(refused)).toEqual({ limit: '60', remaining: '0', reset: '17' });
    }
    const accepted = await list();
    expect(accepted.status).toBe(200);
    expect(rateLimit(accepted).remaining).toBe('59');
  });

  it('throttle(n) without a reset says 60 seconds', async () => {
    sandbox.failures.throttle(1);
    expect(rateLimit(await list()).reset).toBe('60');
  });

  it('serverError(n): a 500 with JSON, then a 502 HTML page, then normal answers', async () => {
    sandbox.failures.serverError(2);
    const first = await list();
    expect(first.status).toBe(500);
    expect(await first.json()).toEqual({ error: 'Internal Server Error' });
    const second = await list();
    expect(second.status).toBe(502);
    expect(second.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await list()).status).toBe(200);
  });

  it('malformedJson(n): the next answer is a 200 whose JSON is cut short', async () => {
    sandbox.failures.malformedJson(1);
    const broken = await list();
    expect(broken.status).toBe(200);
    const text = await broken.text();
    expect(() => JSON.parse(text)).toThrow();
    expect((await page()).items).toHaveLength(10);
  });

  it('slow(ms): answers wait at least that long', async () => {
    sandbox.failures.slow(150);
    const started = performance.now();
    await list();
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('Infinity means always, until reset; reset turns everything off and empties the window', async () => {
    await calls(10);
    sandbox.failures.serverError(Infinity);
    for (let i = 0; i < 3; i++) expect((await list()).status).toBeGreaterThanOrEqual(500);
    sandbox.failures.throttle(3, 5);
    sandbox.failures.malformedJson(3);
    sandbox.failures.slow(10);
    expect(sandbox.failures.state()).toEqual({ throttle: 3, throttleResetSeconds: 5, serverError: 'always', malformedJson: 3, slowMs: 10 });
    sandbox.failures.reset();
    expect(sandbox.failures.state()).toEqual({ throttle: 0, throttleResetSeconds: 60, serverError: 0, malformedJson: 0, slowMs: 0 });
    const fresh = await list();
    expect(fresh.status).toBe(200);
    expect(rateLimit(fresh).remaining).toBe('59');
  });

  it('refuses bad counts', () => {
    expect(() => sandbox.failures.throttle(-1)).toThrow(RangeError);
    expect(() => sandbox.failures.serverError(1.5)).toThrow(RangeError);
    expect(() => sandbox.failures.slow(-5)).toThrow(RangeError);
  });
});

describe('Fathom sandbox: HTTP control endpoints', () => {
  it('switches failure modes with POST /__sandbox/failures', async () => {
    const answer = await control('/__sandbox/failures', { throttle: { times: 1, resetSeconds: 17 }, serverError: 'always' });
    expect(answer).toEqual({ status: 200, body: { throttle: 1, throttleResetSeconds: 17, serverError: 'always', malformedJson: 0, slowMs: 0 } });
    const throttled = await list();
    expect(throttled.status).toBe(429);
    expect(rateLimit(throttled).reset).toBe('17');
    expect((await list()).status).toBe(500);
    await control('/__sandbox/failures', { reset: true });
    expect((await list()).status).toBe(200);
  });

  it('rejects unknown modes and bad values with 400 and changes nothing', async () => {
    for (const body of [{ explode: true }, { serverError: -1 }, { throttle: { times: 1, resetSeconds: 'soon' } }, { serverError: 2, slow: 'very' }, []]) {
      const answer = await control('/__sandbox/failures', body);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toEqual(expect.any(String));
    }
    expect(sandbox.failures.state()).toMatchObject({ serverError: 0, throttle: 0, slowMs: 0 });
  });

  it('reports meetings, people, failure modes, the window and stats with GET /__sandbox/state, never the key', async () => {
    await calls(3);
    const { status, body } = await control('/__sandbox/state');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      url: sandbox.url,
      meetings: 40,
      distinctInvitees: 120,
      order: 'asc',
      failures: { throttle: 0, serverError: 0 },
      rateLimit: { limit: 60, windowMs: 60_000, used: 3 },
      stats: { requests: 3, meetingsReturned: 30 },
    });
    expect(JSON.stringify(body)).not.toContain(sandbox.apiKey);
  });

  it('adds meetings with POST /__sandbox/data and resets stats with POST /__sandbox/stats/reset', async () => {
    const { status, body } = await control('/__sandbox/data', { addMeetings: 2, newInvitees: 3 });
    expect(status).toBe(200);
    expect(body).toMatchObject({ meetings: 42, distinctInvitees: 123 });
    expect(body.added).toHaveLength(2);
    expect((await control('/__sandbox/data', { addMeetings: 0, newInvitees: 1 })).status).toBe(400);
    expect((await control('/__sandbox/data', { removeMeetings: 1 })).status).toBe(400);
    await calls(1);
    expect((await control('/__sandbox/stats/reset', {})).body).toEqual({ requests: 0, byStatus: {}, meetingsReturned: 0 });
  });

  it('is not counted, delayed or failed', async () => {
    sandbox.failures.serverError(Infinity);
    sandbox.failures.slow(300);
    const started = performance.now();
    expect((await control('/__sandbox/state')).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(250);
    expect(sandbox.stats().requests).toBe(0);
  });
});

describe('Fathom sandbox: data set', () => {
  const emailsOf = (meetings: readonly FathomMeeting[]) => meetings.flatMap((meeting) => meeting.calendar_invitees.flatMap((invitee) => (invitee.email === null ? [] : [invitee.email])));

  it('is the same for the same seed and different for another seed', async () => {
    const twin = await startFathomSandbox();
    const other = await startFathomSandbox({ seed: 7 });
    try {
      const [mine, twins, others] = await Promise.all([everyPage(), everyPage({}, twin), everyPage({}, other)]);
      expect(twins).toEqual(mine);
      expect(others).not.toEqual(mine);
    } finally {
      await Promise.all([twin.close(), other.close()]);
    }
  });

  it('invites exactly 120 distinct people, some of them to several meetings in another letter case', async () => {
    const listed = (await everyPage()).flatMap((answer) => answer.items);
    const emails = emailsOf(listed);
    const people = new Set(emails.map((email) => email.toLowerCase()));
    expect(people.size).toBe(120);
    expect(sandbox.data.distinctInvitees()).toBe(120);
    expect(emails.length).toBeGreaterThan(120);
    // Repeats written differently: more distinct spellings than people.
    expect(new Set(emails).size).toBeGreaterThan(120);
    const variants = emails.filter((email) => email !== email.toLowerCase());
    expect(variants.length).toBeGreaterThan(0);
  });

  it('has each meeting recorded by an internal invitee of that meeting', () => {
    for (const meeting of sandbox.data.meetings()) {
      const host = meeting.calendar_invitees.find((invitee) => invitee.email!.toLowerCase() === meeting.recorded_by.email.toLowerCase());
      expect(host).toMatchObject({ is_external: false, email_domain: INTERNAL_DOMAIN });
      expect(meeting.calendar_invitees_domains_type).toBe(meeting.calendar_invitees.some((invitee) => invitee.is_external) ? 'one_or_more_external' : 'only_internal');
      const emails = meeting.calendar_invitees.map((invitee) => invitee.email!.toLowerCase());
      expect(new Set(emails).size).toBe(emails.length);
    }
  });

  it('spreads created_at over the 60 days before a fixed date, distinct, with unique recording ids', () => {
    const meetings = sandbox.data.meetings();
    const stamps = meetings.map((meeting) => Date.parse(meeting.created_at));
    expect(Math.min(...stamps)).toBeGreaterThanOrEqual(FATHOM_DATA_SET_END - FATHOM_DATA_SET_DAYS * DAY_MS);
    expect(Math.max(...stamps)).toBeLessThan(FATHOM_DATA_SET_END);
    expect(Math.max(...stamps) - Math.min(...stamps)).toBeGreaterThan(50 * DAY_MS);
    expect(new Set(stamps).size).toBe(stamps.length);
    expect(new Set(meetings.map((meeting) => meeting.recording_id)).size).toBe(meetings.length);
    for (const meeting of meetings) {
      expect(meeting.recording_start_time < meeting.recording_end_time && meeting.recording_end_time < meeting.created_at).toBe(true);
    }
  });

  it('takes other sizes', async () => {
    const small = await startFathomSandbox({ meetings: 5, invitees: 7 });
    const many = await startFathomSandbox({ meetings: 30, invitees: 3 });
    try {
      expect([small.data.count(), small.data.distinctInvitees()]).toEqual([5, 7]);
      expect([many.data.count(), many.data.distinctInvitees()]).toEqual([30, 3]);
    } finally {
      await Promise.all([small.close(), many.close()]);
    }
    await expect(startFathomSandbox({ meetings: 3, invitees: 0 })).rejects.toThrow(RangeError);
    await expect(startFathomSandbox({ meetings: -1 })).rejects.toThrow(RangeError);
  });

  it('addMeetings: creates meetings now, later than all others, with the new people and known ones', () => {
    const before = sandbox.data.meetings();
    const known = new Set(emailsOf(before).map((email) => email.toLowerCase()));
    const added = sandbox.data.addMeetings(2, { newInvitees: 3 });
    expect(added).toHaveLength(2);
    expect(sandbox.data.count()).toBe(42);
    expect(sandbox.data.distinctInvitees()).toBe(123);
    const last = before.at(-1)?.created_at as string;
    expect(added[0]!.created_at > last && added[1]!.created_at > added[0]!.created_at).toBe(true);
    expect(Math.abs(Date.parse(added[0]!.created_at) - Date.now())).toBeLessThan(5_000);
    const emails = emailsOf(added).map((email) => email.toLowerCase());
    expect(emails.filter((email) => !known.has(email))).toHaveLength(3);
    expect(emails.filter((email) => known.has(email)).length).toBeGreaterThanOrEqual(2);
    expect(sandbox.data.meetings().slice(-2)).toEqual(added);
  });

  it('addMeetings refuses new people without a meeting to invite them to', () => {
    expect(() => sandbox.data.addMeetings(0, { newInvitees: 1 })).toThrow(RangeError);
    expect(() => sandbox.data.addMeetings(-1)).toThrow(RangeError);
    expect(() => sandbox.data.addMeetings(1, { lateBySeconds: 0 })).toThrow(RangeError);
    expect(() => sandbox.data.addMeetings(1, { inviteesWithoutEmail: -1 })).toThrow(RangeError);
  });

  it('addMeetings with inviteesWithoutEmail: invitees whose email is null, as Fathom allows', async () => {
    const [meeting] = sandbox.data.addMeetings(1, { inviteesWithoutEmail: 2 });
    const nameless = meeting!.calendar_invitees.filter((invitee) => invitee.email === null);
    expect(nameless).toHaveLength(2);
    for (const invitee of nameless) expect(invitee).toMatchObject({ name: expect.any(String), email: null, email_domain: null });
    expect(sandbox.data.distinctInvitees()).toBe(120);
    const listed = (await everyPage()).flatMap((answer) => answer.items);
    expect(listed.at(-1)!.calendar_invitees.filter((invitee) => invitee.email === null)).toHaveLength(2);
  });

  it('addMeetings with lateBySeconds: a meeting created before the latest one, listed in created_at order', async () => {
    const latest = sandbox.data.meetings().at(-1)!;
    const [late] = sandbox.data.addMeetings(1, { newInvitees: 1, lateBySeconds: 60 });
    expect(Date.parse(late!.created_at)).toBe(Date.parse(latest.created_at) - 60_000);
    expect(sandbox.data.meetings().slice(-2)).toEqual([late, latest]);
    const after = (await everyPage({ created_after: new Date(Date.parse(latest.created_at) - 120_000).toISOString() })).flatMap((answer) => answer.items);
    expect(after.map((meeting) => meeting.recording_id)).toEqual([late!.recording_id, latest.recording_id]);
  });
});

/**
 * Requests the real Fathom API refuses: an adapter that comes to send one of them fails
 * here, not in a customer's first sync.
 */
describe('Fathom sandbox: the contract (requests Fathom refuses)', () => {
  const contract: Array<{ refused: string; params: Record<string, string>; headers: () => Record<string, string>; status: number }> = [
    { refused: 'the key as a bearer token (the OAuth scheme)', params: {}, headers: () => ({ Authorization: `Bearer ${sandbox.apiKey}` }), status: 401 },
    { refused: 'X-Api-Key with "Bearer " before the key', params: {}, headers: () => ({ 'X-Api-Key': `Bearer ${sandbox.apiKey}` }), status: 401 },
    { refused: 'no key at all', params: {}, headers: () => ({}), status: 401 },
    { refused: 'created_after as epoch seconds', params: { created_after: '1772697600' }, headers: () => ({ 'X-Api-Key': sandbox.apiKey }), status: 400 },
    { refused: 'created_after that is not a time', params: { created_after: 'last week' }, headers: () => ({ 'X-Api-Key': sandbox.apiKey }), status: 400 },
    { refused: 'a cursor Fathom did not issue', params: { cursor: 'page-2' }, headers: () => ({ 'X-Api-Key': sandbox.apiKey }), status: 400 },
  ];

  it.each(contract)('refuses $refused with $status', async ({ params, headers, status }) => {
    expect((await list(params, headers())).status).toBe(status);
  });

  it('refuses another method than GET with 405', async () => {
    expect((await fetch(`${sandbox.url}/meetings`, { method: 'POST', headers: { 'X-Api-Key': sandbox.apiKey } })).status).toBe(405);
  });

  it('takes created_after as the adapter sends it: ISO 8601 to the second, with Z', async () => {
    expect((await list({ created_after: '2026-03-01T07:55:00Z' })).status).toBe(200);
  });
});

describe('fathomSandboxSizesFromEnv', () => {
  it('keeps the defaults when nothing is set', () => {
    expect(fathomSandboxSizesFromEnv({})).toEqual({ meetings: 40, invitees: 120 });
  });

  it('reads positive integers', () => {
    expect(fathomSandboxSizesFromEnv({ SANDBOX_FATHOM_MEETINGS: '2000', SANDBOX_FATHOM_INVITEES: ' 5000 ' })).toEqual({ meetings: 2000, invitees: 5000 });
  });

  it.each(['0', '-5', '1.5', 'lots', '1e3', '9999999999'])('rejects %s with an error that names the variable', (value) => {
    expect(() => fathomSandboxSizesFromEnv({ SANDBOX_FATHOM_INVITEES: value })).toThrow(/SANDBOX_FATHOM_INVITEES must be a positive integer/);
  });
});
