import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateLocalKey } from '../../../../functions/core/crypto';
import { ProviderError } from '../../../../functions/core/errors';
import { createRepositories } from '../../../../functions/core/repository';
import { DynamoConnectorRepository } from '../../../../functions/core/repository/dynamo-connector-repository';
import type { CredentialService } from '../../../../functions/core/services/credential-service';
import { OAuthService } from '../../../../functions/core/services/oauth-service';
import { O365Adapter } from '../../../../functions/providers/o365/o365-adapter';
import type { OAuthCredentials } from '../../../../functions/providers/types';
import { type O365Sandbox, startO365Sandbox } from '../../../../local/sandboxes/o365';
import { freshTable } from '../../../support/dynamodb';
import { caller, recordingLog } from '../../../support/log';
import { localCredentialService } from '../../../support/credentials';

/** The adapter as the OAuth and credential services drive it, against the sandbox and DynamoDB Local. */
describe('O365Adapter with the OAuth and credential services', () => {
  let table: Awaited<ReturnType<typeof freshTable>>;
  let sandbox: O365Sandbox;
  let adapter: O365Adapter;
  const key = generateLocalKey();

  function credentialService(): CredentialService {
    return localCredentialService(table, (providerId) => (providerId === 'o365' ? adapter : undefined), key);
  }

  function oauthService(): OAuthService {
    const repositories = createRepositories(table.client, table.tableName);
    return new OAuthService({
      lifecycle: repositories.lifecycle,
      syncs: { cancelRunningSync: async () => null },
      reconnectReason: 'Reconnected during the sync.',
      states: repositories.oauthStates,
      credentialService: credentialService(),
      oauthAdapter: (providerId) => (providerId === 'o365' ? adapter : undefined),
      redirectUri: () => 'http://127.0.0.1:1/oauth/o365/callback',
    });
  }

  /** Runs the flow a user runs: the service's authorize URL, the sandbox's consent, the service's callback. */
  async function connect(tenantId: string) {
    const oauth = oauthService();
    const { authUrl } = await oauth.startAuthorization(caller(tenantId), 'o365');
    const consent = await fetch(authUrl, { redirect: 'manual' });
    const back = new URL(consent.headers.get('location')!);
    return oauth.completeAuthorization('o365', Object.fromEntries(back.searchParams), recordingLog());
  }

  /** One page of a full sync, as the sync engine asks for it. */
  const firstPage = (credentials: OAuthCredentials, config: Record<string, unknown>) =>
    adapter.readPage(credentials, config, { mode: 'full', cursor: null, watermark: null });

  beforeAll(async () => {
    table = await freshTable();
    // One folder, so a first page is 50 of its contacts (folders have tests of their own).
    sandbox = await startO365Sandbox({ folders: [] });
    adapter = new O365Adapter({ loginUrl: sandbox.url, graphUrl: sandbox.url, clientId: sandbox.clientId, clientSecret: async () => sandbox.clientSecret, pageSize: 50 });
  });
  afterAll(async () => {
    await sandbox.close();
    table.destroy();
  });
  beforeEach(() => {
    sandbox.failures.reset();
    sandbox.resetStats();
  });

  it('connects through the consent screen and reads with the stored token, without refreshing', async () => {
    expect(await connect('valid')).toEqual({ kind: 'connected', providerId: 'o365', tenantId: 'valid' });
    const page = await credentialService().withOAuthCredentials('valid', 'o365', firstPage);
    expect(page.records).toHaveLength(50);
    expect(sandbox.stats().tokenRefreshes).toBe(0);
  });

  it('records a denied consent as a failed connection the user can retry', async () => {
    sandbox.failures.consentDenied(true);
    const outcome = await connect('denied');
    expect(outcome).toMatchObject({ kind: 'failed', message: expect.stringMatching(/denied at the consent screen/) });
  });

  it('refreshes on InvalidAuthenticationToken, stores the new refresh token with the access token, and the old one is dead', async () => {
    await connect('rotating');
    const service = credentialService();
    const before = await service.current('rotating', 'o365');
    sandbox.failures.expireSessions();

    const page = await service.withOAuthCredentials('rotating', 'o365', firstPage);

    expect(page.records).toHaveLength(50);
    expect(sandbox.stats().tokenRefreshes).toBe(1);
    const after = await service.current('rotating', 'o365');
    expect(after?.version).toBe(before!.version + 1);
    const [old, fresh] = [before!.credentials, after!.credentials] as OAuthCredentials[];
    expect(fresh!.refreshToken).not.toBe(old!.refreshToken);
    await expect(adapter.refresh(old!)).rejects.toMatchObject({ reauthorizationRequired: true });
    sandbox.failures.expireSessions();
    expect((await service.withOAuthCredentials('rotating', 'o365', firstPage)).records).toHaveLength(50);
  });

  it('makes one refresh call for 10 concurrent callers in 10 containers, despite rotation', async () => {
    await connect('race');
    sandbox.failures.expireSessions();
    sandbox.resetStats();

    const pages = await Promise.all(Array.from({ length: 10 }, () => credentialService().withOAuthCredentials('race', 'o365', firstPage)));

    expect(pages.every((page) => page.records.length === 50)).toBe(true);
    expect(sandbox.stats().tokenRefreshes).toBe(1);
  });

  it('marks the connector for reconnection when the grant was revoked at Microsoft', async () => {
    await connect('revoked');
    sandbox.failures.revokeGrant();

    const failure = await credentialService().withOAuthCredentials('revoked', 'o365', firstPage).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ reauthorizationRequired: true });
    const status = await new DynamoConnectorRepository(table.client, table.tableName).getConnectorWithLatestSync('revoked', 'o365');
    expect(status.connector).toMatchObject({ status: 'error', lastSyncError: expect.stringMatching(/admin needs to reconnect Office 365/) });
  });

  it('disconnects without a call to Microsoft: revoke resolves and reports success', async () => {
    await connect('leaving');
    sandbox.resetStats();
    expect(await credentialService().revoke('leaving', 'o365', recordingLog())).toBe(true);
    expect(sandbox.stats().requests).toBe(0);
  });
});
