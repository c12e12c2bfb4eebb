import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { monitoredTierNames, type DeploymentConfig } from '../config';
import type { CacheClusterMonitoringProps } from '../constructs/rate-limit-monitoring';
import type { RateLimitServiceProps } from '../constructs/rate-limit-service';

/**
 * Maps the deployment config onto the service construct's props. Shared by both
 * stacks so that they differ only in the backend.
 */
export function serviceSettings(
  config: DeploymentConfig,
  options: { readonly variant: 'elasticache' | 'upstash'; readonly dashboardName: string; readonly cacheCluster?: CacheClusterMonitoringProps },
): Omit<RateLimitServiceProps, 'backend'> {
  return {
    functions: {
      serviceName: config.serviceName,
      metricsNamespace: config.metricsNamespace,
      failMode: config.rateLimit.failMode,
      backendTimeout: Duration.millis(config.rateLimit.timeoutMs),
      tiers: config.rateLimit.tiers,
      memorySize: config.functions.memorySizeMb,
      timeout: Duration.seconds(config.functions.timeoutSeconds),
      reservedConcurrency: config.functions.reservedConcurrency,
      logRetention: retentionDays(config.functions.logRetentionDays, 'functions.logRetentionDays'),
    },
    api: {
      restApiName: `${config.serviceName}-${options.variant}`,
      stageName: config.api.stageName,
      throttling: { rateLimit: config.api.throttlingRateLimit, burstLimit: config.api.throttlingBurstLimit },
      administrativeThrottling: {
        rateLimit: config.api.resetThrottlingRateLimit,
        burstLimit: config.api.resetThrottlingBurstLimit,
      },
      executionLogging: config.api.executionLogging,
      accessLogRetention: retentionDays(config.api.accessLogRetentionDays, 'api.accessLogRetentionDays'),
      administrativePrincipalArns: config.api.resetAllowedPrincipalArns,
    },
    monitoring: {
      dashboardName: options.dashboardName,
      alarmEmail: config.alarmEmail,
      customMetrics: {
        namespace: config.metricsNamespace,
        serviceName: config.serviceName,
        tierNames: monitoredTierNames(config.rateLimit),
      },
      cacheCluster: options.cacheCluster,
    },
  };
}

/** CloudWatch Logs only accepts specific retention periods; refuse anything else early. */
function retentionDays(days: number, key: string): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((value): value is number => typeof value === 'number');
  if (!allowed.includes(days) || days === logs.RetentionDays.INFINITE) {
    throw new Error(`Invalid deployment config: ${key} must be one of ${allowed.filter((d) => d > 0).join(', ')}, got ${days}`);
  }
  return days as logs.RetentionDays;
}
