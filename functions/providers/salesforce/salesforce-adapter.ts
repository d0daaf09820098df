import { DEFAULT_API_BUDGET, type ApiBudgetPolicy } from '../../core/api-budget';
import { ProviderError } from '../../core/errors';
import { atHostOf, comeBackLaterError, providerFetch, readJson, retryAfterSeconds } from '../http';
import type { SyncType } from '../../core/model';
import type {
  AuthorizationGrant,
  Credentials,
  OAuthAdapter,
  OAuthCredentials,
  ReadPageRequest,
  RefreshedCredentials,
  SourcePage,
  SourceRecord,
  SyncAdapter,
  SyncCursor,
} from '../types';
import { createQueryJob, discardQueryJob, readQueryJob, readQueryResults } from './salesforce-bulk';
import { readDeletedRecords } from './salesforce-deleted';
import { DescribeCache, REQUIRED_FIELDS } from './salesforce-describe';
import { fromCsvRow, SALESFORCE_OBJECTS, toSourceRecord, type SalesforceObject, type SalesforceRecord } from './salesforce-objects';
import { DATA_PATH, PROVIDER, SalesforceOrg, SalesforceRestError } from './salesforce-org';

/** When a Salesforce object is read through a Bulk API 2.0 query job instead of REST pages. */
export interface SalesforceBulkConfig {
  /** An object read from the start with more live records than this goes through a Bulk job. */
  threshold: number;
  /** Rows per results page (`maxRecords`): one page per SyncPage task. */
  pageSize: number;
  /** How long a job may run before the sync aborts it and reads the object through REST. */
  jobMaxWaitSeconds: number;
}

/** AppFlow and Fivetran switch to Bulk reads for large objects; 50,000 records are 25 REST pages. */
export const DEFAULT_BULK: SalesforceBulkConfig = { threshold: 50_000, pageSize: 50_000, jobMaxWaitSeconds: 2 * 3600 };

/** Where the connected app lives and how it authenticates; configuration, never code. */
export interface SalesforceAppConfig {
  /** `https://login.salesforce.com`, `https://test.salesforce.com`, a My Domain URL, or the sandbox. */
  loginUrl: string;
  clientId: string;
  /** Resolved lazily: in AWS it comes from Secrets Manager on first use. */
  clientSecret: () => Promise<string>;
  /** Records per query page, 200..2000 (a hint to Salesforce); default 2000. */
  pageSize?: number;
  /** Bulk API use; defaults in {@link DEFAULT_BULK}. */
  bulk?: Partial<SalesforceBulkConfig>;
  /** How a sync spends the org's API allowance; defaults in DEFAULT_API_BUDGET. */
  apiBudget?: ApiBudgetPolicy;
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
/** Salesforce's `/deleted` answers for this far back; an older deletion watermark means a full sync. */
const DELETED_WINDOW_MS = 15 * 24 * 3600 * 1000;
/** How much sooner than 15 days a window counts as lost: our clock and the org's may disagree a little. */
const CLOCK_MARGIN_MS = 60 * 60 * 1000;
/** A new Bulk job is polled after this long; each wait then doubles, up to {@link MAX_POLL_SECONDS}. */
const FIRST_POLL_SECONDS = 2;
const MAX_POLL_SECONDS = 30;

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

  /** The org's rolling 24-hour API allowance is shared by all its integrations: a sync spends only its budget of it. */
  readonly apiAllowance: SyncAdapter['apiAllowance'] & {};
  private readonly bulk: SalesforceBulkConfig;
  /** The fields each org user can read, per object: describes kept a few minutes in this process. */
  private readonly describes = new DescribeCache();
  /** An infinite threshold turns Bulk reads off: no object is counted first. */
  private get bulkEnabled(): boolean {
    return Number.isFinite(this.bulk.threshold);
  }

  constructor(private readonly app: SalesforceAppConfig) {
    // Settings left undefined (an unset variable) keep their defaults.
    this.bulk = { ...DEFAULT_BULK, ...Object.fromEntries(Object.entries(app.bulk ?? {}).filter(([, value]) => value !== undefined)) };
    this.apiAllowance = {
      policy: app.apiBudget ?? DEFAULT_API_BUDGET,
      readUsage: async (credentials, config) => {
        if (credentials.kind !== 'oauth2') throw new ProviderError('Salesforce needs OAuth credentials; reconnect Salesforce.', { provider: PROVIDER, reauthorizationRequired: true });
        return await new SalesforceOrg(credentials, config).readUsage();
      },
    };
  }

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

  async refresh(credentials: OAuthCredentials, config: Record<string, unknown> = {}): Promise<RefreshedCredentials> {
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
      // The org moved to another instance (a migration, a split): its REST API answers there from now on.
      ...(answer.instance_url !== config.instanceUrl && { configUpdate: { instanceUrl: answer.instance_url } }),
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
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    // Salesforce answers 400 for every refusal: only invalid_token (already revoked or
    // expired) is what we wanted; unsupported_token_type and the rest revoked nothing.
    const { error } = response.status === 400 ? await readJson<OAuthErrorAnswer>(PROVIDER, response).catch(() => ({}) as OAuthErrorAnswer) : ({} as OAuthErrorAnswer);
    if (error === 'invalid_token') return;
    if (response.status !== 400) await response.body?.cancel();
    throw new ProviderError(`Salesforce did not revoke the token (${error ?? `HTTP ${response.status}`}).`, {
      provider: PROVIDER,
      retryable: response.status >= 500,
    });
  }

  /** Salesforce filters by SystemModstamp, so incremental syncs really are incremental. */
  effectiveSyncType(requested: SyncType): SyncType {
    return requested;
  }

  /**
   * One page of the objects we read, in order (Account, Contact, Lead, Opportunity). Each
   * object starts with its describe (cached a few minutes): only the mapped fields the user
   * can read are selected, so field-level security never fails a read.
   *
   * Incremental syncs use REST `queryAll` from each object's watermark (minus an overlap) in
   * SystemModstamp order, so deletions still in the recycle bin arrive as IsDeleted records;
   * the object's first page also carries what `/sobjects/{Object}/deleted` lists since the
   * last sync (records purged from the bin are seen only there; see {@link startIncremental}).
   * A deletion window Salesforce no longer covers (15 days) turns the sync into a full one.
   * An object read from the start (a full sync, or one with no watermark yet) is counted
   * first: above the Bulk threshold it is read through a Bulk API 2.0 query job (see
   * {@link readBulkPage}), otherwise through REST `query` pages; the engine removes what a
   * full sync did not see.
   */
  async readPage(credentials: Credentials, config: Record<string, unknown>, request: ReadPageRequest): Promise<SourcePage> {
    if (credentials.kind !== 'oauth2') throw new ProviderError('Salesforce needs OAuth credentials; reconnect Salesforce.', { provider: PROVIDER, reauthorizationRequired: true });
    const org = new SalesforceOrg(credentials, config);
    const cursor = readCursor(request);
    const page = await this.readFrom(org, cursor, request);
    return { ...page, ...(org.usage && { apiUsage: org.usage }) };
  }

  private async readFrom(org: SalesforceOrg, at: SalesforceCursor, request: ReadPageRequest): Promise<SourcePage> {
    const { discardJob, ...cursor } = at;
    if (discardJob) await discardQueryJob(org, discardJob, { abort: false });
    if (cursor.objectIndex >= SALESFORCE_OBJECTS.length) return { records: [], failed: 0, nextCursor: null, watermark: cursor.watermarks };
    if (cursor.bulkJob) return await this.readBulkPage(org, { ...cursor, bulkJob: cursor.bulkJob });
    if (cursor.next) return await this.readRestPage(org, cursor, cursor.next);
    // An incremental sync whose deletion windows Salesforce no longer covers becomes full before it stores anything.
    if (request.mode === 'incremental' && request.cursor === null && SALESFORCE_OBJECTS.some((object) => deletionsLost(request.watermark ?? {}, object, Date.now()))) {
      return restartAsFull();
    }
    const object = SALESFORCE_OBJECTS[cursor.objectIndex]!;
    const { fields, fresh } = await this.describes.fieldsOf(org, org.userKey, object.name);
    try {
      return await this.startObject(org, { ...cursor, fields: readableFields(object, fields) }, request);
    } catch (error) {
      // The describe was a few minutes old and an admin has hidden a field since: ask again, once.
      if (fresh || !(error instanceof SalesforceRestError && error.errorCode === 'INVALID_FIELD')) throw error;
      this.describes.forget(org.userKey, object.name);
      const again = await this.describes.fieldsOf(org, org.userKey, object.name);
      return await this.startObject(org, { ...cursor, fields: readableFields(object, again.fields) }, request);
    }
  }

  /**
   * The first page of an object, its readable fields in `cursor.fields` (kept in the cursor
   * for the object's later steps, so one sync describes each object once).
   */
  private async startObject(org: SalesforceOrg, cursor: SalesforceCursor & { fields: string }, request: ReadPageRequest): Promise<SourcePage> {
    const object = SALESFORCE_OBJECTS[cursor.objectIndex]!;
    const since = request.mode === 'incremental' ? request.watermark?.[object.name] : undefined;
    if (since !== undefined) return await this.startIncremental(org, cursor, since);
    if (this.bulkEnabled && (await this.countRecords(org, object.name)) > this.bulk.threshold) {
      const jobId = await createQueryJob(org, selectOf(object, cursor.fields));
      // Deletions after the job's snapshot are found by the next incremental sync's /deleted read.
      const watermarks = { ...cursor.watermarks, [deletedKey(object)]: serverNow(org) };
      // Salesforce will not run the job: the object is read through REST pages after all.
      if (jobId) return { records: [], failed: 0, nextCursor: { ...cursor, watermarks, bulkJob: jobId, bulkWaited: FIRST_POLL_SECONDS }, watermark: watermarks, wait: { seconds: FIRST_POLL_SECONDS, reason: 'bulkJob' } };
    }
    const answer = await this.query(org, this.queryPath(object, cursor.fields, undefined));
    // Whatever is deleted from the time of this first answer on, the next incremental sync's /deleted read sees.
    return this.restPage(cursor, answer, { watermarks: { [deletedKey(object)]: serverNow(org) } });
  }

  /**
   * An object's first incremental page: its `queryAll` page from the watermark, then the
   * `/deleted` window from where the last sync's left off to the org's time of that answer.
   * The deletions come first in the page, so a record deleted and restored since (its queryAll
   * row, on this page or a later one) ends live; one still in the recycle bin comes twice,
   * deleted both times, and counts once. A window Salesforce no longer covers (older than 15
   * days, or its delete log purged) restarts the sync as a full one.
   */
  private async startIncremental(org: SalesforceOrg, cursor: SalesforceCursor & { fields: string }, since: string): Promise<SourcePage> {
    const object = SALESFORCE_OBJECTS[cursor.objectIndex]!;
    const answer = await this.query(org, this.queryPath(object, cursor.fields, since));
    const end = serverNow(org);
    const from = cursor.watermarks[deletedKey(object)] ?? since;
    if (deletionsLost({ [object.name]: since, [deletedKey(object)]: from }, object, Date.parse(end))) return restartAsFull();
    const deleted = await readDeletedRecords(org, object.name, { start: overlapped(from), end });
    if (deleted === 'notCovered') return restartAsFull();
    const deletions = deleted.records.map((record) => ({ type: object.entity, sourceId: record.id, modifiedAt: record.deletedAt, deleted: true, attributes: { ...object.fixed } }));
    return this.restPage(cursor, answer, { before: deletions, watermarks: { [deletedKey(object)]: deleted.coveredUntil } });
  }

  /** The object's live records, with one `SELECT COUNT()` query. */
  private async countRecords(org: SalesforceOrg, object: string): Promise<number> {
    const answer = await org.json<{ totalSize?: number }>(`${DATA_PATH}/query?q=${encodeURIComponent(`SELECT COUNT() FROM ${object}`)}`);
    return Number(answer.totalSize ?? 0);
  }

  private async readRestPage(org: SalesforceOrg, cursor: SalesforceCursor, path: string): Promise<SourcePage> {
    return this.restPage(cursor, await this.query(org, path));
  }

  /** One REST query page (the first, by SOQL, or a `nextRecordsUrl`). */
  private async query(org: SalesforceOrg, path: string): Promise<QueryAnswer> {
    return await org.json<QueryAnswer>(path, { headers: { 'Sforce-Query-Options': `batchSize=${this.app.pageSize ?? MAX_PAGE_SIZE}` } });
  }

  /**
   * A REST answer as a page: `extra.before` (deletions from `/deleted`) ahead of its records,
   * `extra.watermarks` merged into the watermarks.
   */
  private restPage(cursor: SalesforceCursor, answer: QueryAnswer, extra: { before?: SourceRecord[]; watermarks?: Record<string, string> } = {}): SourcePage {
    const { objectIndex } = cursor;
    const object = SALESFORCE_OBJECTS[objectIndex]!;
    const watermarks = { ...cursor.watermarks, ...extra.watermarks };
    const page = new PageRecords(object);
    for (const raw of answer.records ?? []) page.add(raw);
    const { failed, newest } = page;
    const records = extra.before?.length ? [...extra.before, ...page.records] : page.records;
    // Records come in SystemModstamp order: the newest read so far is where a later sync may resume.
    if (newest && newest > (watermarks[object.name] ?? '')) watermarks[object.name] = newest;
    const nextCursor =
      !answer.done && answer.nextRecordsUrl
        ? { objectIndex, next: answer.nextRecordsUrl, watermarks, ...(cursor.fields !== undefined && { fields: cursor.fields }) }
        : nextObject(objectIndex, watermarks);
    // The next object may start with a Bulk job: only the task that owns it creates it.
    return { records, failed, nextCursor, watermark: watermarks, ...(nextCursor?.next === null && this.bulkEnabled && { readNextAfterCommit: true }) };
  }

  /**
   * One step of a Bulk API 2.0 query job: while it runs, a wait the state machine makes
   * (never a sleep here); once complete, one page of its CSV results by locator, so each
   * page commits like a REST page; the step after the last page deletes the job. A job that
   * fails, is aborted, runs too long or loses its results falls back to REST pages for the
   * object, read from the start: records of this sync seen again count once (the engine is
   * told they may repeat).
   */
  private async readBulkPage(org: SalesforceOrg, cursor: SalesforceCursor & { bulkJob: string }): Promise<SourcePage> {
    const object = SALESFORCE_OBJECTS[cursor.objectIndex]!;
    const jobId = cursor.bulkJob;
    const fallBack = async (abort: boolean) => {
      await discardQueryJob(org, jobId, { abort });
      // The fields the job selected (a cursor written before they were kept: the describe's now).
      const fields = cursor.fields ?? readableFields(object, (await this.describes.fieldsOf(org, org.userKey, object.name)).fields);
      const page = await this.readRestPage(org, { ...restartedObject(cursor), fields }, this.queryPath(object, fields, undefined));
      return { ...page, repeatsEarlierRecords: true };
    };
    if (cursor.bulkLocator === undefined) {
      const job = await readQueryJob(org, jobId);
      if (!job || job.state === 'Failed' || job.state === 'Aborted') return await fallBack(false);
      if (job.state !== 'JobComplete') {
        const waited = cursor.bulkWaited ?? 0;
        if (waited >= this.bulk.jobMaxWaitSeconds) return await fallBack(true);
        const seconds = Math.min(MAX_POLL_SECONDS, Math.max(FIRST_POLL_SECONDS, waited));
        return { records: [], failed: 0, nextCursor: { ...cursor, bulkWaited: waited + seconds }, watermark: cursor.watermarks, wait: { seconds, reason: 'bulkJob' } };
      }
    }
    const page = new PageRecords(object);
    const results = await readQueryResults(org, jobId, { locator: cursor.bulkLocator ?? null, maxRecords: this.bulk.pageSize }, (row) => page.add(fromCsvRow(object, row)));
    // The locator expired, or the job is gone: its results cannot be read on.
    if (results === 'expired') return await fallBack(false);
    const { records, failed, newest } = page;
    // Bulk results have no order: the object's watermark moves only once all of them are read.
    const bulkNewest = [cursor.bulkNewest ?? '', newest ?? ''].sort().at(-1)!;
    if (results.nextLocator) {
      const nextCursor = { ...cursor, bulkLocator: results.nextLocator, ...(bulkNewest && { bulkNewest }) };
      return { records, failed, nextCursor, watermark: cursor.watermarks };
    }
    const watermarks = { ...cursor.watermarks, ...(bulkNewest && { [object.name]: bulkNewest }) };
    // The next step deletes the job, not this one: a retry of this page, or a read ahead no task
    // took, must still find its results (or it would read the whole object again through REST).
    const after = { objectIndex: cursor.objectIndex + 1, next: null, watermarks, discardJob: jobId };
    return { records, failed, nextCursor: after, watermark: watermarks, readNextAfterCommit: true };
  }

  /** The REST query of an object: everything live in SystemModstamp order, or (queryAll, deletions too) what changed since the watermark. */
  private queryPath(object: SalesforceObject, fields: string, watermark: string | undefined): string {
    const select = selectOf(object, fields);
    if (!watermark) return `${DATA_PATH}/query?q=${encodeURIComponent(`${select} ORDER BY SystemModstamp`)}`;
    const soql = `${select} WHERE SystemModstamp > ${overlapped(watermark)} ORDER BY SystemModstamp`;
    return `${DATA_PATH}/queryAll?q=${encodeURIComponent(soql)}`;
  }

  /**
   * GET on the org's REST API (a path such as `/services/data/v62.0/query?q=...`, or a
   * `nextRecordsUrl`), with Salesforce's errors mapped to ProviderError.
   */
  async get<T>(credentials: OAuthCredentials, config: Record<string, unknown>, path: string, headers: Record<string, string> = {}): Promise<T> {
    return await new SalesforceOrg(credentials, config).json<T>(path, { headers });
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

/** Where a Salesforce sync stands: which object, its REST page or Bulk job, and the watermarks reached. */
interface SalesforceCursor {
  objectIndex: number;
  /** The next REST page (`nextRecordsUrl`) of the object. */
  next?: string | null;
  watermarks: Record<string, string>;
  /** The object's Bulk query job. */
  bulkJob?: string;
  /** Seconds waited so far for the job to complete. */
  bulkWaited?: number;
  /** The next results page; absent until the job completed, null for its first page. */
  bulkLocator?: string | null;
  /** The newest SystemModstamp among the job's rows read so far. */
  bulkNewest?: string;
  /** A job whose results were all read: deleted by this step (past the last object, that is all it does). */
  discardJob?: string;
  /** The object's mapped fields the user can read (comma-separated), from its describe at the object's start. */
  fields?: string;
}

function readCursor(request: ReadPageRequest): SalesforceCursor {
  const cursor = (request.cursor ?? {}) as Partial<SalesforceCursor>;
  return { ...cursor, objectIndex: Number(cursor.objectIndex ?? 0), watermarks: { ...(cursor.watermarks ?? request.watermark ?? {}) } };
}

/** The start of the object after this one, or the end of the sync. */
function nextObject(objectIndex: number, watermarks: Record<string, string>): SyncCursor | null {
  return objectIndex + 1 < SALESFORCE_OBJECTS.length ? { objectIndex: objectIndex + 1, next: null, watermarks } : null;
}

/** The same object from its start, through REST, with the watermarks other objects reached. */
function restartedObject(cursor: SalesforceCursor): SalesforceCursor {
  return { objectIndex: cursor.objectIndex, next: null, watermarks: cursor.watermarks };
}

/** The object's mapped fields that are among the user's readable `fields`, comma-separated, in our order. */
function readableFields(object: SalesforceObject, fields: ReadonlySet<string>): string {
  return object.fields.filter((field) => fields.has(field)).join(',');
}

/** The SELECT of an object: the fields every read needs, then the readable mapped `fields` (comma-separated). */
function selectOf(object: SalesforceObject, fields: string): string {
  return `SELECT ${[...REQUIRED_FIELDS, ...fields.split(',').filter(Boolean)].join(', ')} FROM ${object.name}`;
}

/**
 * The watermark key of an object's deletions: the time up to which `/deleted` (or a read from
 * the start) has covered them, kept beside the object's SystemModstamp watermark.
 */
function deletedKey(object: SalesforceObject): string {
  return `${object.name}.deleted`;
}

/** `watermark` less the overlap, as SOQL and `/deleted` take it (`2026-03-05T08:00:00Z`). */
function overlapped(watermark: string): string {
  return new Date(Date.parse(watermark) - WATERMARK_OVERLAP_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The org's time of its latest answer (ours if it sent none), ISO. */
function serverNow(org: SalesforceOrg): string {
  return new Date(org.serverTime ?? Date.now()).toISOString();
}

/**
 * Whether the deletions of `object` since its watermarks can no longer be read at `nowMs`:
 * `/deleted` answers for the last 15 days only (a margin for clocks apart). Only an object
 * with a SystemModstamp watermark is read incrementally; its deletion watermark falls back to
 * that one (watermarks written before deletions were read).
 */
function deletionsLost(watermarks: Record<string, string>, object: SalesforceObject, nowMs: number): boolean {
  const since = watermarks[object.name];
  if (since === undefined) return false;
  const from = Date.parse(watermarks[deletedKey(object)] ?? since) - WATERMARK_OVERLAP_MS;
  return !(from >= nowMs - DELETED_WINDOW_MS + CLOCK_MARGIN_MS);
}

/** The page that asks the engine to start over as a full sync: the deletions since the watermark cannot be read any more. */
function restartAsFull(): SourcePage {
  return { records: [], failed: 0, nextCursor: null, watermark: null, restartAsFull: true };
}

/** A page's records as they are mapped one by one: those without an Id count as failed; the newest SystemModstamp is kept. */
class PageRecords {
  readonly records: SourceRecord[] = [];
  failed = 0;
  newest: string | undefined;

  constructor(private readonly object: SalesforceObject) {}

  add(raw: SalesforceRecord): void {
    const record = toSourceRecord(this.object, raw);
    if (!record) {
      this.failed += 1;
      return;
    }
    this.records.push(record);
    if (record.modifiedAt && record.modifiedAt > (this.newest ?? '')) this.newest = record.modifiedAt;
  }
}
