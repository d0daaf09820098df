import { ProviderError } from '../../core/errors';
import { DATA_PATH, PROVIDER, SalesforceRestError, type SalesforceOrg } from './salesforce-org';

/** `/deleted` refuses a window of a minute or less (seconds are ignored): ours are never shorter than this. */
const MIN_WINDOW_MS = 2 * 60 * 1000;

interface DeletedAnswer {
  deletedRecords?: Array<{ id?: unknown; deletedDate?: unknown }>;
  earliestDateAvailable?: string;
  latestDateCovered?: string;
}

/** What `/deleted` listed: ids and when they were deleted (ISO), and how far the answer reaches. */
export interface DeletedRecords {
  records: Array<{ id: string; deletedAt: string | undefined }>;
  /** Where the next window starts: Salesforce's `latestDateCovered` (at most `end`). */
  coveredUntil: string;
}

/**
 * `GET .../sobjects/{Object}/deleted/?start=&end=`: the object's records deleted in the window,
 * purged from the recycle bin or not. `notCovered` when Salesforce cannot answer for the whole
 * window: it starts more than 15 days ago or before the delete log's last purge
 * (INVALID_REPLICATION_DATE, or an `earliestDateAvailable` after `start`), or it holds more
 * than 600,000 ids (EXCEEDED_ID_LIMIT). Only a full read finds those deletions then.
 */
export async function readDeletedRecords(org: SalesforceOrg, object: string, window: { start: string; end: string }): Promise<DeletedRecords | 'notCovered'> {
  const endMs = Date.parse(window.end);
  const startMs = Math.min(Date.parse(window.start), endMs - MIN_WINDOW_MS);
  // The documented form, `+00:00` (encoded: a bare `+` would arrive as a space).
  const query = new URLSearchParams({ start: replicationDate(startMs), end: replicationDate(endMs) });
  let answer: DeletedAnswer;
  try {
    answer = await org.json<DeletedAnswer>(`${DATA_PATH}/sobjects/${encodeURIComponent(object)}/deleted/?${query}`);
  } catch (error) {
    if (error instanceof SalesforceRestError && (error.errorCode === 'INVALID_REPLICATION_DATE' || error.errorCode === 'EXCEEDED_ID_LIMIT')) return 'notCovered';
    throw error;
  }
  if (!Array.isArray(answer.deletedRecords)) {
    throw new ProviderError(`Salesforce answered the ${object} deleted-records request without deletedRecords.`, { provider: PROVIDER, retryable: true });
  }
  const earliest = isoOf(answer.earliestDateAvailable);
  if (earliest !== undefined && Date.parse(earliest) > startMs) return 'notCovered';
  const records: DeletedRecords['records'] = [];
  for (const entry of answer.deletedRecords) {
    if (typeof entry.id === 'string' && entry.id.length > 0) records.push({ id: entry.id, deletedAt: isoOf(entry.deletedDate) });
  }
  const covered = isoOf(answer.latestDateCovered);
  // Never past `end`: what Salesforce has not covered yet is read by the next window.
  return { records, coveredUntil: covered !== undefined && Date.parse(covered) <= endMs ? covered : new Date(endMs).toISOString() };
}

/** `2026-03-05T08:00:00+00:00`: seconds are ignored by Salesforce anyway. */
function replicationDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** A Salesforce datetime (`2026-03-05T08:00:00.000+0000`) as ISO `Z`; undefined when it is none. */
function isoOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}
