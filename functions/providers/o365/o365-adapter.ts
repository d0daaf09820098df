import { ProviderError } from '../../core/errors';
import type { SyncType } from '../../core/model';
import { atHostOf, comeBackLaterError, providerFetch, readJson, retryAfterSeconds } from '../http';
import type {
  AuthorizationGrant,
  Credentials,
  OAuthAdapter,
  OAuthCredentials,
  ReadPageRequest,
  SourcePage,
  SourceRecord,
  SyncAdapter,
  SyncCursor,
} from '../types';
import { CONTACT_SELECT, toSourceRecord } from './o365-contacts';

const PROVIDER = 'Office 365';
/** What the connector asks for: a refresh token, the user's profile, read access to their contacts. */
export const O365_SCOPES = 'offline_access User.Read Contacts.Read';
/** Contacts per delta page we ask for (`Prefer: odata.maxpagesize`); Graph may send fewer. */
const DEFAULT_PAGE_SIZE = 200;
const MAX_PAGE_SIZE = 1000;

/** Where the app registration lives and how it authenticates; configuration, never code. */
export interface O365AppConfig {
  /** The identity platform's host. @default 'https://login.microsoftonline.com' */
  loginUrl?: string;
  /** `common` (any work/school or personal account), `organizations`, or one directory's id or domain. @default 'common' */
  tenant?: string;
  /** Microsoft Graph's host. @default 'https://graph.microsoft.com' */
  graphUrl?: string;
  /** The app registration's application (client) id. */
  clientId: string;
  /** Resolved lazily: in AWS it comes from Secrets Manager on first use. */
  clientSecret: () => Promise<string>;
  /** Contacts per delta page asked for, 1..1000 (a preference Graph may lower). @default 200 */
  pageSize?: number;
}

interface TokenAnswer {
  token_type?: string;
  scope?: string;
  expires_in?: number | string;
  access_token: string;
  refresh_token?: string;
  id_token?: string;
}

interface TokenErrorAnswer {
  error?: string;
  error_description?: string;
  error_codes?: unknown;
}

interface DeltaPage {
  value?: unknown;
  '@odata.nextLink'?: unknown;
  '@odata.deltaLink'?: unknown;
}

/** Where a sync stands among the contact folders, carried in the cursor. */
interface FolderWalk {
  /** Folders still to read: from their stored delta link (`delta`) or a new round (`new`). Read in id order. */
  todo: Record<string, 'delta' | 'new'>;
  /** Folders read, with the delta link their round ended with ('' for one that vanished mid-round). */
  done: Record<string, string>;
  /** The next page of the folder being read (the first folder of `todo`). */
  next?: string;
}

/** Watermark keys: `folder:<id>` holds that folder's delta link. */
const FOLDER_KEY = 'folder:';
/**
 * The most folders a sync reads: each carries a delta link in the watermark and the cursor,
 * which travel in the state machine's state (256 KB at most, twice at a continuation).
 */
const MAX_FOLDERS = 100;
/** Folders asked for per folder list page (`$top`). */
const FOLDER_PAGE_SIZE = 100;
/** Folder rounds with nothing in them one call may read before it answers an empty page. */
const EMPTY_ROUNDS_PER_PAGE = 10;

function cursorOf(walk: FolderWalk): SyncCursor {
  return { todo: walk.todo, done: walk.done, ...(walk.next !== undefined && { next: walk.next }) };
}

function parseWalk(cursor: SyncCursor): FolderWalk | null {
  const { todo, done, next } = cursor as { todo?: unknown; done?: unknown; next?: unknown };
  const isMap = (value: unknown): value is Record<string, string> =>
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
  if (!isMap(todo) || !isMap(done) || (next !== undefined && typeof next !== 'string')) return null;
  if (!Object.values(todo).every((how) => how === 'delta' || how === 'new')) return null;
  return { todo: todo as FolderWalk['todo'], done, ...(typeof next === 'string' && { next }) };
}

function watermarkOf(done: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(done).map(([id, link]) => [`${FOLDER_KEY}${id}`, link]));
}

function without<T>(map: Record<string, T>, key: string): Record<string, T> {
  const { [key]: _removed, ...rest } = map;
  return rest;
}

/** A folder id as Graph gives it: a non-empty string of id characters. */
function folderId(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9+/=_.-]{1,512}$/.test(value) ? value : undefined;
}

/** The page that asks the engine to start over as a full sync: the stored delta link is no good any more. */
function restartAsFull(): SourcePage {
  return { records: [], failed: 0, nextCursor: null, watermark: null, restartAsFull: true };
}

/**
 * Office 365 through the Microsoft identity platform (v2.0 auth code flow with PKCE) and
 * Microsoft Graph's contacts delta query, folder by folder. A sync walks each contact
 * folder's `@odata.nextLink` pages; each folder's last `@odata.deltaLink` goes into the
 * watermark an incremental sync starts from, and answers only what changed since (removals
 * included; changes possibly with only the properties that changed, merged by the engine).
 */
export class O365Adapter implements OAuthAdapter, SyncAdapter {
  readonly providerId = 'o365' as const;
  /** A full sync a delta round from scratch lists every contact. */
  readonly fullSyncSeesEverything = true;
  /** A delta round lists each contact once unless it changed meanwhile. */
  readonly listsRecordsOnce = true;
  private readonly loginUrl: string;
  private readonly tenant: string;
  private readonly graphUrl: string;
  private readonly pageSize: number;

  constructor(private readonly app: O365AppConfig) {
    this.loginUrl = withoutTrailingSlash(app.loginUrl ?? 'https://login.microsoftonline.com');
    this.tenant = app.tenant ?? 'common';
    this.graphUrl = withoutTrailingSlash(app.graphUrl ?? 'https://graph.microsoft.com');
    const pageSize = app.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new RangeError(`O365 pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
    }
    this.pageSize = pageSize;
  }

  authorizationUrl(request: { state: string; codeChallenge: string; redirectUri: string }): string {
    const url = new URL(`${this.loginUrl}/${encodeURIComponent(this.tenant)}/oauth2/v2.0/authorize`);
    url.search = new URLSearchParams({
      client_id: this.app.clientId,
      response_type: 'code',
      redirect_uri: request.redirectUri,
      response_mode: 'query',
      scope: O365_SCOPES,
      state: request.state,
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
    }).toString();
    return url.toString();
  }

  async exchangeCode(request: { code: string; codeVerifier: string; redirectUri: string }): Promise<AuthorizationGrant> {
    const requestedAt = Date.now();
    const answer = await this.token(
      { grant_type: 'authorization_code', code: request.code, redirect_uri: request.redirectUri, code_verifier: request.codeVerifier, scope: O365_SCOPES },
      'exchange',
    );
    if (!answer.refresh_token) {
      // Without one, the connection dies with the first access token (about an hour); say so now.
      throw new ProviderError('Office 365 granted no refresh token; the app registration needs the offline_access permission.', { provider: PROVIDER });
    }
    // Nothing about the user is needed to sync, so the connector's config stays empty: the
    // token answer has no id_token (we do not ask for `openid`) and the tokens are sealed.
    return { credentials: credentialsFrom(answer, requestedAt, answer.refresh_token), config: {} };
  }

  async refresh(credentials: OAuthCredentials): Promise<OAuthCredentials> {
    if (!credentials.refreshToken) {
      throw new ProviderError('Office 365 access expired and no refresh token is stored; an admin needs to reconnect Office 365.', {
        provider: PROVIDER,
        reauthorizationRequired: true,
      });
    }
    const requestedAt = Date.now();
    const answer = await this.token({ grant_type: 'refresh_token', refresh_token: credentials.refreshToken, scope: O365_SCOPES }, 'refresh');
    // Microsoft answers every refresh with a new refresh token: keep the newest (the
    // credential service persists it in the same write as the access token).
    return credentialsFrom(answer, requestedAt, answer.refresh_token ?? credentials.refreshToken);
  }

  /**
   * Does nothing at Microsoft; the service still deletes our copy of the tokens. The
   * identity platform has no endpoint that revokes one app's refresh token: Graph's
   * `revokeSignInSessions` signs the user out of every app on every device and needs
   * `User.RevokeSessions.All`, far more than disconnecting one connector should do or
   * than we ask for. Users remove the app's consent themselves (myapps.microsoft.com or
   * account.live.com/consent/Manage); unused refresh tokens expire after 90 days.
   */
  async revoke(_credentials: OAuthCredentials, _config: Record<string, unknown>): Promise<void> {}

  /** Delta links give real incremental syncs, removals included. */
  effectiveSyncType(requested: SyncType): SyncType {
    return requested;
  }

  /**
   * One page of the mailbox's contacts, as people, from every contact folder: the default
   * Contacts folder and every folder and child folder under it, each with a delta round of
   * its own (`/me/contactFolders/{id}/contacts/delta`; `/me/contacts` is the default folder
   * only). The first page lists the folders; the cursor then walks them one by one (in id
   * order), following `@odata.nextLink`, and keeps each finished folder's `@odata.deltaLink`.
   * The last page's watermark holds one delta link per folder, where the next incremental
   * sync starts each folder's round; a folder new since then starts a round from scratch.
   *
   * Ids are Graph's default ones, deliberately not immutable ids (`Prefer: IdType="ImmutableId"`):
   * a contact moved to another folder gets a new id, so the move is a removal in one folder
   * and a creation in the other, in whichever order the folders are read. With immutable ids
   * the same id would be added in one folder and removed in the other, and reading them in
   * the wrong order would remove a live contact.
   *
   * An incremental sync restarts as a full one (whose sweep removes what is gone) when Graph
   * no longer knows a delta or skip token (410 Gone), when a folder of the watermark is no
   * longer listed or answers 404 (it was deleted, with its contacts), or when the watermark
   * is from before folders were read one by one.
   */
  async readPage(credentials: Credentials, _config: Record<string, unknown>, request: ReadPageRequest): Promise<SourcePage> {
    if (credentials.kind !== 'oauth2') {
      throw new ProviderError('Office 365 needs OAuth credentials; an admin needs to reconnect Office 365.', { provider: PROVIDER, reauthorizationRequired: true });
    }
    const token = credentials.accessToken;
    const stored = request.mode === 'incremental' && request.watermark ? this.storedLinks(request.watermark) : {};
    // Links stored for another Graph host (the configuration changed), or an old single-link watermark: only a full sync makes new ones.
    if (stored === null) return restartAsFull();
    let walk: FolderWalk;
    if (request.cursor === null) {
      const folders = await this.listFolders(token);
      // A folder the last sync read is gone, and its contacts with it: only a full sync's sweep finds them.
      if (Object.keys(stored).some((id) => !folders.includes(id))) return restartAsFull();
      walk = { todo: Object.fromEntries(folders.map((id) => [id, stored[id] ? 'delta' : 'new'])), done: {} };
    } else {
      const parsed = parseWalk(request.cursor);
      // A cursor from before folders were walked (a sync in flight across a deployment).
      if (!parsed) return restartAsFull();
      walk = parsed;
    }

    for (let rounds = 0; ; rounds++) {
      const folder = Object.keys(walk.todo).sort()[0];
      if (folder === undefined) return { records: [], failed: 0, nextCursor: null, watermark: watermarkOf(walk.done) };
      const fromDelta = walk.todo[folder] === 'delta';
      const startLink = fromDelta ? stored[folder] : undefined;
      if (fromDelta && startLink === undefined) return restartAsFull();
      const link = walk.next ?? startLink ?? `${this.graphUrl}/v1.0/me/contactFolders/${encodeURIComponent(folder)}/contacts/delta?$select=${CONTACT_SELECT}`;
      if (walk.next !== undefined && !this.isGraphLink(walk.next)) {
        // A next link Graph just sent pointing elsewhere is not something to send our token to.
        throw new ProviderError('Office 365 sent a next-page link to an unexpected host; the sync stopped.', { provider: PROVIDER });
      }
      const response = await this.graphGet(token, link, { prefer: `odata.maxpagesize=${this.pageSize}` });
      if (!response.ok) {
        const error = await readGraphError(response);
        // Graph lost the sync state of this round (410 Gone; directory resources say 400
        // syncStateNotFound): only a new round from the start can go on.
        if ((walk.next !== undefined || fromDelta) && (response.status === 410 || /syncstate|resync/i.test(error.code ?? ''))) {
          return restartAsFull();
        }
        if (response.status !== 404) throw graphError(response, error.code);
        // The folder was deleted after the folders were listed.
        if (request.mode === 'incremental') return restartAsFull();
        // A full sync goes on without it: its contacts not seen yet are swept at the end. Those
        // this round already read were seen; an empty link keeps the folder in the watermark, so
        // the next incremental sync misses it among the folders and restarts as full to remove them.
        walk = { todo: without(walk.todo, folder), done: walk.next !== undefined ? { ...walk.done, [folder]: '' } : walk.done };
        continue;
      }
      const page = await readJson<DeltaPage>(PROVIDER, response);
      if (!Array.isArray(page.value)) {
        throw new ProviderError('Office 365 answered the contacts request without a list of contacts.', { provider: PROVIDER, retryable: true });
      }
      const records: SourceRecord[] = [];
      let failed = 0;
      for (const item of page.value) {
        // A round started at a delta link may carry only the properties that changed.
        const record = toSourceRecord(item, { partial: fromDelta });
        if (record) records.push(record);
        else failed += 1;
      }
      const nextLink = page['@odata.nextLink'];
      const newDeltaLink = page['@odata.deltaLink'];
      if (typeof nextLink === 'string') return { records, failed, nextCursor: cursorOf({ ...walk, next: nextLink }), watermark: null };
      if (typeof newDeltaLink !== 'string') {
        // Graph ends every round with a delta link; finishing without one would leave the next
        // incremental sync nothing to start from, so this page is not taken as the end.
        throw new ProviderError('Office 365 ended a contact folder without a delta link.', { provider: PROVIDER, retryable: true });
      }
      walk = { todo: without(walk.todo, folder), done: { ...walk.done, [folder]: newDeltaLink } };
      if (Object.keys(walk.todo).length === 0) return { records, failed, nextCursor: null, watermark: watermarkOf(walk.done) };
      // A folder with nothing to say does not take a page of its own (a few at most per call).
      if (records.length > 0 || failed > 0 || rounds + 1 >= EMPTY_ROUNDS_PER_PAGE) return { records, failed, nextCursor: cursorOf(walk), watermark: null };
    }
  }

  /**
   * Every contact folder of the mailbox, the default one first: `/me/contactFolders/contacts`
   * (its well-known name) for the default folder's id, `/me/contactFolders` for the folders
   * under it, and each folder's `/childFolders`, recursively.
   */
  private async listFolders(token: string): Promise<string[]> {
    const response = await this.graphGet(token, `${this.graphUrl}/v1.0/me/contactFolders/contacts?$select=id`);
    if (!response.ok) throw graphError(response, (await readGraphError(response)).code);
    const defaultId = folderId((await readJson<{ id?: unknown }>(PROVIDER, response)).id);
    if (!defaultId) throw new ProviderError('Office 365 answered the Contacts folder request without its id.', { provider: PROVIDER, retryable: true });
    const found = [defaultId];
    const childrenOf = (id: string) => `${this.graphUrl}/v1.0/me/contactFolders/${encodeURIComponent(id)}/childFolders?$select=id&$top=${FOLDER_PAGE_SIZE}`;
    // Folder list pages still to read, each with the folder whose children it lists (none: the folders under the default one).
    const lists: { url: string; parent?: string }[] = [{ url: `${this.graphUrl}/v1.0/me/contactFolders?$select=id&$top=${FOLDER_PAGE_SIZE}` }];
    for (let list = lists.shift(); list !== undefined; list = lists.shift()) {
      const answer = await this.graphGet(token, list.url);
      if (!answer.ok) {
        const code = (await readGraphError(answer)).code;
        // A folder deleted since it was listed has no children to ask for, nor contacts: it is left out.
        if (answer.status === 404 && list.parent !== undefined) {
          found.splice(found.indexOf(list.parent), 1);
          continue;
        }
        throw graphError(answer, code);
      }
      const page = await readJson<{ value?: unknown; '@odata.nextLink'?: unknown }>(PROVIDER, answer);
      if (!Array.isArray(page.value)) {
        throw new ProviderError('Office 365 answered the contact folders request without a list of folders.', { provider: PROVIDER, retryable: true });
      }
      const next = page['@odata.nextLink'];
      if (typeof next === 'string') {
        if (!this.isGraphLink(next)) throw new ProviderError('Office 365 sent a next-page link to an unexpected host; the sync stopped.', { provider: PROVIDER });
        lists.unshift({ url: next, ...(list.parent !== undefined && { parent: list.parent }) });
      }
      for (const folder of page.value) {
        const id = folderId((folder as { id?: unknown } | null)?.id);
        if (!id || found.includes(id)) continue;
        found.push(id);
        if (found.length > MAX_FOLDERS) {
          throw new ProviderError(`The mailbox has more than ${MAX_FOLDERS} contact folders; an Office 365 sync reads at most ${MAX_FOLDERS}.`, { provider: PROVIDER });
        }
        lists.push({ url: childrenOf(id), parent: id });
      }
    }
    return found;
  }

  /** One authenticated Graph GET. */
  private graphGet(token: string, url: string, headers: Record<string, string> = {}): Promise<Response> {
    return providerFetch(PROVIDER, url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...headers } });
  }

  /**
   * The delta link of each folder an incremental sync starts from; null when the watermark
   * cannot serve (from before folders were read one by one, or for another Graph host).
   */
  private storedLinks(watermark: Record<string, string>): Record<string, string> | null {
    const links: Record<string, string> = {};
    for (const [key, link] of Object.entries(watermark)) {
      if (!key.startsWith(FOLDER_KEY)) continue;
      // An empty link: a folder that vanished during the full sync that wrote it, kept so it is missed now.
      if (link !== '' && !this.isGraphLink(link)) return null;
      links[key.slice(FOLDER_KEY.length)] = link;
    }
    return Object.keys(links).length > 0 ? links : null;
  }

  /** Whether a link Graph gave us (or we stored) points at the configured Graph host. */
  private isGraphLink(link: string): boolean {
    try {
      return new URL(link).origin === new URL(this.graphUrl).origin;
    } catch {
      return false;
    }
  }

  private async token(form: Record<string, string>, during: 'exchange' | 'refresh'): Promise<TokenAnswer> {
    const response = await providerFetch(PROVIDER, `${this.loginUrl}/${encodeURIComponent(this.tenant)}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ client_id: this.app.clientId, ...form, client_secret: await this.app.clientSecret() }).toString(),
    });
    if (!response.ok) throw await tokenError(response, during);
    const answer = await readJson<TokenAnswer>(PROVIDER, response);
    if (typeof answer.access_token !== 'string' || answer.access_token === '') {
      throw new ProviderError('Office 365 answered the token request without a token.', { provider: PROVIDER, retryable: true });
    }
    return answer;
  }
}

/** Our credentials from a token answer; `expiresAt` is epoch milliseconds, counted from when we asked. */
function credentialsFrom(answer: TokenAnswer, requestedAt: number, refreshToken: string): OAuthCredentials {
  const expiresIn = Number(answer.expires_in);
  return {
    kind: 'oauth2',
    accessToken: answer.access_token,
    refreshToken,
    ...(Number.isFinite(expiresIn) && expiresIn > 0 ? { expiresAt: requestedAt + expiresIn * 1000 } : {}),
  };
}

/**
 * The identity platform's token errors, as sentences a user can act on. They name the
 * OAuth error and the AADSTS code (Microsoft's reason, for support), never a token or secret.
 */
async function tokenError(response: Response, during: 'exchange' | 'refresh'): Promise<ProviderError> {
  const text = await response.text();
  let answer: TokenErrorAnswer = {};
  try {
    answer = JSON.parse(text) as TokenErrorAnswer;
  } catch {
    answer = {};
  }
  const error = safeCode(answer.error);
  const aadsts = aadstsCode(answer);
  const reason = [error ?? `HTTP ${response.status}`, aadsts].filter(Boolean).join(' ');
  if (response.status >= 500 || response.status === 429 || error === 'temporarily_unavailable') {
    const throttled = response.status === 429;
    return comeBackLaterError(
      PROVIDER,
      `Microsoft's sign-in service${atHostOf(response)} ${throttled ? 'is limiting our requests' : 'is unavailable'} (${reason}).`,
      { throttled, waitSeconds: retryAfterSeconds(response) },
    );
  }
  // invalid_grant: the code or refresh token is expired, revoked, already used or not ours.
  // The *_required errors: Microsoft wants the user back (MFA, changed consent or policy).
  if (error === 'invalid_grant' || error === 'interaction_required' || error === 'consent_required' || error === 'login_required') {
    return during === 'exchange'
      ? new ProviderError(`Office 365 rejected the authorization code (${reason}); start the connection again.`, { provider: PROVIDER })
      : new ProviderError(`Office 365 access was revoked or has expired (${reason}); an admin needs to reconnect Office 365 to re-authorize it.`, {
          provider: PROVIDER,
          reauthorizationRequired: true,
        });
  }
  if (error === 'invalid_client' || error === 'unauthorized_client' || response.status === 401) {
    return new ProviderError(`Office 365 rejected the app registration's credentials (${reason}); check the Office 365 client id and secret.`, {
      provider: PROVIDER,
    });
  }
  return new ProviderError(`Office 365 refused the token request (${reason}).`, { provider: PROVIDER });
}

/** Graph's error body (`{"error":{"code","message",...}}`): only the code is kept, the message may quote the request. */
async function readGraphError(response: Response): Promise<{ code?: string }> {
  const text = await response.text();
  try {
    return { code: safeCode((JSON.parse(text) as { error?: { code?: unknown } }).error?.code) };
  } catch {
    return {};
  }
}

/** Graph errors mapped by status: 401 asks for a refresh, 429/5xx for a retry (after Retry-After). */
function graphError(response: Response, code: string | undefined): ProviderError {
  const status = response.status;
  const reason = code ?? `HTTP ${status}`;
  if (status === 401) {
    return new ProviderError(`Office 365 did not accept the access token (${reason}).`, { provider: PROVIDER, accessTokenExpired: true });
  }
  if (status === 429) {
    return comeBackLaterError(PROVIDER, `Office 365 is throttling requests (${reason}).`, { throttled: true, waitSeconds: retryAfterSeconds(response) });
  }
  if (status >= 500) {
    return comeBackLaterError(PROVIDER, `Office 365${atHostOf(response)} is unavailable (HTTP ${status}${code ? ` ${code}` : ''}).`, {
      throttled: false,
      waitSeconds: retryAfterSeconds(response),
    });
  }
  if (status === 403) {
    return new ProviderError(`Office 365 denied access to the contacts (${reason}); an admin needs to reconnect Office 365 and grant the Contacts.Read permission.`, {
      provider: PROVIDER,
      reauthorizationRequired: true,
    });
  }
  if (status === 404) {
    return new ProviderError(`Office 365 found no mailbox for the connected account (${reason}); contacts are read from an Exchange Online mailbox.`, {
      provider: PROVIDER,
    });
  }
  return new ProviderError(`Office 365 refused the contacts request (${reason}).`, { provider: PROVIDER });
}

/** An error code fit to quote in a message: a short identifier, nothing else. */
function safeCode(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : undefined;
}

/** `AADSTS<n>` from `error_codes`, or from the description's opening. */
function aadstsCode(answer: TokenErrorAnswer): string | undefined {
  const first = Array.isArray(answer.error_codes) ? answer.error_codes[0] : undefined;
  if (typeof first === 'number' && Number.isSafeInteger(first)) return `AADSTS${first}`;
  const match = typeof answer.error_description === 'string' ? /^AADSTS(\d{1,9})\b/.exec(answer.error_description) : null;
  return match ? `AADSTS${match[1]}` : undefined;
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
