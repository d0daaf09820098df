import { logWithKeys } from '../core/logger';
import { runtime } from '../core/runtime';
import { syncStateSchema } from '../core/schemas';
import { createStepHandler } from './step';

/** State `PurgePage`: one page of a disconnected connector's entities deleted (disconnect with `purgeData`). */
export const handler = createStepHandler(async (event: unknown) => {
  const state = syncStateSchema.parse(event);
  return await runtime().syncEngine.purgePage(state, logWithKeys({ tenantId: state.tenantId, connectorId: state.providerId, syncId: state.syncId }));
});
