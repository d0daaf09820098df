import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateLocalKey } from '../../../../functions/core/crypto';
import type { SyncState } from '../../../../functions/core/model';
import { createRepositories } from '../../../../functions/core/repository';
import type { DynamoConnectorRepository } from '../../../../functions/core/repository/dynamo-connector-repository';
import { OAuthService } from '../../../../functions/core/services/oauth-service';
import { SyncEngine, SyncStepError } from '../../../../functions/core/services/sync-engine';
import { SyncService } from '../../../../functions/core/services/sync-service';
import { O365Adapter } from '../../../../functions/providers/o365/o365-adapter';
import { type O365Sandbox, startO365Sandbox } from '../../../../local/sandboxes/o365';
import { freshTable } from '../../../support/dynamodb';
import { caller, recordingLog } from '../../../support/log';
import { localCredentialService } from '../../../support/credentials';

/**
 * Office 365 syncs through the real sync service and engine, DynamoDB Local and the
 * sandbox. A small loop stands in for the state machine: it runs the engine's steps in
 * order, skips the waits, and fails the sync the way the Catch state would.
 */
describe('Office 365 sync through the sync engine', () => {
  let table: Awaited<ReturnType<typeof freshTable>>;
  let sandbox: O365Sandbox;
  let adapter: O365Adapter;
  let engine: SyncEngine;
  let syncs: SyncService;
  let connectors: DynamoConnectorRepository;
  const started: SyncState[] = [];
  const waits: number[] = [];
  const key = generateLocalKey();

  async function connect(tenantId: string): Promise<void> {
    const credentialService = localCredentialService(table, () => adapter, key);
    const repositories = createRepositories(table.client, table.tableName);
    const oauth = new OAuthService({
      lifecycle: repositories.lifecycle,
      syncs,
      reconnectReason: 'Reconnected during the sync.',
      states: repositories.oauthStates,
      credentialService,
      oauthAdapter: () => adapter,
      redirectUri: () => 'http://127.0.0.1:1/oauth/o365/callback',
    });
    const { authUrl } = await oauth.startAuthorization(caller(tenantId), 'o365');
    const back = new URL((await fetch(authUrl, { redirect: 'manual' })).headers.get('location')!);
    expect(await oauth.completeAuthorization('o365', Object.fromEntries(back.searchParams), recordingLog())).toMatchObject({ kind: 'connected' });
  }

  /** Triggers a sync and runs it to its end, as the state machine would. */
  async function sync(tenantId: string, fullSync = false) {
    await syncs.triggerSync(caller(tenantId), 'o365', fullSync);
    let state = started.pop()!;
    const log = recordingLog();
    while (state.phase !== 'done') {
      try {
        state = state.phase === 'read' ? await engine.readPage(state, log) : await engine.sweepPage(state, log);
      } catch (error) {
        if (!(error instanceof SyncStepError)) throw error;
        await engine.fail(state, { error: error.name, cause: error.message });
        return await latest(tenantId);
      }
      if (state.waitSeconds !== undefined) {
        waits.push(state.waitSeconds);
        const { waitSeconds: _skipped, ...rest } = state;
        state = rest;
      }
      if (state.continuation) state = state.continuation;
    }
    await engine.finish(state, log);
    return await latest(tenantId);
  }

  const latest = async (tenantId: string) => (await connectors.listSyncLogs(tenantId, 'o365', 1))[0]!;
  /** The attributes stored for a contact. */
  const stored = async (tenantId: string, sourceId: string) => {
    const { entities } = createRepositories(table.client, table.tableName);
    const found = await entities.findEntities(tenantId, 'o365', [{ type: 'people', sourceId }], { withAttributes: true });
    return found.get(entities.entityKey({ type: 'people', sourceId }))?.attributes;
  };
  const people = async (tenantId: string) => (await connectors.getEntityCounts(tenantId, 'o365')).people;

  beforeAll(async () => {
    table = await freshTable();
    sandbox = await startO365Sandbox();
    adapter = new O365Adapter({ loginUrl: sandbox.url, graphUrl: sandbox.url, clientId: sandbox.clientId, clientSecret: async () => sandbox.clientSecret, pageSize: 50 });
    const credentials = localCredentialService(table, () => adapter, key);
    const repositories = createRepositories(table.client, table.tableName);
    engine = new SyncEngine({ ...repositories, credentials, syncAdapter: (providerId) => (providerId === 'o365' ? adapter : undefined) });
    syncs = new SyncService({
      ...repositories,
      engine,
      executions: { start: async (_name, state) => void started.push(state), stop: async () => undefined },
      syncAdapter: (providerId) => (providerId === 'o365' ? adapter : undefined),
      pagesPerExecution: 2,
    });
    connectors = repositories.connectors;
    await connect('acme');
    await sync('acme');
  });
  afterAll(async () => {
    await sandbox.close();
    table.destroy();
  });
  beforeEach(() => {
    sandbox.failures.reset();
    sandbox.resetStats();
    waits.length = 0;
  });

  it('a first sync brings in every contact as a person', async () => {
    expect(await people('acme')).toBe(150);
    expect(await latest('acme')).toMatchObject({ status: 'completed', recordsCreated: 150, recordsFailed: 0 });
  });

  it('an immediate incremental sync lists the folders, asks each delta link once, and changes nothing', async () => {
    expect(await sync('acme')).toMatchObject({ status: 'completed', syncType: 'incremental', recordsCreated: 0, recordsUpdated: 0 });
    // The default folder's id, the folders under it, the child folders of those three; then four delta links.
    expect(sandbox.stats().byEndpoint).toEqual({ contactFolder: 1, contactFolders: 1, childFolders: 3, contactsDelta: 4 });
    expect(await people('acme')).toBe(150);
  });

  it('merges a change Graph sends partially: the attributes it leaves out stay, a cleared one goes, and it counts once', async () => {
    const [id] = sandbox.data.contactsIn(sandbox.defaultFolderId);
    const before = (await stored('acme', id!))!;
    expect(before).toMatchObject({ name: expect.any(String) });
    sandbox.data.update(id!, { jobTitle: 'Chief Merging Officer' });

    expect(await sync('acme')).toMatchObject({ status: 'completed', recordsCreated: 0, recordsUpdated: 1 });
    expect(await stored('acme', id!)).toEqual({ ...before, jobTitle: 'Chief Merging Officer' });

    sandbox.data.update(id!, { jobTitle: null });
    expect(await sync('acme')).toMatchObject({ recordsUpdated: 1 });
    const { jobTitle: _gone, ...rest } = before;
    expect(await stored('acme', id!)).toEqual(rest);
    // Set to what it already is: Graph reports the contact, but nothing the engine keeps changed.
    sandbox.data.update(id!, { displayName: before.name as string });
    expect(await sync('acme')).toMatchObject({ recordsUpdated: 0 });
  });

  it('syncs a folder created since the last sync, and removes the contacts of a folder deleted since', async () => {
    const folder = sandbox.data.addFolder('Events');
    const child = sandbox.data.addFolder('Events 2027', folder);
    sandbox.data.add(4, folder);
    sandbox.data.add(2, child);
    expect(await sync('acme')).toMatchObject({ status: 'completed', syncType: 'incremental', recordsCreated: 6 });
    expect(await people('acme')).toBe(156);

    sandbox.data.removeFolder(folder);
    // A folder of the watermark is gone: the sync runs full, and its sweep removes what went with it.
    expect(await sync('acme')).toMatchObject({ status: 'completed', syncType: 'full', recordsCreated: 0, recordsDeleted: 6 });
    expect(await people('acme')).toBe(150);
    expect(await sync('acme')).toMatchObject({ status: 'completed', syncType: 'incremental', recordsCreated: 0, recordsDeleted: 0 });
  });

  it('an incremental sync applies changes, additions and removals from the delta link', async () => {
    sandbox.data.modify(3);
    sandbox.data.remove(2);
    sandbox.data.add(1);

    // Removals are their own figure, never updates.
    expect(await sync('acme')).toMatchObject({ status: 'completed', recordsCreated: 1, recordsUpdated: 3, recordsDeleted: 2 });
    expect(await people('acme')).toBe(149);
  });

  it('an expired delta link turns the sync into a full one, whose sweep finds what was removed meanwhile', async () => {
    sandbox.data.remove(4);
    sandbox.failures.expireDeltaLinks();

    expect(await sync('acme')).toMatchObject({ status: 'completed', recordsCreated: 0 });
    expect(await people('acme')).toBe(sandbox.data.count());
    expect(sandbox.data.count()).toBe(145);
    // And the full sync left a fresh delta link behind.
    expect(await sync('acme')).toMatchObject({ status: 'completed', recordsCreated: 0, recordsUpdated: 0 });
  });

  it('refreshes an expired access token in the middle of a sync and carries on', async () => {
    sandbox.failures.expireSessions();
    expect(await sync('acme', true)).toMatchObject({ status: 'completed', syncType: 'full' });
    expect(sandbox.stats().tokenRefreshes).toBe(1);
    expect(await people('acme')).toBe(145);
  });

  it('waits as long as Graph asks when it throttles', async () => {
    sandbox.data.add(2);
    sandbox.failures.throttle(2, 7);
    expect(await sync('acme')).toMatchObject({ status: 'completed', recordsCreated: 2 });
    expect(waits).toEqual([7, 7]);
  });

  it('fails with a message asking an admin to reconnect when the grant was revoked', async () => {
    sandbox.failures.revokeGrant();
    expect(await sync('acme')).toMatchObject({ status: 'failed' });
    const { connector } = await connectors.getConnectorWithLatestSync('acme', 'o365');
    expect(connector).toMatchObject({ status: 'error', lastSyncError: expect.stringMatching(/an admin needs to reconnect Office 365/) });
  });
});
