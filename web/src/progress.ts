/**
 * What a running sync's bar can know. A sync's figures count changes: records it created,
 * updated or deleted (and failed), not records it read and found unchanged. So a total is
 * known only when a sync is expected to write everything again: a full sync into an empty
 * store (after a purge), whose previous full sync wrote that many. Otherwise the bar shows
 * the live figure without claiming a total.
 */

export interface SyncFigures {
  recordsCreated: number;
  recordsUpdated: number;
  recordsDeleted: number;
  recordsFailed: number;
  syncType: string;
}

export interface PastSync extends SyncFigures {
  status: string;
}

/** Records a sync has written (or failed to) so far. */
export const recordsOf = (sync: SyncFigures): number => sync.recordsCreated + sync.recordsUpdated + sync.recordsDeleted + sync.recordsFailed;

/**
 * The records a running sync may be expected to write, or undefined when nothing says.
 * @param history the connector's latest syncs, newest first (the running one included)
 * @param storedAtStart the entities stored when the sync was seen to start; undefined when not seen
 */
export function expectedRecords(running: SyncFigures, history: readonly PastSync[] | undefined, storedAtStart: number | undefined): number | undefined {
  if (running.syncType !== 'full' || storedAtStart !== 0) return undefined;
  const previous = history?.find((entry) => entry.status === 'completed' && entry.syncType === 'full');
  const written = previous ? previous.recordsCreated + previous.recordsUpdated : 0;
  return written > 0 ? written : undefined;
}
