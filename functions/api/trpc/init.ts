import { initTRPC, TRPCError } from '@trpc/server';
import { $ZodError } from 'zod/v4/core';
import { logWithKeys } from '../../core/logger';
import type { Caller } from '../../core/services/caller';
import type { ApiContext } from './context';
import { toTRPCError, userMessage } from './errors';

const t = initTRPC.context<ApiContext>().create({
  isDev: false,
  errorFormatter: ({ shape, error }) => ({ ...shape, message: userMessage(error) }),
});

export const router = t.router;

/** Turns whatever a procedure threw into the mapped tRPC error, in one place. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && !(result.error.cause instanceof $ZodError)) throw toTRPCError(result.error);
  return result;
});

/** Requires a caller with a tenant, and gives the procedure a log stamped with procedure and connector. */
export const tenantProcedure = t.procedure.use(mapErrors).use(async ({ ctx, path, getRawInput, next }) => {
  if (!ctx.caller) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'A valid token with a tenant claim is required.' });
  }
  const raw = (await getRawInput().catch(() => undefined)) as { connectorId?: unknown } | undefined;
  const connectorId = typeof raw?.connectorId === 'string' ? raw.connectorId.slice(0, 128) : undefined;
  const caller: Caller = {
    ...ctx.caller,
    log: logWithKeys({ requestId: ctx.requestId, tenantId: ctx.caller.tenantId, procedure: path, connectorId }),
  };
  return next({ ctx: { caller } });
});

/** A tenant procedure that also needs the admin role. */
export const adminProcedure = tenantProcedure.use(({ ctx, next }) => {
  if (ctx.caller.role !== 'admin') {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'This action needs the admin role.' });
  }
  return next();
});

/**
 * The `connector` namespace around some of its procedures. Each Lambda serves only its own
 * procedure(s), so it bundles only their code; the full router is in ../router.ts.
 */
export function connectorRouter<TProcedures extends Parameters<typeof t.router>[0]>(procedures: TProcedures) {
  return t.router({ connector: t.router(procedures) });
}
