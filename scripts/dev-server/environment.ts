/**
 * Which backend the local server runs on. With none of the variables that select a backend
 * (docs/design.md#environment), it uses the embedded memory backend and says so. Deployed functions never
 * do this: there, no backend is a configuration error.
 */
import type { Environment } from '../../lambda/shared/limiter';

export interface DevEnvironment {
  readonly env: Environment;
  /** True when the embedded memory backend was chosen because nothing was configured. */
  readonly embeddedMemory: boolean;
  /** Notes for the console, e.g. a variable that is set but has no effect. */
  readonly notes: readonly string[];
}

function truthy(value: string | undefined): boolean {
  return ['true', '1'].includes(value?.trim().toLowerCase() ?? '');
}

export function resolveDevEnvironment(env: Environment): DevEnvironment {
  const selected =
    Boolean(env.RATE_LIMIT_BACKEND?.trim()) ||
    truthy(env.USE_ELASTICACHE) ||
    Boolean(env.UPSTASH_REDIS_REST_URL?.trim()) ||
    Boolean(env.UPSTASH_REDIS_SECRET_ARN?.trim());
  if (selected) return { env, embeddedMemory: false, notes: [] };
  const notes = env.ELASTICACHE_REDIS_HOST?.trim()
    ? ['ELASTICACHE_REDIS_HOST is set but no backend is selected: set RATE_LIMIT_BACKEND=elasticache to use it.']
    : [];
  return { env: { ...env, RATE_LIMIT_BACKEND: 'memory' }, embeddedMemory: true, notes };
}

/** One line naming the backend, without credentials. */
export function describeBackend(dev: DevEnvironment, backend: string | undefined): string {
  if (dev.embeddedMemory) {
    return 'embedded in-memory backend (no backend configured; RATE_LIMIT_BACKEND=memory). State lives in this process only: for local development, not for production.';
  }
  const { env } = dev;
  if (backend === 'elasticache') {
    return `ElastiCache/Redis at ${env.ELASTICACHE_REDIS_HOST}:${env.ELASTICACHE_REDIS_PORT?.trim() || '6379'}${truthy(env.ELASTICACHE_REDIS_TLS) ? ' (TLS)' : ''}`;
  }
  if (backend === 'upstash') {
    if (env.UPSTASH_REDIS_SECRET_ARN?.trim()) return 'Upstash (URL and token from UPSTASH_REDIS_SECRET_ARN)';
    try {
      return `Upstash at ${new URL(env.UPSTASH_REDIS_REST_URL ?? '').origin}`;
    } catch {
      return 'Upstash';
    }
  }
  if (backend === 'memory') return 'in-memory backend (RATE_LIMIT_BACKEND=memory): state lives in this process only, not for production.';
  return `${backend ?? 'unknown'} backend`;
}
