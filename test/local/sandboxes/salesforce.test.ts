import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DATA_SET_END,
  defaultDataSetSizes,
  newPkcePair,
  obtainSandboxTokens,
  type SalesforceSandbox,
  type SalesforceTokenAnswer,
  salesforceSandboxSizesFromEnv,
  startSalesforceSandbox,
} from '../../../local/sandboxes/salesforce';
import { checksumSuffix } from '../../../local/sandboxes/salesforce/ids';

const REDIRECT_URI = 'http://127.0.0.1:1/oauth/callback';
const API = '/services/data/v62.0';
type SalesforceRecord = Record<string, unknown> & { attributes: { type: string; url: string }; Id: string };
interface QueryAnswer {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: SalesforceRecord[];
}

let sandbox: SalesforceSandbox;
beforeEach(async () => {
  sandbox = await startSalesforceSandbox();
});
afterEach(async () => {
  await sandbox.close();
});

/** GET of the authorize endpoint, without following the redirect. */
async function authorize(overrides: Record<string, string | undefined> = {}): Promise<Response> {
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: sandbox.clientId,
    redirect_uri: REDIRECT_URI,
    state: 'state-123',
    code_challenge_method: 'S256',
    scope: 'api refresh_token',
    ...overrides,
  };
  const url = new URL('/services/oauth2/authorize', sandbox.url);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return fetch(url, { redirect: 'manual' });
}

/** The query parameters of a redirect answer. */
function redirectParams(response: Response): URLSearchParams {
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
  return location.searchParams;
}

/** Authorizes with a fresh PKCE pair; returns the code and its verifier. */
async function authorizedCode(overrides: Record<string, string> = {}): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = newPkcePair();
  const params = redirectParams(await authorize({ code_challenge: challenge, ...overrides }));
  return { code: params.get('code') ?? '', verifier };
}

async function postForm(path: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, string> }> {
  const response = await fetch(new URL(path, sandbox.url), { method: 'POST', body: new URLSearchParams(form) });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, string>) : {} };
}

function exchange(code: string, verifier: string, overrides: Record<string, string> = {}) {
  return postForm('/services/oauth2/token', {
    grant_type: 'authorization_code',
    code,
    client_id: sandbox.clientId,
    client_secret: sandbox.clientSecret,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    ...overrides,
  });
}

function refresh(refreshToken: string) {
  return postForm('/services/oauth2/token', {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: sandbox.clientId,
    client_secret: sandbox.clientSecret,
  });
}

function revoke(token: string) {
  return postForm('/services/oauth2/revoke', { token });
}

function tokens(options: { scope?: string; loginHint?: string } = {}): Promise<SalesforceTokenAnswer> {
  return obtainSandboxTokens(sandbox, options);
}

async function get(path: string, accessToken: string | undefined, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(new URL(path, sandbox.url), {
    headers: { ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}), ...headers },
  });
}

function query(accessToken: string, soql: string, options: { all?: boolean; batchSize?: number } = {}): Promise<Response> {
  return get(
    `${API}/${options.all ? 'queryAll' : 'query'}?q=${encodeURIComponent(soql)}`,
    accessToken,
    options.batchSize ? { 'Sforce-Query-Options': `batchSize=${options.batchSize}` } : {},
  );
}

/** Runs a query and follows nextRecordsUrl to the end; returns every page. */
async function allPages(accessToken: string, soql: string, options: { all?: boolean; batchSize?: number } = {}) {
  const pages: QueryAnswer[] = [];
  let response = await query(accessToken, soql, options);
  for (;;) {
    expect(response.status).toBe(200);
    expect(response.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/100000$/);
    const page = (await response.json()) as QueryAnswer;
    pages.push(page);
    if (page.done) break;
    expect(page.nextRecordsUrl).toMatch(/^\/services\/data\/v62\.0\/query\/01g[A-Za-z0-9]{15}-\d+$/);
    response = await get(page.nextRecordsUrl as string, accessToken);
  }
  return { pages, records: pages.flatMap((page) => page.records) };
}

async function restError(response: Response): Promise<{ status: number; errorCode: string; message: string }> {
  const body = (await response.json()) as Array<{ errorCode: string; message: string }>;
  expect(body).toHaveLength(1);
  return { status: response.status, errorCode: body[0]?.errorCode ?? '', message: body[0]?.message ?? '' };
}

async function control(path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(new URL(path, sandbox.url), {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('Salesforce sandbox: authorization (web server flow with PKCE)', () => {
  it('consents at once and redirects to the callback with a code and the state', async () => {
    const { challenge } = newPkcePair();
    const params = redirectParams(await authorize({ code_challenge: challenge }));
    expect(params.get('state')).toBe('state-123');
    expect(params.get('code')).toMatch(/^aPrx[A-Za-z0-9._]+==$/);
  });

  it('exchanges the code and verifier for tokens shaped like Salesforce’s (no expires_in)', async () => {
    const { code, verifier } = await authorizedCode();
    const { status, body } = await exchange(code, verifier);
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(
      ['access_token', 'id', 'instance_url', 'issued_at', 'refresh_token', 'scope', 'signature', 'token_type'].sort(),
    );
    expect(body.instance_url).toBe(sandbox.url);
    expect(body.token_type).toBe('Bearer');
    expect(body.scope).toBe('api refresh_token');
    expect(body.id).toMatch(new RegExp(`^${sandbox.url}/id/00D[A-Za-z0-9]{15}/005[A-Za-z0-9]{15}$`));
    expect(body.issued_at).toMatch(/^\d{13}$/);
    const expected = createHmac('sha256', sandbox.clientSecret).update(`${body.id}${body.issued_at}`).digest('base64');
    expect(body.signature).toBe(expected);
  });

  it('rejects a code exchanged with the wrong verifier', async () => {
    const { code } = await authorizedCode();
    const { status, body } = await exchange(code, newPkcePair().verifier);
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_grant');
  });

  it('rejects a replayed code', async () => {
    const { code, verifier } = await authorizedCode();
    expect((await exchange(code, verifier)).status).toBe(200);
    const replay = await exchange(code, verifier);
    expect(replay).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'authentication failure' } });
  });

  it('rejects a code older than 15 minutes', async () => {
    const { code, verifier } = await authorizedCode();
    sandbox.advanceTime(15 * 60 * 1000 + 1);
    const { status, body } = await exchange(code, verifier);
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_grant');
  });

  it('rejects a code exchanged with another redirect_uri', async () => {
    const { code, verifier } = await authorizedCode();
    const { status, body } = await exchange(code, verifier, { redirect_uri: 'http://127.0.0.1:1/elsewhere' });
    expect(status).toBe(400);
    expect(body.error).toBe('redirect_uri_mismatch');
  });

  it('answers a bad client id or secret with invalid_client_id / invalid_client', async () => {
    const { code, verifier } = await authorizedCode();
    expect(await exchange(code, verifier, { client_id: 'someone-else' })).toEqual({
      status: 400,
      body: { error: 'invalid_client_id', error_description: 'client identifier invalid' },
    });
    expect(await exchange(code, verifier, { client_secret: 'wrong' })).toEqual({
      status: 400,
      body: { error: 'invalid_client', error_description: 'invalid client credentials' },
    });
  });

  it('shows an error page instead of redirecting for an unknown client or an unusable redirect_uri', async () => {
    const { challenge } = newPkcePair();
    for (const overrides of [
      { client_id: 'someone-else' },
      { client_id: undefined },
      { redirect_uri: undefined },
      { redirect_uri: 'javascript:alert(1)' },
    ]) {
      const response = await authorize({ code_challenge: challenge, ...overrides });
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(await response.text()).toMatch(/error=(invalid_client_id|redirect_uri_mismatch)/);
    }
  });

  it('accepts only registered callback URLs when they are configured', async () => {
    const strict = await startSalesforceSandbox({ redirectUris: [REDIRECT_URI] });
    try {
      const { challenge } = newPkcePair();
      const base = { response_type: 'code', client_id: strict.clientId, code_challenge: challenge, code_challenge_method: 'S256' };
      const url = (redirectUri: string) =>
        `${strict.url}/services/oauth2/authorize?${new URLSearchParams({ ...base, redirect_uri: redirectUri })}`;
      expect((await fetch(url(REDIRECT_URI), { redirect: 'manual' })).status).toBe(302);
      expect((await fetch(url(`${REDIRECT_URI}/other`), { redirect: 'manual' })).status).toBe(400);
    } finally {
      await strict.close();
    }
  });

  it('redirects with invalid_request when the PKCE challenge is missing or not S256', async () => {
    const { challenge } = newPkcePair();
    for (const overrides of [
      { code_challenge: undefined },
      { code_challenge: challenge, code_challenge_method: 'plain' },
      { code_challenge: challenge, code_challenge_method: undefined },
    ]) {
      const params = redirectParams(await authorize(overrides));
      expect(params.get('error')).toBe('invalid_request');
      expect(params.get('state')).toBe('state-123');
      expect(params.get('code')).toBeNull();
    }
  });

  it('redirects with access_denied while consent is denied', async () => {
    sandbox.failures.consentDenied(true);
    const params = redirectParams(await authorize({ code_challenge: newPkcePair().challenge }));
    expect(Object.fromEntries(params)).toEqual({
      error: 'access_denied',
      error_description: 'end-user denied authorization',
      state: 'state-123',
    });
  });

  it('issues no refresh token when the refresh_token scope was not asked for', async () => {
    const answer = await tokens({ scope: 'api' });
    expect(answer.refresh_token).toBeUndefined();
    expect(answer.scope).toBe('api');
  });
});

describe('Salesforce sandbox: refresh and revoke', () => {
  it('refreshes an access token and returns no new refresh token', async () => {
    const first = await tokens();
    const { status, body } = await refresh(first.refresh_token as string);
    expect(status).toBe(200);
    expect(body.refresh_token).toBeUndefined();
    expect(body.access_token).not.toBe(first.access_token);
    expect((await query(body.access_token as string, 'SELECT Id FROM Account LIMIT 1')).status).toBe(200);
    expect((await refresh(first.refresh_token as string)).status).toBe(200);
  });

  it('rotates refresh tokens when rotation is on: the old one stops working', async () => {
    const first = await tokens();
    sandbox.failures.rotateRefreshTokens(true);
    const rotated = await refresh(first.refresh_token as string);
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).toMatch(/^5Aep861/);
    expect(rotated.body.refresh_token).not.toBe(first.refresh_token);
    expect(await refresh(first.refresh_token as string)).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'expired access/refresh token' },
    });
    expect((await refresh(rotated.body.refresh_token as string)).status).toBe(200);
  });

  it('keeps at most five refresh tokens per user and revokes the oldest with its sessions', async () => {
    const grants: SalesforceTokenAnswer[] = [];
    for (let i = 0; i < 6; i++) grants.push(await tokens({ loginHint: 'capped.user@example.com' }));
    const [oldest, ...newer] = grants as [SalesforceTokenAnswer, ...SalesforceTokenAnswer[]];
    expect((await refresh(oldest.refresh_token as string)).body.error).toBe('invalid_grant');
    expect((await query(oldest.access_token, 'SELECT Id FROM Account LIMIT 1')).status).toBe(401);
    for (const grant of newer) expect((await refresh(grant.refresh_token as string)).status).toBe(200);
  });

  it('makes each consent without a login_hint a user of its own, so tenants never share the cap', async () => {
    const first = await tokens();
    for (let i = 0; i < 5; i++) await tokens();
    expect((await refresh(first.refresh_token as string)).status).toBe(200);
  });

  it('counts the cap per user: another user’s approvals do not displace them', async () => {
    const mine = await tokens({ loginHint: 'me@example.com' });
    for (let i = 0; i < 5; i++) await tokens({ loginHint: 'someone.else@example.com' });
    expect((await refresh(mine.refresh_token as string)).status).toBe(200);
  });

  it('revokes a refresh token together with its access tokens', async () => {
    const grant = await tokens();
    const refreshed = await refresh(grant.refresh_token as string);
    expect((await revoke(grant.refresh_token as string)).status).toBe(200);
    expect((await refresh(grant.refresh_token as string)).body.error).toBe('invalid_grant');
    for (const accessToken of [grant.access_token, refreshed.body.access_token as string]) {
      expect(await restError(await query(accessToken, 'SELECT Id FROM Account'))).toMatchObject({
        status: 401,
        errorCode: 'INVALID_SESSION_ID',
      });
    }
  });

  it('revokes a single access token and leaves the refresh token working', async () => {
    const grant = await tokens();
    expect((await revoke(grant.access_token)).status).toBe(200);
    expect((await query(grant.access_token, 'SELECT Id FROM Account')).status).toBe(401);
    expect((await refresh(grant.refresh_token as string)).status).toBe(200);
  });

  it('answers 400 invalid_token when revoking an unknown token', async () => {
    const { status, body } = await revoke('not-a-token');
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_token');
  });

  it('counts refresh calls, so a test can prove concurrent refreshes collapse', async () => {
    const grant = await tokens();
    sandbox.resetStats();
    await Promise.all(Array.from({ length: 20 }, () => refresh(grant.refresh_token as string)));
    expect(sandbox.stats().tokenRefreshes).toBe(20);
    expect(sandbox.stats().byEndpoint.token).toBe(20);
  });

  it('answers the identity URL of the token answer for its own bearer token', async () => {
    const grant = await tokens({ loginHint: 'named.user@example.com' });
    const identity = await get(grant.id, grant.access_token);
    expect(identity.status).toBe(200);
    expect(await identity.json()).toMatchObject({ id: grant.id, username: 'named.user@example.com' });
    expect((await get(grant.id, 'garbage')).status).toBe(403);
  });

  it('lists every secret it issued, the client secret included', async () => {
    const { code, verifier } = await authorizedCode();
    const { body } = await exchange(code, verifier);
    const refreshed = await refresh(body.refresh_token as string);
    expect(sandbox.secretsIssued()).toEqual(
      expect.arrayContaining([sandbox.clientSecret, code, body.access_token, body.refresh_token, refreshed.body.access_token]),
    );
  });
});

describe('Salesforce sandbox: REST query', () => {
  it('answers 401 INVALID_SESSION_ID without a valid bearer token', async () => {
    for (const accessToken of [undefined, 'garbage']) {
      const response = await get(`${API}/query?q=${encodeURIComponent('SELECT Id FROM Account')}`, accessToken);
      expect(response.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/100000$/);
      expect(await restError(response)).toEqual({ status: 401, errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' });
    }
  });

  it('pages through every object with batchSize; ids are unique and totals match the default data set', async () => {
    const { access_token } = await tokens();
    const sizes: Record<string, number> = {};
    for (const type of ['Account', 'Contact', 'Lead', 'Opportunity']) {
      const { pages, records } = await allPages(access_token, `SELECT Id, SystemModstamp FROM ${type}`, { batchSize: 200 });
      expect(pages.every((page) => page.totalSize === records.length)).toBe(true);
      expect(pages.slice(0, -1).every((page) => page.records.length === 200 && !page.done)).toBe(true);
      expect(new Set(records.map((record) => record.Id)).size).toBe(records.length);
      expect(records.every((record) => record.attributes.type === type)).toBe(true);
      sizes[type] = records.length;
    }
    expect(sizes.Account).toBe(defaultDataSetSizes.accounts);
    expect((sizes.Contact ?? 0) + (sizes.Lead ?? 0)).toBe(defaultDataSetSizes.people);
    expect(sizes.Lead).toBeGreaterThan(0.15 * defaultDataSetSizes.people);
    expect(sizes.Lead).toBeLessThan(0.25 * defaultDataSetSizes.people);
    expect(sizes.Opportunity).toBe(defaultDataSetSizes.opportunities);
  });

  it('returns records with attributes and exactly the fields asked for, datetimes in +0000 form', async () => {
    const { access_token } = await tokens();
    const response = await query(access_token, 'SELECT Id, Name, AccountId, Amount, StageName, CloseDate, Probability, SystemModstamp, IsDeleted FROM Opportunity LIMIT 1');
    const [record] = ((await response.json()) as QueryAnswer).records;
    expect(Object.keys(record ?? {})).toEqual(['attributes', 'Id', 'Name', 'AccountId', 'Amount', 'StageName', 'CloseDate', 'Probability', 'SystemModstamp', 'IsDeleted']);
    expect(record?.attributes).toEqual({ type: 'Opportunity', url: `${API}/sobjects/Opportunity/${record?.Id}` });
    expect(record?.SystemModstamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
    expect(record?.CloseDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(record?.IsDeleted).toBe(false);
  });

  it('clamps batchSize to 200..2000 and defaults to 2000', async () => {
    const big = await startSalesforceSandbox({ accounts: 4500, people: 0, opportunities: 0 });
    try {
      const { access_token } = await obtainSandboxTokens(big);
      const firstPage = async (batchSize?: number) => {
        const response = await fetch(`${big.url}${API}/query?q=${encodeURIComponent('SELECT Id FROM Account')}`, {
          headers: { Authorization: `Bearer ${access_token}`, ...(batchSize ? { 'Sforce-Query-Options': `batchSize=${batchSize}` } : {}) },
        });
        return ((await response.json()) as QueryAnswer).records.length;
      };
      expect(await firstPage()).toBe(2000);
      expect(await firstPage(50)).toBe(200);
      expect(await firstPage(5000)).toBe(2000);
      expect(await firstPage(700)).toBe(700);
    } finally {
      await big.close();
    }
  });

  it('returns only records changed after the watermark, oldest first', async () => {
    const { access_token } = await tokens();
    const { records } = await allPages(access_token, 'SELECT Id, SystemModstamp FROM Account ORDER BY SystemModstamp');
    const stamps = records.map((record) => Date.parse(String(record.SystemModstamp).replace('+0000', 'Z')));
    expect(stamps.every((stamp, i) => i === 0 || stamp > (stamps[i - 1] as number))).toBe(true);

    const watermark = String(records[100]?.SystemModstamp).replace('+0000', 'Z');
    const after = await allPages(access_token, `SELECT Id FROM Account WHERE SystemModstamp > ${watermark} ORDER BY SystemModstamp ASC`);
    expect(after.records.map((record) => record.Id)).toEqual(records.slice(101).map((record) => record.Id));
    const from = await allPages(access_token, `SELECT Id FROM Account WHERE SystemModstamp >= ${watermark}`);
    expect(from.records.map((record) => record.Id)).toEqual(records.slice(100).map((record) => record.Id));
  });

  it('honours LIMIT', async () => {
    const { access_token } = await tokens();
    const page = (await (await query(access_token, 'SELECT Id FROM Lead LIMIT 7')).json()) as QueryAnswer;
    expect(page).toMatchObject({ totalSize: 7, done: true });
    expect(page.records).toHaveLength(7);
  });

  it('shows deleted records to queryAll but not to query', async () => {
    const { access_token } = await tokens();
    const [deletedId] = sandbox.data.remove('Contact', 1);
    const live = await allPages(access_token, 'SELECT Id FROM Contact');
    const all = await allPages(access_token, 'SELECT Id, IsDeleted FROM Contact', { all: true });
    expect(live.records.map((record) => record.Id)).not.toContain(deletedId);
    expect(all.records.find((record) => record.Id === deletedId)).toMatchObject({ IsDeleted: true });
    expect(all.records.length).toBe(live.records.length + 1);
    expect(sandbox.data.counts().Contact).toBe(live.records.length);
  });

  it('lets an incremental query see exactly the modified, added and deleted records', async () => {
    const { access_token } = await tokens();
    const { records } = await allPages(access_token, 'SELECT Id, SystemModstamp FROM Opportunity');
    const watermark = String(records.at(-1)?.SystemModstamp).replace('+0000', 'Z');
    const modified = sandbox.data.modify('Opportunity', 3);
    const added = sandbox.data.add('Opportunity', 2);
    const removed = sandbox.data.remove('Opportunity', 1);
    const changes = await allPages(
      access_token,
      `SELECT Id, IsDeleted, StageName, SystemModstamp FROM Opportunity WHERE SystemModstamp > ${watermark} ORDER BY SystemModstamp`,
      { all: true },
    );
    expect(changes.records.map((record) => record.Id)).toEqual([...modified, ...added, ...removed]);
    expect(changes.records.at(-1)).toMatchObject({ IsDeleted: true });
    expect(sandbox.data.counts().Opportunity).toBe(defaultDataSetSizes.opportunities + 2 - 1);
    expect(sandbox.data.entityCounts()).toEqual({ accounts: 340, people: 1250, opportunities: 90 });
  });

  it('keeps an open query’s snapshot while data changes underneath it', async () => {
    const { access_token } = await tokens();
    const first = (await (await query(access_token, 'SELECT Id FROM Contact', { batchSize: 500 })).json()) as QueryAnswer;
    sandbox.data.remove('Contact', 400);
    const second = (await (await get(first.nextRecordsUrl as string, access_token)).json()) as QueryAnswer;
    expect(second.totalSize).toBe(first.totalSize);
    expect(second.records).toHaveLength(500);
  });

  it('answers INVALID_QUERY_LOCATOR once a query locator has idled for 15 minutes', async () => {
    const { access_token } = await tokens();
    const first = (await (await query(access_token, 'SELECT Id FROM Contact', { batchSize: 200 })).json()) as QueryAnswer;
    sandbox.advanceTime(15 * 60 * 1000 + 1);
    expect(await restError(await get(first.nextRecordsUrl as string, access_token))).toMatchObject({
      status: 400,
      errorCode: 'INVALID_QUERY_LOCATOR',
    });
  });

  it('answers 400 with Salesforce’s error codes for bad SOQL', async () => {
    const { access_token } = await tokens();
    const cases: Array<[string, string]> = [
      ['SELECT FROM Account', 'MALFORMED_QUERY'],
      ['SELECT Id FROM Account WHERE SystemModstamp > 2026-01-01T00:00:00.000+0000', 'MALFORMED_QUERY'],
      ['SELECT Id, Nickname FROM Account', 'INVALID_FIELD'],
      ['SELECT Id FROM Widget__c', 'INVALID_TYPE'],
    ];
    for (const [soql, errorCode] of cases) {
      expect(await restError(await query(access_token, soql))).toMatchObject({ status: 400, errorCode });
    }
  });

  it('counts API usage in Sforce-Limit-Info on every answer', async () => {
    const { access_token } = await tokens();
    const first = await query(access_token, 'SELECT Id FROM Account LIMIT 1');
    const second = await query(access_token, 'SELECT Id FROM Account LIMIT 1');
    expect(first.headers.get('sforce-limit-info')).toBe('api-usage=1/100000');
    expect(second.headers.get('sforce-limit-info')).toBe('api-usage=2/100000');
    expect(sandbox.stats()).toMatchObject({ apiUsage: 2, recordsReturned: 2, byEndpoint: { authorize: 1, token: 1, query: 2 } });
  });
});

describe('Salesforce sandbox: failure modes', () => {
  it('expireSessions: every access token answers 401, and a refresh gets a working one', async () => {
    const grant = await tokens();
    sandbox.failures.expireSessions();
    expect((await restError(await query(grant.access_token, 'SELECT Id FROM Account'))).errorCode).toBe('INVALID_SESSION_ID');
    const { body } = await refresh(grant.refresh_token as string);
    expect((await query(body.access_token as string, 'SELECT Id FROM Account')).status).toBe(200);
  });

  it('requestLimitExceeded(n): the next n REST calls answer 403 REQUEST_LIMIT_EXCEEDED', async () => {
    const { access_token } = await tokens();
    sandbox.failures.requestLimitExceeded(2);
    for (let i = 0; i < 2; i++) {
      expect(await restError(await query(access_token, 'SELECT Id FROM Account'))).toEqual({
        status: 403,
        errorCode: 'REQUEST_LIMIT_EXCEEDED',
        message: 'TotalRequests Limit exceeded.',
      });
    }
    expect((await query(access_token, 'SELECT Id FROM Account')).status).toBe(200);
  });

  it('requestLimitExceeded(Infinity): every REST call fails until reset', async () => {
    const { access_token } = await tokens();
    sandbox.failures.requestLimitExceeded(Infinity);
    for (let i = 0; i < 5; i++) expect((await query(access_token, 'SELECT Id FROM Account')).status).toBe(403);
    expect(sandbox.failures.state().requestLimitExceeded).toBe('always');
    sandbox.failures.reset();
    expect((await query(access_token, 'SELECT Id FROM Account')).status).toBe(200);
  });

  it('serverError(n): a 503 HTML page, then a 500 JSON error, then normal answers', async () => {
    const { access_token } = await tokens();
    sandbox.failures.serverError(2);
    const unavailable = await query(access_token, 'SELECT Id FROM Account');
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await restError(await query(access_token, 'SELECT Id FROM Account'))).toMatchObject({
      status: 500,
      errorCode: 'UNKNOWN_EXCEPTION',
    });
    expect((await query(access_token, 'SELECT Id FROM Account')).status).toBe(200);
  });

  it('malformedJson(n): the next answer is a 200 whose JSON is cut short', async () => {
    const { access_token } = await tokens();
    sandbox.failures.malformedJson(1);
    const broken = await query(access_token, 'SELECT Id FROM Account');
    expect(broken.status).toBe(200);
    const text = await broken.text();
    expect(() => JSON.parse(text)).toThrow();
    expect(((await (await query(access_token, 'SELECT Id FROM Account')).json()) as QueryAnswer).done).toBe(true);
  });

  it('slow(ms): answers wait at least that long', async () => {
    sandbox.failures.slow(150);
    const started = performance.now();
    await authorize({ code_challenge: newPkcePair().challenge });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('revokeGrant: refresh answers invalid_grant and REST answers 401', async () => {
    const grant = await tokens();
    sandbox.failures.revokeGrant();
    expect((await refresh(grant.refresh_token as string)).body.error).toBe('invalid_grant');
    expect((await query(grant.access_token, 'SELECT Id FROM Account')).status).toBe(401);
  });

  it('reset: turns every failure mode off', async () => {
    const { access_token } = await tokens();
    sandbox.failures.serverError(3);
    sandbox.failures.malformedJson(3);
    sandbox.failures.consentDenied(true);
    sandbox.failures.rotateRefreshTokens(true);
    sandbox.failures.slow(10);
    sandbox.failures.revokeRefused(2);
    sandbox.failures.reset();
    expect(sandbox.failures.state()).toEqual({
      requestLimitExceeded: 0,
      serverError: 0,
      malformedJson: 0,
      slowMs: 0,
      rotateRefreshTokens: false,
      consentDenied: false,
      bulkJobFails: 0,
      bulkJobAborted: 0,
      bulkJobNeverCompletes: 0,
      bulkLocatorExpires: 0,
      bulkPollsToComplete: 2,
      revokeRefused: 0,
    });
    expect((await query(access_token, 'SELECT Id FROM Account')).status).toBe(200);
  });
});

describe('Salesforce sandbox: HTTP control endpoints', () => {
  it('switches failure modes with POST /__sandbox/failures', async () => {
    const { access_token } = await tokens();
    const answer = await control('/__sandbox/failures', { requestLimitExceeded: 1, rotateRefreshTokens: true, serverError: 'always' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ requestLimitExceeded: 1, serverError: 'always', rotateRefreshTokens: true });
    expect((await query(access_token, 'SELECT Id FROM Account')).status).toBe(403);
    expect((await query(access_token, 'SELECT Id FROM Account')).status).toBe(503);
    await control('/__sandbox/failures', { reset: true });
    expect((await query(access_token, 'SELECT Id FROM Account')).status).toBe(200);
  });

  it('expires sessions over HTTP too', async () => {
    const { access_token } = await tokens();
    await control('/__sandbox/failures', { expireSessions: true });
    expect((await query(access_token, 'SELECT Id FROM Account')).status).toBe(401);
  });

  it('reports counts, failure modes and stats with GET /__sandbox/state, and no secrets', async () => {
    await tokens();
    const { status, body } = await control('/__sandbox/state');
    expect(status).toBe(200);
    expect(body.counts).toEqual({ Account: 340, Contact: 1000, Lead: 250, Opportunity: 89 });
    expect(body.entityCounts).toEqual({ accounts: 340, people: 1250, opportunities: 89 });
    expect(body.failures).toMatchObject({ requestLimitExceeded: 0 });
    const text = JSON.stringify(body);
    for (const secret of sandbox.secretsIssued()) expect(text).not.toContain(secret);
  });

  it('changes data with POST /__sandbox/data', async () => {
    const { status, body } = await control('/__sandbox/data', { add: { Lead: 5 }, remove: { Account: 2 } });
    expect(status).toBe(200);
    expect(body.counts).toMatchObject({ Lead: 255, Account: 338 });
    expect((body.changed as { add: { Lead: string[] } }).add.Lead).toHaveLength(5);
  });

  it('rejects unknown modes and bad values with 400 and changes nothing', async () => {
    expect((await control('/__sandbox/failures', { explode: true })).status).toBe(400);
    expect((await control('/__sandbox/failures', { serverError: -1 })).status).toBe(400);
    expect((await control('/__sandbox/data', { add: { Lead: 1 }, modify: { Widget: 1 } })).status).toBe(400);
    expect(sandbox.data.counts().Lead).toBe(250);
  });
});

describe('Salesforce sandbox: data set', () => {
  async function everything(target: SalesforceSandbox): Promise<SalesforceRecord[]> {
    const { access_token } = await obtainSandboxTokens(target);
    const fields = 'Id, FirstName, LastName, Email, Title, AccountId, SystemModstamp, CreatedDate, LastModifiedDate';
    const response = await fetch(`${target.url}${API}/query?q=${encodeURIComponent(`SELECT ${fields} FROM Contact`)}`, {
      headers: { Authorization: `Bearer ${access_token}` },
    });
    return ((await response.json()) as QueryAnswer).records;
  }

  it('is the same for the same seed and different for another seed', async () => {
    const twin = await startSalesforceSandbox();
    const other = await startSalesforceSandbox({ seed: 7 });
    try {
      const [mine, twins, others] = await Promise.all([everything(sandbox), everything(twin), everything(other)]);
      expect(twins).toEqual(mine);
      expect(others).not.toEqual(mine);
    } finally {
      await Promise.all([twin.close(), other.close()]);
    }
  });

  it('has 18-character ids with key prefixes and valid checksums, and contacts that reference real accounts', async () => {
    const { access_token } = await tokens();
    const accounts = await allPages(access_token, 'SELECT Id FROM Account');
    const contacts = await allPages(access_token, 'SELECT Id, AccountId, Email FROM Contact');
    const opportunities = await allPages(access_token, 'SELECT Id, AccountId FROM Opportunity');
    const leads = await allPages(access_token, 'SELECT Id, Email FROM Lead');
    const accountIds = new Set(accounts.records.map((record) => record.Id));
    const valid = (id: string, prefix: string) => id.length === 18 && id.startsWith(prefix) && checksumSuffix(id.slice(0, 15)) === id.slice(15);
    expect(accounts.records.every((record) => valid(record.Id, '001'))).toBe(true);
    expect(contacts.records.every((record) => valid(record.Id, '003'))).toBe(true);
    expect(leads.records.every((record) => valid(record.Id, '00Q'))).toBe(true);
    expect(opportunities.records.every((record) => valid(record.Id, '006'))).toBe(true);
    expect(opportunities.records.every((record) => accountIds.has(record.AccountId as string))).toBe(true);
    expect(contacts.records.every((record) => record.AccountId === null || accountIds.has(record.AccountId as string))).toBe(true);
    const emails = [...contacts.records, ...leads.records].map((record) => record.Email);
    expect(new Set(emails).size).toBe(emails.length);
  });

  it('spreads SystemModstamp over the year before a fixed date, distinct and not in id order', async () => {
    const { access_token } = await tokens();
    const { records } = await allPages(access_token, 'SELECT Id, SystemModstamp, CreatedDate FROM Contact');
    const stamps = records.map((record) => Date.parse(String(record.SystemModstamp).replace('+0000', 'Z')));
    expect(new Set(stamps).size).toBe(stamps.length);
    expect(Math.min(...stamps)).toBeGreaterThanOrEqual(DATA_SET_END - 366 * 24 * 3600 * 1000);
    expect(Math.max(...stamps)).toBeLessThan(DATA_SET_END);
    const ids = records.map((record) => record.Id);
    expect([...ids].sort()).not.toEqual(ids);
    expect(records.every((record) => String(record.CreatedDate) <= String(record.SystemModstamp))).toBe(true);
  });

  it('stamps each mutation strictly after every earlier SystemModstamp, in the order made', async () => {
    const { access_token } = await tokens();
    const before = await allPages(access_token, 'SELECT Id, SystemModstamp FROM Account');
    const changed = [...sandbox.data.modify('Account', 5), ...sandbox.data.remove('Account', 5)];
    const after = await allPages(access_token, 'SELECT Id, SystemModstamp FROM Account', { all: true });
    const tail = after.records.slice(-10);
    expect(tail.map((record) => record.Id)).toEqual(changed);
    const stamps = tail.map((record) => Date.parse(String(record.SystemModstamp).replace('+0000', 'Z')));
    const previousMax = Date.parse(String(before.records.at(-1)?.SystemModstamp).replace('+0000', 'Z'));
    expect(stamps.every((stamp, i) => stamp > (i === 0 ? previousMax : (stamps[i - 1] as number)))).toBe(true);
  });

  it('refuses to change more records than are live', () => {
    expect(() => sandbox.data.remove('Account', 10_000)).toThrow(RangeError);
  });
});

describe('salesforceSandboxSizesFromEnv', () => {
  it('keeps the defaults when nothing is set', () => {
    expect(salesforceSandboxSizesFromEnv({})).toEqual({ accounts: 340, people: 1250, opportunities: 89 });
  });

  it('reads positive integers', () => {
    expect(
      salesforceSandboxSizesFromEnv({
        SANDBOX_SALESFORCE_ACCOUNTS: '20000',
        SANDBOX_SALESFORCE_PEOPLE: '70000',
        SANDBOX_SALESFORCE_OPPORTUNITIES: ' 10000 ',
      }),
    ).toEqual({ accounts: 20000, people: 70000, opportunities: 10000 });
  });

  it.each(['0', '-5', '1.5', 'lots', '1e3', '9999999999'])('rejects %s with an error that names the variable', (value) => {
    expect(() => salesforceSandboxSizesFromEnv({ SANDBOX_SALESFORCE_PEOPLE: value })).toThrow(/SANDBOX_SALESFORCE_PEOPLE must be a positive integer/);
  });
});
