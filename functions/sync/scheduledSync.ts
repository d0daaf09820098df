import { logWithKeys } from '../core/logger';
import { runtime } from '../core/runtime';
import { createStepHandler } from './step';

/** EventBridge Scheduler target: starts incremental syncs of the connectors that are due. */
export const handler = createStepHandler(async () => ({
  started: await runtime().syncService.startDueSyncs(logWithKeys({ procedure: 'scheduledSync' })),
}));
