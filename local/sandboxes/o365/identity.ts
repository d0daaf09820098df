/**
 * The Microsoft identity platform v2.0 endpoints of the sandbox: authorize (auth code
 * with PKCE S256) and token (authorization_code and refresh_token grants), over one
 * directory with one user, and the bearer-token check Graph calls go through.
 *
 * Error answers carry Microsoft's shape: `{error, error_description: "AADSTS<n>: ...",
 * error_codes: [n], timestamp, trace_id, correlation_id, error_uri}`. The AADSTS numbers
 * are the published ones where we found them (54005 code redeemed, 70008 expired code,
 * 50148 PKCE mismatch, 50173 revoked grant, 70000 invalid grant, 7000215 bad secret,
 * 700016 unknown app, 65004 consent declined, 50011 reply URL mismatch, 70011 bad scope,
 * 900144 missing parameter, 9002313 malformed request); the adapter must not depend on
 * them: it decides by `error`.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { acceptsRedirectUri, pkceChallenge, redirectLocation, sameSecret, type SandboxGrant, type SandboxIssuedCode } from '../shared/oauth';

/** Auth codes live this long (Microsoft: "typically, they expire after about 10 minutes"). */
export const AUTH_CODE_TTL_MS = 10 * 60 * 1000;
/**
 * Access token lifetime, seconds. Microsoft assigns 60-90 minutes at random; the
 * documentation's example answer says 3599, which the sandbox uses so tests agree.
 */
export const ACCESS_TOKEN_LIFETIME_S = 3599;
/** The sandbox directory (tenant) id. */
export const SANDBOX_TENANT_ID = '5a4db0c0-0365-4e5a-9d0c-000000000365';
/** The Graph resource the access tokens are for. */
const GRAPH_AUDIENCE = 'https://graph.microsoft.com';

/** Graph permissions the sandbox app may ask for, by lower-case name. */
const GRAPH_SCOPES = new Map(['User.Read', 'Contacts.Read', 'Contacts.ReadWrite'].map((scope) => [scope.toLowerCase(), scope]));
/** OpenID Connect scopes: no Graph permission, but they shape the answer. */
const OIDC_SCOPES = new Map(['openid', 'profile', 'email', 'offline_access'].map((scope) => [scope, scope]));

/** The app registration and the URL the sandbox is reachable at. */
export interface IdentityConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly url: string;
  /** Registered redirect URIs; undefined = any absolute http(s) URL without a fragment. */
  readonly redirectUris?: readonly string[];
}

/** The signed-in user of the sandbox directory. */
export interface SandboxUser {
  readonly oid: string;
  readonly name: string;
  readonly preferredUsername: string;
}

/** One consent of the app by the user; its scopes are Graph permissions and OIDC scopes. */
export type Grant = SandboxGrant<SandboxUser>;

type IssuedCode = SandboxIssuedCode<SandboxUser>;

interface AccessToken {
  readonly grant: Grant;
  /** What this token may do: the grant's scopes, or the subset the token request asked for. */
  readonly scopes: readonly string[];
  readonly expiresAt: number;
}

/** What the authorize endpoint answers: an error page (no redirect) or a redirect. */
export type AuthorizeOutcome =
  | { readonly kind: 'page'; readonly status: number; readonly error: string; readonly description: string }
  | { readonly kind: 'redirect'; readonly location: string };

/** A JSON answer of the token endpoint. */
export interface TokenAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** Why a bearer token was not accepted. */
export type SessionProblem = 'missing' | 'expired' | 'invalid';

/** Counters the sandbox's stats() reports. */
export interface IdentityCounters {
  codeExchanges: number;
  tokenRefreshes: number;
}

/** Codes, grants and tokens of the sandbox directory, and the two endpoints over them. */
export class IdentityServer {
  readonly counters: IdentityCounters = { codeExchanges: 0, tokenRefreshes: 0 };
  readonly user: SandboxUser = {
    oid: '00000000-0365-4a11-8c0e-5a4db0c00001',
    name: 'Sandbox User',
    preferredUsername: 'sandbox.user@contoso.example',
  };
  private readonly codes = new Map<string, IssuedCode>();
  private readonly redeemedCodes = new Set<string>();
  private readonly refreshTokens = new Map<string, Grant>();
  /** Refresh tokens replaced by a newer one (rotation): they no longer work. */
  private readonly rotatedRefreshTokens = new Set<string>();
  /** Refresh tokens of revoked grants. */
  private readonly revokedRefreshTokens = new Set<string>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly expiredAccessTokens = new Set<string>();
  private nextGrantId = 1;

  constructor(
    private readonly config: IdentityConfig,
    private readonly now: () => number,
    private readonly onSecretIssued: (secret: string) => void,
  ) {}

  /** GET /{tenant}/oauth2/v2.0/authorize: the user consents at once (unless `consentDenied`). */
  authorize(params: URLSearchParams, consentDenied: boolean): AuthorizeOutcome {
    // Problems with the app or the reply URL show Microsoft's error page and never
    // redirect: a redirect to an unverified URL would be an open redirector.
    const clientId = params.get('client_id');
    if (clientId !== this.config.clientId) {
      return page(400, 'unauthorized_client', `AADSTS700016: Application with identifier '${clientId ?? ''}' was not found in the directory.`);
    }
    const redirectUri = params.get('redirect_uri');
    if (!redirectUri || !acceptsRedirectUri(redirectUri, this.config.redirectUris)) {
      return page(400, 'invalid_request', 'AADSTS50011: The redirect URI specified in the request does not match the redirect URIs configured for the application.');
    }
    const responseMode = params.get('response_mode');
    if (responseMode !== null && responseMode !== 'query') {
      // Microsoft also offers form_post and fragment; the connector asks for query, and the sandbox only speaks that.
      return page(400, 'invalid_request', `AADSTS900144: The sandbox supports response_mode=query only, got '${responseMode}'.`);
    }
    const state = params.get('state');
    const fail = (error: string, code: number, description: string): AuthorizeOutcome =>
      redirect(redirectUri, { error, error_description: `AADSTS${code}: ${description}`, state });

    if (params.get('response_type') !== 'code') {
      return fail('unsupported_response_type', 700054, `response_type '${params.get('response_type') ?? ''}' is not enabled for the application.`);
    }
    const scopes = parseScopes(params.get('scope'));
    if (scopes === 'missing') return fail('invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
    if (typeof scopes === 'object' && 'unknown' in scopes) {
      return fail('invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. The scope '${scopes.unknown}' does not exist.`);
    }
    // PKCE. Microsoft requires it for single-page apps and recommends it for every app;
    // a confidential web app may leave it out. The sandbox insists on it, with S256 and a
    // well-formed 43-character base64url challenge, so the adapter cannot forget it.
    const challenge = params.get('code_challenge');
    const method = params.get('code_challenge_method');
    if (!challenge) return fail('invalid_request', 900144, "The request body must contain the following parameter: 'code_challenge'.");
    if (method !== 'S256') return fail('invalid_request', 900144, "The sandbox requires code_challenge_method 'S256'.");
    if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) return fail('invalid_request', 900144, 'The code_challenge is not a base64url SHA-256 hash.');
    if (consentDenied) {
      return redirect(redirectUri, {
        error: 'access_denied',
        error_subcode: 'cancel',
        error_description: 'AADSTS65004: User declined to consent to access the app.',
        state,
      });
    }

    this.forgetExpiredCodes();
    const code = `1.AQ${randomToken(160)}`;
    this.onSecretIssued(code);
    this.codes.set(code, { redirectUri, challenge, scopes, user: this.user, expiresAt: this.now() + AUTH_CODE_TTL_MS });
    return redirect(redirectUri, { code, state, session_state: randomUUID() });
  }

  /** POST /{tenant}/oauth2/v2.0/token. `basic` is the client id and secret from an HTTP Basic header, if sent. */
  token(form: URLSearchParams, basic?: { id: string; secret: string }): TokenAnswer {
    const grantType = form.get('grant_type');
    if (!grantType) return this.error(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
      return this.error(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`);
    }
    const clientId = form.get('client_id') ?? basic?.id;
    const clientSecret = form.get('client_secret') ?? basic?.secret;
    if (!clientId) return this.error(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    if (clientId !== this.config.clientId) {
      return this.error(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory.`);
    }
    // Microsoft answers a bad client secret with HTTP 401 invalid_client.
    if (!clientSecret) {
      return this.error(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    if (!sameSecret(clientSecret, this.config.clientSecret)) {
      return this.error(401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.');
    }
    return grantType === 'authorization_code' ? this.exchangeCode(form) : this.refresh(form);
  }

  /**
   * The grant behind an `Authorization: Bearer <token>` header with at least one of
   * `scopes`, or why there is none. `forbidden` means a valid token without the scope.
   */
  session(authorization: string | undefined, scopes: readonly string[]): { grant: Grant } | { problem: SessionProblem } | { forbidden: true } {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return { problem: 'missing' };
    const token = match[1] as string;
    const issued = this.accessTokens.get(token);
    if (!issued) return { problem: this.expiredAccessTokens.has(token) ? 'expired' : 'invalid' };
    if (this.now() >= issued.expiresAt) {
      this.accessTokens.delete(token);
      issued.grant.accessTokens.delete(token);
      this.expiredAccessTokens.add(token);
      return { problem: 'expired' };
    }
    if (!scopes.some((scope) => issued.scopes.includes(scope))) return { forbidden: true };
    return { grant: issued.grant };
  }

  /** Every current access token stops working (as if expired); refresh tokens still work. */
  expireSessions(): void {
    for (const [token, issued] of this.accessTokens) {
      this.expiredAccessTokens.add(token);
      issued.grant.accessTokens.delete(token);
    }
    this.accessTokens.clear();
  }

  /** The user revokes the app: codes, access tokens and refresh tokens stop working. */
  revokeAll(): void {
    this.codes.clear();
    for (const token of this.refreshTokens.keys()) this.revokedRefreshTokens.add(token);
    this.refreshTokens.clear();
    for (const [token, issued] of this.accessTokens) {
      this.expiredAccessTokens.add(token);
      issued.grant.accessTokens.delete(token);
    }
    this.accessTokens.clear();
  }

  private exchangeCode(form: URLSearchParams): TokenAnswer {
    this.counters.codeExchanges++;
    const code = form.get('code');
    if (!code) return this.error(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'code'.");
    if (this.redeemedCodes.has(code)) {
      return this.error(400, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.');
    }
    const issued = this.codes.get(code);
    if (!issued) return this.error(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
    // Single use: any redemption attempt that gets this far burns the code, a failed one
    // too (wrong verifier or redirect_uri). Whether Microsoft burns a code on a failed
    // attempt is not documented; burning is the safer reading (a guessed verifier gets one try).
    this.codes.delete(code);
    this.redeemedCodes.add(code);
    if (this.now() > issued.expiresAt) {
      return this.error(400, 'invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.');
    }
    if (form.get('redirect_uri') !== issued.redirectUri) {
      return this.error(400, 'invalid_grant', 500112, 'The reply address does not match the reply address provided when requesting the authorization code.');
    }
    const verifier = form.get('code_verifier') ?? '';
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || pkceChallenge(verifier) !== issued.challenge) {
      return this.error(400, 'invalid_grant', 50148, 'The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.');
    }
    const narrowed = this.narrowScopes(form.get('scope'), issued.scopes);
    if ('error' in narrowed) return narrowed.error;
    const grant: Grant = { id: this.nextGrantId++, user: issued.user, scopes: issued.scopes, refreshToken: undefined, accessTokens: new Set() };
    // As at Microsoft, a refresh token comes back only when offline_access was consented.
    if (grant.scopes.includes('offline_access')) grant.refreshToken = this.newRefreshToken(grant);
    return { status: 200, body: this.tokenAnswer(grant, narrowed.scopes) };
  }

  private refresh(form: URLSearchParams): TokenAnswer {
    this.counters.tokenRefreshes++;
    const presented = form.get('refresh_token');
    if (!presented) return this.error(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'refresh_token'.");
    if (this.revokedRefreshTokens.has(presented)) {
      return this.error(400, 'invalid_grant', 50173, 'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.');
    }
    if (this.rotatedRefreshTokens.has(presented)) return this.error(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed.');
    const grant = this.refreshTokens.get(presented);
    if (!grant) return this.error(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
    const narrowed = this.narrowScopes(form.get('scope'), grant.scopes);
    if ('error' in narrowed) return narrowed.error;
    // Every refresh answers a new refresh token. Microsoft's documentation says the old
    // one is not revoked by this (the client should discard it); the sandbox takes the
    // stricter reading and lets the old one stop working at once, so only an adapter that
    // keeps the newest token at once (the safe behaviour either way) passes its tests.
    this.refreshTokens.delete(presented);
    this.rotatedRefreshTokens.add(presented);
    grant.refreshToken = this.newRefreshToken(grant);
    return { status: 200, body: this.tokenAnswer(grant, narrowed.scopes) };
  }

  /** The scopes a token request asks for: a subset of the grant's, or all of them when it names none. */
  private narrowScopes(requested: string | null, granted: readonly string[]): { scopes: readonly string[] } | { error: TokenAnswer } {
    if (requested === null || requested.trim() === '') return { scopes: granted };
    const parsed = parseScopes(requested);
    if (parsed === 'missing') return { scopes: granted };
    if ('unknown' in parsed) {
      return { error: this.error(400, 'invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. The scope '${parsed.unknown}' does not exist.`) };
    }
    const extra = parsed.filter((scope) => !granted.includes(scope) && scope !== 'offline_access');
    if (extra.length > 0) {
      return { error: this.error(400, 'invalid_grant', 65001, `The user or administrator has not consented to use the application for '${extra.join(' ')}'.`) };
    }
    return { scopes: granted.filter((scope) => parsed.includes(scope) || scope === 'offline_access') };
  }

  private tokenAnswer(grant: Grant, scopes: readonly string[]): Record<string, unknown> {
    const issuedAt = Math.floor(this.now() / 1000);
    const graphScopes = scopes.filter((scope) => GRAPH_SCOPES.has(scope.toLowerCase()));
    const accessToken = jwt({
      aud: GRAPH_AUDIENCE,
      iss: `https://sts.windows.net/${SANDBOX_TENANT_ID}/`,
      iat: issuedAt,
      nbf: issuedAt,
      exp: issuedAt + ACCESS_TOKEN_LIFETIME_S,
      appid: this.config.clientId,
      oid: grant.user.oid,
      tid: SANDBOX_TENANT_ID,
      scp: graphScopes.join(' '),
      uti: randomToken(22),
    });
    this.onSecretIssued(accessToken);
    this.accessTokens.set(accessToken, { grant, scopes, expiresAt: this.now() + ACCESS_TOKEN_LIFETIME_S * 1000 });
    grant.accessTokens.add(accessToken);
    // Microsoft lists the granted Graph permissions plus the OIDC scopes, never offline_access.
    const answer: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: scopes.filter((scope) => scope !== 'offline_access').join(' '),
      expires_in: ACCESS_TOKEN_LIFETIME_S,
      ext_expires_in: ACCESS_TOKEN_LIFETIME_S,
      access_token: accessToken,
    };
    if (grant.refreshToken) answer.refresh_token = grant.refreshToken;
    // An ID token only for OpenID Connect sign-ins (the `openid` scope), as at Microsoft.
    if (grant.scopes.includes('openid')) {
      const idToken = jwt({
        aud: this.config.clientId,
        iss: `${this.config.url}/${SANDBOX_TENANT_ID}/v2.0`,
        iat: issuedAt,
        nbf: issuedAt,
        exp: issuedAt + ACCESS_TOKEN_LIFETIME_S,
        oid: grant.user.oid,
        sub: createHash('sha256').update(`${grant.user.oid}:${this.config.clientId}`).digest('base64url').slice(0, 43),
        tid: SANDBOX_TENANT_ID,
        ver: '2.0',
        ...(grant.scopes.includes('profile') ? { name: grant.user.name, preferred_username: grant.user.preferredUsername } : {}),
      });
      this.onSecretIssued(idToken);
      answer.id_token = idToken;
    }
    return answer;
  }

  private newRefreshToken(grant: Grant): string {
    const token = `1.AQ${randomToken(240)}`;
    this.onSecretIssued(token);
    this.refreshTokens.set(token, grant);
    return token;
  }

  private forgetExpiredCodes(): void {
    const now = this.now();
    for (const [code, issued] of this.codes) if (now > issued.expiresAt) this.codes.delete(code);
  }

  /** A token-endpoint error in Microsoft's shape. */
  private error(status: number, error: string, code: number, description: string): TokenAnswer {
    return { status, body: identityError(this.config.url, this.now(), error, code, description) };
  }
}

/** Microsoft's token-endpoint error body: the description repeats trace id, correlation id and time. */
export function identityError(url: string, nowMs: number, error: string, code: number, description: string): Record<string, unknown> {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date(nowMs).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
  return {
    error,
    error_description: `AADSTS${code}: ${description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${url}/error?code=${code}`,
  };
}

/**
 * Scopes of a request, normalised: Graph permissions in their canonical case (a
 * `https://graph.microsoft.com/` prefix is allowed), OIDC scopes as they are. Microsoft
 * separates scopes with spaces.
 */
function parseScopes(raw: string | null): string[] | 'missing' | { unknown: string } {
  const names = (raw ?? '').split(' ').filter(Boolean);
  if (names.length === 0) return 'missing';
  const scopes: string[] = [];
  for (const name of names) {
    const bare = name.replace(/^https:\/\/graph\.microsoft\.com\//i, '');
    const scope = GRAPH_SCOPES.get(bare.toLowerCase()) ?? OIDC_SCOPES.get(bare.toLowerCase());
    if (!scope) return { unknown: name };
    if (!scopes.includes(scope)) scopes.push(scope);
  }
  return scopes;
}

function page(status: number, error: string, description: string): AuthorizeOutcome {
  return { kind: 'page', status, error, description };
}

function redirect(uri: string, params: Record<string, string | null>): AuthorizeOutcome {
  return { kind: 'redirect', location: redirectLocation(uri, params) };
}

/** A JWT-shaped token (header.payload.signature) with a random signature: opaque to clients, like Microsoft's. */
function jwt(claims: Record<string, unknown>): string {
  const header = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: 'sandbox' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${header}.${payload}.${randomBytes(64).toString('base64url')}`;
}

function randomToken(length: number): string {
  return randomBytes(Math.ceil((length * 3) / 4))
    .toString('base64url')
    .slice(0, length);
}
