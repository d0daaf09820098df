import { logWithKeys } from '../core/logger';
import { runtime } from '../core/runtime';
import { executionStatusEventSchema, syncRefSchema } from '../core/schemas';
import { createStepHandler } from './step';

/**
 * EventBridge rule target for sync executions that FAILED, TIMED_OUT or were ABORTED:
 * closes the sync log and sets `error`, so no connector stays `syncing` forever.
 */
export const handler = createStepHandler(async (event: unknown) => {
  const { detail } = executionStatusEventSchema.parse(event);
  const state = syncRefSchema.safeParse(JSON.parse(detail.input ?? 'null'));
  const log = logWithKeys({ procedure: 'recoverSync', execution: detail.name, status: detail.status });
  if (!state.success) {
    log.warn('execution input is not a sync state; nothing to recover');
    return { recovered: false };
  }
  await runtime().syncService.recoverExecution(state.data, detail.status, log);
  log.info('sync execution recovered', { tenantId: state.data.tenantId, connectorId: state.data.providerId, syncId: state.data.syncId });
  return { recovered: true };
});
