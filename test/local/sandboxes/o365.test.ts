import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AUTH_CODE_TTL_MS,
  KEPT_GENERATIONS,
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
  // The default folder alone, unless a test says otherwise: the delta tests page its 150
  // contacts through `/me/contacts/delta`. The folders have tests of their own below.
  sandbox = await startO365Sandbox({ folders: [] });
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

  it('answers a delta link with exactly the changes since: modified with only what changed, removed as @removed, added whole', async () => {
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
      // Graph sends "at least the properties that have been updated"; the sandbox sends just those.
      expect(item).not.toHaveProperty('displayName');
      expect(item.jobTitle).not.toBe(byId.get(id)!.jobTitle);
      expect(Object.keys(item).every((key) => key.startsWith('@odata.') || ['id', 'jobTitle', 'companyName', 'changeKey', 'lastModifiedDateTime'].includes(key))).toBe(true);
      expect(item.lastModifiedDateTime! > byId.get(id)!.lastModifiedDateTime!).toBe(true);
    }
    expect(changes.items.filter((item) => item['@removed'])).toEqual(
      removed.map((id) => ({ '@odata.type': '#microsoft.graph.contact', id, '@removed': { reason: 'deleted' } })),
    );
    expect(changes.items.find((item) => item.id === added[0])).toMatchObject({ displayName: expect.any(String), givenName: expect.any(String), emailAddresses: expect.any(Array) });

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

describe('Office 365 sandbox: contact folders', () => {
  let mailbox: O365Sandbox;
  let token: string;
  beforeEach(async () => {
    mailbox = await startO365Sandbox();
    token = (await obtainO365Tokens(mailbox)).access_token;
  });
  afterEach(async () => {
    await mailbox.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(new URL(path, mailbox.url), { headers: { Authorization: `Bearer ${token}`, ...headers } });
  const json = async (path: string) => {
    const response = await get(path);
    expect(response.status).toBe(200);
    return (await response.json()) as Json & { value: Json[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string };
  };
  const folderDelta = (id: string) => `/v1.0/me/contactFolders/${encodeURIComponent(id)}/contacts/delta`;
  /** A folder's delta round from `start` to its delta link, 200 a page. */
  async function folderRound(start: string) {
    const items: Json[] = [];
    let link: string = start;
    for (;;) {
      const response = await get(link, { Prefer: 'odata.maxpagesize=200' });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { value: Json[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string };
      items.push(...body.value);
      if (body['@odata.deltaLink']) return { items, deltaLink: body['@odata.deltaLink'] };
      link = body['@odata.nextLink']!;
    }
  }

  it('names the default folder by its well-known name, lists the folders under it, and their child folders', async () => {
    const contacts = await json('/v1.0/me/contactFolders/contacts?$select=id,displayName');
    expect(contacts).toMatchObject({ id: mailbox.defaultFolderId, displayName: 'Contacts' });
    expect(contacts).not.toHaveProperty('parentFolderId');

    const top = await json('/v1.0/me/contactFolders');
    expect(top.value.map((folder) => folder.displayName)).toEqual(['Customers', 'Suppliers']);
    expect(top.value.every((folder) => folder.parentFolderId === mailbox.defaultFolderId)).toBe(true);
    const suppliers = top.value.find((folder) => folder.displayName === 'Suppliers')!;
    const children = await json(`/v1.0/me/contactFolders/${suppliers.id}/childFolders?$select=displayName`);
    expect(children.value).toEqual([{ id: expect.any(String), displayName: 'Suppliers EU' }]);
    expect((await json(`/v1.0/me/contactFolders/${children.value[0]!.id}/childFolders`)).value).toEqual([]);
  });

  it('pages folder lists with $top and an @odata.nextLink', async () => {
    for (let i = 0; i < 3; i++) mailbox.data.addFolder(`Extra ${i}`);
    const first = await json('/v1.0/me/contactFolders?$top=2&$select=id');
    expect(first.value).toHaveLength(2);
    const second = await json(first['@odata.nextLink']!);
    const third = await json(second['@odata.nextLink']!);
    expect([...first.value, ...second.value, ...third.value]).toHaveLength(5);
    expect(third['@odata.nextLink']).toBeUndefined();
  });

  it('lists each folder’s own contacts in its delta round; together, the whole mailbox', async () => {
    const seen: string[] = [];
    for (const folder of mailbox.data.folders()) {
      const { items, deltaLink } = await folderRound(folderDelta(folder.id));
      expect(items.map((item) => item.id)).toEqual(mailbox.data.contactsIn(folder.id));
      expect(items.every((item) => item.parentFolderId === folder.id)).toBe(true);
      // Links name the folder as Graph's do.
      expect(deltaLink).toMatch(/\/v1\.0\/me\/contactFolders\('.+'\)\/contacts\/delta\?\$deltatoken=/);
      seen.push(...items.map((item) => item.id as string));
    }
    expect(mailbox.data.folders().every((folder) => mailbox.data.contactsIn(folder.id).length > 0)).toBe(true);
    expect(new Set(seen).size).toBe(150);
    // The default folder's own path (not documented, but Graph answers it) is that folder only.
    expect((await folderRound(DELTA)).items).toHaveLength(mailbox.data.contactsIn(mailbox.defaultFolderId).length);
  });

  it('answers a delta link with only the properties that changed; a cleared one as null', async () => {
    const [id] = mailbox.data.contactsIn(mailbox.defaultFolderId);
    const { deltaLink } = await folderRound(`${folderDelta(mailbox.defaultFolderId)}?$select=displayName,companyName,jobTitle,lastModifiedDateTime`);
    mailbox.data.update(id!, { companyName: null, jobTitle: 'CTO' });

    const { items } = await folderRound(deltaLink);
    expect(items).toEqual([
      { '@odata.type': '#microsoft.graph.contact', '@odata.etag': expect.any(String), id, companyName: null, jobTitle: 'CTO', lastModifiedDateTime: expect.any(String) },
    ]);
  });

  it('answers 404 ErrorItemNotFound for a deleted folder, whose contacts are gone and which is no longer listed', async () => {
    const folder = mailbox.data.addFolder('Temporary');
    const added = mailbox.data.add(2, folder);
    const { deltaLink } = await folderRound(folderDelta(folder));
    expect(mailbox.data.removeFolder(folder)).toEqual(added);

    expect(await graphErrorOf(await get(deltaLink))).toEqual({ status: 404, code: 'ErrorItemNotFound' });
    expect(await graphErrorOf(await get(`/v1.0/me/contactFolders/${folder}/childFolders`))).toEqual({ status: 404, code: 'ErrorItemNotFound' });
    expect((await json('/v1.0/me/contactFolders')).value.map((f) => f.id)).not.toContain(folder);
    expect(mailbox.data.count()).toBe(150);
  });

  it('keeps a folder’s last few sync-state generations: older delta and skip links answer 410 syncStateNotFound', async () => {
    const start = folderDelta(mailbox.defaultFolderId);
    const firstPage = (await (await get(start, { Prefer: 'odata.maxpagesize=5' })).json()) as { '@odata.nextLink': string };
    const { deltaLink } = await folderRound(start);
    for (let i = 1; i < KEPT_GENERATIONS - 1; i++) await folderRound(start);
    // Still within the kept generations.
    expect((await get(deltaLink)).status).toBe(200);
    await folderRound(start);
    expect(await graphErrorOf(await get(deltaLink))).toEqual({ status: 410, code: 'syncStateNotFound' });
    expect(await graphErrorOf(await get(firstPage['@odata.nextLink']))).toEqual({ status: 410, code: 'syncStateNotFound' });
    // Another folder's sync state is its own.
    const other = mailbox.data.folders()[1]!;
    const { deltaLink: otherLink } = await folderRound(folderDelta(other.id));
    expect((await get(otherLink)).status).toBe(200);
  });

  it('adds and removes folders posted to /__sandbox/data', async () => {
    const added = await fetch(`${mailbox.url}/__sandbox/data`, { method: 'POST', body: JSON.stringify({ addFolder: 'Press' }) });
    const folder = ((await added.json()) as { changed: { addFolder: string[] } }).changed.addFolder[0]!;
    expect(mailbox.data.folders().map((f) => f.displayName)).toContain('Press');
    const removed = await fetch(`${mailbox.url}/__sandbox/data`, { method: 'POST', body: JSON.stringify({ removeFolder: folder }) });
    expect(removed.status).toBe(200);
    expect(mailbox.data.folders().map((f) => f.displayName)).not.toContain('Press');
    expect((await fetch(`${mailbox.url}/__sandbox/data`, { method: 'POST', body: JSON.stringify({ removeFolder: mailbox.defaultFolderId }) })).status).toBe(400);
  });
});

/**
 * Requests the real Graph and identity platform refuse, and how: if the adapter ever sends
 * one of these, the sandbox answers as Microsoft would, so the regression shows up here and
 * in the adapter's tests rather than at a customer's.
 */
describe('Office 365 sandbox: the contract (what Microsoft refuses)', () => {
  const defaultDelta = () => `/v1.0/me/contactFolders/${encodeURIComponent(sandbox.defaultFolderId)}/contacts/delta`;
  const firstDeltaLink = async (accessToken: string, path = defaultDelta()) => {
    let body = (await (await graph(path, accessToken, { Prefer: 'odata.maxpagesize=200' })).json()) as DeltaPage;
    while (body['@odata.nextLink']) body = (await (await graph(body['@odata.nextLink'], accessToken, { Prefer: 'odata.maxpagesize=200' })).json()) as DeltaPage;
    return body['@odata.deltaLink']!;
  };
  const refusals: { what: string; status: number; code: string; send: () => Promise<Response> }[] = [
    {
      what: 'an expired access token',
      status: 401,
      code: 'InvalidAuthenticationToken',
      send: async () => {
        const { access_token, expires_in } = await tokens();
        sandbox.advanceTime((expires_in + 1) * 1000);
        return graph(defaultDelta(), access_token);
      },
    },
    { what: 'no access token', status: 401, code: 'InvalidAuthenticationToken', send: async () => graph(defaultDelta()) },
    {
      what: 'a token without Contacts.Read',
      status: 403,
      code: 'ErrorAccessDenied',
      send: async () => graph('/v1.0/me/contactFolders', (await tokens('offline_access User.Read')).access_token),
    },
    {
      what: 'a delta link older than the sync states Graph keeps',
      status: 410,
      code: 'syncStateNotFound',
      send: async () => {
        const { access_token } = await tokens();
        const stale = await firstDeltaLink(access_token);
        for (let i = 0; i < KEPT_GENERATIONS; i++) await firstDeltaLink(access_token);
        return graph(stale, access_token);
      },
    },
    {
      what: 'a delta link whose sync state Graph dropped',
      status: 410,
      code: 'resyncRequired',
      send: async () => {
        const { access_token } = await tokens();
        const link = await firstDeltaLink(access_token);
        sandbox.failures.expireDeltaLinks('resyncRequired');
        return graph(link, access_token);
      },
    },
    {
      what: 'a folder id that names no folder',
      status: 404,
      code: 'ErrorItemNotFound',
      send: async () => graph(`/v1.0/me/contactFolders/AQMkADAwATNiZmYAZC1hYWQ3LTc4ZDAtMDACLTAwCgAuAAAD/contacts/delta`, (await tokens()).access_token),
    },
    { what: 'a malformed folder id', status: 400, code: 'ErrorInvalidIdMalformed', send: async () => graph('/v1.0/me/contactFolders/not-an-id!/childFolders', (await tokens()).access_token) },
    {
      what: 'a $select of a property contacts do not have',
      status: 400,
      code: 'RequestBroker--ParseUri',
      send: async () => graph(`${defaultDelta()}?$select=displayName,shoeSize`, (await tokens()).access_token),
    },
    {
      what: 'a $select of a property contact folders do not have',
      status: 400,
      code: 'RequestBroker--ParseUri',
      send: async () => graph('/v1.0/me/contactFolders?$select=id,childFolderCount', (await tokens()).access_token),
    },
    {
      what: 'one folder’s delta link used on another folder',
      status: 400,
      code: 'BadRequest',
      send: async () => {
        const { access_token } = await tokens();
        const link = new URL(await firstDeltaLink(access_token));
        sandbox.data.addFolder('Elsewhere');
        const elsewhere = sandbox.data.folders().find((folder) => folder.displayName === 'Elsewhere')!;
        return graph(`/v1.0/me/contactFolders/${elsewhere.id}/contacts/delta${link.search}`, access_token);
      },
    },
    { what: 'a $skiptoken with a $deltatoken', status: 400, code: 'BadRequest', send: async () => graph(`${defaultDelta()}?$skiptoken=a&$deltatoken=b`, (await tokens()).access_token) },
    { what: 'a state token Graph never issued', status: 400, code: 'BadRequest', send: async () => graph(`${defaultDelta()}?$deltatoken=made-up`, (await tokens()).access_token) },
  ];

  for (const refusal of refusals) {
    it(`refuses ${refusal.what}: ${refusal.status} ${refusal.code}`, async () => {
      expect(await graphErrorOf(await refusal.send())).toEqual({ status: refusal.status, code: refusal.code });
    });
  }

  it('refuses a POST to a delta function: 405', async () => {
    const response = await fetch(new URL(defaultDelta(), sandbox.url), { method: 'POST', headers: { Authorization: `Bearer ${(await tokens()).access_token}` } });
    expect(response.status).toBe(405);
  });

  it('refuses /common to a single-tenant app registration: AADSTS50194 (the app must be multi-tenant, or the tenant configured)', async () => {
    const single = await startO365Sandbox({ multiTenant: false, folders: [] });
    try {
      const { verifier, challenge } = newPkcePair();
      const params = { client_id: single.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: SCOPES, state: 's', code_challenge: challenge, code_challenge_method: 'S256' };
      const atCommon = await fetch(`${single.url}/common/oauth2/v2.0/authorize?${new URLSearchParams(params)}`, { redirect: 'manual' });
      expect(atCommon.status).toBe(400);
      expect(await atCommon.text()).toMatch(/AADSTS50194/);
      const token = await fetch(`${single.url}/common/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({ client_id: single.clientId, client_secret: single.clientSecret, grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT_URI, code_verifier: verifier }),
      });
      expect(aadError({ status: token.status, body: (await token.json()) as Json })).toEqual({ status: 400, error: 'invalid_request', code: 50194 });
      // Its own tenant works.
      expect((await obtainO365Tokens(single, { tenant: SANDBOX_TENANT_ID })).access_token).toEqual(expect.any(String));
    } finally {
      await single.close();
    }
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
    const other = await startO365Sandbox({ folders: [], ...options });
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

  it('places the same contacts in the same folders for the same seed', async () => {
    const [a, b] = await Promise.all([startO365Sandbox(), startO365Sandbox()]);
    try {
      expect(a.data.folders()).toEqual(b.data.folders());
      for (const folder of a.data.folders()) expect(a.data.contactsIn(folder.id)).toEqual(b.data.contactsIn(folder.id));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('picks the same contacts to change for the same seed', async () => {
    const other = await startO365Sandbox({ folders: [] });
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
