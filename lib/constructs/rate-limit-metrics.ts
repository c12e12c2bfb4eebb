import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC_DIMENSIONS, type MetricName } from '../../lambda/contract';

/**
 * Metric definitions shared by alarms and the dashboard.
 *
 * Custom metrics: the handlers publish EMF records (Powertools Metrics) in
 * `namespace`. Every data point is published under the dimension set
 * {service}; when the request's tier is known it is also published under
 * {service, tier}. CloudWatch returns a metric only for the exact dimension set
 * it was published with, so:
 *  - alarms use {service}: one plain metric that counts every data point once,
 *    whatever the tier (or when no tier was known), with no metric math and no
 *    list of tiers to keep in step;
 *  - the dashboard breaks the decision metrics down by {service, tier} for the
 *    configured tiers.
 */
export interface CustomMetricSource {
  readonly namespace: string;
  readonly serviceName: string;
  /** Tier names as they appear in the `tier` dimension, for per-tier graphs. */
  readonly tierNames: readonly string[];
}

/** Custom metric names emitted by the handlers (lambda/contract/metrics.ts). */
export type RateLimitMetricName = MetricName;

/** Alarms on metric math can reference at most 10 metrics (here: cache nodes). */
export const MAX_ALARM_METRICS = 10;

/** One metric per tier, with the {service, tier} dimensions the handlers publish. */
export function perTierMetrics(
  source: CustomMetricSource,
  metricName: RateLimitMetricName,
  statistic: string,
  period: Duration,
): cloudwatch.Metric[] {
  return source.tierNames.map(
    (tier) =>
      new cloudwatch.Metric({
        namespace: source.namespace,
        metricName,
        dimensionsMap: { [METRIC_DIMENSIONS.service]: source.serviceName, [METRIC_DIMENSIONS.tier]: tier },
        statistic,
        period,
      }),
  );
}

/** A metric over every data point of the service (dimension set {service}), usable in an alarm. */
export function serviceMetric(
  source: CustomMetricSource,
  metricName: RateLimitMetricName,
  statistic: string,
  period: Duration,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: source.namespace,
    metricName,
    dimensionsMap: { [METRIC_DIMENSIONS.service]: source.serviceName },
    statistic,
    period,
  });
}

/**
 * Sum of metrics with missing points counted as zero; a single metric is
 * returned as is. `idPrefix` keeps metric ids unique when several expressions
 * share one graph.
 */
export function sumOf(metrics: readonly cloudwatch.Metric[], label: string, period: Duration, idPrefix: string): cloudwatch.IMetric {
  return combined(metrics, label, period, idPrefix, (ids) => ids.map((id) => `FILL(${id}, 0)`).join(' + '));
}

/** Maximum across metrics (e.g. the busiest node's CPU); a single metric is returned as is. */
export function maxOf(metrics: readonly cloudwatch.Metric[], label: string, period: Duration, idPrefix: string): cloudwatch.IMetric {
  return combined(metrics, label, period, idPrefix, (ids) => `MAX([${ids.join(', ')}])`);
}

/** One math expression over several metrics, written by `expression` from their ids. */
function combined(
  metrics: readonly cloudwatch.Metric[],
  label: string,
  period: Duration,
  idPrefix: string,
  expression: (ids: string[]) => string,
): cloudwatch.IMetric {
  if (metrics.length === 1) return metrics[0];
  const usingMetrics = metricIds(metrics, idPrefix);
  return new cloudwatch.MathExpression({ expression: expression(Object.keys(usingMetrics)), usingMetrics, label, period });
}

/**
 * The metrics labelled by one of their dimensions, for graph legends. Alarms
 * use the unlabelled metrics: a label would turn a plain metric alarm into a
 * metric-math one.
 */
export function labelledBy(metrics: readonly cloudwatch.Metric[], dimension: string): cloudwatch.Metric[] {
  return metrics.map((metric) => metric.with({ label: `${metric.metricName} ${String(metric.dimensions?.[dimension] ?? '')}`.trim() }));
}

/** Metric math ids must start with a lower-case letter and be unique within an alarm or graph. */
function metricIds(metrics: readonly cloudwatch.Metric[], idPrefix: string): Record<string, cloudwatch.IMetric> {
  if (!/^[a-z][a-zA-Z0-9_]*$/.test(idPrefix)) {
    throw new Error(`metric id prefix "${idPrefix}" must start with a lower-case letter and contain only letters, digits and _`);
  }
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  metrics.forEach((metric, index) => {
    usingMetrics[`${idPrefix}${index}`] = metric;
  });
  return usingMetrics;
}

/**
 * ElastiCache engine metrics for each node, by `CacheClusterId`. aws-cdk-lib
 * has no ElastiCache metric helpers for imported clusters, so they are built
 * by hand.
 */
export function cacheNodeMetrics(
  cacheClusterIds: readonly string[],
  metricName: 'EngineCPUUtilization' | 'CurrConnections' | 'Evictions' | 'DatabaseMemoryUsagePercentage',
  statistic: string,
  period: Duration,
): cloudwatch.Metric[] {
  return cacheClusterIds.map(
    (cacheClusterId) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ElastiCache',
        metricName,
        dimensionsMap: { CacheClusterId: cacheClusterId },
        statistic,
        period,
      }),
  );
}

/**
 * A percentage (part / total * 100) that is 0 until `total` reaches `minSamples` in the period.
 * A rate over three requests is noise: one failed call out of two would otherwise page someone.
 * `part` and `total` are metric-math expressions over the ids of `usingMetrics`.
 */
export function percentageWithMinimumSamples(options: {
  readonly usingMetrics: Record<string, cloudwatch.IMetric>;
  readonly part: string;
  readonly total: string;
  readonly minSamples: number;
  readonly label: string;
  readonly period: Duration;
}): cloudwatch.MathExpression {
  if (!Number.isInteger(options.minSamples) || options.minSamples < 1) {
    throw new Error(`percentageWithMinimumSamples: minSamples must be an integer >= 1, got ${options.minSamples}`);
  }
  const total = `(${options.total})`;
  return new cloudwatch.MathExpression({
    expression: `IF(${total} >= ${options.minSamples}, 100 * (${options.part}) / ${total}, 0)`,
    usingMetrics: options.usingMetrics,
    label: options.label,
    period: options.period,
  });
}
