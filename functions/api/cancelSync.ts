import { runtime } from '../core/runtime';
import { cancelSyncInput } from '../core/schemas';
import { adminProcedure, connectorRouter } from './trpc/init';
import { createApiHandler } from './trpc/lambda';

/** `connector.cancelSync` (admin): stops the running sync; its log ends `cancelled`. */
export const cancelSync = adminProcedure
  .input(cancelSyncInput)
  .mutation(({ ctx, input }) => runtime().syncService.cancelSync(ctx.caller, input.connectorId));

export const handler = createApiHandler(connectorRouter({ cancelSync }));
