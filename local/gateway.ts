import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyResultV2,
  Context,
} from 'aws-lambda';
import { API_FUNCTION_TIMEOUT_MS } from '../functions/core/timeouts';
import type { JWTPayload } from 'jose';
import { INTERNAL_MESSAGE } from '../functions/api/trpc/errors';
import { escapeForMessage, quoteInput } from '../functions/core/quote-input';

/** One route of functions/api/routes.json. */
export interface RouteSpec {
  method: string;
  path: string;
  handler: string;
  auth: 'jwt' | 'none';
  grants: string[];
}

export type LambdaHandler = (
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

export interface LocalGatewayOptions {
  routes: RouteSpec[];
  loadHandler: (name: string) => Promise<LambdaHandler>;
  /** Resolves the token's claims, or throws an Error whose message says briefly why the token is refused. */
  verifyToken: (token: string) => Promise<JWTPayload>;
}

/** API Gateway's own payload limit for HTTP APIs. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** Where tRPC's procedures live; a rejection there names the procedure, as tRPC's own errors do. */
const TRPC_PREFIX = '/trpc/';

/**
 * A stand-in for API Gateway's HTTP API: it matches routes the way HTTP APIs do (an exact
 * route before a greedy `{proxy+}` one), checks the JWT as the JWT authorizer does
 * (answering its own 401 before any handler runs), and invokes the handler with the same
 * payload format 2.0 event, so handlers cannot tell local from AWS. Its own rejections
 * (404, 405, 413, 401, 500) answer tRPC's error envelope, so a client reads every error
 * the same way.
 */
export function createLocalGateway(options: LocalGatewayOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const procedure = procedureOf(url.pathname);
    const match = matchRoute(options.routes, method, url.pathname);
    // A path routed to another method (GET on a mutation) is the wrong method, not an unknown path,
    // even where a catch-all route would take it.
    const allowed = allowedMethods(options.routes, url.pathname, method);
    if (allowed.length && (!match || match.proxy !== undefined)) {
      res.setHeader('allow', allowed.join(', '));
      const target = procedure ?? url.pathname;
      return sendError(res, 'METHOD_NOT_SUPPORTED', `${quoteInput(target)} accepts ${allowed.join(' or ')} requests, not ${method}.`, procedure);
    }
    if (!match) return sendError(res, 'NOT_FOUND', `No route matches ${method} ${quoteInput(url.pathname)}.`);

    const body = await readBody(req);
    if (body === null) {
      return sendError(res, 'PAYLOAD_TOO_LARGE', `The request body is over the gateway's ${MAX_PAYLOAD_BYTES / 1024 / 1024} MB limit.`, procedure);
    }

    let claims: JWTPayload | undefined;
    if (match.route.auth === 'jwt') {
      const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!token) {
        res.setHeader('www-authenticate', 'Bearer');
        return sendError(res, 'UNAUTHORIZED', 'A bearer token is required: send the header "Authorization: Bearer <token>".', procedure);
      }
      try {
        claims = await options.verifyToken(token);
      } catch (error) {
        // The authorizer names the reason in www-authenticate; the body says it as a sentence.
        const reason = escapeForMessage(error instanceof Error ? error.message : 'it could not be verified', 200);
        res.setHeader('www-authenticate', `Bearer scope="" error="invalid_token" error_description="${reason.replace(/["\\]/g, "'")}"`);
        return sendError(res, 'UNAUTHORIZED', `The bearer token is not valid: ${reason}.`, procedure);
      }
    }

    const event = toEvent(req, url, method, body, match, claims);
    const handler = await options.loadHandler(match.route.handler);
    let result: APIGatewayProxyResultV2;
    try {
      result = await handler(event, lambdaContext(match.route.handler, event.requestContext.requestId));
    } catch {
      // What API Gateway answers when the integration fails; the handler logged the cause.
      return sendError(res, 'INTERNAL_SERVER_ERROR', INTERNAL_MESSAGE, procedure);
    }
    writeResult(res, result);
  };
}

/**
 * Answers a request node's HTTP parser refused before the gateway saw it: a request line
 * and headers over node's limit (16 KB, like API Gateway's own bound on them) get 431 in
 * tRPC's envelope instead of node's empty answer; anything else unparseable gets 400.
 * Install it as the server's 'clientError' listener.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify(
    errorEnvelope(
      'BAD_REQUEST',
      tooLarge
        ? 'The request\'s URL and headers are over the 16 KB limit; a query\'s input travels in the URL, so send less of it.'
        : 'The request is not valid HTTP.',
      status,
    ),
  );
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * An error body exactly as tRPC's handlers write one: `{error: {message, code, data}}`, with
 * the JSON-RPC code number, and data carrying the code's name, the HTTP status and, for a
 * single procedure, its path. `httpStatus` defaults to the code's own status.
 */
export function errorEnvelope(
  code: TRPC_ERROR_CODE_KEY,
  message: string,
  httpStatus = getHTTPStatusCodeFromError(new TRPCError({ code })),
  procedure?: string,
) {
  return {
    error: {
      message,
      code: TRPC_ERROR_CODES_BY_KEY[code],
      data: { code, httpStatus, ...(procedure !== undefined && { path: procedure }) },
    },
  };
}

function sendError(res: ServerResponse, code: TRPC_ERROR_CODE_KEY, message: string, procedure?: string): void {
  const envelope = errorEnvelope(code, message, undefined, procedure);
  send(res, envelope.error.data.httpStatus, envelope);
}

/** The procedure a /trpc/ path names; undefined for a batch (a comma list) or another path. */
function procedureOf(path: string): string | undefined {
  if (!path.startsWith(TRPC_PREFIX)) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(path.slice(TRPC_PREFIX.length));
  } catch {
    return undefined;
  }
  return name && !name.includes(',') ? name : undefined;
}

/** Methods of the routes for exactly this path (else of the greedy routes that take it), other than `method`. */
function allowedMethods(routes: RouteSpec[], path: string, method: string): string[] {
  const exact = routes.filter((route) => route.path === path);
  const candidates = exact.length ? exact : routes.filter((route) => greedyMatch(route, path) !== undefined);
  const methods = new Set(candidates.map((route) => route.method));
  if (methods.has(method) || methods.has('ANY')) return [];
  return [...methods].sort();
}

interface RouteMatch {
  route: RouteSpec;
  routeKey: string;
  proxy?: string;
}

function matchRoute(routes: RouteSpec[], method: string, path: string): RouteMatch | undefined {
  const candidates = routes.filter((route) => route.method === method || route.method === 'ANY');
  const exact = candidates.find((route) => route.path === path);
  if (exact) return { route: exact, routeKey: `${exact.method} ${exact.path}` };
  for (const route of candidates) {
    const proxy = greedyMatch(route, path);
    if (proxy !== undefined) return { route, routeKey: `${route.method} ${route.path}`, proxy };
  }
  return undefined;
}

/** The `{proxy+}` value when a greedy route takes the path. */
function greedyMatch(route: RouteSpec, path: string): string | undefined {
  const greedy = /^(.*)\/\{proxy\+\}$/.exec(route.path);
  if (!greedy || !path.startsWith(`${greedy[1]}/`) || path.length <= greedy[1]!.length + 1) return undefined;
  try {
    return decodeURIComponent(path.slice(greedy[1]!.length + 1));
  } catch {
    // A malformed escape: API Gateway passes the raw text on.
    return path.slice(greedy[1]!.length + 1);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Claims as the JWT authorizer passes them: strings, with arrays flattened to "[a b]". */
function authorizerClaims(claims: JWTPayload): Record<string, string> {
  return Object.fromEntries(
    Object.entries(claims).map(([name, value]) => [
      name,
      Array.isArray(value) ? `[${value.join(' ')}]` : typeof value === 'string' ? value : JSON.stringify(value),
    ]),
  );
}

function toEvent(
  req: IncomingMessage,
  url: URL,
  method: string,
  body: Buffer,
  match: RouteMatch,
  claims: JWTPayload | undefined,
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && name !== 'cookie') headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const now = new Date();
  const textual = /json|text|x-www-form-urlencoded/i.test(req.headers['content-type'] ?? 'application/json');
  return {
    version: '2.0',
    routeKey: match.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    cookies: req.headers.cookie?.split(/;\s*/),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    pathParameters: match.proxy !== undefined ? { proxy: match.proxy } : undefined,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: { jwt: { claims: claims ? authorizerClaims(claims) : {}, scopes: null } },
      domainName: req.headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: match.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: body.length ? (textual ? body.toString('utf8') : body.toString('base64')) : undefined,
    isBase64Encoded: body.length > 0 && !textual,
  } as APIGatewayProxyEventV2WithJWTAuthorizer;
}

function lambdaContext(functionName: string, requestId: string): Context {
  // The deployed API functions' timeout: handlers that stop early on it behave as in Lambda.
  const deadline = Date.now() + API_FUNCTION_TIMEOUT_MS;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `connector-local-${functionName}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:connector-local-${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/connector-local-${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function writeResult(res: ServerResponse, result: APIGatewayProxyResultV2): void {
  if (typeof result === 'string') return send(res, 200, result);
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, String(value));
  if (result.cookies?.length) res.setHeader('set-cookie', result.cookies);
  const body = result.body ?? '';
  res.statusCode = result.statusCode ?? 200;
  res.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
