/**
 * Typed deployment configuration for the creator rate-limit stacks.
 *
 * One typed object describes everything the stacks need to know about the
 * account they deploy into. `bin/app.ts` reads it through `loadDeploymentConfig`,
 * which applies `-c key=value` overrides from the CDK CLI on top of the defaults
 * below and validates the result before any construct is created.
 *
 * Values marked PLACEHOLDER are not known in this repository. They have the real
 * format (so the template validates and the committed `cdk.context.json` lookup
 * matches them) but must be replaced for a real deployment, either by editing
 * `DEFAULT_DEPLOYMENT_CONFIG` or by passing `-c` overrides. docs/deployment.md
 * lists every override key.
 */

import { ROUTE_NAMES, type RouteName } from './constructs/routes';

/** What the handlers do when Redis cannot answer within `timeoutMs`. */
export type FailMode = 'closed' | 'open';

/** One policy of a plan tier, as understood by `RATE_LIMIT_TIERS` (DESIGN.md section 4). */
export interface TierPolicyConfig {
  readonly name: string;
  readonly unit: 'requests' | 'tokens' | 'concurrent';
  readonly limit: number;
  readonly windowSeconds?: number;
  readonly leaseSeconds?: number;
}

/** A tier table in the `RATE_LIMIT_TIERS` format. Keys are tier names. */
export type TierTableConfig = Readonly<Record<string, { readonly policies: readonly TierPolicyConfig[] }>>;

/**
 * Where a Secrets Manager secret lives. Give exactly one of `secretName` or
 * `secretCompleteArn`; the complete ARN (with its 6-character suffix) is the
 * more precise choice when it is known.
 */
export interface SecretReferenceConfig {
  readonly secretName?: string;
  readonly secretCompleteArn?: string;
  /** ARN of the customer-managed KMS key that encrypts the secret, if not `aws/secretsmanager`. */
  readonly encryptionKeyArn?: string;
}

/** The existing ElastiCache cluster and the VPC it lives in. Nothing here is created by CDK. */
export interface ElastiCacheConfig {
  /** VPC of the cluster; looked up at synth time and cached in cdk.context.json. */
  readonly vpcId: string;
  /** Security group attached to the cluster; the stack adds one ingress rule to it. */
  readonly redisSecurityGroupId: string;
  /**
   * Cache cluster id (standalone node) or replication group id. Used in the
   * `elasticache:Connect` ARN for IAM auth and, by default, for CloudWatch metrics.
   */
  readonly clusterId: string;
  /** Primary endpoint, or configuration endpoint (`clustercfg.`) when `clusterMode` is true. */
  readonly host: string;
  readonly port: number;
  /** In-transit encryption is enabled on the cluster. */
  readonly tls: boolean;
  /** Cluster mode enabled: `host` is the configuration endpoint. */
  readonly clusterMode: boolean;
  /** Secret holding the AUTH token (plain string or JSON `{password, username?}`). */
  readonly authTokenSecret?: SecretReferenceConfig;
  /** ElastiCache user id for IAM authentication (mutually exclusive with `authTokenSecret`). */
  readonly iamAuthUserId?: string;
  /**
   * `CacheClusterId` values of the nodes to watch in CloudWatch. A standalone
   * node's metrics are published under the cluster id itself; a cluster-mode or
   * replicated cluster publishes per member (e.g. `<id>-0001-001`), which cannot
   * be derived here and must be listed.
   * @default [clusterId] (only valid when clusterMode is false)
   */
  readonly monitoredCacheClusterIds?: readonly string[];
  /** Which subnets of the looked-up VPC the functions run in. */
  readonly subnetType: 'private-with-egress' | 'private-isolated';
  /** Pick one named subnet group (the `aws-cdk:subnet-name` tag or its type name) instead of all subnets of the type. */
  readonly subnetGroupName?: string;
  /** Create a Secrets Manager interface endpoint (for VPCs without a NAT gateway). */
  readonly secretsManagerEndpoint: boolean;
}

export interface UpstashConfig {
  /** Secret whose SecretString is JSON `{"url": "...", "token": "..."}`. */
  readonly credentialsSecret: SecretReferenceConfig;
}

export interface FunctionsConfig {
  readonly memorySizeMb: number;
  readonly timeoutSeconds: number;
  /** Caps concurrent executions, and so open Redis connections, per function. */
  readonly reservedConcurrency: Readonly<Record<RouteName, number>>;
  readonly logRetentionDays: number;
}

export interface ApiConfig {
  readonly stageName: string;
  /** Steady-state requests per second for the whole stage. */
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  /** Stricter throttle for the administrative `POST /v1/reset`. */
  readonly resetThrottlingRateLimit: number;
  readonly resetThrottlingBurstLimit: number;
  /**
   * API Gateway execution logging. Needs the account-level API Gateway
   * CloudWatch Logs role to exist in the target account and region.
   */
  readonly executionLogging: boolean;
  /**
   * IAM principal ARNs (wildcards allowed) that may call `POST /v1/reset`. When
   * set, the API resource policy denies reset to every other principal.
   * @default - any principal whose IAM policy allows execute-api:Invoke on it
   */
  readonly resetAllowedPrincipalArns?: readonly string[];
  readonly accessLogRetentionDays: number;
}

export interface RateLimitRuntimeConfig {
  readonly failMode: FailMode;
  /** Deadline for one backend call, in ms (`RATE_LIMIT_TIMEOUT_MS`). */
  readonly timeoutMs: number;
  /** Replaces the library's default tier table when set (`RATE_LIMIT_TIERS`). */
  readonly tiers?: TierTableConfig;
}

export interface DeploymentConfig {
  readonly account: string;
  readonly region: string;
  /** Prefix of the stack names. */
  readonly stackPrefix: string;
  /** Powertools service name; also the `service` dimension of the custom metrics. */
  readonly serviceName: string;
  readonly metricsNamespace: string;
  /** Receives alarm notifications; no subscription is created when unset. */
  readonly alarmEmail?: string;
  readonly elastiCache: ElastiCacheConfig;
  readonly upstash: UpstashConfig;
  readonly functions: FunctionsConfig;
  readonly api: ApiConfig;
  readonly rateLimit: RateLimitRuntimeConfig;
  readonly tags: Readonly<Record<string, string>>;
}

/** Tier names of the library's built-in table (DESIGN.md section 1). */
export const DEFAULT_TIER_NAMES: readonly string[] = ['starter', 'pro', 'business'];

/**
 * The production configuration. PLACEHOLDER values must be confirmed before the
 * first deploy; docs/deployment.md explains how to find each one.
 */
export const DEFAULT_DEPLOYMENT_CONFIG: DeploymentConfig = {
  account: '123456789012', // PLACEHOLDER: the production account id
  region: 'us-east-1',
  stackPrefix: 'CreatorRateLimit',
  serviceName: 'creator-rate-limit',
  metricsNamespace: 'CreatorRateLimit',
  alarmEmail: 'platform-alerts@example.com', // PLACEHOLDER: the on-call distribution list
  elastiCache: {
    vpcId: 'vpc-0a1b2c3d4e5f67890', // PLACEHOLDER: VPC of huntaze-redis-production
    redisSecurityGroupId: 'sg-0f1e2d3c4b5a69788', // PLACEHOLDER: security group of the cluster
    clusterId: 'huntaze-redis-production',
    host: 'huntaze-redis-production.asmyhp.0001.use1.cache.amazonaws.com',
    port: 6379,
    tls: true, // VERIFY: TransitEncryptionEnabled of the cluster
    clusterMode: false,
    authTokenSecret: { secretName: 'huntaze/redis-production/auth-token' }, // PLACEHOLDER / VERIFY: AuthTokenEnabled
    subnetType: 'private-with-egress',
    secretsManagerEndpoint: false,
  },
  upstash: {
    credentialsSecret: { secretName: 'huntaze/rate-limit/upstash' }, // PLACEHOLDER: secret name
  },
  functions: {
    memorySizeMb: 256,
    timeoutSeconds: 5,
    reservedConcurrency: { check: 50, settle: 50, status: 20, reset: 5 },
    logRetentionDays: 30,
  },
  api: {
    stageName: 'prod',
    throttlingRateLimit: 500,
    throttlingBurstLimit: 1000,
    resetThrottlingRateLimit: 5,
    resetThrottlingBurstLimit: 10,
    executionLogging: false,
    accessLogRetentionDays: 90,
  },
  rateLimit: {
    failMode: 'closed',
    timeoutMs: 300,
  },
  tags: {
    Project: 'creator-ai-rate-limit',
    ManagedBy: 'aws-cdk',
  },
};

/** Anything that can answer `tryGetContext` (a construct node). */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

/**
 * `-c` keys understood by `loadDeploymentConfig`, each with the config path it
 * overrides. Kept in one table so the docs and the parser cannot drift apart.
 */
export const CONTEXT_KEYS = {
  account: 'account',
  alarmEmail: 'alarmEmail',
  vpcId: 'elastiCache.vpcId',
  redisSecurityGroupId: 'elastiCache.redisSecurityGroupId',
  redisClusterId: 'elastiCache.clusterId',
  redisHost: 'elastiCache.host',
  redisPort: 'elastiCache.port',
  redisTls: 'elastiCache.tls',
  redisClusterMode: 'elastiCache.clusterMode',
  redisAuthSecretName: 'elastiCache.authTokenSecret.secretName',
  redisAuthSecretArn: 'elastiCache.authTokenSecret.secretCompleteArn',
  redisIamUser: 'elastiCache.iamAuthUserId',
  redisMonitoredClusterIds: 'elastiCache.monitoredCacheClusterIds',
  redisSubnetType: 'elastiCache.subnetType',
  redisSubnetGroupName: 'elastiCache.subnetGroupName',
  secretsManagerEndpoint: 'elastiCache.secretsManagerEndpoint',
  upstashSecretName: 'upstash.credentialsSecret.secretName',
  upstashSecretArn: 'upstash.credentialsSecret.secretCompleteArn',
  reservedConcurrency: 'functions.reservedConcurrency',
  failMode: 'rateLimit.failMode',
  backendTimeoutMs: 'rateLimit.timeoutMs',
  tiers: 'rateLimit.tiers',
  apiExecutionLogging: 'api.executionLogging',
  resetAllowedPrincipalArns: 'api.resetAllowedPrincipalArns',
} as const;

/**
 * Builds the deployment config: defaults, then `-c` overrides, then validation.
 *
 * Context values arrive as strings from the command line but may be real JSON
 * values when they come from cdk.json, so every parser accepts both.
 */
export function loadDeploymentConfig(
  context: ContextSource,
  base: DeploymentConfig = DEFAULT_DEPLOYMENT_CONFIG,
): DeploymentConfig {
  type Key = keyof typeof CONTEXT_KEYS;
  const str = (key: Key): string | undefined => {
    const value = context.tryGetContext(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new Error(`Context "${key}" must be a string, got ${JSON.stringify(value)}`);
    }
    return String(value).trim();
  };
  const bool = (key: Key): boolean | undefined => {
    const value = str(key);
    if (value === undefined) return undefined;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new Error(`Context "${key}" must be true or false, got "${value}"`);
  };
  const int = (key: Key): number | undefined => {
    const value = str(key);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new Error(`Context "${key}" must be a whole number, got "${value}"`);
    return Number(value);
  };
  const list = (key: Key): string[] | undefined => {
    const raw = context.tryGetContext(key);
    if (raw === undefined || raw === null) return undefined;
    if (Array.isArray(raw)) return raw.map(String);
    return String(raw)
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
  };
  const json = (key: Key): unknown => {
    const raw = context.tryGetContext(key);
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw !== 'string') return raw;
    try {
      return JSON.parse(raw) as unknown;
    } catch (error) {
      throw new Error(`Context "${key}" is not valid JSON: ${(error as Error).message}`);
    }
  };

  const ec = base.elastiCache;
  // Choosing an auth mechanism on the command line replaces the default one:
  // `-c redisIamUser=app-user` switches the default AUTH token off, and an empty
  // value (`-c redisAuthSecretName=`) means "no AUTH at all". Giving both a secret
  // and an IAM user is passed through so the backend construct can reject it.
  const authSecretName = str('redisAuthSecretName');
  const authSecretArn = str('redisAuthSecretArn');
  const iamUser = str('redisIamUser');
  const authSecretGiven = authSecretName !== undefined || authSecretArn !== undefined;
  let authTokenSecret = ec.authTokenSecret;
  let iamAuthUserId = ec.iamAuthUserId;
  if (authSecretGiven) {
    authTokenSecret = authSecretName || authSecretArn ? pickSecret(authSecretName, authSecretArn) : undefined;
    if (iamUser === undefined) iamAuthUserId = undefined;
  }
  if (iamUser !== undefined) {
    iamAuthUserId = iamUser === '' ? undefined : iamUser;
    if (!authSecretGiven) authTokenSecret = undefined;
  }

  const upstashName = str('upstashSecretName');
  const upstashArn = str('upstashSecretArn');

  const concurrency = json('reservedConcurrency');
  const failMode = str('failMode');
  const subnetType = str('redisSubnetType');
  const tiers = json('tiers');
  const alarmEmail = str('alarmEmail');

  const config: DeploymentConfig = {
    ...base,
    account: str('account') ?? base.account,
    alarmEmail: alarmEmail === undefined ? base.alarmEmail : alarmEmail === '' ? undefined : alarmEmail,
    elastiCache: {
      ...ec,
      vpcId: str('vpcId') ?? ec.vpcId,
      redisSecurityGroupId: str('redisSecurityGroupId') ?? ec.redisSecurityGroupId,
      clusterId: str('redisClusterId') ?? ec.clusterId,
      host: str('redisHost') ?? ec.host,
      port: int('redisPort') ?? ec.port,
      tls: bool('redisTls') ?? ec.tls,
      clusterMode: bool('redisClusterMode') ?? ec.clusterMode,
      authTokenSecret,
      iamAuthUserId,
      monitoredCacheClusterIds: list('redisMonitoredClusterIds') ?? ec.monitoredCacheClusterIds,
      subnetType: subnetType === undefined ? ec.subnetType : parseSubnetType(subnetType),
      subnetGroupName: str('redisSubnetGroupName') ?? ec.subnetGroupName,
      secretsManagerEndpoint: bool('secretsManagerEndpoint') ?? ec.secretsManagerEndpoint,
    },
    upstash: {
      credentialsSecret:
        upstashName !== undefined || upstashArn !== undefined
          ? pickSecret(upstashName, upstashArn)
          : base.upstash.credentialsSecret,
    },
    functions: {
      ...base.functions,
      reservedConcurrency:
        concurrency === undefined
          ? base.functions.reservedConcurrency
          : parseReservedConcurrency(concurrency, base.functions.reservedConcurrency),
    },
    api: {
      ...base.api,
      executionLogging: bool('apiExecutionLogging') ?? base.api.executionLogging,
      resetAllowedPrincipalArns: list('resetAllowedPrincipalArns') ?? base.api.resetAllowedPrincipalArns,
    },
    rateLimit: {
      ...base.rateLimit,
      failMode: failMode === undefined ? base.rateLimit.failMode : parseFailMode(failMode),
      timeoutMs: int('backendTimeoutMs') ?? base.rateLimit.timeoutMs,
      tiers: tiers === undefined ? base.rateLimit.tiers : (tiers as TierTableConfig),
    },
  };
  validateDeploymentConfig(config);
  return config;
}

function pickSecret(name: string | undefined, arn: string | undefined): SecretReferenceConfig {
  return arn !== undefined && arn !== '' ? { secretCompleteArn: arn } : { secretName: name ?? '' };
}

function parseFailMode(value: string): FailMode {
  if (value === 'closed' || value === 'open') return value;
  throw new Error(`Context "failMode" must be "closed" or "open", got "${value}"`);
}

function parseSubnetType(value: string): ElastiCacheConfig['subnetType'] {
  if (value === 'private-with-egress' || value === 'private-isolated') return value;
  throw new Error(`Context "redisSubnetType" must be "private-with-egress" or "private-isolated", got "${value}"`);
}

/** Accepts one number for every function, or an object with some route names. */
function parseReservedConcurrency(
  value: unknown,
  defaults: Readonly<Record<RouteName, number>>,
): Record<RouteName, number> {
  if (typeof value === 'number') {
    return { check: value, settle: value, status: value, reset: value };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const result: Record<RouteName, number> = { ...defaults };
    for (const [route, limit] of Object.entries(value)) {
      if (!(ROUTE_NAMES as readonly string[]).includes(route)) {
        throw new Error(`Context "reservedConcurrency" has unknown function "${route}" (known: ${ROUTE_NAMES.join(', ')})`);
      }
      if (typeof limit !== 'number') {
        throw new Error(`Context "reservedConcurrency.${route}" must be a number`);
      }
      result[route as RouteName] = limit;
    }
    return result;
  }
  throw new Error('Context "reservedConcurrency" must be a number or a JSON object of function name to number');
}

/** Tier names the monitoring watches: the configured table's keys, or the library defaults. */
export function monitoredTierNames(config: RateLimitRuntimeConfig): readonly string[] {
  return config.tiers === undefined ? DEFAULT_TIER_NAMES : Object.keys(config.tiers);
}

/**
 * Checks the formats that CloudFormation or the runtime would otherwise reject
 * late (at deploy time or on the first request). Constructs repeat the checks
 * on the combinations they own; these are the account-wide ones.
 */
export function validateDeploymentConfig(config: DeploymentConfig): void {
  const fail = (message: string): never => {
    throw new Error(`Invalid deployment config: ${message}`);
  };
  if (!/^\d{12}$/.test(config.account)) fail(`account must be a 12-digit AWS account id, got "${config.account}"`);
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(config.region)) fail(`region "${config.region}" is not an AWS region name`);
  const ec = config.elastiCache;
  if (!/^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/.test(ec.vpcId)) fail(`elastiCache.vpcId "${ec.vpcId}" is not a VPC id (vpc-<8 or 17 hex>)`);
  if (!/^sg-([0-9a-f]{8}|[0-9a-f]{17})$/.test(ec.redisSecurityGroupId)) {
    fail(`elastiCache.redisSecurityGroupId "${ec.redisSecurityGroupId}" is not a security group id (sg-<8 or 17 hex>)`);
  }
  if (ec.clusterMode && (ec.monitoredCacheClusterIds === undefined || ec.monitoredCacheClusterIds.length === 0)) {
    fail(
      'elastiCache.monitoredCacheClusterIds must list the node cluster ids (e.g. <id>-0001-001) when clusterMode is true: CloudWatch publishes cache metrics per node',
    );
  }
  if (config.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(config.alarmEmail)) {
    fail(`alarmEmail "${config.alarmEmail}" is not an e-mail address`);
  }
  for (const [route, limit] of Object.entries(config.functions.reservedConcurrency)) {
    if (!Number.isInteger(limit) || limit < 1) fail(`functions.reservedConcurrency.${route} must be an integer >= 1, got ${limit}`);
  }
  if (config.rateLimit.tiers !== undefined) validateTierTable(config.rateLimit.tiers);
}

/**
 * A shallow structural check of the tier table. The library validates the
 * semantics on cold start; this only catches what would make the deployed
 * functions fail on every request (not an object, no policies, no name/unit).
 */
function validateTierTable(tiers: TierTableConfig): void {
  if (typeof tiers !== 'object' || tiers === null || Array.isArray(tiers) || Object.keys(tiers).length === 0) {
    throw new Error('Invalid deployment config: rateLimit.tiers must be a non-empty object of tier name to { policies: [...] }');
  }
  for (const [tier, definition] of Object.entries(tiers)) {
    if (!Array.isArray(definition?.policies) || definition.policies.length === 0) {
      throw new Error(`Invalid deployment config: rateLimit.tiers.${tier}.policies must be a non-empty array`);
    }
    definition.policies.forEach((policy: TierPolicyConfig, index: number) => {
      if (typeof policy?.name !== 'string' || !['requests', 'tokens', 'concurrent'].includes(policy.unit)) {
        throw new Error(
          `Invalid deployment config: rateLimit.tiers.${tier}.policies[${index}] needs a name and a unit of requests, tokens or concurrent`,
        );
      }
    });
  }
}
