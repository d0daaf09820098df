import { Duration } from 'aws-cdk-lib';
import { MathExpression, Metric, Stats, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE, type MetricName } from '../functions/core/metrics';
import { providerIds, type ProviderId } from '../functions/core/registry';

/**
 * The `service` dimension of every custom metric: Powertools Metrics takes it from
 * POWERTOOLS_SERVICE_NAME, which the stack sets to this same value for every function.
 */
export const SERVICE_NAME = 'connector';

/** How a custom metric is read: statistic and period, and optionally its label on a graph. */
export interface ServiceMetricOptions {
  /** @default Stats.SUM */
  readonly statistic?: string;
  /** @default Duration.minutes(5) */
  readonly period?: Duration;
  /** @default - CloudWatch's label */
  readonly label?: string;
}

/**
 * One series of a custom metric (namespace `ConnectorService`) in one environment. The
 * dimensions are exactly those functions/core/metrics.ts publishes: `service` and
 * `environment` always, plus `provider` or `code` where the recording names one. A series
 * is matched on its whole set of dimensions, so a provider metric read without its provider
 * is a different, empty series: there is no environment-wide series to read.
 */
export function serviceMetric(
  name: MetricName,
  environmentName: string,
  dimensions: { readonly provider?: ProviderId; readonly code?: string } = {},
  options: ServiceMetricOptions = {},
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: {
      service: SERVICE_NAME,
      environment: environmentName,
      ...(dimensions.provider === undefined ? {} : { provider: dimensions.provider }),
      ...(dimensions.code === undefined ? {} : { code: dimensions.code }),
    },
    statistic: options.statistic ?? Stats.SUM,
    period: options.period ?? Duration.minutes(5),
    label: options.label,
  });
}

/** A metric recorded per provider, one series per provider of the registry, labelled with the provider id. */
export function perProvider(name: MetricName, environmentName: string, options: ServiceMetricOptions = {}): Metric[] {
  return providerIds.map((provider) => serviceMetric(name, environmentName, { provider }, { ...options, label: provider }));
}

/**
 * CloudWatch's limit on the metrics one alarm may read (metric math included); CDK checks it
 * at synth too, but this one names the alarm and says what to do.
 */
export const MAX_METRICS_PER_ALARM = 10;

/**
 * The sum over every provider of a per-provider counter, as one expression: `FILL(...,0)` so
 * that a provider with no datapoint in a period (no sync of it) counts as 0 rather than making
 * the sum missing. `idPrefix` names the metrics (`<idPrefix>_<provider>`) so that several sums
 * can sit in one expression.
 */
export function sumOverProviders(name: MetricName, environmentName: string, idPrefix: string, period: Duration): MathExpression {
  const usingMetrics = Object.fromEntries(
    providerIds.map((provider) => [`${idPrefix}_${provider}`, serviceMetric(name, environmentName, { provider }, { period })]),
  );
  return filledSum(usingMetrics, `${name} (all providers)`, period);
}

/** The sum of the metrics, each as `FILL(id, 0)`: a metric without a datapoint in a period counts as 0 instead of making the sum missing. */
export function filledSum(usingMetrics: Record<string, IMetric>, label: string, period: Duration): MathExpression {
  return new MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    period,
    label,
  });
}
