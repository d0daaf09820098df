import { loggableCause, logWithKeys } from '../core/logger';
import { runtime } from '../core/runtime';
import { failedSyncSchema } from '../core/schemas';
import { STEP_FAILURES } from '../core/services/sync-engine';
import { createStepHandler } from './step';

/**
 * State `FailSync`: the sync failed; the connector gets `error` and a sentence a user can act on.
 * The log says why, with the sync's keys: a warning for the failures the steps report (STEP_FAILURES), an
 * error for anything else (a bug, Lambda timeouts), which needs an engineer.
 */
export const handler = createStepHandler(async (event: unknown) => {
  const { failure, ...state } = failedSyncSchema.parse(event);
  const log = logWithKeys({ tenantId: state.tenantId, connectorId: state.providerId, syncId: state.syncId });
  const details = { errorName: failure.Error, cause: loggableCause(failure.Cause), ...(state.purge && { purge: true }) };
  if (STEP_FAILURES.includes(failure.Error)) log.warn('sync failed', details);
  else log.error('sync failed unexpectedly', details);
  await runtime().syncEngine.fail(state, { error: failure.Error, cause: failure.Cause });
  return { failed: true };
});
