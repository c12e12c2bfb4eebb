import { Duration } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { DEFAULT_TIERS, parseTierTable } from '../../lambda/contract';
import { backendTimeoutMs, metricsNamespace, resourceName, serviceName, type EnvironmentConfig, type Variant } from '../config';
import type { CacheClusterMonitoringProps } from '../constructs/rate-limit-monitoring';
import type { RateLimitServiceProps } from '../constructs/rate-limit-service';

/**
 * Maps an environment's configuration onto the service construct's props for one variant. Shared
 * by both stacks so that they differ only in the backend; the variant decides the service name,
 * the metric dimensions, the names and the backend deadline.
 */
export function serviceSettings(
  config: EnvironmentConfig,
  variant: Variant,
  cacheCluster?: CacheClusterMonitoringProps,
): Omit<RateLimitServiceProps, 'backend'> {
  const service = serviceName(variant);
  const namespace = metricsNamespace(config);
  return {
    functions: {
      serviceName: service,
      metricsNamespace: namespace,
      failMode: config.rateLimit.failMode,
      backendTimeout: Duration.millis(backendTimeoutMs(config, variant)),
      tiers: config.rateLimit.tiers,
      memorySize: config.functions.memorySizeMb,
      timeout: Duration.seconds(config.functions.timeoutSeconds),
      reservedConcurrency: config.functions.reservedConcurrency,
      checkProvisionedConcurrency: config.functions.checkProvisionedConcurrency,
      // Validated against logs.RetentionDays by the configuration.
      logRetention: config.functions.logRetentionDays as logs.RetentionDays,
    },
    api: {
      restApiName: resourceName(config, variant),
      stageName: config.api.stageName,
      throttling: { rateLimit: config.api.throttlingRateLimit, burstLimit: config.api.throttlingBurstLimit },
      administrativeThrottling: {
        rateLimit: config.api.adminThrottlingRateLimit,
        burstLimit: config.api.adminThrottlingBurstLimit,
      },
      executionLogging: config.api.executionLogging,
      accessLogRetention: config.api.accessLogRetentionDays,
      administrativePrincipalArns: config.api.adminPrincipalArns,
    },
    monitoring: {
      namePrefix: resourceName(config, variant),
      pageEmail: config.alarms.pageEmail,
      ticketEmail: config.alarms.ticketEmail,
      customMetrics: {
        namespace,
        serviceName: service,
        // The tiers the functions will actually serve: the table's keys, as the parser reads them.
        tierNames: Object.keys(config.rateLimit.tiers === undefined ? DEFAULT_TIERS : parseTierTable(config.rateLimit.tiers)),
      },
      cacheCluster,
    },
    trafficShift: config.trafficShift,
  };
}
