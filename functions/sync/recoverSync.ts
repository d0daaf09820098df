import { loggableCause, logWithKeys } from '../core/logger';
import { runtime } from '../core/runtime';
import { executionStatusEventSchema, syncRefSchema } from '../core/schemas';
import { createStepHandler } from './step';

/**
 * The Error of the state machine's `SyncFailed` state (statemachines/sync.asl.json), which
 * follows FailSync: an execution that FAILED with it went through FailSync, which closed its
 * sync and logged why. Every failed sync ends that way, so this handler runs after each one.
 */
export const FAILED_THROUGH_FAIL_SYNC = 'SyncFailed';

/**
 * EventBridge rule target for sync executions that FAILED, TIMED_OUT or were ABORTED:
 * closes the sync log and sets `error`, so no connector stays `syncing` forever. An execution
 * that failed through FailSync has nothing left to recover (closing again is a no-op). Any
 * other is logged with why it ended and the sync's keys (an error when it failed or timed out
 * without FailSync; a warning when it was stopped, which cancelling a sync does) and counted
 * in RecoveryRuns.
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
  const why = {
    errorName: detail.error || detail.status,
    cause: detail.cause ? loggableCause(detail.cause) : `the execution ended ${detail.status}`,
  };
  const throughFailSync = detail.status === 'FAILED' && why.errorName === FAILED_THROUGH_FAIL_SYNC;
  if (throughFailSync) log.debug('sync execution failed through FailSync, which closed its sync', why);
  else if (detail.status === 'ABORTED') log.warn('sync execution was stopped; recovering its sync', why);
  else log.error('sync execution ended without its failure step; recovering its sync', why);
  await runtime().syncService.recoverExecution(state.data, detail.status, log);
  if (!throughFailSync) {
    runtime().metrics.record('RecoveryRuns', 1, { tenantId, syncId });
    log.info('sync execution recovered');
  }
  return { recovered: true };
});
