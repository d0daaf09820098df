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

export const getStatusInput = z.object({ connectorId: connectorRef });

export const getSyncHistoryInput = z.object({
  connectorId: connectorRef,
  limit: z
    .number({ error: 'limit must be a number' })
    .int('limit must be a whole number')
    .min(1, 'limit must be between 1 and 100')
    .max(100, 'limit must be between 1 and 100')
    .default(20),
});

export const getEntityCountsInput = z.object({ connectorId: connectorRef });

export const disconnectInput = z.object({ connectorId: connectorRef });

export type GetStatusInput = z.infer<typeof getStatusInput>;
export type GetSyncHistoryInput = z.infer<typeof getSyncHistoryInput>;
export type GetEntityCountsInput = z.infer<typeof getEntityCountsInput>;
export type DisconnectInput = z.infer<typeof disconnectInput>;
