import { readFileSync } from 'node:fs';
import { API_ROUTES_FILE } from './lambda-defaults';
import { GRANTS, isGrantName, type GrantName } from './grants';

/** HTTP methods a route may use (API Gateway HTTP API route keys). */
export const ROUTE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'ANY'] as const;

/** An HTTP method a route may use. */
export type RouteMethod = (typeof ROUTE_METHODS)[number];

/** How API Gateway authorizes a route: the JWT authorizer, or nobody (OAuth callbacks). */
export type RouteAuth = 'jwt' | 'none';

/** One route of functions/api/routes.json, checked. */
export interface ApiRoute {
  readonly method: RouteMethod;
  readonly path: string;
  /** Names the entry file functions/api/<handler>.ts, which exports `handler`. */
  readonly handler: string;
  readonly auth: RouteAuth;
  readonly grants: readonly GrantName[];
}

/** One Lambda function: a handler and every route it serves. */
export interface ApiHandler {
  readonly name: string;
  readonly routes: readonly ApiRoute[];
  /** The union of its routes' grants: the function serves all of them. */
  readonly grants: ReadonlySet<GrantName>;
}

/**
 * Reads and checks the API's routes. Everything wrong with the file (an unknown grant, a
 * handler name that is not a plain file name, a duplicate route) fails the synth here.
 */
export function loadApiRoutes(file: string = API_ROUTES_FILE): ApiRoute[] {
  const document: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const rawRoutes = (document as { routes?: unknown } | null)?.routes;
  if (!Array.isArray(rawRoutes) || rawRoutes.length === 0) {
    throw new Error(`${file} must have a non-empty "routes" list.`);
  }
  const routes = rawRoutes.map((raw, index) => parseRoute(raw, `${file} routes[${index}]`));
  const seen = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) throw new Error(`${file} declares the route "${key}" twice.`);
    seen.add(key);
  }
  return routes;
}

/** Groups routes by handler: one function per handler, however many routes it serves. */
export function handlersOf(routes: readonly ApiRoute[]): ApiHandler[] {
  const byName = new Map<string, { routes: ApiRoute[]; grants: Set<GrantName> }>();
  for (const route of routes) {
    const handler = byName.get(route.handler) ?? { routes: [], grants: new Set<GrantName>() };
    handler.routes.push(route);
    for (const grant of route.grants) handler.grants.add(grant);
    byName.set(route.handler, handler);
  }
  return [...byName].map(([name, { routes: handlerRoutes, grants }]) => ({ name, routes: handlerRoutes, grants }));
}

function parseRoute(raw: unknown, where: string): ApiRoute {
  if (typeof raw !== 'object' || raw === null) throw new Error(`${where} must be an object.`);
  const { method, path, handler, auth, grants } = raw as Record<string, unknown>;
  if (!ROUTE_METHODS.includes(method as RouteMethod)) {
    throw new Error(`${where}.method must be one of ${ROUTE_METHODS.join(', ')}, got ${JSON.stringify(method)}.`);
  }
  if (typeof path !== 'string' || !/^\/\S*$/.test(path)) {
    throw new Error(`${where}.path must start with "/" and hold no spaces, got ${JSON.stringify(path)}.`);
  }
  // The handler becomes a file path: a plain name keeps it inside functions/api.
  if (typeof handler !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(handler)) {
    throw new Error(`${where}.handler must be a plain file name (letters, digits, _ or -), got ${JSON.stringify(handler)}.`);
  }
  if (auth !== 'jwt' && auth !== 'none') {
    throw new Error(`${where}.auth must be "jwt" or "none", got ${JSON.stringify(auth)}.`);
  }
  if (!Array.isArray(grants)) throw new Error(`${where}.grants must be a list.`);
  for (const grant of grants) {
    if (!isGrantName(grant)) {
      throw new Error(
        `${where} asks for the unknown grant ${JSON.stringify(grant)}; known grants: ${Object.keys(GRANTS).join(', ')}.`,
      );
    }
  }
  return { method: method as RouteMethod, path, handler, auth, grants: grants as GrantName[] };
}
