import * as z from 'zod/mini';
import { loggableCause, logWithKeys } from '../core/logger';
import { runtime } from '../core/runtime';
import { executionStatusEventSchema, syncRefSchema } from '../core/schemas';
import { createStepHandler } from './step';

/** What EventBridge says about why an execution ended: present for FAILED and TIMED_OUT, usually absent for ABORTED. */
const executionEndSchema = z.object({
  detail: z.object({ error: z.optional(z.nullable(z.string())), cause: z.optional(z.nullable(z.string())) }),
});

/**
 * EventBridge rule target for sync executions that FAILED, TIMED_OUT or were ABORTED:
 * closes the sync log and sets `error`, so no connector stays `syncing` forever. Logs why the
 * execution ended with the sync's keys (an error when it failed or timed out; a warning when
 * it was stopped, which cancelling a sync does) and counts each recovery in RecoveryRuns.
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
  const ended = executionEndSchema.safeParse(event).data?.detail;
  const why = { errorName: ended?.error || detail.status, cause: ended?.cause ? loggableCause(ended.cause) : `the execution ended ${detail.status}` };
  if (detail.status === 'ABORTED') log.warn('sync execution was stopped; recovering its sync', why);
  else log.error('sync execution ended without its failure step; recovering its sync', why);
  await runtime().syncService.recoverExecution(state.data, detail.status, log);
  runtime().metrics.record('RecoveryRuns', 1, { tenantId, syncId });
  log.info('sync execution recovered');
  return { recovered: true };
});
