import { logWithKeys } from '../core/logger';
import { runtime } from '../core/runtime';
import { syncStateSchema } from '../core/schemas';
import { createStepHandler } from './step';

/** State `FinishSync`: the sync completed; the log and the connector say so. */
export const handler = createStepHandler(async (event: unknown) => {
  const state = syncStateSchema.parse(event);
  await runtime().syncEngine.finish(state, logWithKeys({ tenantId: state.tenantId, connectorId: state.providerId, syncId: state.syncId }));
  return { finished: true };
});
