import { runtime } from '../core/runtime';
import { triggerSyncInput } from '../core/schemas';
import { adminProcedure, connectorRouter } from './trpc/init';
import { createApiHandler } from './trpc/lambda';

/** `connector.triggerSync` (admin): queues a sync; it runs in the sync state machine. */
export const triggerSync = adminProcedure
  .input(triggerSyncInput)
  .mutation(({ ctx, input }) => runtime().syncService.triggerSync(ctx.caller, input.connectorId, input.fullSync));

export const handler = createApiHandler(connectorRouter({ triggerSync }));
