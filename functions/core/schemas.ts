import { z } from 'zod';
import type { SyncState } from './model';
import { providerIds } from './registry';

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

/** The state the sync state machine passes between its steps; every step handler parses its event with it. */
export const syncStateSchema: z.ZodType<SyncState> = z.lazy(() =>
  z.object({
    tenantId: z.string().min(1),
    providerId: z.enum(providerIds),
    syncId: z.string().min(1),
    syncType: z.enum(['full', 'incremental']),
    phase: z.enum(['read', 'sweep', 'done']),
    cursor: z.record(z.string(), z.unknown()).nullable(),
    pageNo: z.number().int().min(0),
    execution: z.number().int().min(1),
    pagesInExecution: z.number().int().min(0),
    maxPagesPerExecution: z.number().int().min(1),
    watermark: z.record(z.string(), z.string()).nullable(),
    nextWatermark: z.record(z.string(), z.string()).nullable(),
    throttleWaits: z.number().int().min(0),
    waitSeconds: z.number().int().min(0).optional(),
    continuation: syncStateSchema.optional(),
    continuationName: z.string().optional(),
  }),
);

/** FailSync's input: the state and what the Catch caught. */
export const failedSyncSchema = z.object({
  tenantId: z.string().min(1),
  providerId: z.enum(providerIds),
  syncId: z.string().min(1),
  failure: z.object({ Error: z.string(), Cause: z.string().optional().default('') }),
});

/** triggerSync's input. */
export const triggerSyncInput = inputObject({
  connectorId: connectorRef,
  fullSync: z.boolean({ error: 'fullSync must be true or false' }).default(false),
});
export type TriggerSyncInput = z.infer<typeof triggerSyncInput>;

/** What EventBridge delivers when a sync execution failed, timed out or was aborted. */
export const executionStatusEventSchema = z.object({
  detail: z.object({
    status: z.string(),
    name: z.string(),
    input: z.string().nullable().optional(),
  }),
});
