import { logWithKeys } from '../core/logger';
import { runtime } from '../core/runtime';
import { syncStateSchema } from '../core/schemas';
import { createStepHandler } from './step';

/** What each kind of wait is counted as: the state machine makes one Wait per count. */
const WAIT_METRICS = { provider: 'ThrottleWaits', apiBudget: 'ApiBudgetWaits', bulkJob: 'BulkJobPolls' } as const;

/**
 * State `SyncPage`: one provider page read, stored and committed; answers the next state.
 * A next state with `waitSeconds` (and not abandoned, which the state machine's `NextStep`
 * checks first) sends the sync to a Wait state: `WaitForProvider` (the provider throttled
 * it), `WaitForApiBudget` or `WaitForBulkJob`, counted here by kind.
 */
export const handler = createStepHandler(async (event: unknown) => {
  const state = syncStateSchema.parse(event);
  const { tenantId, providerId, syncId } = state;
  const next = await runtime().syncEngine.readPage(state, logWithKeys({ tenantId, connectorId: providerId, syncId }));
  if (next.waitSeconds !== undefined && next.phase !== 'abandoned') {
    runtime().metrics.record(WAIT_METRICS[next.waitReason ?? 'provider'], 1, { provider: providerId, tenantId, syncId });
  }
  return next;
});
