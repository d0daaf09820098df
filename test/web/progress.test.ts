import { describe, expect, it } from 'vitest';
import { expectedRecords, recordsOf, type PastSync, type SyncFigures } from '../../web/src/progress';

const running = (syncType: string, written = 0): SyncFigures => ({ recordsCreated: written, recordsUpdated: 0, recordsDeleted: 0, recordsFailed: 0, syncType });
const past = (status: string, syncType: string, created: number, updated = 0): PastSync => ({
  status,
  syncType,
  recordsCreated: created,
  recordsUpdated: updated,
  recordsDeleted: 0,
  recordsFailed: 0,
});

describe('expectedRecords (the bar of a running sync)', () => {
  it('expects a full sync into an empty store to write what the last completed full sync wrote', () => {
    const history = [past('running', 'full', 0), past('completed', 'incremental', 12), past('completed', 'full', 1600, 79)];

    expect(expectedRecords(running('full'), history, 0)).toBe(1679);
  });

  it('claims no total when the store holds entities: unchanged records are not counted, so the bar would stand still', () => {
    expect(expectedRecords(running('full'), [past('completed', 'full', 1679)], 1679)).toBeUndefined();
  });

  it('claims no total for an incremental sync, a first sync, or a sync whose start the page did not see', () => {
    expect(expectedRecords(running('incremental'), [past('completed', 'incremental', 40)], 0)).toBeUndefined();
    expect(expectedRecords(running('full'), [past('running', 'full', 0)], 0)).toBeUndefined();
    expect(expectedRecords(running('full'), [past('failed', 'full', 900)], 0)).toBeUndefined();
    expect(expectedRecords(running('full'), [past('completed', 'full', 1679)], undefined)).toBeUndefined();
  });

  it('counts every record a sync wrote or failed to', () => {
    expect(recordsOf({ recordsCreated: 1, recordsUpdated: 2, recordsDeleted: 3, recordsFailed: 4, syncType: 'full' })).toBe(10);
  });
});
