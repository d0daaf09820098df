import { runtime } from '../core/runtime';
import { syncStateSchema } from '../core/schemas';
import { createStepHandler } from './step';

/** State `SweepPage` (full syncs): one stored page of entities the source no longer has, removed. */
export const handler = createStepHandler(async (event: unknown) => runtime().syncEngine.sweepPage(syncStateSchema.parse(event)));
