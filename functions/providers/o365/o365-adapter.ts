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

/** The page that asks the engine to start over as a full sync: the stored delta link is no good any more. */
function restartAsFull(): SourcePage {
  return { records: [], failed: 0, nextCursor: null, watermark: null, restartAsFull: true };
}

/**
 * Office 365 through the Microsoft identity platform (v2.0 auth code flow with PKCE) and
 * Microsoft Graph's contacts delta query. A sync walks `@odata.nextLink` pages; the last
 * page's `@odata.deltaLink` is the watermark an incremental sync starts from, and it
 * answers only what changed since (removals included).
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
   * One page of the mailbox's contacts, as people. A full sync (or the first sync, with
   * no delta link yet) starts a new delta round; an incremental one starts at the stored
   * delta link; both follow `@odata.nextLink` through the cursor. When Graph no longer
   * knows a delta or skip token (410 Gone), the sync restarts as a full sync.
   */
  async readPage(credentials: Credentials, _config: Record<string, unknown>, request: ReadPageRequest): Promise<SourcePage> {
    if (credentials.kind !== 'oauth2') {
      throw new ProviderError('Office 365 needs OAuth credentials; an admin needs to reconnect Office 365.', { provider: PROVIDER, reauthorizationRequired: true });
    }
    const next = request.cursor?.next;
    const deltaLink = request.mode === 'incremental' ? request.watermark?.deltaLink : undefined;
    const link = typeof next === 'string' ? next : deltaLink;
    if (link !== undefined && !this.isGraphLink(link)) {
      // A stored delta link for another Graph host (the configuration changed) cannot be
      // followed with this token; a full sync makes a new one. A next link Graph just
      // sent pointing elsewhere is not something to send our token to.
      if (link === deltaLink) return restartAsFull();
      throw new ProviderError('Office 365 sent a next-page link to an unexpected host; the sync stopped.', { provider: PROVIDER });
    }
    const url = link ?? `${this.graphUrl}/v1.0/me/contacts/delta?$select=${CONTACT_SELECT}`;
    const response = await providerFetch(PROVIDER, url, {
      headers: {
        authorization: `Bearer ${credentials.accessToken}`,
        accept: 'application/json',
        prefer: `odata.maxpagesize=${this.pageSize}`,
      },
    });
    if (!response.ok) {
      const error = await readGraphError(response);
      // Graph lost the sync state of this round (410 Gone; directory resources say 400
      // syncStateNotFound): only a new round from the start can go on.
      if (link !== undefined && (response.status === 410 || /syncstate|resync/i.test(error.code ?? ''))) return restartAsFull();
      throw graphError(response, error.code);
    }
    const page = await readJson<DeltaPage>(PROVIDER, response);
    if (!Array.isArray(page.value)) {
      throw new ProviderError('Office 365 answered the contacts request without a list of contacts.', { provider: PROVIDER, retryable: true });
    }
    const records: SourceRecord[] = [];
    let failed = 0;
    for (const item of page.value) {
      const record = toSourceRecord(item);
      if (record) records.push(record);
      else failed += 1;
    }
    const nextLink = page['@odata.nextLink'];
    const newDeltaLink = page['@odata.deltaLink'];
    if (typeof nextLink === 'string') return { records, failed, nextCursor: { next: nextLink }, watermark: null };
    if (typeof newDeltaLink === 'string') return { records, failed, nextCursor: null, watermark: { deltaLink: newDeltaLink } };
    // Graph ends every round with a delta link; finishing without one would leave the next
    // incremental sync nothing to start from, so this page is not taken as the end.
    throw new ProviderError('Office 365 ended the contact list without a delta link.', { provider: PROVIDER, retryable: true });
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
