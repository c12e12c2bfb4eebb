import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/**
 * Metric definitions shared by alarms and the dashboard.
 *
 * Custom metrics: the handlers publish EMF records (Powertools Metrics) in
 * `namespace` with the dimension set {service, tier}. CloudWatch only returns
 * a metric for the exact dimension set it was published with, so a metric
 * "across all tiers" is built here as metric math over one metric per
 * configured tier: FILL(m,0) per tier, summed. No SEARCH expression is needed
 * (alarms cannot use SEARCH) and nothing depends on the handlers also
 * publishing a service-only dimension set. Requests for unknown tiers are
 * rejected with 400 before any decision metric is emitted, so the configured
 * tiers cover every data point.
 */
export interface CustomMetricSource {
  readonly namespace: string;
  readonly serviceName: string;
  /** Tier names as they appear in the `tier` dimension. At most 10 (metric math limit for alarms). */
  readonly tierNames: readonly string[];
}

/** Custom metric names emitted by the handlers. */
export type RateLimitMetricName = 'Allowed' | 'Denied' | 'Degraded' | 'Unavailable' | 'Anomaly' | 'BackendLatency';

/** Alarms on metric math can reference at most 10 metrics. */
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
        dimensionsMap: { service: source.serviceName, tier },
        statistic,
        period,
      }),
  );
}

/** The sum of a Count metric over all configured tiers, usable in an alarm. */
export function allTiersSum(source: CustomMetricSource, metricName: RateLimitMetricName, period: Duration): cloudwatch.IMetric {
  const metrics = perTierMetrics(source, metricName, cloudwatch.Stats.SUM, period);
  return sumOf(metrics, `${metricName} (all tiers)`, period, metricName.toLowerCase());
}

/**
 * Sum of metrics with missing points counted as zero; a single metric is
 * returned as is. `idPrefix` keeps metric ids unique when several expressions
 * share one graph.
 */
export function sumOf(
  metrics: readonly cloudwatch.Metric[],
  label: string,
  period: Duration,
  idPrefix: string,
): cloudwatch.IMetric {
  if (metrics.length === 1) return metrics[0];
  const usingMetrics = metricIds(metrics, idPrefix);
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    label,
    period,
  });
}

/** Maximum across metrics (e.g. the busiest node's CPU); a single metric is returned as is. */
export function maxOf(
  metrics: readonly cloudwatch.Metric[],
  label: string,
  period: Duration,
  idPrefix: string,
): cloudwatch.IMetric {
  if (metrics.length === 1) return metrics[0];
  const usingMetrics = metricIds(metrics, idPrefix);
  return new cloudwatch.MathExpression({
    expression: `MAX([${Object.keys(usingMetrics).join(', ')}])`,
    usingMetrics,
    label,
    period,
  });
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
