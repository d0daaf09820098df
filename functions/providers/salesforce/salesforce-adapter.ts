import { ProviderError } from '../../core/errors';
import { atHostOf, comeBackLaterError, providerFetch, readJson, retryAfterSeconds } from '../http';
import type { SyncType } from '../../core/model';
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
import { SALESFORCE_OBJECTS, toSourceRecord, type SalesforceRecord } from './salesforce-objects';

const PROVIDER = 'Salesforce';
export const SALESFORCE_API_VERSION = 'v62.0';

/** Where the connected app lives and how it authenticates; configuration, never code. */
export interface SalesforceAppConfig {
  /** `https://login.salesforce.com`, `https://test.salesforce.com`, a My Domain URL, or the sandbox. */
  loginUrl: string;
  clientId: string;
  /** Resolved lazily: in AWS it comes from Secrets Manager on first use. */
  clientSecret: () => Promise<string>;
  /** Records per query page, 200..2000 (a hint to Salesforce); default 2000. */
  pageSize?: number;
}

interface TokenAnswer {
  access_token: string;
  refresh_token?: string;
  instance_url: string;
  id?: string;
  issued_at?: string;
  scope?: string;
}

interface OAuthErrorAnswer {
  error?: string;
  error_description?: string;
}

/** Records changed this long before the watermark are read again: clocks and commits are not instant. */
const WATERMARK_OVERLAP_MS = 5 * 60 * 1000;
/** Salesforce's largest page; `batchSize` is a hint it may lower. */
const MAX_PAGE_SIZE = 2000;

interface QueryAnswer {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: SalesforceRecord[];
}

/** Salesforce's OAuth 2.0 web-server flow (with PKCE) and its REST API. */
export class SalesforceAdapter implements OAuthAdapter, SyncAdapter {
  readonly providerId = 'salesforce' as const;
  /** A full sync query reads every live record. */
  readonly fullSyncSeesEverything = true;
  /** Query pages are server-side cursors: a record appears again only if it changed. */
  readonly listsRecordsOnce = true;

  constructor(private readonly app: SalesforceAppConfig) {}

  authorizationUrl(request: { state: string; codeChallenge: string; redirectUri: string }): string {
    const url = new URL('/services/oauth2/authorize', this.app.loginUrl);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.app.clientId,
      redirect_uri: request.redirectUri,
      state: request.state,
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
      scope: 'api refresh_token',
    }).toString();
    return url.toString();
  }

  async exchangeCode(request: { code: string; codeVerifier: string; redirectUri: string }): Promise<AuthorizationGrant> {
    const answer = await this.token(
      {
        grant_type: 'authorization_code',
        code: request.code,
        redirect_uri: request.redirectUri,
        code_verifier: request.codeVerifier,
      },
      'exchange',
    );
    if (!answer.refresh_token) {
      // Without one, the connection dies with the first access token; say so now.
      throw new ProviderError(
        'Salesforce granted no refresh token; the connected app needs the "refresh_token" scope.',
        { provider: PROVIDER },
      );
    }
    return {
      credentials: { kind: 'oauth2', accessToken: answer.access_token, refreshToken: answer.refresh_token },
      config: { instanceUrl: answer.instance_url, ...(answer.id ? { identityUrl: answer.id } : {}) },
    };
  }

  async refresh(credentials: OAuthCredentials): Promise<OAuthCredentials> {
    if (!credentials.refreshToken) {
      throw new ProviderError('Salesforce access expired and no refresh token is stored; reconnect Salesforce.', {
        provider: PROVIDER,
        reauthorizationRequired: true,
      });
    }
    const answer = await this.token({ grant_type: 'refresh_token', refresh_token: credentials.refreshToken }, 'refresh');
    // Salesforce sends a refresh token back only when the org rotates them; keep the newest.
    return {
      kind: 'oauth2',
      accessToken: answer.access_token,
      refreshToken: answer.refresh_token ?? credentials.refreshToken,
    };
  }

  async revoke(credentials: OAuthCredentials): Promise<void> {
    // Revoking the refresh token revokes its access tokens too.
    const token = credentials.refreshToken ?? credentials.accessToken;
    const response = await providerFetch(PROVIDER, new URL('/services/oauth2/revoke', this.app.loginUrl).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    await response.body?.cancel();
    // 400 invalid_token: already revoked or expired, which is what we wanted.
    if (response.ok || response.status === 400) return;
    throw new ProviderError(`Salesforce did not revoke the token (HTTP ${response.status}).`, {
      provider: PROVIDER,
      retryable: response.status >= 500,
    });
  }

  /** Salesforce filters by SystemModstamp, so incremental syncs really are incremental. */
  effectiveSyncType(requested: SyncType): SyncType {
    return requested;
  }

  /**
   * One page of the objects we read, in order (Account, Contact, Lead, Opportunity).
   * Incremental syncs use `queryAll` from each object's watermark (minus an overlap) in
   * SystemModstamp order, so deletions arrive as IsDeleted records; full syncs read
   * everything live with `query`, and the engine removes what did not come back.
   */
  async readPage(credentials: Credentials, config: Record<string, unknown>, request: ReadPageRequest): Promise<SourcePage> {
    if (credentials.kind !== 'oauth2') throw new ProviderError('Salesforce needs OAuth credentials; reconnect Salesforce.', { provider: PROVIDER, reauthorizationRequired: true });
    const objectIndex = Number(request.cursor?.objectIndex ?? 0);
    const object = SALESFORCE_OBJECTS[objectIndex]!;
    const watermarks: Record<string, string> = { ...((request.cursor?.watermarks as Record<string, string> | undefined) ?? request.watermark ?? {}) };
    const next = request.cursor?.next;
    const path =
      typeof next === 'string' ? next : this.queryPath(object.name, object.fields, request.mode === 'incremental' ? request.watermark?.[object.name] : undefined);
    const answer = await this.get<QueryAnswer>(credentials, config, path, { 'Sforce-Query-Options': `batchSize=${this.app.pageSize ?? MAX_PAGE_SIZE}` });

    const records: SourceRecord[] = [];
    let failed = 0;
    for (const raw of answer.records ?? []) {
      const record = toSourceRecord(object, raw);
      if (!record) {
        failed += 1;
        continue;
      }
      records.push(record);
      if (record.modifiedAt && record.modifiedAt > (watermarks[object.name] ?? '')) watermarks[object.name] = record.modifiedAt;
    }
    const nextCursor =
      !answer.done && answer.nextRecordsUrl
        ? { objectIndex, next: answer.nextRecordsUrl, watermarks }
        : objectIndex + 1 < SALESFORCE_OBJECTS.length
          ? { objectIndex: objectIndex + 1, next: null, watermarks }
          : null;
    return { records, failed, nextCursor, watermark: watermarks };
  }

  private queryPath(object: string, fields: readonly string[], watermark: string | undefined): string {
    const select = `SELECT ${['Id', 'SystemModstamp', 'IsDeleted', ...fields].join(', ')} FROM ${object}`;
    if (!watermark) return `/services/data/${SALESFORCE_API_VERSION}/query?q=${encodeURIComponent(`${select} ORDER BY SystemModstamp`)}`;
    const since = new Date(Date.parse(watermark) - WATERMARK_OVERLAP_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const soql = `${select} WHERE SystemModstamp > ${since} ORDER BY SystemModstamp`;
    return `/services/data/${SALESFORCE_API_VERSION}/queryAll?q=${encodeURIComponent(soql)}`;
  }

  /**
   * GET on the org's REST API (a path such as `/services/data/v62.0/query?q=...`, or a
   * `nextRecordsUrl`), with Salesforce's errors mapped to ProviderError.
   */
  async get<T>(
    credentials: OAuthCredentials,
    config: Record<string, unknown>,
    path: string,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const instanceUrl = config.instanceUrl;
    if (typeof instanceUrl !== 'string') {
      throw new ProviderError('The Salesforce connection has no instance URL; reconnect Salesforce.', {
        provider: PROVIDER,
        reauthorizationRequired: true,
      });
    }
    const response = await providerFetch(PROVIDER, new URL(path, instanceUrl).toString(), {
      headers: { ...headers, authorization: `Bearer ${credentials.accessToken}`, accept: 'application/json' },
    });
    if (response.ok) return await readJson<T>(PROVIDER, response);
    throw await restError(response);
  }

  private async token(form: Record<string, string>, during: 'exchange' | 'refresh'): Promise<TokenAnswer> {
    const response = await providerFetch(PROVIDER, new URL('/services/oauth2/token', this.app.loginUrl).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ ...form, client_id: this.app.clientId, client_secret: await this.app.clientSecret() }).toString(),
    });
    if (response.ok) {
      const answer = await readJson<TokenAnswer>(PROVIDER, response);
      if (typeof answer.access_token !== 'string' || typeof answer.instance_url !== 'string') {
        throw new ProviderError('Salesforce answered the token request without a token.', { provider: PROVIDER, retryable: true });
      }
      return answer;
    }
    throw await tokenError(response, during);
  }
}

/** Salesforce's token endpoint errors, as sentences a user can act on (no token, no secret). */
async function tokenError(response: Response, during: 'exchange' | 'refresh'): Promise<ProviderError> {
  if (response.status >= 500 || response.status === 429) {
    await response.body?.cancel();
    const throttled = response.status === 429;
    return comeBackLaterError(
      PROVIDER,
      `Salesforce's login service${atHostOf(response)} ${throttled ? 'is limiting our requests' : 'is unavailable'} (HTTP ${response.status}).`,
      { throttled, waitSeconds: retryAfterSeconds(response) },
    );
  }
  const { error } = await readJson<OAuthErrorAnswer>(PROVIDER, response).catch(() => ({}) as OAuthErrorAnswer);
  if (error === 'invalid_grant') {
    return during === 'exchange'
      ? new ProviderError('Salesforce rejected the authorization code (invalid_grant); start the connection again.', { provider: PROVIDER })
      : new ProviderError(
          'Salesforce access was revoked or has expired (invalid_grant); an admin needs to reconnect Salesforce to re-authorize it.',
          { provider: PROVIDER, reauthorizationRequired: true },
        );
  }
  if (error === 'invalid_client' || error === 'invalid_client_id' || response.status === 401) {
    return new ProviderError(
      'Salesforce rejected the connected app credentials (invalid_client); check the client id and secret.',
      { provider: PROVIDER },
    );
  }
  return new ProviderError(`Salesforce refused the token request (${error ?? `HTTP ${response.status}`}).`, { provider: PROVIDER });
}

/** Salesforce REST errors (a JSON array of {message, errorCode}) mapped by error code. */
async function restError(response: Response): Promise<ProviderError> {
  const text = await response.text();
  let errorCode: string | undefined;
  try {
    errorCode = (JSON.parse(text) as { errorCode?: string }[])[0]?.errorCode;
  } catch {
    errorCode = undefined;
  }
  const retryAfter = retryAfterSeconds(response);
  if (response.status === 401 || errorCode === 'INVALID_SESSION_ID') {
    return new ProviderError('The Salesforce session expired (INVALID_SESSION_ID).', { provider: PROVIDER, accessTokenExpired: true });
  }
  if (errorCode === 'REQUEST_LIMIT_EXCEEDED') {
    return comeBackLaterError(
      PROVIDER,
      "Salesforce refused the request because the org's API request limit is used up (REQUEST_LIMIT_EXCEEDED).",
      { throttled: true, waitSeconds: retryAfter },
    );
  }
  if (response.status === 429 || response.status >= 500) {
    const throttled = response.status === 429;
    return comeBackLaterError(PROVIDER, `Salesforce${atHostOf(response)} ${throttled ? 'is limiting our requests' : 'is unavailable'} (HTTP ${response.status}).`, {
      throttled,
      waitSeconds: retryAfter,
    });
  }
  return new ProviderError(`Salesforce refused the request (${errorCode ?? `HTTP ${response.status}`}).`, { provider: PROVIDER });
}
