import { runtime } from '../core/runtime';
import { failedSyncSchema } from '../core/schemas';
import { createStepHandler } from './step';

/** State `FailSync`: the sync failed; the connector gets `error` and a sentence a user can act on. */
export const handler = createStepHandler(async (event: unknown) => {
  const { failure, ...state } = failedSyncSchema.parse(event);
  await runtime().syncEngine.fail(state, { error: failure.Error, cause: failure.Cause });
  return { failed: true };
});
