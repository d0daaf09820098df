import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  obtainSandboxTokens,
  type SalesforceSandbox,
  type SalesforceSandboxOptions,
  startSalesforceSandbox,
} from '../../../local/sandboxes/salesforce';

const API = '/services/data/v62.0';
const CONTACT_FIELDS = 'Id, SystemModstamp, IsDeleted, FirstName, LastName, Email, Title, AccountId, CreatedDate';
const started: SalesforceSandbox[] = [];
const directories: string[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((running) => running.close()));
  await Promise.all(directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
});

interface Session {
  readonly sandbox: SalesforceSandbox;
  readonly token: string;
  /** A REST call on the first org's instance URL. */
  call(method: string, path: string, body?: unknown): Promise<Response>;
}

async function start(options: SalesforceSandboxOptions = {}): Promise<Session> {
  const sandbox = await startSalesforceSandbox(options);
  started.push(sandbox);
  const { access_token: token } = await obtainSandboxTokens(sandbox);
  return {
    sandbox,
    token,
    call: (method, path, body) =>
      fetch(`${sandbox.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      }),
  };
}

interface JobInfo {
  id: string;
  operation: string;
  object: string;
  state: string;
  numberRecordsProcessed?: number;
  errorMessage?: string;
  [key: string]: unknown;
}

async function restError(response: Response): Promise<{ status: number; errorCode: string; message: string }> {
  const body = (await response.json()) as Array<{ errorCode: string; message: string }>;
  expect(body).toHaveLength(1);
  return { status: response.status, errorCode: body[0]?.errorCode ?? '', message: body[0]?.message ?? '' };
}

async function create(session: Session, query: string, operation = 'query'): Promise<JobInfo> {
  const response = await session.call('POST', `${API}/jobs/query`, { operation, query });
  expect(response.status).toBe(200);
  return (await response.json()) as JobInfo;
}

async function poll(session: Session, id: string): Promise<JobInfo> {
  const response = await session.call('GET', `${API}/jobs/query/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as JobInfo;
}

/** Polls until the job leaves UploadComplete / InProgress (at most `limit` polls). */
async function finished(session: Session, id: string, limit = 10): Promise<JobInfo> {
  for (let i = 0; i < limit; i++) {
    const info = await poll(session, id);
    if (info.state !== 'UploadComplete' && info.state !== 'InProgress') return info;
  }
  throw new Error(`job ${id} did not finish in ${limit} polls`);
}

function results(session: Session, id: string, params: Record<string, string> = {}): Promise<Response> {
  const search = new URLSearchParams(params).toString();
  return session.call('GET', `${API}/jobs/query/${id}/results${search ? `?${search}` : ''}`);
}

/** A tiny RFC 4180 reader: a quoted field is a string (quotes doubled inside), an empty unquoted field null. */
function parseCsv(text: string): Array<Array<string | null>> {
  const rows: Array<Array<string | null>> = [];
  let row: Array<string | null> = [];
  let at = 0;
  while (at < text.length) {
    let value: string | null;
    if (text[at] === '"') {
      value = '';
      at++;
      for (;;) {
        const close = text.indexOf('"', at);
        if (close < 0) throw new Error('unterminated quoted field');
        value += text.slice(at, close);
        at = close + 1;
        if (text[at] !== '"') break;
        value += '"';
        at++;
      }
    } else {
      let end = at;
      while (end < text.length && text[end] !== ',' && text[end] !== '\n') end++;
      const raw = text.slice(at, end);
      if (raw.includes('"') || raw.includes('\r')) throw new Error(`bad unquoted field ${raw}`);
      value = raw === '' ? null : raw;
      at = end;
    }
    row.push(value);
    if (text[at] === ',') {
      at++;
      if (at === text.length) throw new Error('a line may not end with a comma');
    } else if (text[at] === '\n') {
      rows.push(row);
      row = [];
      at++;
    } else if (at >= text.length) {
      throw new Error('the last line must end with LF');
    } else {
      throw new Error(`unexpected ${JSON.stringify(text[at])} at ${at}`);
    }
  }
  return rows;
}

interface Page {
  header: Array<string | null>;
  rows: Array<Array<string | null>>;
  locator: string;
  count: number;
  text: string;
}

async function page(session: Session, id: string, params: Record<string, string> = {}): Promise<Page> {
  const response = await results(session, id, params);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/csv');
  expect(response.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/\d+$/);
  const text = await response.text();
  const [header = [], ...rows] = parseCsv(text);
  const count = Number(response.headers.get('sforce-numberofrecords'));
  expect(rows).toHaveLength(count);
  return { header, rows, locator: response.headers.get('sforce-locator') ?? '', count, text };
}

/** Every page of a complete job, following Sforce-Locator to `null`. */
async function allPages(session: Session, id: string, maxRecords?: number): Promise<Page[]> {
  const pages: Page[] = [];
  let locator: string | undefined;
  for (;;) {
    const next = await page(session, id, {
      ...(maxRecords === undefined ? {} : { maxRecords: String(maxRecords) }),
      ...(locator === undefined ? {} : { locator }),
    });
    pages.push(next);
    if (next.locator === 'null') return pages;
    locator = next.locator;
  }
}

/** The REST query's records as CSV would carry them: strings, or null. */
async function restRows(session: Session, soql: string, fields: string[], all = false): Promise<Array<Array<string | null>>> {
  const rows: Array<Array<string | null>> = [];
  let next: string | undefined = `${API}/${all ? 'queryAll' : 'query'}?q=${encodeURIComponent(soql)}`;
  while (next) {
    const response = await session.call('GET', next);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { done: boolean; nextRecordsUrl?: string; records: Array<Record<string, unknown>> };
    for (const record of body.records) rows.push(fields.map((field) => (record[field] === null ? null : String(record[field]))));
    next = body.done ? undefined : body.nextRecordsUrl;
  }
  return rows;
}

describe('Salesforce sandbox: Bulk API 2.0 query job lifecycle', () => {
  it('creates a job, moves it InProgress then JobComplete, and serves CSV equal to the REST answer', async () => {
    const session = await start();
    const soql = `SELECT ${CONTACT_FIELDS} FROM Contact ORDER BY SystemModstamp`;
    const response = await session.call('POST', `${API}/jobs/query`, { operation: 'query', query: soql, contentType: 'CSV', columnDelimiter: 'COMMA', lineEnding: 'LF' });
    expect(response.status).toBe(200);
    expect(response.headers.get('sforce-limit-info')).toBe('api-usage=1/100000');
    const text = await response.text();
    expect(text).toContain('"apiVersion":62.0');
    const job = JSON.parse(text) as JobInfo;
    expect(job).toEqual({
      id: expect.stringMatching(/^750[A-Za-z0-9]{15}$/),
      operation: 'query',
      object: 'Contact',
      createdById: expect.stringMatching(/^005[A-Za-z0-9]{15}$/),
      createdDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/),
      systemModstamp: expect.stringMatching(/\+0000$/),
      state: 'UploadComplete',
      concurrencyMode: 'Parallel',
      contentType: 'CSV',
      apiVersion: 62,
      lineEnding: 'LF',
      columnDelimiter: 'COMMA',
    });

    // Results before the job is complete: 412 JOB_NOT_COMPLETE, as the Bulk API 2.0 guide shows.
    expect(await restError(await results(session, job.id))).toMatchObject({ status: 412, errorCode: 'JOB_NOT_COMPLETE' });
    const first = await poll(session, job.id);
    expect(first).toMatchObject({ id: job.id, state: 'InProgress', numberRecordsProcessed: 0, retries: 0, jobType: 'V2Query' });
    expect(first.errorMessage).toBeUndefined();
    expect(await restError(await results(session, job.id))).toMatchObject({ status: 412, errorCode: 'JOB_NOT_COMPLETE' });
    const done = await poll(session, job.id);
    expect(done).toMatchObject({ id: job.id, operation: 'query', object: 'Contact', state: 'JobComplete', numberRecordsProcessed: 1000, retries: 0 });
    expect(typeof done.totalProcessingTime).toBe('number');
    // Later polls stay complete.
    expect((await poll(session, job.id)).state).toBe('JobComplete');

    const only = await page(session, job.id);
    expect(only.locator).toBe('null');
    expect(only.count).toBe(1000);
    const fields = CONTACT_FIELDS.split(', ');
    // The header names the fields in SELECT order, quoted like every value.
    expect(only.header).toEqual(fields);
    expect(only.text.startsWith(`${fields.map((field) => `"${field}"`).join(',')}\n`)).toBe(true);
    expect(only.rows).toEqual(await restRows(session, soql, fields));
    // Nulls are empty unquoted fields; booleans and datetimes as REST shows them.
    expect(only.rows.some((row) => row[fields.indexOf('Title')] === null)).toBe(true);
    expect(only.rows.every((row) => row[fields.indexOf('IsDeleted')] === 'false')).toBe(true);
    expect(only.rows[0]?.[fields.indexOf('SystemModstamp')]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);

    expect(session.sandbox.stats()).toMatchObject({
      bulkJobsCreated: 1,
      bulkRecordsReturned: 1000,
      byEndpoint: { bulkCreate: 1, bulkPoll: 3, bulkResults: 3, query: 1 },
    });
    expect(session.sandbox.stats().recordsReturned).toBe(2000); // the REST comparison's 1000 plus the bulk page's
  });

  it('writes numbers as plain decimals and quotes commas, quotes and line breaks (RFC 4180)', async () => {
    const session = await start();
    const [account = ''] = session.sandbox.data.modify('Account', 1);
    const tricky = 'Comma, "Quoted" & Co.\nSecond line\r\nThird';
    session.sandbox.data.set('Account', account, { Name: tricky, NumberOfEmployees: 1234, AnnualRevenue: 2500000, Website: null });
    // The same through the control endpoint, on another record.
    const [other = ''] = session.sandbox.data.modify('Account', 1);
    const control = await fetch(`${session.sandbox.url}/__sandbox/data`, {
      method: 'POST',
      body: JSON.stringify({ set: { Account: { [other]: { Industry: 'Food, Beverage' } } } }),
    });
    expect(await control.json()).toMatchObject({ changed: { set: { Account: [other] } } });

    const fields = ['Id', 'Name', 'Website', 'Industry', 'NumberOfEmployees', 'AnnualRevenue', 'IsDeleted'];
    const soql = `SELECT ${fields.join(', ')} FROM Account`;
    const job = await create(session, soql);
    await finished(session, job.id);
    const { rows, text } = await page(session, job.id);
    expect(text).toContain(`"Comma, ""Quoted"" & Co.\nSecond line\r\nThird"`);
    const byId = new Map(rows.map((row) => [row[0], row]));
    const row = byId.get(account) ?? [];
    expect([row[0], row[1], row[2], row[4], row[5], row[6]]).toEqual([account, tricky, null, '1234', '2500000', 'false']);
    expect(byId.get(other)?.[3]).toBe('Food, Beverage');
    expect(rows).toEqual(await restRows(session, soql, fields));
    // The REST answer has the same values.
    const rest = (await (await session.call('GET', `${API}/query?q=${encodeURIComponent(`${soql} WHERE SystemModstamp > 2000-01-01T00:00:00Z`)}`)).json()) as {
      records: Array<Record<string, unknown>>;
    };
    expect(rest.records.find((record) => record.Id === account)).toMatchObject({ Name: tricky, NumberOfEmployees: 1234, AnnualRevenue: 2500000 });
  });

  it('pages with maxRecords and Sforce-Locator; every page has the header; locators can be read again', async () => {
    const session = await start();
    const soql = 'SELECT Id, Email FROM Contact';
    const job = await create(session, soql);
    await finished(session, job.id);
    const pages = await allPages(session, job.id, 300);
    expect(pages.map((one) => one.count)).toEqual([300, 300, 300, 100]);
    expect(pages.every((one) => one.header.join() === 'Id,Email')).toBe(true);
    expect(pages.slice(0, 3).every((one) => /^[A-Za-z0-9+/]+$/.test(one.locator))).toBe(true);
    expect(pages.flatMap((one) => one.rows)).toEqual(await restRows(session, soql, ['Id', 'Email']));
    // As long as the job exists a locator keeps naming the same rows, whatever maxRecords says now.
    const again = await page(session, job.id, { locator: pages[0]?.locator ?? '', maxRecords: '300' });
    expect(again.rows).toEqual(pages[1]?.rows);
    const bigger = await page(session, job.id, { locator: pages[0]?.locator ?? '' });
    expect(bigger.count).toBe(700);
    expect(bigger.locator).toBe('null');
  });

  it('refuses a garbage locator, the literal null and a bad maxRecords with 400', async () => {
    const session = await start();
    const job = await create(session, 'SELECT Id FROM Lead');
    await finished(session, job.id);
    for (const locator of ['garbage!', 'null', '', 'MjUw', 'MA', 'OTk5OTk5']) {
      // MjUw is 250 (the end of the 250 leads: never a locator), MA is 0, OTk5OTk5 is 999999.
      expect(await restError(await results(session, job.id, { locator }))).toMatchObject({ status: 400, errorCode: 'INVALIDLOCATOR' });
    }
    for (const maxRecords of ['0', '-5', 'ten', '1.5']) {
      expect(await restError(await results(session, job.id, { maxRecords }))).toMatchObject({ status: 400, errorCode: 'API_ERROR' });
    }
    expect((await page(session, job.id, { locator: 'MTAw' })).count).toBe(150); // MTAw is 100
  });

  it('takes the snapshot at creation: later changes do not show in its results', async () => {
    const session = await start({ bulkPollsToComplete: 0 });
    const job = await create(session, 'SELECT Id FROM Lead');
    const before = await restRows(session, 'SELECT Id FROM Lead', ['Id']);
    session.sandbox.data.add('Lead', 5);
    session.sandbox.data.remove('Lead', 3);
    const { rows } = await page(session, job.id);
    expect(rows).toEqual(before);
    expect((await poll(session, job.id)).numberRecordsProcessed).toBe(250);
  });

  it('queryAll includes deleted records (IsDeleted true); query skips them; a watermark filters both', async () => {
    const session = await start({ bulkPollsToComplete: 0 });
    session.sandbox.advanceTime(10 * 365 * 24 * 3600 * 1000);
    const removed = session.sandbox.data.remove('Lead', 4);
    const changed = session.sandbox.data.modify('Lead', 2);
    const fields = ['Id', 'IsDeleted', 'SystemModstamp'];
    const all = await page(session, (await create(session, 'SELECT Id, IsDeleted, SystemModstamp FROM Lead', 'queryAll')).id);
    const live = await page(session, (await create(session, 'SELECT Id, IsDeleted, SystemModstamp FROM Lead')).id);
    expect(all.count).toBe(250);
    expect(live.count).toBe(246);
    expect(all.rows.filter((row) => row[1] === 'true').map((row) => row[0]).sort()).toEqual([...removed].sort());
    expect(live.rows.some((row) => row[1] === 'true')).toBe(false);
    expect(all.rows).toEqual(await restRows(session, 'SELECT Id, IsDeleted, SystemModstamp FROM Lead', fields, true));
    // The incremental form: queryAll after a watermark sees exactly the changes, oldest first.
    const since = new Date(Date.now() + 9 * 365 * 24 * 3600 * 1000).toISOString();
    const increment = await create(session, `SELECT Id, IsDeleted, SystemModstamp FROM Lead WHERE SystemModstamp > ${since} ORDER BY SystemModstamp`, 'queryAll');
    const { rows } = await page(session, increment.id);
    expect(rows.map((row) => row[0])).toEqual([...removed, ...changed]);
  });

  it('counts created jobs against /limits DailyBulkV2QueryJobs', async () => {
    const session = await start();
    await create(session, 'SELECT Id FROM Account');
    await create(session, 'SELECT Id FROM Account', 'queryAll');
    const limits = (await (await session.call('GET', `${API}/limits`)).json()) as { DailyBulkV2QueryJobs: { Max: number; Remaining: number } };
    expect(limits.DailyBulkV2QueryJobs).toEqual({ Max: 10_000, Remaining: 9_998 });
  });

  it('lists the org’s jobs', async () => {
    const session = await start();
    const one = await create(session, 'SELECT Id FROM Account');
    const two = await create(session, 'SELECT Id FROM Lead', 'queryAll');
    const response = await session.call('GET', `${API}/jobs/query`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { done: boolean; records: JobInfo[]; nextRecordsUrl: null };
    expect(body.done).toBe(true);
    expect(body.nextRecordsUrl).toBeNull();
    expect(body.records.map((job) => [job.id, job.object, job.operation, job.jobType])).toEqual([
      [one.id, 'Account', 'query', 'V2Query'],
      [two.id, 'Lead', 'queryAll', 'V2Query'],
    ]);
    expect(session.sandbox.stats().byEndpoint.bulkList).toBe(1);
  });
});

describe('Salesforce sandbox: Bulk API 2.0 completion, abort and delete', () => {
  it('completes a job on the configured poll: option, code and HTTP', async () => {
    const session = await start({ bulkPollsToComplete: 0 });
    const immediate = await create(session, 'SELECT Id FROM Account');
    expect(immediate.state).toBe('UploadComplete'); // the create answer says so even then
    expect((await page(session, immediate.id)).count).toBe(340);

    session.sandbox.failures.bulkPollsToComplete(3);
    const slow = await create(session, 'SELECT Id FROM Account');
    expect([(await poll(session, slow.id)).state, (await poll(session, slow.id)).state, (await poll(session, slow.id)).state]).toEqual([
      'InProgress',
      'InProgress',
      'JobComplete',
    ]);
    const control = await fetch(`${session.sandbox.url}/__sandbox/failures`, { method: 'POST', body: JSON.stringify({ bulkPollsToComplete: 1 }) });
    expect(await control.json()).toMatchObject({ bulkPollsToComplete: 1 });
    const quick = await create(session, 'SELECT Id FROM Account');
    expect((await poll(session, quick.id)).state).toBe('JobComplete');
    // Reset puts back the sandbox's option.
    session.sandbox.failures.reset();
    expect(session.sandbox.failures.state().bulkPollsToComplete).toBe(0);
    expect(() => session.sandbox.failures.bulkPollsToComplete(-1)).toThrow(RangeError);
  });

  it('deletes only finished jobs (204); afterwards poll, results and delete answer 404', async () => {
    const session = await start();
    const job = await create(session, 'SELECT Id FROM Account');
    expect(await restError(await session.call('DELETE', `${API}/jobs/query/${job.id}`))).toEqual({
      status: 400,
      errorCode: 'API_ERROR',
      message: 'Error encountered when deleting the job because the job is not terminated',
    });
    await finished(session, job.id);
    expect(session.sandbox.bulkJobs()).toEqual([
      { org: 'default', id: job.id, object: 'Account', operation: 'query', state: 'JobComplete', numberRecordsProcessed: 340 },
    ]);
    const state = (await (await fetch(`${session.sandbox.url}/__sandbox/state`)).json()) as { orgs: Array<{ bulkJobs: unknown[] }> };
    expect(state.orgs[0]?.bulkJobs).toEqual(session.sandbox.bulkJobs());
    const deleted = await session.call('DELETE', `${API}/jobs/query/${job.id}`);
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    expect(deleted.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/100000$/);
    const gone = { status: 404, errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' };
    expect(await restError(await session.call('GET', `${API}/jobs/query/${job.id}`))).toEqual(gone);
    expect(await restError(await results(session, job.id))).toEqual(gone);
    expect(await restError(await session.call('DELETE', `${API}/jobs/query/${job.id}`))).toEqual(gone);
    expect(await restError(await session.call('GET', `${API}/jobs/query/750Dn0000000000AAA`))).toEqual(gone);
    expect(session.sandbox.bulkJobs()).toEqual([]);
    expect(session.sandbox.stats().byEndpoint).toMatchObject({ bulkDelete: 3, bulkPoll: 4, bulkResults: 1 });
  });

  it('aborts an unfinished job with PATCH {"state":"Aborted"}, and refuses to abort a finished one', async () => {
    const session = await start();
    const job = await create(session, 'SELECT Id FROM Account');
    const aborted = await session.call('PATCH', `${API}/jobs/query/${job.id}`, { state: 'Aborted' });
    expect(aborted.status).toBe(200);
    expect(await aborted.json()).toMatchObject({ id: job.id, state: 'Aborted' });
    expect((await poll(session, job.id)).state).toBe('Aborted');
    expect(await restError(await results(session, job.id))).toMatchObject({ status: 412, errorCode: 'JOB_NOT_COMPLETE' });
    expect(await restError(await session.call('PATCH', `${API}/jobs/query/${job.id}`, { state: 'Aborted' }))).toMatchObject({
      status: 400,
      errorCode: 'INVALIDJOBSTATE',
    });
    const other = await create(session, 'SELECT Id FROM Account');
    for (const body of [{ state: 'JobComplete' }, { state: 'Aborted', extra: 1 }, '[]']) {
      expect(await restError(await session.call('PATCH', `${API}/jobs/query/${other.id}`, body))).toMatchObject({ status: 400, errorCode: 'INVALIDJOBSTATE' });
    }
    expect(await restError(await session.call('PATCH', `${API}/jobs/query/${other.id}`, '{oops'))).toMatchObject({ status: 400, errorCode: 'JSON_PARSER_ERROR' });
    expect((await session.call('DELETE', `${API}/jobs/query/${job.id}`)).status).toBe(204);
    expect(session.sandbox.stats().byEndpoint.bulkAbort).toBe(6);
  });
});

describe('Salesforce sandbox: Bulk API 2.0 request checks', () => {
  it('refuses bad create requests with 400 and creates nothing', async () => {
    const session = await start();
    const cases: Array<[unknown, string]> = [
      [{ operation: 'insert', query: 'SELECT Id FROM Account' }, 'API_ERROR'],
      [{ query: 'SELECT Id FROM Account' }, 'API_ERROR'],
      [{ operation: 'query' }, 'API_ERROR'],
      [{ operation: 'query', query: 'SELECT Id FROM Account', contentType: 'JSON' }, 'API_ERROR'],
      [{ operation: 'query', query: 'SELECT Id FROM Account', columnDelimiter: 'TAB' }, 'API_ERROR'],
      [{ operation: 'query', query: 'SELECT Id FROM Account', lineEnding: 'CRLF' }, 'API_ERROR'],
      [{ operation: 'query', query: 'SELECT COUNT() FROM Account' }, 'API_ERROR'],
      [{ operation: 'query', query: 'SELECT Id FROM Account', object: 'Account' }, 'JSON_PARSER_ERROR'],
      ['{"operation":', 'JSON_PARSER_ERROR'],
      ['[]', 'JSON_PARSER_ERROR'],
      [{ operation: 'query', query: 'SELECT Id, Nope FROM Account' }, 'INVALID_FIELD'],
      [{ operation: 'query', query: 'SELECT Id FROM Widget' }, 'INVALID_TYPE'],
      [{ operation: 'queryAll', query: 'SELECT Id FROM Account WHERE Name > 2026-01-01T00:00:00Z' }, 'MALFORMED_QUERY'],
    ];
    for (const [body, errorCode] of cases) {
      expect(await restError(await session.call('POST', `${API}/jobs/query`, body))).toMatchObject({ status: 400, errorCode });
    }
    expect(session.sandbox.stats()).toMatchObject({ bulkJobsCreated: 0, byEndpoint: { bulkCreate: cases.length } });
  });

  it('needs a session, a Bulk API 2.0 version, the job’s own version for results, and the right method', async () => {
    const session = await start({ bulkPollsToComplete: 0 });
    const unauthenticated = await fetch(`${session.sandbox.url}${API}/jobs/query`, {
      method: 'POST',
      body: JSON.stringify({ operation: 'query', query: 'SELECT Id FROM Account' }),
    });
    expect(await restError(unauthenticated)).toMatchObject({ status: 401, errorCode: 'INVALID_SESSION_ID' });
    expect(await restError(await session.call('POST', '/services/data/v46.0/jobs/query', { operation: 'query', query: 'SELECT Id FROM Account' }))).toMatchObject({
      status: 404,
      errorCode: 'NOT_FOUND',
    });
    const job = await create(session, 'SELECT Id FROM Account');
    expect(await restError(await session.call('GET', `/services/data/v61.0/jobs/query/${job.id}/results`))).toMatchObject({ status: 409 });
    expect((await session.call('GET', `/services/data/v61.0/jobs/query/${job.id}`)).status).toBe(200);
    expect(await restError(await session.call('PUT', `${API}/jobs/query`, {}))).toMatchObject({ status: 405, errorCode: 'METHOD_NOT_ALLOWED' });
    expect(await restError(await session.call('POST', `${API}/jobs/query/${job.id}`, {}))).toMatchObject({ status: 405, errorCode: 'METHOD_NOT_ALLOWED' });
    expect(await restError(await session.call('POST', `${API}/jobs/query/${job.id}/results`, {}))).toMatchObject({ status: 405 });
    expect(await restError(await session.call('GET', `${API}/jobs/query/${job.id}/results/more`))).toMatchObject({ status: 404 });
    expect(session.sandbox.stats().byEndpoint).toMatchObject({ bulkJobs: 1, bulkJob: 1 });
  });

  it('keeps jobs per org: another org’s job id is unknown here', async () => {
    const session = await start({ orgs: [{ id: 'org-b' }] });
    const job = await create(session, 'SELECT Id FROM Account');
    session.sandbox.consentAs('org-b');
    const { access_token } = await obtainSandboxTokens(session.sandbox);
    const response = await fetch(`${session.sandbox.org('org-b').instanceUrl}${API}/jobs/query/${job.id}`, {
      headers: { Authorization: `Bearer ${access_token}` },
    });
    expect(await restError(response)).toMatchObject({ status: 404, errorCode: 'NOT_FOUND' });
    expect(session.sandbox.bulkJobs().map((one) => [one.org, one.id])).toEqual([['default', job.id]]);
    expect(session.sandbox.org('org-b').bulkJobs()).toEqual([]);
  });
});

describe('Salesforce sandbox: Bulk API 2.0 failure modes', () => {
  it('bulkJobFails(n): the next n jobs end Failed with an errorMessage on the poll that would complete them', async () => {
    const session = await start();
    session.sandbox.failures.bulkJobFails(1);
    const failing = await create(session, 'SELECT Id FROM Account');
    const healthy = await create(session, 'SELECT Id FROM Account');
    expect((await poll(session, failing.id)).state).toBe('InProgress');
    const failed = await poll(session, failing.id);
    expect(failed).toMatchObject({ state: 'Failed', numberRecordsProcessed: 0 });
    expect(failed.errorMessage).toMatch(/^InternalServerError/);
    expect(await restError(await results(session, failing.id))).toMatchObject({ status: 412, errorCode: 'JOB_NOT_COMPLETE' });
    expect((await finished(session, healthy.id)).state).toBe('JobComplete');
    expect((await session.call('DELETE', `${API}/jobs/query/${failing.id}`)).status).toBe(204);
    expect(session.sandbox.failures.state().bulkJobFails).toBe(0);
  });

  it('bulkJobAborted(n): the next n jobs end Aborted', async () => {
    const session = await start();
    session.sandbox.failures.bulkJobAborted(2);
    const jobs = [await create(session, 'SELECT Id FROM Lead'), await create(session, 'SELECT Id FROM Lead'), await create(session, 'SELECT Id FROM Lead')];
    const ends = [];
    for (const job of jobs) ends.push((await finished(session, job.id)).state);
    expect(ends).toEqual(['Aborted', 'Aborted', 'JobComplete']);
    expect((await poll(session, jobs[0]?.id ?? '')).errorMessage).toEqual(expect.any(String));
  });

  it('bulkJobNeverCompletes(n): the job stays InProgress until aborted; only then can it be deleted', async () => {
    const session = await start();
    session.sandbox.failures.bulkJobNeverCompletes(1);
    const stuck = await create(session, 'SELECT Id FROM Lead');
    for (let i = 0; i < 6; i++) expect((await poll(session, stuck.id)).state).toBe('InProgress');
    expect((await session.call('DELETE', `${API}/jobs/query/${stuck.id}`)).status).toBe(400);
    expect((await session.call('PATCH', `${API}/jobs/query/${stuck.id}`, { state: 'Aborted' })).status).toBe(200);
    expect((await session.call('DELETE', `${API}/jobs/query/${stuck.id}`)).status).toBe(204);
    // The next job is healthy again.
    expect((await finished(session, (await create(session, 'SELECT Id FROM Lead')).id)).state).toBe('JobComplete');
  });

  it('bulkLocatorExpires(n): the next n results requests with a locator answer 400 INVALIDLOCATOR', async () => {
    const session = await start({ bulkPollsToComplete: 0 });
    const job = await create(session, 'SELECT Id FROM Contact');
    session.sandbox.failures.bulkLocatorExpires(1);
    // A first page (no locator) is not affected.
    const first = await page(session, job.id, { maxRecords: '400' });
    expect(await restError(await results(session, job.id, { maxRecords: '400', locator: first.locator }))).toMatchObject({
      status: 400,
      errorCode: 'INVALIDLOCATOR',
    });
    const second = await page(session, job.id, { maxRecords: '400', locator: first.locator });
    expect(second.count).toBe(400);
  });

  it('is switched over HTTP, shown in the state and cleared by reset', async () => {
    const session = await start();
    const post = async (body: unknown) =>
      fetch(`${session.sandbox.url}/__sandbox/failures`, { method: 'POST', body: JSON.stringify(body) }).then(async (response) => ({
        status: response.status,
        body: (await response.json()) as Record<string, unknown>,
      }));
    const switched = await post({ bulkJobFails: 1, bulkJobAborted: 'always', bulkJobNeverCompletes: 2, bulkLocatorExpires: 3 });
    expect(switched).toEqual({
      status: 200,
      body: expect.objectContaining({ bulkJobFails: 1, bulkJobAborted: 'always', bulkJobNeverCompletes: 2, bulkLocatorExpires: 3, bulkPollsToComplete: 2 }),
    });
    expect((await post({ bulkJobFails: -1 })).status).toBe(400);
    expect((await post({ bulkPollsToComplete: 'soon' })).status).toBe(400);
    expect((await post({ reset: true })).body).toMatchObject({ bulkJobFails: 0, bulkJobAborted: 0, bulkJobNeverCompletes: 0, bulkLocatorExpires: 0 });
  });

  it('applies the existing failure modes to bulk calls too', async () => {
    const session = await start({ bulkPollsToComplete: 0 });
    session.sandbox.failures.serverError(1, 503);
    expect((await session.call('POST', `${API}/jobs/query`, { operation: 'query', query: 'SELECT Id FROM Account' })).status).toBe(503);
    const job = await create(session, 'SELECT Id FROM Account');
    session.sandbox.failures.requestLimitExceeded(1);
    expect(await restError(await session.call('GET', `${API}/jobs/query/${job.id}`))).toMatchObject({ status: 403, errorCode: 'REQUEST_LIMIT_EXCEEDED' });
    session.sandbox.failures.malformedJson(1);
    const broken = await session.call('GET', `${API}/jobs/query/${job.id}`);
    expect(broken.status).toBe(200);
    const brokenText = await broken.text();
    expect(() => JSON.parse(brokenText) as unknown).toThrow();
    session.sandbox.failures.expireSessions();
    expect(await restError(await results(session, job.id))).toMatchObject({ status: 401, errorCode: 'INVALID_SESSION_ID' });
  });
});

describe('Salesforce sandbox: Bulk API 2.0 persistence and size', () => {
  it('finds its open jobs again after a restart on the same state file', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'sf-bulk-'));
    directories.push(directory);
    const stateFile = join(directory, 'salesforce.json');
    const session = await start({ stateFile });
    const job = await create(session, 'SELECT Id, Email FROM Contact', 'queryAll');
    expect((await poll(session, job.id)).state).toBe('InProgress');
    const deleted = await create(session, 'SELECT Id FROM Account');
    await finished(session, deleted.id);
    expect((await session.call('DELETE', `${API}/jobs/query/${deleted.id}`)).status).toBe(204);
    await session.sandbox.close();
    started.splice(started.indexOf(session.sandbox), 1);
    // Let the client see its keep-alive sockets to the old server close before it reuses one.
    await new Promise((resolve) => setTimeout(resolve, 50));

    const restarted = await startSalesforceSandbox({ stateFile, port: Number(new URL(session.sandbox.url).port) });
    started.push(restarted);
    const again: Session = { ...session, sandbox: restarted };
    expect((await poll(again, job.id)).state).toBe('JobComplete');
    const pages = await allPages(again, job.id, 400);
    expect(pages.flatMap((one) => one.rows)).toEqual(await restRows(again, 'SELECT Id, Email FROM Contact', ['Id', 'Email'], true));
    expect((await again.call('GET', `${API}/jobs/query/${deleted.id}`)).status).toBe(404);
    // New jobs get new ids.
    expect((await create(again, 'SELECT Id FROM Account')).id).not.toBe(job.id);
  });

  it('serves a large job in pages without holding it as one string', async () => {
    const session = await start({ people: 60_000, bulkPollsToComplete: 0 });
    const job = await create(session, 'SELECT Id, SystemModstamp, IsDeleted, FirstName, LastName, Email, Title, AccountId FROM Contact');
    const pages = await allPages(session, job.id, 20_000);
    expect(pages.map((one) => one.count)).toEqual([20_000, 20_000, 8_000]);
    const ids = pages.flatMap((one) => one.rows.map((row) => row[0]));
    expect(new Set(ids).size).toBe(48_000);
    // Without maxRecords: everything left, up to the sandbox's cap.
    expect((await page(session, job.id)).count).toBe(48_000);
    expect(session.sandbox.stats().bulkRecordsReturned).toBe(96_000);
  });
});
