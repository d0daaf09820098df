import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../../functions/core/errors';
import type { SyncType } from '../../../../functions/core/model';
import { O365Adapter, O365_SCOPES } from '../../../../functions/providers/o365/o365-adapter';
import type { OAuthCredentials, ReadPageRequest, SourcePage, SourceRecord } from '../../../../functions/providers/types';
import { KEPT_GENERATIONS, newPkcePair, obtainO365Tokens, type O365Sandbox, startO365Sandbox } from '../../../../local/sandboxes/o365';

const REDIRECT_URI = 'http://127.0.0.1:1/oauth/o365/callback';

let sandbox: O365Sandbox;
let adapter: O365Adapter;

beforeAll(async () => {
  sandbox = await startO365Sandbox();
  adapter = new O365Adapter({ loginUrl: sandbox.url, graphUrl: sandbox.url, clientId: sandbox.clientId, clientSecret: async () => sandbox.clientSecret, pageSize: 40 });
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => {
  sandbox.failures.reset();
  sandbox.resetStats();
});

/** Connects through the adapter's own URL, the sandbox's consent and the adapter's code exchange. */
async function connect(target = adapter) {
  const { verifier, challenge } = newPkcePair();
  const consent = await fetch(target.authorizationUrl({ state: 's', codeChallenge: challenge, redirectUri: REDIRECT_URI }), { redirect: 'manual' });
  const code = new URL(consent.headers.get('location')!).searchParams.get('code')!;
  return target.exchangeCode({ code, codeVerifier: verifier, redirectUri: REDIRECT_URI });
}

async function credentials(): Promise<OAuthCredentials> {
  return (await connect()).credentials;
}

/**
 * The ProviderError a call fails with. Every one is checked: its message is for users, so
 * it never quotes a token, code or secret the sandbox issued, nor a link (links carry
 * delta and skip tokens).
 */
async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => expect.fail('expected the call to fail'),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  const message = (error as ProviderError).message;
  for (const secret of sandbox.secretsIssued()) expect(message).not.toContain(secret);
  expect(message).not.toMatch(/deltatoken|skiptoken|https?:\/\//);
  return error as ProviderError;
}

function read(creds: OAuthCredentials, request: Partial<ReadPageRequest> & { mode: SyncType }): Promise<SourcePage> {
  return adapter.readPage(creds, {}, { cursor: null, watermark: null, ...request });
}

/** Reads page after page, as the engine does, until nextCursor is null. */
async function readAll(creds: OAuthCredentials, mode: SyncType, watermark: Record<string, string> | null = null) {
  const pages: SourcePage[] = [];
  let cursor: SourcePage['nextCursor'] = null;
  do {
    const page = await read(creds, { mode, cursor, watermark });
    pages.push(page);
    if (page.restartAsFull) break;
    cursor = page.nextCursor;
  } while (cursor);
  const last = pages.at(-1)!;
  return { pages, records: pages.flatMap((page) => page.records), watermark: last.watermark, last };
}

describe('O365Adapter: authorization', () => {
  it('sends the user to the tenant’s v2.0 authorize endpoint with PKCE S256, response_mode=query and the connector’s scopes', () => {
    const url = new URL(adapter.authorizationUrl({ state: 'the-state', codeChallenge: 'the-challenge', redirectUri: REDIRECT_URI }));
    expect(`${url.origin}${url.pathname}`).toBe(`${sandbox.url}/common/oauth2/v2.0/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: sandbox.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      response_mode: 'query',
      scope: 'offline_access User.Read Contacts.Read',
      state: 'the-state',
      code_challenge: 'the-challenge',
      code_challenge_method: 'S256',
    });
    expect(O365_SCOPES).toBe('offline_access User.Read Contacts.Read');
  });

  it('defaults to Microsoft’s login host and the common tenant, and takes a configured tenant', () => {
    const defaults = new O365Adapter({ clientId: 'app', clientSecret: async () => 's' });
    expect(defaults.authorizationUrl({ state: 's', codeChallenge: 'c', redirectUri: REDIRECT_URI })).toMatch(
      /^https:\/\/login\.microsoftonline\.com\/common\/oauth2\/v2\.0\/authorize\?/,
    );
    const single = new O365Adapter({ clientId: 'app', clientSecret: async () => 's', tenant: 'contoso.onmicrosoft.com', loginUrl: 'https://login.example/' });
    expect(single.authorizationUrl({ state: 's', codeChallenge: 'c', redirectUri: REDIRECT_URI })).toMatch(
      /^https:\/\/login\.example\/contoso\.onmicrosoft\.com\/oauth2\/v2\.0\/authorize\?/,
    );
  });

  it('refuses a page size Graph cannot mean', () => {
    expect(() => new O365Adapter({ clientId: 'app', clientSecret: async () => 's', pageSize: 0 })).toThrow(RangeError);
    expect(() => new O365Adapter({ clientId: 'app', clientSecret: async () => 's', pageSize: 1001 })).toThrow(RangeError);
  });

  it('exchanges the code for an access token, the refresh token and an expiry; the config holds nothing secret', async () => {
    const before = Date.now();
    const grant = await connect();
    expect(grant.credentials).toEqual({ kind: 'oauth2', accessToken: expect.any(String), refreshToken: expect.any(String), expiresAt: expect.any(Number) });
    expect(grant.credentials.expiresAt! - before).toBeGreaterThanOrEqual(3599 * 1000 - 5000);
    expect(grant.credentials.expiresAt! - Date.now()).toBeLessThanOrEqual(3599 * 1000);
    expect(grant.config).toEqual({});
    expect(sandbox.stats().codeExchanges).toBe(1);
  });

  it('rejects a code used twice as a failed connection, not as a reauthorization', async () => {
    const { verifier, challenge } = newPkcePair();
    const consent = await fetch(adapter.authorizationUrl({ state: 's', codeChallenge: challenge, redirectUri: REDIRECT_URI }), { redirect: 'manual' });
    const code = new URL(consent.headers.get('location')!).searchParams.get('code')!;
    await adapter.exchangeCode({ code, codeVerifier: verifier, redirectUri: REDIRECT_URI });

    const error = await failure(adapter.exchangeCode({ code, codeVerifier: verifier, redirectUri: REDIRECT_URI }));
    expect(error).toMatchObject({ reauthorizationRequired: false, retryable: false });
    expect(error.message).toMatch(/rejected the authorization code \(invalid_grant AADSTS54005\); start the connection again/);
  });

  it('keeps the newest refresh token on every refresh; the one before stops working', async () => {
    const first = await credentials();
    const second = await adapter.refresh(first);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.expiresAt).toEqual(expect.any(Number));

    const third = await adapter.refresh(second);
    expect(third.refreshToken).not.toBe(second.refreshToken);
    expect(sandbox.stats().tokenRefreshes).toBe(2);
    expect(await failure(adapter.refresh(first))).toMatchObject({ reauthorizationRequired: true });
  });

  it('says an admin needs to reconnect Office 365 when the grant was revoked (invalid_grant)', async () => {
    const creds = await credentials();
    sandbox.failures.revokeGrant();
    const error = await failure(adapter.refresh(creds));
    expect(error).toMatchObject({ reauthorizationRequired: true, retryable: false, provider: 'Office 365' });
    expect(error.message).toBe(
      'Office 365 access was revoked or has expired (invalid_grant AADSTS50173); an admin needs to reconnect Office 365 to re-authorize it.',
    );
  });

  it('asks for reauthorization when no refresh token is stored', async () => {
    const creds = await credentials();
    expect(await failure(adapter.refresh({ kind: 'oauth2', accessToken: creds.accessToken }))).toMatchObject({ reauthorizationRequired: true });
  });

  it('names the app credentials, not the grant, when the client secret is wrong', async () => {
    const creds = await credentials();
    const misconfigured = new O365Adapter({ loginUrl: sandbox.url, graphUrl: sandbox.url, clientId: sandbox.clientId, clientSecret: async () => 'wrong' });
    const error = await failure(misconfigured.refresh(creds));
    expect(error).toMatchObject({ reauthorizationRequired: false, retryable: false });
    expect(error.message).toMatch(/invalid_client AADSTS7000215\); check the Office 365 client id and secret/);
  });

  it('retries a throttled or failing token endpoint, with its Retry-After', async () => {
    const creds = await credentials();
    sandbox.failures.throttle(1, 9, { target: 'token' });
    expect(await failure(adapter.refresh(creds))).toMatchObject({ retryable: true, retryAfterSeconds: 9, reauthorizationRequired: false });
    sandbox.failures.serverError(1, { status: 502, target: 'token' });
    expect(await failure(adapter.refresh(creds))).toMatchObject({ retryable: true, retryAfterSeconds: undefined });
    // Neither failure used up the refresh token.
    expect((await adapter.refresh(creds)).accessToken).toEqual(expect.any(String));
  });

  it('revokes nothing at Microsoft (there is no endpoint for one app’s grant) and resolves', async () => {
    const creds = await credentials();
    sandbox.resetStats();
    await expect(adapter.revoke(creds, {})).resolves.toBeUndefined();
    expect(sandbox.stats().requests).toBe(0);
  });
});

describe('O365Adapter: sync', () => {
  it('runs the sync type that was asked for', () => {
    expect(adapter.effectiveSyncType('full')).toBe('full');
    expect(adapter.effectiveSyncType('incremental')).toBe('incremental');
  });

  it('reads a full sync page by page until nextCursor is null: exactly the 150 contacts of every folder, as people', async () => {
    const creds = await credentials();
    const { pages, records, watermark } = await readAll(creds, 'full');

    expect(pages.slice(0, -1).every((page) => page.watermark === null && page.nextCursor !== null)).toBe(true);
    expect(pages.every((page) => page.records.length <= 40)).toBe(true); // 40 per page, as asked with Prefer: odata.maxpagesize
    expect(records).toHaveLength(150);
    expect(new Set(records.map((record) => record.sourceId)).size).toBe(150);
    expect(records.every((record) => record.type === 'people' && !record.deleted && !record.partial)).toBe(true);
    expect(pages.every((page) => page.failed === 0)).toBe(true);
    // One delta link per folder: the default one, the two under it, and the child folder.
    const folders = sandbox.data.folders();
    expect(folders).toHaveLength(4);
    expect(Object.keys(watermark!).sort()).toEqual(folders.map((folder) => `folder:${folder.id}`).sort());
    for (const link of Object.values(watermark!)) expect(link).toMatch(new RegExp(`^${sandbox.url}/v1\\.0/me/contactFolders\\('.+'\\)/contacts/delta\\?\\$deltatoken=`));
  });

  it('reads the child folder too: every folder’s contacts, no more', async () => {
    const creds = await credentials();
    const { records } = await readAll(creds, 'full');
    const read = new Set(records.map((record) => record.sourceId));
    const child = sandbox.data.folders().find((folder) => folder.displayName === 'Suppliers EU')!;
    expect(sandbox.data.contactsIn(child.id).length).toBeGreaterThan(0);
    for (const folder of sandbox.data.folders()) for (const id of sandbox.data.contactsIn(folder.id)) expect(read.has(id)).toBe(true);
  });

  it('maps name, first email address, company and job title, and the modification time', async () => {
    const creds = await credentials();
    const { records } = await readAll(creds, 'full');
    const raw = await graphContacts(creds);
    for (const record of records) {
      const contact = raw.get(record.sourceId)!;
      const expected: Record<string, unknown> = { name: contact.displayName };
      if (contact.emailAddresses[0]) expected.email = contact.emailAddresses[0].address;
      if (contact.companyName) expected.company = contact.companyName;
      if (contact.jobTitle) expected.jobTitle = contact.jobTitle;
      expect(record.attributes).toEqual(expected);
      expect(record.modifiedAt).toBe(new Date(contact.lastModifiedDateTime).toISOString());
    }
    expect(records.some((record) => record.attributes.email === undefined)).toBe(true);
  });

  it('reads everything on a first incremental sync, when there is no delta link yet', async () => {
    const creds = await credentials();
    const { records, watermark } = await readAll(creds, 'incremental', null);
    expect(records).toHaveLength(150);
    expect(Object.keys(watermark!)).toHaveLength(4);
  });

  it('reads only the changes from the delta links: changed contacts with only what changed (partial), removed, added', async () => {
    const creds = await credentials();
    const full = await readAll(creds, 'full');
    const modified = sandbox.data.modify(3);
    const removed = sandbox.data.remove(2);
    const added = sandbox.data.add(1);

    const changes = await readAll(creds, 'incremental', full.watermark);

    expect(changes.records).toHaveLength(6);
    const bySource = new Map(changes.records.map((record) => [record.sourceId, record]));
    for (const id of modified) {
      const record = bySource.get(id)!;
      // Graph sent the job title (and maybe the company), not the name or the address: the engine merges.
      expect(record).toMatchObject({ type: 'people', partial: true, attributes: { jobTitle: expect.any(String) } });
      expect(record.attributes).not.toHaveProperty('name');
      expect(record.attributes).not.toHaveProperty('email');
      expect(record.modifiedAt! > full.records.find((r) => r.sourceId === id)!.modifiedAt!).toBe(true);
    }
    for (const id of removed) expect(bySource.get(id)).toEqual<SourceRecord>({ type: 'people', sourceId: id, deleted: true, attributes: {} });
    // A contact created since comes whole.
    expect(bySource.get(added[0]!)).toMatchObject({ type: 'people', partial: true, attributes: { name: expect.any(String) } });
    expect(bySource.get(added[0]!)!.deleted).toBeFalsy();
    expect(changes.watermark).not.toEqual(full.watermark);

    // Right after, the new delta links have nothing to say: one page for all four folders.
    const again = await readAll(creds, 'incremental', changes.watermark);
    expect(again.records).toEqual([]);
    expect(again.pages).toHaveLength(1);
  });

  it('sends a property cleared at Microsoft as a null attribute, so the stored one is removed', async () => {
    const creds = await credentials();
    const full = await readAll(creds, 'full');
    const id = full.records.find((record) => record.attributes.company !== undefined)!.sourceId;
    sandbox.data.update(id, { companyName: null });

    const changes = await readAll(creds, 'incremental', full.watermark);
    expect(changes.records).toEqual([{ type: 'people', sourceId: id, partial: true, modifiedAt: expect.any(String), attributes: { company: null } }]);
  });

  it('reads a folder created since the last sync from scratch, whole, in an incremental sync', async () => {
    const creds = await credentials();
    const full = await readAll(creds, 'full');
    const folder = sandbox.data.addFolder('Press');
    const added = sandbox.data.add(3, folder);

    const changes = await readAll(creds, 'incremental', full.watermark);
    expect(changes.records.map((record) => record.sourceId).sort()).toEqual([...added].sort());
    expect(changes.records.every((record) => !record.partial && record.attributes.name !== undefined)).toBe(true);
    expect(changes.watermark![`folder:${folder}`]).toEqual(expect.stringContaining('$deltatoken='));
  });

  it('restarts as full when a folder the last sync read is gone (its contacts went with it)', async () => {
    const creds = await credentials();
    const folder = sandbox.data.addFolder('Old projects');
    sandbox.data.add(2, folder);
    const full = await readAll(creds, 'full');
    sandbox.data.removeFolder(folder);

    expect(await read(creds, { mode: 'incremental', watermark: full.watermark })).toMatchObject({ restartAsFull: true, records: [] });
  });

  it('handles a folder deleted between listing and reading: an incremental sync restarts as full, a full one reads on without it', async () => {
    const creds = await credentials();
    const full = await readAll(creds, 'full');
    const doomed = sandbox.data.addFolder('Doomed');
    sandbox.data.add(2, doomed);
    // A cursor as the first page leaves it, the doomed folder still to read.
    const cursor = { todo: { [doomed]: 'new' }, done: {} };
    sandbox.data.removeFolder(doomed);

    expect(await read(creds, { mode: 'incremental', watermark: full.watermark, cursor })).toMatchObject({ restartAsFull: true });
    const last = await read(creds, { mode: 'full', cursor });
    expect(last).toMatchObject({ records: [], nextCursor: null, watermark: {} });
    expect(last.restartAsFull).toBeUndefined();
  });

  it('ignores the watermark on a full sync', async () => {
    const creds = await credentials();
    const first = await readAll(creds, 'full');
    const { records } = await readAll(creds, 'full', first.watermark);
    expect(records).toHaveLength(sandbox.data.count());
  });

  it('asks the engine to restart as a full sync when a delta link expired (410 Gone, syncStateNotFound or resyncRequired)', async () => {
    const creds = await credentials();
    for (const code of ['syncStateNotFound', 'resyncRequired'] as const) {
      const { watermark } = await readAll(creds, 'full');
      sandbox.failures.expireDeltaLinks(code);
      const page = await read(creds, { mode: 'incremental', watermark });
      expect(page).toEqual({ records: [], failed: 0, nextCursor: null, watermark: null, restartAsFull: true });
    }
  });

  it('restarts as full when its delta links are older than the sync states Graph keeps', async () => {
    const creds = await credentials();
    const { watermark } = await readAll(creds, 'full');
    // Other rounds of the same folders since: the oldest sync states are dropped.
    for (let i = 0; i < KEPT_GENERATIONS; i++) await readAll(creds, 'full');
    expect(await read(creds, { mode: 'incremental', watermark })).toMatchObject({ restartAsFull: true });
  });

  it('restarts as full when a next link expires in the middle of a sync', async () => {
    const creds = await credentials();
    let page = await read(creds, { mode: 'full' });
    while (page.nextCursor && page.nextCursor.next === undefined) page = await read(creds, { mode: 'full', cursor: page.nextCursor });
    sandbox.failures.expireDeltaLinks();
    expect(await read(creds, { mode: 'full', cursor: page.nextCursor })).toMatchObject({ restartAsFull: true, records: [] });
  });

  it('restarts as full from a watermark written before folders were read one by one', async () => {
    const creds = await credentials();
    sandbox.resetStats();
    const page = await read(creds, { mode: 'incremental', watermark: { deltaLink: `${sandbox.url}/v1.0/me/contacts/delta?$deltatoken=x` } });
    expect(page.restartAsFull).toBe(true);
    expect(sandbox.stats().requests).toBe(0);
  });

  it('restarts as full, without calling anyone, when the stored delta link is for another Graph host', async () => {
    const creds = await credentials();
    const { watermark } = await readAll(creds, 'full');
    sandbox.resetStats();
    const elsewhere = Object.fromEntries(Object.keys(watermark!).map((key) => [key, 'https://graph.example/v1.0/me/contactFolders/x/contacts/delta?$deltatoken=x']));
    const page = await read(creds, { mode: 'incremental', watermark: elsewhere });
    expect(page.restartAsFull).toBe(true);
    expect(sandbox.stats().requests).toBe(0);
  });

  it('will not send the token to a next link on another host', async () => {
    const creds = await credentials();
    const error = await failure(read(creds, { mode: 'full', cursor: { todo: { [sandbox.defaultFolderId]: 'new' }, done: {}, next: 'https://attacker.example/steal' } }));
    expect(error).toMatchObject({ retryable: false });
    expect(error.message).toMatch(/unexpected host/);
  });

  it('asks for a token refresh on 401 InvalidAuthenticationToken', async () => {
    const creds = await credentials();
    sandbox.failures.expireSessions();
    const error = await failure(read(creds, { mode: 'full' }));
    expect(error).toMatchObject({ accessTokenExpired: true, retryable: false, reauthorizationRequired: false });
    expect(error.message).toBe('Office 365 did not accept the access token (InvalidAuthenticationToken).');
  });

  it('retries after Retry-After when Graph throttles with 429 or 503', async () => {
    const creds = await credentials();
    sandbox.failures.throttle(1, 7);
    expect(await failure(read(creds, { mode: 'full' }))).toMatchObject({ retryable: true, retryAfterSeconds: 7, accessTokenExpired: false });
    sandbox.failures.throttle(1, 3, { status: 503 });
    expect(await failure(read(creds, { mode: 'full' }))).toMatchObject({ retryable: true, retryAfterSeconds: 3 });
    expect((await read(creds, { mode: 'full' })).records.length).toBeGreaterThan(0);
  });

  it('retries server errors and malformed answers (without a hint), and the same cursor then succeeds', async () => {
    const creds = await credentials();
    const first = await read(creds, { mode: 'full' });
    sandbox.failures.serverError(1);
    expect(await failure(read(creds, { mode: 'full', cursor: first.nextCursor }))).toMatchObject({ retryable: true, retryAfterSeconds: undefined });
    sandbox.failures.serverError(1, { status: 504 });
    expect(await failure(read(creds, { mode: 'full', cursor: first.nextCursor }))).toMatchObject({ retryable: true });
    sandbox.failures.malformedJson(1);
    expect(await failure(read(creds, { mode: 'full', cursor: first.nextCursor }))).toMatchObject({ retryable: true });

    const second = await read(creds, { mode: 'full', cursor: first.nextCursor });
    expect(second.records.length).toBeGreaterThan(0);
    expect(second.records[0]!.sourceId).not.toBe(first.records[0]!.sourceId);
  });

  it('lists the folders as Graph documents it: the default one by its well-known name, the folders under it, each one’s child folders', async () => {
    const creds = await credentials();
    sandbox.resetStats();
    await readAll(creds, 'full');
    const others = sandbox.data.folders().length - 1;
    expect(sandbox.stats().byEndpoint).toMatchObject({ contactFolder: 1, contactFolders: 1, childFolders: others });
  });

  it('refuses a mailbox with more contact folders than a sync state can carry, saying so', async () => {
    const big = await startO365Sandbox({ contacts: 0, folders: Array.from({ length: 100 }, (_, i) => ({ displayName: `Folder ${i}` })) });
    try {
      const bigAdapter = new O365Adapter({ loginUrl: big.url, graphUrl: big.url, clientId: big.clientId, clientSecret: async () => big.clientSecret });
      const tokens = await obtainO365Tokens(big);
      const error = await bigAdapter.readPage({ kind: 'oauth2', accessToken: tokens.access_token }, {}, { mode: 'full', cursor: null, watermark: null }).catch((e: unknown) => e);
      expect(error).toMatchObject({ retryable: false, message: 'The mailbox has more than 100 contact folders; an Office 365 sync reads at most 100.' });
    } finally {
      await big.close();
    }
  });

  it('asks for a reconnect when the token lacks Contacts.Read (403)', async () => {
    const tokens = await obtainO365Tokens(sandbox, { scope: 'offline_access User.Read' });
    const error = await failure(read({ kind: 'oauth2', accessToken: tokens.access_token, refreshToken: tokens.refresh_token }, { mode: 'full' }));
    expect(error).toMatchObject({ reauthorizationRequired: true, retryable: false });
    expect(error.message).toMatch(/ErrorAccessDenied.*reconnect Office 365/);
  });

  it('asks for a reconnect when handed an API key instead of OAuth credentials', async () => {
    const error = await failure(adapter.readPage({ kind: 'apiKey', apiKey: 'k' }, {}, { mode: 'full', cursor: null, watermark: null }));
    expect(error).toMatchObject({ reauthorizationRequired: true });
  });

  it('never puts a token, secret or link into an error message (failure() checks each one)', async () => {
    const creds = await credentials();
    const { watermark } = await readAll(creds, 'full');
    sandbox.failures.throttle(1, 1);
    await failure(read(creds, { mode: 'incremental', watermark }));
    sandbox.failures.malformedJson(1);
    await failure(read(creds, { mode: 'incremental', watermark }));
    sandbox.failures.expireSessions();
    await failure(read(creds, { mode: 'incremental', watermark }));
    sandbox.failures.revokeGrant();
    await failure(adapter.refresh(creds));
  });
});

interface RawContact {
  id: string;
  displayName: string;
  companyName: string | null;
  jobTitle: string | null;
  lastModifiedDateTime: string;
  emailAddresses: Array<{ address: string }>;
}

/** The sandbox's contacts as Graph sends them, by id: every folder's delta round from scratch. */
async function graphContacts(creds: OAuthCredentials): Promise<Map<string, RawContact>> {
  const contacts = new Map<string, RawContact>();
  for (const folder of sandbox.data.folders()) {
    const response = await fetch(`${sandbox.url}/v1.0/me/contactFolders/${encodeURIComponent(folder.id)}/contacts/delta`, {
      headers: { Authorization: `Bearer ${creds.accessToken}`, Prefer: 'odata.maxpagesize=200' },
    });
    const body = (await response.json()) as { value: RawContact[] };
    for (const contact of body.value) contacts.set(contact.id, contact);
  }
  return contacts;
}
