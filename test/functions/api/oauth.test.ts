import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LocalKeyWrapper, createEnvelopeCipher } from '../../../functions/core/crypto';
import { encryptionContext } from '../../../functions/core/services/credential-service';
import { startTestStack, type TestStack } from '../../support/local-stack';
import { connectorRecord } from '../../support/factories';
import { errorOf } from '../../support/trpc-error';

const APP_URL = 'https://app.example.com/settings/connectors';

/** Everything the service answered: API results, redirects, pages. The leak test searches it. */
const seen: string[] = [];

/** One request without following redirects; the service's own answers are kept for the leak test. */
async function follow(url: string, serviceUrl?: string): Promise<Response> {
  const response = await fetch(url, { redirect: 'manual' });
  if (serviceUrl && url.startsWith(serviceUrl)) {
    seen.push(JSON.stringify([...response.headers]), await response.clone().text());
  }
  return response;
}

describe('Salesforce OAuth through the local stack', () => {
  let stack: TestStack;
  const logLines: string[] = [];
  const writes = [process.stdout.write, process.stderr.write];

  /** getAuthUrl as an admin of `tenant`, then the sandbox's consent: answers the callback URL it redirects to. */
  async function consent(tenant: string): Promise<{ authUrl: URL; callbackUrl: string }> {
    const { authUrl } = await stack.client(tenant, 'admin').connector.getAuthUrl.mutate();
    seen.push(authUrl);
    // The sandbox consents at once and redirects to our callback with code and state.
    const consentAnswer = await follow(authUrl);
    expect(consentAnswer.status).toBe(302);
    return { authUrl: new URL(authUrl), callbackUrl: consentAnswer.headers.get('location')! };
  }

  const status = async (tenant: string) => {
    const answer = await stack.client(tenant).connector.getStatus.query({ connectorId: 'salesforce' });
    seen.push(JSON.stringify(answer));
    return answer;
  };
  const callback = (url: string) => follow(url, stack.url);
  const rawItem = async (tenant: string) =>
    (await stack.documentClient.send(
      new GetCommand({ TableName: stack.tableName, Key: { pk: `TENANT#${tenant}#CONNECTOR#salesforce`, sk: 'META' } }),
    )).Item;

  beforeAll(async () => {
    process.env.APP_URL = APP_URL;
    process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
    // Every log line of the whole file is kept for the leak test at the end.
    for (const stream of [process.stdout, process.stderr]) {
      stream.write = ((chunk: string | Uint8Array) => (logLines.push(chunk.toString()), true)) as typeof stream.write;
    }
    stack = await startTestStack();
  });
  afterAll(async () => {
    [process.stdout.write, process.stderr.write] = writes as [typeof process.stdout.write, typeof process.stderr.write];
    await stack.stop();
  });

  it('getAuthUrl answers a Salesforce authorize URL with PKCE S256 and a random state, and sets pending_auth', async () => {
    const { authUrl } = await stack.client('flow', 'admin').connector.getAuthUrl.mutate();
    const url = new URL(authUrl);

    expect(`${url.origin}${url.pathname}`).toBe(`${stack.salesforce!.url}/services/oauth2/authorize`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: stack.salesforce!.clientId,
      redirect_uri: `${stack.url}/oauth/salesforce/callback`,
      code_challenge_method: 'S256',
      state: expect.stringMatching(/^[\w-]{43}$/),
      code_challenge: expect.stringMatching(/^[\w-]{43}$/),
    });
    const second = new URL((await stack.client('flow', 'admin').connector.getAuthUrl.mutate()).authUrl);
    expect(second.searchParams.get('state')).not.toBe(url.searchParams.get('state'));
    expect((await status('flow')).status).toBe('pending_auth');
  });

  it('connects: consent, callback, code exchange, tokens sealed, status connected with instanceUrl', async () => {
    const { callbackUrl } = await consent('acme');
    expect(callbackUrl).toMatch(new RegExp(`^${stack.url}/oauth/salesforce/callback\\?code=.+&state=.+`));

    const answer = await callback(callbackUrl);

    expect(answer.status).toBe(302);
    const app = new URL(answer.headers.get('location')!);
    expect(`${app.origin}${app.pathname}`).toBe(APP_URL);
    expect(Object.fromEntries(app.searchParams)).toEqual({ connector: 'salesforce', status: 'connected' });
    expect(await status('acme')).toMatchObject({
      status: 'connected',
      config: { instanceUrl: stack.salesforce!.url },
      lastSyncError: null,
    });
    const item = await rawItem('acme');
    expect(item?.credentials).toMatchObject({ version: 1, keyId: expect.stringMatching(/^local:/) });
    expect(JSON.stringify(item)).not.toMatch(/access_token|refresh_token|accessToken|refreshToken/);
  });

  it('rejects a replayed callback and changes nothing', async () => {
    const { callbackUrl } = await consent('replay');
    expect((await callback(callbackUrl)).status).toBe(302);
    const before = await rawItem('replay');

    const replay = await callback(callbackUrl);

    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('invalid, expired or already used');
    expect(await rawItem('replay')).toEqual(before);
  });

  it('rejects a forged or missing state and changes nothing', async () => {
    const { callbackUrl } = await consent('forged');
    const forged = new URL(callbackUrl);
    forged.searchParams.set('state', 'x'.repeat(43));
    const missing = new URL(callbackUrl);
    missing.searchParams.delete('state');
    const before = await rawItem('forged');

    expect((await callback(forged.toString())).status).toBe(400);
    expect((await callback(missing.toString())).status).toBe(400);

    expect(await rawItem('forged')).toEqual(before);
    expect((await status('forged')).status).toBe('pending_auth');
  });

  it('rejects an expired state and changes nothing', async () => {
    const { authUrl, callbackUrl } = await consent('expired');
    const stateHash = createHash('sha256').update(authUrl.searchParams.get('state')!).digest('hex');
    await stack.documentClient.send(
      new UpdateCommand({
        TableName: stack.tableName,
        Key: { pk: `OAUTH_STATE#${stateHash}`, sk: 'META' },
        UpdateExpression: 'SET expiresAtMs = :past',
        ExpressionAttributeValues: { ':past': Date.now() - 1 },
      }),
    );

    expect((await callback(callbackUrl)).status).toBe(400);
    expect((await status('expired')).status).toBe('pending_auth');
  });

  it('lets only the newest flow of a connector complete', async () => {
    const older = await consent('twice');
    const newer = await consent('twice');

    expect((await callback(older.callbackUrl)).status).toBe(400);
    expect((await status('twice')).status).toBe('pending_auth');
    expect((await callback(newer.callbackUrl)).status).toBe(302);
    expect((await status('twice')).status).toBe('connected');
  });

  it('cannot connect one tenant with another tenant\'s authorization code', async () => {
    const mallory = await consent('mallory');
    const victim = await consent('victim');
    const crossed = new URL(mallory.callbackUrl);
    crossed.searchParams.set('code', new URL(victim.callbackUrl).searchParams.get('code')!);

    const answer = await callback(crossed.toString());

    // The victim's code was bound to the victim's PKCE challenge: the exchange fails.
    expect(new URL(answer.headers.get('location')!).searchParams.get('status')).toBe('error');
    expect(await status('mallory')).toMatchObject({ status: 'disconnected', lastSyncError: expect.stringMatching(/rejected the authorization code/) });
    expect((await status('victim')).status).toBe('pending_auth');
    expect(await rawItem('mallory')).not.toHaveProperty('credentials');
  });

  it('a denied consent leaves a clear message and a status the user can act on', async () => {
    stack.salesforce!.failures.consentDenied(true);
    try {
      const { callbackUrl } = await consent('denied');
      expect(new URL(callbackUrl).searchParams.get('error')).toBe('access_denied');

      const answer = await callback(callbackUrl);

      const app = new URL(answer.headers.get('location')!);
      expect(app.searchParams.get('status')).toBe('error');
      expect(app.searchParams.get('message')).toMatch(/denied/);
      expect(await status('denied')).toMatchObject({
        status: 'disconnected',
        lastSyncError: 'Salesforce authorization was denied at the consent screen; connect again to retry.',
      });
    } finally {
      stack.salesforce!.failures.consentDenied(false);
    }
  });

  it('a failed code exchange (invalid_grant) leaves the earlier connection in place', async () => {
    const first = await consent('regrant');
    await callback(first.callbackUrl);
    const again = await consent('regrant');
    const badCode = new URL(again.callbackUrl);
    badCode.searchParams.set('code', 'not-a-code');
    const before = (await rawItem('regrant'))?.credentials;

    const answer = await callback(badCode.toString());

    // The user is told why on the way back; the working connection is untouched.
    expect(new URL(answer.headers.get('location')!).searchParams.get('message')).toMatch(/rejected the authorization code/);
    expect(await status('regrant')).toMatchObject({ status: 'connected', lastSyncError: null });
    expect((await rawItem('regrant'))?.credentials).toEqual(before);
  });

  it('an abandoned re-authorization keeps a connected connector connected, syncing and scheduled', async () => {
    await stack.connectSalesforce('abandoned');
    const scheduled = (await rawItem('abandoned'))?.nextSyncAt;

    await stack.client('abandoned', 'admin').connector.getAuthUrl.mutate(); // the user closes the tab

    expect((await status('abandoned')).status).toBe('connected');
    expect((await rawItem('abandoned'))?.nextSyncAt).toBe(scheduled);
    const { syncId } = await stack.client('abandoned', 'admin').connector.triggerSync.mutate({ connectorId: 'salesforce' });
    await stack.stepFunctions.idle();
    expect((await stack.client('abandoned').connector.getSyncHistory.query({ connectorId: 'salesforce', limit: 1 }))[0]).toMatchObject({ id: syncId, status: 'completed' });
  });

  it('reads a never-connected connector whose authorization expired as disconnected, with no write', async () => {
    await consent('expiring');
    // Ten minutes later, as the stored expiry says.
    await stack.documentClient.send(
      new UpdateCommand({
        TableName: stack.tableName,
        Key: { pk: 'TENANT#expiring#CONNECTOR#salesforce', sk: 'META' },
        UpdateExpression: 'SET pendingAuthExpiresAt = :past',
        ExpressionAttributeValues: { ':past': new Date(Date.now() - 1).toISOString() },
      }),
    );

    expect((await status('expiring')).status).toBe('disconnected');
    expect((await rawItem('expiring'))?.status).toBe('pending_auth');
  });

  it('only admins may start a connection; API-key providers are told how they connect', async () => {
    expect((await errorOf(stack.client('acme', 'member').connector.getAuthUrl.mutate())).data?.code).toBe('FORBIDDEN');
    const apiKey = await errorOf(stack.client('acme', 'admin').connector.getAuthUrl.mutate({ connectorId: 'customerio' }));
    expect(apiKey.data?.code).toBe('BAD_REQUEST');
    expect(apiKey.message).toBe('Customer.io connects with an API key, not OAuth.');
  });

  it('starts a re-authorization while a sync is running, and leaves the sync alone', async () => {
    await stack.connectSalesforce('busy');
    stack.salesforce!.failures.slow(100);
    try {
      await stack.client('busy', 'admin').connector.triggerSync.mutate({ connectorId: 'salesforce' });
      const { authUrl } = await stack.client('busy', 'admin').connector.getAuthUrl.mutate();
      expect(authUrl).toContain('/services/oauth2/authorize');
      expect((await status('busy')).status).toBe('syncing');
    } finally {
      stack.salesforce!.failures.reset();
    }
    await stack.stepFunctions.idle();
    expect((await status('busy')).status).toBe('connected');
  });

  it('disconnect revokes the grant at Salesforce, then deletes our copy', async () => {
    const { callbackUrl } = await consent('leaving');
    await callback(callbackUrl);
    const cipher = createEnvelopeCipher({ CONNECTOR_ENCRYPTION_KEY: process.env.CONNECTOR_ENCRYPTION_KEY });
    const sealed = (await rawItem('leaving'))?.credentials;
    const { refreshToken } = JSON.parse(await cipher.decrypt(sealed, encryptionContext('leaving', 'salesforce')));
    const revokesBefore = stack.salesforce!.stats().byEndpoint.revoke ?? 0;

    expect(await stack.client('leaving', 'admin').connector.disconnect.mutate({ connectorId: 'salesforce' })).toEqual({ disconnected: true });

    expect(stack.salesforce!.stats().byEndpoint.revoke).toBe(revokesBefore + 1);
    const refresh = await fetch(`${stack.salesforce!.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: stack.salesforce!.clientId, client_secret: stack.salesforce!.clientSecret }),
    });
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' });
    expect(await rawItem('leaving')).not.toHaveProperty('credentials');
    expect(await status('leaving')).toMatchObject({ status: 'disconnected', config: {} });
  });

  it('no access token, refresh token, client secret, auth code or key appears in any log line or answer', async () => {
    // Unwrap every data key the flow created, to search for those too.
    const masterKey = process.env.CONNECTOR_ENCRYPTION_KEY!;
    const wrapper = new LocalKeyWrapper([masterKey]);
    const dataKeys: string[] = [];
    for (const tenant of ['acme', 'replay', 'twice', 'regrant']) {
      const sealed = (await rawItem(tenant))?.credentials;
      const key = await wrapper.unwrapDataKey(sealed.wrappedKey, sealed.keyId, encryptionContext(tenant, 'salesforce'));
      dataKeys.push(key.toString('base64'), key.toString('hex'));
    }
    const secrets = [...stack.salesforce!.secretsIssued(), masterKey, ...dataKeys];
    const everything = `${logLines.join('\n')}\n${seen.join('\n')}`;

    expect(logLines.length).toBeGreaterThan(20);
    expect(secrets.length).toBeGreaterThan(15);
    for (const secret of secrets) {
      expect(everything.includes(secret), `a secret of ${secret.length} characters leaked`).toBe(false);
    }
  });
});
