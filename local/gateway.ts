import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyResultV2,
  Context,
} from 'aws-lambda';
import type { JWTPayload } from 'jose';

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
  verifyToken: (token: string) => Promise<JWTPayload>;
}

/** API Gateway's own payload limit for HTTP APIs. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/**
 * A stand-in for API Gateway's HTTP API: it matches routes the way HTTP APIs do (an exact
 * route before a greedy `{proxy+}` one), checks the JWT as the JWT authorizer does
 * (answering its own 401 before any handler runs), and invokes the handler with the same
 * payload format 2.0 event, so handlers cannot tell local from AWS.
 */
export function createLocalGateway(options: LocalGatewayOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const match = matchRoute(options.routes, method, url.pathname);
    if (!match) return send(res, 404, { message: 'Not Found' });

    const body = await readBody(req);
    if (body === null) return send(res, 413, { message: 'Request Entity Too Large' });

    let claims: JWTPayload | undefined;
    if (match.route.auth === 'jwt') {
      const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      try {
        if (!token) throw new Error('no bearer token');
        claims = await options.verifyToken(token);
      } catch {
        res.setHeader('www-authenticate', 'Bearer');
        return send(res, 401, { message: 'Unauthorized' });
      }
    }

    const event = toEvent(req, url, method, body, match, claims);
    const handler = await options.loadHandler(match.route.handler);
    let result: APIGatewayProxyResultV2;
    try {
      result = await handler(event, lambdaContext(match.route.handler, event.requestContext.requestId));
    } catch {
      // What API Gateway answers when the integration fails; the handler logged the cause.
      return send(res, 500, { message: 'Internal Server Error' });
    }
    writeResult(res, result);
  };
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
    const greedy = /^(.*)\/\{proxy\+\}$/.exec(route.path);
    if (greedy && path.startsWith(`${greedy[1]}/`) && path.length > greedy[1]!.length + 1) {
      return { route, routeKey: `${route.method} ${route.path}`, proxy: decodeURIComponent(path.slice(greedy[1]!.length + 1)) };
    }
  }
  return undefined;
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
  const deadline = Date.now() + 10_000;
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
