import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { handlersOf, loadApiRoutes, type ApiRoute } from '../../lib/api-routes';

const dir = mkdtempSync(join(tmpdir(), 'api-routes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** Writes a routes file with these routes and returns its path. */
function routesFile(routes: unknown[]): string {
  const file = join(dir, `routes-${files++}.json`);
  writeFileSync(file, JSON.stringify({ routes }));
  return file;
}

const listRoute = { method: 'GET', path: '/trpc/connector.list', handler: 'list', auth: 'jwt', grants: ['table:read'] };

describe('loadApiRoutes', () => {
  it('reads method, path, handler, auth and grants of every route', () => {
    expect(loadApiRoutes(routesFile([listRoute]))).toEqual([listRoute]);
  });

  it('fails the synth on a grant it does not know', () => {
    const file = routesFile([{ ...listRoute, grants: ['table:read', 's3:everything'] }]);
    expect(() => loadApiRoutes(file)).toThrow(/asks for the unknown grant "s3:everything"; known grants: table:read, table:readWrite/);
  });

  it('refuses a handler name that would point outside functions/api', () => {
    expect(() => loadApiRoutes(routesFile([{ ...listRoute, handler: '../core/runtime' }]))).toThrow(/handler must be a plain file name/);
  });

  it('refuses an auth other than jwt or none', () => {
    expect(() => loadApiRoutes(routesFile([{ ...listRoute, auth: 'iam' }]))).toThrow(/auth must be "jwt" or "none"/);
  });

  it('refuses a route declared twice', () => {
    expect(() => loadApiRoutes(routesFile([listRoute, { ...listRoute, handler: 'other' }]))).toThrow(
      /declares the route "GET \/trpc\/connector.list" twice/,
    );
  });
});

describe('handlersOf', () => {
  it('gives a handler used by two routes one function with the union of their grants', () => {
    const routes: ApiRoute[] = [
      { method: 'GET', path: '/a', handler: 'shared', auth: 'jwt', grants: ['table:read'] },
      { method: 'POST', path: '/a', handler: 'shared', auth: 'jwt', grants: ['table:readWrite', 'key:decrypt'] },
      { method: 'GET', path: '/b', handler: 'other', auth: 'none', grants: [] },
    ];
    const handlers = handlersOf(routes);
    expect(handlers.map((h) => h.name)).toEqual(['shared', 'other']);
    expect([...handlers[0]!.grants].sort()).toEqual(['key:decrypt', 'table:read', 'table:readWrite']);
    expect(handlers[0]!.routes).toHaveLength(2);
  });
});
