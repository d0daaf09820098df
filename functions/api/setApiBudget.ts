import { runtime } from '../core/runtime';
import { setApiBudgetInput } from '../core/schemas';
import { adminProcedure, connectorRouter } from './trpc/init';
import { createApiHandler } from './trpc/lambda';

/** `connector.setApiBudget` (admin): the share of the org's API allowance a sync may bring its usage to, or null for the default. */
export const setApiBudget = adminProcedure
  .input(setApiBudgetInput)
  .mutation(({ ctx, input }) => runtime().connectorService.setApiBudget(ctx.caller, input.connectorId, input.budget));

export const handler = createApiHandler(connectorRouter({ setApiBudget }));
