import { Duration, type CfnResource } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRIC, type MetricName } from '../../lambda/contract';
import { AlarmTopic } from './alarm-topic';
import {
  MAX_ALARM_METRICS,
  cacheNodeMetrics,
  labelledBy,
  maxOf,
  percentageWithMinimumSamples,
  perTierMetrics,
  serviceMetric,
  sumOf,
  type CustomMetricSource,
} from './rate-limit-metrics';

const ONE_MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

/** Who an alarm wakes up. */
export type AlarmSeverity = 'page' | 'ticket';

/** The existing cluster's nodes to watch (read-only: nothing is created on the cluster). */
export interface CacheClusterMonitoringProps {
  /** `CacheClusterId` of each node (a standalone node's id is the cluster id). At most 10. */
  readonly cacheClusterIds: readonly string[];
  /**
   * Page when the busiest node's EngineCPUUtilization stays above this.
   * @default 80
   */
  readonly cpuThresholdPercent?: number;
  /**
   * Page when the fullest node's DatabaseMemoryUsagePercentage stays above this. Rate-limit keys
   * all carry a TTL: under a `volatile-*` policy they are exactly what Redis evicts first.
   * @default 85
   */
  readonly memoryThresholdPercent?: number;
  /**
   * Ticket when CurrConnections summed over nodes exceeds this. The cluster is shared with other
   * applications: set it from their baseline plus the functions' reserved concurrency.
   * @default 5000
   */
  readonly connectionsThreshold?: number;
}

export interface RateLimitMonitoringProps {
  /** Prefix of every alarm name and the dashboard name; carries the environment and variant. */
  readonly namePrefix: string;
  /** Functions by route name; pass the `live` aliases, the versions that serve traffic. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** Name of the REST API (the `ApiName` dimension). */
  readonly apiName: string;
  /**
   * Name of the stage (the `Stage` dimension), as a literal: a reference to the stage resource
   * would make the rollback alarms depend on the API deployment, which depends on the aliases,
   * whose update policy depends on the alarms (a cycle).
   */
  readonly stageName: string;
  /** Where the handlers' custom metrics live, and the tiers to break them down by on the dashboard. */
  readonly customMetrics: CustomMetricSource;
  /**
   * Subscribed to the page topic.
   * @default - no subscription
   */
  readonly pageEmail?: string;
  /**
   * Subscribed to the ticket topic.
   * @default - no subscription
   */
  readonly ticketEmail?: string;
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
   * Anomalies (a creator attempting more than twice the plan limit in 5 minutes) per 5 minutes
   * that open a ticket.
   * @default 1
   */
  readonly anomalyThreshold?: number;
}

/**
 * How rate alarms evaluate: one-minute points, 3 breaching of the last 5, each only counted when
 * the minute had enough requests. A single bad minute, or a bad request in a quiet minute, never
 * pages.
 */
const RATE_ALARM = { period: ONE_MINUTE, evaluationPeriods: 5, datapointsToAlarm: 3 } as const;
/** Minimum requests in a minute before a percentage of them means anything. */
const MIN_SAMPLES = 20;
/** The API's 4XX alarm needs more: callers' own mistakes are a steady background. */
const MIN_SAMPLES_4XX = 50;

/**
 * Alarms and a dashboard for one deployment of the rate-limit API, split by severity:
 *
 * - page: function error and throttle rates, API 5XX rate, 4XX spikes other than quota denials
 *   (an IAM or deploy misconfiguration), Unavailable (fail-closed 503s) and Degraded (fail-open
 *   admissions) rates, and the cache's CPU and memory;
 * - ticket: p99 latencies, anomalies (a business signal, not an outage), evictions and
 *   connections.
 *
 * The error and Unavailable alarms also gate CodeDeploy traffic shifting (`deploymentAlarms`).
 */
export class RateLimitMonitoring extends Construct {
  public readonly pageTopic: sns.ITopic;
  public readonly ticketTopic: sns.ITopic;
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard: cloudwatch.Dashboard;
  /** Per function: the alarms that roll its deployment back (its error rate, and Unavailable). */
  public readonly deploymentAlarms: Readonly<Record<string, readonly cloudwatch.IAlarm[]>>;
  private readonly actions: Readonly<Record<AlarmSeverity, actions.SnsAction>>;
  private readonly namePrefix: string;

  constructor(scope: Construct, id: string, props: RateLimitMonitoringProps) {
    super(scope, id);
    validate(props);
    this.namePrefix = props.namePrefix;
    const page = new AlarmTopic(this, 'PageTopic', { email: props.pageEmail, topicName: `${props.namePrefix}-page` });
    const ticket = new AlarmTopic(this, 'TicketTopic', {
      email: props.ticketEmail,
      key: page.key,
      topicName: `${props.namePrefix}-ticket`,
    });
    this.pageTopic = page.topic;
    this.ticketTopic = ticket.topic;
    this.actions = { page: new actions.SnsAction(page.topic), ticket: new actions.SnsAction(ticket.topic) };

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.namePrefix,
      defaultInterval: Duration.hours(3),
    });
    // CloudFormation accepts Tags on dashboards (aws-cdk-lib's L1, generated from the registry
    // schema, emits them), but cfn-lint 1.51's schema predates that: E3002 is a false positive here.
    (this.dashboard.node.defaultChild as CfnResource).addMetadata('cfn-lint', { config: { ignore_checks: ['E3002'] } });
    const unavailable = this.addDecisionMonitoring(props);
    this.addApiMonitoring(props);
    const functionErrors = this.addFunctionMonitoring(props.functions, props.functionP99DurationThreshold ?? Duration.seconds(1));
    if (props.cacheCluster) this.addCacheMonitoring(props.cacheCluster);

    const deploymentAlarms: Record<string, readonly cloudwatch.IAlarm[]> = {};
    for (const [name, errors] of Object.entries(functionErrors)) deploymentAlarms[name] = [errors, unavailable];
    this.deploymentAlarms = deploymentAlarms;

    for (const severity of ['page', 'ticket'] as const) {
      this.dashboard.addWidgets(
        new cloudwatch.AlarmStatusWidget({
          title: severity === 'page' ? 'Alarms that page' : 'Alarms that open a ticket',
          alarms: this.alarms.filter((alarm) => severityOf.get(alarm) === severity),
          width: 24,
          height: 4,
        }),
      );
    }
  }

  /** Custom decision metrics. Returns the Unavailable alarm, which also gates deployments. */
  private addDecisionMonitoring(props: RateLimitMonitoringProps): cloudwatch.Alarm {
    const source = props.customMetrics;
    const requests = apiMetric(props, 'Count', cloudwatch.Stats.SUM, ONE_MINUTE);
    const unavailable = this.alarm('page', 'Unavailable', {
      metric: percentageWithMinimumSamples({
        usingMetrics: { unavailable: serviceMetric(source, METRIC.unavailable, cloudwatch.Stats.SUM, ONE_MINUTE), requests },
        part: 'FILL(unavailable, 0)',
        total: 'requests',
        minSamples: MIN_SAMPLES,
        label: 'Unavailable (% of requests)',
        period: ONE_MINUTE,
      }),
      threshold: 1,
      ...RATE_ALARM,
      description:
        'At least 1 % of requests were refused with 503 because Redis did not answer in time (fail mode closed). Check backend health and network.',
    });
    this.alarm('page', 'Degraded', {
      metric: percentageWithMinimumSamples({
        usingMetrics: { degraded: serviceMetric(source, METRIC.degraded, cloudwatch.Stats.SUM, ONE_MINUTE), requests },
        part: 'FILL(degraded, 0)',
        total: 'requests',
        minSamples: MIN_SAMPLES,
        label: 'Degraded (% of requests)',
        period: ONE_MINUTE,
      }),
      threshold: 1,
      ...RATE_ALARM,
      description:
        'At least 1 % of checks were admitted without a limit check because Redis did not answer (fail mode open): limits are not enforced.',
    });
    this.alarm('ticket', 'Anomaly', {
      metric: serviceMetric(source, METRIC.anomaly, cloudwatch.Stats.SUM, FIVE_MINUTES),
      threshold: props.anomalyThreshold ?? 1,
      evaluationPeriods: 1,
      description:
        "A creator attempted more than twice the plan limit within 5 minutes: a business signal for the product team, not an outage. The handlers' anomaly log names the creator.",
    });

    const total = (metricName: MetricName, period: Duration): cloudwatch.Metric =>
      serviceMetric(source, metricName, cloudwatch.Stats.SUM, period);
    const byTier = (metricName: MetricName, statistic: string): cloudwatch.Metric[] =>
      labelledBy(perTierMetrics(source, metricName, statistic, ONE_MINUTE), 'tier');
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# Rate-limit decisions\nCustom metrics in \`${source.namespace}\`: totals by {service=${source.serviceName}}, breakdowns by {service, tier}.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Allowed per tier', byTier(METRIC.allowed, cloudwatch.Stats.SUM), { stacked: true }),
      graph('Denied (429) per tier', byTier(METRIC.denied, cloudwatch.Stats.SUM), { stacked: true }),
      graph(
        'Degraded / Unavailable / Anomaly',
        ([METRIC.degraded, METRIC.unavailable, METRIC.anomaly] as const).map((metricName) =>
          total(metricName, ONE_MINUTE).with({ label: metricName }),
        ),
      ),
      graph('Backend latency p99 (ms)', [
        ...byTier(METRIC.backendLatency, cloudwatch.Stats.p(99)),
        serviceMetric(source, METRIC.backendLatency, cloudwatch.Stats.p(99), ONE_MINUTE).with({ label: 'BackendLatency all tiers' }),
      ]),
    );
    return unavailable;
  }

  private addApiMonitoring(props: RateLimitMonitoringProps): void {
    const metric = (metricName: string, statistic: string, period: Duration, label?: string): cloudwatch.Metric =>
      apiMetric(props, metricName, statistic, period).with({ label });
    const requests = metric('Count', cloudwatch.Stats.SUM, ONE_MINUTE);
    this.alarm('page', 'Api5xxRate', {
      metric: percentageWithMinimumSamples({
        usingMetrics: { serverErrors: metric('5XXError', cloudwatch.Stats.SUM, ONE_MINUTE), requests },
        part: 'FILL(serverErrors, 0)',
        total: 'requests',
        minSamples: MIN_SAMPLES,
        label: 'API 5XX (% of requests)',
        period: ONE_MINUTE,
      }),
      threshold: 1,
      ...RATE_ALARM,
      description: 'At least 1 % of API requests failed with 5XX (fail-closed 503s, function errors, integration timeouts).',
    });
    // 4XXError counts quota denials (429 from the check function) too; those are the product
    // working. Subtracting the Denied metric leaves what a misconfiguration produces: 403s from
    // IAM, 404s from callers pointed at a wrong stage, 400s from a caller deployed with a bug,
    // gateway throttling.
    this.alarm('page', 'Api4xxSpike', {
      metric: percentageWithMinimumSamples({
        usingMetrics: {
          clientErrors: metric('4XXError', cloudwatch.Stats.SUM, ONE_MINUTE),
          denied: serviceMetric(props.customMetrics, METRIC.denied, cloudwatch.Stats.SUM, ONE_MINUTE),
          requests,
        },
        part: 'IF(FILL(clientErrors, 0) > FILL(denied, 0), FILL(clientErrors, 0) - FILL(denied, 0), 0)',
        total: 'requests',
        minSamples: MIN_SAMPLES_4XX,
        label: 'API 4XX other than quota denials (% of requests)',
        period: ONE_MINUTE,
      }),
      threshold: 10,
      ...RATE_ALARM,
      description:
        'At least 10 % of API requests failed with a 4XX other than a quota denial: usually IAM (403: a caller lost execute-api:Invoke, or an admin-only route), a caller pointed at the wrong URL (404) or gateway throttling (429). See the access log errorType field.',
    });
    this.alarm('ticket', 'ApiLatencyP99', {
      metric: metric('Latency', cloudwatch.Stats.p(99), FIVE_MINUTES),
      threshold: (props.apiP99LatencyThreshold ?? Duration.millis(1500)).toMilliseconds(),
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description: 'API p99 latency is above its threshold.',
    });

    this.dashboard.addWidgets(
      graph('API requests', [
        metric('Count', cloudwatch.Stats.SUM, ONE_MINUTE, 'Requests'),
        metric('4XXError', cloudwatch.Stats.SUM, ONE_MINUTE, '4XX (incl. 429)'),
        metric('5XXError', cloudwatch.Stats.SUM, ONE_MINUTE, '5XX'),
      ]),
      graph('API latency (ms)', [
        metric('Latency', cloudwatch.Stats.p(50), ONE_MINUTE, 'p50'),
        metric('Latency', cloudwatch.Stats.p(99), ONE_MINUTE, 'p99'),
        metric('IntegrationLatency', cloudwatch.Stats.p(99), ONE_MINUTE, 'Integration p99'),
      ]),
    );
  }

  /** Per-function alarms. Returns each function's error-rate alarm, which gates its deployments. */
  private addFunctionMonitoring(
    functions: Readonly<Record<string, lambda.IFunction>>,
    p99Threshold: Duration,
  ): Record<string, cloudwatch.Alarm> {
    const entries = Object.entries(functions);
    const errorAlarms: Record<string, cloudwatch.Alarm> = {};
    for (const [name, fn] of entries) {
      const id = name.charAt(0).toUpperCase() + name.slice(1);
      const invocations = fn.metricInvocations({ statistic: cloudwatch.Stats.SUM, period: ONE_MINUTE });
      errorAlarms[name] = this.alarm('page', `${id}ErrorRate`, {
        metric: percentageWithMinimumSamples({
          usingMetrics: { errors: fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: ONE_MINUTE }), invocations },
          part: 'FILL(errors, 0)',
          total: 'invocations',
          minSamples: MIN_SAMPLES,
          label: `${name} errors (% of invocations)`,
          period: ONE_MINUTE,
        }),
        threshold: 1,
        ...RATE_ALARM,
        description: `At least 1 % of ${name} invocations threw an unhandled error (handlers answer every expected failure themselves, so this is a bug or a broken deploy; CodeDeploy rolls a new version back on it).`,
      });
      this.alarm('page', `${id}ThrottleRate`, {
        metric: percentageWithMinimumSamples({
          usingMetrics: { throttles: fn.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: ONE_MINUTE }), invocations },
          part: 'FILL(throttles, 0)',
          total: 'FILL(invocations, 0) + FILL(throttles, 0)',
          minSamples: MIN_SAMPLES,
          label: `${name} throttles (% of attempts)`,
          period: ONE_MINUTE,
        }),
        threshold: 1,
        ...RATE_ALARM,
        description: `At least 1 % of ${name} invocations hit the reserved concurrency (the cap on Redis connections). Raise it only if Redis has headroom.`,
      });
      this.alarm('ticket', `${id}DurationP99`, {
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
      graph(
        'Function invocations',
        metricsOf((fn, name) => fn.metricInvocations({ period: ONE_MINUTE, label: name })),
      ),
      graph('Function errors and throttles', [
        ...metricsOf((fn, name) => fn.metricErrors({ period: ONE_MINUTE, label: `${name} errors` })),
        ...metricsOf((fn, name) => fn.metricThrottles({ period: ONE_MINUTE, label: `${name} throttles` })),
      ]),
      graph(
        'Function duration p99 (ms)',
        metricsOf((fn, name) => fn.metricDuration({ statistic: cloudwatch.Stats.p(99), period: ONE_MINUTE, label: name })),
      ),
      graph(
        'Concurrent executions (max)',
        metricsOf((fn, name) =>
          fn.metric('ConcurrentExecutions', { statistic: cloudwatch.Stats.MAXIMUM, period: ONE_MINUTE, label: name }),
        ),
      ),
    );
    return errorAlarms;
  }

  private addCacheMonitoring(cache: CacheClusterMonitoringProps): void {
    const ids = cache.cacheClusterIds;
    const busiest = (
      metricName: 'EngineCPUUtilization' | 'DatabaseMemoryUsagePercentage',
      label: string,
      idPrefix: string,
    ): cloudwatch.IMetric => maxOf(cacheNodeMetrics(ids, metricName, cloudwatch.Stats.MAXIMUM, ONE_MINUTE), label, ONE_MINUTE, idPrefix);
    this.alarm('page', 'CacheEngineCpu', {
      metric: busiest('EngineCPUUtilization', 'EngineCPUUtilization (busiest node)', 'cpu'),
      threshold: cache.cpuThresholdPercent ?? 80,
      ...RATE_ALARM,
      description: 'Redis engine CPU of the busiest node is high; admissions will slow down and may time out.',
    });
    this.alarm('page', 'CacheMemory', {
      metric: busiest('DatabaseMemoryUsagePercentage', 'DatabaseMemoryUsagePercentage (fullest node)', 'memory'),
      threshold: cache.memoryThresholdPercent ?? 85,
      ...RATE_ALARM,
      description:
        'Redis memory is nearly full. Under noeviction, writes (every admission) will fail; under a volatile-* or allkeys-* policy, rate-limit keys (all have a TTL) get evicted and creators exceed their limits. See docs/operations.md, "Eviction".',
    });
    this.alarm('ticket', 'CacheEvictions', {
      metric: sumOf(
        cacheNodeMetrics(ids, 'Evictions', cloudwatch.Stats.SUM, FIVE_MINUTES),
        'Evictions (all nodes)',
        FIVE_MINUTES,
        'evictions',
      ),
      threshold: 1,
      evaluationPeriods: 1,
      description:
        'The cluster evicted keys; evicted rate-limit windows let creators exceed their limits. Check the eviction policy (npm run doctor) and memory.',
    });
    this.alarm('ticket', 'CacheConnections', {
      metric: sumOf(
        cacheNodeMetrics(ids, 'CurrConnections', cloudwatch.Stats.MAXIMUM, FIVE_MINUTES),
        'CurrConnections (all nodes)',
        FIVE_MINUTES,
        'connections',
      ),
      threshold: cache.connectionsThreshold ?? 5000,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description: 'Open connections to the cluster are above the threshold (all clients of the shared cluster).',
    });

    this.dashboard.addWidgets(
      graph(
        'Cache engine CPU (%)',
        labelledBy(cacheNodeMetrics(ids, 'EngineCPUUtilization', cloudwatch.Stats.AVERAGE, ONE_MINUTE), 'CacheClusterId'),
      ),
      graph(
        'Cache connections',
        labelledBy(cacheNodeMetrics(ids, 'CurrConnections', cloudwatch.Stats.MAXIMUM, ONE_MINUTE), 'CacheClusterId'),
      ),
      graph('Cache evictions', labelledBy(cacheNodeMetrics(ids, 'Evictions', cloudwatch.Stats.SUM, ONE_MINUTE), 'CacheClusterId')),
      graph(
        'Cache memory (%)',
        labelledBy(cacheNodeMetrics(ids, 'DatabaseMemoryUsagePercentage', cloudwatch.Stats.MAXIMUM, ONE_MINUTE), 'CacheClusterId'),
      ),
    );
  }

  private alarm(
    severity: AlarmSeverity,
    id: string,
    options: {
      metric: cloudwatch.IMetric;
      threshold: number;
      description: string;
      evaluationPeriods: number;
      datapointsToAlarm?: number;
    },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: `${this.namePrefix}-${id}`,
      metric: options.metric,
      threshold: options.threshold,
      evaluationPeriods: options.evaluationPeriods,
      datapointsToAlarm: options.datapointsToAlarm,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic is not a failure: quiet periods must not page anyone.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      // A p99 over a handful of requests is one request's latency, not a trend.
      evaluateLowSampleCountPercentile: 'ignore',
      alarmDescription: `[${severity}] ${options.description}`,
    });
    alarm.addAlarmAction(this.actions[severity]);
    alarm.addOkAction(this.actions[severity]);
    severityOf.set(alarm, severity);
    this.alarms.push(alarm);
    return alarm;
  }

  /** The alarms of one severity. */
  public alarmsOf(severity: AlarmSeverity): cloudwatch.Alarm[] {
    return this.alarms.filter((alarm) => severityOf.get(alarm) === severity);
  }
}

/** A stage metric of the API, by literal names (see RateLimitMonitoringProps.stageName). */
function apiMetric(props: RateLimitMonitoringProps, metricName: string, statistic: string, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/ApiGateway',
    metricName,
    dimensionsMap: { ApiName: props.apiName, Stage: props.stageName },
    statistic,
    period,
  });
}

const severityOf = new WeakMap<cloudwatch.Alarm, AlarmSeverity>();

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
  if (Object.keys(props.functions).length === 0) {
    throw new Error('RateLimitMonitoring: at least one function is needed');
  }
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(props.namePrefix)) {
    throw new Error(`RateLimitMonitoring: namePrefix "${props.namePrefix}" may only contain letters, digits, "-" and "_"`);
  }
}
