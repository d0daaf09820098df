import { z } from 'zod';

/**
 * The connector API's inputs, one schema per procedure, defined once: the router, the
 * docs and the tests all use these.
 */

/** A connector named by registry id (`"salesforce"`) or database id (`"conn_..."`). */
export const connectorRef = z
  .string({ error: 'connectorId must be a string' })
  .trim()
  .min(1, 'connectorId must not be empty')
  .max(128, 'connectorId is at most 128 characters');

/** Every procedure's input is an object; say so plainly when it is missing. */
const inputObject = <T extends z.ZodRawShape>(shape: T) =>
  z.object(shape, { error: (issue) => (issue.input === undefined ? 'input is required' : 'input must be a JSON object') });

export const getStatusInput = inputObject({ connectorId: connectorRef });

export const getSyncHistoryInput = inputObject({
  connectorId: connectorRef,
  limit: z
    .number({ error: 'limit must be a number' })
    .int('limit must be a whole number')
    .min(1, 'limit must be between 1 and 100')
    .max(100, 'limit must be between 1 and 100')
    .default(20),
});

export const getEntityCountsInput = inputObject({ connectorId: connectorRef });

export const disconnectInput = inputObject({ connectorId: connectorRef });

/** No input means Salesforce; `connectorId` lets other OAuth providers use the same flow. */
export const getAuthUrlInput = inputObject({ connectorId: connectorRef.optional() }).optional();

export type GetStatusInput = z.infer<typeof getStatusInput>;
export type GetSyncHistoryInput = z.infer<typeof getSyncHistoryInput>;
export type GetEntityCountsInput = z.infer<typeof getEntityCountsInput>;
export type DisconnectInput = z.infer<typeof disconnectInput>;
export type GetAuthUrlInput = z.infer<typeof getAuthUrlInput>;
