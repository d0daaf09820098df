import { ConfigurationError, InvalidInputError, ProviderError } from '../../core/errors';
import type { SyncType } from '../../core/model';
import { atHostOf, comeBackLaterError, providerFetch, readJson, retryAfterSeconds, splitApiKeyAndSecret } from '../http';
import type { ApiKeyAdapter, Credentials, ReadPageRequest, SourcePage, SourceRecord, SyncAdapter, SyncCursor } from '../types';
import { DELIVRAI_EVENT_FIELDS, toSourceRecords } from './delivrai-events';

const PROVIDER = 'Delivr.ai';

/**
 * Delivr.ai's API host. The newer pages (bearer token plus `x-organization-id`) name
 * `https://apiv3.delivr.ai`; the older Events reference (`X-API-Key`) names
 * `https://apiv2.delivr.ai`. We follow the newer pages, as for authentication.
 */
export const DELIVRAI_DEFAULT_BASE_URL = 'https://apiv3.delivr.ai';
const EVENTS_PATH = '/api/v1/events';
/** The field list of events (name, type, nullable), by Delivr.ai's own reference. */
const EVENTS_SCHEMA_PATH = '/api/v1/events_schema';

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
/**
 * The widest window we ask for. Delivr.ai allows `end_ms - start_ms` up to 25 hours; one
 * hour of headroom keeps us inside it whichever way the server rounds or counts the end.
 */
export const DELIVRAI_WINDOW_MS = 24 * HOUR_MS;
/**
 * An incremental sync starts this long before the watermark, for events that reached
 * Delivr.ai's store a little after their own timestamp. Re-read events change nothing
 * (same sourceId, same modifiedAt).
 */
export const DELIVRAI_WATERMARK_OVERLAP_MS = 10 * 60 * 1000;
/** Delivr.ai's default page size. */
const DEFAULT_PAGE_SIZE = 300;
/** The most rows we ever ask for in one page (the documentation names no maximum). */
const MAX_PAGE_SIZE = 1000;
/** When a 429 names no wait: the limit is per second, so a second is enough. */
const DEFAULT_THROTTLE_WAIT_SECONDS = 1;

/** How the adapter reaches Delivr.ai; configuration, never code. */
export interface DelivrAiAdapterConfig {
  /** The API host, or the sandbox's URL. @default DELIVRAI_DEFAULT_BASE_URL */
  baseUrl?: string;
  /** How far back a full sync (and a first incremental one) reads. @default 30 */
  fullSyncLookbackDays?: number;
  /** Epoch milliseconds now: where the windows of a sync end. @default Date.now */
  clock?: () => number;
  /** Events per page, 1..1000. @default 300 (Delivr.ai's default) */
  pageSize?: number;
}

/**
 * A Delivr.ai connector's settings, as `parseConfig` normalizes them: the scope, at least
 * one of the two. Events are asked for by `pixel_id` when there is one (Delivr.ai's current
 * events reference requires it), else by `organization_id`; `organizationId` also goes out
 * as `x-organization-id`, without which a bearer call gets events without people.
 */
export type DelivrAiConfig = { organizationId?: string; pixelId?: string };

/**
 * How a request authenticates: the current scheme, an organization API key with its secret
 * (`X-Api-Key` + `X-Api-Secret`), or the older bearer key (`Authorization: Bearer` plus
 * `x-organization-id`), which Delivr.ai's current pages call deprecated.
 */
type DelivrAiAuth = { scheme: 'keyAndSecret'; apiKey: string; apiSecret: string } | { scheme: 'bearer'; apiKey: string };

/** Where a sync stands: the window being read, the offset inside it, and where the sync ends. */
interface WindowCursor {
  windowStart: number;
  windowEnd: number;
  offset: number;
  until: number;
}

/**
 * Delivr.ai (website-visitor identification), connected with an API key. Reads pixel
 * events in successive time windows of at most 24 hours, paging each window by offset,
 * and maps each resolved visitor to a person and their company to an account.
 *
 * Authentication, by what the admin connected with: Delivr.ai's current authentication page
 * says data APIs take an organization key and its secret (`X-Api-Key: dlvr_...` plus
 * `X-Api-Secret`), and calls the bearer flow deprecated; its older pages use a bearer token
 * plus `x-organization-id` (without which events come back with no person or company). A key
 * connected with `apiSecret` goes out as the pair; a key without one as a bearer token, and
 * then `organizationId` is required, so a sync cannot silently come back empty.
 */
export class DelivrAiAdapter implements SyncAdapter, ApiKeyAdapter {
  readonly providerId = 'delivrai' as const;
  /** A full sync a full sync re-reads only the lookback window of visits; people seen earlier are not gone. */
  readonly fullSyncSeesEverything = false;
  /** The same visitor appears in many events. */
  readonly listsRecordsOnce = false;
  private readonly baseUrl: string;
  private readonly lookbackMs: number;
  private readonly clock: () => number;
  private readonly pageSize: number;

  constructor(config: DelivrAiAdapterConfig = {}) {
    const baseUrl = config.baseUrl ?? DELIVRAI_DEFAULT_BASE_URL;
    if (!/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(baseUrl)) {
      throw new ConfigurationError(`The Delivr.ai base URL must be an http(s) URL, got '${baseUrl}'.`);
    }
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    const days = config.fullSyncLookbackDays ?? 30;
    if (!Number.isInteger(days) || days < 1 || days > 3650) {
      throw new ConfigurationError(`fullSyncLookbackDays must be an integer from 1 to 3650, got ${days}.`);
    }
    this.lookbackMs = days * DAY_MS;
    const pageSize = config.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new ConfigurationError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}.`);
    }
    this.pageSize = pageSize;
    this.clock = config.clock ?? Date.now;
  }

  /**
   * `{ organizationId?, pixelId? }`, trimmed, at least one of them. A secret is refused
   * here: config is shown by getStatus, so the secret goes beside the key (`apiSecret`).
   */
  parseConfig(config: Record<string, unknown> | undefined): DelivrAiConfig {
    const secretLike = Object.keys(config ?? {}).filter((key) => /secret|apikey|token|password/i.test(key));
    if (secretLike.length > 0) {
      throw new InvalidInputError(
        `${secretLike.map((key) => `"${key}"`).join(', ')} cannot go in config, which getStatus shows: send the API secret as apiSecret, beside apiKey, and it is stored sealed with the key.`,
      );
    }
    const organizationId = scopeId(config, 'organizationId', 'organization');
    const pixelId = scopeId(config, 'pixelId', 'pixel');
    if (organizationId === undefined && pixelId === undefined) {
      throw new InvalidInputError(
        'Delivr.ai needs a scope: pixelId (the pixel whose visitors are read; Delivr.ai\'s current events API requires it) and/or organizationId (the organization the key belongs to).',
      );
    }
    return { ...(organizationId === undefined ? {} : { organizationId }), ...(pixelId === undefined ? {} : { pixelId }) };
  }

  /**
   * One events query over the last millisecond (one row at most), which checks the key, its
   * secret and the scope; then `GET /api/v1/events_schema`, whose field list must hold the
   * fields the mapping needs: a Delivr.ai that names them otherwise answers a BAD_REQUEST
   * naming the missing ones now, rather than a sync that fails every record later.
   */
  async verifyApiKey(apiKey: string, config: Record<string, unknown>): Promise<void> {
    const settings = this.parseConfig(config);
    const auth = authOf(apiKey, settings, 'verify');
    const now = this.clock();
    const response = await this.fetchEvents(auth, settings, { windowStart: now - 1, windowEnd: now, offset: 0, until: now }, 1);
    if (!response.ok) throw await apiError(response, 'verify', auth.scheme);
    // A 200 that is not an events answer (a wrong base URL) must not pass for a good key.
    const sample = eventsOf(await readJson<unknown>(PROVIDER, response));
    const fields = await this.eventFields(auth, settings, sample);
    if (fields === undefined) return;
    const missing = DELIVRAI_EVENT_FIELDS.required.filter((field) => !fields.has(field));
    if (missing.length > 0) {
      throw new InvalidInputError(
        `Delivr.ai's events do not carry ${missing.length === 1 ? 'a field' : 'fields'} this connector reads: ${missing.join(', ')} (per its events schema). ` +
          'A sync would fail or miss every record, so the connection was not stored; please tell us, the connector needs updating for this Delivr.ai account.',
      );
    }
  }

  /**
   * The names of the fields Delivr.ai's events carry: from `GET /api/v1/events_schema`, or,
   * where that endpoint does not exist (404), from the sample event if it is a resolved one.
   * Undefined when nothing tells.
   */
  private async eventFields(auth: DelivrAiAuth, settings: DelivrAiConfig, sample: unknown[]): Promise<Set<string> | undefined> {
    const response = await providerFetch(PROVIDER, `${this.baseUrl}${EVENTS_SCHEMA_PATH}`, { headers: headersFor(auth, settings) });
    if (response.status === 404) {
      await response.body?.cancel();
      const event = sample[0];
      const resolved = typeof event === 'object' && event !== null && (event as { resolved?: unknown }).resolved === true;
      return resolved ? new Set(Object.keys(event as object)) : undefined;
    }
    if (!response.ok) throw await apiError(response, 'verify', auth.scheme);
    const fields = schemaFieldNames(await readJson<unknown>(PROVIDER, response));
    if (!fields) {
      throw new ProviderError('Delivr.ai answered its events schema in a form the connector does not know; the connection was not stored.', { provider: PROVIDER });
    }
    return fields;
  }

  /** Delivr.ai filters events by time, so incremental syncs really are incremental. */
  effectiveSyncType(requested: SyncType): SyncType {
    return requested;
  }

  /**
   * One page of events: one request for one window at one offset. The first page of a sync
   * fixes where it ends (`until`, now) and where it starts: a full sync `lookbackDays` ago,
   * an incremental one at the watermark minus a small overlap. Windows follow each other
   * end to start, each at most 24 hours, up to `until`.
   *
   * Watermark `{ eventsUntil }` (epoch ms): every event before it has been read. Each page
   * reports the start of its window, or the window's end once the window is fully read;
   * the engine keeps only the last page's, so a finished sync stores `until`. That is safe
   * because `until` was "now" when the sync began: events stamped later fall after it and
   * are read by the next sync, which starts at `until` minus the overlap. Whether
   * Delivr.ai's `end_ms` is inclusive (its pages say so) or exclusive, consecutive windows
   * share their boundary, so nothing falls between them; an event at a boundary may be read
   * twice, which changes nothing.
   */
  async readPage(credentials: Credentials, config: Record<string, unknown>, request: ReadPageRequest): Promise<SourcePage> {
    if (credentials.kind !== 'apiKey') {
      throw new ProviderError('Delivr.ai needs an API key; reconnect Delivr.ai.', { provider: PROVIDER, reauthorizationRequired: true });
    }
    let settings: DelivrAiConfig;
    try {
      settings = this.parseConfig(config);
    } catch {
      throw new ProviderError('The Delivr.ai connection has no valid pixel or organization id; reconnect Delivr.ai.', {
        provider: PROVIDER,
        reauthorizationRequired: true,
      });
    }
    const auth = authOf(credentials.apiKey, settings, 'sync');
    const cursor = readCursor(request.cursor) ?? this.firstWindow(request);
    if (cursor.windowStart >= cursor.until) {
      // Nothing to read (a watermark at or after now): the sync ends here.
      return { records: [], failed: 0, nextCursor: null, watermark: { eventsUntil: String(cursor.until) } };
    }

    const response = await this.fetchEvents(auth, settings, cursor, this.pageSize);
    if (!response.ok) throw await apiError(response, 'sync', auth.scheme);
    const answer = await readJson<unknown>(PROVIDER, response);
    const events = eventsOf(answer);

    const records: SourceRecord[] = [];
    let failed = 0;
    for (const event of events) {
      const mapped = toSourceRecords(event);
      records.push(...mapped.records);
      if (mapped.failed) failed += 1;
    }

    // The window is read when `total` (read as: events in the window) is reached, or, if the
    // answer has none, at a short page. Delivr.ai may serve fewer rows than asked (the
    // documentation names no maximum); the answer's `limit` then says how many. Offsets stay
    // valid because events are ordered by time and the last window ends at `until`, before
    // any event that arrives during the sync.
    const nextOffset = cursor.offset + events.length;
    const total = numberField(answer, 'total');
    const served = Math.min(this.pageSize, numberField(answer, 'limit') ?? this.pageSize);
    const windowDone = events.length === 0 || (total !== undefined ? nextOffset >= total : events.length < served);
    let nextCursor: SyncCursor | null;
    if (!windowDone) nextCursor = { ...cursor, offset: nextOffset };
    else if (cursor.windowEnd < cursor.until) nextCursor = { ...cursor, ...windowFrom(cursor.windowEnd, cursor.until), offset: 0 };
    else nextCursor = null;
    return {
      records,
      failed,
      nextCursor,
      watermark: { eventsUntil: String(windowDone ? cursor.windowEnd : cursor.windowStart) },
    };
  }

  private firstWindow(request: ReadPageRequest): WindowCursor {
    const until = this.clock();
    let start = until - this.lookbackMs;
    if (request.mode === 'incremental') {
      const watermark = Number(request.watermark?.eventsUntil);
      // No lower bound: after a long pause every window since the watermark is read.
      if (Number.isSafeInteger(watermark) && watermark > 0) start = watermark - DELIVRAI_WATERMARK_OVERLAP_MS;
    }
    start = Math.min(start, until);
    return { ...windowFrom(start, until), offset: 0, until };
  }

  private async fetchEvents(auth: DelivrAiAuth, settings: DelivrAiConfig, cursor: WindowCursor, limit: number): Promise<Response> {
    // One scope: the narrowest given. Delivr.ai documents a precedence when several are sent,
    // but one is never ambiguous.
    const scope: Record<string, string> = settings.pixelId ? { pixel_id: settings.pixelId } : { organization_id: settings.organizationId! };
    const params = new URLSearchParams({
      ...scope,
      start_ms: String(cursor.windowStart),
      end_ms: String(cursor.windowEnd),
      limit: String(limit),
      offset: String(cursor.offset),
    });
    return providerFetch(PROVIDER, `${this.baseUrl}${EVENTS_PATH}?${params.toString()}`, { headers: headersFor(auth, settings) });
  }
}

/** A scope id from the config: trimmed, undefined when absent or empty. */
function scopeId(config: Record<string, unknown> | undefined, name: 'organizationId' | 'pixelId', what: string): string | undefined {
  const raw = config?.[name];
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return undefined;
  if (typeof raw !== 'string') throw new InvalidInputError(`${name} must be a string.`);
  const id = raw.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(id)) {
    throw new InvalidInputError(`${name} must be a Delivr.ai ${what} id (letters, digits, "-" and "_", at most 128 characters).`);
  }
  return id;
}

/**
 * How to authenticate with what was connected: a key with a secret goes out as the pair, a
 * key alone as a bearer token, which needs `organizationId` (without `x-organization-id`
 * Delivr.ai answers events without people, and a sync would silently find nobody).
 */
function authOf(stored: string, settings: DelivrAiConfig, during: 'verify' | 'sync'): DelivrAiAuth {
  const { apiKey, apiSecret } = splitApiKeyAndSecret(stored);
  const key = usableKey(apiKey, 'API key');
  if (apiSecret !== undefined) return { scheme: 'keyAndSecret', apiKey: key, apiSecret: usableKey(apiSecret, 'API secret') };
  if (settings.organizationId === undefined) {
    if (during === 'verify') {
      throw new InvalidInputError(
        'A Delivr.ai key without its secret is sent as a bearer token, which needs organizationId: without it Delivr.ai answers events without people. ' +
          'Give organizationId, or connect with the API key and its apiSecret (the current scheme).',
      );
    }
    throw new ProviderError('The Delivr.ai connection has a bearer key but no organization id; reconnect Delivr.ai.', { provider: PROVIDER, reauthorizationRequired: true });
  }
  return { scheme: 'bearer', apiKey: key };
}

function headersFor(auth: DelivrAiAuth, settings: DelivrAiConfig): Record<string, string> {
  const organization: Record<string, string> = settings.organizationId ? { 'x-organization-id': settings.organizationId } : {};
  if (auth.scheme === 'keyAndSecret') return { 'x-api-key': auth.apiKey, 'x-api-secret': auth.apiSecret, ...organization, accept: 'application/json' };
  return { authorization: `Bearer ${auth.apiKey}`, ...organization, accept: 'application/json' };
}

/**
 * The field names of an events schema answer. Unclear: Delivr.ai documents the endpoint as
 * "a list of available fields (name, type, nullable)" without a body; read are a bare list,
 * or one under `fields`, `schema`, `columns` or `data`, of `{ name }` objects or of names.
 */
export function schemaFieldNames(answer: unknown): Set<string> | undefined {
  let list: unknown = answer;
  if (!Array.isArray(list) && typeof list === 'object' && list !== null) {
    const wrapper = list as Record<string, unknown>;
    list = [wrapper.fields, wrapper.schema, wrapper.columns, wrapper.data].find(Array.isArray);
  }
  if (!Array.isArray(list)) return undefined;
  const names = list.map((field) => (typeof field === 'string' ? field : typeof field === 'object' && field !== null ? (field as { name?: unknown }).name : undefined));
  if (names.length === 0 || !names.every((name): name is string => typeof name === 'string' && name !== '')) return undefined;
  return new Set(names);
}

/** The window that starts at `start`: at most DELIVRAI_WINDOW_MS long, never past `until`. */
function windowFrom(start: number, until: number): Pick<WindowCursor, 'windowStart' | 'windowEnd'> {
  return { windowStart: start, windowEnd: Math.min(start + DELIVRAI_WINDOW_MS, until) };
}

/** The cursor of a previous page; null on the first page (or if it is not ours: the sync restarts, harmlessly). */
function readCursor(cursor: SyncCursor | null): WindowCursor | null {
  if (!cursor) return null;
  const [windowStart, windowEnd, offset, until] = [cursor.windowStart, cursor.windowEnd, cursor.offset, cursor.until].map(Number);
  if (![windowStart, windowEnd, offset, until].every((n) => Number.isSafeInteger(n)) || offset! < 0) return null;
  // Re-derived rather than trusted, so no cursor can widen a window past the limit.
  return { ...windowFrom(windowStart!, Math.min(windowEnd!, until!)), offset: offset!, until: until! };
}

/** The event list of an answer: `{ data: [...] }` (what we expect), `{ events: [...] }` or a bare array. */
function eventsOf(answer: unknown): unknown[] {
  if (Array.isArray(answer)) return answer;
  if (typeof answer === 'object' && answer !== null) {
    const { data, events } = answer as { data?: unknown; events?: unknown };
    if (Array.isArray(data)) return data;
    if (Array.isArray(events)) return events;
  }
  throw new ProviderError('Delivr.ai sent an answer without an event list.', {
    provider: PROVIDER,
    retryable: true,
  });
}

function numberField(answer: unknown, field: string): number | undefined {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return undefined;
  const value = (answer as Record<string, unknown>)[field];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** The key (or secret) as a header value; one no header can carry is rejected like a wrong one (and never quoted). */
function usableKey(apiKey: string, what: 'API key' | 'API secret'): string {
  const key = apiKey.trim();
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new ProviderError(`The Delivr.ai ${what} is not valid: it is empty or contains spaces or control characters.`, {
      provider: PROVIDER,
      reauthorizationRequired: true,
    });
  }
  return key;
}

/**
 * Delivr.ai's error answers, as sentences a user can act on (never the key). While
 * connecting, a 400 is about what the admin gave (a scope Delivr.ai will not take): a
 * BAD_REQUEST with Delivr.ai's own words.
 */
async function apiError(response: Response, during: 'verify' | 'sync', scheme: DelivrAiAuth['scheme']): Promise<ProviderError | InvalidInputError> {
  const status = response.status;
  const credential = scheme === 'keyAndSecret' ? 'API key or its secret' : 'API key';
  if (status === 401 || status === 403) {
    await response.body?.cancel();
    const message =
      during === 'verify'
        ? status === 403
          ? `Delivr.ai rejected the ${credential} for this pixel or organization; check pixelId and organizationId.`
          : `Delivr.ai rejected the ${credential}.`
        : `Delivr.ai rejected the ${credential} (HTTP ${status}${status === 403 ? ': no access to this pixel or organization' : ''}); an admin needs to reconnect Delivr.ai with a valid key.`;
    return new ProviderError(message, { provider: PROVIDER, reauthorizationRequired: true });
  }
  if (status === 429) {
    await response.body?.cancel();
    // Header arithmetic runs on the real clock: the headers were written with it.
    const wait = retryAfterSeconds(response) ?? rateLimitResetSeconds(response) ?? DEFAULT_THROTTLE_WAIT_SECONDS;
    return comeBackLaterError(PROVIDER, 'Delivr.ai is limiting our request rate (HTTP 429).', { throttled: true, waitSeconds: wait });
  }
  if (status >= 500) {
    await response.body?.cancel();
    return comeBackLaterError(PROVIDER, `Delivr.ai${atHostOf(response)} is unavailable (HTTP ${status}).`, {
      throttled: false,
      waitSeconds: retryAfterSeconds(response),
    });
  }
  const detail = await errorMessage(response);
  if (during === 'verify' && status === 400) {
    return new InvalidInputError(`Delivr.ai refused the query with this scope (HTTP 400${detail ? `: ${detail}` : ''}); check pixelId and organizationId.`);
  }
  return new ProviderError(`Delivr.ai refused the request (HTTP ${status}${detail ? `: ${detail}` : ''}).`, { provider: PROVIDER });
}

/**
 * Seconds to wait from `X-RateLimit-Reset`. Unclear whether Delivr.ai sends epoch seconds,
 * epoch milliseconds or seconds to wait; the size of the number tells them apart.
 */
export function rateLimitResetSeconds(response: Response, now = Date.now()): number | undefined {
  const header = response.headers.get('x-ratelimit-reset');
  if (header === null || header.trim() === '') return undefined;
  const value = Number(header);
  if (!Number.isFinite(value) || value < 0) return undefined;
  if (value >= 1e12) return Math.max(0, Math.ceil((value - now) / 1000));
  if (value >= 1e9) return Math.max(0, Math.ceil(value - now / 1000));
  return value;
}

/** The `message` (or `error`) of a JSON error body, shortened; undefined when there is none. */
async function errorMessage(response: Response): Promise<string | undefined> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    const message = typeof body.message === 'string' ? body.message : typeof body.error === 'string' ? body.error : undefined;
    return message?.slice(0, 200);
  } catch {
    return undefined;
  }
}
