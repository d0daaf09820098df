import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_API_LIMIT,
  obtainSandboxTokens,
  type SalesforceSandbox,
  type SalesforceSandboxOptions,
  startSalesforceSandbox,
} from '../../../local/sandboxes/salesforce';

const API = '/services/data/v62.0';
const started: SalesforceSandbox[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((running) => running.close()));
});

/** A sandbox and a working access token of its first org (or of `org`). */
async function start(options: SalesforceSandboxOptions = {}, org?: string): Promise<{ sandbox: SalesforceSandbox; token: string }> {
  const sandbox = await startSalesforceSandbox(options);
  started.push(sandbox);
  if (org) sandbox.consentAs(org);
  const { access_token } = await obtainSandboxTokens(sandbox);
  return { sandbox, token: access_token };
}

function get(base: string, path: string, token?: string): Promise<Response> {
  return fetch(`${base}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
}

function soql(base: string, token: string, query: string, all = false): Promise<Response> {
  return get(base, `${API}/${all ? 'queryAll' : 'query'}?q=${encodeURIComponent(query)}`, token);
}

async function restError(response: Response): Promise<{ status: number; errorCode: string; message: string }> {
  const body = (await response.json()) as Array<{ errorCode: string; message: string }>;
  expect(body).toHaveLength(1);
  return { status: response.status, errorCode: body[0]?.errorCode ?? '', message: body[0]?.message ?? '' };
}

async function control(base: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface Limits {
  DailyApiRequests: { Max: number; Remaining: number };
  DailyBulkV2QueryJobs: { Max: number; Remaining: number };
  DailyBulkV2QueryFileStorageMB: { Max: number; Remaining: number };
}

describe('Salesforce sandbox: the API allowance', () => {
  it('carries api-usage=USED/LIMIT on every REST answer, errors included, with a default limit of 100000', async () => {
    const { sandbox, token } = await start();
    expect(DEFAULT_API_LIMIT).toBe(100_000);
    const first = await soql(sandbox.url, token, 'SELECT Id FROM Account LIMIT 1');
    expect(first.headers.get('sforce-limit-info')).toBe('api-usage=1/100000');
    const bad = await soql(sandbox.url, token, 'SELECT Nope FROM Account');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('sforce-limit-info')).toBe('api-usage=2/100000');
    const unauthenticated = await soql(sandbox.url, 'garbage', 'SELECT Id FROM Account');
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('sforce-limit-info')).toBe('api-usage=3/100000');
    const notFound = await get(sandbox.url, `${API}/sobjects`, token);
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('sforce-limit-info')).toBe('api-usage=4/100000');
    expect(sandbox.allowance.state()).toEqual({ limit: 100_000, used: 4, remaining: 99_996, othersPerCall: 0, releasePerSecond: 0 });
  });

  it('answers /limits with the allowance, counting the call itself, in any version, behind a bearer token', async () => {
    const { sandbox, token } = await start({ apiLimit: 250 });
    await soql(sandbox.url, token, 'SELECT Id FROM Account LIMIT 1');
    const response = await get(sandbox.url, `${API}/limits`, token);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('sforce-limit-info')).toBe('api-usage=2/250');
    expect((await response.json()) as Limits).toEqual({
      DailyApiRequests: { Max: 250, Remaining: 248 },
      DailyBulkV2QueryJobs: { Max: 10_000, Remaining: 10_000 },
      DailyBulkV2QueryFileStorageMB: { Max: 976_562, Remaining: 976_562 },
    });
    const older = await get(sandbox.url, '/services/data/v58.0/limits/', token);
    expect(older.status).toBe(200);
    expect(((await older.json()) as Limits).DailyApiRequests).toEqual({ Max: 250, Remaining: 247 });
    expect(await restError(await get(sandbox.url, `${API}/limits`))).toMatchObject({ status: 401, errorCode: 'INVALID_SESSION_ID' });
    expect(sandbox.stats().byEndpoint).toMatchObject({ query: 1, limits: 3 });
  });

  it('refuses every REST call once the allowance is used up, counting nothing more, /limits and bulk included', async () => {
    const { sandbox, token } = await start({ apiLimit: 3 });
    for (let i = 1; i <= 3; i++) {
      const response = await soql(sandbox.url, token, 'SELECT Id FROM Account LIMIT 1');
      expect(response.status).toBe(200);
      expect(response.headers.get('sforce-limit-info')).toBe(`api-usage=${i}/3`);
    }
    const refusals = [
      await soql(sandbox.url, token, 'SELECT Id FROM Account LIMIT 1'),
      await get(sandbox.url, `${API}/limits`, token),
      await fetch(`${sandbox.url}${API}/jobs/query`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ operation: 'query', query: 'SELECT Id FROM Account' }),
      }),
    ];
    for (const response of refusals) {
      expect(response.headers.get('sforce-limit-info')).toBe('api-usage=3/3');
      expect(await restError(response)).toEqual({ status: 403, errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' });
    }
    expect(sandbox.stats()).toMatchObject({ apiUsage: 6, bulkJobsCreated: 0, byEndpoint: { query: 4, limits: 1, bulkCreate: 1 } });
    // Raising the limit lets calls through again.
    sandbox.allowance.set({ limit: 4 });
    expect((await soql(sandbox.url, token, 'SELECT Id FROM Account LIMIT 1')).headers.get('sforce-limit-info')).toBe('api-usage=4/4');
  });

  it('starts from a usage set directly, e.g. 79000 of 100000', async () => {
    const { sandbox, token } = await start();
    expect(sandbox.allowance.set({ used: 79_000 })).toMatchObject({ limit: 100_000, used: 79_000, remaining: 21_000 });
    const response = await get(sandbox.url, `${API}/limits`, token);
    expect(response.headers.get('sforce-limit-info')).toBe('api-usage=79001/100000');
    expect(((await response.json()) as Limits).DailyApiRequests).toEqual({ Max: 100_000, Remaining: 20_999 });
    // Usage may be set past the limit: Remaining stays 0, calls are refused.
    sandbox.allowance.set({ used: 100_500 });
    const refused = await get(sandbox.url, `${API}/limits`, token);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('sforce-limit-info')).toBe('api-usage=100500/100000');
    expect(sandbox.allowance.state().remaining).toBe(0);
  });

  it('othersPerCall: the org’s other integrations spend that many calls per call of ours, so usage runs out mid-sync', async () => {
    const { sandbox, token } = await start();
    sandbox.allowance.set({ limit: 40, used: 0, othersPerCall: 9 });
    const headers: string[] = [];
    let next: string | undefined = `${API}/query?q=${encodeURIComponent('SELECT Id FROM Contact')}`;
    let pages = 0;
    for (;;) {
      const response = await fetch(`${sandbox.url}${next}`, {
        headers: { Authorization: `Bearer ${token}`, 'Sforce-Query-Options': 'batchSize=200' },
      });
      headers.push(response.headers.get('sforce-limit-info') ?? '');
      if (response.status !== 200) {
        expect(await restError(response)).toMatchObject({ status: 403, errorCode: 'REQUEST_LIMIT_EXCEEDED' });
        break;
      }
      pages++;
      const page = (await response.json()) as { done: boolean; nextRecordsUrl?: string };
      expect(page.done).toBe(false); // 1000 contacts in pages of 200 outlast 4 calls
      next = page.nextRecordsUrl;
    }
    expect(pages).toBe(4);
    expect(headers).toEqual(['api-usage=10/40', 'api-usage=20/40', 'api-usage=30/40', 'api-usage=40/40', 'api-usage=40/40']);
    // Our call always counts one; the others never push usage past the limit.
    sandbox.allowance.set({ limit: 100, used: 95 });
    expect((await get(sandbox.url, `${API}/limits`, token)).headers.get('sforce-limit-info')).toBe('api-usage=100/100');
    expect((await get(sandbox.url, `${API}/limits`, token)).status).toBe(403);
  });

  it('releasePerSecond: usage falls as calls leave the rolling window, never below 0, on the sandbox clock', async () => {
    const { sandbox, token } = await start();
    sandbox.allowance.set({ limit: 50, used: 50, releasePerSecond: 2 });
    expect((await get(sandbox.url, `${API}/limits`, token)).status).toBe(403);
    sandbox.advanceTime(1000);
    expect(sandbox.allowance.state().used).toBe(48);
    const response = await get(sandbox.url, `${API}/limits`, token);
    expect(response.status).toBe(200);
    expect(response.headers.get('sforce-limit-info')).toBe('api-usage=49/50');
    // Fractions of a second carry over: 0.5 per second releases one call every two seconds.
    sandbox.allowance.set({ releasePerSecond: 0.5 });
    sandbox.advanceTime(3000);
    expect(sandbox.allowance.state().used).toBe(48);
    sandbox.advanceTime(1000);
    expect(sandbox.allowance.state().used).toBe(47);
    sandbox.advanceTime(10 * 24 * 3600 * 1000);
    expect(sandbox.allowance.state().used).toBe(0);
    // Idle time at 0 is not banked for later.
    sandbox.advanceTime(100_000);
    expect((await get(sandbox.url, `${API}/limits`, token)).headers.get('sforce-limit-info')).toBe('api-usage=1/50');
    expect(sandbox.allowance.state().used).toBe(1);
  });

  it('keeps an allowance per org, changed over HTTP with POST /__sandbox/allowance', async () => {
    const { sandbox } = await start({ apiLimit: 500, orgs: [{ id: 'org-b', apiLimit: 300 }] });
    const orgB = sandbox.org('org-b');
    sandbox.consentAs('org-b');
    const { access_token: tokenB } = await obtainSandboxTokens(sandbox);
    expect((await get(orgB.instanceUrl, `${API}/limits`, tokenB)).headers.get('sforce-limit-info')).toBe('api-usage=1/300');
    expect(sandbox.allowance.state().used).toBe(0);

    const changed = await control(sandbox.url, '/__sandbox/allowance', { org: 'org-b', used: 290, othersPerCall: 4 });
    expect(changed).toEqual({
      status: 200,
      body: { org: 'org-b', limit: 300, used: 290, remaining: 10, othersPerCall: 4, releasePerSecond: 0 },
    });
    expect(orgB.allowance.state().used).toBe(290);
    expect((await control(sandbox.url, '/__sandbox/allowance', { limit: 1000 })).body).toMatchObject({ org: 'default', limit: 1000, used: 0 });
    // Reading without changing anything.
    expect((await control(sandbox.url, '/__sandbox/allowance', {})).body).toMatchObject({ org: 'default', limit: 1000 });

    for (const bad of [{ org: 'nope' }, { used: -1 }, { limit: 1.5 }, { releasePerSecond: 'fast' }, { spent: 3 }, [1]]) {
      expect((await control(sandbox.url, '/__sandbox/allowance', bad)).status).toBe(400);
    }
    // A refused change changes nothing, not even its valid fields.
    expect((await control(sandbox.url, '/__sandbox/allowance', { org: 'org-b', used: 1, othersPerCall: -2 })).status).toBe(400);
    expect(orgB.allowance.state()).toMatchObject({ used: 290, othersPerCall: 4 });

    const state = await control(sandbox.url, '/__sandbox/state');
    expect(state.body.allowance).toMatchObject({ limit: 1000, used: 0 });
    expect((state.body.orgs as Array<{ id: string; allowance: unknown }>).map((org) => [org.id, org.allowance])).toEqual([
      ['default', { limit: 1000, used: 0, remaining: 1000, othersPerCall: 0, releasePerSecond: 0 }],
      ['org-b', { limit: 300, used: 290, remaining: 10, othersPerCall: 4, releasePerSecond: 0 }],
    ]);
    expect(sandbox.stats().allowances).toEqual({
      default: { limit: 1000, used: 0, remaining: 1000, othersPerCall: 0, releasePerSecond: 0 },
      'org-b': { limit: 300, used: 290, remaining: 10, othersPerCall: 4, releasePerSecond: 0 },
    });
  });

  it('resetStats zeroes usage and keeps the rest; failures reset drops other integrations and release, keeping limit and usage', async () => {
    const { sandbox, token } = await start();
    sandbox.allowance.set({ limit: 1000, used: 600, othersPerCall: 2, releasePerSecond: 1 });
    sandbox.resetStats();
    expect(sandbox.allowance.state()).toEqual({ limit: 1000, used: 0, remaining: 1000, othersPerCall: 2, releasePerSecond: 1 });
    expect((await get(sandbox.url, `${API}/limits`, token)).headers.get('sforce-limit-info')).toBe('api-usage=3/1000');

    sandbox.allowance.set({ used: 700 });
    expect((await control(sandbox.url, '/__sandbox/failures', { reset: true })).status).toBe(200);
    expect(sandbox.allowance.state()).toEqual({ limit: 1000, used: 700, remaining: 300, othersPerCall: 0, releasePerSecond: 0 });
    sandbox.advanceTime(60_000);
    expect(sandbox.allowance.state().used).toBe(700);
  });

  it('keeps the injectable requestLimitExceeded, which counts the call like any other', async () => {
    const { sandbox, token } = await start();
    sandbox.failures.requestLimitExceeded(1);
    const refused = await get(sandbox.url, `${API}/limits`, token);
    expect(await restError(refused)).toMatchObject({ status: 403, errorCode: 'REQUEST_LIMIT_EXCEEDED' });
    expect(refused.headers.get('sforce-limit-info')).toBe('api-usage=1/100000');
    expect((await get(sandbox.url, `${API}/limits`, token)).status).toBe(200);
  });

  it('refuses bad apiLimit options', async () => {
    await expect(startSalesforceSandbox({ apiLimit: -5 })).rejects.toThrow(/apiLimit/);
  });
});

describe('Salesforce sandbox: SELECT COUNT()', () => {
  it('answers the number of live records (query) or of every record (queryAll), without records', async () => {
    const { sandbox, token } = await start();
    sandbox.data.remove('Lead', 7);
    const live = await soql(sandbox.url, token, 'SELECT COUNT() FROM Lead');
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ totalSize: 243, done: true, records: [] });
    expect(await (await soql(sandbox.url, token, 'select count() from lead', true)).json()).toEqual({ totalSize: 250, done: true, records: [] });
    // More than a page's worth is still one answer.
    expect(await (await soql(sandbox.url, token, 'SELECT COUNT() FROM Contact')).json()).toEqual({ totalSize: 1000, done: true, records: [] });
    expect(sandbox.stats().recordsReturned).toBe(0);
  });

  it('counts what a filter and a LIMIT leave', async () => {
    const { sandbox, token } = await start();
    // Well past the data set's end whatever this machine's clock says, so the changes are after `since`.
    sandbox.advanceTime(10 * 365 * 24 * 3600 * 1000);
    const changed = sandbox.data.modify('Account', 4);
    const since = '2026-03-05T08:00:00Z';
    const listed = (await (await soql(sandbox.url, token, `SELECT Id FROM Account WHERE SystemModstamp > ${since}`)).json()) as {
      totalSize: number;
    };
    expect(listed.totalSize).toBe(changed.length);
    expect(await (await soql(sandbox.url, token, `SELECT COUNT() FROM Account WHERE SystemModstamp > ${since}`)).json()).toMatchObject({
      totalSize: 4,
    });
    expect(await (await soql(sandbox.url, token, 'SELECT COUNT() FROM Account LIMIT 10')).json()).toMatchObject({ totalSize: 10 });
  });

  it('refuses COUNT() forms the sandbox does not serve with 400 MALFORMED_QUERY', async () => {
    const { sandbox, token } = await start();
    for (const query of ['SELECT COUNT(Id) FROM Account', 'SELECT COUNT() FROM Account ORDER BY SystemModstamp', 'SELECT Id, COUNT() FROM Account']) {
      expect(await restError(await soql(sandbox.url, token, query))).toMatchObject({ status: 400, errorCode: 'MALFORMED_QUERY' });
    }
  });
});
