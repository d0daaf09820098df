import { runtime } from '../core/runtime';
import { connectInput } from '../core/schemas';
import { adminProcedure, connectorRouter } from './trpc/init';
import { createApiHandler } from './trpc/lambda';

/** `connector.connect` (admin): connects an API-key provider after checking the key with it. */
export const connect = adminProcedure
  .input(connectInput)
  .mutation(({ ctx, input }) => runtime().apiKeyService.connect(ctx.caller, input));

export const handler = createApiHandler(connectorRouter({ connect }));
