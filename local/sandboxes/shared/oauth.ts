/**
 * OAuth 2.0 pieces the Salesforce and Office 365 sandboxes read the same way: PKCE S256
 * (RFC 7636), client credentials from `Authorization: Basic` (RFC 6749 2.3.1), redirect
 * URI checks and redirects, and the shape of a grant and of a code waiting for its
 * exchange. Token formats, error bodies and how grants behave stay with each sandbox.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** One consent of the app by a user: the scopes granted and the tokens issued on it. */
export interface SandboxGrant<User> {
  readonly id: number;
  readonly user: User;
  /** Scopes as consented, normalised by the sandbox. */
  readonly scopes: readonly string[];
  refreshToken: string | undefined;
  readonly accessTokens: Set<string>;
}

/** An authorization code issued at consent, waiting to be exchanged (PKCE-bound, short-lived). */
export interface SandboxIssuedCode<User> {
  readonly redirectUri: string;
  readonly challenge: string;
  readonly scopes: readonly string[];
  readonly user: User;
  readonly expiresAt: number;
}

/** base64url(SHA-256(verifier)): the S256 code challenge of a PKCE verifier. */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** A fresh PKCE verifier (43 base64url characters) and its S256 challenge. */
export function newPkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: pkceChallenge(verifier) };
}

/** Client credentials from `Authorization: Basic` (RFC 6749 2.3.1: each part form-urlencoded). */
export function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const part = (text: string): string => {
    try {
      return decodeURIComponent(text.replace(/\+/g, ' '));
    } catch {
      return text;
    }
  };
  return { id: part(decoded.slice(0, colon)), secret: part(decoded.slice(colon + 1)) };
}

/** Compares two secrets in constant time (whatever their lengths). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Whether `uri` may receive codes: one of `registered` exactly, or, when none are
 * registered, any absolute http(s) URL without a fragment.
 */
export function acceptsRedirectUri(uri: string, registered: readonly string[] | undefined): boolean {
  if (registered) return registered.includes(uri);
  try {
    const url = new URL(uri);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hash === '';
  } catch {
    return false;
  }
}

/** `uri` with `params` set in its query (null values left out): where an authorize answer redirects. */
export function redirectLocation(uri: string, params: Record<string, string | null>): string {
  const url = new URL(uri);
  for (const [key, value] of Object.entries(params)) if (value !== null) url.searchParams.set(key, value);
  return url.toString();
}
