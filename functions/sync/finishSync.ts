import { runtime } from '../core/runtime';
import { syncStateSchema } from '../core/schemas';
import { createStepHandler } from './step';

/** State `FinishSync`: the sync completed; the log and the connector say so. */
export const handler = createStepHandler(async (event: unknown) => {
  await runtime().syncEngine.finish(syncStateSchema.parse(event));
  return { finished: true };
});
