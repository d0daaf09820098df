/**
 * Helpers for tests that need Salesforce tokens without going through the connector's
 * own OAuth flow: they walk the sandbox's authorize and token endpoints over real HTTP.
 */
import { newPkcePair } from '../shared/oauth';

/** A Salesforce token-endpoint answer (no `expires_in`: Salesforce sends none). */
export interface SalesforceTokenAnswer {
  readonly access_token: string;
  /** Present on code exchanges when the refresh_token scope was granted, and on rotating refreshes. */
  readonly refresh_token?: string;
  readonly instance_url: string;
  /** Identity URL: `<login url>/id/<orgId>/<userId>`. */
  readonly id: string;
  readonly token_type: 'Bearer';
  /** Epoch milliseconds, as a string. */
  readonly issued_at: string;
  readonly signature: string;
  readonly scope: string;
}

/**
 * Runs the whole web server flow against a sandbox (authorize, then exchange the code)
 * and returns the token answer. Throws with the sandbox's answer when a step fails.
 */
export async function obtainSandboxTokens(
  sandbox: { readonly url: string; readonly clientId: string; readonly clientSecret: string },
  options: { redirectUri?: string; scope?: string; loginHint?: string } = {},
): Promise<SalesforceTokenAnswer> {
  const redirectUri = options.redirectUri ?? 'http://127.0.0.1:1/oauth/callback';
  const { verifier, challenge } = newPkcePair();
  const authorize = new URL('/services/oauth2/authorize', sandbox.url);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: sandbox.clientId,
    redirect_uri: redirectUri,
    state: 'obtain-sandbox-tokens',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: options.scope ?? 'api refresh_token',
    ...(options.loginHint ? { login_hint: options.loginHint } : {}),
  }).toString();
  const consent = await fetch(authorize, { redirect: 'manual' });
  const location = consent.headers.get('location');
  const code = location ? new URL(location).searchParams.get('code') : null;
  if (consent.status !== 302 || !code) {
    throw new Error(`authorize failed: ${consent.status} ${location ?? (await consent.text())}`);
  }
  const token = await fetch(new URL('/services/oauth2/token', sandbox.url), {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      client_id: sandbox.clientId,
      client_secret: sandbox.clientSecret,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    }),
  });
  const body = (await token.json()) as SalesforceTokenAnswer & { error?: string };
  if (token.status !== 200) throw new Error(`token exchange failed: ${token.status} ${body.error ?? ''}`);
  return body;
}
