/**
 * The Office 365 sandbox's HTTP server: the Microsoft identity platform's authorize and
 * token endpoints, Graph's `/v1.0/me` and `/v1.0/me/contacts/delta`, and the
 * `/__sandbox/*` control endpoints that let a separately running local stack be driven
 * into failure modes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { checkMs, checkTimes, parseFailureBody, parseFlag, parseMs, parseTimes, truncatedJson } from '../shared/failures';
import {
  answerControl,
  type BodyLimits,
  close,
  type ControlEndpoints,
  Delays,
  escapeHtml,
  isRecord,
  JSON_TYPE,
  listen,
  readForm,
  requestListener,
  send,
  sendJson,
} from '../shared/http';
import { basicCredentials } from '../shared/oauth';
import { increment } from '../shared/stats';
import { type ContactChanges, ContactStore, CONTACTS_FOLDER_ID, DEFAULT_CONTACTS, DEFAULT_SEED, type FolderSpec, type GraphContactFolder } from './contacts';
import { FailureModes, type FailureTarget, type O365SandboxFailures } from './failures';
import { ContactsDelta, folderAnswer, folderList, type GraphAnswer, graphError, KEPT_GENERATIONS, pageSizeFromPrefer } from './graph';
import { IdentityServer, identityError, SANDBOX_TENANT_ID } from './identity';

/** Options of {@link startO365Sandbox}. */
export interface O365SandboxOptions {
  /** Port on 127.0.0.1; 0 or undefined picks a free one. */
  readonly port?: number;
  /** Contacts in the mailbox at start. @default 150 */
  readonly contacts?: number;
  /** Seed of the generated contacts; the same seed gives the same contacts. @default 20260305 */
  readonly seed?: number;
  /**
   * Contact folders besides the default Contacts folder (a parent is named by its
   * displayName, listed before it); half the contacts go to the default folder, the rest
   * spread over these. `[]`: the default folder only. @default DEFAULT_FOLDERS
   */
  readonly folders?: readonly FolderSpec[];
  /** Sync-state generations a folder keeps; older skip and delta tokens answer 410. @default 5 */
  readonly keptGenerations?: number;
  /**
   * Whether the app registration is multi-tenant. A single-tenant app cannot sign in at
   * `/common` (or `/organizations`, `/consumers`): Microsoft answers AADSTS50194. @default true
   */
  readonly multiTenant?: boolean;
  /** The app registration's application (client) id. @default 'sandbox-o365-client-id' */
  readonly clientId?: string;
  /** The app registration's client secret. @default 'sandbox-o365-client-secret' */
  readonly clientSecret?: string;
  /**
   * Registered redirect URIs. When given, `redirect_uri` must be one of them exactly;
   * otherwise any absolute http(s) URL without a fragment is accepted.
   */
  readonly redirectUris?: readonly string[];
}

/** Request counters since start or the last {@link O365Sandbox.resetStats}. */
export interface O365SandboxStats {
  /** Every request except the `/__sandbox/*` control endpoints. */
  readonly requests: number;
  /** Requests per endpoint: authorize, token, me, contactFolders, contactFolder, childFolders, contactsDelta, notFound. */
  readonly byEndpoint: Readonly<Record<string, number>>;
  /** Graph calls (`/v1.0/...`), failed ones included. */
  readonly graphCalls: number;
  /** Token-endpoint calls with `grant_type=refresh_token` that passed client authentication. */
  readonly tokenRefreshes: number;
  /** Token-endpoint calls with `grant_type=authorization_code` that passed client authentication. */
  readonly codeExchanges: number;
  /** Contacts (and removals) sent in delta pages. */
  readonly recordsReturned: number;
}

/** Contact changes for incremental-sync tests; contacts are picked with the sandbox's seeded generator. */
export interface O365SandboxData {
  /** Creates `n` contacts stamped now, in a folder (the default Contacts folder unless given); returns their ids. */
  add(n: number, folderId?: string): string[];
  /**
   * Changes `n` live contacts (job title, sometimes company) and stamps them now; returns
   * their ids. Delta rounds send only the properties that changed.
   */
  modify(n: number): string[];
  /** Sets these properties of a live contact (null clears one) and stamps it now. */
  update(id: string, changes: ContactChanges): void;
  /** Deletes `n` live contacts; later delta rounds report them as `@removed`. Returns their ids. */
  remove(n: number): string[];
  /** Live contacts. */
  count(): number;
  /** Live contacts of one folder. */
  contactsIn(folderId: string): string[];
  /** Every live contact folder, the default one first. */
  folders(): GraphContactFolder[];
  /** Creates a contact folder under `parentId` (the default Contacts folder unless given); returns its id. */
  addFolder(displayName: string, parentId?: string): string;
  /** Deletes a folder with its child folders and their contacts; its tokens then answer 404. Returns the contacts removed. */
  removeFolder(id: string): string[];
}

/** A running Office 365 sandbox. */
export interface O365Sandbox {
  /** `http://127.0.0.1:PORT`: both the login URL (`/{tenant}/oauth2/v2.0/...`) and the Graph URL (`/v1.0/...`). */
  readonly url: string;
  /** The app registration's application (client) id. */
  readonly clientId: string;
  /** The app registration's client secret. */
  readonly clientSecret: string;
  /** The sandbox directory's tenant id (any tenant segment is accepted in URLs, but a single-tenant app's `/common`). */
  readonly tenantId: string;
  /** The default Contacts folder's id (its well-known name is `contacts`). */
  readonly defaultFolderId: string;
  /** Switchable failure modes. */
  readonly failures: O365SandboxFailures;
  /** Contact changes and counts. */
  readonly data: O365SandboxData;
  /** Request counters. */
  stats(): O365SandboxStats;
  /** Zeroes the request counters. */
  resetStats(): void;
  /** Every code, access token, refresh token and ID token issued so far, plus the client secret. */
  secretsIssued(): string[];
  /** Moves the sandbox clock forward (code and access-token expiry; change stamps). */
  advanceTime(ms: number): void;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

const BODY_LIMITS: BodyLimits = { maxBytes: 1 << 20 };
const IDENTITY_PATH = /^\/([A-Za-z0-9.-]{1,64})\/oauth2\/v2\.0\/(authorize|token)$/;
/** Tenant segments that are no tenant: a single-tenant app cannot use them. */
const MULTI_TENANT_SEGMENTS = new Set(['common', 'organizations', 'consumers']);
/** `/v1.0/me/contactFolders[/{id} or ('{id}')][/childFolders | /contacts/delta]`. */
const FOLDER_PATH = /^\/v1\.0\/me\/contactFolders(?:(?:\/([^/()]+)|\('([^']+)'\))(\/childFolders|\/contacts\/(?:microsoft\.graph\.)?delta(?:\(\))?)?)?$/i;
/** What an Exchange item id looks like (URL-safe or standard base64); anything else is malformed, not unknown. */
const ID_SHAPE = /^[A-Za-z0-9+/_=-]{16,512}$/;
/** Graph's challenge on a 401, as Microsoft sends it (the client id is Graph's own application id). */
const WWW_AUTHENTICATE =
  'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"';

/**
 * Starts an Office 365 sandbox on 127.0.0.1: the Microsoft identity platform v2.0 auth
 * code flow with PKCE and rotating refresh tokens, and Graph's contacts delta query over
 * a deterministic mailbox.
 */
export async function startO365Sandbox(options: O365SandboxOptions = {}): Promise<O365Sandbox> {
  const contactCount = options.contacts ?? DEFAULT_CONTACTS;
  if (!Number.isSafeInteger(contactCount) || contactCount < 0) throw new RangeError(`contacts must be a non-negative integer, got ${contactCount}`);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const clientId = options.clientId ?? 'sandbox-o365-client-id';
  const clientSecret = options.clientSecret ?? 'sandbox-o365-client-secret';

  let clockOffset = 0;
  const now = (): number => Date.now() + clockOffset;
  const secrets: string[] = [clientSecret];
  const store = new ContactStore(contactCount, seed, now, options.folders);
  const multiTenant = options.multiTenant ?? true;
  const modes = new FailureModes();
  const delays = new Delays();
  let counters = freshCounters();

  // The server binds first, so links and issuers can name its URL.
  const server = createServer();
  const url = await listen(server, options.port);
  const identity = new IdentityServer({ clientId, clientSecret, url, redirectUris: options.redirectUris }, now, (secret) => secrets.push(secret));
  const keptGenerations = options.keptGenerations ?? KEPT_GENERATIONS;
  if (!Number.isSafeInteger(keptGenerations) || keptGenerations < 1) throw new RangeError(`keptGenerations must be a positive integer, got ${keptGenerations}`);
  const delta = new ContactsDelta(store, url, now, keptGenerations);

  const failures: O365SandboxFailures = {
    consentDenied: (on) => {
      modes.consentDenied = on;
    },
    expireSessions: () => identity.expireSessions(),
    revokeGrant: () => identity.revokeAll(),
    expireDeltaLinks: (code) => delta.expireAll(code),
    throttle: (times, retryAfterSeconds, throttleOptions = {}) => {
      const status = throttleOptions.status ?? 429;
      if (status !== 429 && status !== 503) throw new RangeError('throttle status must be 429 or 503');
      if (!Number.isFinite(retryAfterSeconds) || retryAfterSeconds < 0) {
        throw new RangeError(`throttle needs a non-negative retryAfterSeconds, got ${retryAfterSeconds}`);
      }
      modes.throttle = { times: checkTimes('throttle', times), retryAfterSeconds: Math.ceil(retryAfterSeconds), status, target: checkTarget(throttleOptions.target) };
    },
    serverError: (times, errorOptions = {}) => {
      const status = errorOptions.status ?? 500;
      if (status !== 500 && status !== 502 && status !== 504) throw new RangeError('serverError status must be 500, 502 or 504');
      modes.serverError = { times: checkTimes('serverError', times), status, target: checkTarget(errorOptions.target) };
    },
    malformedJson: (times) => {
      modes.malformedJson = checkTimes('malformedJson', times);
    },
    slow: (ms) => {
      modes.slowMs = checkMs('slow', ms);
    },
    reset: () => modes.reset(),
    state: () => modes.state(),
  };

  const data: O365SandboxData = {
    add: (n, folderId) => store.add(n, folderId),
    modify: (n) => store.modify(n),
    update: (id, changes) => store.update(id, changes),
    remove: (n) => store.remove(n),
    count: () => store.count(),
    contactsIn: (folderId) => store.liveIds(folderId),
    folders: () => store.allFolders(),
    addFolder: (displayName, parentId) => store.addFolder(displayName, parentId),
    removeFolder: (id) => store.removeFolder(id),
  };

  const stats = (): O365SandboxStats => ({
    requests: counters.requests,
    byEndpoint: { ...counters.byEndpoint },
    graphCalls: counters.graphCalls,
    tokenRefreshes: identity.counters.tokenRefreshes,
    codeExchanges: identity.counters.codeExchanges,
    recordsReturned: delta.recordsReturned,
  });
  const resetStats = (): void => {
    counters = freshCounters();
    identity.counters.tokenRefreshes = 0;
    identity.counters.codeExchanges = 0;
    delta.recordsReturned = 0;
  };
  const count = (endpoint: string): void => {
    counters.requests++;
    increment(counters.byEndpoint, endpoint);
  };

  /** A counted failure for this target, answered; true when one applied. */
  function injectedFailure(res: ServerResponse, target: FailureTarget): boolean {
    const throttled = modes.takeThrottle(target);
    if (throttled) {
      const headers = { 'Retry-After': String(throttled.retryAfterSeconds) };
      if (target === 'token') {
        sendJson(res, throttled.status, identityError(url, now(), 'temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.'), headers);
      } else if (throttled.status === 429) {
        sendGraph(res, graphError(429, 'TooManyRequests', 'Too many requests. Retry after the time given in the Retry-After header.', now(), headers));
      } else {
        sendGraph(res, graphError(503, 'serviceNotAvailable', 'The service is temporarily unavailable. Retry after the time given in the Retry-After header.', now(), headers));
      }
      return true;
    }
    const status = modes.takeServerError(target);
    if (status === undefined) return false;
    if (status === 500) {
      if (target === 'token') sendJson(res, 500, identityError(url, now(), 'server_error', 90033, 'A transient error has occurred. Please try again.'));
      else sendGraph(res, graphError(500, 'generalException', 'An unspecified error has occurred.', now()));
    } else {
      // 502 / 504 come from a gateway in front of the service: an HTML page, not JSON.
      send(res, status, gatewayPage(status), 'text/html; charset=utf-8');
    }
    return true;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestUrl = new URL(req.url ?? '/', url);
    const path = requestUrl.pathname;
    if (path.startsWith('/__sandbox/')) return answerControl(req, res, path, control, BODY_LIMITS);
    if (modes.slowMs > 0) await delays.wait(modes.slowMs);

    const identityPath = IDENTITY_PATH.exec(path);
    // A single-tenant app registration cannot sign in through a multi-tenant endpoint (Microsoft: AADSTS50194).
    const singleTenantRefusal =
      !multiTenant && identityPath && MULTI_TENANT_SEGMENTS.has(identityPath[1]!.toLowerCase())
        ? `Application '${clientId}' is not configured as a multi-tenant application. Usage of the /${identityPath[1]} endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.`
        : undefined;
    if (identityPath?.[2] === 'authorize') {
      count('authorize');
      if (req.method !== 'GET') return send(res, 405, 'Method Not Allowed', 'text/plain; charset=utf-8');
      if (singleTenantRefusal) return send(res, 400, errorPage('invalid_request', `AADSTS50194: ${singleTenantRefusal}`), 'text/html; charset=utf-8');
      const outcome = identity.authorize(requestUrl.searchParams, modes.consentDenied);
      if (outcome.kind === 'redirect') {
        res.writeHead(302, { Location: outcome.location, 'Cache-Control': 'no-store' }).end();
        return;
      }
      // Microsoft shows such errors on its own sign-in page, without redirecting.
      return send(res, outcome.status, errorPage(outcome.error, outcome.description), 'text/html; charset=utf-8');
    }
    if (identityPath?.[2] === 'token') {
      count('token');
      if (req.method !== 'POST') return send(res, 405, 'Method Not Allowed', 'text/plain; charset=utf-8');
      if (injectedFailure(res, 'token')) return;
      if (singleTenantRefusal) return sendJson(res, 400, identityError(url, now(), 'invalid_request', 50194, singleTenantRefusal), { 'Cache-Control': 'no-store' });
      // Only the body counts: parameters in the URL would put secrets into access logs.
      const answer = identity.token(await readForm(req, BODY_LIMITS), basicCredentials(req.headers.authorization));
      return sendJson(res, answer.status, answer.body, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    }
    if (path === '/v1.0' || path.startsWith('/v1.0/')) return graph(req, res, requestUrl);
    count('notFound');
    return send(res, 404, 'Not Found', 'text/plain; charset=utf-8');
  }

  async function graph(req: IncomingMessage, res: ServerResponse, requestUrl: URL): Promise<void> {
    counters.graphCalls++;
    const path = requestUrl.pathname.replace(/\/+$/, '');
    const folderPath = FOLDER_PATH.exec(path);
    const folderRef = folderPath ? decodeURIComponent(folderPath[1] ?? folderPath[2] ?? '') : '';
    const endpoint =
      path === '/v1.0/me'
        ? 'me'
        : /^\/v1\.0\/me\/contacts\/(?:microsoft\.graph\.)?delta(?:\(\))?$/i.test(path)
          ? 'contactsDelta'
          : !folderPath
            ? 'notFound'
            : !folderRef
              ? 'contactFolders'
              : !folderPath[3]
                ? 'contactFolder'
                : /childFolders/i.test(folderPath[3])
                  ? 'childFolders'
                  : 'contactsDelta';
    count(endpoint);
    if (endpoint === 'notFound') {
      return sendGraph(res, graphError(400, 'BadRequest', `Resource not found for the segment '${path.split('/').pop() ?? ''}'.`, now()));
    }
    if (req.method !== 'GET') return sendGraph(res, graphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.', now()));

    const session = identity.session(req.headers.authorization, endpoint === 'me' ? ['User.Read'] : ['Contacts.Read', 'Contacts.ReadWrite']);
    if ('problem' in session) {
      const message =
        session.problem === 'missing' ? 'Access token is empty.' : session.problem === 'expired' ? 'Lifetime validation failed, the token is expired.' : 'Access token validation failure.';
      return sendGraph(res, graphError(401, 'InvalidAuthenticationToken', message, now(), { 'WWW-Authenticate': WWW_AUTHENTICATE }));
    }
    if ('forbidden' in session) return sendGraph(res, graphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', now()));
    if (injectedFailure(res, 'graph')) return;

    let answer: GraphAnswer;
    const headers: Record<string, string> = {};
    if (endpoint === 'me') {
      answer = {
        status: 200,
        body: {
          '@odata.context': `${url}/v1.0/$metadata#users/$entity`,
          businessPhones: [],
          displayName: identity.user.name,
          givenName: 'Sandbox',
          surname: 'User',
          jobTitle: null,
          mail: identity.user.preferredUsername,
          mobilePhone: null,
          officeLocation: null,
          preferredLanguage: 'en-US',
          userPrincipalName: identity.user.preferredUsername,
          id: identity.user.oid,
        },
      };
    } else if (endpoint === 'contactFolders') {
      answer = folderList(store.childFolders(CONTACTS_FOLDER_ID), requestUrl, url, now());
    } else {
      // A folder: its well-known name, or an id; no folder id reaches /me/contacts/delta, which is the default folder's.
      const folderId = !folderRef ? CONTACTS_FOLDER_ID : folderRef.toLowerCase() === 'contacts' ? CONTACTS_FOLDER_ID : folderRef;
      const folder = store.folder(folderId);
      if (!folder) {
        answer = ID_SHAPE.test(folderId)
          ? graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.', now())
          : graphError(400, 'ErrorInvalidIdMalformed', 'Id is malformed.', now());
      } else if (endpoint === 'contactFolder') {
        answer = folderAnswer(folder, requestUrl.searchParams, url, now());
      } else if (endpoint === 'childFolders') {
        answer = folderList(store.childFolders(folder.id), requestUrl, url, now());
      } else {
        const pageSize = pageSizeFromPrefer(header(req, 'prefer'));
        if (pageSize.applied) headers['Preference-Applied'] = pageSize.applied;
        // Links name the folder as Graph's do (`contactFolders('<id>')`); the default folder's own path keeps its form.
        const linkPath = folderRef ? `/v1.0/me/contactFolders('${encodeURIComponent(folder.id)}')/contacts/delta` : '/v1.0/me/contacts/delta';
        answer = delta.answer({ folderId: folder.id, linkPath }, requestUrl.searchParams, pageSize.size);
      }
    }
    if (answer.status === 200 && modes.takeMalformedJson()) {
      return send(res, 200, truncatedJson(JSON.stringify(answer.body)), JSON_TYPE, headers);
    }
    return sendGraph(res, { ...answer, headers: { ...answer.headers, ...headers } });
  }

  const control: ControlEndpoints = {
    state: () => ({ url, tenantId: SANDBOX_TENANT_ID, contacts: store.count(), folders: store.allFolders(), failures: failures.state(), stats: stats() }),
    applyFailures: (body) => applyFailures(failures, body),
    failureState: () => failures.state(),
    data: (body) => ({ changed: applyData(data, body), contacts: store.count() }),
    resetStats,
    stats,
  };

  server.on('request', requestListener(handle, (res, message) => sendJson(res, 500, { error: message })));

  return {
    url,
    clientId,
    clientSecret,
    tenantId: SANDBOX_TENANT_ID,
    defaultFolderId: CONTACTS_FOLDER_ID,
    failures,
    data,
    stats,
    resetStats,
    secretsIssued: () => [...secrets],
    advanceTime: (ms) => {
      clockOffset += checkMs('advanceTime', ms);
    },
    close: async () => {
      delays.cancelAll();
      await close(server);
    },
  };
}

interface Counters {
  requests: number;
  byEndpoint: Record<string, number>;
  graphCalls: number;
}

function freshCounters(): Counters {
  return { requests: 0, byEndpoint: {}, graphCalls: 0 };
}

function checkTarget(target: string | undefined): FailureTarget {
  if (target === undefined) return 'graph';
  if (target !== 'graph' && target !== 'token') throw new RangeError(`failure target must be 'graph' or 'token', got ${target}`);
  return target;
}

/**
 * Applies a `POST /__sandbox/failures` body, e.g.
 * `{"reset":true,"throttle":{"times":2,"retryAfterSeconds":3,"status":503},"serverError":2,"slow":200}`.
 * Counts are non-negative integers or `"always"`; `reset` applies first.
 */
function applyFailures(failures: O365SandboxFailures, body: unknown): void {
  const fields = parseFailureBody(body, ['reset', 'consentDenied', 'expireSessions', 'revokeGrant', 'expireDeltaLinks', 'throttle', 'serverError', 'malformedJson', 'slow']);
  const target = (key: string, value: unknown): FailureTarget | undefined => {
    if (value === undefined || value === 'graph' || value === 'token') return value;
    throw new Error(`${key}.target must be "graph" or "token"`);
  };
  if (fields.reset !== undefined && parseFlag('reset', fields.reset)) failures.reset();
  if (fields.consentDenied !== undefined) failures.consentDenied(parseFlag('consentDenied', fields.consentDenied));
  if (fields.expireSessions !== undefined && parseFlag('expireSessions', fields.expireSessions)) failures.expireSessions();
  if (fields.revokeGrant !== undefined && parseFlag('revokeGrant', fields.revokeGrant)) failures.revokeGrant();
  if (fields.expireDeltaLinks === 'resyncRequired') failures.expireDeltaLinks('resyncRequired');
  else if (fields.expireDeltaLinks !== undefined && parseFlag('expireDeltaLinks', fields.expireDeltaLinks)) failures.expireDeltaLinks();
  if (fields.throttle !== undefined) {
    const value = fields.throttle;
    if (!isRecord(value)) throw new Error('throttle must be {"times", "retryAfterSeconds", "status"?, "target"?}');
    if (typeof value.retryAfterSeconds !== 'number') throw new Error('throttle.retryAfterSeconds must be a number');
    if (value.status !== undefined && value.status !== 429 && value.status !== 503) throw new Error('throttle.status must be 429 or 503');
    failures.throttle(parseTimes('throttle.times', value.times), value.retryAfterSeconds, { status: value.status, target: target('throttle', value.target) });
  }
  if (fields.serverError !== undefined) {
    const value = fields.serverError;
    if (isRecord(value)) {
      if (value.status !== undefined && value.status !== 500 && value.status !== 502 && value.status !== 504) {
        throw new Error('serverError.status must be 500, 502 or 504');
      }
      failures.serverError(parseTimes('serverError.times', value.times), { status: value.status, target: target('serverError', value.target) });
    } else {
      failures.serverError(parseTimes('serverError', value));
    }
  }
  if (fields.malformedJson !== undefined) failures.malformedJson(parseTimes('malformedJson', fields.malformedJson));
  if (fields.slow !== undefined) failures.slow(parseMs('slow', fields.slow));
}

/**
 * Applies a `POST /__sandbox/data` body, e.g. `{"modify":3,"remove":2,"add":1}`: a folder
 * removal (`removeFolder`: an id) first, then changes and removals pick existing contacts,
 * then the additions are made (to the default folder), and a folder is added last
 * (`addFolder`: a name, under the default folder).
 */
function applyData(data: O365SandboxData, body: unknown): Record<string, string[]> {
  if (!isRecord(body)) throw new Error('body must be a JSON object');
  const unknown = Object.keys(body).filter((key) => !['add', 'modify', 'remove', 'addFolder', 'removeFolder'].includes(key));
  if (unknown.length > 0) throw new Error(`unknown data operation(s): ${unknown.join(', ')}; known: add, modify, remove, addFolder, removeFolder`);
  if (body.addFolder !== undefined && (typeof body.addFolder !== 'string' || body.addFolder.trim() === '')) throw new Error('addFolder must be a folder name');
  if (body.removeFolder !== undefined && typeof body.removeFolder !== 'string') throw new Error('removeFolder must be a folder id');
  const plan: Array<['add' | 'modify' | 'remove', number]> = [];
  for (const operation of ['modify', 'remove', 'add'] as const) {
    const value = body[operation];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`${operation} must be a non-negative integer`);
    plan.push([operation, value]);
  }
  const needed = (body.modify as number | undefined ?? 0) + (body.remove as number | undefined ?? 0);
  if (needed > data.count()) throw new Error(`modify + remove need ${needed} live contacts; the mailbox has ${data.count()}`);
  const changed: Record<string, string[]> = {};
  if (typeof body.removeFolder === 'string') changed.removeFolder = data.removeFolder(body.removeFolder);
  for (const [operation, value] of plan) changed[operation] = data[operation](value);
  if (typeof body.addFolder === 'string') changed.addFolder = [data.addFolder(body.addFolder)];
  return changed;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function sendGraph(res: ServerResponse, answer: GraphAnswer): void {
  // Graph answers OData JSON metadata=minimal.
  send(res, answer.status, JSON.stringify(answer.body), 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8', answer.headers);
}

function errorPage(error: string, description: string): string {
  return (
    '<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body>' +
    `<h1>Sorry, but we're having trouble signing you in.</h1><p>${escapeHtml(description)}</p><p>error=${escapeHtml(error)}</p>` +
    '</body></html>'
  );
}

function gatewayPage(status: number): string {
  const title = status === 502 ? 'Bad Gateway' : 'Gateway Timeout';
  return `<!DOCTYPE html><html><head><title>${status} ${title}</title></head><body><h1>${title}</h1></body></html>`;
}
