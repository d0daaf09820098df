import { runtime } from '../core/runtime';
import { setScheduleInput } from '../core/schemas';
import { adminProcedure, connectorRouter } from './trpc/init';
import { createApiHandler } from './trpc/lambda';

/** `connector.setSchedule` (admin): minutes between the connector's scheduled syncs, or null to pause them. */
export const setSchedule = adminProcedure
  .input(setScheduleInput)
  .mutation(({ ctx, input }) => runtime().syncService.setSchedule(ctx.caller, input.connectorId, input.intervalMinutes));

export const handler = createApiHandler(connectorRouter({ setSchedule }));
