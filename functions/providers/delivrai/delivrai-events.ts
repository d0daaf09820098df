import type { SourceRecord } from '../types';

/**
 * One event as Delivr.ai's Events API returns it (`GET /api/v1/events`). Unclear: the
 * documentation lists the fields by category but shows no answer body; these names follow
 * its vocabulary, and every field is optional because unresolved events carry only the
 * core ones.
 */
export interface DelivrAiEvent {
  event_id?: string;
  /** Epoch milliseconds (a number, a numeric string or an ISO 8601 string are accepted). */
  timestamp?: number | string;
  event_type?: string;
  page_url?: string;
  resolved?: boolean;
  /** Delivr.ai's id of the resolved person: the same for every event of that person. */
  person_id?: string;
  first_name?: string;
  last_name?: string;
  email?: string;
  job_title?: string;
  company_name?: string;
  company_domain?: string;
  company_industry?: string;
  /** An employee-count range, e.g. `"51-200"`. */
  company_size?: string;
}

/**
 * The event fields `toSourceRecords` reads. Without a `required` one a sync cannot work:
 * no `person_id`, every resolved event fails; no `company_domain`, no account is ever made;
 * no `timestamp`, nothing says which visit is the latest. The others only fill attributes.
 * Connect checks them against Delivr.ai's `GET /api/v1/events_schema`.
 */
export const DELIVRAI_EVENT_FIELDS = {
  required: ['person_id', 'timestamp', 'company_domain'],
  optional: ['resolved', 'first_name', 'last_name', 'email', 'job_title', 'company_name', 'company_industry', 'company_size'],
} as const;

/** What one event yields: its records, or that it could not be mapped. */
export interface MappedEvent {
  records: SourceRecord[];
  /** A resolved event without a person id: counted as failed. */
  failed: boolean;
}

/**
 * Maps one event to a person and, when it names a company, that company's account:
 * - people: `sourceId` = `person_id`, Delivr.ai's stable id of the resolved person (an
 *   email can change or be missing; the pixel's cookie id names a browser, not a person);
 * - accounts: `sourceId` = the company domain, lower-cased, without scheme, `www.` or path.
 * Both carry the event's time as `modifiedAt` (and `lastSeenAt`), so the latest visit wins
 * and a re-read event (the watermark overlap) changes nothing. Events are read in time
 * order, so later pages carry later visits; the engine keeps one record per sourceId.
 * Unresolved events (no person) yield nothing and are not failures: most visitors are
 * anonymous.
 */
export function toSourceRecords(raw: unknown): MappedEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { records: [], failed: true };
  const event = raw as DelivrAiEvent;
  const personId = text(event.person_id);
  if (!personId) {
    // Resolved but unnamed is a fault in the data; unresolved is the common case.
    return { records: [], failed: event.resolved === true };
  }
  const seenAt = isoTime(event.timestamp);
  const domain = normalizeDomain(event.company_domain);
  const records: SourceRecord[] = [];
  records.push({
    type: 'people',
    sourceId: personId,
    modifiedAt: seenAt,
    attributes: compact({
      firstName: text(event.first_name),
      lastName: text(event.last_name),
      email: text(event.email)?.toLowerCase(),
      title: text(event.job_title),
      company: text(event.company_name),
      accountId: domain,
      lastSeenAt: seenAt,
    }),
  });
  if (domain) {
    records.push({
      type: 'accounts',
      sourceId: domain,
      modifiedAt: seenAt,
      attributes: compact({
        name: text(event.company_name),
        domain,
        website: `https://${domain}`,
        industry: text(event.company_industry),
        employeeRange: text(event.company_size),
        lastSeenAt: seenAt,
      }),
    });
  }
  return { records, failed: false };
}

/**
 * A company domain as an account's identity: `HTTPS://www.Acme.com/about` -> `acme.com`.
 * Undefined when nothing domain-like is left.
 */
export function normalizeDomain(value: unknown): string | undefined {
  const raw = text(value)?.toLowerCase();
  if (!raw) return undefined;
  const host = raw
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/[/?#].*$/, '')
    .replace(/:\d+$/, '')
    .replace(/^www\./, '')
    .replace(/\.$/, '');
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(host) ? host : undefined;
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Epoch ms (number or numeric string) or an ISO string, as ISO 8601; undefined when unreadable. */
function isoTime(value: unknown): string | undefined {
  let ms = NaN;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') ms = /^\d+$/.test(value.trim()) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) return undefined;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function compact(attributes: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(attributes).filter(([, value]) => value !== undefined));
}
