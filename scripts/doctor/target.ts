/**
 * What the doctor checks: the backend the library itself would use with this environment
 * (rateLimiterOptionsFromEnv), with credentials resolved once (a Secrets Manager secret or an IAM
 * token, read the way the functions read them) so every probe and the full round use the same ones.
 */
import {
  DEFAULT_TIMEOUT_MS,
  rateLimiterOptionsFromEnv,
  RateLimitConfigError,
  type EnvironmentHooks,
  type RateLimiterOptions,
} from '../../lambda/rate-limit';

export interface RedisTarget {
  readonly kind: 'redis';
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly cluster: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

export interface UpstashTarget {
  readonly kind: 'upstash';
  readonly url: string;
  readonly token: string;
}

export interface ResolvedTarget {
  readonly backend: RedisTarget | UpstashTarget;
  /** The deadline of one backend call the functions would use. */
  readonly timeoutMs: number;
  /** Limiter options as the library parsed them (tiers, fail mode), credentials already resolved. */
  readonly limiterOptions: RateLimiterOptions;
  /** Every credential value, so output can be scrubbed of them. */
  readonly secrets: readonly string[];
}

const DEFAULT_PORT = 6379;

/** The hooks the Lambda functions use, loaded only when a secret ARN or IAM user is configured. */
function runtimeHooks(env: Readonly<Record<string, string | undefined>>): EnvironmentHooks {
  return {
    readSecret: async (secretArn) => (await import('../../lambda/shared/secrets')).createSecretReader()(secretArn),
    iamAuthToken: async (user) =>
      (await (await import('../../lambda/shared/elasticache-iam-auth')).iamTokenProviderFromEnvironment(env))(user),
  };
}

export async function resolveTarget(env: Readonly<Record<string, string | undefined>>): Promise<ResolvedTarget> {
  const options = rateLimiterOptionsFromEnv(env, runtimeHooks(env));
  switch (options.backend) {
    case 'elasticache': {
      const connection = options.elasticache;
      const credentials = connection.credentials ? await connection.credentials() : undefined;
      const username = credentials?.username ?? connection.username;
      const password = credentials?.password ?? connection.password;
      const backend: RedisTarget = {
        kind: 'redis',
        host: connection.host,
        port: connection.port ?? DEFAULT_PORT,
        tls: Boolean(connection.tls),
        cluster: Boolean(connection.cluster),
        username,
        password,
      };
      return {
        backend,
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS.elasticache,
        limiterOptions: { ...options, elasticache: { ...connection, credentials: undefined, username, password } },
        secrets: password ? [password] : [],
      };
    }
    case 'upstash': {
      const connection = options.upstash;
      const resolved = connection.credentials
        ? await connection.credentials()
        : { url: connection.url ?? '', token: connection.token ?? '' };
      return {
        backend: { kind: 'upstash', url: resolved.url, token: resolved.token },
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS.upstash,
        limiterOptions: { ...options, upstash: { url: resolved.url, token: resolved.token } },
        secrets: [resolved.token],
      };
    }
    default:
      throw new RateLimitConfigError(
        `RATE_LIMIT_BACKEND=${options.backend ?? 'memory'} has no remote backend to check: point the doctor at ElastiCache/Redis (--host, ELASTICACHE_REDIS_HOST) or Upstash (--url, UPSTASH_REDIS_REST_URL)`,
      );
  }
}

/** One line naming the target, with every credential masked. */
export function describeTarget(target: ResolvedTarget): string {
  const backend = target.backend;
  if (backend.kind === 'upstash') {
    return `upstash at ${safeUrl(backend.url)} (token ****, deadline ${target.timeoutMs} ms)`;
  }
  const auth = backend.password ? `AUTH ${backend.username ?? 'default'}:****` : 'no AUTH';
  return (
    `redis at ${backend.host}:${backend.port} (TLS ${backend.tls ? 'on' : 'off'}, cluster mode ${backend.cluster ? 'on' : 'off'}, ` +
    `${auth}, deadline ${target.timeoutMs} ms)`
  );
}

/** The URL without user info or query string, where a token could hide. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}
