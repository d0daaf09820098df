import { runtime } from '../core/runtime';
import { getSyncHistoryInput } from '../core/schemas';
import { connectorRouter, tenantProcedure } from './trpc/init';
import { createApiHandler } from './trpc/lambda';

/** `connector.getSyncHistory`: the connector's sync logs, newest first. */
export const getSyncHistory = tenantProcedure
  .input(getSyncHistoryInput)
  .query(({ ctx, input }) => runtime().connectorService.getSyncHistory(ctx.caller, input.connectorId, input.limit));

export const handler = createApiHandler(connectorRouter({ getSyncHistory }));
