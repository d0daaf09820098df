import type { ProviderId } from '../core/registry';

/**
 * What the service keeps, sealed, for one connector: an OAuth token set or an API key.
 * Provider-neutral; provider facts that are not secret (an instance URL) go to config.
 */
export type Credentials =
  | { kind: 'oauth2'; accessToken: string; refreshToken?: string; expiresAt?: number }
  | { kind: 'apiKey'; apiKey: string };

export type OAuthCredentials = Extract<Credentials, { kind: 'oauth2' }>;

/** The answer to a completed authorization: the credentials, and the connector's non-secret config. */
export interface AuthorizationGrant {
  credentials: OAuthCredentials;
  config: Record<string, unknown>;
}

/**
 * The OAuth 2.0 side of a provider (authorization code with PKCE S256). Each provider's
 * adapter implements it; the OAuth service drives every provider through it alike.
 */
export interface OAuthAdapter {
  readonly providerId: ProviderId;
  /** Where to send the user for consent. */
  authorizationUrl(request: { state: string; codeChallenge: string; redirectUri: string }): string;
  /** Exchanges the code from the callback (with the PKCE verifier) for tokens. */
  exchangeCode(request: { code: string; codeVerifier: string; redirectUri: string }): Promise<AuthorizationGrant>;
  /**
   * A new access token from the refresh token. Keeps the old refresh token unless the
   * provider rotated it; then the new one replaces it.
   * @throws ProviderError with `reauthorizationRequired` when the grant is gone.
   */
  refresh(credentials: OAuthCredentials, config: Record<string, unknown>): Promise<OAuthCredentials>;
  /** Revokes the grant at the provider, so our copy is not the only thing disconnect removes. */
  revoke(credentials: OAuthCredentials, config: Record<string, unknown>): Promise<void>;
}
