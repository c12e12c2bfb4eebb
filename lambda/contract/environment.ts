/**
 * The environment contract of the library and the Lambda functions: variable names, backend
 * names, fail modes and the defaults the deployed stacks and the library share. The library reads
 * these variables; the CDK app writes them. Both import the names from here.
 */

export const ENV = /* @__PURE__ */ Object.freeze({
  backend: 'RATE_LIMIT_BACKEND',
  apiUrl: 'RATE_LIMIT_API_URL',
  useElastiCache: 'USE_ELASTICACHE',
  elastiCacheHost: 'ELASTICACHE_REDIS_HOST',
  elastiCachePort: 'ELASTICACHE_REDIS_PORT',
  elastiCacheTls: 'ELASTICACHE_REDIS_TLS',
  elastiCacheAuthSecretArn: 'ELASTICACHE_REDIS_AUTH_SECRET_ARN',
  elastiCachePassword: 'ELASTICACHE_REDIS_PASSWORD',
  elastiCacheUsername: 'ELASTICACHE_REDIS_USERNAME',
  elastiCacheIamUser: 'ELASTICACHE_REDIS_IAM_USER',
  elastiCacheCluster: 'ELASTICACHE_REDIS_CLUSTER',
  upstashUrl: 'UPSTASH_REDIS_REST_URL',
  upstashToken: 'UPSTASH_REDIS_REST_TOKEN',
  upstashSecretArn: 'UPSTASH_REDIS_SECRET_ARN',
  tiers: 'RATE_LIMIT_TIERS',
  failMode: 'RATE_LIMIT_FAIL_MODE',
  timeoutMs: 'RATE_LIMIT_TIMEOUT_MS',
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
} as const);

export type EnvironmentVariable = (typeof ENV)[keyof typeof ENV];

export const BACKEND_NAMES = ['elasticache', 'upstash', 'memory'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export const FAIL_MODES = ['closed', 'open'] as const;
/** What a check does when the backend cannot answer: `closed` refuses (503), `open` admits unmetered. */
export type FailMode = (typeof FAIL_MODES)[number];
export const DEFAULT_FAIL_MODE: FailMode = 'closed';

/**
 * Per-call deadlines suited to each backend: in-VPC TCP is fast, REST over the internet is not, and
 * `http` (the deployed API: API Gateway, a function, then Redis) is slower still.
 */
export const DEFAULT_TIMEOUT_MS: Readonly<Record<BackendName | 'http', number>> = /* @__PURE__ */ Object.freeze({
  elasticache: 300,
  upstash: 1500,
  memory: 1000,
  http: 3000,
});

/** The largest deadline a configuration may ask for. */
export const MAX_TIMEOUT_MS = 60_000;

export const DEFAULT_SERVICE_NAME = 'creator-rate-limit';

/** `Retry-After` of a 503 (backend unavailable, fail mode closed), in seconds. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 60;
