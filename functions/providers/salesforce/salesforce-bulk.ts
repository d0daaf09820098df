import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parse } from 'csv-parse';
import { ProviderError } from '../../core/errors';
import { DATA_PATH, PROVIDER, SalesforceRestError, type SalesforceOrg } from './salesforce-org';

/** Bulk API 2.0 query jobs of the org. */
const JOBS = `${DATA_PATH}/jobs/query`;

/** A query job's state as Salesforce reports it. */
export interface BulkJob {
  id: string;
  state: 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  errorMessage?: string;
  numberRecordsProcessed?: number;
}

/**
 * Creates a `queryAll` job (deleted rows included, so a full read sees deletions too) and
 * answers its id. Null when Salesforce refuses the job itself (an object the Bulk API does not
 * serve, the org's daily job limit): the caller reads through REST pages instead.
 */
export async function createQueryJob(org: SalesforceOrg, soql: string): Promise<string | null> {
  try {
    const job = await org.json<{ id?: string }>(JOBS, { method: 'POST', json: { operation: 'queryAll', query: soql, contentType: 'CSV', columnDelimiter: 'COMMA', lineEnding: 'LF' } });
    if (typeof job.id !== 'string') throw new ProviderError('Salesforce answered the Bulk query job request without a job id.', { provider: PROVIDER, retryable: true });
    return job.id;
  } catch (error) {
    if (refused(error)) return null;
    throw error;
  }
}

/** The job's state; null when the job is gone (deleted, or expired after 7 days). */
export async function readQueryJob(org: SalesforceOrg, jobId: string): Promise<BulkJob | null> {
  try {
    return await org.json<BulkJob>(`${JOBS}/${encodeURIComponent(jobId)}`);
  } catch (error) {
    if (refused(error)) return null;
    throw error;
  }
}

/**
 * One page of a finished job's CSV results, `maxRecords` rows at most, parsed as it streams
 * in with csv-parse (RFC 4180 quoting; an empty field is an empty string here, null to
 * Salesforce): each row goes to `onRow` as it is parsed, so neither the page's text nor a
 * second copy of its rows is kept. Answers the locator of the next page (null after the
 * last), or `expired` when the locator or the job is no longer valid.
 */
export async function readQueryResults(
  org: SalesforceOrg,
  jobId: string,
  page: { locator: string | null; maxRecords: number },
  onRow: (row: Record<string, string>) => void,
): Promise<{ nextLocator: string | null } | 'expired'> {
  const query = new URLSearchParams({ maxRecords: String(page.maxRecords), ...(page.locator && { locator: page.locator }) });
  let response: Response;
  try {
    response = await org.send(`${JOBS}/${encodeURIComponent(jobId)}/results?${query}`, { headers: { accept: 'text/csv' } });
  } catch (error) {
    if (refused(error)) return 'expired';
    throw error;
  }
  const locator = response.headers.get('sforce-locator');
  if (response.body) {
    try {
      const rows = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>).pipe(parse({ columns: true, skip_empty_lines: true }));
      for await (const row of rows) onRow(row as Record<string, string>);
    } catch (cause) {
      throw new ProviderError('Salesforce answered a Bulk results page that is not valid CSV, or broke off while sending it.', { provider: PROVIDER, retryable: true, cause });
    }
  }
  return { nextLocator: locator && locator !== 'null' ? locator : null };
}

/**
 * Aborts (when it still runs) and deletes a job and its results. Best effort: a clean-up that
 * fails must not fail the sync, and Salesforce deletes a job's results after 7 days anyway.
 */
export async function discardQueryJob(org: SalesforceOrg, jobId: string, options: { abort: boolean }): Promise<void> {
  const path = `${JOBS}/${encodeURIComponent(jobId)}`;
  const settle = (call: Promise<Response>) => call.then((response) => response.body?.cancel()).catch(() => undefined);
  if (options.abort) await settle(org.send(path, { method: 'PATCH', json: { state: 'Aborted' } }));
  await settle(org.send(path, { method: 'DELETE' }));
}

/** Salesforce refused this request as such (400 or 404: a bad locator, a job gone, a job it will not run), not the session, the allowance or its availability. */
function refused(error: unknown): boolean {
  return error instanceof SalesforceRestError && (error.status === 400 || error.status === 404);
}
