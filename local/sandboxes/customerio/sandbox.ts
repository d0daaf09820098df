/**
 * The Customer.io sandbox's HTTP server: the two App API endpoints a people sync uses
 * (`POST /v1/customers`, `POST /v1/customers/attributes`) with bearer-key auth, the real
 * 10-requests-per-second limit, and the `/__sandbox/*` control endpoints that let a
 * separately running local stack be driven into failure modes.
 *
 * One server stands in for both regions: point the adapter's `us` and `eu` base URLs at it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
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
const MAX_BODY_BYTES = 1 << 20;
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
  const modes = new FailureModes();
  const failures = modes.controls();
  const limiter = new RollingLimiter(requestsPerSecond, WINDOW_MS);
  const timers = new Set<NodeJS.Timeout>();
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

  const delay = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  /** Sends an App API answer and counts its status. */
  const answer = (res: ServerResponse, status: number, body: string, type: string, headers: Record<string, string> = {}): void => {
    counters.byStatus[status] = (counters.byStatus[status] ?? 0) + 1;
    send(res, status, body, type, headers);
  };
  const error = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void =>
    answer(res, status, errorBody(message), JSON_TYPE, headers);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestUrl = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = requestUrl.pathname;
    if (path.startsWith('/__sandbox/')) return control(req, res, path);

    const endpoint =
      req.method === 'POST' && path === '/v1/customers'
        ? 'listCustomers'
        : req.method === 'POST' && path === '/v1/customers/attributes'
          ? 'customerAttributes'
          : 'notFound';
    counters.requests++;
    counters.byEndpoint[endpoint] = (counters.byEndpoint[endpoint] ?? 0) + 1;
    const key = bearerKey(req.headers.authorization);

    // The real limit counts arrivals, before anything else happens to the request.
    const waitMs = limiter.admit(key ?? '', performance.now());
    if (waitMs > 0) {
      counters.rateLimited++;
      // Unclear whether Customer.io sends Retry-After on its 429s; the sandbox sends the
      // seconds until the window has room again, and the adapter copes without it too.
      return error(res, 429, 'Too many requests: the App API allows 10 requests per second.', {
        'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))),
      });
    }
    if (modes.slowMs > 0) await delay(modes.slowMs);
    // Injected failures come before the key check, so "the next n calls" means exactly that.
    if (modes.take('throttle')) {
      const after = modes.throttleRetryAfterSeconds;
      return error(res, 429, 'Too many requests.', after === null ? {} : { 'Retry-After': String(after) });
    }
    if (modes.take('serverError')) {
      const status = modes.serverErrorStatus;
      if (status === 500) return error(res, 500, 'Internal server error.');
      return answer(res, status, gatewayPage(status), 'text/html; charset=utf-8');
    }
    if (modes.unauthorized || key !== apiKey) {
      // The error body's shape is unclear in the documentation ({"meta":{"error":"..."}} or
      // {"meta":{"errors":["..."]}}); the sandbox uses the list form everywhere, and the
      // adapter must decide by status code alone, so either reading works for it.
      return error(res, 401, 'Unauthorized request: the App API key is missing, wrong or revoked.');
    }
    if (endpoint === 'notFound') {
      return error(res, 404, `The sandbox does not serve ${req.method} ${path}.`);
    }

    let body: unknown;
    try {
      body = await readJsonBody(req);
    } catch (cause) {
      return error(res, 400, (cause as Error).message);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return error(res, 400, 'The request body must be a JSON object.');

    let result: unknown;
    try {
      result =
        endpoint === 'listCustomers'
          ? listCustomers(requestUrl.searchParams, body as Record<string, unknown>)
          : customerAttributes(requestUrl.searchParams, body as Record<string, unknown>);
    } catch (cause) {
      if (cause instanceof BadRequest || cause instanceof FilterError) return error(res, 400, cause.message);
      throw cause;
    }
    const text = JSON.stringify(result);
    if (modes.take('malformedJson')) {
      // Half of a JSON object is never valid JSON: its outer brace is never closed.
      return answer(res, 200, text.slice(0, Math.floor(text.length / 2)), JSON_TYPE);
    }
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
      identifiers: page.map((person) => ({ email: person.email, id: person.id, cio_id: person.cioId })),
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
      const person = store.find(idType, id);
      // IDs that do not exist are left out of the answer, as documented.
      if (!person || seen.has(person.cioId)) continue;
      seen.add(person.cioId);
      customers.push({
        customer: {
          id: person.id,
          identifiers: { email: person.email, id: person.id, cio_id: person.cioId },
          attributes: { ...person.attributes },
          timestamps: { ...person.timestamps },
          unsubscribed: person.unsubscribed,
          devices: [],
        },
      });
    }
    counters.peopleReturned += customers.length;
    return { customers };
  }

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    try {
      if (req.method === 'GET' && path === '/__sandbox/state') {
        return sendJson(res, 200, { url, count: store.count(), requestsPerSecond, failures: failures.state(), stats: stats() });
      }
      if (req.method === 'POST' && path === '/__sandbox/failures') {
        applyFailures(failures, await readJsonBody(req));
        return sendJson(res, 200, failures.state());
      }
      if (req.method === 'POST' && path === '/__sandbox/data') {
        const changed = applyData(data, await readJsonBody(req));
        return sendJson(res, 200, { changed, count: store.count() });
      }
      if (req.method === 'POST' && path === '/__sandbox/stats/reset') {
        resetStats();
        return sendJson(res, 200, stats());
      }
      return sendJson(res, 404, { error: `no control endpoint ${req.method} ${path}` });
    } catch (cause) {
      return sendJson(res, 400, { error: cause instanceof Error ? cause.message : String(cause) });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((cause: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, 500, { meta: { errors: [cause instanceof Error ? cause.message : 'internal error'] } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    apiKey,
    failures,
    data,
    stats,
    resetStats,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

interface ListAnswer {
  identifiers: Array<{ email: string; id: string | null; cio_id: string }>;
  ids: string[];
  next: string;
}

interface AttributesAnswer {
  customers: Array<{
    customer: {
      id: string | null;
      identifiers: { email: string; id: string | null; cio_id: string };
      attributes: Record<string, string>;
      timestamps: Record<string, number>;
      unsubscribed: boolean;
      devices: unknown[];
    };
  }>;
}

/**
 * At most `limit` admitted requests per key in any rolling window. Refused requests do
 * not count, so a client that waits as told gets through; one that keeps hammering keeps
 * being refused only while its earlier requests are still inside the window.
 */
class RollingLimiter {
  private readonly arrivals = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** 0 when the request is admitted (and counted); otherwise the ms until there is room. */
  admit(key: string, now: number): number {
    if (this.limit === Infinity) return 0;
    const times = (this.arrivals.get(key) ?? []).filter((at) => at > now - this.windowMs);
    this.arrivals.set(key, times);
    if (times.length >= this.limit) return (times[0] as number) + this.windowMs - now;
    times.push(now);
    return 0;
  }
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
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('body must be a JSON object');
  const fields = body as Record<string, unknown>;
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

const JSON_TYPE = 'application/json; charset=utf-8';

function errorBody(message: string): string {
  return JSON.stringify({ meta: { errors: [message] } });
}

function gatewayPage(status: number): string {
  return `<!DOCTYPE html><html><head><title>${status}</title></head><body><h1>${status}</h1><p>The service is temporarily unavailable.</p></body></html>`;
}

function send(res: ServerResponse, status: number, body: string, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers }).end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), JSON_TYPE);
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > MAX_BODY_BYTES) throw new Error('The request body is too large.');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new Error('The request body is not valid JSON.');
  }
}
