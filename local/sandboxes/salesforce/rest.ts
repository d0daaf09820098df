/**
 * The REST query resource: `query`, `queryAll` and their `nextRecordsUrl` pages, over the
 * sorted record arrays of the data store. A first page costs a binary search plus the
 * page; a later page costs the page only.
 */
import type { SalesforceDataStore, StoredRecord } from './data';
import { DEFAULT_INSTANCE, keyPrefix, salesforceId } from './ids';
import { type FieldValue, formatDateTime, type SObjectType } from './schema';
import { parseSoql, type SoqlOptions, type SoqlQuery } from './soql';

/** Salesforce's page-size bounds for `Sforce-Query-Options: batchSize=N`. */
export const MIN_BATCH_SIZE = 200;
export const MAX_BATCH_SIZE = 2000;
/** A query locator dies after this long without use (Salesforce: 15 minutes of inactivity). */
export const CURSOR_IDLE_MS = 15 * 60 * 1000;
/** Open query locators per grant; opening one more releases the least recently used. */
export const MAX_OPEN_CURSORS = 10;

/** A REST error in Salesforce's array form. */
export class RestError extends Error {
  override readonly name = 'RestError';
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** One page of a query answer. */
export interface QueryPage {
  readonly totalSize: number;
  readonly done: boolean;
  readonly nextRecordsUrl?: string;
  readonly records: Array<Record<string, unknown>>;
}

interface Cursor {
  readonly locator: string;
  readonly grantId: number;
  readonly type: SObjectType;
  readonly fields: readonly string[];
  /** queryAll (deleted records included) rather than query. */
  readonly includeDeleted: boolean;
  /** The snapshot the query ran on: arrays are never changed in place. */
  readonly records: readonly StoredRecord[];
  readonly start: number;
  readonly end: number;
  readonly batchSize: number;
  lastUsed: number;
}

/** Open query locators as JSON, so a restarted sandbox still serves their next pages. */
export interface QuerySnapshot {
  readonly cursors: ReadonlyArray<Omit<Cursor, 'records'>>;
  readonly nextLocator: number;
}

/** Runs queries and keeps their locators (cursors) for the next pages. */
export class QueryService {
  private readonly cursors = new Map<string, Cursor>();
  private nextLocator = 4_000_001;

  constructor(
    private readonly store: SalesforceDataStore,
    private readonly now: () => number,
    /** The org's instance part of locator ids (see ids.ts). */
    private readonly instance: string = DEFAULT_INSTANCE,
    /** What the org's user may read (field-level security). */
    private readonly soql: SoqlOptions = {},
  ) {}

  /** The open locators without their records (those come back from the data store). */
  snapshot(): QuerySnapshot {
    return { cursors: [...this.cursors.values()].map(({ records: _records, ...cursor }) => cursor), nextLocator: this.nextLocator };
  }

  /**
   * Reopens recorded locators over the store's current records: the same records as when
   * they were opened, as long as the data set was generated from the same seed and sizes
   * and not changed since.
   */
  restore(snapshot: QuerySnapshot): void {
    for (const cursor of snapshot.cursors) {
      this.cursors.set(cursor.locator, { ...cursor, records: this.store.records(cursor.type, cursor.includeDeleted) });
    }
    this.nextLocator = snapshot.nextLocator;
  }

  /** `GET .../query?q=` (includeDeleted false) or `.../queryAll?q=` (true); `SELECT COUNT()` answers the size without records. */
  query(version: string, soql: string, includeDeleted: boolean, batchSize: number, grantId: number): QueryPage {
    const parsed = parseSoql(soql, this.soql);
    const { records, start, end } = matching(this.store, parsed, includeDeleted);
    // `SELECT COUNT()`: the size alone, in one answer whatever the size.
    if (parsed.count) return { totalSize: end - start, done: true, records: [] };
    if (end - start <= batchSize) {
      return { totalSize: end - start, done: true, records: render(version, parsed.type, parsed.fields, records, start, end) };
    }
    const cursor: Cursor = {
      locator: salesforceId(keyPrefix.QueryLocator, this.nextLocator++, this.instance),
      grantId,
      type: parsed.type,
      fields: parsed.fields,
      includeDeleted,
      records,
      start,
      end,
      batchSize,
      lastUsed: this.now(),
    };
    this.open(cursor);
    return this.page(version, cursor, 0, batchSize);
  }

  /** `GET .../query/<locator>-<offset>`: a later page of an open query. */
  more(version: string, locator: string, offset: number, batchSize: number | undefined, grantId: number): QueryPage {
    const cursor = this.cursors.get(locator);
    if (!cursor || cursor.grantId !== grantId || this.now() - cursor.lastUsed > CURSOR_IDLE_MS) {
      if (cursor && cursor.grantId === grantId) this.cursors.delete(locator);
      throw new RestError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    }
    if (offset > cursor.end - cursor.start) throw new RestError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    cursor.lastUsed = this.now();
    // Re-insert so Map order is least-recently-used first.
    this.cursors.delete(locator);
    this.cursors.set(locator, cursor);
    return this.page(version, cursor, offset, batchSize ?? cursor.batchSize);
  }

  private page(version: string, cursor: Cursor, offset: number, batchSize: number): QueryPage {
    const total = cursor.end - cursor.start;
    const from = cursor.start + offset;
    const to = Math.min(cursor.end, from + batchSize);
    const records = render(version, cursor.type, cursor.fields, cursor.records, from, to);
    if (to >= cursor.end) return { totalSize: total, done: true, records };
    // Unclear whether queryAll's next-page URL says /query/ or /queryAll/; PROVIDERS.md
    // shows /query/, so the sandbox emits that and accepts both. Adapters must follow
    // nextRecordsUrl verbatim rather than build it.
    return {
      totalSize: total,
      done: false,
      nextRecordsUrl: `/services/data/${version}/query/${cursor.locator}-${to - cursor.start}`,
      records,
    };
  }

  /**
   * Opens a cursor. Unclear whether Salesforce frees a locator once its last page is read;
   * the sandbox keeps it until it idles out or is displaced, so a retried last page still
   * works. Salesforce counts open locators per user; the sandbox counts them per grant,
   * since every tenant of the local stack shares the sandbox's one org.
   */
  private open(cursor: Cursor): void {
    const now = this.now();
    const mine: Cursor[] = [];
    for (const existing of this.cursors.values()) {
      if (now - existing.lastUsed > CURSOR_IDLE_MS) this.cursors.delete(existing.locator);
      else if (existing.grantId === cursor.grantId) mine.push(existing);
    }
    for (const stale of mine.slice(0, Math.max(0, mine.length - MAX_OPEN_CURSORS + 1))) {
      this.cursors.delete(stale.locator);
    }
    this.cursors.set(cursor.locator, cursor);
  }
}

/** Reads `Sforce-Query-Options: batchSize=N`, clamped to 200..2000 (a hint, as in Salesforce). */
export function batchSizeFromHeader(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  const match = /(?:^|[,;\s])batchSize\s*=\s*(\d+)/i.exec(value ?? '');
  if (!match) return undefined;
  return Math.min(MAX_BATCH_SIZE, Math.max(MIN_BATCH_SIZE, Number(match[1])));
}

/**
 * The records a parsed query matches, as a range of the store's current (never changed in
 * place) array: `records[start..end)` in SystemModstamp order. Holding the array keeps the
 * snapshot the query ran on.
 */
export function matching(
  store: SalesforceDataStore,
  parsed: SoqlQuery,
  includeDeleted: boolean,
): { records: readonly StoredRecord[]; start: number; end: number } {
  const records = store.records(parsed.type, includeDeleted);
  const start = parsed.since ? firstAfter(records, parsed.since.ms, parsed.since.inclusive) : 0;
  const end = parsed.limit === undefined ? records.length : Math.min(records.length, start + parsed.limit);
  return { records, start, end };
}

/** Index of the first record whose SystemModstamp is after `ms` (or at it, when inclusive). */
function firstAfter(records: readonly StoredRecord[], ms: number, inclusive: boolean): number {
  let low = 0;
  let high = records.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const stamp = (records[mid] as StoredRecord).modstamp;
    if (stamp > ms || (inclusive && stamp === ms)) high = mid;
    else low = mid + 1;
  }
  return low;
}

function render(
  version: string,
  type: SObjectType,
  fields: readonly string[],
  records: readonly StoredRecord[],
  from: number,
  to: number,
): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = from; i < to; i++) {
    const record = records[i] as StoredRecord;
    const row: Record<string, unknown> = {
      attributes: { type, url: `/services/data/${version}/sobjects/${type}/${record.id}` },
    };
    for (const field of fields) row[field] = fieldValue(record, field);
    out.push(row);
  }
  return out;
}

/** A record's value of `field` as the REST answers show it (datetimes formatted, IsDeleted a boolean). */
export function fieldValue(record: StoredRecord, field: string): FieldValue {
  switch (field) {
    case 'Id':
      return record.id;
    case 'SystemModstamp':
      return formatDateTime(record.modstamp);
    case 'CreatedDate':
      return formatDateTime(record.created);
    case 'LastModifiedDate':
      return formatDateTime(record.lastModified);
    case 'IsDeleted':
      return record.deleted;
    default:
      return record.values[field] ?? null;
  }
}
