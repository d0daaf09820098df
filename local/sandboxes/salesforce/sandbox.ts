/**
 * The Salesforce sandbox's HTTP server: OAuth endpoints, the REST query resource, `/limits`,
 * Bulk API 2.0 query jobs, the identity URL, and the `/__sandbox/*` control endpoints that
 * let a separately running local stack be driven into failure modes.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { checkMs, parseFailureBody, parseFlag, parseMs, parseTimes, truncatedJson } from '../shared/failures';
import {
  answerControl,
  type BodyLimits,
  close,
  type ControlEndpoints,
  Delays,
  escapeHtml,
  isRecord,
  listen,
  readBody,
  readForm,
  requestListener,
  send,
} from '../shared/http';
import { basicCredentials } from '../shared/oauth';
import { increment } from '../shared/stats';
import { Allowance, type SalesforceAllowanceChanges, type SalesforceAllowanceState } from './allowance';
import {
  BULK_MIN_VERSION,
  type BulkJobOutcome,
  BulkQueryService,
  type BulkSnapshot,
  bulkJsonText,
  DAILY_BULK_QUERY_JOBS,
  writeCsvRows,
} from './bulk';
import { type DataSetSizes, defaultDataSetSizes, type SalesforceOrgOptions, SalesforceDataStore } from './data';
import { FieldVisibility, type HiddenFields } from './fields';
import { type SalesforceFailureState, type SalesforceSandboxFailures, FailureModes } from './failures';
import { keyPrefix, orgInstance } from './ids';
import { OAuthServer, type OAuthSnapshot } from './oauth';
import { batchSizeFromHeader, MAX_BATCH_SIZE, QueryService, type QuerySnapshot, RestError } from './rest';
import { canonicalObject, type FieldValue, formatDateTime, objectFields, type SObjectType, sobjectTypes } from './schema';
import { SoqlError } from './soql';

/** Options of {@link startSalesforceSandbox}. */
export interface SalesforceSandboxOptions {
  /** Port on 127.0.0.1; 0 or undefined picks a free one. */
  readonly port?: number;
  /** The connected app's consumer key. @default 'sandbox-client-id' */
  readonly clientId?: string;
  /** The connected app's consumer secret. @default 'sandbox-client-secret' */
  readonly clientSecret?: string;
  /**
   * Registered callback URLs. When given, `redirect_uri` must be one of them exactly;
   * otherwise any absolute http(s) URL without a fragment is accepted.
   */
  readonly redirectUris?: readonly string[];
  /** Account records. @default 340 */
  readonly accounts?: number;
  /** Contacts plus leads (about 80% / 20%; the sum is exact). @default 1250 */
  readonly people?: number;
  /** Opportunity records. @default 89 */
  readonly opportunities?: number;
  /** Seed of the generated data set; the same seed gives the same records. @default 20260305 */
  readonly seed?: number;
  /**
   * A file that keeps the org's grants, tokens, open query locators and bulk query jobs across restarts
   * (the local stack puts it in its state directory), so connections made before a restart
   * keep working after it. Without it they live in memory only.
   */
  readonly stateFile?: string;
  /**
   * More orgs on the same sandbox, after the first one (which the options above describe).
   * They share the login URL, the connected app and the failure modes; each has its own
   * data set, instance URL, users, grants and tokens. See {@link SalesforceOrgOptions}.
   */
  readonly orgs?: readonly SalesforceOrgOptions[];
  /**
   * The first org's daily API allowance: the LIMIT of `Sforce-Limit-Info: api-usage=USED/LIMIT`
   * and of `/limits`' DailyApiRequests. Calls past it answer 403 REQUEST_LIMIT_EXCEEDED.
   * Other orgs take theirs from {@link SalesforceOrgOptions.apiLimit}. @default 100000
   */
  readonly apiLimit?: number;
  /**
   * On which poll a Bulk API 2.0 query job finishes: the polls before it answer
   * `InProgress`. 0 finishes a job at creation (its results are there before any poll).
   * Also `failures.bulkPollsToComplete(n)`. @default 2
   */
  readonly bulkPollsToComplete?: number;
}

export type { SalesforceOrgOptions } from './data';
export type { HiddenFields } from './fields';
export type { SalesforceAllowanceChanges, SalesforceAllowanceState } from './allowance';

/** The id of the sandbox's first org, for {@link SalesforceSandbox.org} and {@link SalesforceSandbox.consentAs}. */
export const DEFAULT_ORG = 'default';

/**
 * Sizes of an additional org that names none: smaller than the first org's defaults, so a
 * tenant that moves from one org to the other shows it in its counts.
 */
export const defaultExtraOrgSizes: DataSetSizes = { accounts: 120, people: 450, opportunities: 35 };

/** One org of a running sandbox. */
export interface SalesforceSandboxOrg {
  /** {@link DEFAULT_ORG} for the first org, else the id given in {@link SalesforceSandboxOptions.orgs}. */
  readonly id: string;
  /** The org's Salesforce id (`00D...`, 18 characters), as in the token answer's identity URL. */
  readonly organizationId: string;
  /** Where the org's REST API answers: the token answer's `instance_url`. The first org's is the sandbox's `url`. */
  readonly instanceUrl: string;
  /** The org's data mutations and counts. */
  readonly data: SalesforceSandboxData;
  /** The org's API allowance. */
  readonly allowance: SalesforceSandboxAllowance;
  /** Which fields the org's integration user cannot read (field-level security). */
  readonly fieldVisibility: SalesforceSandboxFieldVisibility;
  /** The org's Bulk API 2.0 query jobs that still exist (not deleted, not past their 7 days). */
  bulkJobs(): SalesforceBulkJobSummary[];
}

/**
 * An org's field-level security as the integration user meets it: a hidden field is absent
 * from the object's describe, and a query (REST or Bulk) naming it answers 400 INVALID_FIELD.
 * Also `POST /__sandbox/fields {"org":"org-b","hidden":{"Account":["AnnualRevenue"]}}`. Not a
 * failure mode: `failures.reset()` leaves it alone.
 */
export interface SalesforceSandboxFieldVisibility {
  /**
   * Replaces the hidden fields: `{ Account: ['AnnualRevenue'], Opportunity: ['Probability'] }`;
   * `{}` shows every field again. Only an object's own fields can be hidden (RangeError
   * otherwise, nothing changed). Answers the setting after the change.
   */
  hide(hidden: HiddenFields): HiddenFields;
  /** The hidden fields per object (objects with none left out). */
  hidden(): HiddenFields;
}

/** A Bulk API 2.0 query job as {@link SalesforceSandbox.bulkJobs} and `GET /__sandbox/state` list it. */
export interface SalesforceBulkJobSummary {
  /** The sandbox org id ({@link DEFAULT_ORG} for the first). */
  readonly org: string;
  readonly id: string;
  readonly object: SObjectType;
  readonly operation: 'query' | 'queryAll';
  readonly state: 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  readonly numberRecordsProcessed: number;
}

/**
 * An org's API allowance (per org, shared by the org's integrations): also
 * `POST /__sandbox/allowance {"org":"org-b","used":79000}`.
 */
export interface SalesforceSandboxAllowance {
  /** The allowance now (usage released since the last look included). */
  state(): SalesforceAllowanceState;
  /**
   * Changes the allowance: `limit` and `used` directly (e.g. 79000 of 100000);
   * `othersPerCall`, the calls the org's other integrations make for each of ours;
   * `releasePerSecond`, the calls leaving the rolling 24-hour window per second. Checks every
   * field first (RangeError, nothing changed); answers the allowance after the change.
   */
  set(changes: SalesforceAllowanceChanges): SalesforceAllowanceState;
}

/** What {@link SalesforceSandboxOptions.stateFile} holds. The top-level `oauth` and `queries` are the first org's. */
interface SandboxStateFile {
  readonly oauth: OAuthSnapshot;
  readonly queries: QuerySnapshot;
  /** The first org's bulk query jobs (absent in files of sandboxes before Bulk API 2.0). */
  readonly bulk?: BulkSnapshot;
  /** The additional orgs' grants, locators, bulk jobs and instance ports, by org id. */
  readonly orgs?: Readonly<
    Record<string, { readonly port: number; readonly oauth: OAuthSnapshot; readonly queries: QuerySnapshot; readonly bulk?: BulkSnapshot }>
  >;
  /** The org the next consent logs into. */
  readonly consentOrg?: string;
}

/** Request counters since start or the last {@link SalesforceSandbox.resetStats}. */
export interface SalesforceSandboxStats {
  /** Every request except the `/__sandbox/*` control endpoints. */
  readonly requests: number;
  /**
   * Requests per endpoint: authorize, token, revoke, query, queryAll, queryMore, limits,
   * describe, deleted, bulkCreate, bulkList, bulkPoll, bulkAbort, bulkDelete, bulkResults, identity, notFound
   * (bulkJobs / bulkJob for a bulk path with a method it does not take).
   */
  readonly byEndpoint: Readonly<Record<string, number>>;
  /**
   * REST calls (`/services/data/...`) made to the sandbox, every org and refused calls
   * included. The orgs' allowances (`allowances`, `Sforce-Limit-Info`) count the same calls
   * per org, plus what other integrations spend, less what was released.
   */
  readonly apiUsage: number;
  /** Token-endpoint calls with `grant_type=refresh_token`, successful or not. */
  readonly tokenRefreshes: number;
  /** Token-endpoint calls with `grant_type=authorization_code` that passed client authentication. */
  readonly codeExchanges: number;
  /** Records sent in query answers and bulk results pages. */
  readonly recordsReturned: number;
  /** The part of recordsReturned sent as CSV rows of bulk results pages. */
  readonly bulkRecordsReturned: number;
  /** Bulk query jobs created (every org). */
  readonly bulkJobsCreated: number;
  /** Each org's API allowance, by org id ({@link DEFAULT_ORG} for the first). */
  readonly allowances: Readonly<Record<string, SalesforceAllowanceState>>;
}

/** Per-object record counts. */
export type SalesforceObjectCounts = Readonly<Record<SObjectType, number>>;

/** Data mutations for incremental-sync tests. Records are picked with the sandbox's seeded generator. */
export interface SalesforceSandboxData {
  /** Creates `count` records of `object` stamped now; returns their ids. */
  add(object: SObjectType, count: number): string[];
  /**
   * Changes a field of `count` live records of `object` and bumps their SystemModstamp to
   * now, strictly later than every stamp so far; returns their ids.
   */
  modify(object: SObjectType, count: number): string[];
  /**
   * Marks `count` live records of `object` IsDeleted = true with a new SystemModstamp: they go
   * to the recycle bin (queryAll still sees them) and to the delete log (`/deleted`); returns their ids.
   */
  remove(object: SObjectType, count: number): string[];
  /**
   * Purges `count` records of `object` from the recycle bin (all of them without `count`), the
   * longest deleted first: queryAll no longer sees them, only `/deleted` names them. Returns their ids.
   */
  purge(object: SObjectType, count?: number): string[];
  /** Restores `count` records of `object` from the recycle bin (the latest deleted first), stamped now; returns their ids. */
  undelete(object: SObjectType, count: number): string[];
  /**
   * The org's background clean-up empties the delete log of `object`: a `/deleted` window that
   * starts before now answers 400 INVALID_REPLICATION_DATE (a client must read the object in full).
   */
  purgeDeleteLog(object: SObjectType): void;
  /**
   * Sets fields of the live record `id` (fields particular to `object`, e.g. Account's Name)
   * and bumps its SystemModstamp to now; returns the id. For values the generated data never
   * has, such as text with commas, quotes or line breaks.
   */
  set(object: SObjectType, id: string, values: Readonly<Record<string, FieldValue>>): string;
  /** Live (not deleted) records per object. */
  counts(): SalesforceObjectCounts;
  /** Deleted records per object (what queryAll sees on top of query). */
  deletedCounts(): SalesforceObjectCounts;
  /** Live counts as the connector's entities: accounts, people (contacts + leads), opportunities. */
  entityCounts(): { accounts: number; people: number; opportunities: number };
}

/** A running Salesforce sandbox. */
export interface SalesforceSandbox {
  /** `http://127.0.0.1:PORT`: the login URL, and the first org's instance URL. */
  readonly url: string;
  /** The connected app's consumer key. */
  readonly clientId: string;
  /** The connected app's consumer secret. */
  readonly clientSecret: string;
  /** Switchable failure modes. */
  readonly failures: SalesforceSandboxFailures;
  /** Data mutations and counts of the first org (the same as `org(DEFAULT_ORG).data`). */
  readonly data: SalesforceSandboxData;
  /** The first org's API allowance (the same as `org(DEFAULT_ORG).allowance`). */
  readonly allowance: SalesforceSandboxAllowance;
  /** The first org's field-level security (the same as `org(DEFAULT_ORG).fieldVisibility`). */
  readonly fieldVisibility: SalesforceSandboxFieldVisibility;
  /** Every org's Bulk API 2.0 query jobs that still exist, the first org's first: `[]` once a sync cleaned up. */
  bulkJobs(): SalesforceBulkJobSummary[];
  /** The org with this id ({@link DEFAULT_ORG}, or omitted, for the first); throws a RangeError for an unknown id. */
  org(id?: string): SalesforceSandboxOrg;
  /** Every org, the first one first. */
  orgs(): SalesforceSandboxOrg[];
  /**
   * Which org the next consents log into (until changed): an org id, or {@link DEFAULT_ORG}
   * / undefined for the first org. Also `POST /__sandbox/failures {"consentAs":"org-b"}`.
   * Not a failure mode: `failures.reset()` leaves it alone.
   */
  consentAs(id?: string): void;
  /** The id of the org the next consent logs into. */
  consentOrg(): string;
  /** Request counters. */
  stats(): SalesforceSandboxStats;
  /** Zeroes the request counters and every org's allowance usage and daily bulk job count (limits and settings stay). */
  resetStats(): void;
  /** Every access token, refresh token and auth code issued so far, plus the client secret. */
  secretsIssued(): string[];
  /** Moves the sandbox clock forward (auth-code, query-locator and bulk job expiry; allowance release; mutation stamps). */
  advanceTime(ms: number): void;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

const DEFAULT_SEED = 20260305;
const DEFAULT_BULK_POLLS_TO_COMPLETE = 2;
/** `/limits`' DailyBulkV2QueryFileStorageMB: Salesforce's figure; the sandbox stores no files, so none is ever used. */
const BULK_FILE_STORAGE_MB = 976_562;
const BODY_LIMITS: BodyLimits = { maxBytes: 1 << 20 };
const API_VERSION = /^v(\d{2})\.0$/;
/** REST versions the sandbox answers: those Salesforce still serves, up to the adapter's v62.0. */
const MIN_VERSION = 31;
const MAX_VERSION = 62;
/** How far back `/deleted` answers: Salesforce keeps no more than 15 days of its delete log for it. */
export const DELETED_WINDOW_MS = 15 * 24 * 3600 * 1000;
/** The most ids one `/deleted` answer may hold; a window with more answers 400 EXCEEDED_ID_LIMIT. */
export const MAX_DELETED_IDS = 600_000;
const MINUTE_MS = 60_000;

/**
 * Starts a Salesforce sandbox on 127.0.0.1: the OAuth 2.0 web server flow with PKCE,
 * refresh, revoke, REST `query` / `queryAll` over a deterministic data set, `/limits` and
 * Bulk API 2.0 query jobs, each org with its API allowance.
 */
export async function startSalesforceSandbox(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  const sizes = {
    accounts: size('accounts', options.accounts, defaultDataSetSizes.accounts),
    people: size('people', options.people, defaultDataSetSizes.people),
    opportunities: size('opportunities', options.opportunities, defaultDataSetSizes.opportunities),
  };
  const clientId = options.clientId ?? 'sandbox-client-id';
  const clientSecret = options.clientSecret ?? 'sandbox-client-secret';
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);

  const extraOptions = checkOrgOptions(options.orgs ?? []);
  const defaultPollsToComplete = checkPolls(options.bulkPollsToComplete ?? DEFAULT_BULK_POLLS_TO_COMPLETE);
  let pollsToComplete = defaultPollsToComplete;

  let clockOffset = 0;
  const now = (): number => Date.now() + clockOffset;
  const secrets: string[] = [clientSecret];
  const modes = new FailureModes();
  const delays = new Delays();
  let counters = freshCounters();
  const onSecretIssued = (secret: string): void => {
    secrets.push(secret);
  };

  // The servers bind first, so the OAuth servers know the URLs their tokens point at.
  const server = createServer();
  const url = await listen(server, options.port);
  const servers: Server[] = [server];
  const saved = options.stateFile ? readStateFile(options.stateFile) : undefined;

  const makeOrg = (
    id: string,
    orgServer: Server,
    instanceUrl: string,
    orgSizes: DataSetSizes,
    orgSeed: number,
    index: number,
    apiLimit: number | undefined,
  ): Org => {
    // The first org keeps the ids it always had; each additional org has an instance part of its own.
    const instance = index === 0 ? undefined : orgInstance(index);
    const store = new SalesforceDataStore(orgSizes, orgSeed, now, instance);
    const allowance = new Allowance(now, apiLimit);
    const fields = new FieldVisibility();
    const soql = { isHidden: (type: SObjectType, field: string) => fields.isHidden(type, field) };
    const org: Org = {
      id,
      server: orgServer,
      instanceUrl,
      store,
      fields,
      queries: new QueryService(store, now, instance, soql),
      oauth: new OAuthServer(
        {
          clientId,
          clientSecret,
          url,
          instanceUrl,
          redirectUris: options.redirectUris,
          ...(index > 0 && { orgSerial: 9_000_001 + index, instance }),
        },
        now,
        onSecretIssued,
      ),
      data: dataOf(store),
      allowance,
      allowanceApi: { state: () => allowance.state(), set: (changes) => allowance.set(changes) },
      bulk: new BulkQueryService(store, now, instance, soql),
    };
    return org;
  };
  const first = makeOrg(DEFAULT_ORG, server, url, sizes, seed, 0, options.apiLimit);
  const orgs: Org[] = [first];
  try {
    for (const [i, extra] of extraOptions.entries()) {
      const index = i + 1;
      // An org's instance port is kept in the state file: connections store their instance URL.
      const port = extra.port ?? saved?.orgs?.[extra.id]?.port;
      const orgServer = createServer();
      let instanceUrl: string;
      try {
        instanceUrl = await listen(orgServer, port);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
        throw new Error(
          `the Salesforce sandbox's org ${extra.id} cannot have its instance port ${port} back (recorded in ${options.stateFile ?? 'its options'}): it is in use by another program`,
          { cause: error },
        );
      }
      servers.push(orgServer);
      const orgSizes = {
        accounts: size(`orgs[${i}].accounts`, extra.accounts, defaultExtraOrgSizes.accounts),
        people: size(`orgs[${i}].people`, extra.people, defaultExtraOrgSizes.people),
        opportunities: size(`orgs[${i}].opportunities`, extra.opportunities, defaultExtraOrgSizes.opportunities),
      };
      const orgSeed = extra.seed ?? seed + index;
      if (!Number.isInteger(orgSeed)) throw new RangeError(`orgs[${i}].seed must be an integer, got ${orgSeed}`);
      orgs.push(makeOrg(extra.id, orgServer, instanceUrl, orgSizes, orgSeed, index, extra.apiLimit));
    }
  } catch (error) {
    await Promise.all(servers.map((opened) => close(opened)));
    throw error;
  }
  const orgById = (id: string = DEFAULT_ORG): Org => {
    const org = orgs.find((candidate) => candidate.id === id);
    if (!org) throw new RangeError(`unknown org ${id}; one of ${orgs.map((candidate) => candidate.id).join(', ')}`);
    return org;
  };
  let consentOrg: Org = first;
  if (saved) {
    first.oauth.restore(saved.oauth);
    first.queries.restore(saved.queries);
    first.bulk.restore(saved.bulk);
    for (const org of orgs.slice(1)) {
      const state = saved.orgs?.[org.id];
      if (!state) continue;
      org.oauth.restore(state.oauth);
      org.queries.restore(state.queries);
      org.bulk.restore(state.bulk);
    }
    consentOrg = orgs.find((org) => org.id === saved.consentOrg) ?? first;
  }
  /**
   * Records grants and locators before an answer that depends on them goes out, so a
   * sandbox killed right after answering still knows what it answered. Synchronous on
   * purpose: nothing else may run between the change and the answer.
   */
  const persist = (): void => {
    if (!options.stateFile) return;
    const state: SandboxStateFile = {
      oauth: first.oauth.snapshot(),
      queries: first.queries.snapshot(),
      bulk: first.bulk.snapshot(),
      ...(orgs.length > 1 && {
        orgs: Object.fromEntries(
          orgs
            .slice(1)
            .map((org) => [
              org.id,
              { port: portOf(org.instanceUrl), oauth: org.oauth.snapshot(), queries: org.queries.snapshot(), bulk: org.bulk.snapshot() },
            ]),
        ),
      }),
      ...(consentOrg !== first && { consentOrg: consentOrg.id }),
    };
    const temp = `${options.stateFile}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(state));
    renameSync(temp, options.stateFile);
  };

  const failures: SalesforceSandboxFailures = {
    expireSessions: () => {
      for (const org of orgs) org.oauth.expireSessions();
      persist();
    },
    requestLimitExceeded: (times) => modes.requestLimitExceeded.set(times),
    serverError: (times, status) => {
      modes.serverError.set(times);
      if (status !== undefined && status !== 500 && status !== 503) throw new RangeError('serverError status must be 500 or 503');
      modes.serverErrorStatus = status;
      modes.serverErrorsServed = 0;
    },
    malformedJson: (times) => modes.malformedJson.set(times),
    slow: (ms) => {
      modes.slowMs = checkMs('slow', ms);
    },
    rotateRefreshTokens: (on) => {
      for (const org of orgs) org.oauth.rotateRefreshTokens = on;
    },
    revokeGrant: () => {
      for (const org of orgs) org.oauth.revokeAll();
      persist();
    },
    consentDenied: (on) => {
      modes.consentDenied = on;
    },
    bulkJobFails: (times) => modes.bulkJobFails.set(times),
    bulkJobAborted: (times) => modes.bulkJobAborted.set(times),
    bulkJobNeverCompletes: (times) => modes.bulkJobNeverCompletes.set(times),
    bulkLocatorExpires: (times) => modes.bulkLocatorExpires.set(times),
    bulkPollsToComplete: (polls) => {
      pollsToComplete = checkPolls(polls);
    },
    revokeRefused: (times) => modes.revokeRefused.set(times),
    reset: () => {
      modes.reset();
      pollsToComplete = defaultPollsToComplete;
      for (const org of orgs) {
        org.oauth.rotateRefreshTokens = false;
        org.allowance.resetBehaviour();
      }
    },
    state: (): SalesforceFailureState => ({
      requestLimitExceeded: modes.requestLimitExceeded.remaining(),
      serverError: modes.serverError.remaining(),
      malformedJson: modes.malformedJson.remaining(),
      slowMs: modes.slowMs,
      rotateRefreshTokens: first.oauth.rotateRefreshTokens,
      consentDenied: modes.consentDenied,
      bulkJobFails: modes.bulkJobFails.remaining(),
      bulkJobAborted: modes.bulkJobAborted.remaining(),
      bulkJobNeverCompletes: modes.bulkJobNeverCompletes.remaining(),
      bulkLocatorExpires: modes.bulkLocatorExpires.remaining(),
      bulkPollsToComplete: pollsToComplete,
      revokeRefused: modes.revokeRefused.remaining(),
    }),
  };

  const data = first.data;
  const consentAs = (id?: string): void => {
    consentOrg = orgById(id ?? DEFAULT_ORG);
    persist();
  };
  const publicOrg = (org: Org): SalesforceSandboxOrg => ({
    id: org.id,
    organizationId: org.oauth.orgId,
    instanceUrl: org.instanceUrl,
    data: org.data,
    allowance: org.allowanceApi,
    fieldVisibility: fieldVisibilityOf(org),
    bulkJobs: () => bulkJobsOf(org),
  });
  const bulkJobsOf = (org: Org): SalesforceBulkJobSummary[] =>
    org.bulk.snapshot().jobs.map(({ id, object, operation, state, numberRecordsProcessed }) => ({
      org: org.id,
      id,
      object,
      operation,
      state,
      numberRecordsProcessed,
    }));

  const stats = (): SalesforceSandboxStats => ({
    requests: counters.requests,
    byEndpoint: { ...counters.byEndpoint },
    apiUsage: counters.apiUsage,
    tokenRefreshes: orgs.reduce((sum, org) => sum + org.oauth.counters.tokenRefreshes, 0),
    codeExchanges: orgs.reduce((sum, org) => sum + org.oauth.counters.codeExchanges, 0),
    recordsReturned: counters.recordsReturned,
    bulkRecordsReturned: counters.bulkRecordsReturned,
    bulkJobsCreated: orgs.reduce((sum, org) => sum + org.bulk.jobsCreated, 0),
    allowances: Object.fromEntries(orgs.map((org) => [org.id, org.allowance.state()])),
  });
  const resetStats = (): void => {
    counters = freshCounters();
    for (const org of orgs) {
      org.oauth.counters.tokenRefreshes = 0;
      org.oauth.counters.codeExchanges = 0;
      org.allowance.resetUsage();
      org.bulk.jobsCreated = 0;
    }
    persist();
  };

  const count = (endpoint: string): void => {
    counters.requests++;
    increment(counters.byEndpoint, endpoint);
  };

  /**
   * Answers a request to `org`'s instance URL. The login endpoints (authorize, token, revoke,
   * identity) and the control endpoints answer on every instance URL too, as Salesforce's
   * instances serve OAuth as well; the REST API answers only for the org whose URL it is.
   */
  async function handle(org: Org, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestUrl = new URL(req.url ?? '/', url);
    const path = requestUrl.pathname;
    if (path.startsWith('/__sandbox/')) return answerControl(req, res, path, control, BODY_LIMITS, JSON_TYPE);
    if (modes.slowMs > 0) await delays.wait(modes.slowMs);

    if (path === '/services/oauth2/authorize') {
      count('authorize');
      if (req.method !== 'GET') return sendText(res, 405, 'Method Not Allowed');
      // The user logs into the org chosen with consentAs; the code belongs to that org.
      const outcome = consentOrg.oauth.authorize(requestUrl.searchParams, modes.consentDenied);
      if (outcome.kind === 'redirect') {
        res.writeHead(302, { Location: outcome.location, 'Cache-Control': 'no-store' }).end();
        return;
      }
      // Salesforce shows such errors on an error page of its own (no redirect to the
      // client); the sandbox answers that page directly with a 400.
      return sendHtml(res, 400, errorPage(outcome.error, outcome.description));
    }
    if (path === '/services/oauth2/token') {
      count('token');
      if (req.method !== 'POST') return sendText(res, 405, 'Method Not Allowed');
      // Only the body counts: parameters in the URL (which Salesforce tolerates) would put
      // secrets into access logs, so the sandbox ignores them and the adapter must not use them.
      const form = await readForm(req, BODY_LIMITS);
      // One login URL for every org: a code or refresh token names its org.
      const owner =
        orgs.find((candidate) =>
          form.get('grant_type') === 'refresh_token'
            ? candidate.oauth.ownsRefreshToken(form.get('refresh_token') ?? '')
            : candidate.oauth.ownsCode(form.get('code') ?? ''),
        ) ?? org;
      const answer = owner.oauth.token(form, basicCredentials(req.headers.authorization));
      persist();
      return sendJson(res, answer.status, answer.body ?? {}, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    }
    if (path === '/services/oauth2/revoke') {
      count('revoke');
      const token = req.method === 'POST' ? (await readForm(req, BODY_LIMITS)).get('token') : requestUrl.searchParams.get('token');
      if (modes.revokeRefused.take()) {
        return sendJson(res, 400, { error: 'unsupported_token_type', error_description: 'this token type is not supported' });
      }
      const owner = (token && orgs.find((candidate) => candidate.oauth.ownsToken(token))) || org;
      const answer = owner.oauth.revoke(token);
      persist();
      if (answer.body) return sendJson(res, answer.status, answer.body);
      res.writeHead(answer.status, { 'Content-Length': '0' }).end();
      return;
    }
    const identity = /^\/id\/([A-Za-z0-9]{18})\/([A-Za-z0-9]{18})$/.exec(path);
    if (identity) {
      count('identity');
      const owner = orgs.find((candidate) => candidate.oauth.orgId === identity[1]);
      const grant = owner?.oauth.session(req.headers.authorization);
      if (!owner || !grant || identity[2] !== grant.user.userId) {
        return sendText(res, 403, 'Bad_OAuth_Token');
      }
      return sendJson(res, 200, {
        id: owner.oauth.identityUrl(grant.user),
        asserted_user: true,
        user_id: grant.user.userId,
        organization_id: owner.oauth.orgId,
        username: grant.user.username,
        display_name: 'Sandbox User',
        email: grant.user.username,
        active: true,
        user_type: 'STANDARD',
        urls: { query: `${owner.instanceUrl}/services/data/v{version}/query/` },
      });
    }
    if (path.startsWith('/services/data/')) return rest(org, req, res, requestUrl);
    count('notFound');
    return sendText(res, 404, 'Not Found');
  }

  async function rest(org: Org, req: IncomingMessage, res: ServerResponse, requestUrl: URL): Promise<void> {
    const parts = requestUrl.pathname.split('/').slice(3); // ['v62.0', 'query', ...]
    const [version = '', , more] = parts;
    const method = req.method ?? 'GET';
    const { endpoint, allow } = restEndpoint(parts, method);
    count(endpoint);
    counters.apiUsage++;
    // The allowance is the org's (shared by its integrations, not by other orgs). A call made
    // when it is used up is refused and counts nothing.
    const charge = org.allowance.charge();
    // The org's clock (advanceTime moves it), as a client that takes the server's time from an answer sees it.
    const headers = { 'Sforce-Limit-Info': charge.header, Date: new Date(now()).toUTCString() };
    if (!charge.allowed) return sendRestError(res, 403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.', headers);

    // Injected failures come before the session check, so "the next n calls" means exactly that.
    if (modes.requestLimitExceeded.take()) {
      // Salesforce sends no Retry-After here; the engine must back off on its own.
      return sendRestError(res, 403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.', headers);
    }
    if (modes.serverError.take()) {
      const status = modes.serverErrorStatus ?? (modes.serverErrorsServed % 2 === 0 ? 503 : 500);
      modes.serverErrorsServed++;
      if (status === 503) return sendHtml(res, 503, serviceUnavailablePage, headers);
      return sendRestError(
        res,
        500,
        'UNKNOWN_EXCEPTION',
        'An unexpected error occurred. Please include this ErrorId if you contact support: 1640219406-20877 (-1228405612)',
        headers,
      );
    }
    // Tokens are bound to their org: another org's token is as bad a session here as a made-up one.
    const grant = org.oauth.session(req.headers.authorization);
    if (!grant) {
      return sendRestError(res, 401, 'INVALID_SESSION_ID', 'Session expired or invalid', {
        ...headers,
        'WWW-Authenticate': 'Token',
      });
    }
    const versionMatch = API_VERSION.exec(version);
    const versionNumber = Number(versionMatch?.[1] ?? 0);
    // `sobjects/{Object}/deleted` exists from v29.0 on: every version the sandbox serves has it.
    const minVersion = endpoint.startsWith('bulk') ? BULK_MIN_VERSION : MIN_VERSION;
    if (endpoint === 'notFound' || versionNumber < minVersion || versionNumber > MAX_VERSION) {
      return sendRestError(res, 404, 'NOT_FOUND', 'The requested resource does not exist', headers);
    }
    // HEAD is named in the answer, as Salesforce names it, but served as before: not at all.
    if (method === 'HEAD' || !allow.includes(method)) {
      return sendRestError(res, 405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are ${allow.join(',')}`, headers);
    }
    /** A successful JSON answer; `malformedJson` truncates it. */
    const answer = (body: string): void => {
      if (modes.malformedJson.take()) return send(res, 200, truncatedJson(body), JSON_TYPE, headers);
      return send(res, 200, body, JSON_TYPE, headers);
    };

    try {
      switch (endpoint) {
        case 'limits': {
          const allowance = org.allowance.state();
          return answer(
            JSON.stringify({
              DailyApiRequests: { Max: allowance.limit, Remaining: allowance.remaining },
              DailyBulkV2QueryJobs: { Max: DAILY_BULK_QUERY_JOBS, Remaining: Math.max(0, DAILY_BULK_QUERY_JOBS - org.bulk.jobsCreated) },
              DailyBulkV2QueryFileStorageMB: { Max: BULK_FILE_STORAGE_MB, Remaining: BULK_FILE_STORAGE_MB },
            }),
          );
        }
        case 'bulkCreate': {
          const body = await readBody(req, BODY_LIMITS);
          const info = org.bulk.create(versionNumber, body, grant.user.userId, pollsToComplete, takeOutcome);
          persist();
          return answer(bulkJsonText(info));
        }
        case 'describe': {
          const type = canonicalObject(parts[2] ?? '');
          if (!type) throw new RestError(404, 'NOT_FOUND', 'The requested resource does not exist');
          return answer(JSON.stringify(org.fields.describe(type, version, keyPrefix[type])));
        }
        case 'deleted': {
          const type = canonicalObject(parts[2] ?? '');
          if (!type) throw new RestError(404, 'NOT_FOUND', 'The requested resource does not exist');
          return answer(JSON.stringify(deletedRecords(org.store, type, requestUrl.searchParams, now())));
        }
        case 'bulkList':
          return answer(bulkJsonText(org.bulk.list()));
        case 'bulkPoll': {
          const info = org.bulk.poll(parts[3] ?? '');
          persist();
          return answer(bulkJsonText(info));
        }
        case 'bulkAbort': {
          const info = org.bulk.abort(parts[3] ?? '', await readBody(req, BODY_LIMITS));
          persist();
          return answer(bulkJsonText(info));
        }
        case 'bulkDelete':
          org.bulk.remove(parts[3] ?? '');
          persist();
          res.writeHead(204, headers).end();
          return;
        case 'bulkResults': {
          const page = org.bulk.results(parts[3] ?? '', versionNumber, requestUrl.searchParams, () => modes.bulkLocatorExpires.take());
          const rows = page.to - page.from;
          counters.recordsReturned += rows;
          counters.bulkRecordsReturned += rows;
          // Chunked, a thousand rows at a time: a page of a million-record job is never one string.
          res.writeHead(200, {
            'Content-Type': 'text/csv',
            'Sforce-Locator': page.locator,
            'Sforce-NumberOfRecords': String(rows),
            ...headers,
          });
          const write = (chunk: string): Promise<boolean> => writeChunk(res, chunk);
          if (await write(page.header)) await writeCsvRows(page, write);
          res.end();
          return;
        }
        default:
          break;
      }
      let page;
      const batchHeader = batchSizeFromHeader(req.headers['sforce-query-options']);
      if (endpoint === 'queryMore') {
        const locator = /^(01g[A-Za-z0-9]{15})-(\d+)$/.exec(more ?? '');
        if (!locator) throw new RestError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
        page = org.queries.more(version, locator[1] as string, Number(locator[2]), batchHeader, grant.id);
      } else {
        const soql = requestUrl.searchParams.get('q');
        if (!soql) throw new RestError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
        page = org.queries.query(version, soql, endpoint === 'queryAll', batchHeader ?? MAX_BATCH_SIZE, grant.id);
      }
      counters.recordsReturned += page.records.length;
      persist();
      return answer(JSON.stringify(page));
    } catch (error) {
      if (error instanceof SoqlError) return sendRestError(res, 400, error.errorCode, error.message, headers);
      if (error instanceof RestError) return sendRestError(res, error.status, error.errorCode, error.message, headers);
      throw error;
    }
  }

  /** How a new bulk job ends, from the failure modes (each job uses up at most one). */
  function takeOutcome(): BulkJobOutcome {
    if (modes.bulkJobFails.take()) return 'fail';
    if (modes.bulkJobAborted.take()) return 'abort';
    if (modes.bulkJobNeverCompletes.take()) return 'never';
    return 'complete';
  }

  const control: ControlEndpoints = {
    state: () => ({
      url,
      counts: data.counts(),
      deletedCounts: data.deletedCounts(),
      entityCounts: data.entityCounts(),
      failures: failures.state(),
      stats: stats(),
      allowance: first.allowance.state(),
      consentOrg: consentOrg.id,
      orgs: orgs.map((org) => ({
        id: org.id,
        organizationId: org.oauth.orgId,
        instanceUrl: org.instanceUrl,
        counts: org.data.counts(),
        deletedCounts: org.data.deletedCounts(),
        entityCounts: org.data.entityCounts(),
        allowance: org.allowance.state(),
        hiddenFields: org.fields.state(),
        bulkJobs: bulkJobsOf(org),
      })),
    }),
    applyFailures: (body) => applyFailures(failures, body, consentAs),
    failureState: () => failures.state(),
    data: (body) => {
      // `"org": "org-b"` picks the org; without it, the first.
      const { org: id, ...changes } = isRecord(body) ? body : { org: undefined };
      if (id !== undefined && typeof id !== 'string') throw new Error('org must be an org id');
      const target = orgById(id);
      return { changed: applyData(target.data, isRecord(body) ? changes : body), counts: target.data.counts() };
    },
    resetStats,
    stats,
    more: {
      // `{"org":"org-b","used":79000}`: changes that org's allowance (the first org's without `org`).
      allowance: (body) => {
        if (!isRecord(body)) throw new Error('body must be a JSON object');
        const { org: id, ...changes } = body;
        if (id !== undefined && typeof id !== 'string') throw new Error('org must be an org id');
        const known = ['limit', 'used', 'othersPerCall', 'releasePerSecond'];
        const unknown = Object.keys(changes).filter((key) => !known.includes(key));
        if (unknown.length > 0) throw new Error(`unknown allowance field(s): ${unknown.join(', ')}; known: org, ${known.join(', ')}`);
        const target = orgById(id);
        return { org: target.id, ...target.allowance.set(changes as SalesforceAllowanceChanges) };
      },
      // `{"org":"org-b","hidden":{"Account":["AnnualRevenue"]}}`: replaces that org's hidden fields; `{}` only reads them.
      fields: (body) => {
        if (!isRecord(body)) throw new Error('body must be a JSON object');
        const { org: id, hidden, ...rest } = body;
        if (id !== undefined && typeof id !== 'string') throw new Error('org must be an org id');
        if (Object.keys(rest).length > 0) throw new Error(`unknown field(s): ${Object.keys(rest).join(', ')}; known: org, hidden`);
        const target = orgById(id);
        return { org: target.id, hidden: hidden === undefined ? target.fields.state() : target.fields.set(hidden) };
      },
    },
  };

  for (const org of orgs) {
    org.server.on(
      'request',
      requestListener(
        (req, res) => handle(org, req, res),
        (res, message) => sendJson(res, 500, { error: message }),
      ),
    );
  }

  return {
    url,
    clientId,
    clientSecret,
    failures,
    data,
    allowance: first.allowanceApi,
    fieldVisibility: fieldVisibilityOf(first),
    bulkJobs: () => orgs.flatMap(bulkJobsOf),
    org: (id) => publicOrg(orgById(id)),
    orgs: () => orgs.map(publicOrg),
    consentAs,
    consentOrg: () => consentOrg.id,
    stats,
    resetStats,
    secretsIssued: () => [...secrets],
    advanceTime: (ms) => {
      clockOffset += checkMs('advanceTime', ms);
    },
    close: async () => {
      delays.cancelAll();
      await Promise.all(servers.map((opened) => close(opened)));
    },
  };
}

/** One org of the sandbox and the server its instance URL names (the first org's is the login server). */
interface Org {
  readonly id: string;
  readonly server: Server;
  readonly instanceUrl: string;
  readonly store: SalesforceDataStore;
  /** The org's field-level security: hidden fields are missing from describes and refused in queries. */
  readonly fields: FieldVisibility;
  readonly queries: QueryService;
  readonly oauth: OAuthServer;
  readonly data: SalesforceSandboxData;
  /** The org's API allowance: `Sforce-Limit-Info`, `/limits`, REQUEST_LIMIT_EXCEEDED. */
  readonly allowance: Allowance;
  /** {@link allowance} as the public API shows it. */
  readonly allowanceApi: SalesforceSandboxAllowance;
  /** The org's Bulk API 2.0 query jobs. */
  readonly bulk: BulkQueryService;
}

/**
 * Which REST endpoint a `/services/data/<version>/...` path and method name (the stats key),
 * and the methods it takes.
 */
function restEndpoint(parts: readonly string[], method: string): { endpoint: string; allow: readonly string[] } {
  const [, resource = '', sub] = parts;
  const read = ['GET', 'HEAD'];
  if (resource === 'query' || resource === 'queryAll') {
    if (parts.length === 2) return { endpoint: resource, allow: read };
    if (parts.length === 3) return { endpoint: 'queryMore', allow: read };
  }
  if (resource === 'limits' && (parts.length === 2 || (parts.length === 3 && sub === ''))) return { endpoint: 'limits', allow: read };
  // `sobjects/{Object}/describe` and `sobjects/{Object}/deleted/?start=&end=` (a trailing slash or none).
  if (resource === 'sobjects' && sub && (parts.length === 4 || (parts.length === 5 && parts[4] === ''))) {
    if (parts[3] === 'describe') return { endpoint: 'describe', allow: read };
    if (parts[3] === 'deleted') return { endpoint: 'deleted', allow: read };
  }
  if (resource === 'jobs' && sub === 'query') {
    if (parts.length === 3) {
      return { endpoint: method === 'POST' ? 'bulkCreate' : method === 'GET' ? 'bulkList' : 'bulkJobs', allow: ['GET', 'POST'] };
    }
    if (parts.length === 4 && parts[3] !== '') {
      const byMethod: Record<string, string> = { GET: 'bulkPoll', PATCH: 'bulkAbort', DELETE: 'bulkDelete' };
      return { endpoint: byMethod[method] ?? 'bulkJob', allow: ['GET', 'PATCH', 'DELETE'] };
    }
    if (parts.length === 5 && parts[3] !== '' && parts[4] === 'results') return { endpoint: 'bulkResults', allow: ['GET'] };
  }
  return { endpoint: 'notFound', allow: read };
}

/** Writes a chunk of a streamed answer, waiting for the socket to drain; false once the client is gone. */
async function writeChunk(res: ServerResponse, chunk: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(chunk)) return true;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
  return !res.destroyed;
}

/** An org's field visibility as the public API shows it. */
function fieldVisibilityOf(org: Org): SalesforceSandboxFieldVisibility {
  return { hide: (hidden) => org.fields.set(hidden), hidden: () => org.fields.state() };
}

/**
 * `GET .../sobjects/{Object}/deleted/?start=&end=`: the object's delete log between `start` and
 * `end` (ISO 8601, e.g. `2026-03-05T08:00:00+00:00`; seconds ignored, as Salesforce ignores
 * them), purged records included. Refused as Salesforce's getDeleted rules say: a window of a
 * minute or less, or one starting more than 15 days ago or before the delete log's last purge,
 * answers 400 INVALID_REPLICATION_DATE.
 */
function deletedRecords(store: SalesforceDataStore, type: SObjectType, params: URLSearchParams, nowMs: number): Record<string, unknown> {
  const start = replicationDate('start', params.get('start'));
  const end = replicationDate('end', params.get('end'));
  // Unclear in the documentation: the exact messages; the codes and the rules are Salesforce's.
  if (end - start <= MINUTE_MS) {
    throw new RestError(400, 'INVALID_REPLICATION_DATE', 'startDate must chronologically precede endDate by more than one minute');
  }
  const now = floorToMinute(nowMs);
  const earliest = Math.max(now - DELETED_WINDOW_MS, store.deleteLogFrom(type));
  if (start < now - DELETED_WINDOW_MS) {
    throw new RestError(400, 'INVALID_REPLICATION_DATE', `startDate can not be more than 15 days ago (earliest date available: ${formatDateTime(earliest)})`);
  }
  if (start < store.deleteLogFrom(type)) {
    throw new RestError(400, 'INVALID_REPLICATION_DATE', `startDate is before the earliest date available: ${formatDateTime(earliest)}; the delete log was purged, replicate the object again`);
  }
  // Nothing after the current minute is covered yet, whatever `end` asks for.
  const covered = Math.min(end, now);
  const entries = store.deletedBetween(type, start, covered);
  if (entries.length > MAX_DELETED_IDS) {
    throw new RestError(400, 'EXCEEDED_ID_LIMIT', `More than ${MAX_DELETED_IDS} ids were found; choose start and end dates closer together`);
  }
  return {
    deletedRecords: entries.map((entry) => ({ id: entry.id, deletedDate: formatDateTime(entry.deletedMs) })),
    earliestDateAvailable: formatDateTime(earliest),
    latestDateCovered: formatDateTime(covered),
  };
}

/**
 * A `start` / `end` parameter as epoch ms, its seconds dropped. ISO 8601 with `Z` or an
 * `+hh:mm` offset (a `+` sent unencoded arrives as a space and is refused). Unclear in the
 * documentation: the code Salesforce answers for a missing or unreadable date; the sandbox
 * says MISSING_ARGUMENT and MALFORMED_QUERY, which an adapter must not depend on.
 */
function replicationDate(name: string, value: string | null): number {
  if (value === null || value === '') throw new RestError(400, 'MISSING_ARGUMENT', `${name} is required`);
  const match = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2})$/.exec(value);
  const ms = match ? Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : Number.NaN;
  if (!Number.isFinite(ms)) throw new RestError(400, 'MALFORMED_QUERY', `${name}: '${value.slice(0, 40)}' is not a valid ISO 8601 dateTime`);
  return floorToMinute(ms);
}

function floorToMinute(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

/** Polls before a bulk job finishes: a non-negative integer. */
function checkPolls(polls: number): number {
  if (!Number.isSafeInteger(polls) || polls < 0 || polls > 1_000_000) {
    throw new RangeError(`bulkPollsToComplete must be a non-negative integer, got ${polls}`);
  }
  return polls;
}

/** The data API of one org's store. */
function dataOf(store: SalesforceDataStore): SalesforceSandboxData {
  return {
    add: (object, count) => store.add(checkObject(object), count),
    modify: (object, count) => store.modify(checkObject(object), count),
    remove: (object, count) => store.remove(checkObject(object), count),
    purge: (object, count) => store.purge(checkObject(object), count),
    undelete: (object, count) => store.undelete(checkObject(object), count),
    purgeDeleteLog: (object) => store.purgeDeleteLog(checkObject(object)),
    set: (object, id, values) => store.set(checkObject(object), id, values),
    counts: () => store.counts(),
    deletedCounts: () => store.deletedCounts(),
    entityCounts: () => {
      const counts = store.counts();
      return { accounts: counts.Account, people: counts.Contact + counts.Lead, opportunities: counts.Opportunity };
    },
  };
}

/** Org ids are path- and JSON-safe names, distinct, and never {@link DEFAULT_ORG}. */
function checkOrgOptions(orgs: readonly SalesforceOrgOptions[]): readonly SalesforceOrgOptions[] {
  if (!Array.isArray(orgs)) throw new RangeError('orgs must be an array');
  const seen = new Set<string>([DEFAULT_ORG]);
  for (const org of orgs) {
    if (typeof org?.id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(org.id)) {
      throw new RangeError(`org id must be letters, digits, "-" and "_" (at most 63), got ${JSON.stringify(org?.id)}`);
    }
    if (seen.has(org.id)) throw new RangeError(`org id ${org.id} is taken (${DEFAULT_ORG} names the first org)`);
    seen.add(org.id);
  }
  if (orgs.length > 100) throw new RangeError('at most 100 additional orgs');
  return orgs;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

interface Counters {
  requests: number;
  byEndpoint: Record<string, number>;
  apiUsage: number;
  recordsReturned: number;
  bulkRecordsReturned: number;
}

/** The recorded state of an earlier run, or undefined when there is none yet. */
function readStateFile(file: string): SandboxStateFile | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SandboxStateFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the Salesforce sandbox's state ${file}: ${(error as Error).message}`);
  }
}

function freshCounters(): Counters {
  return { requests: 0, byEndpoint: {}, apiUsage: 0, recordsReturned: 0, bulkRecordsReturned: 0 };
}

function size(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

function checkObject(object: string): SObjectType {
  const type = canonicalObject(object);
  if (!type || type !== object) throw new RangeError(`unknown object ${object}; one of ${sobjectTypes.join(', ')}`);
  return type;
}

/**
 * Applies a `POST /__sandbox/failures` body, e.g.
 * `{"reset":true,"requestLimitExceeded":3,"serverError":{"times":2,"status":503},"slow":200}`.
 * Counts are non-negative integers or `"always"`; `reset` applies first.
 */
function applyFailures(failures: SalesforceSandboxFailures, body: unknown, consentAs: (id?: string) => void): void {
  const fields = parseFailureBody(body, [
    'reset',
    'expireSessions',
    'revokeGrant',
    'requestLimitExceeded',
    'serverError',
    'malformedJson',
    'slow',
    'rotateRefreshTokens',
    'consentDenied',
    'consentAs',
    'bulkJobFails',
    'bulkJobAborted',
    'bulkJobNeverCompletes',
    'bulkLocatorExpires',
    'bulkPollsToComplete',
    'revokeRefused',
  ]);
  if (fields.reset !== undefined && parseFlag('reset', fields.reset)) failures.reset();
  if (fields.expireSessions !== undefined && parseFlag('expireSessions', fields.expireSessions)) failures.expireSessions();
  if (fields.revokeGrant !== undefined && parseFlag('revokeGrant', fields.revokeGrant)) failures.revokeGrant();
  if (fields.requestLimitExceeded !== undefined) {
    failures.requestLimitExceeded(parseTimes('requestLimitExceeded', fields.requestLimitExceeded));
  }
  if (fields.serverError !== undefined) {
    const value = fields.serverError;
    if (isRecord(value)) {
      const status = value.status;
      if (status !== undefined && status !== 500 && status !== 503) throw new Error('serverError.status must be 500 or 503');
      failures.serverError(parseTimes('serverError.times', value.times), status);
    } else {
      failures.serverError(parseTimes('serverError', value));
    }
  }
  if (fields.malformedJson !== undefined) failures.malformedJson(parseTimes('malformedJson', fields.malformedJson));
  if (fields.slow !== undefined) failures.slow(parseMs('slow', fields.slow));
  if (fields.rotateRefreshTokens !== undefined) failures.rotateRefreshTokens(parseFlag('rotateRefreshTokens', fields.rotateRefreshTokens));
  if (fields.consentDenied !== undefined) failures.consentDenied(parseFlag('consentDenied', fields.consentDenied));
  for (const mode of ['bulkJobFails', 'bulkJobAborted', 'bulkJobNeverCompletes', 'bulkLocatorExpires', 'revokeRefused'] as const) {
    if (fields[mode] !== undefined) failures[mode](parseTimes(mode, fields[mode]));
  }
  if (fields.bulkPollsToComplete !== undefined) {
    if (typeof fields.bulkPollsToComplete !== 'number') throw new Error('bulkPollsToComplete must be a number of polls');
    failures.bulkPollsToComplete(fields.bulkPollsToComplete);
  }
  // Not a failure mode, but a switch of the same kind: which org the next consent logs into (null: the first).
  if (fields.consentAs !== undefined) {
    if (fields.consentAs !== null && typeof fields.consentAs !== 'string') throw new Error('consentAs must be an org id or null');
    consentAs(fields.consentAs ?? undefined);
  }
}

/**
 * Applies a `POST /__sandbox/data` body, e.g. `{"modify":{"Account":5},"remove":{"Lead":2},"add":{"Contact":3}}`,
 * `{"remove":{"Contact":4},"purge":{"Contact":3}}` (recycle bin), `{"purgeDeleteLog":["Contact"]}`
 * or `{"set":{"Account":{"<id>":{"Name":"Comma, \"Quote\" Inc."}}}}`. Sets apply first, then add,
 * modify, remove, undelete, purge and purgeDeleteLog.
 */
function applyData(data: SalesforceSandboxData, body: unknown): Record<string, Record<string, string[]>> {
  if (!isRecord(body)) throw new Error('body must be a JSON object');
  const known = ['set', 'add', 'modify', 'remove', 'undelete', 'purge', 'purgeDeleteLog'];
  const unknown = Object.keys(body).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new Error(`unknown data operation(s): ${unknown.join(', ')}; known: ${known.join(', ')}`);
  // Validate everything before changing anything (but whether a set's record exists, which set itself checks).
  const sets: Array<[SObjectType, string, Record<string, FieldValue>]> = [];
  if (body.set !== undefined) {
    if (!isRecord(body.set)) throw new Error('set must map object names to {id: {field: value}}');
    for (const [object, perId] of Object.entries(body.set)) {
      const type = checkObject(object);
      if (!isRecord(perId)) throw new Error(`set.${object} must map record ids to {field: value}`);
      for (const [id, values] of Object.entries(perId)) {
        if (!isRecord(values)) throw new Error(`set.${object}.${id} must map field names to values`);
        for (const [field, value] of Object.entries(values)) {
          if (!objectFields[type].includes(field)) throw new Error(`cannot set ${type}.${field}; settable: ${objectFields[type].join(', ')}`);
          if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
            throw new Error(`set.${object}.${id}.${field} must be a string, number, boolean or null`);
          }
        }
        sets.push([type, id, values as Record<string, FieldValue>]);
      }
    }
  }
  const plan: Array<['add' | 'modify' | 'remove' | 'undelete' | 'purge', SObjectType, number]> = [];
  for (const operation of ['add', 'modify', 'remove', 'undelete', 'purge'] as const) {
    const perObject = body[operation];
    if (perObject === undefined) continue;
    if (!isRecord(perObject)) throw new Error(`${operation} must map object names to counts`);
    for (const [object, value] of Object.entries(perObject)) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        throw new Error(`${operation}.${object} must be a non-negative integer`);
      }
      plan.push([operation, checkObject(object), value]);
    }
  }
  const logs = body.purgeDeleteLog === undefined ? [] : body.purgeDeleteLog;
  if (!Array.isArray(logs)) throw new Error('purgeDeleteLog must be an array of object names');
  const purgedLogs = logs.map((object) => checkObject(String(object)));
  const changed: Record<string, Record<string, string[]>> = {};
  for (const [object, id, values] of sets) ((changed.set ??= {})[object] ??= []).push(data.set(object, id, values));
  for (const [operation, object, value] of plan) {
    (changed[operation] ??= {})[object] = data[operation](object, value);
  }
  for (const object of purgedLogs) {
    data.purgeDeleteLog(object);
    (changed.purgeDeleteLog ??= {})[object] = [];
  }
  return changed;
}

/** Salesforce spells its JSON content type this way, control answers included. */
const JSON_TYPE = 'application/json;charset=UTF-8';

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(body), JSON_TYPE, headers);
}

function sendText(res: ServerResponse, status: number, body: string): void {
  send(res, status, body, 'text/plain;charset=UTF-8');
}

function sendHtml(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  send(res, status, body, 'text/html;charset=UTF-8', headers);
}

function sendRestError(
  res: ServerResponse,
  status: number,
  errorCode: string,
  message: string,
  headers: Record<string, string>,
): void {
  sendJson(res, status, [{ message, errorCode }], headers);
}

function errorPage(error: string, description: string): string {
  return (
    '<!DOCTYPE html><html><head><title>OAuth Error</title></head><body>' +
    `<h1>OAuth Error</h1><p>error=${escapeHtml(error)}</p><p>error_description=${escapeHtml(description)}</p>` +
    '</body></html>'
  );
}

const serviceUnavailablePage =
  '<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1>' +
  '<p>The server is temporarily unable to service your request. Please try again later.</p></body></html>';
