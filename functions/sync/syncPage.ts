import { logWithKeys } from '../core/logger';
import { runtime } from '../core/runtime';
import { syncStateSchema } from '../core/schemas';
import { createStepHandler } from './step';

/** State `SyncPage`: one provider page read, stored and committed; answers the next state. */
export const handler = createStepHandler(async (event: unknown) => {
  const state = syncStateSchema.parse(event);
  const log = logWithKeys({ tenantId: state.tenantId, connectorId: state.providerId, syncId: state.syncId });
  return await runtime().syncEngine.readPage(state, log);
});
