import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createEnvelopeCipher, generateLocalKey } from '../../../../functions/core/crypto';
import { CredentialDecryptionError, ProviderError } from '../../../../functions/core/errors';
import { DynamoConnectorRepository } from '../../../../functions/core/repository/dynamo-connector-repository';
import { DynamoCredentialRepository } from '../../../../functions/core/repository/dynamo-credential-repository';
import { DynamoLifecycleRepository } from '../../../../functions/core/repository/dynamo-lifecycle-repository';
import { CredentialService } from '../../../../functions/core/services/credential-service';
import { PROVIDER_CALL_TIMEOUT_MS, TOKEN_REFRESH_LEASE_MS } from '../../../../functions/core/timeouts';
import { SalesforceAdapter } from '../../../../functions/providers/salesforce/salesforce-adapter';
import type { OAuthAdapter, OAuthCredentials } from '../../../../functions/providers/types';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../../../local/sandboxes/salesforce';
import { freshTable } from '../../../support/dynamodb';
import { recordingLog } from '../../../support/log';
import { connectThroughOAuth } from '../../../support/oauth';
import { localCredentialService } from '../../../support/credentials';

/** A promise and the function that settles it, to hold a refresh at one point until the test lets it go. */
function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

const QUERY = '/services/data/v62.0/query?q=SELECT+Id+FROM+Account+LIMIT+1';

describe('CredentialService with the Salesforce sandbox', () => {
  let table: Awaited<ReturnType<typeof freshTable>>;
  let sandbox: SalesforceSandbox;
  let adapter: SalesforceAdapter;
  let movedFrom: { instanceUrl: string };
  const key = generateLocalKey();

  /** A service as one Lambda container would hold it: its own in-process state, the shared table. */
  function container(): CredentialService {
    return localCredentialService(table, (providerId) => (providerId === 'salesforce' ? adapter : undefined), key);
  }

  /**
   * A container whose clock runs `aheadMs` ahead and whose adapter's refresh goes through
   * `refreshThrough` (to hold a refresh before or after it reaches the sandbox).
   */
  function containerWith(options: {
    aheadMs?: number;
    refreshThrough?: (refresh: () => Promise<OAuthCredentials>) => Promise<OAuthCredentials>;
  }): CredentialService {
    const through = options.refreshThrough ?? ((refresh) => refresh());
    const held: OAuthAdapter = {
      providerId: 'salesforce',
      authorizationUrl: (request) => adapter.authorizationUrl(request),
      exchangeCode: (request) => adapter.exchangeCode(request),
      refresh: (credentials, config) => through(() => adapter.refresh(credentials)),
      revoke: (credentials) => adapter.revoke(credentials),
    };
    return new CredentialService({
      repository: new DynamoCredentialRepository(table.client, table.tableName),
      lifecycle: new DynamoLifecycleRepository(table.client, table.tableName),
      cipher: createEnvelopeCipher({ CONNECTOR_ENCRYPTION_KEY: key }),
      oauthAdapter: (providerId) => (providerId === 'salesforce' ? held : undefined),
      clock: () => new Date(Date.now() + (options.aheadMs ?? 0)),
    });
  }

  /** A container whose refresh waits at the provider's door until `release`; `held` says it got there. */
  function heldBeforeRefresh() {
    const held = gate();
    const release = gate();
    const first = containerWith({
      refreshThrough: async (refresh) => {
        held.resolve();
        await release.promise;
        return await refresh();
      },
    });
    return { first, held, release };
  }


  /** A second process that sees the first one's lease as lapsed. */
  const pastTheLease = () => containerWith({ aheadMs: TOKEN_REFRESH_LEASE_MS + 1_000 });

  const statusOf = async (tenantId: string) =>
    (await new DynamoConnectorRepository(table.client, table.tableName).getConnectorWithLatestSync(tenantId, 'salesforce')).connector?.status;

  /** The stored refresh token works at the sandbox: a fresh container refreshes with it and calls through. */
  async function expectWorkingConnection(tenantId: string) {
    sandbox.failures.expireSessions();
    sandbox.resetStats();
    expect((await container().withOAuthCredentials(tenantId, 'salesforce', query)).totalSize).toBe(1);
    expect(sandbox.stats().tokenRefreshes).toBe(1);
    expect(await statusOf(tenantId)).toBe('connected');
  }

  const connect = (tenantId: string) =>
    connectThroughOAuth({ client: table.client, tableName: table.tableName, credentialService: container(), adapter, tenantId });

  const query = (credentials: OAuthCredentials, config: Record<string, unknown>) =>
    adapter.get<{ totalSize: number }>(credentials, config, QUERY);

  beforeAll(async () => {
    table = await freshTable();
    // A second org stands in for the instance an org moved away from: it refuses the first org's sessions.
    sandbox = await startSalesforceSandbox({ orgs: [{ id: 'old-instance', accounts: 1, people: 1, opportunities: 1 }] });
    movedFrom = sandbox.org('old-instance');
    adapter = new SalesforceAdapter({ loginUrl: sandbox.url, clientId: sandbox.clientId, clientSecret: async () => sandbox.clientSecret });
  });
  afterAll(async () => {
    await sandbox.close();
    table.destroy();
  });
  beforeEach(() => {
    sandbox.failures.reset();
    sandbox.resetStats();
  });

  it('calls through with the stored token while it is valid, without refreshing', async () => {
    await connect('valid');
    const answer = await container().withOAuthCredentials('valid', 'salesforce', query);
    expect(answer.totalSize).toBe(1);
    expect(sandbox.stats().tokenRefreshes).toBe(0);
  });

  it('refreshes on INVALID_SESSION_ID and tries again once', async () => {
    await connect('expiring');
    sandbox.failures.expireSessions();

    const answer = await container().withOAuthCredentials('expiring', 'salesforce', query);

    expect(answer.totalSize).toBe(1);
    expect(sandbox.stats().tokenRefreshes).toBe(1);
  });

  it('persists a rotated refresh token in the same write as the new access token', async () => {
    await connect('rotating');
    const service = container();
    const before = await service.current('rotating', 'salesforce');
    sandbox.failures.rotateRefreshTokens(true);
    sandbox.failures.expireSessions();

    await service.withOAuthCredentials('rotating', 'salesforce', query);

    const after = await service.current('rotating', 'salesforce');
    expect(after?.version).toBe(before!.version + 1);
    const [old, fresh] = [before!.credentials, after!.credentials] as OAuthCredentials[];
    expect(fresh!.refreshToken).not.toBe(old!.refreshToken);
    expect(fresh!.accessToken).not.toBe(old!.accessToken);
    // The old refresh token is dead at the provider: only the stored new one keeps the connection alive.
    await expect(adapter.refresh(old!)).rejects.toMatchObject({ reauthorizationRequired: true });
    sandbox.failures.expireSessions();
    expect((await service.withOAuthCredentials('rotating', 'salesforce', query)).totalSize).toBe(1);
  });

  it('makes one refresh call for 20 concurrent callers in one container', async () => {
    await connect('race-one');
    const service = container();
    sandbox.failures.expireSessions();
    sandbox.resetStats();

    const answers = await Promise.all(Array.from({ length: 20 }, () => service.withOAuthCredentials('race-one', 'salesforce', query)));

    expect(answers.every((a) => a.totalSize === 1)).toBe(true);
    expect(sandbox.stats().tokenRefreshes).toBe(1);
  });

  it('makes one refresh call for 20 concurrent callers in 20 containers, even with token rotation', async () => {
    await connect('race-many');
    sandbox.failures.rotateRefreshTokens(true);
    sandbox.failures.expireSessions();
    sandbox.resetStats();
    const containers = Array.from({ length: 20 }, container);

    const answers = await Promise.all(containers.map((service) => service.withOAuthCredentials('race-many', 'salesforce', query)));

    expect(answers.every((a) => a.totalSize === 1)).toBe(true);
    expect(sandbox.stats().tokenRefreshes).toBe(1);
    const stored = await containers[0]!.current('race-many', 'salesforce');
    expect(stored?.version).toBe(2);
  });

  it('sets error with a re-authorization message when the grant was revoked (invalid_grant)', async () => {
    await connect('revoked');
    sandbox.failures.revokeGrant();

    const failure = await container().withOAuthCredentials('revoked', 'salesforce', query).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ reauthorizationRequired: true });
    const status = await new DynamoConnectorRepository(table.client, table.tableName).getConnectorWithLatestSync('revoked', 'salesforce');
    expect(status.connector).toMatchObject({ status: 'error', lastSyncError: expect.stringMatching(/reconnect Salesforce to re-authorize/) });
  });

  it('does not decrypt credentials copied onto another tenant\'s record', async () => {
    await connect('owner');
    await connect('thief');
    const item = await table.client.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: 'TENANT#owner#CONNECTOR#salesforce', sk: 'META' } }),
    );
    await table.client.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: 'TENANT#thief#CONNECTOR#salesforce', sk: 'META' },
        UpdateExpression: 'SET credentials = :stolen',
        ExpressionAttributeValues: { ':stolen': item.Item!.credentials },
      }),
    );

    await expect(container().current('thief', 'salesforce')).rejects.toBeInstanceOf(CredentialDecryptionError);
    expect((await container().current('owner', 'salesforce'))?.credentials.kind).toBe('oauth2');
  });

  it('reports a revoke that fails at the provider, so disconnect can still remove our copy', async () => {
    await connect('unreachable');
    const log = recordingLog();
    const broken = localCredentialService(table, () => new SalesforceAdapter({ loginUrl: 'http://127.0.0.1:9', clientId: 'x', clientSecret: async () => 'x' }), key);

    expect(await broken.revoke('unreachable', 'salesforce', log)).toBe(false);
    expect(log.lines).toEqual([
      expect.objectContaining({ level: 'warn', message: expect.stringMatching(/revoking the grant at the provider failed/) }),
    ]);
  });

  it('logs a revoke Salesforce refuses with anything but invalid_token as failed, and one of a token already gone as done', async () => {
    await connect('refused-revoke');
    sandbox.failures.revokeRefused(1);
    const log = recordingLog();

    expect(await container().revoke('refused-revoke', 'salesforce', log)).toBe(false);
    expect(log.lines).toEqual([
      expect.objectContaining({ level: 'warn', message: expect.stringMatching(/revoking the grant at the provider failed/), extra: expect.objectContaining({ reason: 'Salesforce did not revoke the token (unsupported_token_type).' }) }),
    ]);

    // Revoked for real now; a second revoke meets invalid_token, which is what a revoke wants.
    expect(await container().revoke('refused-revoke', 'salesforce', log)).toBe(true);
    expect(await container().revoke('refused-revoke', 'salesforce', log)).toBe(true);
    expect(log.lines).toHaveLength(1);
  });

  it('stores the instance URL a refresh answers when the org moved, and calls the new instance at once', async () => {
    await connect('moved');
    const itemKey = { pk: 'TENANT#moved#CONNECTOR#salesforce', sk: 'META' };
    const stored = async () => (await table.client.send(new GetCommand({ TableName: table.tableName, Key: itemKey }))).Item!;
    const { config: before, credentialsVersion } = await stored();
    // The connection points at the org's old instance, which no longer takes its sessions (401 INVALID_SESSION_ID).
    await table.client.send(
      new UpdateCommand({ TableName: table.tableName, Key: itemKey, UpdateExpression: 'SET config.instanceUrl = :old', ExpressionAttributeValues: { ':old': movedFrom.instanceUrl } }),
    );

    const answer = await container().withOAuthCredentials('moved', 'salesforce', query);

    expect(answer.totalSize).toBe(1);
    expect(sandbox.stats().tokenRefreshes).toBe(1);
    const after = await stored();
    // Only the instance URL changed; the rest of the config is as connect wrote it.
    expect(after.config).toEqual({ ...before, instanceUrl: sandbox.url });
    expect(after.credentialsVersion).toBe(credentialsVersion + 1);
    expect((await container().current('moved', 'salesforce'))?.config.instanceUrl).toBe(sandbox.url);
  });

  describe('when a refresh lease lapses while its refresh is in flight (rotating refresh tokens)', () => {
    it('leases longer than the longest provider call', () => {
      expect(TOKEN_REFRESH_LEASE_MS).toBeGreaterThan(PROVIDER_CALL_TIMEOUT_MS);
    });

    it('keeps the connection when the first refresher rotated the token and stores it after a second took the lease', async () => {
      await connect('lapse-after-rotation');
      sandbox.failures.rotateRefreshTokens(true);
      sandbox.failures.expireSessions();
      const rotated = gate();
      const answer = gate();
      const first = containerWith({
        refreshThrough: async (refresh) => {
          const fresh = await refresh();
          rotated.resolve();
          await answer.promise;
          return fresh;
        },
      });

      const firstCall = first.withOAuthCredentials('lapse-after-rotation', 'salesforce', query);
      await rotated.promise;
      // The second process takes the lapsed lease and finds the refresh token spent.
      const second = pastTheLease();
      const secondFailure = await second.withOAuthCredentials('lapse-after-rotation', 'salesforce', query).catch((error: unknown) => error);
      expect(secondFailure).toBeInstanceOf(ProviderError);
      expect(secondFailure).toMatchObject({ retryable: true, reauthorizationRequired: false });
      expect((secondFailure as Error).message).not.toMatch(/retried/);
      expect(await statusOf('lapse-after-rotation')).toBe('connected');

      answer.resolve();
      expect((await firstCall).totalSize).toBe(1);
      expect((await container().current('lapse-after-rotation', 'salesforce'))?.version).toBe(2);
      // The second process's next attempt uses what the first stored.
      expect((await second.withOAuthCredentials('lapse-after-rotation', 'salesforce', query)).totalSize).toBe(1);
      await expectWorkingConnection('lapse-after-rotation');
    });

    it('uses the second refresher\'s stored tokens when the first one\'s spent refresh token is refused', async () => {
      await connect('lapse-before-rotation');
      sandbox.failures.rotateRefreshTokens(true);
      sandbox.failures.expireSessions();
      const { first, held, release } = heldBeforeRefresh();

      const firstCall = first.withOAuthCredentials('lapse-before-rotation', 'salesforce', query);
      await held.promise;
      expect((await pastTheLease().withOAuthCredentials('lapse-before-rotation', 'salesforce', query)).totalSize).toBe(1);
      release.resolve();

      // The first refresher's token was rotated away; it takes the stored one instead of giving up.
      expect((await firstCall).totalSize).toBe(1);
      expect(await statusOf('lapse-before-rotation')).toBe('connected');
      expect((await container().current('lapse-before-rotation', 'salesforce'))?.version).toBe(2);
      await expectWorkingConnection('lapse-before-rotation');
    });

    it('uses the new credentials when the connector was reconnected during the refresh', async () => {
      await connect('reconnected');
      sandbox.failures.expireSessions();
      const { first, held, release } = heldBeforeRefresh();

      const firstCall = first.withOAuthCredentials('reconnected', 'salesforce', query);
      await held.promise;
      await connect('reconnected');
      const reconnected = await container().current('reconnected', 'salesforce');
      release.resolve();

      expect((await firstCall).totalSize).toBe(1);
      // The refresh of the old grant was not stored over the new connection.
      expect(await container().current('reconnected', 'salesforce')).toEqual(reconnected);
    });

    it('fails with re-authorization required, and leaves the status alone, when the credentials were removed during the refresh', async () => {
      await connect('removed');
      sandbox.failures.expireSessions();
      const { first, held, release } = heldBeforeRefresh();

      const firstCall = first.withOAuthCredentials('removed', 'salesforce', query).catch((error: unknown) => error);
      await held.promise;
      // As a disconnect leaves the item: no credentials (written raw, so this test does not depend on how disconnect writes status).
      await table.client.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: { pk: 'TENANT#removed#CONNECTOR#salesforce', sk: 'META' },
          UpdateExpression: 'SET #status = :disconnected REMOVE credentials',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':disconnected': 'disconnected' },
        }),
      );
      release.resolve();

      expect(await firstCall).toMatchObject({ reauthorizationRequired: true });
      expect(await container().current('removed', 'salesforce')).toBeNull();
      expect(await statusOf('removed')).toBe('disconnected');
    });
  });
});
