import { runtime } from '../core/runtime';
import { getAuthUrlInput } from '../core/schemas';
import { adminProcedure, connectorRouter } from './trpc/init';
import { createApiHandler } from './trpc/lambda';

/** `connector.getAuthUrl` (admin): starts OAuth for Salesforce (or `connectorId`) and answers the consent URL. */
export const getAuthUrl = adminProcedure
  .input(getAuthUrlInput)
  .mutation(({ ctx, input }) => runtime().oauthService.startAuthorization(ctx.caller, input?.connectorId));

export const handler = createApiHandler(connectorRouter({ getAuthUrl }));
