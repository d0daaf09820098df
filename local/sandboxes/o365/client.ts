/**
 * Helpers for tests that need Office 365 tokens without going through the connector's
 * own OAuth flow: they walk the sandbox's authorize and token endpoints over real HTTP.
 */
import { newPkcePair } from '../shared/oauth';

/** The scopes the connector asks for. */
export const O365_SCOPES = 'offline_access User.Read Contacts.Read';

/** A Microsoft identity platform token answer. */
export interface O365TokenAnswer {
  readonly token_type: 'Bearer';
  /** Granted Graph permissions (and OIDC scopes), space-separated; never offline_access. */
  readonly scope: string;
  readonly expires_in: number;
  readonly ext_expires_in: number;
  readonly access_token: string;
  /** Present when offline_access was granted; every refresh answers a new one. */
  readonly refresh_token?: string;
  /** Present when openid was granted. */
  readonly id_token?: string;
}

/**
 * Runs the whole auth code flow against a sandbox (authorize, then redeem the code) and
 * returns the token answer. Throws with the sandbox's answer when a step fails.
 */
export async function obtainO365Tokens(
  sandbox: { readonly url: string; readonly clientId: string; readonly clientSecret: string },
  options: { redirectUri?: string; scope?: string; tenant?: string } = {},
): Promise<O365TokenAnswer> {
  const redirectUri = options.redirectUri ?? 'http://127.0.0.1:1/oauth/o365/callback';
  const tenant = options.tenant ?? 'common';
  const { verifier, challenge } = newPkcePair();
  const authorize = new URL(`/${tenant}/oauth2/v2.0/authorize`, sandbox.url);
  authorize.search = new URLSearchParams({
    client_id: sandbox.clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    response_mode: 'query',
    scope: options.scope ?? O365_SCOPES,
    state: 'obtain-o365-tokens',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  const consent = await fetch(authorize, { redirect: 'manual' });
  const location = consent.headers.get('location');
  const code = location ? new URL(location).searchParams.get('code') : null;
  if (consent.status !== 302 || !code) throw new Error(`authorize failed: ${consent.status} ${location ?? (await consent.text())}`);
  const token = await fetch(new URL(`/${tenant}/oauth2/v2.0/token`, sandbox.url), {
    method: 'POST',
    body: new URLSearchParams({
      client_id: sandbox.clientId,
      client_secret: sandbox.clientSecret,
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    }),
  });
  const body = (await token.json()) as O365TokenAnswer & { error?: string };
  if (token.status !== 200) throw new Error(`token redemption failed: ${token.status} ${body.error ?? ''}`);
  return body;
}
