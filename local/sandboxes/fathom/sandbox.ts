/**
 * The Fathom sandbox's HTTP server: `GET /external/v1/meetings` behind `X-Api-Key`, the
 * 60-calls-per-60-seconds limit, and the `/__sandbox/*` control endpoints that let a
 * separately running local stack be driven into failure modes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { checkMs, checkTimes, parseFailureBody, parseFlag, parseTimes, truncatedJson } from '../shared/failures';
import { answerControl, type BodyLimits, close, type ControlEndpoints, Delays, isRecord, JSON_TYPE, listen, requestListener, send, sendJson } from '../shared/http';
import { RollingWindow } from '../shared/rate-limit';
import { increment } from '../shared/stats';
import { type AddedMeetingsOptions, defaultFathomDataSetSizes, FathomDataStore, type FathomMeeting, MAX_INVITEES, MAX_MEETINGS } from './data';
import { DEFAULT_THROTTLE_RESET_SECONDS, FailureModes, type FathomSandboxFailures } from './failures';

/** Options of {@link startFathomSandbox}. */
export interface FathomSandboxOptions {
  /** Port on 127.0.0.1; 0 or undefined picks a free one. */
  readonly port?: number;
  /** Meetings at start, spread over the 60 days before FATHOM_DATA_SET_END. @default 40 */
  readonly meetings?: number;
  /** Distinct people (by lowercased email) among the calendar invitees. @default 120 */
  readonly invitees?: number;
  /** Seed of the generated data set; the same seed gives the same meetings. @default 20260305 */
  readonly seed?: number;
  /** The one API key the sandbox accepts in `X-Api-Key`. @default 'sandbox-key' */
  readonly apiKey?: string;
  /**
   * Order of the list. @default 'asc' (oldest first). Fathom's documentation does not say;
   * its quickstart calls the first page "the 10 most recent meetings", which reads like
   * `'desc'`. Adapters must not depend on either.
   */
  readonly order?: 'asc' | 'desc';
  /** Meetings per page when the call gives no `limit`. @default 10 */
  readonly pageSize?: number;
  /** The rate limit enforced for real. @default { limit: 60, windowMs: 60000 } */
  readonly rateLimit?: { readonly limit: number; readonly windowMs: number };
}

/** Request counters since start or the last {@link FathomSandbox.resetStats}. */
export interface FathomSandboxStats {
  /** Every request except the `/__sandbox/*` control endpoints. */
  readonly requests: number;
  /** Answers per HTTP status, e.g. `{ "200": 4, "429": 1 }`. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Meetings sent in list answers. */
  readonly meetingsReturned: number;
}

/** Data mutations and counts, for incremental-sync tests. */
export interface FathomSandboxData {
  /**
   * Adds `count` meetings created now, strictly later than every meeting so far (or, with
   * `lateBySeconds`, that long before the latest one), with `newInvitees` people nobody has
   * met yet spread over them (plus a known recorder and a known contact each, and
   * `inviteesWithoutEmail` invitees with `email: null`). Returns the new meetings as the API lists them.
   */
  addMeetings(count: number, options?: AddedMeetingsOptions): FathomMeeting[];
  /** Meetings held now. */
  count(): number;
  /** Distinct people (lowercased emails) among all calendar invitees; recorders are always among them. */
  distinctInvitees(): number;
  /** Every meeting, oldest first, as the API lists them. */
  meetings(): readonly FathomMeeting[];
}

/** A running Fathom sandbox. */
export interface FathomSandbox {
  /** `http://127.0.0.1:PORT/external/v1`: the adapter's base URL. */
  readonly url: string;
  /** `http://127.0.0.1:PORT`: where `/__sandbox/*` lives. */
  readonly origin: string;
  /** The API key it accepts. */
  readonly apiKey: string;
  readonly failures: FathomSandboxFailures;
  readonly data: FathomSandboxData;
  stats(): FathomSandboxStats;
  resetStats(): void;
  /** Moves the sandbox clock forward (the rate-limit window; stamps of added meetings). */
  advanceTime(ms: number): void;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

const DEFAULT_SEED = 20260305;
const DEFAULT_PAGE_SIZE = 10;
/** Largest `limit` a list call may ask for (unclear in Fathom's documentation; 100 is common). */
export const MAX_PAGE_SIZE = 100;
const BODY_LIMITS: BodyLimits = { maxBytes: 1 << 16 };
const API_PREFIX = '/external/v1';
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/** Starts a Fathom sandbox on 127.0.0.1 over a deterministic set of meetings. */
export async function startFathomSandbox(options: FathomSandboxOptions = {}): Promise<FathomSandbox> {
  const meetings = size('meetings', options.meetings, defaultFathomDataSetSizes.meetings, MAX_MEETINGS);
  const invitees = size('invitees', options.invitees, defaultFathomDataSetSizes.invitees, MAX_INVITEES);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const apiKey = options.apiKey ?? 'sandbox-key';
  if (apiKey.length === 0) throw new RangeError('apiKey must not be empty');
  const order = options.order ?? 'asc';
  const pageSize = size('pageSize', options.pageSize, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  if (pageSize === 0) throw new RangeError('pageSize must be at least 1');
  const rateLimit = options.rateLimit ?? { limit: 60, windowMs: 60_000 };
  if (!Number.isSafeInteger(rateLimit.limit) || rateLimit.limit < 1 || !(rateLimit.windowMs > 0)) {
    throw new RangeError('rateLimit needs a positive integer limit and a positive windowMs');
  }

  let clockOffset = 0;
  const now = (): number => Date.now() + clockOffset;
  const store = new FathomDataStore({ meetings, invitees }, seed, now);
  const modes = new FailureModes();
  // Fathom's "60 calls in a 60 second window", enforced for real on the sandbox clock.
  const window = new RollingWindow(rateLimit.limit, rateLimit.windowMs);
  const delays = new Delays();
  let counters = freshCounters();

  const failures: FathomSandboxFailures = {
    throttle: (times, resetSeconds = DEFAULT_THROTTLE_RESET_SECONDS) => {
      if (!Number.isSafeInteger(resetSeconds) || resetSeconds < 0) throw new RangeError(`throttle resetSeconds must be a non-negative integer, got ${resetSeconds}`);
      modes.throttle.set(times);
      modes.throttleResetSeconds = resetSeconds;
    },
    serverError: (times) => {
      modes.serverError.set(times);
      modes.serverErrorsServed = 0;
    },
    malformedJson: (times) => modes.malformedJson.set(times),
    slow: (ms) => {
      modes.slowMs = checkMs('slow', ms);
    },
    reset: () => {
      modes.reset();
      window.clear();
    },
    state: () => modes.state(),
  };

  const data: FathomSandboxData = {
    addMeetings: (count, added = {}) => store.addMeetings(count, added),
    count: () => store.count(),
    distinctInvitees: () => store.distinctInvitees(),
    meetings: () => store.all(),
  };

  const stats = (): FathomSandboxStats => ({ requests: counters.requests, byStatus: { ...counters.byStatus }, meetingsReturned: counters.meetingsReturned });
  const resetStats = (): void => {
    counters = freshCounters();
  };

  const server = createServer();
  const origin = await listen(server, options.port);

  /** Sends an API answer and counts it. */
  const answer = (res: ServerResponse, status: number, body: string, type: string, headers: Record<string, string> = {}): void => {
    increment(counters.byStatus, status);
    send(res, status, body, type, headers);
  };
  // Fathom does not document its error bodies. The sandbox answers `{"error": "..."}`,
  // a common shape; the adapter must decide by status and headers only.
  const error = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void =>
    answer(res, status, JSON.stringify({ error: message }), JSON_TYPE, headers);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestUrl = new URL(req.url ?? '/', origin);
    const path = requestUrl.pathname;
    if (path.startsWith('/__sandbox/')) return answerControl(req, res, path, control, BODY_LIMITS);
    if (modes.slowMs > 0) await delays.wait(modes.slowMs);
    counters.requests++;
    await drain(req);

    if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) return error(res, 404, 'Not Found');
    // The key is checked before anything else, and compared whole: no prefix, no Bearer.
    if (req.headers['x-api-key'] !== apiKey) return error(res, 401, 'Invalid or missing API key');

    if (modes.throttle.take()) {
      return error(res, 429, 'Rate limit exceeded', rateLimitHeaders(rateLimit.limit, 0, modes.throttleResetSeconds));
    }
    const decision = window.take(now());
    const limitHeaders = rateLimitHeaders(decision.limit, decision.remaining, decision.resetSeconds);
    if (!decision.allowed) return error(res, 429, 'Rate limit exceeded', limitHeaders);

    if (path !== `${API_PREFIX}/meetings`) return error(res, 404, 'Not Found', limitHeaders);
    if (req.method !== 'GET') return error(res, 405, 'Method Not Allowed', { ...limitHeaders, Allow: 'GET' });
    if (modes.serverError.take()) {
      // Alternates an application error (JSON) with a gateway's HTML page.
      if (modes.serverErrorsServed++ % 2 === 0) return error(res, 500, 'Internal Server Error', limitHeaders);
      return answer(res, 502, BAD_GATEWAY_PAGE, 'text/html; charset=utf-8');
    }

    let page: { limit: number; next_cursor: string | null; items: readonly FathomMeeting[] };
    try {
      page = listMeetings(requestUrl.searchParams);
    } catch (failure) {
      if (failure instanceof BadRequest) return error(res, 400, failure.message, limitHeaders);
      throw failure;
    }
    counters.meetingsReturned += page.items.length;
    const body = JSON.stringify(page);
    if (modes.malformedJson.take()) return answer(res, 200, truncatedJson(body), JSON_TYPE, limitHeaders);
    return answer(res, 200, body, JSON_TYPE, limitHeaders);
  }

  /**
   * One page of the list. `created_after` and `created_before` are exclusive (the
   * documentation says "after" and "before"). The cursor is Fathom-like, base64 JSON of
   * `{"page_num": N}`: it does not carry the filters, so every page must be asked for
   * with the same ones (the safe reading; the documentation does not say).
   */
  function listMeetings(params: URLSearchParams): { limit: number; next_cursor: string | null; items: readonly FathomMeeting[] } {
    const createdAfter = timestamp(params, 'created_after');
    const createdBefore = timestamp(params, 'created_before');
    const limitText = params.get('limit');
    let limit = pageSize;
    if (limitText !== null) {
      if (!/^[1-9][0-9]*$/.test(limitText) || Number(limitText) > MAX_PAGE_SIZE) throw new BadRequest(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
      limit = Number(limitText);
    }
    const cursor = params.get('cursor');
    const pageNum = cursor === null || cursor === '' ? 1 : decodeCursor(cursor);
    const selected = store.list({ createdAfter, createdBefore, order });
    const offset = (pageNum - 1) * limit;
    const items = selected.slice(offset, offset + limit);
    const more = offset + limit < selected.length;
    return { limit, next_cursor: more ? encodeCursor(pageNum + 1) : null, items };
  }

  const control: ControlEndpoints = {
    state: () => ({
      url: `${origin}${API_PREFIX}`,
      meetings: store.count(),
      distinctInvitees: store.distinctInvitees(),
      order,
      failures: failures.state(),
      rateLimit: { limit: rateLimit.limit, windowMs: rateLimit.windowMs, used: window.used(now()) },
      stats: stats(),
    }),
    applyFailures: (body) => applyFailures(failures, body),
    failureState: () => failures.state(),
    data: (body) => {
      if (!isRecord(body)) throw new Error('body must be a JSON object');
      const known = ['addMeetings', 'newInvitees', 'inviteesWithoutEmail', 'lateBySeconds'];
      const unknown = Object.keys(body).filter((key) => !known.includes(key));
      if (unknown.length > 0) throw new Error(`unknown data operation(s): ${unknown.join(', ')}; known: ${known.join(', ')}`);
      const count = body.addMeetings ?? 0;
      const newInvitees = body.newInvitees ?? 0;
      const inviteesWithoutEmail = body.inviteesWithoutEmail ?? 0;
      const lateBySeconds = body.lateBySeconds;
      if ([count, newInvitees, inviteesWithoutEmail].some((n) => typeof n !== 'number') || (lateBySeconds !== undefined && typeof lateBySeconds !== 'number')) {
        throw new Error(`${known.join(', ')} must be numbers`);
      }
      const added = data.addMeetings(count as number, {
        newInvitees: newInvitees as number,
        inviteesWithoutEmail: inviteesWithoutEmail as number,
        ...(lateBySeconds === undefined ? {} : { lateBySeconds: lateBySeconds as number }),
      });
      return { added: added.map((meeting) => meeting.recording_id), meetings: store.count(), distinctInvitees: store.distinctInvitees() };
    },
    resetStats,
    stats,
  };

  server.on('request', requestListener(handle, (res, message) => sendJson(res, 500, { error: message })));

  return {
    url: `${origin}${API_PREFIX}`,
    origin,
    apiKey,
    failures,
    data,
    stats,
    resetStats,
    advanceTime: (ms) => {
      clockOffset += checkMs('advanceTime', ms);
    },
    close: async () => {
      delays.cancelAll();
      await close(server);
    },
  };
}

/** A list call the sandbox refuses with 400. */
class BadRequest extends Error {}

interface Counters {
  requests: number;
  byStatus: Record<string, number>;
  meetingsReturned: number;
}

function freshCounters(): Counters {
  return { requests: 0, byStatus: {}, meetingsReturned: 0 };
}

function size(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0 || value > max) throw new RangeError(`${name} must be an integer from 0 to ${max}, got ${value}`);
  return value;
}

function rateLimitHeaders(limit: number, remaining: number, resetSeconds: number): Record<string, string> {
  return { 'RateLimit-Limit': String(limit), 'RateLimit-Remaining': String(remaining), 'RateLimit-Reset': String(resetSeconds) };
}

function timestamp(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  const value = Date.parse(text);
  if (!ISO_8601.test(text) || Number.isNaN(value)) throw new BadRequest(`${name} must be an ISO 8601 timestamp`);
  return value;
}

export function encodeCursor(pageNum: number): string {
  return Buffer.from(JSON.stringify({ page_num: pageNum })).toString('base64');
}

function decodeCursor(cursor: string): number {
  let pageNum: unknown;
  try {
    pageNum = (JSON.parse(Buffer.from(cursor, 'base64').toString('utf8')) as { page_num?: unknown }).page_num;
  } catch {
    throw new BadRequest('invalid cursor');
  }
  if (typeof pageNum !== 'number' || !Number.isSafeInteger(pageNum) || pageNum < 1) throw new BadRequest('invalid cursor');
  return pageNum;
}

/**
 * Applies a `POST /__sandbox/failures` body, e.g.
 * `{"reset":true,"throttle":{"times":2,"resetSeconds":17},"serverError":1,"slow":200}`.
 * Counts are non-negative integers or `"always"`; `reset` applies first.
 */
function applyFailures(failures: FathomSandboxFailures, body: unknown): void {
  const fields = parseFailureBody(body, ['reset', 'throttle', 'serverError', 'malformedJson', 'slow']);
  const times = (key: string, value: unknown): number => checkTimes(key, parseTimes(key, value));
  // Validate everything before changing anything.
  const steps: Array<() => void> = [];
  if (fields.reset !== undefined && parseFlag('reset', fields.reset)) steps.push(() => failures.reset());
  if (fields.throttle !== undefined) {
    const value = fields.throttle;
    const count = times('throttle', isRecord(value) ? value.times : value);
    const resetSeconds = isRecord(value) ? value.resetSeconds : undefined;
    if (resetSeconds !== undefined && (typeof resetSeconds !== 'number' || !Number.isSafeInteger(resetSeconds) || resetSeconds < 0)) {
      throw new Error('throttle.resetSeconds must be a non-negative integer');
    }
    steps.push(() => failures.throttle(count, resetSeconds));
  }
  if (fields.serverError !== undefined) {
    const count = times('serverError', fields.serverError);
    steps.push(() => failures.serverError(count));
  }
  if (fields.malformedJson !== undefined) {
    const count = times('malformedJson', fields.malformedJson);
    steps.push(() => failures.malformedJson(count));
  }
  if (fields.slow !== undefined) {
    const ms = fields.slow;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new Error('slow must be a non-negative number of milliseconds');
    steps.push(() => failures.slow(ms));
  }
  for (const step of steps) step();
}

const BAD_GATEWAY_PAGE =
  '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>';

/** Reads and discards a request body (API calls are GETs). */
async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req) {
    // discarded
  }
}
