import { logWithKeys } from '../core/logger';
import { runtime } from '../core/runtime';
import { syncStateSchema } from '../core/schemas';
import { createStepHandler } from './step';

/** State `SweepPage` (full syncs): one stored page of entities the source no longer has, removed. */
export const handler = createStepHandler(async (event: unknown) => {
  const state = syncStateSchema.parse(event);
  return await runtime().syncEngine.sweepPage(state, logWithKeys({ tenantId: state.tenantId, connectorId: state.providerId, syncId: state.syncId }));
});
