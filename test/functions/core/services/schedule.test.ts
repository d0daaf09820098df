import { afterEach, describe, expect, it } from 'vitest';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { databaseIdFor } from '../../../../functions/core/connector-ref';
import { recordedMetrics } from '../../../../functions/core/metrics';
import type { SyncState } from '../../../../functions/core/model';
import type { ProviderId } from '../../../../functions/core/registry';
import { createRepositories, type Repositories } from '../../../../functions/core/repository';
import type { CredentialService } from '../../../../functions/core/services/credential-service';
import { SyncEngine, nextScheduledSync } from '../../../../functions/core/services/sync-engine';
import { SyncService } from '../../../../functions/core/services/sync-service';
import type { SyncAdapter } from '../../../../functions/providers/types';
import { freshTable } from '../../../support/dynamodb';
import { caller, recordingLog } from '../../../support/log';
import { syncLog } from '../../../support/factories';

const T0 = new Date('2026-03-06T00:00:00.000Z');
const minutes = (n: number) => n * 60_000;
const at = (offsetMinutes: number) => new Date(T0.getTime() + minutes(offsetMinutes)).toISOString();
const sealed = { v: 1, keyId: 'k', wrappedKey: 'w', iv: 'i', ciphertext: 'c', tag: 't' } as never;
/** Enough of an adapter to start and finish syncs whose pages never run (the executions are fakes). */
const adapter = { effectiveSyncType: (requested: string) => requested, listsRecordsOnce: false } as unknown as SyncAdapter;

/**
 * The scheduler and setSchedule against DynamoDB Local, with an injected clock: the sync
 * service and engine as the runtime builds them, executions that only record what started
 * (a test finishes them, as the state machine's FinishSync would), and recorded metrics.
 */
async function harness() {
  const table = await freshTable();
  let now = T0;
  const clock = () => now;
  const stores = createRepositories(table.client, table.tableName);
  const started: SyncState[] = [];
  const metrics = recordedMetrics();
  const log = recordingLog();
  const engine = new SyncEngine({ ...stores, credentials: {} as CredentialService, syncAdapter: () => adapter, clock });
  const service = new SyncService({
    ...stores,
    engine,
    syncAdapter: () => adapter,
    executions: { start: async (_name, state) => void started.push(state), stop: async () => undefined },
    metrics,
    clock,
  });
  const key = (tenant: string, providerId: ProviderId = 'salesforce') => ({ pk: `TENANT#${tenant}#CONNECTOR#${providerId}`, sk: 'META' });
  return {
    table,
    stores,
    service,
    engine,
    started,
    metrics,
    log,
    setClock: (offsetMinutes: number) => void (now = new Date(T0.getTime() + minutes(offsetMinutes))),
    /** Connects the tenant's connector as the connect row does: credentials held, scheduled at the service default. */
    async connect(tenant: string, providerId: ProviderId = 'salesforce') {
      const { schedule } = await stores.lifecycle.read(tenant, providerId);
      const connection = { id: databaseIdFor(tenant, providerId), sealed, config: {}, sourceKey: 'source', sweepUnseen: false, now: now.toISOString() };
      expect(await stores.lifecycle.connect(tenant, providerId, { ...connection, nextSyncAt: nextScheduledSync(now, schedule.intervalMinutes), schedulePaused: schedule.paused })).toBe(true);
    },
    /** Finishes every started sync now, as FinishSync would. */
    async finishStarted() {
      for (const state of started.splice(0)) await engine.finish({ ...state, phase: 'done' }, log);
    },
    async item(tenant: string, providerId: ProviderId = 'salesforce') {
      return (await table.client.send(new GetCommand({ TableName: table.tableName, Key: key(tenant, providerId), ConsistentRead: true }))).Item!;
    },
    /** Puts the connector on the schedule at a given time, whatever it was (a stale or raced entry). */
    async scheduleAt(tenant: string, nextSyncAt: string) {
      await table.client.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: key(tenant),
          UpdateExpression: 'SET scheduleKey = :s, nextSyncAt = :n',
          ExpressionAttributeValues: { ':s': 'SCHEDULED', ':n': nextSyncAt },
        }),
      );
    },
    schedule: async (tenant: string) => (await stores.connectors.getConnectorWithLatestSync(tenant, 'salesforce')).connector,
  };
}

type Harness = Awaited<ReturnType<typeof harness>>;

describe('each connector on its own schedule', () => {
  let h: Harness;
  afterEach(() => h?.table.destroy());

  it('starts a 15-minute and a 60-minute connector each at its own interval', async () => {
    h = await harness();
    await h.connect('every15');
    await h.connect('every60');
    await h.service.setSchedule(caller('every15'), 'salesforce', 15);
    await h.service.setSchedule(caller('every60'), 'salesforce', 60);

    const starts: Record<string, number[]> = { every15: [], every60: [] };
    // The scheduler runs every 5 minutes for two hours; each sync finishes within its tick.
    for (let minute = 5; minute <= 120; minute += 5) {
      h.setClock(minute);
      await h.service.startDueSyncs(h.log);
      for (const state of h.started) starts[state.tenantId]!.push(minute);
      await h.finishStarted();
    }

    expect(starts).toEqual({ every15: [15, 30, 45, 60, 75, 90, 105, 120], every60: [60, 120] });
    expect((await h.item('every15')).nextSyncAt).toBe(at(135));
    expect((await h.item('every60')).nextSyncAt).toBe(at(180));
  });

  it('schedules the first sync of a connection, and a failed sync\'s next one, at the connector\'s interval', async () => {
    h = await harness();
    await h.connect('fails');
    await h.service.setSchedule(caller('fails'), 'salesforce', 30);
    // A reconnect (API key or OAuth completion) schedules from the stored interval.
    h.setClock(3);
    await h.connect('fails');
    expect((await h.item('fails')).nextSyncAt).toBe(at(33));

    h.setClock(33);
    await h.service.startDueSyncs(h.log);
    const [state] = h.started.splice(0);
    h.setClock(35);
    await h.engine.fail(state!, { error: 'SyncFailed', cause: 'The provider said no.' });
    expect(await h.item('fails')).toMatchObject({ status: 'error', scheduleKey: 'SCHEDULED', nextSyncAt: at(65) });

    // A failure only a person can fix takes it off the schedule, and a resume does not put it back.
    h.setClock(65);
    await h.service.startDueSyncs(h.log);
    const [second] = h.started.splice(0);
    await h.engine.fail(second!, { error: 'ReauthorizationRequired', cause: 'The grant was revoked.' });
    expect(await h.item('fails')).not.toHaveProperty('nextSyncAt');
    const resumed = await h.service.setSchedule(caller('fails'), 'salesforce', 15);
    expect(resumed.schedule).toEqual({ intervalMinutes: 15, paused: false, nextSyncAt: null });
    expect(await h.stores.schedule.findDueConnectors(at(10_000), 10)).toEqual([]);
  });

  it('postpones a busy connector by its own interval', async () => {
    h = await harness();
    await h.connect('busy');
    await h.service.setSchedule(caller('busy'), 'salesforce', 20);
    await h.stores.lifecycle.beginSync('busy', 'salesforce', syncLog('busy', 'salesforce', { id: 'sync_manual', status: 'running', completedAt: null }));
    h.setClock(21);

    expect(await h.service.startDueSyncs(h.log)).toBe(0);

    expect((await h.item('busy')).nextSyncAt).toBe(at(41));
  });
});

describe('setSchedule', () => {
  let h: Harness;
  afterEach(() => h?.table.destroy());

  it('moves the next sync to the earlier of the planned one and one new interval from now: never later by sending it again', async () => {
    h = await harness();
    await h.connect('acme');
    expect((await h.item('acme')).nextSyncAt).toBe(at(60));

    h.setClock(10);
    expect(await h.service.setSchedule(caller('acme'), 'salesforce', 15)).toEqual({
      connectorId: 'salesforce',
      databaseId: databaseIdFor('acme', 'salesforce'),
      schedule: { intervalMinutes: 15, paused: false, nextSyncAt: at(25) },
    });
    h.setClock(20);
    expect((await h.service.setSchedule(caller('acme'), 'salesforce', 15)).schedule.nextSyncAt).toBe(at(25));
    expect((await h.service.setSchedule(caller('acme'), 'salesforce', 1440)).schedule).toEqual({ intervalMinutes: 1440, paused: false, nextSyncAt: at(25) });
    expect(await h.item('acme')).toMatchObject({ scheduleIntervalMinutes: 1440, schedulePaused: false, scheduleKey: 'SCHEDULED', nextSyncAt: at(25) });
  });

  it('pauses: off the schedule with its interval and time kept; a resume after the planned time syncs at the next run', async () => {
    h = await harness();
    await h.connect('acme');
    await h.service.setSchedule(caller('acme'), 'salesforce', 30);

    expect((await h.service.setSchedule(caller('acme'), 'salesforce', null)).schedule).toEqual({ intervalMinutes: 30, paused: true, nextSyncAt: null });
    const paused = await h.item('acme');
    expect(paused).not.toHaveProperty('scheduleKey');
    expect(paused).toMatchObject({ schedulePaused: true, scheduleIntervalMinutes: 30, nextSyncAt: at(30) });

    h.setClock(45);
    expect(await h.service.startDueSyncs(h.log)).toBe(0);
    expect((await h.service.setSchedule(caller('acme'), 'salesforce', 30)).schedule).toEqual({ intervalMinutes: 30, paused: false, nextSyncAt: at(30) });
    expect(await h.service.startDueSyncs(h.log)).toBe(1);
  });

  it('does not transition the lifecycle: no status change and no transition stamp', async () => {
    h = await harness();
    await h.connect('acme');
    const before = await h.item('acme');

    await h.service.setSchedule(caller('acme'), 'salesforce', null);
    await h.service.setSchedule(caller('acme'), 'salesforce', 15);

    const after = await h.item('acme');
    expect({ status: after.status, lastTransition: after.lastTransition, transitionSeq: after.transitionSeq }).toEqual({
      status: before.status,
      lastTransition: before.lastTransition,
      transitionSeq: before.transitionSeq,
    });
  });

  it('refuses a connector the tenant never set up, and creates no record', async () => {
    h = await harness();
    await expect(h.service.setSchedule(caller('acme'), 'fathom', 15)).rejects.toMatchObject({ kind: 'invalid_input', message: expect.stringMatching(/connect it before/) });
    await expect(h.service.setSchedule(caller('acme'), 'fathom', null)).rejects.toMatchObject({ kind: 'invalid_input' });
    expect(await h.stores.schedule.readSchedule('acme', 'fathom')).toBeNull();
  });
});

describe('a paused connector stays off the schedule', () => {
  let h: Harness;
  afterEach(() => h?.table.destroy());

  it('is not put back by a connect or a finished manual sync; a resume puts it back', async () => {
    h = await harness();
    await h.connect('acme');
    await h.service.setSchedule(caller('acme'), 'salesforce', 15);
    await h.service.setSchedule(caller('acme'), 'salesforce', null);

    await h.connect('acme');
    await h.service.triggerSync(caller('acme'), 'salesforce', false);
    h.setClock(5);
    await h.finishStarted();

    const item = await h.item('acme');
    expect(item).not.toHaveProperty('scheduleKey');
    expect(item.nextSyncAt).toBe(at(20));
    expect((await h.service.setSchedule(caller('acme'), 'salesforce', 15)).schedule.nextSyncAt).toBe(at(20));
    expect(await h.stores.schedule.findDueConnectors(at(20), 10)).toEqual([{ tenantId: 'acme', providerId: 'salesforce', nextSyncAt: at(20) }]);
  });

  it('closes the race of a pause landing between a finishing sync\'s read and its write: the scheduler takes it off without starting it', async () => {
    h = await harness();
    await h.connect('acme');
    await h.service.setSchedule(caller('acme'), 'salesforce', 15);
    h.setClock(15);
    await h.service.startDueSyncs(h.log);
    const [state] = h.started.splice(0);
    // The finish reads the connector unpaused; the admin pauses right after that read.
    const { lifecycle } = h.stores;
    const racing = new SyncEngine({
      ...h.stores,
      lifecycle: Object.assign(Object.create(lifecycle) as typeof lifecycle, {
        read: async (...args: Parameters<typeof lifecycle.read>) => {
          const read = await lifecycle.read(...args);
          await h.service.setSchedule(caller('acme'), 'salesforce', null);
          return read;
        },
      }),
      credentials: {} as CredentialService,
      syncAdapter: () => adapter,
      clock: () => new Date(at(16)),
    });
    await racing.finish({ ...state!, phase: 'done' }, h.log);
    expect(await h.item('acme')).toMatchObject({ schedulePaused: true, scheduleKey: 'SCHEDULED', nextSyncAt: at(31) });
    expect((await h.schedule('acme'))?.schedulePaused).toBe(true);

    h.setClock(31);
    expect(await h.service.startDueSyncs(h.log)).toBe(0);

    expect(h.started).toEqual([]);
    const item = await h.item('acme');
    expect(item).not.toHaveProperty('scheduleKey');
    expect(item.nextSyncAt).toBe(at(31));
    expect(h.log.lines).toContainEqual(expect.objectContaining({ message: 'scheduled syncs are paused; taken off the schedule' }));
  });

  it('keeps a resume landing between a finishing sync\'s read (paused) and its write', async () => {
    h = await harness();
    await h.connect('acme');
    await h.service.setSchedule(caller('acme'), 'salesforce', null);
    await h.service.triggerSync(caller('acme'), 'salesforce', false);
    const [state] = h.started.splice(0);
    const { lifecycle } = h.stores;
    const racing = new SyncEngine({
      ...h.stores,
      lifecycle: Object.assign(Object.create(lifecycle) as typeof lifecycle, {
        read: async (...args: Parameters<typeof lifecycle.read>) => {
          const read = await lifecycle.read(...args);
          await h.service.setSchedule(caller('acme'), 'salesforce', 15);
          return read;
        },
      }),
      credentials: {} as CredentialService,
      syncAdapter: () => adapter,
      clock: () => new Date(at(2)),
    });

    await racing.finish({ ...state!, phase: 'done' }, h.log);

    // The finish read it paused and kept only the time; the resume's scheduleKey keeps it on the schedule.
    expect(await h.stores.schedule.findDueConnectors(at(62), 10)).toEqual([{ tenantId: 'acme', providerId: 'salesforce', nextSyncAt: at(62) }]);
  });
});

describe('the scheduler\'s metrics', () => {
  let h: Harness;
  afterEach(() => h?.table.destroy());

  it('records zeros for a run with nothing due, once each and without a provider', async () => {
    h = await harness();
    await h.service.startDueSyncs(h.log);
    expect(h.metrics.records).toEqual([
      { name: 'ScheduledSyncsStarted', value: 0, context: {} },
      { name: 'ScheduledSyncsSkipped', value: 0, context: {} },
      { name: 'ConnectorsOverdue', value: 0, context: {} },
    ]);
  });

  it('counts started, skipped (busy, paused, disconnected) and overdue connectors (late by more than two of their intervals), and logs the overdue ones', async () => {
    h = await harness();
    const NOW = 600;
    for (const tenant of ['ok', 'busy', 'paused', 'gone', 'late', 'at-limit', 'late-default']) await h.connect(tenant);
    for (const tenant of ['ok', 'busy', 'paused', 'late', 'at-limit']) await h.service.setSchedule(caller(tenant), 'salesforce', 15);
    await h.stores.lifecycle.beginSync('busy', 'salesforce', syncLog('busy', 'salesforce', { id: 'sync_manual', status: 'running', completedAt: null }));
    await h.service.setSchedule(caller('paused'), 'salesforce', null);
    await h.stores.lifecycle.disconnect('gone', 'salesforce', { now: at(0) });
    const due: Record<string, number> = { ok: NOW - 5, busy: NOW - 1, paused: NOW - 1, gone: NOW - 1, late: NOW - 31, 'at-limit': NOW - 30, 'late-default': NOW - 90 };
    for (const [tenant, offset] of Object.entries(due)) await h.scheduleAt(tenant, at(offset));
    h.setClock(NOW);

    expect(await h.service.startDueSyncs(h.log)).toBe(4);

    expect(h.metrics.records).toEqual([
      { name: 'ScheduledSyncsStarted', value: 4, context: {} },
      { name: 'ScheduledSyncsSkipped', value: 3, context: {} },
      { name: 'ConnectorsOverdue', value: 1, context: {} },
    ]);
    expect(h.started.map((state) => state.tenantId).sort()).toEqual(['at-limit', 'late', 'late-default', 'ok']);
    const overdue = h.log.lines.filter((line) => line.message === 'scheduled sync overdue');
    expect(overdue).toEqual([
      { level: 'warn', message: 'scheduled sync overdue', extra: { tenantId: 'late', connectorId: 'salesforce', provider: 'salesforce', nextSyncAt: at(NOW - 31), intervalMinutes: 15 } },
    ]);
    // Skipped ones moved on: busy an interval later, paused off the schedule (time kept), disconnected off it.
    expect((await h.item('busy')).nextSyncAt).toBe(at(NOW + 15));
    expect(await h.item('paused')).not.toHaveProperty('scheduleKey');
    expect(await h.item('gone')).not.toHaveProperty('nextSyncAt');
  });
});
