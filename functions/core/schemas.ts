import * as z from 'zod/mini';
import { SYNC_INTERVAL_MINUTES, type SyncState } from './model';
import { API_BUDGET_RANGE } from './api-budget';
import { providerIds } from './registry';

/**
 * The connector API's inputs, one schema per procedure, defined once: the router, the
 * docs and the tests all use these. zod/mini (the tree-shakable build) keeps each Lambda
 * bundle small; tRPC takes it as a Standard Schema.
 */

/** Every procedure's input is an object; say so plainly when it is missing. */
const inputObject = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.object(shape, { error: (issue) => (issue.input === undefined ? 'input is required' : 'input must be a JSON object') });

/** A connector named by registry id (`"salesforce"`) or database id (`"conn_..."`). */
export const connectorRef = z
  .string({ error: 'connectorId must be a string' })
  .check(z.trim(), z.minLength(1, 'connectorId must not be empty'), z.maxLength(128, 'connectorId is at most 128 characters'));

export const getStatusInput = inputObject({ connectorId: connectorRef });

export const getSyncHistoryInput = inputObject({
  connectorId: connectorRef,
  limit: z._default(
    z
      .number({ error: 'limit must be a number' })
      .check(
        z.int({ error: 'limit must be a whole number' }),
        z.minimum(1, 'limit must be between 1 and 100'),
        z.maximum(100, 'limit must be between 1 and 100'),
      ),
    20,
  ),
});

export const getEntityCountsInput = inputObject({ connectorId: connectorRef });

/** `purgeData` also deletes the connector's synced entities and counters. */
export const disconnectInput = inputObject({
  connectorId: connectorRef,
  purgeData: z._default(z.boolean({ error: 'purgeData must be true or false' }), false),
});

export const cancelSyncInput = inputObject({ connectorId: connectorRef });

/** No input means Salesforce; `connectorId` lets other OAuth providers use the same flow. */
export const getAuthUrlInput = z.optional(inputObject({ connectorId: z.optional(connectorRef) }));

export const triggerSyncInput = inputObject({
  connectorId: connectorRef,
  fullSync: z._default(z.boolean({ error: 'fullSync must be true or false' }), false),
});

/**
 * Connecting an API-key provider: the key (and the secret some providers issue with it,
 * Delivr.ai's) is checked with the provider, then stored sealed; `config` holds only
 * settings that are not secret, since getStatus shows them.
 */
export const connectInput = inputObject({
  connectorId: connectorRef,
  apiKey: z
    .string({ error: 'apiKey must be a string' })
    .check(z.trim(), z.minLength(1, 'apiKey must not be empty'), z.maxLength(1024, 'apiKey is at most 1024 characters')),
  apiSecret: z.optional(
    z
      .string({ error: 'apiSecret must be a string' })
      .check(z.trim(), z.minLength(1, 'apiSecret must not be empty'), z.maxLength(1024, 'apiSecret is at most 1024 characters')),
  ),
  config: z.optional(z.record(z.string(), z.unknown(), { error: 'config must be an object of provider settings' })),
});

const { min: MIN_INTERVAL, max: MAX_INTERVAL } = SYNC_INTERVAL_MINUTES;
const INTERVAL_RANGE = `intervalMinutes must be between ${MIN_INTERVAL} and ${MAX_INTERVAL}`;

/**
 * A connector's schedule: `intervalMinutes` is the whole number of minutes between scheduled
 * syncs (15 to 1440, a day), or null to pause them; `triggerSync` works either way.
 */
export const setScheduleInput = inputObject({
  connectorId: connectorRef,
  intervalMinutes: z.nullable(
    z
      .number({
        error: (issue) =>
          issue.input === undefined
            ? `intervalMinutes is required: minutes between scheduled syncs (${MIN_INTERVAL} to ${MAX_INTERVAL}), or null to pause them`
            : `intervalMinutes must be a number of minutes (${MIN_INTERVAL} to ${MAX_INTERVAL}), or null to pause scheduled syncs`,
      })
      .check(
        z.int({ error: 'intervalMinutes must be a whole number of minutes' }),
        z.minimum(MIN_INTERVAL, INTERVAL_RANGE),
        z.maximum(MAX_INTERVAL, INTERVAL_RANGE),
      ),
  ),
});

const BUDGET_RANGE = `budget must be a share of the org's API allowance between ${API_BUDGET_RANGE.min} and ${API_BUDGET_RANGE.max}`;

/**
 * A connector's API budget: the share of the org's daily API allowance (shared with its other
 * integrations) a sync may bring the usage to, from 0.05 to 1, or null for the default.
 */
export const setApiBudgetInput = inputObject({
  connectorId: connectorRef,
  budget: z.nullable(
    z
      .number({
        error: (issue) =>
          issue.input === undefined
            ? `budget is required: a share of the org's API allowance (${API_BUDGET_RANGE.min} to ${API_BUDGET_RANGE.max}), or null for the default`
            : `budget must be a number (${API_BUDGET_RANGE.min} to ${API_BUDGET_RANGE.max}), or null for the default`,
      })
      .check(z.minimum(API_BUDGET_RANGE.min, BUDGET_RANGE), z.maximum(API_BUDGET_RANGE.max, BUDGET_RANGE)),
  ),
});

const count = () => z.number().check(z.int(), z.minimum(0));

/** The state the sync state machine passes between its steps; every step handler parses its event with it. */
export const syncStateSchema: z.ZodMiniType<SyncState> = z.lazy(() =>
  z.object({
    tenantId: z.string().check(z.minLength(1)),
    providerId: z.enum(providerIds),
    syncId: z.string().check(z.minLength(1)),
    syncType: z.enum(['full', 'incremental']),
    phase: z.enum(['read', 'sweep', 'purge', 'done', 'abandoned']),
    cursor: z.nullable(z.record(z.string(), z.unknown())),
    pageNo: count(),
    execution: z.number().check(z.int(), z.minimum(1)),
    pagesInExecution: count(),
    maxPagesPerExecution: z.number().check(z.int(), z.minimum(1)),
    watermark: z.nullable(z.record(z.string(), z.string())),
    nextWatermark: z.nullable(z.record(z.string(), z.string())),
    throttleWaits: count(),
    startedAt: z.string(),
    firstLoad: z.boolean(),
    sweepUnseen: z.optional(z.boolean()),
    countsConfirmed: z.optional(z.boolean()),
    purge: z.optional(z.boolean()),
    waitSeconds: z.optional(count()),
    waitReason: z.optional(z.enum(['bulkJob', 'apiBudget'])),
    apiUsage: z.optional(z.object({ used: count(), limit: count() })),
    budgetWaitedSeconds: z.optional(count()),
    stoppedEarly: z.optional(z.string()),
    continuation: z.optional(syncStateSchema),
    continuationName: z.optional(z.string()),
  }),
);

/** Which sync of which connector: all that failing or recovering a sync needs. */
export const syncRefSchema = z.object({
  tenantId: z.string().check(z.minLength(1)),
  providerId: z.enum(providerIds),
  syncId: z.string().check(z.minLength(1)),
  purge: z.optional(z.boolean()),
});

/** FailSync's input: the state and what the Catch caught. */
export const failedSyncSchema = z.extend(syncRefSchema, {
  purge: z.optional(z.boolean()),
  failure: z.object({ Error: z.string(), Cause: z._default(z.string(), '') }),
});

/** What EventBridge delivers when a sync execution failed, timed out or was aborted. */
export const executionStatusEventSchema = z.object({
  detail: z.object({
    status: z.string(),
    name: z.string(),
    input: z.optional(z.nullable(z.string())),
    /** Why it ended: present for FAILED and TIMED_OUT, usually absent for ABORTED. */
    error: z.optional(z.nullable(z.string())),
    cause: z.optional(z.nullable(z.string())),
  }),
});
