import { runtime } from '../core/runtime';
import { getStatusInput } from '../core/schemas';
import { connectorRouter, tenantProcedure } from './trpc/init';
import { createApiHandler } from './trpc/lambda';

/** `connector.getStatus`: one connector's status, config, schedule and newest sync figures. */
export const getStatus = tenantProcedure
  .input(getStatusInput)
  .query(({ ctx, input }) => runtime().connectorService.getStatus(ctx.caller, input.connectorId));

export const handler = createApiHandler(connectorRouter({ getStatus }));
