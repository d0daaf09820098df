import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { issueLocalToken } from './jwt-issuer';
import { WEB_DIST } from './web-build';

/**
 * The connections page on the local stack, next to the API on the same origin: the built
 * files of web/dist at `/`, its `config.js`, and a local-only sign-in. None of this exists
 * in AWS (there the page is static files and the platform signs people in), and nothing
 * under functions/ imports it.
 *
 * - `GET /` and the built files: the page (web/dist; a short note when it is not built).
 * - `GET /config.js`: the page's configuration (web/README.md): the API on this origin, this sign-in.
 * - `GET /local/sign-in?tenant=acme&role=admin`: a local token for that tenant and role, handed
 *   to the page in the URL's fragment (`/#access_token=...`), which the page keeps in the tab's
 *   sessionStorage. Anyone who can reach 127.0.0.1 can sign in as anyone, as with `npm run token`.
 */
export const SIGN_IN_PATH = '/local/sign-in';

/** As bin/token.ts accepts them. */
const TENANT = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;
const ROLES = new Set(['admin', 'member']);

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** Everything the page needs from its own origin; the API is there too. */
const PAGE_POLICY = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Answers the page's requests and returns true, or returns false for a request that is not
 * the page's (the API's, the callback's), which the gateway then takes.
 */
export function createConsole(options: { stateDir: string; distDir?: string }) {
  const distDir = options.distDir ?? WEB_DIST;
  const config = `window.CONNECTOR_CONSOLE = ${JSON.stringify({ signInUrl: SIGN_IN_PATH, localSignIn: true, claims: claimNames() })};\n`;

  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === SIGN_IN_PATH) {
      await signIn(url, options.stateDir, res);
      return true;
    }
    if (url.pathname === '/config.js') {
      send(res, 200, CONTENT_TYPES['.js']!, config, { 'cache-control': 'no-store' });
      return true;
    }
    const file = fileOf(distDir, url.pathname);
    if (!file) return false;
    const body = await readFile(file).catch(() => undefined);
    if (body === undefined) {
      if (url.pathname !== '/') return false;
      send(res, 503, CONTENT_TYPES['.html']!, notBuiltPage(), { 'cache-control': 'no-store' });
      return true;
    }
    const hashed = url.pathname.startsWith('/assets/');
    send(res, 200, CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', body, {
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...(extname(file) === '.html' && { 'content-security-policy': PAGE_POLICY }),
    });
    return true;
  };
}

/** The built file a path names, or undefined for a path outside the page (dotfiles included). */
function fileOf(distDir: string, pathname: string): string | undefined {
  if (pathname === '/' || pathname === '/index.html') return join(distDir, 'index.html');
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (!decoded.startsWith('/assets/') || decoded.includes('\0')) return undefined;
  const file = normalize(join(distDir, decoded));
  if (!file.startsWith(`${distDir}${sep}assets${sep}`) || file.split(sep).some((part) => part.startsWith('.'))) return undefined;
  return file;
}

async function signIn(url: URL, stateDir: string, res: ServerResponse): Promise<void> {
  const tenant = url.searchParams.get('tenant') ?? '';
  const role = url.searchParams.get('role') ?? '';
  if (!TENANT.test(tenant) || !ROLES.has(role)) {
    const example = `${SIGN_IN_PATH}?tenant=acme&amp;role=admin`;
    return send(
      res,
      400,
      CONTENT_TYPES['.html']!,
      smallPage(`Sign in with a tenant (letters, digits, <code>_.:@-</code>) and a role, <code>admin</code> or <code>member</code>: <a href="${example}">${example}</a>.`),
    );
  }
  const token = await issueLocalToken(stateDir, { tenantId: tenant, role });
  // Back to the page (or to the path it came from), with the token where no server sees it.
  const back = url.searchParams.get('return_to') ?? '/';
  const target = back.startsWith('/') && !back.startsWith('//') && !back.includes('\\') ? back : '/';
  res.statusCode = 303;
  res.setHeader('location', `${target.split('#')[0]}#access_token=${encodeURIComponent(token)}`);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('referrer-policy', 'no-referrer');
  res.end();
}

/** The claim names the local tokens carry, from the environment the handlers read too. */
function claimNames() {
  return {
    tenant: process.env.TENANT_CLAIM || 'tenant_id',
    role: process.env.ROLE_CLAIM || 'role',
    adminRole: process.env.ADMIN_ROLE || 'admin',
  };
}

function notBuiltPage(): string {
  return smallPage('The connections page is not built yet: run <code>npm run build:web</code> (<code>npm start</code> builds it first), then reload.');
}

function smallPage(html: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Connections</title></head><body><p>${html}</p></body></html>`;
}

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('x-content-type-options', 'nosniff');
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
