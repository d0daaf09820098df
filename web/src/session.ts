import type { ResolvedConfig } from './config';

/**
 * Who is signed in. Without a configured token provider the page keeps the bearer token in
 * sessionStorage (this tab only, gone when it closes); a sign-in hands it over in the URL's
 * fragment, `#access_token=<JWT>`, which never reaches a server and is removed at once.
 */

const STORAGE_KEY = 'connector-console.token';

export interface Session {
  /** The bearer token's provider for the API client. */
  getToken: () => Promise<string | null>;
  tenant: string | undefined;
  role: string | undefined;
  /** False only when the token says another role than the admin role; an unreadable token may try. */
  canAdmin: boolean;
}

/** Moves a token handed over in the URL's fragment into the store, and takes it out of the address bar. */
export function takeTokenFromLocation(): void {
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const token = fragment.get('access_token');
  if (!token) return;
  sessionStorage.setItem(STORAGE_KEY, token);
  window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}`);
}

/** The session, or null when there is no token (the page then shows how to sign in). */
export async function currentSession(config: ResolvedConfig): Promise<Session | null> {
  const getToken = config.getToken
    ? async () => (await config.getToken!()) || null
    : async () => sessionStorage.getItem(STORAGE_KEY);
  const token = await getToken();
  if (!token) return null;
  const claims = claimsOf(token);
  const tenant = stringClaim(claims, config.claims.tenant);
  const role = stringClaim(claims, config.claims.role);
  return { getToken, tenant, role, canAdmin: role === undefined || role === config.claims.adminRole };
}

/** Forgets the stored token (and signs out of the platform, if it said how). */
export function signOut(config: ResolvedConfig): void {
  sessionStorage.removeItem(STORAGE_KEY);
  config.signOut?.();
}

/** A JWT's payload, read without checking it: only to show who is signed in; the API checks the token. */
function claimsOf(token: string): Record<string, unknown> {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const claims: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function stringClaim(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value ? value : undefined;
}
