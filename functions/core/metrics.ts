import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger } from './logger';
import type { ProviderId } from './registry';

/**
 * The service's metrics, by name, with the unit each is published in. Names are CloudWatch
 * metric names in the `ConnectorService` namespace; the README lists what each counts.
 */
export const METRICS = {
  SyncCompleted: MetricUnit.Count,
  SyncFailed: MetricUnit.Count,
  SyncCancelled: MetricUnit.Count,
  /** Entities a finished sync created, updated or deleted. */
  RecordsWritten: MetricUnit.Count,
  SyncDuration: MetricUnit.Seconds,
  /** Waits a sync made because the provider throttled it. */
  ThrottleWaits: MetricUnit.Count,
  /** Waits a sync made because the org's API usage was at the connector's budget. */
  ApiBudgetWaits: MetricUnit.Count,
  /** Waits a sync made for a Bulk API query job to finish (one poll each). */
  BulkJobPolls: MetricUnit.Count,
  TokenRefreshes: MetricUnit.Count,
  TokenRefreshFailures: MetricUnit.Count,
  ReauthorizationRequired: MetricUnit.Count,
  ScheduledSyncsStarted: MetricUnit.Count,
  ScheduledSyncsSkipped: MetricUnit.Count,
  /** Due connectors whose scheduled sync is late by more than two of their intervals. */
  ConnectorsOverdue: MetricUnit.Count,
  RecoveryRuns: MetricUnit.Count,
  /** API answers that were errors, with the tRPC code as a dimension. */
  ApiErrors: MetricUnit.Count,
} as const;

export type MetricName = keyof typeof METRICS;

/**
 * What a metric is about. `provider` and `code` become dimensions (few values each); the
 * tenant and sync go into the record's properties only: a dimension per tenant would
 * multiply the metric's series by the number of tenants.
 */
export interface MetricContext {
  readonly provider?: ProviderId;
  readonly code?: string;
  readonly tenantId?: string;
  readonly syncId?: string;
}

/** Where services record metrics (a port: Powertools EMF in the runtime, a list in tests). */
export interface MetricsRecorder {
  record(name: MetricName, value: number, context?: MetricContext): void;
}

/** The CloudWatch namespace of every metric. */
export const METRICS_NAMESPACE = 'ConnectorService';

/**
 * Metrics as CloudWatch embedded metric format lines on stdout (Powertools Metrics), with the
 * dimensions service and environment, plus provider (or error code) where the context names
 * one; alarms add the providers up with metric math. Each record is its own EMF line,
 * published at once: steps and batched API calls run side by side in one process, and a
 * shared buffer of dimensions would mix them up.
 *
 * `POWERTOOLS_METRICS_DISABLED=true` silences it (the tests do, so the in-process stack does
 * not print EMF lines all over their output); it is read on every record.
 * Recording never throws: a metric must not fail the operation it counts (a token refresh
 * whose rotated refresh token still has to be stored, say); a record that cannot be
 * published is logged instead.
 */
export function emfMetrics(env: NodeJS.ProcessEnv = process.env): MetricsRecorder {
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: env.POWERTOOLS_SERVICE_NAME || 'connector',
    defaultDimensions: { environment: env.ENVIRONMENT_NAME || 'local' },
  });
  return {
    record(name, value, context = {}) {
      try {
        const single = metrics.singleMetric();
        if (context.provider) single.addDimension('provider', context.provider);
        if (context.code) single.addDimension('code', context.code);
        if (context.tenantId) single.addMetadata('tenantId', context.tenantId);
        if (context.syncId) single.addMetadata('syncId', context.syncId);
        single.addMetric(name, METRICS[name], value);
      } catch (error) {
        logger.warn('a metric could not be published', { metric: name, error: error as Error });
      }
    },
  };
}

/** A recorder that keeps what it is given, for tests and for code that records nothing. */
export function recordedMetrics(): MetricsRecorder & { readonly records: { name: MetricName; value: number; context: MetricContext }[] } {
  const records: { name: MetricName; value: number; context: MetricContext }[] = [];
  return { records, record: (name, value, context = {}) => void records.push({ name, value, context }) };
}
