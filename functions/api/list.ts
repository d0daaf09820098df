import { runtime } from '../core/runtime';
import { connectorRouter, tenantProcedure } from './trpc/init';
import { createApiHandler } from './trpc/lambda';

/** `connector.list`: every registered connector with the tenant's status. */
export const list = tenantProcedure.query(({ ctx }) => runtime().connectorService.list(ctx.caller));

export const handler = createApiHandler(connectorRouter({ list }));
