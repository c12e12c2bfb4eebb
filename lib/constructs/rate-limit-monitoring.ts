import { Duration } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AlarmTopic } from './alarm-topic';
import {
  MAX_ALARM_METRICS,
  cacheNodeMetrics,
  labelledBy,
  maxOf,
  perTierMetrics,
  serviceMetric,
  sumOf,
  type CustomMetricSource,
} from './rate-limit-metrics';

const FIVE_MINUTES = Duration.minutes(5);
const ONE_MINUTE = Duration.minutes(1);

/** The existing cluster's nodes to watch (read-only: nothing is created on the cluster). */
export interface CacheClusterMonitoringProps {
  /** `CacheClusterId` of each node (a standalone node's id is the cluster id). At most 10. */
  readonly cacheClusterIds: readonly string[];
  /**
   * Alarm when the busiest node's EngineCPUUtilization averages above this.
   * @default 80
   */
  readonly cpuThresholdPercent?: number;
  /**
   * Alarm when CurrConnections summed over nodes exceeds this. The cluster is
   * shared with other applications: set it from their baseline plus the
   * functions' reserved concurrency.
   * @default 5000
   */
  readonly connectionsThreshold?: number;
  /**
   * Alarm when evictions in 5 minutes reach this. An evicted window key lets a
   * creator exceed the limit, so any eviction matters.
   * @default 1
   */
  readonly evictionsThreshold?: number;
}

export interface RateLimitMonitoringProps {
  /** Dashboard name, unique in the account and region. */
  readonly dashboardName: string;
  /** Functions by display name (route name). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly api: apigateway.RestApi;
  readonly stage: apigateway.Stage;
  /** Where the handlers' custom metrics live, and the tiers to break them down by on the dashboard. */
  readonly customMetrics: CustomMetricSource;
  /**
   * @default - no e-mail subscription
   */
  readonly alarmEmail?: string;
  /**
   * @default - no cache alarms (Upstash is monitored in its own console)
   */
  readonly cacheCluster?: CacheClusterMonitoringProps;
  /**
   * @default Duration.seconds(1)
   */
  readonly functionP99DurationThreshold?: Duration;
  /**
   * @default Duration.millis(1500)
   */
  readonly apiP99LatencyThreshold?: Duration;
  /**
   * Fraction of requests answered with 5xx over 5 minutes.
   * @default 0.01
   */
  readonly api5xxRateThreshold?: number;
  /**
   * Anomalies (a creator attempting more than twice the plan limit in 5
   * minutes) per 5 minutes that raise the alarm.
   * @default 1
   */
  readonly anomalyThreshold?: number;
}

/**
 * Alarms and a dashboard for one deployment of the rate-limit API: function
 * errors, throttles and p99 duration; API 5xx rate and p99 latency; the
 * handlers' degraded-mode, unavailable and anomaly counts; and, for ElastiCache,
 * the cluster's CPU, connections and evictions. Every alarm notifies one SNS topic.
 */
export class RateLimitMonitoring extends Construct {
  public readonly alarmTopic: sns.ITopic;
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard: cloudwatch.Dashboard;
  private readonly alarmAction: actions.SnsAction;

  constructor(scope: Construct, id: string, props: RateLimitMonitoringProps) {
    super(scope, id);
    validate(props);
    this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', { email: props.alarmEmail }).topic;
    this.alarmAction = new actions.SnsAction(this.alarmTopic);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
    });
    this.addDecisionMonitoring(props.customMetrics, props.anomalyThreshold ?? 1);
    this.addApiMonitoring(props);
    this.addFunctionMonitoring(props.functions, props.functionP99DurationThreshold ?? Duration.seconds(1));
    if (props.cacheCluster) this.addCacheMonitoring(props.cacheCluster);
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 6 }),
    );
  }

  private addDecisionMonitoring(source: CustomMetricSource, anomalyThreshold: number): void {
    const total = (metricName: 'Allowed' | 'Denied' | 'Degraded' | 'Unavailable' | 'Anomaly', period: Duration): cloudwatch.Metric =>
      serviceMetric(source, metricName, cloudwatch.Stats.SUM, period);
    this.alarm('RateLimitUnavailable', {
      metric: total('Unavailable', FIVE_MINUTES),
      threshold: 1,
      description: 'Redis did not answer in time and requests were refused with 503 (fail mode closed). Check backend health and network.',
    });
    this.alarm('RateLimitDegraded', {
      metric: total('Degraded', FIVE_MINUTES),
      threshold: 1,
      description: 'Redis did not answer in time and requests were admitted without a limit check (fail mode open). Limits are not enforced.',
    });
    this.alarm('RateLimitAnomaly', {
      metric: total('Anomaly', FIVE_MINUTES),
      threshold: anomalyThreshold,
      description: "A creator attempted more than twice the plan limit within 5 minutes. See the handlers' anomaly logs for the creator id.",
    });

    const byTier = (metricName: 'Allowed' | 'Denied' | 'BackendLatency', statistic: string): cloudwatch.Metric[] =>
      labelledBy(perTierMetrics(source, metricName, statistic, ONE_MINUTE), 'tier');
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# Rate-limit decisions\nCustom metrics in \`${source.namespace}\`: totals by {service=${source.serviceName}}, breakdowns by {service, tier}.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Allowed per tier', byTier('Allowed', cloudwatch.Stats.SUM), { stacked: true }),
      graph('Denied (429) per tier', byTier('Denied', cloudwatch.Stats.SUM), { stacked: true }),
      graph(
        'Degraded / Unavailable / Anomaly',
        (['Degraded', 'Unavailable', 'Anomaly'] as const).map((metricName) => total(metricName, ONE_MINUTE).with({ label: metricName })),
      ),
      graph('Backend latency p99 (ms)', [
        ...byTier('BackendLatency', cloudwatch.Stats.p(99)),
        serviceMetric(source, 'BackendLatency', cloudwatch.Stats.p(99), ONE_MINUTE).with({ label: 'BackendLatency all tiers' }),
      ]),
    );
  }

  private addApiMonitoring(props: RateLimitMonitoringProps): void {
    const { stage } = props;
    const errorRate = stage.metricServerError({ statistic: cloudwatch.Stats.AVERAGE, period: FIVE_MINUTES });
    const latencyP99 = stage.metricLatency({ statistic: cloudwatch.Stats.p(99), period: FIVE_MINUTES });
    this.alarm('Api5xxRate', {
      metric: errorRate,
      threshold: props.api5xxRateThreshold ?? 0.01,
      evaluationPeriods: 2,
      description: 'More than the allowed fraction of API requests failed with 5xx (includes fail-closed 503s).',
    });
    this.alarm('ApiLatencyP99', {
      metric: latencyP99,
      threshold: (props.apiP99LatencyThreshold ?? Duration.millis(1500)).toMilliseconds(),
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description: 'API p99 latency is above its threshold.',
    });

    this.dashboard.addWidgets(
      graph('API requests', [
        stage.metricCount({ statistic: cloudwatch.Stats.SUM, period: ONE_MINUTE, label: 'Requests' }),
        stage.metricClientError({ statistic: cloudwatch.Stats.SUM, period: ONE_MINUTE, label: '4xx (incl. 429)' }),
        stage.metricServerError({ statistic: cloudwatch.Stats.SUM, period: ONE_MINUTE, label: '5xx' }),
      ]),
      graph('API latency (ms)', [
        stage.metricLatency({ statistic: cloudwatch.Stats.p(50), period: ONE_MINUTE, label: 'p50' }),
        stage.metricLatency({ statistic: cloudwatch.Stats.p(99), period: ONE_MINUTE, label: 'p99' }),
        stage.metricIntegrationLatency({ statistic: cloudwatch.Stats.p(99), period: ONE_MINUTE, label: 'Integration p99' }),
      ]),
    );
  }

  private addFunctionMonitoring(functions: Readonly<Record<string, lambda.IFunction>>, p99Threshold: Duration): void {
    const entries = Object.entries(functions);
    for (const [name, fn] of entries) {
      const id = name.charAt(0).toUpperCase() + name.slice(1);
      this.alarm(`${id}Errors`, {
        metric: fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES }),
        threshold: 1,
        description: `The ${name} function threw an unhandled error (handlers answer every expected failure themselves).`,
      });
      this.alarm(`${id}Throttles`, {
        metric: fn.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES }),
        threshold: 1,
        description: `The ${name} function hit its reserved concurrency (the cap on Redis connections). Raise it only if Redis has headroom.`,
      });
      this.alarm(`${id}DurationP99`, {
        metric: fn.metricDuration({ statistic: cloudwatch.Stats.p(99), period: FIVE_MINUTES }),
        threshold: p99Threshold.toMilliseconds(),
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        description: `The ${name} function's p99 duration is above ${p99Threshold.toMilliseconds()} ms.`,
      });
    }

    const metricsOf = (pick: (fn: lambda.IFunction, name: string) => cloudwatch.IMetric): cloudwatch.IMetric[] =>
      entries.map(([name, fn]) => pick(fn, name));
    this.dashboard.addWidgets(
      graph('Function invocations', metricsOf((fn, name) => fn.metricInvocations({ period: ONE_MINUTE, label: name }))),
      graph('Function errors and throttles', [
        ...metricsOf((fn, name) => fn.metricErrors({ period: ONE_MINUTE, label: `${name} errors` })),
        ...metricsOf((fn, name) => fn.metricThrottles({ period: ONE_MINUTE, label: `${name} throttles` })),
      ]),
      graph('Function duration p99 (ms)', metricsOf((fn, name) => fn.metricDuration({ statistic: cloudwatch.Stats.p(99), period: ONE_MINUTE, label: name }))),
      graph(
        'Concurrent executions (max)',
        metricsOf((fn, name) => fn.metric('ConcurrentExecutions', { statistic: cloudwatch.Stats.MAXIMUM, period: ONE_MINUTE, label: name })),
      ),
    );
  }

  private addCacheMonitoring(cache: CacheClusterMonitoringProps): void {
    const ids = cache.cacheClusterIds;
    const cpu = maxOf(cacheNodeMetrics(ids, 'EngineCPUUtilization', cloudwatch.Stats.AVERAGE, FIVE_MINUTES), 'EngineCPUUtilization (busiest node)', FIVE_MINUTES, 'cpu');
    const connections = sumOf(cacheNodeMetrics(ids, 'CurrConnections', cloudwatch.Stats.MAXIMUM, FIVE_MINUTES), 'CurrConnections (all nodes)', FIVE_MINUTES, 'connections');
    const evictions = sumOf(cacheNodeMetrics(ids, 'Evictions', cloudwatch.Stats.SUM, FIVE_MINUTES), 'Evictions (all nodes)', FIVE_MINUTES, 'evictions');
    this.alarm('CacheEngineCpu', {
      metric: cpu,
      threshold: cache.cpuThresholdPercent ?? 80,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description: 'Redis engine CPU of the busiest node is high; admissions will slow down and may time out.',
    });
    this.alarm('CacheConnections', {
      metric: connections,
      threshold: cache.connectionsThreshold ?? 5000,
      evaluationPeriods: 2,
      description: 'Open connections to the cluster are above the threshold (all clients of the shared cluster).',
    });
    this.alarm('CacheEvictions', {
      metric: evictions,
      threshold: cache.evictionsThreshold ?? 1,
      description: 'The cluster evicted keys; evicted rate-limit windows let creators exceed their limits.',
    });

    this.dashboard.addWidgets(
      graph('Cache engine CPU (%)', labelledBy(cacheNodeMetrics(ids, 'EngineCPUUtilization', cloudwatch.Stats.AVERAGE, ONE_MINUTE), 'CacheClusterId')),
      graph('Cache connections', labelledBy(cacheNodeMetrics(ids, 'CurrConnections', cloudwatch.Stats.MAXIMUM, ONE_MINUTE), 'CacheClusterId')),
      graph('Cache evictions', labelledBy(cacheNodeMetrics(ids, 'Evictions', cloudwatch.Stats.SUM, ONE_MINUTE), 'CacheClusterId')),
      graph('Cache memory (%)', labelledBy(cacheNodeMetrics(ids, 'DatabaseMemoryUsagePercentage', cloudwatch.Stats.MAXIMUM, ONE_MINUTE), 'CacheClusterId')),
    );
  }

  private alarm(
    id: string,
    options: {
      metric: cloudwatch.IMetric;
      threshold: number;
      description: string;
      evaluationPeriods?: number;
      datapointsToAlarm?: number;
    },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric: options.metric,
      threshold: options.threshold,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      datapointsToAlarm: options.datapointsToAlarm,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic is not a failure: quiet periods must not page anyone.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    alarm.addAlarmAction(this.alarmAction);
    alarm.addOkAction(this.alarmAction);
    this.alarms.push(alarm);
    return alarm;
  }
}

function graph(title: string, metrics: cloudwatch.IMetric[], options: { stacked?: boolean } = {}): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left: metrics, width: 6, height: 6, stacked: options.stacked ?? false });
}

function validate(props: RateLimitMonitoringProps): void {
  const tiers = props.customMetrics.tierNames;
  if (tiers.length === 0) {
    throw new Error('RateLimitMonitoring: at least one tier name is needed for the per-tier graphs');
  }
  if (new Set(tiers).size !== tiers.length) {
    throw new Error(`RateLimitMonitoring: tier names must be unique, got ${tiers.join(', ')}`);
  }
  const ids = props.cacheCluster?.cacheClusterIds;
  if (ids !== undefined && (ids.length === 0 || ids.length > MAX_ALARM_METRICS)) {
    throw new Error(`RateLimitMonitoring: cacheCluster needs between 1 and ${MAX_ALARM_METRICS} cacheClusterIds, got ${ids.length}`);
  }
  const rate = props.api5xxRateThreshold;
  if (rate !== undefined && (rate <= 0 || rate > 1)) {
    throw new Error(`RateLimitMonitoring: api5xxRateThreshold is a fraction in (0, 1], got ${rate}`);
  }
  if (Object.keys(props.functions).length === 0) {
    throw new Error('RateLimitMonitoring: at least one function is needed');
  }
}
