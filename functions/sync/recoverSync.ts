import { logWithKeys } from '../core/logger';
import { runtime } from '../core/runtime';
import { executionStatusEventSchema, syncRefSchema } from '../core/schemas';
import { createStepHandler } from './step';

/**
 * EventBridge rule target for sync executions that FAILED, TIMED_OUT or were ABORTED (after
 * every failed sync too: those end in the SyncFailed state): the sync service closes what the
 * execution left open, so no connector stays `syncing` forever.
 */
export const handler = createStepHandler(async (event: unknown) => {
  const { detail } = executionStatusEventSchema.parse(event);
  const state = syncRefSchema.safeParse(JSON.parse(detail.input ?? 'null'));
  if (!state.success) {
    logWithKeys({ procedure: 'recoverSync', execution: detail.name, status: detail.status }).warn('execution input is not a sync state; nothing to recover');
    return { recovered: false };
  }
  const { tenantId, providerId, syncId } = state.data;
  const log = logWithKeys({ procedure: 'recoverSync', execution: detail.name, status: detail.status, tenantId, connectorId: providerId, syncId });
  await runtime().syncService.recoverExecution(state.data, detail, log);
  return { recovered: true };
});
