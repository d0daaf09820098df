import { logWithKeys } from '../core/logger';
import { runtime } from '../core/runtime';
import { syncStateSchema } from '../core/schemas';
import { createStepHandler } from './step';

/**
 * State `SyncPage`: one provider page read, stored and committed; answers the next state.
 * A next state with `waitSeconds` (and not abandoned, which the state machine's `NextStep`
 * checks first) sends the sync to `WaitForProvider` because the provider throttled it:
 * counted here, once per wait the state machine makes.
 */
export const handler = createStepHandler(async (event: unknown) => {
  const state = syncStateSchema.parse(event);
  const { tenantId, providerId, syncId } = state;
  const next = await runtime().syncEngine.readPage(state, logWithKeys({ tenantId, connectorId: providerId, syncId }));
  if (next.waitSeconds !== undefined && next.phase !== 'abandoned') {
    runtime().metrics.record('ThrottleWaits', 1, { provider: providerId, tenantId, syncId });
  }
  return next;
});
