/**
 * Bulk API 2.0 query jobs of one org (`/services/data/vXX.X/jobs/query`): create, poll,
 * results as CSV pages behind opaque locators, abort and delete.
 *
 * A job is a snapshot taken at creation: it holds the store's record array of that moment
 * (arrays are never changed in place, see data.ts) and the range the query matches, never a
 * copy of the records or their CSV. Pages are rendered when asked for.
 *
 * Wire details from Salesforce's Bulk API 2.0 guide: the create answer says `UploadComplete`;
 * results need `JobComplete` (else 412 JOB_NOT_COMPLETE) and the version the job was created
 * with (else 409); every CSV value is quoted and a null is an empty field; `Sforce-Locator` is
 * an opaque base64 string, or the literal `null` after the last page; only finished jobs can
 * be deleted (else 400 API_ERROR); only unfinished ones aborted.
 */
import type { SalesforceDataStore, StoredRecord } from './data';
import { DEFAULT_INSTANCE, keyPrefix, salesforceId } from './ids';
import { fieldValue, matching, RestError } from './rest';
import { formatDateTime, type SObjectType } from './schema';
import { parseSoql, type SoqlOptions } from './soql';

/** Bulk API 2.0 query jobs exist from this REST version on. */
export const BULK_MIN_VERSION = 47;
/** Salesforce's daily allowance of Bulk API 2.0 query jobs (`/limits` DailyBulkV2QueryJobs). */
export const DAILY_BULK_QUERY_JOBS = 10_000;
/** Salesforce keeps a job and its results this long. */
export const JOB_RETENTION_MS = 7 * 24 * 3600 * 1000;
/** Jobs kept per org; creating one more forgets the oldest (as if its 7 days were up). */
export const MAX_JOBS_PER_ORG = 1000;
/**
 * Rows per results page when `maxRecords` is absent or larger. Unclear in the documentation
 * (its default "depends on the service" and every page is "subject to the size limits"); a
 * cap below the bench's million records makes a client that omits maxRecords follow the
 * locator all the same.
 */
export const MAX_RESULTS_PAGE = 100_000;

export type BulkJobState = 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
/** How a job ends, decided at creation by the failure modes. */
export type BulkJobOutcome = 'complete' | 'fail' | 'abort' | 'never';

/** What a job is, without its records: what the state file keeps. */
interface JobRecord {
  readonly id: string;
  readonly operation: 'query' | 'queryAll';
  readonly object: SObjectType;
  readonly query: string;
  readonly fields: readonly string[];
  /** The REST version the job was created with (62 for v62.0). */
  readonly apiVersion: number;
  readonly createdById: string;
  readonly createdDate: number;
  systemModstamp: number;
  state: BulkJobState;
  polls: number;
  readonly pollsToComplete: number;
  readonly outcome: BulkJobOutcome;
  numberRecordsProcessed: number;
  totalProcessingTime: number;
  errorMessage?: string;
}

interface Job extends JobRecord {
  /** The store's array when the job was created, and the range of it the query matched. */
  readonly records: readonly StoredRecord[];
  readonly start: number;
  readonly end: number;
}

/** Open jobs as JSON, so a restarted sandbox still serves them. */
export interface BulkSnapshot {
  readonly jobs: readonly JobRecord[];
  readonly nextJob: number;
  readonly jobsCreated: number;
}

/** One results page, for the HTTP layer to write out. */
export interface ResultsPage {
  /** The CSV header row, LF included. */
  readonly header: string;
  readonly fields: readonly string[];
  readonly records: readonly StoredRecord[];
  readonly from: number;
  readonly to: number;
  /** `Sforce-Locator`: the next page, or `null`. */
  readonly locator: string;
}

const CREATE_FIELDS = ['operation', 'query', 'contentType', 'columnDelimiter', 'lineEnding'];
const FAILED_MESSAGE =
  'InternalServerError : Failed to process query: UNKNOWN_EXCEPTION: An unexpected error occurred. Please include this ErrorId if you contact support: 1029384756-41235 (-1928374650)';
const ABORTED_MESSAGE = 'Job aborted by a user with the Manage Data Integrations permission';

/** The query jobs of one org. */
export class BulkQueryService {
  private readonly jobs = new Map<string, Job>();
  private nextJob = 6_000_001;
  /** Jobs created since start or the last resetStats, for `/limits`. */
  jobsCreated = 0;

  constructor(
    private readonly store: SalesforceDataStore,
    private readonly now: () => number,
    /** The org's instance part of job ids (see ids.ts). */
    private readonly instance: string = DEFAULT_INSTANCE,
    /** What the org's user may read (field-level security): a job naming a hidden field is refused at creation. */
    private readonly soql: SoqlOptions = {},
  ) {}

  /**
   * `POST .../jobs/query`. `body` is the request text; `outcome` is asked only once the
   * request is valid, so a refused request uses up no failure mode.
   */
  create(
    version: number,
    body: string,
    createdById: string,
    pollsToComplete: number,
    outcome: () => BulkJobOutcome,
  ): Record<string, unknown> {
    const request = parseCreateBody(body);
    const operation = request.operation;
    if (operation !== 'query' && operation !== 'queryAll') {
      throw new RestError(400, 'API_ERROR', `Invalid operation: ${String(operation)}; a query job's operation is query or queryAll`);
    }
    if (typeof request.query !== 'string' || request.query.trim() === '') {
      throw new RestError(400, 'API_ERROR', 'A query job needs a query');
    }
    // The sandbox writes CSV with commas and LF only; Salesforce offers other delimiters and CRLF.
    for (const [field, only] of [['contentType', 'CSV'], ['columnDelimiter', 'COMMA'], ['lineEnding', 'LF']] as const) {
      const value = request[field];
      if (value !== undefined && value !== only) {
        throw new RestError(400, 'API_ERROR', `${field} ${JSON.stringify(value)} is not supported by the sandbox; use ${only}`);
      }
    }
    // Bad SOQL answers as over REST (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE), thrown from here.
    const parsed = parseSoql(request.query, this.soql);
    if (parsed.count) {
      throw new RestError(400, 'API_ERROR', 'Aggregate Functions such as COUNT() are not supported by Bulk API 2.0 query jobs');
    }
    const { records, start, end } = matching(this.store, parsed, operation === 'queryAll');
    const now = this.now();
    const job: Job = {
      id: salesforceId(keyPrefix.QueryJob, this.nextJob++, this.instance),
      operation,
      object: parsed.type,
      query: request.query,
      fields: parsed.fields,
      apiVersion: version,
      createdById,
      createdDate: now,
      systemModstamp: now,
      state: 'UploadComplete',
      polls: 0,
      pollsToComplete,
      outcome: outcome(),
      numberRecordsProcessed: 0,
      totalProcessingTime: 0,
      records,
      start,
      end,
    };
    this.forgetExpired();
    while (this.jobs.size >= MAX_JOBS_PER_ORG) {
      const oldest = this.jobs.keys().next().value as string;
      this.jobs.delete(oldest);
    }
    this.jobs.set(job.id, job);
    this.jobsCreated++;
    const answer = createInfo(job);
    // Finished before anyone polls; the create answer still says UploadComplete, as Salesforce's does.
    if (pollsToComplete === 0) this.finish(job);
    return answer;
  }

  /** `GET .../jobs/query/{id}`: each poll moves the job on (UploadComplete, InProgress, then its end). */
  poll(id: string): Record<string, unknown> {
    const job = this.job(id);
    if (job.state === 'UploadComplete' || job.state === 'InProgress') {
      job.polls++;
      if (job.polls >= job.pollsToComplete) this.finish(job);
      else this.moveTo(job, 'InProgress');
    }
    return jobInfo(job);
  }

  /** `PATCH .../jobs/query/{id}` with `{"state":"Aborted"}`. */
  abort(id: string, body: string): Record<string, unknown> {
    const job = this.job(id);
    let request: unknown;
    try {
      request = JSON.parse(body);
    } catch {
      throw new RestError(400, 'JSON_PARSER_ERROR', 'The request body is not valid JSON');
    }
    if (!isObject(request) || request.state !== 'Aborted' || Object.keys(request).length !== 1) {
      throw new RestError(400, 'INVALIDJOBSTATE', 'A query job can only be changed with {"state":"Aborted"}');
    }
    if (job.state !== 'UploadComplete' && job.state !== 'InProgress') {
      throw new RestError(400, 'INVALIDJOBSTATE', `Aborting a job in state ${job.state} is not allowed`);
    }
    this.moveTo(job, 'Aborted');
    return jobInfo(job);
  }

  /** `DELETE .../jobs/query/{id}`: only a finished job (JobComplete, Failed, Aborted). */
  remove(id: string): void {
    const job = this.job(id);
    if (job.state === 'UploadComplete' || job.state === 'InProgress') {
      throw new RestError(400, 'API_ERROR', 'Error encountered when deleting the job because the job is not terminated');
    }
    this.jobs.delete(id);
  }

  /** `GET .../jobs/query`: every job of the org, in one page. */
  list(): Record<string, unknown> {
    this.forgetExpired();
    return { done: true, records: [...this.jobs.values()].map(listInfo), nextRecordsUrl: null };
  }

  /**
   * `GET .../jobs/query/{id}/results?maxRecords=&locator=`. `locatorExpires` is asked only
   * for a request with a locator to a complete job, and says whether the failure mode expires it.
   */
  results(id: string, version: number, params: URLSearchParams, locatorExpires: () => boolean): ResultsPage {
    const job = this.job(id);
    if (version !== job.apiVersion) {
      throw new RestError(409, 'API_ERROR', `Use the API version the job was created with (v${job.apiVersion}.0) to get its results`);
    }
    if (job.state !== 'JobComplete') {
      throw new RestError(
        412,
        'JOB_NOT_COMPLETE',
        `can only download query results of successfully completed bulk job with status: JOB_COMPLETE. Current status: ${statusName(job.state)}`,
      );
    }
    const maxParam = params.get('maxRecords');
    let max = MAX_RESULTS_PAGE;
    if (maxParam !== null) {
      if (!/^[1-9]\d{0,9}$/.test(maxParam)) throw new RestError(400, 'API_ERROR', `maxRecords must be a positive integer, got '${maxParam}'`);
      max = Math.min(MAX_RESULTS_PAGE, Number(maxParam));
    }
    const total = job.end - job.start;
    const locator = params.get('locator');
    let offset = 0;
    if (locator !== null) {
      if (locatorExpires()) throw invalidLocator(locator);
      const decoded = decodeLocator(locator);
      // A locator points inside the results; the last page's "next" is `null`, never an offset.
      if (decoded === undefined || decoded >= total) throw invalidLocator(locator);
      offset = decoded;
    }
    const from = job.start + offset;
    const to = Math.min(job.end, from + max);
    return {
      header: `${job.fields.map(quote).join(',')}\n`,
      fields: job.fields,
      records: job.records,
      from,
      to,
      locator: to < job.end ? encodeLocator(to - job.start) : 'null',
    };
  }

  /** The open jobs without their records (those come back from the data store). */
  snapshot(): BulkSnapshot {
    return {
      jobs: [...this.jobs.values()].map(({ records: _records, start: _start, end: _end, ...job }) => job),
      nextJob: this.nextJob,
      jobsCreated: this.jobsCreated,
    };
  }

  /**
   * Reopens recorded jobs by running their queries again on the store: the same records as
   * at creation as long as the data set was generated from the same seed and sizes and not
   * changed since (the store's mutations do not survive a restart either).
   */
  restore(snapshot: BulkSnapshot | undefined): void {
    if (!snapshot) return;
    for (const saved of snapshot.jobs) {
      let parsed;
      try {
        parsed = parseSoql(saved.query);
      } catch {
        continue; // A query this sandbox no longer reads: the job is gone, as after its 7 days.
      }
      this.jobs.set(saved.id, { ...saved, ...matching(this.store, parsed, saved.operation === 'queryAll') });
    }
    this.nextJob = snapshot.nextJob;
    this.jobsCreated = snapshot.jobsCreated;
  }

  private job(id: string): Job {
    this.forgetExpired();
    const job = this.jobs.get(id);
    if (!job) throw new RestError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return job;
  }

  private finish(job: Job): void {
    switch (job.outcome) {
      case 'complete':
        job.numberRecordsProcessed = job.end - job.start;
        this.moveTo(job, 'JobComplete');
        return;
      case 'fail':
        job.errorMessage = FAILED_MESSAGE;
        this.moveTo(job, 'Failed');
        return;
      case 'abort':
        job.errorMessage = ABORTED_MESSAGE;
        this.moveTo(job, 'Aborted');
        return;
      case 'never':
        this.moveTo(job, 'InProgress');
        return;
    }
  }

  private moveTo(job: Job, state: BulkJobState): void {
    if (job.state === state) return;
    job.state = state;
    job.systemModstamp = this.now();
    if (state === 'JobComplete' || state === 'Failed' || state === 'Aborted') {
      job.totalProcessingTime = Math.max(0, job.systemModstamp - job.createdDate);
    }
  }

  private forgetExpired(): void {
    const now = this.now();
    for (const [id, job] of this.jobs) {
      if (now - job.createdDate <= JOB_RETENTION_MS) break; // Map order is creation order.
      this.jobs.delete(id);
    }
  }
}

/**
 * Writes rows `from..to` of `page` as CSV, a chunk at a time, through `write` (which may wait
 * for the socket to drain); stops early when `write` answers false (the client is gone).
 */
export async function writeCsvRows(page: ResultsPage, write: (chunk: string) => Promise<boolean>): Promise<void> {
  const CHUNK_ROWS = 1000;
  const { fields, records } = page;
  for (let from = page.from; from < page.to; from += CHUNK_ROWS) {
    const to = Math.min(page.to, from + CHUNK_ROWS);
    const lines = new Array<string>(to - from);
    for (let i = from; i < to; i++) lines[i - from] = csvRow(records[i] as StoredRecord, fields);
    if (!(await write(lines.join('')))) return;
  }
}

/** One CSV line (LF included): every value quoted, a null an empty field. */
export function csvRow(record: StoredRecord, fields: readonly string[]): string {
  let line = '';
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) line += ',';
    const value = fieldValue(record, fields[i] as string);
    if (value !== null) line += quote(typeof value === 'string' ? value : String(value));
  }
  return `${line}\n`;
}

/**
 * A job's JSON as Salesforce writes it: `apiVersion` as a decimal (`62.0`), which
 * JSON.stringify cannot spell. Inside string values a quote is escaped, so the pattern only
 * meets the key itself.
 */
export function bulkJsonText(body: unknown): string {
  return JSON.stringify(body).replace(/"apiVersion":(\d+)(?=[,}])/g, '"apiVersion":$1.0');
}

function quote(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

/** Sforce-Locator: base64 of the row offset without padding, like Salesforce's `MTAwMDA` (10000). */
function encodeLocator(offset: number): string {
  return Buffer.from(String(offset), 'utf8').toString('base64').replace(/=+$/, '');
}

function decodeLocator(locator: string): number | undefined {
  if (!/^[A-Za-z0-9+/]{1,24}$/.test(locator)) return undefined;
  const text = Buffer.from(locator, 'base64').toString('utf8');
  if (!/^[1-9]\d{0,14}$/.test(text) || encodeLocator(Number(text)) !== locator) return undefined;
  return Number(text);
}

/**
 * Unclear in the documentation: the code of a bad or expired locator. Bulk API 2.0 spells
 * its codes as upper-case words (INVALIDJOB, INVALIDJOBSTATE), so the sandbox says
 * INVALIDLOCATOR; an adapter should treat any 400 on a page with a locator as "start the job
 * again", not match the code.
 */
function invalidLocator(locator: string): RestError {
  return new RestError(400, 'INVALIDLOCATOR', `Invalid locator: ${locator.slice(0, 40)}`);
}

function statusName(state: BulkJobState): string {
  return state.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

function createInfo(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: formatDateTime(job.createdDate),
    systemModstamp: formatDateTime(job.systemModstamp),
    state: job.state,
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
    lineEnding: 'LF',
    columnDelimiter: 'COMMA',
  };
}

function listInfo(job: Job): Record<string, unknown> {
  const { lineEnding, columnDelimiter, ...rest } = createInfo(job);
  return { ...rest, jobType: 'V2Query', lineEnding, columnDelimiter };
}

function jobInfo(job: Job): Record<string, unknown> {
  return {
    ...listInfo(job),
    numberRecordsProcessed: job.numberRecordsProcessed,
    retries: 0,
    totalProcessingTime: job.totalProcessingTime,
    ...(job.errorMessage !== undefined && { errorMessage: job.errorMessage }),
  };
}

function parseCreateBody(body: string): Record<string, unknown> {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch {
    throw new RestError(400, 'JSON_PARSER_ERROR', 'The request body is not valid JSON');
  }
  if (!isObject(request)) throw new RestError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
  // Salesforce's JSON reader refuses fields it does not know rather than ignoring them.
  for (const key of Object.keys(request)) {
    if (!CREATE_FIELDS.includes(key)) throw new RestError(400, 'JSON_PARSER_ERROR', `Unrecognized field "${key}"`);
  }
  return request;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
