import { runtime } from '../core/runtime';
import { disconnectInput } from '../core/schemas';
import { adminProcedure, connectorRouter } from './trpc/init';
import { createApiHandler } from './trpc/lambda';

/** `connector.disconnect` (admin): clears the connector's credentials and resets its status. */
export const disconnect = adminProcedure
  .input(disconnectInput)
  .mutation(({ ctx, input }) => runtime().connectorService.disconnect(ctx.caller, input.connectorId, { purgeData: input.purgeData }));

export const handler = createApiHandler(connectorRouter({ disconnect }));
