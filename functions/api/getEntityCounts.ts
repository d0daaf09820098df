import { runtime } from '../core/runtime';
import { getEntityCountsInput } from '../core/schemas';
import { connectorRouter, tenantProcedure } from './trpc/init';
import { createApiHandler } from './trpc/lambda';

/** `connector.getEntityCounts`: accounts, people and opportunities synced from the connector. */
export const getEntityCounts = tenantProcedure
  .input(getEntityCountsInput)
  .query(({ ctx, input }) => runtime().connectorService.getEntityCounts(ctx.caller, input.connectorId));

export const handler = createApiHandler(connectorRouter({ getEntityCounts }));
