import { loggableCause, logWithKeys } from '../core/logger';
import { runtime } from '../core/runtime';
import { failedSyncSchema } from '../core/schemas';
import type { SyncStepError } from '../core/services/sync-engine';
import { createStepHandler } from './step';

/** Failures the steps report on purpose (a provider that stayed down, a revoked grant): expected, so a warning. */
const REPORTED_FAILURES: ReadonlySet<string> = new Set<SyncStepError['name']>(['ProviderUnavailable', 'SyncFailed', 'ReauthorizationRequired']);

/**
 * State `FailSync`: the sync failed; the connector gets `error` and a sentence a user can act on.
 * The log says why, with the sync's keys: a warning for the failures the steps report, an
 * error for anything else (a bug, Lambda timeouts), which needs an engineer.
 */
export const handler = createStepHandler(async (event: unknown) => {
  const { failure, ...state } = failedSyncSchema.parse(event);
  const log = logWithKeys({ tenantId: state.tenantId, connectorId: state.providerId, syncId: state.syncId });
  const details = { errorName: failure.Error, cause: loggableCause(failure.Cause), ...(state.purge && { purge: true }) };
  if (REPORTED_FAILURES.has(failure.Error)) log.warn('sync failed', details);
  else log.error('sync failed unexpectedly', details);
  await runtime().syncEngine.fail(state, { error: failure.Error, cause: failure.Cause });
  return { failed: true };
});
