/**
 * Custom CloudWatch metrics (EMF through Powertools Metrics).
 *
 * Namespace: POWERTOOLS_METRICS_NAMESPACE, default `CreatorRateLimit`. Every record carries the
 * `service` dimension (Powertools adds it from the service name); when the invocation's tier is
 * known (and valid) it is published under two dimension sets, {service, tier} and {service}, so dashboards can show one tier or all of them.
 *
 * A handler collects its data points while it runs and publishes them in one synchronous block
 * at the end (`publishInvocationMetrics`). Nothing else can run in between, so two invocations
 * sharing the Metrics instance (the local server serves requests concurrently) never mix their
 * dimensions.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { ENV } from '../contract/environment';
import { DEFAULT_METRICS_NAMESPACE, METRIC_DIMENSIONS, type MetricName } from '../contract/metrics';
import { serviceName } from './logger';

// The names are the contract's (lambda/contract/metrics.ts): the CDK app alarms on the same ones.
export { DEFAULT_METRICS_NAMESPACE, METRIC, type MetricName } from '../contract/metrics';

export interface MetricPoint {
  readonly name: MetricName;
  readonly unit: typeof MetricUnit.Count | typeof MetricUnit.Milliseconds;
  readonly value: number;
}

export const countOf = (name: MetricName): MetricPoint => ({ name, unit: MetricUnit.Count, value: 1 });
export const millisecondsOf = (name: MetricName, value: number): MetricPoint => ({
  name,
  unit: MetricUnit.Milliseconds,
  value: Math.round(value * 100) / 100,
});

export function createMetrics(env: Readonly<Record<string, string | undefined>> = process.env): Metrics {
  return new Metrics({
    namespace: env[ENV.metricsNamespace]?.trim() || DEFAULT_METRICS_NAMESPACE,
    serviceName: serviceName(env),
  });
}

let shared: Metrics | undefined;

/** The execution environment's Metrics; created on first use (see getLogger for why). */
export function getMetrics(): Metrics {
  shared ??= createMetrics();
  return shared;
}

/**
 * Writes one EMF record with the invocation's data points (nothing when there are none).
 * `tier` must already be validated: dimension values are never taken from raw input, or a caller
 * could create unbounded metric cardinality.
 */
export function publishInvocationMetrics(metrics: Metrics, points: readonly MetricPoint[], tier: string | undefined): void {
  if (points.length === 0) return;
  if (tier !== undefined) {
    // addDimension puts `tier` in the record's main dimension set {service, tier}; addDimensions
    // with no dimensions adds a second set holding only the default dimensions: {service}.
    metrics.addDimension(METRIC_DIMENSIONS.tier, tier);
    metrics.addDimensions({});
  }
  for (const point of points) metrics.addMetric(point.name, point.unit, point.value);
  metrics.publishStoredMetrics();
}
