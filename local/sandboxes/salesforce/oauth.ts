/**
 * The sandbox's authorization server: the OAuth 2.0 web server flow with PKCE, refresh
 * (optionally rotating), revocation, and the bearer check of the REST API. One OAuthServer
 * per org (the sandbox keeps one for each of its orgs), one connected app; users are named by
 * `login_hint`. Without one, each consent is a user of its own: tenants of the service are
 * separate customers, and must not share the 5-token cap.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { acceptsRedirectUri, pkceChallenge, redirectLocation, sameSecret, type SandboxGrant, type SandboxIssuedCode } from '../shared/oauth';
import { keyPrefix, salesforceId } from './ids';

/** Auth codes live this long (Salesforce documents 15 minutes for the web server flow). */
export const AUTH_CODE_TTL_MS = 15 * 60 * 1000;
/** Refresh tokens one user may hold for one connected app; issuing another revokes the oldest. */
export const REFRESH_TOKENS_PER_USER = 5;

/** Scopes the sandbox's connected app offers. */
const APP_SCOPES = new Set(['api', 'refresh_token', 'offline_access', 'id', 'profile', 'email', 'openid', 'web', 'full']);
/** Scopes granted when the authorize request names none: the app's selected scopes. */
const DEFAULT_SCOPES = ['api', 'refresh_token'];

/** The connected app and the URLs tokens point at. */
export interface OAuthConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  /** The login URL (token, revoke and identity URLs live here); also the instance URL unless {@link instanceUrl} says otherwise. */
  readonly url: string;
  /** Where the org's REST API answers (`instance_url` of token answers). @default url */
  readonly instanceUrl?: string;
  /** Serial of the org's 00D id. @default 9_000_001 (the first org's) */
  readonly orgSerial?: number;
  /** The org's instance part of ids (see ids.ts). @default DEFAULT_INSTANCE */
  readonly instance?: string;
  /** Registered callback URLs; undefined = any absolute http(s) URL is accepted. */
  readonly redirectUris?: readonly string[];
}

/** A user of the sandbox org. */
export interface SandboxUser {
  readonly username: string;
  readonly userId: string;
}

/** One approval of the connected app by a user: a refresh-token family and its sessions. */
export type Grant = SandboxGrant<SandboxUser>;

type IssuedCode = SandboxIssuedCode<SandboxUser>;

/** What the authorize endpoint answers: an error page (no redirect) or a redirect. */
export type AuthorizeOutcome =
  | { readonly kind: 'page'; readonly error: string; readonly description: string }
  | { readonly kind: 'redirect'; readonly location: string };

/** A JSON answer of the token or revoke endpoint. */
export interface OAuthAnswer {
  readonly status: number;
  readonly body?: Record<string, string>;
}

/** Counters the sandbox's stats() reports. */
export interface OAuthCounters {
  codeExchanges: number;
  tokenRefreshes: number;
}

/** The grants and tokens of an OAuthServer as JSON, so a restarted sandbox honours what it issued. */
export interface OAuthSnapshot {
  readonly users: readonly SandboxUser[];
  readonly grants: ReadonlyArray<{ id: number; username: string; scopes: readonly string[]; refreshToken?: string; accessTokens: readonly string[] }>;
  readonly nextGrantId: number;
  readonly rotateRefreshTokens: boolean;
}

/** Codes, grants and tokens of the sandbox org, and the three OAuth endpoints over them. */
export class OAuthServer {
  /** When on, each refresh returns a new refresh token and the old one stops working. */
  rotateRefreshTokens = false;
  readonly counters: OAuthCounters = { codeExchanges: 0, tokenRefreshes: 0 };
  readonly orgId: string;
  private readonly users = new Map<string, SandboxUser>();
  private readonly codes = new Map<string, IssuedCode>();
  private readonly refreshTokens = new Map<string, Grant>();
  private readonly accessTokens = new Map<string, Grant>();
  private readonly grants: Grant[] = [];
  private nextGrantId = 1;

  constructor(
    private readonly config: OAuthConfig,
    private readonly now: () => number,
    private readonly onSecretIssued: (secret: string) => void,
  ) {
    this.orgId = salesforceId(keyPrefix.Organization, config.orgSerial ?? 9_000_001, config.instance);
  }

  /** The org's instance URL. */
  get instanceUrl(): string {
    return this.config.instanceUrl ?? this.config.url;
  }

  /** Whether `code` is an auth code this org issued (and has not burnt yet). */
  ownsCode(code: string): boolean {
    return this.codes.has(code);
  }

  /** Whether `token` is a current refresh token of this org. */
  ownsRefreshToken(token: string): boolean {
    return this.refreshTokens.has(token);
  }

  /** Whether `token` is a current access or refresh token of this org. */
  ownsToken(token: string): boolean {
    return this.refreshTokens.has(token) || this.accessTokens.has(token);
  }

  /** Grants, tokens and users as JSON (codes are left out: they live minutes and are single use). */
  snapshot(): OAuthSnapshot {
    return {
      users: [...this.users.values()],
      grants: this.grants.map((grant) => ({
        id: grant.id,
        username: grant.user.username,
        scopes: grant.scopes,
        ...(grant.refreshToken !== undefined && { refreshToken: grant.refreshToken }),
        accessTokens: [...grant.accessTokens],
      })),
      nextGrantId: this.nextGrantId,
      rotateRefreshTokens: this.rotateRefreshTokens,
    };
  }

  /** Takes back what {@link snapshot} recorded, on a fresh server. */
  restore(snapshot: OAuthSnapshot): void {
    for (const user of snapshot.users) this.users.set(user.username, user);
    for (const saved of snapshot.grants) {
      const grant: Grant = {
        id: saved.id,
        user: this.user(saved.username),
        scopes: saved.scopes,
        refreshToken: saved.refreshToken,
        accessTokens: new Set(saved.accessTokens),
      };
      this.grants.push(grant);
      if (grant.refreshToken) this.refreshTokens.set(grant.refreshToken, grant);
      for (const token of grant.accessTokens) this.accessTokens.set(token, grant);
    }
    this.nextGrantId = snapshot.nextGrantId;
    this.rotateRefreshTokens = snapshot.rotateRefreshTokens;
  }

  /** The user with this username, created on first use. */
  user(username: string): SandboxUser {
    let user = this.users.get(username);
    if (!user) {
      user = { username, userId: salesforceId(keyPrefix.User, 7_000_001 + this.users.size, this.config.instance) };
      this.users.set(username, user);
    }
    return user;
  }

  /** The identity URL of a user, as the token answer's `id`. */
  identityUrl(user: SandboxUser): string {
    return `${this.config.url}/id/${this.orgId}/${user.userId}`;
  }

  /** GET /services/oauth2/authorize: the user consents at once (unless `consentDenied`). */
  authorize(params: URLSearchParams, consentDenied: boolean): AuthorizeOutcome {
    // Like Salesforce, problems with the client or the callback URL show an error page and
    // never redirect: a redirect to an unverified URL would be an open redirector.
    if (params.get('client_id') !== this.config.clientId) {
      return { kind: 'page', error: 'invalid_client_id', description: 'client identifier invalid' };
    }
    const redirectUri = params.get('redirect_uri');
    if (!redirectUri || !acceptsRedirectUri(redirectUri, this.config.redirectUris)) {
      return { kind: 'page', error: 'redirect_uri_mismatch', description: 'redirect_uri must match configuration' };
    }
    // `state` is optional at Salesforce and echoed when present; the connector's callback,
    // not the provider, is what must insist on it.
    const state = params.get('state');
    const fail = (error: string, description: string): AuthorizeOutcome =>
      redirect(redirectUri, { error, error_description: description, state });

    if (params.get('response_type') !== 'code') {
      return fail('unsupported_response_type', 'response type not supported');
    }
    // PKCE. Salesforce's documentation describes code_challenge only as the SHA-256 hash of
    // the verifier and says little about code_challenge_method; RFC 7636 reads a missing
    // method as "plain". The sandbox demands an explicit S256 (the stricter reading, which
    // real Salesforce accepts too) and a well-formed 43-character base64url challenge.
    const challenge = params.get('code_challenge');
    const method = params.get('code_challenge_method');
    if (!challenge) return fail('invalid_request', 'missing required code challenge');
    if (method !== 'S256') return fail('invalid_request', 'code challenge method must be S256');
    if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) return fail('invalid_request', 'invalid code challenge');

    const requested = (params.get('scope') ?? '').split(/\s+/).filter(Boolean);
    const unknown = requested.filter((scope) => !APP_SCOPES.has(scope));
    if (unknown.length > 0) return fail('invalid_scope', `the requested scope is not allowed: ${unknown.join(' ')}`);
    if (consentDenied) return fail('access_denied', 'end-user denied authorization');

    this.forgetExpiredCodes();
    const code = `aPrx${randomToken(64)}==`;
    this.onSecretIssued(code);
    this.codes.set(code, {
      redirectUri,
      challenge,
      scopes: requested.length > 0 ? [...new Set(requested)] : DEFAULT_SCOPES,
      user: this.user(params.get('login_hint') || `consent-${this.users.size + 1}@sandbox.example`),
      expiresAt: this.now() + AUTH_CODE_TTL_MS,
    });
    return redirect(redirectUri, { code, state });
  }

  /** POST /services/oauth2/token. `basic` is client id and secret from an HTTP Basic header, if sent. */
  token(form: URLSearchParams, basic?: { id: string; secret: string }): OAuthAnswer {
    const grantType = form.get('grant_type');
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
      return oauthError('unsupported_grant_type', 'grant type not supported');
    }
    // Client authentication. Salesforce answers an unknown client_id with
    // `invalid_client_id` ("client identifier invalid") and a wrong secret with
    // `invalid_client` ("invalid client credentials"), both HTTP 400 (RFC 6749 would allow
    // 401 for the latter). The sandbox does the same, so the adapter must treat both codes,
    // whatever the status, as a configuration error that no retry fixes.
    const clientId = form.get('client_id') ?? basic?.id;
    const clientSecret = form.get('client_secret') ?? basic?.secret;
    if (clientId !== this.config.clientId) return oauthError('invalid_client_id', 'client identifier invalid');
    if (clientSecret === undefined || clientSecret === null || !sameSecret(clientSecret, this.config.clientSecret)) {
      return oauthError('invalid_client', 'invalid client credentials');
    }
    return grantType === 'authorization_code' ? this.exchangeCode(form) : this.refresh(form);
  }

  private exchangeCode(form: URLSearchParams): OAuthAnswer {
    this.counters.codeExchanges++;
    const code = form.get('code') ?? '';
    const issued = this.codes.get(code);
    if (!issued) return oauthError('invalid_grant', 'authentication failure');
    // Single use: any exchange attempt with a valid client burns the code, also a failed
    // one (wrong verifier, wrong redirect_uri). Unclear whether Salesforce burns it on a
    // failed attempt; burning is the safer reading (a guessed verifier gets one try).
    this.codes.delete(code);
    // Bad, reused and expired codes are all `invalid_grant`; only the description differs.
    if (this.now() > issued.expiresAt) return oauthError('invalid_grant', 'expired authorization code');
    if (form.get('redirect_uri') !== issued.redirectUri) {
      return oauthError('redirect_uri_mismatch', 'redirect_uri must match configuration');
    }
    const verifier = form.get('code_verifier') ?? '';
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || pkceChallenge(verifier) !== issued.challenge) {
      return oauthError('invalid_grant', 'invalid code verifier');
    }
    const grant: Grant = {
      id: this.nextGrantId++,
      user: issued.user,
      scopes: issued.scopes,
      refreshToken: undefined,
      accessTokens: new Set(),
    };
    this.grants.push(grant);
    // As in Salesforce, a refresh token comes back only when the refresh_token (or
    // offline_access) scope was granted.
    if (grant.scopes.includes('refresh_token') || grant.scopes.includes('offline_access')) {
      grant.refreshToken = this.newRefreshToken(grant);
      this.enforceRefreshTokenCap(grant.user);
    }
    return { status: 200, body: this.tokenAnswer(grant, grant.refreshToken) };
  }

  private refresh(form: URLSearchParams): OAuthAnswer {
    this.counters.tokenRefreshes++;
    const grant = this.refreshTokens.get(form.get('refresh_token') ?? '');
    if (!grant) return oauthError('invalid_grant', 'expired access/refresh token');
    let rotated: string | undefined;
    if (this.rotateRefreshTokens) {
      // Unclear whether Salesforce keeps a grace period for the old token after rotation;
      // the sandbox has none (the safer reading: persist the new token at once).
      this.refreshTokens.delete(grant.refreshToken as string);
      rotated = this.newRefreshToken(grant);
      grant.refreshToken = rotated;
    }
    return { status: 200, body: this.tokenAnswer(grant, rotated) };
  }

  /** POST /services/oauth2/revoke: a refresh token takes its grant's sessions with it. */
  revoke(token: string | null): OAuthAnswer {
    const byRefresh = token ? this.refreshTokens.get(token) : undefined;
    if (byRefresh) {
      this.revokeGrantTokens(byRefresh);
      return { status: 200 };
    }
    const byAccess = token ? this.accessTokens.get(token) : undefined;
    if (byAccess) {
      this.accessTokens.delete(token as string);
      byAccess.accessTokens.delete(token as string);
      return { status: 200 };
    }
    return oauthError('invalid_token', 'invalid token');
  }

  /** The grant behind an `Authorization: Bearer <token>` header (Salesforce also takes `OAuth <token>`). */
  session(authorization: string | undefined): Grant | undefined {
    const match = /^(?:Bearer|OAuth)\s+(\S+)\s*$/i.exec(authorization ?? '');
    return match ? this.accessTokens.get(match[1] as string) : undefined;
  }

  /** Every current access token stops working; refresh tokens still work. */
  expireSessions(): void {
    this.accessTokens.clear();
    for (const grant of this.grants) grant.accessTokens.clear();
  }

  /** Every code, access token and refresh token stops working (the user revoked the app). */
  revokeAll(): void {
    this.codes.clear();
    this.refreshTokens.clear();
    this.accessTokens.clear();
    this.grants.length = 0;
  }

  private forgetExpiredCodes(): void {
    const now = this.now();
    for (const [code, issued] of this.codes) if (now > issued.expiresAt) this.codes.delete(code);
  }

  private newRefreshToken(grant: Grant): string {
    const token = `5Aep861${randomToken(80)}`;
    this.onSecretIssued(token);
    this.refreshTokens.set(token, grant);
    return token;
  }

  private enforceRefreshTokenCap(user: SandboxUser): void {
    const held = this.grants.filter((grant) => grant.user === user && grant.refreshToken !== undefined);
    // Oldest first; revoking a refresh token also ends its sessions.
    for (const grant of held.slice(0, Math.max(0, held.length - REFRESH_TOKENS_PER_USER))) {
      this.revokeGrantTokens(grant);
    }
  }

  private revokeGrantTokens(grant: Grant): void {
    if (grant.refreshToken) this.refreshTokens.delete(grant.refreshToken);
    grant.refreshToken = undefined;
    for (const token of grant.accessTokens) this.accessTokens.delete(token);
    grant.accessTokens.clear();
    const index = this.grants.indexOf(grant);
    if (index >= 0) this.grants.splice(index, 1);
  }

  private tokenAnswer(grant: Grant, refreshToken: string | undefined): Record<string, string> {
    const accessToken = `${this.orgId.slice(0, 15)}!${randomToken(96)}`;
    this.onSecretIssued(accessToken);
    this.accessTokens.set(accessToken, grant);
    grant.accessTokens.add(accessToken);
    const id = this.identityUrl(grant.user);
    const issuedAt = String(this.now());
    return {
      access_token: accessToken,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      // Salesforce documents the signature as base64 HMAC-SHA256 of id + issued_at, keyed by the client secret.
      signature: createHmac('sha256', this.config.clientSecret).update(id + issuedAt).digest('base64'),
      scope: grant.scopes.join(' '),
      instance_url: this.instanceUrl,
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    };
  }
}

function oauthError(error: string, description: string): OAuthAnswer {
  return { status: 400, body: { error, error_description: description } };
}

function redirect(uri: string, params: Record<string, string | null>): AuthorizeOutcome {
  return { kind: 'redirect', location: redirectLocation(uri, params) };
}

/** Random token text in the alphabet Salesforce tokens use (letters, digits, '.', '_'). */
function randomToken(length: number): string {
  return randomBytes(Math.ceil((length * 3) / 4))
    .toString('base64url')
    .replace(/-/g, '.')
    .slice(0, length);
}
