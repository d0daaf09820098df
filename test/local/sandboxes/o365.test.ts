import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AUTH_CODE_TTL_MS,
  newPkcePair,
  obtainO365Tokens,
  o365SandboxContactsFromEnv,
  type O365Sandbox,
  type O365TokenAnswer,
  SANDBOX_TENANT_ID,
  startO365Sandbox,
} from '../../../local/sandboxes/o365';

const REDIRECT_URI = 'http://127.0.0.1:1/oauth/o365/callback';
const SCOPES = 'offline_access User.Read Contacts.Read';
const DELTA = '/v1.0/me/contacts/delta';

type Json = Record<string, unknown>;
interface DeltaPage {
  '@odata.context': string;
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
  value: Json[];
}

let sandbox: O365Sandbox;
beforeEach(async () => {
  sandbox = await startO365Sandbox();
});
afterEach(async () => {
  await sandbox.close();
});

/** GET of the authorize endpoint, without following the redirect. */
function authorize(overrides: Record<string, string | undefined> = {}, tenant = 'common'): Promise<Response> {
  const params: Record<string, string | undefined> = {
    client_id: sandbox.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    response_mode: 'query',
    scope: SCOPES,
    state: 'state-123',
    code_challenge_method: 'S256',
    ...overrides,
  };
  const url = new URL(`/${tenant}/oauth2/v2.0/authorize`, sandbox.url);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return fetch(url, { redirect: 'manual' });
}

/** The query parameters of a redirect to the callback. */
function redirectParams(response: Response): URLSearchParams {
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
  return location.searchParams;
}

async function authorizedCode(overrides: Record<string, string> = {}): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = newPkcePair();
  const params = redirectParams(await authorize({ code_challenge: challenge, ...overrides }));
  return { code: params.get('code') ?? '', verifier };
}

async function postToken(form: Record<string, string>, tenant = 'common'): Promise<{ status: number; body: Json }> {
  const response = await fetch(new URL(`/${tenant}/oauth2/v2.0/token`, sandbox.url), { method: 'POST', body: new URLSearchParams(form) });
  return { status: response.status, body: (await response.json()) as Json };
}

function redeem(code: string, verifier: string, overrides: Record<string, string> = {}) {
  return postToken({
    client_id: sandbox.clientId,
    client_secret: sandbox.clientSecret,
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    ...overrides,
  });
}

function refresh(refreshToken: string, overrides: Record<string, string> = {}) {
  return postToken({
    client_id: sandbox.clientId,
    client_secret: sandbox.clientSecret,
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    ...overrides,
  });
}

function tokens(scope = SCOPES): Promise<O365TokenAnswer> {
  return obtainO365Tokens(sandbox, { scope });
}

function graph(pathOrUrl: string, accessToken?: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(new URL(pathOrUrl, sandbox.url), { headers: { ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}), ...headers } });
}

async function page(pathOrUrl: string, accessToken: string, pageSize?: number): Promise<DeltaPage> {
  const response = await graph(pathOrUrl, accessToken, pageSize ? { Prefer: `odata.maxpagesize=${pageSize}` } : {});
  expect(response.status).toBe(200);
  return (await response.json()) as DeltaPage;
}

/** Follows nextLinks from `start` to the page with the deltaLink; returns the pages and the deltaLink. */
async function round(accessToken: string, start = DELTA, pageSize?: number) {
  const pages: DeltaPage[] = [];
  let current = await page(start, accessToken, pageSize);
  for (;;) {
    pages.push(current);
    if (current['@odata.deltaLink']) break;
    expect(current['@odata.nextLink']).toMatch(new RegExp(`^${sandbox.url}/v1\\.0/me/contacts/delta\\?\\$skiptoken=[A-Za-z0-9_-]+$`));
    current = await page(current['@odata.nextLink'] as string, accessToken, pageSize);
  }
  const deltaLink = current['@odata.deltaLink'] as string;
  expect(deltaLink).toMatch(new RegExp(`^${sandbox.url}/v1\\.0/me/contacts/delta\\?\\$deltatoken=[A-Za-z0-9_-]+$`));
  return { pages, items: pages.flatMap((p) => p.value), deltaLink };
}

/** The token endpoint's error, checked for Microsoft's shape. */
function aadError(answer: { status: number; body: Json }) {
  expect(answer.body).toMatchObject({
    error: expect.any(String),
    error_description: expect.stringMatching(/^AADSTS\d+: /),
    error_codes: [expect.any(Number)],
    timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/),
    trace_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    correlation_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
  });
  return { status: answer.status, error: answer.body.error as string, code: (answer.body.error_codes as number[])[0] };
}

async function graphErrorOf(response: Response): Promise<{ status: number; code: string }> {
  const body = (await response.json()) as { error: { code: string; message: string; innerError: Json } };
  expect(body.error.innerError).toMatchObject({ 'request-id': expect.any(String), date: expect.any(String) });
  return { status: response.status, code: body.error.code };
}

async function control(path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const response = await fetch(new URL(path, sandbox.url), {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

describe('Office 365 sandbox: authorization (auth code flow with PKCE)', () => {
  it('consents at once and redirects to the callback with a code and the state', async () => {
    const { challenge } = newPkcePair();
    const params = redirectParams(await authorize({ code_challenge: challenge }));
    expect(params.get('state')).toBe('state-123');
    expect(params.get('code')).toMatch(/^1\.AQ[A-Za-z0-9_-]+$/);
  });

  it('takes any tenant segment: common, organizations, a tenant id', async () => {
    for (const tenant of ['common', 'organizations', SANDBOX_TENANT_ID]) {
      const { challenge } = newPkcePair();
      expect((await authorize({ code_challenge: challenge }, tenant)).status).toBe(302);
    }
  });

  it('redeems the code and verifier for tokens shaped like Microsoft’s', async () => {
    const { code, verifier } = await authorizedCode();
    const { status, body } = await redeem(code, verifier);
    expect(status).toBe(200);
    expect(body).toEqual({
      token_type: 'Bearer',
      scope: 'User.Read Contacts.Read',
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: expect.stringMatching(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/),
      refresh_token: expect.stringMatching(/^1\.AQ/),
    });
  });

  it('adds an id_token only for an OpenID Connect sign-in, and a refresh token only with offline_access', async () => {
    const oidc = await tokens('openid profile offline_access Contacts.Read');
    expect(oidc.id_token).toMatch(/^[^.]+\.[^.]+\.[^.]+$/);
    const claims = JSON.parse(Buffer.from(oidc.id_token!.split('.')[1]!, 'base64url').toString()) as Json;
    expect(claims).toMatchObject({ aud: sandbox.clientId, tid: SANDBOX_TENANT_ID, oid: expect.any(String) });

    const online = await tokens('User.Read Contacts.Read');
    expect(online.refresh_token).toBeUndefined();
    expect(online.id_token).toBeUndefined();
  });

  it('uses a code once: the second redemption answers invalid_grant AADSTS54005', async () => {
    const { code, verifier } = await authorizedCode();
    expect((await redeem(code, verifier)).status).toBe(200);
    expect(aadError(await redeem(code, verifier))).toEqual({ status: 400, error: 'invalid_grant', code: 54005 });
  });

  it('rejects a wrong verifier (AADSTS50148) and burns the code', async () => {
    const { code, verifier } = await authorizedCode();
    expect(aadError(await redeem(code, newPkcePair().verifier))).toEqual({ status: 400, error: 'invalid_grant', code: 50148 });
    expect(aadError(await redeem(code, verifier))).toMatchObject({ error: 'invalid_grant', code: 54005 });
  });

  it('rejects a code older than 10 minutes (AADSTS70008)', async () => {
    const { code, verifier } = await authorizedCode();
    sandbox.advanceTime(AUTH_CODE_TTL_MS + 1000);
    expect(aadError(await redeem(code, verifier))).toMatchObject({ error: 'invalid_grant', code: 70008 });
  });

  it('rejects a code redeemed with another redirect_uri', async () => {
    const { code, verifier } = await authorizedCode();
    expect(aadError(await redeem(code, verifier, { redirect_uri: 'http://127.0.0.1:2/elsewhere' }))).toMatchObject({ status: 400, error: 'invalid_grant' });
  });

  it('answers an unknown client with 400 unauthorized_client and a wrong secret with 401 invalid_client', async () => {
    const { code, verifier } = await authorizedCode();
    expect(aadError(await redeem(code, verifier, { client_id: 'someone-else' }))).toEqual({ status: 400, error: 'unauthorized_client', code: 700016 });
    expect(aadError(await redeem(code, verifier, { client_secret: 'wrong' }))).toEqual({ status: 401, error: 'invalid_client', code: 7000215 });
  });

  it('shows an error page instead of redirecting for an unknown client or an unusable redirect_uri', async () => {
    const { challenge } = newPkcePair();
    for (const overrides of [{ client_id: 'nobody' }, { redirect_uri: 'not a url' }, { redirect_uri: 'http://127.0.0.1:1/cb#fragment' }]) {
      const response = await authorize({ code_challenge: challenge, ...overrides });
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(await response.text()).toMatch(/AADSTS(700016|50011)/);
    }
  });

  it('redirects with invalid_request when the PKCE challenge is missing or not S256', async () => {
    const missing = redirectParams(await authorize());
    expect(missing.get('error')).toBe('invalid_request');
    expect(missing.get('state')).toBe('state-123');
    const plain = redirectParams(await authorize({ code_challenge: newPkcePair().challenge, code_challenge_method: 'plain' }));
    expect(plain.get('error')).toBe('invalid_request');
    expect(plain.get('code')).toBeNull();
  });

  it('redirects with invalid_scope for a scope Graph does not have', async () => {
    const params = redirectParams(await authorize({ code_challenge: newPkcePair().challenge, scope: 'offline_access Contacts.Steal' }));
    expect(params.get('error')).toBe('invalid_scope');
    expect(params.get('error_description')).toMatch(/^AADSTS70011: /);
  });

  it('redirects with access_denied while consent is denied', async () => {
    sandbox.failures.consentDenied(true);
    const params = redirectParams(await authorize({ code_challenge: newPkcePair().challenge }));
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('error_description')).toMatch(/^AADSTS65004: /);
    expect(params.get('state')).toBe('state-123');
    expect(params.get('code')).toBeNull();
  });
});

describe('Office 365 sandbox: refresh', () => {
  it('answers every refresh with a new refresh token; the old one stops working', async () => {
    const first = await tokens();
    const second = await refresh(first.refresh_token!);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ token_type: 'Bearer', scope: 'User.Read Contacts.Read', expires_in: 3599, ext_expires_in: 3599 });
    expect(second.body.refresh_token).toEqual(expect.any(String));
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect(second.body.access_token).not.toBe(first.access_token);

    expect(aadError(await refresh(first.refresh_token!))).toEqual({ status: 400, error: 'invalid_grant', code: 70000 });
    expect((await refresh(second.body.refresh_token as string)).status).toBe(200);
  });

  it('lets a refresh narrow the scopes but not widen them', async () => {
    const { refresh_token } = await tokens();
    const narrowed = await refresh(refresh_token!, { scope: 'User.Read' });
    expect(narrowed.body.scope).toBe('User.Read');
    expect(aadError(await refresh(narrowed.body.refresh_token as string, { scope: 'Contacts.ReadWrite' }))).toMatchObject({ error: 'invalid_grant', code: 65001 });
  });

  it('answers invalid_grant AADSTS50173 once the grant is revoked, and stops its access tokens', async () => {
    const { refresh_token, access_token } = await tokens();
    sandbox.failures.revokeGrant();
    expect(aadError(await refresh(refresh_token!))).toEqual({ status: 400, error: 'invalid_grant', code: 50173 });
    expect(await graphErrorOf(await graph('/v1.0/me', access_token))).toEqual({ status: 401, code: 'InvalidAuthenticationToken' });
  });

  it('counts refresh calls and code exchanges', async () => {
    const { refresh_token } = await tokens();
    await refresh(refresh_token!);
    await refresh('unknown');
    expect(sandbox.stats()).toMatchObject({ codeExchanges: 1, tokenRefreshes: 2 });
    sandbox.resetStats();
    expect(sandbox.stats()).toMatchObject({ codeExchanges: 0, tokenRefreshes: 0, requests: 0 });
  });

  it('lists every secret it issued, the client secret included', async () => {
    const { code, verifier } = await authorizedCode();
    const { body } = await redeem(code, verifier);
    const refreshed = await refresh(body.refresh_token as string);
    expect(sandbox.secretsIssued()).toEqual(
      expect.arrayContaining([sandbox.clientSecret, code, body.access_token, body.refresh_token, refreshed.body.access_token, refreshed.body.refresh_token]),
    );
  });
});

describe('Office 365 sandbox: Graph authentication', () => {
  it('answers /v1.0/me for a valid token', async () => {
    const { access_token } = await tokens();
    const response = await graph('/v1.0/me', access_token);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: expect.any(String), userPrincipalName: expect.stringContaining('@') });
  });

  it('answers 401 InvalidAuthenticationToken without a token, with an unknown one, and after expireSessions', async () => {
    const { access_token } = await tokens();
    const none = await graph(DELTA);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await graphErrorOf(none)).toEqual({ status: 401, code: 'InvalidAuthenticationToken' });
    expect(await graphErrorOf(await graph(DELTA, 'not-a-token'))).toEqual({ status: 401, code: 'InvalidAuthenticationToken' });

    sandbox.failures.expireSessions();
    expect(await graphErrorOf(await graph(DELTA, access_token))).toEqual({ status: 401, code: 'InvalidAuthenticationToken' });
  });

  it('expires access tokens after expires_in seconds on its clock', async () => {
    const { access_token, expires_in } = await tokens();
    sandbox.advanceTime((expires_in - 1) * 1000);
    expect((await graph(DELTA, access_token)).status).toBe(200);
    sandbox.advanceTime(2000);
    expect((await graph(DELTA, access_token)).status).toBe(401);
  });

  it('answers 403 ErrorAccessDenied to a token without Contacts.Read', async () => {
    const { access_token } = await tokens('offline_access User.Read');
    expect(await graphErrorOf(await graph(DELTA, access_token))).toEqual({ status: 403, code: 'ErrorAccessDenied' });
  });
});

describe('Office 365 sandbox: contacts delta', () => {
  it('pages the initial round by 10 without Prefer, and ends with a delta link', async () => {
    const { access_token } = await tokens();
    const { pages, items } = await round(access_token);
    expect(pages).toHaveLength(15);
    expect(pages.slice(0, -1).every((p) => p.value.length === 10 && !p['@odata.deltaLink'])).toBe(true);
    expect(pages.at(-1)!['@odata.nextLink']).toBeUndefined();
    expect(new Set(items.map((item) => item.id)).size).toBe(150);
  });

  it('honours Prefer: odata.maxpagesize, says so in Preference-Applied, and caps it at 200', async () => {
    const { access_token } = await tokens();
    const asked = await graph(DELTA, access_token, { Prefer: 'odata.maxpagesize=40' });
    expect(asked.headers.get('preference-applied')).toBe('odata.maxpagesize=40');
    expect(((await asked.json()) as DeltaPage).value).toHaveLength(40);
    expect((await round(access_token, DELTA, 40)).pages.map((p) => p.value.length)).toEqual([40, 40, 40, 30]);

    const big = await startO365Sandbox({ contacts: 450 });
    try {
      const bigTokens = await obtainO365Tokens(big);
      const response = await fetch(`${big.url}${DELTA}`, { headers: { Authorization: `Bearer ${bigTokens.access_token}`, Prefer: 'odata.maxpagesize=1000' } });
      expect(response.headers.get('preference-applied')).toBe('odata.maxpagesize=200');
      expect(((await response.json()) as DeltaPage).value).toHaveLength(200);
    } finally {
      await big.close();
    }
  });

  it('returns contacts shaped like Graph’s, with UTC datetimes in whole seconds', async () => {
    const { access_token } = await tokens();
    const { items } = await round(access_token, DELTA, 200);
    const contact = items[0]!;
    expect(contact).toMatchObject({
      '@odata.type': '#microsoft.graph.contact',
      '@odata.etag': expect.stringMatching(/^W\/"/),
      id: expect.stringMatching(/^AAMkAD[A-Za-z0-9_-]+AAA=$/),
      displayName: expect.any(String),
      givenName: expect.any(String),
      surname: expect.any(String),
      emailAddresses: expect.any(Array),
      lastModifiedDateTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
    });
    for (const item of items) {
      for (const email of item.emailAddresses as Array<{ name: string; address: string }>) expect(email.address).toMatch(/@/);
    }
    // Some have no address, some no company: the adapter must cope with both.
    expect(items.some((item) => (item.emailAddresses as unknown[]).length === 0)).toBe(true);
    expect(items.some((item) => item.companyName === null)).toBe(true);
  });

  it('returns only the $select-ed properties (and the id), and 400 for an unknown one', async () => {
    const { access_token } = await tokens();
    const { items } = await round(access_token, `${DELTA}?$select=displayName,emailAddresses`, 200);
    expect(Object.keys(items[0]!).sort()).toEqual(['@odata.etag', '@odata.type', 'displayName', 'emailAddresses', 'id']);
    expect(await graphErrorOf(await graph(`${DELTA}?$select=shoeSize`, access_token))).toEqual({ status: 400, code: 'RequestBroker--ParseUri' });
  });

  it('answers a next link again with the same page, so a retried page loses nothing', async () => {
    const { access_token } = await tokens();
    const first = await page(DELTA, access_token, 50);
    const next = first['@odata.nextLink']!;
    const once = await page(next, access_token, 50);
    const twice = await page(next, access_token, 50);
    expect(twice.value.map((item) => item.id)).toEqual(once.value.map((item) => item.id));
  });

  it('answers a delta link with nothing but a new delta link when nothing changed', async () => {
    const { access_token } = await tokens();
    const { deltaLink } = await round(access_token, DELTA, 200);
    const empty = await page(deltaLink, access_token);
    expect(empty.value).toEqual([]);
    expect(empty['@odata.deltaLink']).toEqual(expect.any(String));
  });

  it('answers a delta link with exactly the changes since: modified in full, removed as @removed, added', async () => {
    const { access_token } = await tokens();
    const before = await round(access_token, DELTA, 200);
    const byId = new Map(before.items.map((item) => [item.id as string, item]));
    sandbox.advanceTime(60_000);
    const modified = sandbox.data.modify(3);
    const removed = sandbox.data.remove(2);
    const added = sandbox.data.add(1);
    expect(sandbox.data.count()).toBe(149);

    const changes = await round(access_token, before.deltaLink, 2);
    expect(changes.pages).toHaveLength(3);
    expect(changes.items).toHaveLength(6);
    for (const id of modified) {
      const item = changes.items.find((entry) => entry.id === id)!;
      expect(item.displayName).toBe(byId.get(id)!.displayName);
      expect(item.lastModifiedDateTime! > byId.get(id)!.lastModifiedDateTime!).toBe(true);
    }
    expect(changes.items.filter((item) => item['@removed'])).toEqual(
      removed.map((id) => ({ '@odata.type': '#microsoft.graph.contact', id, '@removed': { reason: 'deleted' } })),
    );
    expect(changes.items.find((item) => item.id === added[0])).toMatchObject({ displayName: expect.any(String) });

    // The new delta link starts after these changes.
    expect((await page(changes.deltaLink, access_token)).value).toEqual([]);
  });

  it('does not report a contact that was added and removed between two rounds', async () => {
    const { access_token } = await tokens();
    const { deltaLink } = await round(access_token, DELTA, 200);
    sandbox.data.add(1);
    sandbox.data.remove(sandbox.data.count());
    const changes = await round(access_token, deltaLink, 200);
    expect(changes.items).toHaveLength(150);
    expect(changes.items.every((item) => item['@removed'])).toBe(true);
  });

  it('answers 410 Gone syncStateNotFound for delta and next links once they expired; a new round still works', async () => {
    const { access_token } = await tokens();
    const first = await page(DELTA, access_token, 100);
    const { deltaLink } = await round(access_token, DELTA, 200);
    sandbox.failures.expireDeltaLinks();

    expect(await graphErrorOf(await graph(deltaLink, access_token))).toEqual({ status: 410, code: 'syncStateNotFound' });
    expect(await graphErrorOf(await graph(first['@odata.nextLink']!, access_token))).toEqual({ status: 410, code: 'syncStateNotFound' });
    expect((await round(access_token, DELTA, 200)).items).toHaveLength(150);
  });

  it('answers 400 for a token it never issued', async () => {
    const { access_token } = await tokens();
    expect(await graphErrorOf(await graph(`${DELTA}?$deltatoken=made-up`, access_token))).toEqual({ status: 400, code: 'BadRequest' });
  });
});

describe('Office 365 sandbox: failure modes', () => {
  it('throttles the next calls with 429 and Retry-After, then answers again', async () => {
    const { access_token } = await tokens();
    sandbox.failures.throttle(2, 7);
    for (let i = 0; i < 2; i++) {
      const response = await graph(DELTA, access_token);
      expect(response.headers.get('retry-after')).toBe('7');
      expect(await graphErrorOf(response)).toEqual({ status: 429, code: 'TooManyRequests' });
    }
    expect((await graph(DELTA, access_token)).status).toBe(200);
  });

  it('throttles with 503 serviceNotAvailable when asked for the 503 variant', async () => {
    const { access_token } = await tokens();
    sandbox.failures.throttle(1, 3, { status: 503 });
    const response = await graph(DELTA, access_token);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(await graphErrorOf(response)).toEqual({ status: 503, code: 'serviceNotAvailable' });
  });

  it('authenticates before throttling: a call without a valid token does not use up a failure', async () => {
    const { access_token } = await tokens();
    sandbox.failures.throttle(1, 1);
    expect((await graph(DELTA)).status).toBe(401);
    expect((await graph(DELTA, access_token)).status).toBe(429);
  });

  it('throttles or fails the token endpoint when targeted there', async () => {
    const { refresh_token } = await tokens();
    sandbox.failures.throttle(1, 4, { target: 'token' });
    const throttled = await fetch(new URL('/common/oauth2/v2.0/token', sandbox.url), {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh_token!, client_id: sandbox.clientId, client_secret: sandbox.clientSecret }),
    });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('4');
    expect(await throttled.json()).toMatchObject({ error: 'temporarily_unavailable' });

    sandbox.failures.serverError(1, { status: 500, target: 'token' });
    expect(aadError(await refresh(refresh_token!))).toMatchObject({ status: 500, error: 'server_error' });
    expect((await refresh(refresh_token!)).status).toBe(200);
  });

  it('answers server errors: 500 as Graph JSON, 502 and 504 as a gateway’s HTML page', async () => {
    const { access_token } = await tokens();
    sandbox.failures.serverError(1);
    expect(await graphErrorOf(await graph(DELTA, access_token))).toEqual({ status: 500, code: 'generalException' });
    sandbox.failures.serverError(2, { status: 502 });
    const gateway = await graph(DELTA, access_token);
    expect(gateway.status).toBe(502);
    expect(gateway.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await graph(DELTA, access_token)).status).toBe(502);
    expect((await graph(DELTA, access_token)).status).toBe(200);
  });

  it('truncates the next successful answers into malformed JSON', async () => {
    const { access_token } = await tokens();
    sandbox.failures.malformedJson(1);
    const broken = await graph(DELTA, access_token);
    expect(broken.status).toBe(200);
    await expect(broken.json()).rejects.toThrow();
    expect(((await (await graph(DELTA, access_token)).json()) as DeltaPage).value).toHaveLength(10);
  });

  it('delays every answer while slow', async () => {
    const { access_token } = await tokens();
    sandbox.failures.slow(150);
    const started = performance.now();
    await graph(DELTA, access_token);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('reports its switches in state() and turns them all off with reset()', () => {
    sandbox.failures.throttle(Infinity, 2, { status: 503 });
    sandbox.failures.serverError(3);
    sandbox.failures.malformedJson(1);
    sandbox.failures.slow(10);
    sandbox.failures.consentDenied(true);
    expect(sandbox.failures.state()).toEqual({
      consentDenied: true,
      slowMs: 10,
      throttle: { remaining: 'always', retryAfterSeconds: 2, status: 503, target: 'graph' },
      serverError: { remaining: 3, status: 500, target: 'graph' },
      malformedJson: 1,
    });
    sandbox.failures.reset();
    expect(sandbox.failures.state()).toMatchObject({ consentDenied: false, slowMs: 0, malformedJson: 0, throttle: { remaining: 0 }, serverError: { remaining: 0 } });
  });

  it('rejects nonsense: negative counts, unknown statuses', () => {
    expect(() => sandbox.failures.throttle(-1, 1)).toThrow(RangeError);
    expect(() => sandbox.failures.throttle(1, 1, { status: 500 as 429 })).toThrow(RangeError);
    expect(() => sandbox.failures.serverError(1.5)).toThrow(RangeError);
    expect(() => sandbox.data.remove(151)).toThrow(RangeError);
  });
});

describe('Office 365 sandbox: control endpoints', () => {
  it('applies failure modes posted to /__sandbox/failures and shows them in /__sandbox/state', async () => {
    const posted = await control('/__sandbox/failures', { throttle: { times: 2, retryAfterSeconds: 5, status: 503 }, serverError: 'always', slow: 5 });
    expect(posted).toMatchObject({ status: 200, body: { throttle: { remaining: 2, status: 503 }, serverError: { remaining: 'always' }, slowMs: 5 } });
    const state = await control('/__sandbox/state');
    expect(state.body).toMatchObject({ url: sandbox.url, tenantId: SANDBOX_TENANT_ID, contacts: 150, failures: { throttle: { remaining: 2 } } });
    expect((await control('/__sandbox/failures', { reset: true })).body).toMatchObject({ throttle: { remaining: 0 }, serverError: { remaining: 0 } });
  });

  it('expires sessions and delta links, denies consent and revokes grants over HTTP', async () => {
    const { access_token, refresh_token } = await tokens();
    const { deltaLink } = await round(access_token, DELTA, 200);
    await control('/__sandbox/failures', { expireDeltaLinks: true, consentDenied: true });
    expect((await graph(deltaLink, access_token)).status).toBe(410);
    expect(redirectParams(await authorize({ code_challenge: newPkcePair().challenge })).get('error')).toBe('access_denied');
    await control('/__sandbox/failures', { expireSessions: true });
    expect((await graph(DELTA, access_token)).status).toBe(401);
    await control('/__sandbox/failures', { revokeGrant: true });
    expect(aadError(await refresh(refresh_token!))).toMatchObject({ code: 50173 });
  });

  it('rejects unknown failure modes and bad values with 400, changing nothing', async () => {
    expect(await control('/__sandbox/failures', { meteorStrike: true })).toMatchObject({ status: 400, body: { error: expect.stringContaining('meteorStrike') } });
    expect((await control('/__sandbox/failures', { throttle: { times: 1 } })).status).toBe(400);
    expect(sandbox.failures.state().throttle.remaining).toBe(0);
  });

  it('changes data posted to /__sandbox/data and resets stats', async () => {
    const changed = await control('/__sandbox/data', { modify: 3, remove: 2, add: 1 });
    expect(changed.body).toMatchObject({ contacts: 149, changed: { modify: expect.any(Array), remove: expect.any(Array), add: expect.any(Array) } });
    expect((await control('/__sandbox/data', { remove: 1000 })).status).toBe(400);
    expect(sandbox.data.count()).toBe(149);

    await tokens();
    expect(sandbox.stats().requests).toBeGreaterThan(0);
    expect((await control('/__sandbox/stats/reset', {})).body).toMatchObject({ requests: 0 });
  });
});

describe('Office 365 sandbox: determinism', () => {
  async function contactsOf(options: { seed?: number; contacts?: number }) {
    const other = await startO365Sandbox(options);
    try {
      const { access_token } = await obtainO365Tokens(other);
      const response = await fetch(`${other.url}${DELTA}?$select=displayName,emailAddresses,companyName,lastModifiedDateTime`, {
        headers: { Authorization: `Bearer ${access_token}`, Prefer: 'odata.maxpagesize=200' },
      });
      return ((await response.json()) as DeltaPage).value;
    } finally {
      await other.close();
    }
  }

  it('generates the same contacts from the same seed, and others from another seed', async () => {
    const [a, b, c] = await Promise.all([contactsOf({}), contactsOf({}), contactsOf({ seed: 7 })]);
    expect(a).toHaveLength(150);
    expect(b).toEqual(a);
    expect(c.map((item) => item.id)).not.toEqual(a.map((item) => item.id));
  });

  it('sizes the mailbox by the contacts option', async () => {
    expect(await contactsOf({ contacts: 3 })).toHaveLength(3);
    expect(await contactsOf({ contacts: 0 })).toEqual([]);
  });

  it('picks the same contacts to change for the same seed', async () => {
    const other = await startO365Sandbox();
    try {
      expect(other.data.modify(3)).toEqual(sandbox.data.modify(3));
      expect(other.data.remove(2)).toEqual(sandbox.data.remove(2));
    } finally {
      await other.close();
    }
  });
});

describe('o365SandboxContactsFromEnv', () => {
  it('reads SANDBOX_O365_CONTACTS, keeps 150 when unset, and names the variable when it is wrong', () => {
    expect(o365SandboxContactsFromEnv({})).toBe(150);
    expect(o365SandboxContactsFromEnv({ SANDBOX_O365_CONTACTS: ' ' })).toBe(150);
    expect(o365SandboxContactsFromEnv({ SANDBOX_O365_CONTACTS: '2000' })).toBe(2000);
    expect(o365SandboxContactsFromEnv({ SANDBOX_O365_CONTACTS: '0' })).toBe(0);
    expect(() => o365SandboxContactsFromEnv({ SANDBOX_O365_CONTACTS: '-1' })).toThrow(/SANDBOX_O365_CONTACTS .*'-1'/);
    expect(() => o365SandboxContactsFromEnv({ SANDBOX_O365_CONTACTS: '1e3' })).toThrow(/SANDBOX_O365_CONTACTS/);
  });
});
