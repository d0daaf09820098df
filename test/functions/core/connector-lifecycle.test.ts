import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHORIZATION_TTL_MS, allows, effectiveStatus, lifecycle, type LifecycleRow } from '../../../functions/core/connector-lifecycle';
import type { ConnectorStatus } from '../../../functions/core/model';
import { DynamoLifecycleRepository } from '../../../functions/core/repository/dynamo-lifecycle-repository';
import { TestConnectorStore } from '../../support/connector-store';
import { freshTable } from '../../support/dynamodb';
import { connectorRecord, syncLog } from '../../support/factories';

const statuses: ConnectorStatus[] = ['disconnected', 'pending_auth', 'connected', 'syncing', 'error'];
const NOW = '2026-03-06T00:00:00.000Z';
const sealed = { v: 1, keyId: 'k', wrappedKey: 'w', iv: 'i', ciphertext: 'c', tag: 't' } as never;
const connection = { id: 'conn_x', sealed, config: {}, sourceKey: 'source', sweepUnseen: false, now: NOW, nextSyncAt: NOW };

/** Each row of the table, as the lifecycle repository performs it. */
const perform: Record<Exclude<LifecycleRow, 'authorizationExpired'>, (repo: DynamoLifecycleRepository, tenant: string) => Promise<boolean>> = {
  connect: (repo, tenant) => repo.connect(tenant, 'salesforce', connection),
  authorizationStarted: (repo, tenant) => repo.startAuthorization(tenant, 'salesforce', { id: 'conn_x', stateHash: 'new', now: NOW, expiresAt: NOW }, false),
  reauthorizationStarted: (repo, tenant) => repo.startAuthorization(tenant, 'salesforce', { id: 'conn_x', stateHash: 'new', now: NOW, expiresAt: NOW }, true),
  authorizationCompleted: (repo, tenant) => repo.completeAuthorization(tenant, 'salesforce', { ...connection, stateHash: 'pending' }),
  authorizationFailed: (repo, tenant) => repo.failAuthorization(tenant, 'salesforce', { stateHash: 'pending', message: 'denied', now: NOW }, false),
  reauthorizationFailed: (repo, tenant) => repo.failAuthorization(tenant, 'salesforce', { stateHash: 'pending', message: 'denied', now: NOW }, true),
  syncStarted: (repo, tenant) => repo.beginSync(tenant, 'salesforce', syncLog(tenant, 'salesforce', { id: 'sync_new', status: 'running', completedAt: null })),
  syncFinished: (repo, tenant) => repo.finishSync(tenant, 'salesforce', 'sync_active', { completedAt: NOW, watermark: {}, nextSyncAt: NOW, counts: null }),
  syncFailed: (repo, tenant) => repo.failSync(tenant, 'salesforce', 'sync_active', { completedAt: NOW, message: 'failed', nextSyncAt: NOW }),
  syncCancelled: (repo, tenant) => repo.cancelSync(tenant, 'salesforce', 'sync_active', { completedAt: NOW, reason: 'cancelled' }),
  disconnect: (repo, tenant) => repo.disconnect(tenant, 'salesforce', { now: NOW }),
  reauthorizationRequired: (repo, tenant) => repo.markReauthorizationRequired(tenant, 'salesforce', 'gone', NOW),
};

describe('the connector lifecycle, as written to DynamoDB', () => {
  let table: Awaited<ReturnType<typeof freshTable>>;
  let store: TestConnectorStore;
  let repo: DynamoLifecycleRepository;
  let tenants = 0;

  /** A connector in `status` with what that status implies: credentials, a pending flow, a running sync. */
  async function connectorIn(status: ConnectorStatus): Promise<string> {
    const tenant = `t${++tenants}`;
    const holds = status === 'connected' || status === 'syncing' || status === 'error';
    await store.saveConnector({
      ...connectorRecord(tenant, 'salesforce', { status }),
      ...(holds && ({ credentials: sealed } as object)),
      ...((status === 'pending_auth' || holds) && ({ pendingStateHash: 'pending' } as object)),
      ...(status === 'syncing' && { activeSyncId: 'sync_active' }),
    });
    if (status === 'syncing') await store.saveSyncLog('salesforce', syncLog(tenant, 'salesforce', { id: 'sync_active', status: 'running', completedAt: null }));
    return tenant;
  }

  beforeAll(async () => {
    table = await freshTable();
    store = new TestConnectorStore(table.client, table.tableName);
    repo = new DynamoLifecycleRepository(table.client, table.tableName);
  });
  afterAll(() => table.destroy());

  for (const [row, run] of Object.entries(perform) as [keyof typeof perform, (typeof perform)[keyof typeof perform]][]) {
    for (const status of statuses) {
      // The credential-holding rows and the credential-less ones split the states between them.
      const expected = allows(row, status);
      it(`${row} from ${status}: ${expected ? `moves to ${lifecycle[row].to}` : 'is refused, and nothing changes'}`, async () => {
        const tenant = await connectorIn(status);
        const before = await repo.read(tenant, 'salesforce');

        expect(await run(repo, tenant)).toBe(expected);

        const after = await repo.read(tenant, 'salesforce');
        if (!expected) return expect(after).toEqual(before);
        const to = lifecycle[row].to;
        expect(after.status).toBe(to === 'unchanged' ? status : to);
        // The invariants every row keeps: syncing if and only if a sync owns it; pending_auth never with credentials.
        expect(after.status === 'syncing').toBe(after.activeSyncId !== null);
        if (after.status === 'pending_auth') expect(after.holdsCredentials).toBe(false);
      });
    }
  }

  it('creates the connector only by connecting or starting an authorization', async () => {
    for (const [row, run] of Object.entries(perform)) {
      const created = await run(repo, `absent-${row}`);
      expect(created, row).toBe(row === 'connect' || row === 'authorizationStarted');
    }
  });

  it('ends a sync only for the sync that owns the connector', async () => {
    const tenant = await connectorIn('syncing');
    expect(await repo.finishSync(tenant, 'salesforce', 'sync_other', { completedAt: NOW, watermark: {}, nextSyncAt: NOW, counts: null })).toBe(false);
    expect(await repo.isOwner(tenant, 'salesforce', 'sync_active')).toBe(true);
    expect(await repo.isOwner(tenant, 'salesforce', 'sync_other')).toBe(false);
  });

  it('clears the watermark on every (re)connect and on disconnect, and keeps the source key across a disconnect', async () => {
    const tenant = await connectorIn('syncing');
    await repo.finishSync(tenant, 'salesforce', 'sync_active', { completedAt: NOW, watermark: { Account: NOW }, nextSyncAt: NOW, counts: null });
    expect((await repo.read(tenant, 'salesforce')).watermark).toEqual({ Account: NOW });
    await repo.connect(tenant, 'salesforce', connection);
    expect((await repo.read(tenant, 'salesforce')).watermark).toBeNull();
    await repo.disconnect(tenant, 'salesforce', { now: NOW });
    expect(await repo.read(tenant, 'salesforce')).toMatchObject({ status: 'disconnected', holdsCredentials: false, watermark: null, sourceKey: 'source' });
  });

  it('reads a pending_auth whose flow expired as disconnected, with no write', () => {
    const started = Date.parse(NOW);
    const pending = { status: 'pending_auth' as const, pendingAuthExpiresAt: new Date(started + AUTHORIZATION_TTL_MS).toISOString() };
    expect(effectiveStatus(pending, new Date(started + AUTHORIZATION_TTL_MS - 1))).toBe('pending_auth');
    expect(effectiveStatus(pending, new Date(started + AUTHORIZATION_TTL_MS))).toBe('disconnected');
    expect(effectiveStatus({ status: 'connected', pendingAuthExpiresAt: pending.pendingAuthExpiresAt }, new Date(started + 2 * AUTHORIZATION_TTL_MS))).toBe('connected');
  });
});
