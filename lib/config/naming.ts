/**
 * Names derived from an environment and a variant. Every name that must be unique in an account
 * carries the environment, so staging and production can share one account, and the variant, so
 * the ElastiCache and Upstash deployments can run side by side while callers move.
 */
import { DEFAULT_METRICS_NAMESPACE, DEFAULT_SERVICE_NAME, DEFAULT_TIMEOUT_MS } from '../../lambda/contract';
import type { EnvironmentConfig } from './types';

/** The two deployable variants of the service. */
export type Variant = 'elasticache' | 'upstash';

export const VARIANTS: readonly Variant[] = ['elasticache', 'upstash'];

const STACK_SUFFIX: Readonly<Record<Variant, string>> = { elasticache: 'ElastiCache', upstash: 'Upstash' };

export const STACK_PREFIX = 'CreatorRateLimit';

/** `CreatorRateLimit-production-ElastiCache`. */
export function stackName(config: Pick<EnvironmentConfig, 'name'>, variant: Variant): string {
  return `${STACK_PREFIX}-${config.name}-${STACK_SUFFIX[variant]}`;
}

/**
 * Powertools service name (`POWERTOOLS_SERVICE_NAME`), the `service` dimension of the custom
 * metrics: one per variant, so each stack's alarms watch only its own functions.
 */
export function serviceName(variant: Variant): string {
  return `${DEFAULT_SERVICE_NAME}-${variant}`;
}

/**
 * Metrics namespace (`POWERTOOLS_METRICS_NAMESPACE`), one per environment, so staging's alarms
 * never count production's data points when both share an account.
 */
export function metricsNamespace(config: Pick<EnvironmentConfig, 'name'>): string {
  return `${DEFAULT_METRICS_NAMESPACE}/${config.name}`;
}

/** Name of the REST API, of the dashboard, and the prefix of every alarm name. */
export function resourceName(config: Pick<EnvironmentConfig, 'name'>, variant: Variant): string {
  return `${serviceName(variant)}-${config.name}`;
}

/** `RATE_LIMIT_TIMEOUT_MS` of a variant: the configured value or the library's default for the backend. */
export function backendTimeoutMs(config: EnvironmentConfig, variant: Variant): number {
  const configured = variant === 'elasticache' ? config.elastiCache?.backendTimeoutMs : config.upstash?.backendTimeoutMs;
  return configured ?? DEFAULT_TIMEOUT_MS[variant];
}

/** Tags on every resource of an environment's stacks. */
export function environmentTags(config: EnvironmentConfig): Readonly<Record<string, string>> {
  return {
    Environment: config.name,
    Service: DEFAULT_SERVICE_NAME,
    Owner: config.owner,
    ManagedBy: 'aws-cdk',
  };
}
