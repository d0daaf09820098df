/**
 * The Customer.io sandbox's HTTP server: the two App API endpoints a people sync uses
 * (`POST /v1/customers`, `POST /v1/customers/attributes`) with bearer-key auth, the real
 * 10-requests-per-second limit, and the `/__sandbox/*` control endpoints that let a
 * separately running local stack be driven into failure modes.
 *
 * One server stands in for both regions: point the adapter's `us` and `eu` base URLs at it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { truncatedJson } from '../shared/failures';
import { answerControl, type BodyLimits, close, type ControlEndpoints, Delays, isRecord, JSON_TYPE, listen, readJson, requestListener, send, sendJson } from '../shared/http';
import { type RollingDecision, RollingWindow } from '../shared/rate-limit';
import { increment } from '../shared/stats';
import { PeopleStore, type StoredPerson } from './data';
import { applyFailures, type CustomerIoSandboxFailures, FailureModes } from './failures';
import { FilterError, matches, parseFilter } from './filter';

/** Options of {@link startCustomerIoSandbox}. */
export interface CustomerIoSandboxOptions {
  /** Port on 127.0.0.1; 0 or undefined picks a free one. */
  readonly port?: number;
  /** People in the workspace at start. @default 500 */
  readonly people?: number;
  /** Seed of the generated data set; the same seed gives the same people. @default 20260305 */
  readonly seed?: number;
  /** The one App API key the sandbox accepts. @default 'sandbox-key' */
  readonly apiKey?: string;
  /** Requests per rolling second per key before 429s; Infinity turns the limit off. @default 10 */
  readonly requestsPerSecond?: number;
  /**
   * Calls the workspace may still make today; past them every call answers 429 without
   * `Retry-After` (Customer.io's daily quota), until `failures.dailyQuota(null)` or a reset.
   * @default unlimited
   */
  readonly dailyQuota?: number;
  /**
   * How `cio_id` is written in answers: a string of 8 hex digits, or the same id as a
   * number (as some of Customer.io's examples show it); `id_type=cio_id` then takes the
   * number's decimal digits. Attribute values stay strings. @default 'string'
   */
  readonly cioIdAs?: 'string' | 'number';
  /** Whether attributes answers carry the deprecated per-attribute `timestamps`. @default true */
  readonly timestamps?: boolean;
}

/** Request counters since start or the last {@link CustomerIoSandbox.resetStats}. */
export interface CustomerIoSandboxStats {
  /** Every App API request (`/v1/...`); the `/__sandbox/*` control endpoints are not counted. */
  readonly requests: number;
  /** Requests per endpoint: listCustomers, customerAttributes, notFound. */
  readonly byEndpoint: Readonly<Record<string, number>>;
  /** Answers per HTTP status, e.g. `{"200": 10, "429": 1}`. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Requests refused by the real rate limit (not by the `throttle` failure mode). */
  readonly rateLimited: number;
  /** People sent in attributes answers. */
  readonly peopleReturned: number;
}

/** Data mutations for sync tests. People are picked with the sandbox's seeded generator. */
export interface CustomerIoSandboxData {
  /** Creates `count` people, created now; returns their cio_ids. */
  add(count: number): string[];
  /** Changes one attribute of `count` distinct people and stamps it now; returns their cio_ids. */
  modify(count: number): string[];
  /** Deletes `count` distinct people; returns their cio_ids. */
  remove(count: number): string[];
  /** People in the workspace now. */
  count(): number;
}

/** A running Customer.io sandbox. */
export interface CustomerIoSandbox {
  /** `http://127.0.0.1:PORT`: the base URL of both regions (paths are `/v1/...`). */
  readonly url: string;
  /** The App API key it accepts. */
  readonly apiKey: string;
  /** Switchable failure modes. */
  readonly failures: CustomerIoSandboxFailures;
  /** Data mutations and the count. */
  readonly data: CustomerIoSandboxData;
  /** Request counters. */
  stats(): CustomerIoSandboxStats;
  /** Zeroes the request counters. */
  resetStats(): void;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

const DEFAULT_SEED = 20260305;
const DEFAULT_PEOPLE = 500;
/** Customer.io's documented App API limit. */
const DEFAULT_REQUESTS_PER_SECOND = 10;
const WINDOW_MS = 1000;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;
const MAX_IDS = 100;
/** App API errors are sentences; the control endpoints answer with the same wording. */
const BODY_LIMITS: BodyLimits = { maxBytes: 1 << 20, tooLarge: 'The request body is too large.', notJson: 'The request body is not valid JSON.' };
const ID_TYPES = ['id', 'email', 'cio_id'] as const;
type IdType = (typeof ID_TYPES)[number];

/**
 * Starts a Customer.io App API sandbox on 127.0.0.1 over a deterministic set of people.
 *
 * @example
 * const sandbox = await startCustomerIoSandbox({ people: 500 });
 * // POST `${sandbox.url}/v1/customers?limit=100` with `Authorization: Bearer sandbox-key`
 * sandbox.failures.throttle(2, 3);
 * await sandbox.close();
 */
export async function startCustomerIoSandbox(options: CustomerIoSandboxOptions = {}): Promise<CustomerIoSandbox> {
  const people = options.people ?? DEFAULT_PEOPLE;
  if (!Number.isSafeInteger(people) || people < 0) throw new RangeError(`people must be a non-negative integer, got ${people}`);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const apiKey = options.apiKey ?? 'sandbox-key';
  if (apiKey === '') throw new RangeError('apiKey must not be empty');
  const requestsPerSecond = options.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND;
  if (!(requestsPerSecond >= 1)) throw new RangeError(`requestsPerSecond must be at least 1, got ${requestsPerSecond}`);

  const store = new PeopleStore(people, seed, Date.now);
  const cioIdAs = options.cioIdAs ?? 'string';
  const withTimestamps = options.timestamps ?? true;
  const renderCioId = (cioId: string): string | number => (cioIdAs === 'number' ? Number.parseInt(cioId, 16) : cioId);
  const modes = new FailureModes();
  if (options.dailyQuota !== undefined) modes.controls().dailyQuota(options.dailyQuota);
  const failures = modes.controls();
  const windows = new Map<string, RollingWindow>();
  const delays = new Delays();
  let counters = freshCounters();

  const data: CustomerIoSandboxData = {
    add: (count) => store.add(count),
    modify: (count) => store.modify(count),
    remove: (count) => store.remove(count),
    count: () => store.count(),
  };
  const stats = (): CustomerIoSandboxStats => ({
    requests: counters.requests,
    byEndpoint: { ...counters.byEndpoint },
    byStatus: { ...counters.byStatus },
    rateLimited: counters.rateLimited,
    peopleReturned: counters.peopleReturned,
  });
  const resetStats = (): void => {
    counters = freshCounters();
  };

  /** The real limit: a rolling window per key, on the real clock; undefined when turned off. */
  const rateLimit = (key: string): RollingDecision | undefined => {
    if (requestsPerSecond === Infinity) return undefined;
    let window = windows.get(key);
    if (!window) windows.set(key, (window = new RollingWindow(requestsPerSecond, WINDOW_MS)));
    return window.take(performance.now());
  };

  /** Sends an App API answer and counts its status. */
  const answer = (res: ServerResponse, status: number, body: string, type: string, headers: Record<string, string> = {}): void => {
    increment(counters.byStatus, status);
    send(res, status, body, type, headers);
  };
  const error = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void =>
    answer(res, status, JSON.stringify(errorEnvelope(status, message)), JSON_TYPE, headers);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestUrl = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = requestUrl.pathname;
    if (path.startsWith('/__sandbox/')) return answerControl(req, res, path, control, BODY_LIMITS);

    const endpoint =
      req.method === 'POST' && path === '/v1/customers'
        ? 'listCustomers'
        : req.method === 'POST' && path === '/v1/customers/attributes'
          ? 'customerAttributes'
          : 'notFound';
    counters.requests++;
    increment(counters.byEndpoint, endpoint);
    const key = bearerKey(req.headers.authorization);

    // The real limit counts arrivals, before anything else happens to the request.
    const limit = rateLimit(key ?? '');
    if (limit && !limit.allowed) {
      counters.rateLimited++;
      // Unclear whether Customer.io sends Retry-After on its 429s; the sandbox sends the
      // seconds until the window has room again, and the adapter copes without it too.
      return error(res, 429, 'Too many requests: the App API allows 10 requests per second.', {
        'Retry-After': String(limit.resetSeconds),
      });
    }
    if (modes.slowMs > 0) await delays.wait(modes.slowMs);
    if (modes.dailyQuotaRemaining !== null) {
      // Customer.io's daily quota: a 429 like the per-second one, but without Retry-After,
      // since no wait of seconds lifts it. (Unclear: the exact wording of its detail.)
      if (modes.dailyQuotaRemaining <= 0) return error(res, 429, 'Daily request limit reached for this workspace; try again tomorrow.');
      modes.dailyQuotaRemaining -= 1;
    }
    // Injected failures come before the key check, so "the next n calls" means exactly that.
    if (modes.throttle.take()) {
      const after = modes.throttleRetryAfterSeconds;
      return error(res, 429, 'Too many requests.', after === null ? {} : { 'Retry-After': String(after) });
    }
    if (modes.serverError.take()) {
      const status = modes.serverErrorStatus;
      if (status === 500) return error(res, 500, 'Internal server error.');
      return answer(res, status, gatewayPage(status), 'text/html; charset=utf-8');
    }
    if (modes.unauthorized || key !== apiKey) {
      return error(res, 401, 'Unauthorized request: the App API key is missing, wrong or revoked.');
    }
    if (endpoint === 'notFound') {
      return error(res, 404, `The sandbox does not serve ${req.method} ${path}.`);
    }

    let body: unknown;
    try {
      body = await readJson(req, BODY_LIMITS);
    } catch (cause) {
      return error(res, 400, (cause as Error).message);
    }
    if (!isRecord(body)) return error(res, 400, 'The request body must be a JSON object.');

    let result: unknown;
    try {
      result =
        endpoint === 'listCustomers'
          ? listCustomers(requestUrl.searchParams, body)
          : customerAttributes(requestUrl.searchParams, body);
    } catch (cause) {
      if (cause instanceof BadRequest || cause instanceof FilterError) return error(res, 400, cause.message);
      throw cause;
    }
    const text = JSON.stringify(result);
    if (modes.malformedJson.take()) return answer(res, 200, truncatedJson(text), JSON_TYPE);
    return answer(res, 200, text, JSON_TYPE);
  }

  /** `POST /v1/customers?start=&limit=` with `{"filter": {...}}`: one page of identifiers, in cio_id order. */
  function listCustomers(query: URLSearchParams, body: Record<string, unknown>): ListAnswer {
    const limit = parseLimit(query.get('limit'));
    const start = query.get('start');
    if (body.filter === undefined) throw new BadRequest('filter is required.');
    const filter = parseFilter(body.filter);
    const all = store.all();
    // `next` names the last person of the page, so people removed meanwhile shift nothing
    // and every person present for the whole walk is listed exactly once.
    let index = start ? store.indexAfter(decodeToken(start)) : 0;
    const page: StoredPerson[] = [];
    let more = false;
    for (; index < all.length; index++) {
      const person = all[index] as StoredPerson;
      if (!matches(filter, person)) continue;
      if (page.length === limit) {
        more = true;
        break;
      }
      page.push(person);
    }
    const last = page[page.length - 1];
    return {
      identifiers: page.map((person) => ({ email: person.email, id: person.id, cio_id: renderCioId(person.cioId) })),
      // The older list: entries without an `id` are empty strings, as documented.
      ids: page.map((person) => person.id ?? ''),
      next: more && last ? encodeToken(last.cioId) : '',
    };
  }

  /** `POST /v1/customers/attributes?id_type=` with `{"ids": [...]}` (1 to 100): the people found, in request order. */
  function customerAttributes(query: URLSearchParams, body: Record<string, unknown>): AttributesAnswer {
    const idType = parseIdType(query.get('id_type'));
    const ids = body.ids;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_IDS || !ids.every((id) => typeof id === 'string' && id !== '')) {
      throw new BadRequest(`ids must be an array of 1 to ${MAX_IDS} non-empty strings.`);
    }
    const seen = new Set<string>();
    const customers: AttributesAnswer['customers'] = [];
    for (const id of ids as string[]) {
      const person = store.find(idType, idType === 'cio_id' && cioIdAs === 'number' ? hexCioId(id) : id);
      // IDs that do not exist are left out of the answer, as documented.
      if (!person || seen.has(person.cioId)) continue;
      seen.add(person.cioId);
      customers.push({
        customer: {
          id: person.id,
          identifiers: { email: person.email, id: person.id, cio_id: renderCioId(person.cioId) },
          attributes: cioIdAs === 'number' ? { ...person.attributes, cio_id: String(renderCioId(person.cioId)) } : { ...person.attributes },
          ...(withTimestamps ? { timestamps: { ...person.timestamps } } : {}),
          unsubscribed: person.unsubscribed,
          devices: [],
        },
      });
    }
    counters.peopleReturned += customers.length;
    return { customers };
  }

  const control: ControlEndpoints = {
    state: () => ({ url, count: store.count(), requestsPerSecond, failures: failures.state(), stats: stats() }),
    applyFailures: (body) => applyFailures(failures, body),
    failureState: () => failures.state(),
    data: (body) => ({ changed: applyData(data, body), count: store.count() }),
    resetStats,
    stats,
  };

  const server = createServer(requestListener(handle, (res, message) => sendJson(res, 500, errorEnvelope(500, message))));
  const url = await listen(server, options.port);

  return {
    url,
    apiKey,
    failures,
    data,
    stats,
    resetStats,
    close: async () => {
      delays.cancelAll();
      await close(server);
    },
  };
}

interface ListAnswer {
  identifiers: Array<{ email: string; id: string | null; cio_id: string | number }>;
  ids: string[];
  next: string;
}

interface AttributesAnswer {
  customers: Array<{
    customer: {
      id: string | null;
      identifiers: { email: string; id: string | null; cio_id: string | number };
      attributes: Record<string, string>;
      timestamps?: Record<string, number>;
      unsubscribed: boolean;
      devices: unknown[];
    };
  }>;
}

class BadRequest extends Error {}

interface Counters {
  requests: number;
  byEndpoint: Record<string, number>;
  byStatus: Record<string, number>;
  rateLimited: number;
  peopleReturned: number;
}

function freshCounters(): Counters {
  return { requests: 0, byEndpoint: {}, byStatus: {}, rateLimited: 0, peopleReturned: 0 };
}

function parseLimit(raw: string | null): number {
  if (raw === null || raw === '') return DEFAULT_LIMIT;
  // Unclear whether Customer.io clamps a limit over 1000 or refuses it; the sandbox
  // refuses it, so an adapter cannot come to rely on clamping.
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIMIT) {
    throw new BadRequest(`limit must be an integer from 1 to ${MAX_LIMIT}.`);
  }
  return Number(raw);
}

function parseIdType(raw: string | null): IdType {
  if (raw === null || raw === '') return 'id';
  if ((ID_TYPES as readonly string[]).includes(raw)) return raw as IdType;
  // `phone` exists in Customer.io, but only where the workspace enables it; this one does not.
  throw new BadRequest(`id_type must be one of ${ID_TYPES.join(', ')}.`);
}

/** Page tokens are opaque to clients: base64url of the last cio_id listed. */
function encodeToken(cioId: string): string {
  return Buffer.from(`after:${cioId}`, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  const match = /^after:([0-9a-f]{8})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!match) throw new BadRequest('start is not a page token this endpoint issued.');
  return match[1] as string;
}

function bearerKey(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

/** Applies a `POST /__sandbox/data` body, e.g. `{"add":5,"modify":10,"remove":2}`; checks all counts first. */
function applyData(data: CustomerIoSandboxData, body: unknown): Record<string, string[]> {
  if (!isRecord(body)) throw new Error('body must be a JSON object');
  const fields = body;
  const operations = ['add', 'modify', 'remove'] as const;
  const unknown = Object.keys(fields).filter((key) => !(operations as readonly string[]).includes(key));
  if (unknown.length > 0) throw new Error(`unknown data operation(s): ${unknown.join(', ')}; known: ${operations.join(', ')}`);
  for (const operation of operations) {
    const value = fields[operation];
    if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)) {
      throw new Error(`${operation} must be a non-negative integer`);
    }
  }
  const changed: Record<string, string[]> = {};
  for (const operation of operations) {
    if (fields[operation] !== undefined) changed[operation] = data[operation](fields[operation] as number);
  }
  return changed;
}

/**
 * Customer.io's App API error envelope: `{"errors":[{"detail","status"}]}` (`status` as a
 * string, as in JSON:API; Customer.io adds a `code` to some, which the sandbox leaves out).
 */
function errorEnvelope(status: number, detail: string): { errors: Array<{ detail: string; status: string }> } {
  return { errors: [{ detail, status: String(status) }] };
}

/** A cio_id given as decimal digits (see `cioIdAs: 'number'`) as the store's 8 hex digits; anything else as it is. */
function hexCioId(id: string): string {
  return /^\d{1,15}$/.test(id) ? Number(id).toString(16).padStart(8, '0') : id;
}

function gatewayPage(status: number): string {
  return `<!DOCTYPE html><html><head><title>${status}</title></head><body><h1>${status}</h1><p>The service is temporarily unavailable.</p></body></html>`;
}
