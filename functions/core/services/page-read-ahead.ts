import type { SyncState } from '../model';
import type { SourcePage, SyncCursor } from '../../providers/types';

/** Syncs whose read-ahead one container keeps at most (one page each); the oldest goes first. */
const MAX_SYNCS = 8;

interface SyncReadAhead {
  /** The last page this container read for the sync. */
  served: number;
  pending?: { key: string; page: Promise<SourcePage | undefined> };
}

/**
 * Reads a sync's next provider page while the current page is being written, so the next
 * SyncPage task finds it waiting instead of fetching it: the fetch leaves the path between
 * two pages' writes. Only cursors still pass between states; the page stays in this
 * container (a warm Lambda, or the local process) and is used only by the task for exactly
 * that sync, page number, mode and cursor. A task that lands elsewhere reads the page itself.
 *
 * A page read ahead that no task takes costs one provider request, which counts against the
 * org's API limit: a container reads ahead only for a sync whose previous page it also read,
 * i.e. when consecutive tasks keep landing on it.
 */
export class PageReadAhead {
  private readonly syncs = new Map<string, SyncReadAhead>();

  /**
   * The page read ahead for this state, if one was and it succeeded; a failed read ahead
   * answers undefined and the task reads the page itself (and meets the error properly).
   */
  async take(state: SyncState): Promise<SourcePage | undefined> {
    const sync = this.syncs.get(state.syncId);
    const pending = sync?.pending;
    if (!sync || !pending || pending.key !== keyOf(state.pageNo, state.syncType, state.cursor)) return undefined;
    sync.pending = undefined;
    return await pending.page;
  }

  /**
   * Notes that this container read `state`'s page, and starts reading the next one when the
   * sync's tasks have been landing here. `read` must never be retried by the caller: a
   * failure is kept as "nothing read ahead".
   */
  served(state: SyncState, nextCursor: SyncCursor | null, read: () => Promise<SourcePage>): void {
    const sync = this.syncs.get(state.syncId);
    // The previous page, or this one before a retry: the sync's tasks are landing here.
    const sticky = sync !== undefined && (sync.served === state.pageNo - 1 || sync.served === state.pageNo);
    const key = nextCursor && keyOf(state.pageNo + 1, state.syncType, nextCursor);
    this.syncs.delete(state.syncId); // re-inserted last: the map's order is the eviction order
    const next: SyncReadAhead = { served: state.pageNo };
    if (sticky && key) {
      // A retried task finds its next page already on the way.
      next.pending = sync.pending?.key === key ? sync.pending : { key, page: read().catch(() => undefined) };
    }
    this.syncs.set(state.syncId, next);
    while (this.syncs.size > MAX_SYNCS) this.syncs.delete(this.syncs.keys().next().value!);
  }

  /** Waits until the sync's read ahead (if any) has finished, so nothing is in flight when the task returns. */
  async settled(syncId: string): Promise<void> {
    await this.syncs.get(syncId)?.pending?.page;
  }
}

function keyOf(pageNo: number, mode: SyncState['syncType'], cursor: SyncState['cursor']): string {
  return `${pageNo}|${mode}|${JSON.stringify(cursor)}`;
}
