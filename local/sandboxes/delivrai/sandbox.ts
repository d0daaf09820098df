/**
 * The Delivr.ai sandbox's HTTP server: the Events API (`GET /api/v1/events`, and
 * `GET /api/v1/events_schema`) over a deterministic data set, both of Delivr.ai's
 * authentication schemes, its per-organization rate limit, and the `/__sandbox/*` control
 * endpoints that let a separately running local stack be driven into failure modes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { checkMs, parseFailureBody, parseFlag, parseMs, parseTimes, truncatedJson } from '../shared/failures';
import { answerControl, type BodyLimits, close, type ControlEndpoints, Delays, isRecord, JSON_TYPE, listen, requestListener, send } from '../shared/http';
import { increment } from '../shared/stats';
import { type DataSetSizes, defaultDataSetSizes, DelivrAiDataStore, type DelivrAiWireEvent, HOUR_MS } from './data';
import { type DelivrAiSandboxFailures, FailureModes, RateLimiter, type RateDecision } from './failures';

/** Options of {@link startDelivrAiSandbox}. */
export interface DelivrAiSandboxOptions {
  /** Port on 127.0.0.1; 0 or undefined picks a free one. */
  readonly port?: number;
  /** Resolved visitors (people) in the generated history. @default 200 */
  readonly visitors?: number;
  /** Companies they work at. @default 60 */
  readonly companies?: number;
  /** Seed of the generated data; the same seed and start time give the same events. @default 20260305 */
  readonly seed?: number;
  /** The key the API accepts: with `apiSecret` as `X-Api-Key`, or alone as a bearer token. @default 'sandbox-key' */
  readonly apiKey?: string;
  /** The secret that goes with the key in `X-Api-Secret` (Delivr.ai's current scheme). @default 'sandbox-secret' */
  readonly apiSecret?: string;
  /** The one organization the key belongs to. @default 'sandbox-org' */
  readonly organizationId?: string;
  /** The data clock: history ends at its value when the sandbox starts, `addVisits` stamps with it. @default Date.now */
  readonly now?: () => number;
  /**
   * The per-organization rate limit, on the real clock; `false` turns it off (load tests).
   * @default { perSecond: 25, burst: 50 } (Delivr.ai's documented limit)
   */
  readonly rateLimit?: false | { readonly perSecond?: number; readonly burst?: number };
  /**
   * More organizations on the same sandbox, after the first one (which `organizationId`,
   * `apiKey`, `visitors`, `companies` and `seed` describe). Each has its own data set and
   * its own rate-limit bucket; failure modes and stats are the sandbox's.
   */
  readonly organizations?: readonly DelivrAiOrganizationOptions[];
  /**
   * Event fields this Delivr.ai does not have (as if it named them otherwise): left out of
   * every event and of `GET /api/v1/events_schema`. @default none
   */
  readonly omitFields?: readonly string[];
  /** Whether `GET /api/v1/events_schema` exists; false answers it 404. @default true */
  readonly eventsSchema?: boolean;
}

/**
 * An additional Delivr.ai organization. Delivr.ai's newer pages pick the organization with
 * `x-organization-id` next to the bearer credential, so one credential may reach several
 * organizations: without its own `apiKey`, an organization is reached with the sandbox's
 * key (the reading that matches that header). With one, only that key reaches it (an
 * account of its own), and it reaches nothing else.
 */
export interface DelivrAiOrganizationOptions {
  /** The organization id (`config.organizationId`): letters, digits, "-" and "_", at most 128. */
  readonly id: string;
  /** The key that reaches it. @default the sandbox's `apiKey` */
  readonly apiKey?: string;
  /** The secret that goes with its key. @default the sandbox's `apiSecret` */
  readonly apiSecret?: string;
  /** Resolved visitors. @default 80 */
  readonly visitors?: number;
  /** Their companies. @default 25 */
  readonly companies?: number;
  /** Seed of its data. @default the sandbox's seed + the organization's position (1, 2, ...) */
  readonly seed?: number;
}

/**
 * Sizes of an additional organization that names none: smaller than the first
 * organization's defaults, so a tenant that moves from one to the other shows it in its counts.
 */
export const defaultExtraOrganizationSizes: DataSetSizes = { visitors: 80, companies: 25 };

/** One organization of a running sandbox. */
export interface DelivrAiSandboxOrganization {
  readonly organizationId: string;
  /** The key that reaches it. */
  readonly apiKey: string;
  /** The secret that goes with that key. */
  readonly apiSecret: string;
  /** Its one project (`project_id` scope). */
  readonly projectId: string;
  /** Its project's one pixel (`pixel_id` scope). */
  readonly pixelId: string;
  /** Its data changes and counts. */
  readonly data: DelivrAiSandboxData;
}

/** One events query the sandbox parsed (valid or not), for assertions about what a client asked. */
export interface DelivrAiQuery {
  readonly startMs: number;
  readonly endMs: number;
  readonly limit: number;
  readonly offset: number;
  readonly status: number;
}

/** Request counters since start or the last {@link DelivrAiSandbox.resetStats}. */
export interface DelivrAiSandboxStats {
  /** Every request except the `/__sandbox/*` control endpoints. */
  readonly requests: number;
  /** Answers per HTTP status, e.g. `{ "200": 31, "429": 2 }`. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** 429s from the real rate limit (not from `failures.throttle`). */
  readonly rateLimited: number;
  /** Events sent in successful answers. */
  readonly eventsReturned: number;
  /** The widest `end_ms - start_ms` any request asked for, accepted or not. */
  readonly largestWindowMs: number;
  /** Events queries with parseable windows, oldest first (at most the last 10,000). */
  readonly queries: readonly DelivrAiQuery[];
}

/** Data changes and counts. */
export interface DelivrAiSandboxData {
  /**
   * Records `n` visits stamped with the data clock's now: some by existing visitors, some
   * by new people at existing companies. Returns the new events as the API renders them.
   */
  addVisits(n: number): DelivrAiWireEvent[];
  /** Events, distinct people and distinct companies in the data set. */
  count(): { events: number; people: number; companies: number };
}

/** A running Delivr.ai sandbox. */
export interface DelivrAiSandbox {
  /** `http://127.0.0.1:PORT`: the adapter's base URL. */
  readonly url: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly organizationId: string;
  /** The organization's one project (`project_id` scope). */
  readonly projectId: string;
  /** The project's one pixel (`pixel_id` scope). */
  readonly pixelId: string;
  readonly failures: DelivrAiSandboxFailures;
  /** The first organization's data (the same as `organization().data`). */
  readonly data: DelivrAiSandboxData;
  /** The organization with this id (omitted: the first); throws a RangeError for an unknown id. */
  organization(id?: string): DelivrAiSandboxOrganization;
  /** Every organization, the first one first. */
  organizations(): DelivrAiSandboxOrganization[];
  /** From now on, leaves these fields out of events and of the schema (see `omitFields`); `[]` serves all again. */
  omitFields(names: readonly string[]): void;
  stats(): DelivrAiSandboxStats;
  resetStats(): void;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

const DEFAULT_SEED = 20260305;
/** The documented window limit: `end_ms - start_ms` at most 25 hours. */
export const MAX_WINDOW_MS = 25 * HOUR_MS;
/** Rows per page when `limit` is not given (documented). */
export const DEFAULT_LIMIT = 300;
/**
 * Unclear: the documentation names no maximum `limit`. The sandbox serves at most this many
 * rows and says so in the answer's `limit`, so a client must page by `total`, not by
 * "fewer rows than I asked for".
 */
export const MAX_LIMIT = 1000;
const MAX_QUERIES_KEPT = 10_000;
const BODY_LIMITS: BodyLimits = { maxBytes: 1 << 16 };
const SCOPES = ['organization_id', 'pixel_id', 'project_id'] as const;
const EVENTS_PATH = '/api/v1/events';
const EVENTS_SCHEMA_PATH = '/api/v1/events_schema';

/**
 * The fields of an event, as `GET /api/v1/events_schema` lists them. Unclear: Delivr.ai
 * documents "a list of available fields (name, type, nullable)" (132 of them) but no body;
 * the sandbox answers `{"fields": [{"name", "type", "nullable"}]}` for the fields it serves.
 */
export const EVENT_SCHEMA: ReadonlyArray<{ readonly name: keyof DelivrAiWireEvent; readonly type: string; readonly nullable: boolean }> = [
  { name: 'event_id', type: 'string', nullable: false },
  { name: 'timestamp', type: 'int64', nullable: false },
  { name: 'event_type', type: 'string', nullable: false },
  { name: 'page_url', type: 'string', nullable: true },
  { name: 'pixel_id', type: 'string', nullable: false },
  { name: 'project_id', type: 'string', nullable: false },
  { name: 'organization_id', type: 'string', nullable: false },
  { name: 'resolved', type: 'boolean', nullable: false },
  { name: 'person_id', type: 'string', nullable: true },
  { name: 'first_name', type: 'string', nullable: true },
  { name: 'last_name', type: 'string', nullable: true },
  { name: 'email', type: 'string', nullable: true },
  { name: 'job_title', type: 'string', nullable: true },
  { name: 'company_name', type: 'string', nullable: true },
  { name: 'company_domain', type: 'string', nullable: true },
  { name: 'company_industry', type: 'string', nullable: true },
  { name: 'company_size', type: 'string', nullable: true },
];

/**
 * Starts a Delivr.ai sandbox on 127.0.0.1: `GET /api/v1/events` with Delivr.ai's scopes,
 * window limit, offset paging and rate limit, over resolved visitors from a seed.
 */
export async function startDelivrAiSandbox(options: DelivrAiSandboxOptions = {}): Promise<DelivrAiSandbox> {
  const visitors = size('visitors', options.visitors, defaultDataSetSizes.visitors);
  const companies = size('companies', options.companies, defaultDataSetSizes.companies);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const apiKey = options.apiKey ?? 'sandbox-key';
  const apiSecret = options.apiSecret ?? 'sandbox-secret';
  const organizationId = options.organizationId ?? 'sandbox-org';
  if (apiKey === '' || apiSecret === '' || organizationId === '') throw new RangeError('apiKey, apiSecret and organizationId must not be empty');
  let omitted = new Set<string>(options.omitFields ?? []);
  const schemaServed = options.eventsSchema ?? true;
  const now = options.now ?? Date.now;
  const startedAt = now();
  const makeOrganization = (id: string, key: string, secret: string, sizes: DataSetSizes, orgSeed: number): Organization => {
    const scope = { organizationId: id, projectId: `${id}-project`, pixelId: `${id}-pixel` };
    const store = new DelivrAiDataStore(sizes, orgSeed, startedAt, scope, now);
    return { scope, apiKey: key, apiSecret: secret, store, data: { addVisits: (n) => store.addVisits(n), count: () => store.counts() } };
  };
  const first = makeOrganization(organizationId, apiKey, apiSecret, { visitors, companies }, seed);
  const organizations: Organization[] = [first];
  for (const [i, extra] of (options.organizations ?? []).entries()) {
    if (typeof extra?.id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(extra.id)) {
      throw new RangeError(`organizations[${i}].id must be letters, digits, "-" and "_" (at most 128), got ${JSON.stringify(extra?.id)}`);
    }
    for (const name of ['apiKey', 'apiSecret'] as const) {
      const value = extra[name];
      if (value !== undefined && (typeof value !== 'string' || value === '')) throw new RangeError(`organizations[${i}].${name} must be a non-empty string`);
    }
    const orgSeed = extra.seed ?? seed + i + 1;
    if (!Number.isInteger(orgSeed)) throw new RangeError(`organizations[${i}].seed must be an integer, got ${orgSeed}`);
    const sizes = {
      visitors: size(`organizations[${i}].visitors`, extra.visitors, defaultExtraOrganizationSizes.visitors),
      companies: size(`organizations[${i}].companies`, extra.companies, defaultExtraOrganizationSizes.companies),
    };
    organizations.push(makeOrganization(extra.id, extra.apiKey ?? apiKey, extra.apiSecret ?? apiSecret, sizes, orgSeed));
  }
  // Every scope id names one organization: no two organizations, projects or pixels share an id.
  const scopeIds = organizations.flatMap((org) => [org.scope.organizationId, org.scope.projectId, org.scope.pixelId]);
  const clash = scopeIds.find((id, index) => scopeIds.indexOf(id) !== index);
  if (clash !== undefined) throw new RangeError(`organization, project and pixel ids must be distinct; ${clash} is used twice`);
  const organizationById = (id: string = organizationId): Organization => {
    const org = organizations.find((candidate) => candidate.scope.organizationId === id);
    if (!org) throw new RangeError(`unknown organization ${id}; one of ${organizations.map((candidate) => candidate.scope.organizationId).join(', ')}`);
    return org;
  };
  const publicOrganization = (org: Organization): DelivrAiSandboxOrganization => ({
    organizationId: org.scope.organizationId,
    apiKey: org.apiKey,
    apiSecret: org.apiSecret,
    projectId: org.scope.projectId,
    pixelId: org.scope.pixelId,
    data: org.data,
  });
  const scope = first.scope;
  const limiter =
    options.rateLimit === false ? undefined : new RateLimiter(options.rateLimit?.perSecond ?? 25, options.rateLimit?.burst ?? 50);
  const modes = new FailureModes();
  const delays = new Delays();
  let counters = freshCounters();

  const failures: DelivrAiSandboxFailures = {
    throttle: (times, resetSeconds = 1) => {
      if (!Number.isFinite(resetSeconds) || resetSeconds < 0) throw new RangeError(`throttle resetSeconds must be a non-negative number, got ${resetSeconds}`);
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
    reset: () => modes.reset(),
    state: () => modes.state(),
  };

  const data = first.data;

  const stats = (): DelivrAiSandboxStats => ({
    requests: counters.requests,
    byStatus: { ...counters.byStatus },
    rateLimited: counters.rateLimited,
    eventsReturned: counters.eventsReturned,
    largestWindowMs: counters.largestWindowMs,
    queries: [...counters.queries],
  });
  const resetStats = (): void => {
    counters = freshCounters();
  };

  const server = createServer();
  const url = await listen(server, options.port);

  /** Sends and counts an API answer. */
  function answer(res: ServerResponse, status: number, body: string, type: string, headers: Record<string, string> = {}): void {
    increment(counters.byStatus, status);
    send(res, status, body, type, headers);
  }
  function apiError(res: ServerResponse, status: number, error: string, message: string, headers: Record<string, string> = {}): void {
    answer(res, status, JSON.stringify({ error, message }), JSON_TYPE, headers);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestUrl = new URL(req.url ?? '/', url);
    const path = requestUrl.pathname;
    if (path.startsWith('/__sandbox/')) return answerControl(req, res, path, control, BODY_LIMITS);
    counters.requests++;
    if (modes.slowMs > 0) await delays.wait(modes.slowMs);

    // An outage comes before anything else, authentication included.
    if (modes.serverError.take()) {
      const html = modes.serverErrorsServed++ % 2 === 0;
      if (html) return answer(res, 502, BAD_GATEWAY_PAGE, 'text/html; charset=utf-8');
      return apiError(res, 500, 'internal_error', 'An internal error occurred.');
    }
    const schemaCall = path === EVENTS_SCHEMA_PATH && schemaServed;
    if (path !== EVENTS_PATH && !schemaCall) return apiError(res, 404, 'not_found', `No route for ${req.method} ${path}.`);
    if (req.method !== 'GET') return apiError(res, 405, 'method_not_allowed', 'Only GET is allowed.', { Allow: 'GET' });

    // Two schemes, as Delivr.ai's pages describe them. The current authentication page: data
    // APIs take an organization key and its secret, `X-Api-Key: dlvr_...` plus `X-Api-Secret`,
    // "on every request" (a key alone, as the older apiv2 reference sent it, is refused). The
    // older, now deprecated bearer flow: `Authorization: Bearer` plus `x-organization-id`;
    // without that header a bearer call gets raw events without identity enrichment.
    const xApiKey = header(req, 'x-api-key');
    const xApiSecret = header(req, 'x-api-secret');
    const bearer = /^Bearer\s+(.+)$/i.exec(header(req, 'authorization') ?? '')?.[1]?.trim();
    if (xApiKey !== undefined && xApiSecret === undefined) {
      return apiError(res, 401, 'unauthorized', 'X-Api-Secret is required with X-Api-Key.');
    }
    const scheme: 'keyAndSecret' | 'bearer' | undefined = xApiKey !== undefined ? 'keyAndSecret' : bearer !== undefined ? 'bearer' : undefined;
    // The organizations the credentials reach: a key may reach several (see DelivrAiOrganizationOptions).
    const reachable = organizations.filter((org) =>
      scheme === 'keyAndSecret' ? org.apiKey === xApiKey && org.apiSecret === xApiSecret : scheme === 'bearer' && org.apiKey === bearer,
    );
    if (reachable.length === 0) {
      return apiError(res, 401, 'unauthorized', 'Missing or invalid API key.', { 'WWW-Authenticate': 'Bearer' });
    }
    const organizationHeader = header(req, 'x-organization-id');
    // The organization asked for: the header's, else the one the query's scope id belongs to,
    // else the first the key reaches (the scope check below then refuses the query).
    const scopeValue = SCOPES.map((name) => requestUrl.searchParams.get(name)).find((value) => value);
    const target =
      organizationHeader !== undefined
        ? reachable.find((org) => org.scope.organizationId === organizationHeader)
        : (reachable.find((org) => [org.scope.organizationId, org.scope.projectId, org.scope.pixelId].includes(scopeValue ?? '')) ??
          reachable[0]);
    if (!target) {
      return apiError(res, 403, 'forbidden', 'The API key has no access to this organization.');
    }
    // An organization key is the organization's: its events come enriched. A bearer call only with x-organization-id.
    const enriched = scheme === 'keyAndSecret' || organizationHeader !== undefined;

    if (limiter) {
      const decision = limiter.take(target.scope.organizationId);
      if (!decision.allowed) {
        counters.rateLimited++;
        return tooManyRequests(res, decision.limit, decision.retryAfterSeconds, decision);
      }
      res.setHeader('X-RateLimit-Limit', String(decision.limit));
      res.setHeader('X-RateLimit-Remaining', String(decision.remaining));
      res.setHeader('X-RateLimit-Reset', String(epochSecondsIn(decision.fullInSeconds)));
    }
    if (modes.throttle.take()) return tooManyRequests(res, limiter?.perSecond ?? 25, modes.throttleResetSeconds);
    if (schemaCall) {
      const fields = EVENT_SCHEMA.filter((field) => !omitted.has(field.name));
      return answer(res, 200, JSON.stringify({ fields }), JSON_TYPE);
    }

    const query = parseQuery(requestUrl.searchParams);
    if (query.window) counters.largestWindowMs = Math.max(counters.largestWindowMs, query.window.endMs - query.window.startMs);
    const record = (status: number): void => {
      if (!query.window) return;
      counters.queries.push({ ...query.window, limit: query.limit ?? DEFAULT_LIMIT, offset: query.offset ?? 0, status });
      if (counters.queries.length > MAX_QUERIES_KEPT) counters.queries.shift();
    };
    if (query.error) {
      record(400);
      return apiError(res, 400, 'bad_request', query.error);
    }
    const scopeId = query.scope!;
    if (scheme === 'keyAndSecret' && scopeId.name !== 'pixel_id') {
      // apiv3's events reference marks pixel_id required; the older pages' organization and
      // project scopes are the sandbox's reading of the deprecated bearer flow only.
      record(400);
      return apiError(res, 400, 'bad_request', 'pixel_id is required (the pixel UUID to scope the query).');
    }
    const owned =
      scopeId.name === 'organization_id' ? target.scope.organizationId : scopeId.name === 'project_id' ? target.scope.projectId : target.scope.pixelId;
    if (scopeId.value !== owned) {
      record(403);
      return apiError(res, 403, 'forbidden', `The API key has no access to this ${scopeId.name.replace('_id', '')}.`);
    }
    record(200);
    const { startMs, endMs } = query.window!;
    const limit = Math.min(query.limit!, MAX_LIMIT);
    const offset = query.offset!;
    const page = target.store.window(startMs, endMs, offset, limit);
    counters.eventsReturned += page.events.length;
    const rendered = page.events.map((event) => withoutOmitted(target.store.render(event, enriched)));
    const body = JSON.stringify({ data: rendered, total: page.total, limit, offset });
    if (modes.malformedJson.take()) return answer(res, 200, truncatedJson(body), JSON_TYPE);
    return answer(res, 200, body, JSON_TYPE);
  }

  function withoutOmitted(event: DelivrAiWireEvent): Partial<DelivrAiWireEvent> {
    if (omitted.size === 0) return event;
    return Object.fromEntries(Object.entries(event).filter(([name]) => !omitted.has(name)));
  }

  function tooManyRequests(res: ServerResponse, limit: number, waitSeconds: number, decision?: RateDecision): void {
    const retryAfter = Math.max(1, Math.ceil(waitSeconds));
    apiError(res, 429, 'rate_limited', `Rate limit of ${limit} requests per second exceeded.`, {
      'Retry-After': String(retryAfter),
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': String(decision?.remaining ?? 0),
      // Unclear whether Delivr.ai's reset is epoch seconds or seconds to wait; the sandbox
      // sends epoch seconds (the more common reading), the adapter accepts both.
      'X-RateLimit-Reset': String(epochSecondsIn(retryAfter)),
    });
  }

  const control: ControlEndpoints = {
    // Never the API key: the state may end up in logs.
    state: () => ({
      url,
      organizationId,
      projectId: scope.projectId,
      pixelId: scope.pixelId,
      counts: data.count(),
      failures: failures.state(),
      stats: stats(),
      organizations: organizations.map((org) => ({ ...org.scope, counts: org.data.count() })),
    }),
    applyFailures: (body) => applyFailures(failures, body),
    failureState: () => failures.state(),
    data: (body) => {
      if (!isRecord(body) || Object.keys(body).some((key) => key !== 'addVisits' && key !== 'organization')) {
        throw new Error('body must be {"addVisits": n} (with "organization": id for another organization than the first)');
      }
      const n = body.addVisits ?? 0;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new Error('addVisits must be a non-negative integer');
      if (body.organization !== undefined && typeof body.organization !== 'string') throw new Error('organization must be an organization id');
      const target = organizationById(body.organization);
      return { added: target.data.addVisits(n), counts: target.data.count() };
    },
    resetStats,
    stats,
    more: {
      // `POST /__sandbox/fields {"omit": ["person_id"]}`: the schema a separately running stack sees.
      fields: (body) => {
        const omit = isRecord(body) ? body.omit : undefined;
        if (!Array.isArray(omit) || !omit.every((name) => typeof name === 'string')) throw new Error('body must be {"omit": ["field", ...]}');
        omitted = new Set(omit);
        return { omitted: [...omitted] };
      },
    },
  };

  server.on('request', requestListener(handle, (res, message) => apiError(res, 500, 'internal_error', message)));

  return {
    url,
    apiKey,
    apiSecret,
    organizationId,
    projectId: scope.projectId,
    pixelId: scope.pixelId,
    failures,
    data,
    organization: (id) => publicOrganization(organizationById(id)),
    organizations: () => organizations.map(publicOrganization),
    omitFields: (names) => {
      omitted = new Set(names);
    },
    stats,
    resetStats,
    close: async () => {
      delays.cancelAll();
      await close(server);
    },
  };
}

/** One organization of the sandbox. */
interface Organization {
  readonly scope: { readonly organizationId: string; readonly projectId: string; readonly pixelId: string };
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly store: DelivrAiDataStore;
  readonly data: DelivrAiSandboxData;
}

interface ParsedQuery {
  scope?: { name: (typeof SCOPES)[number]; value: string };
  window?: { startMs: number; endMs: number };
  limit?: number;
  offset?: number;
  error?: string;
}

/** Reads and checks the events query; `error` is the 400 message. `window` is set whenever both ends parse. */
function parseQuery(params: URLSearchParams): ParsedQuery {
  const parsed: ParsedQuery = {};
  const start = integer(params.get('start_ms'));
  const end = integer(params.get('end_ms'));
  if (start !== undefined && end !== undefined) parsed.window = { startMs: start, endMs: end };
  const given = SCOPES.filter((name) => (params.get(name) ?? '') !== '');
  // Delivr.ai documents a precedence when several are given; the sandbox is stricter, so a
  // client that sends two scopes (and might read another one than it meant) finds out.
  if (given.length !== 1) return { ...parsed, error: 'Exactly one of organization_id, pixel_id or project_id is required.' };
  parsed.scope = { name: given[0]!, value: params.get(given[0]!)! };
  if (start === undefined || end === undefined) return { ...parsed, error: 'start_ms and end_ms are required (epoch milliseconds).' };
  if (end < start) return { ...parsed, error: 'end_ms must not be before start_ms.' };
  if (end - start > MAX_WINDOW_MS) return { ...parsed, error: `The time window must be at most 25 hours (end_ms - start_ms <= ${MAX_WINDOW_MS}).` };
  const limit = params.has('limit') ? integer(params.get('limit')) : DEFAULT_LIMIT;
  if (limit === undefined || limit < 1) return { ...parsed, error: 'limit must be a positive integer.' };
  parsed.limit = limit;
  const offset = params.has('offset') ? integer(params.get('offset')) : 0;
  if (offset === undefined || offset < 0) return { ...parsed, error: 'offset must be a non-negative integer.' };
  parsed.offset = offset;
  return parsed;
}

/**
 * Applies a `POST /__sandbox/failures` body, e.g.
 * `{"reset":true,"throttle":{"times":2,"resetSeconds":3},"serverError":1,"malformedJson":"always","slow":200}`.
 * Counts are non-negative integers or `"always"`; `reset` applies first.
 */
function applyFailures(failures: DelivrAiSandboxFailures, body: unknown): void {
  const fields = parseFailureBody(body, ['reset', 'throttle', 'serverError', 'malformedJson', 'slow']);
  if (fields.reset !== undefined && parseFlag('reset', fields.reset)) failures.reset();
  if (fields.throttle !== undefined) {
    const value = fields.throttle;
    if (isRecord(value)) {
      if (value.resetSeconds !== undefined && typeof value.resetSeconds !== 'number') throw new Error('throttle.resetSeconds must be a number');
      failures.throttle(parseTimes('throttle.times', value.times), value.resetSeconds as number | undefined);
    } else {
      failures.throttle(parseTimes('throttle', value));
    }
  }
  if (fields.serverError !== undefined) failures.serverError(parseTimes('serverError', fields.serverError));
  if (fields.malformedJson !== undefined) failures.malformedJson(parseTimes('malformedJson', fields.malformedJson));
  if (fields.slow !== undefined) failures.slow(parseMs('slow', fields.slow));
}

interface Counters {
  requests: number;
  byStatus: Record<string, number>;
  rateLimited: number;
  eventsReturned: number;
  largestWindowMs: number;
  queries: DelivrAiQuery[];
}

function freshCounters(): Counters {
  return { requests: 0, byStatus: {}, rateLimited: 0, eventsReturned: 0, largestWindowMs: 0, queries: [] };
}

const BAD_GATEWAY_PAGE = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>';

function size(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text === '' ? undefined : text;
}

function integer(text: string | null): number | undefined {
  if (text === null || !/^-?\d{1,16}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

function epochSecondsIn(seconds: number): number {
  return Math.ceil((Date.now() + seconds * 1000) / 1000);
}
