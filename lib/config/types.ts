/**
 * The shape of one deployment environment (staging, production, ...).
 *
 * Every value a deployment needs lives in a typed, committed object per environment
 * (lib/config/environments.ts), reviewed like code. The CDK CLI only chooses which one:
 * `cdk synth -c env=staging`. Nothing production relies on can live in an ad-hoc `-c` flag.
 */
import type { FailMode, RouteName } from '../../lambda/contract';
import type { TrafficShift } from '../constructs/safe-deployment';

/**
 * An existing Secrets Manager secret. Give exactly one of `secretName` or `secretCompleteArn`;
 * the complete ARN (with its 6-character suffix) is the more precise choice when it is known.
 */
export interface SecretReferenceConfig {
  readonly secretName?: string;
  readonly secretCompleteArn?: string;
  /** ARN of the customer-managed KMS key that encrypts the secret, if not `aws/secretsmanager`. */
  readonly encryptionKeyArn?: string;
}

/**
 * How the functions authenticate to Redis.
 * - `none`: the cluster has no AUTH token and no RBAC users.
 * - `auth-token`: the token (or `{password, username?}`) is read from a secret at runtime.
 * - `iam`: ElastiCache IAM authentication as `userId` (replication groups, Redis 7+, TLS).
 */
export type RedisAuthConfig =
  | { readonly kind: 'none' }
  | { readonly kind: 'auth-token'; readonly secret: SecretReferenceConfig }
  | { readonly kind: 'iam'; readonly userId: string };

/**
 * How the functions are let into the cluster's security group.
 * - `ingress-rule`: the stack adds exactly one ingress rule (Lambda SG -> Redis SG on the port).
 * - `client-security-group`: the functions also wear an existing "Redis clients" security group
 *   that the cluster's group already trusts, so nothing outside this stack is modified. Use it
 *   when the cluster's group is owned elsewhere (another stack, Terraform).
 */
export type RedisAccessConfig =
  | { readonly kind: 'ingress-rule'; readonly redisSecurityGroupId: string }
  | { readonly kind: 'client-security-group'; readonly clientSecurityGroupId: string };

/**
 * What the cache is, which decides where CloudWatch publishes its metrics.
 * - `standalone-node`: a single cache cluster; metrics are published under its own id.
 * - `replication-group`: metrics are published per member node (`<id>-001`, `<id>-0001-001`, ...),
 *   which cannot be derived from the group id, so the nodes to watch must be listed.
 */
export type CacheTopologyConfig =
  { readonly kind: 'standalone-node' } | { readonly kind: 'replication-group'; readonly monitoredNodeIds: readonly string[] };

/** The existing ElastiCache cluster and the VPC it lives in. Nothing here is created by CDK. */
export interface ElastiCacheConfig {
  /** VPC of the cluster; looked up at synth time and cached in cdk.context.json. */
  readonly vpcId: string;
  /** Cache cluster id (standalone node) or replication group id. */
  readonly clusterId: string;
  readonly topology: CacheTopologyConfig;
  /** Primary endpoint, or the configuration endpoint (`clustercfg.`) when `clusterMode` is true. */
  readonly host: string;
  readonly port: number;
  /** In-transit encryption is enabled on the cluster. */
  readonly tls: boolean;
  /** Cluster mode enabled: `host` is the configuration endpoint. */
  readonly clusterMode: boolean;
  readonly auth: RedisAuthConfig;
  readonly access: RedisAccessConfig;
  /**
   * Which subnets of the looked-up VPC the functions run in. `private-with-egress` are subnets the
   * lookup recorded as `Private`: a NAT gateway route, or the tag `aws-cdk:subnet-type=Private`
   * (NAT instances, firewall endpoints).
   */
  readonly subnetType: 'private-with-egress' | 'private-isolated';
  /** One named subnet group (the `aws-cdk:subnet-name` tag) instead of all subnets of the type. */
  readonly subnetGroupName?: string;
  /** Create a Secrets Manager interface endpoint (for VPCs without a route to the internet). */
  readonly secretsManagerEndpoint: boolean;
  /**
   * `RATE_LIMIT_TIMEOUT_MS` of this variant: in-VPC TCP answers in about a millisecond.
   * @default DEFAULT_TIMEOUT_MS.elasticache of the contract
   */
  readonly backendTimeoutMs?: number;
}

export interface UpstashConfig {
  /** Secret whose SecretString is JSON `{"url": "...", "token": "..."}`. */
  readonly credentialsSecret: SecretReferenceConfig;
  /**
   * `RATE_LIMIT_TIMEOUT_MS` of this variant: REST over the internet needs more headroom.
   * @default DEFAULT_TIMEOUT_MS.upstash of the contract
   */
  readonly backendTimeoutMs?: number;
}

export interface FunctionsConfig {
  readonly memorySizeMb: number;
  readonly timeoutSeconds: number;
  /** Caps concurrent executions, and so open Redis connections, per function. */
  readonly reservedConcurrency: Readonly<Record<RouteName, number>>;
  /**
   * Provisioned concurrency on the `live` alias of the check function (0: none). Keeps that many
   * environments initialised, which hides VPC cold starts on the hot path.
   */
  readonly checkProvisionedConcurrency: number;
  readonly logRetentionDays: number;
}

/** How CodeDeploy shifts traffic to a new version of each function (names in lib/constructs/safe-deployment.ts). */
export type TrafficShiftConfig = TrafficShift;

export interface ApiConfig {
  readonly stageName: string;
  /** Steady-state requests per second for the whole stage. */
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  /** Stricter throttle for the administrative routes. */
  readonly adminThrottlingRateLimit: number;
  readonly adminThrottlingBurstLimit: number;
  /**
   * API Gateway execution logging at ERROR level. Like access logging, it needs the account-level
   * API Gateway CloudWatch Logs role (see the baseline stack).
   */
  readonly executionLogging: boolean;
  /**
   * IAM principal ARNs (wildcards allowed) that may call the administrative routes. When set, the
   * API resource policy denies those routes to every other principal. Required in production.
   */
  readonly adminPrincipalArns?: readonly string[];
  readonly accessLogRetentionDays: number;
}

export interface AlarmsConfig {
  /** Subscribed to the page topic (alarms that need someone now). */
  readonly pageEmail?: string;
  /** Subscribed to the ticket topic (look at it during working hours; business signals). */
  readonly ticketEmail?: string;
}

export interface RateLimitRuntimeConfig {
  readonly failMode: FailMode;
  /**
   * Replaces the library's default tier table (`RATE_LIMIT_TIERS`). Validated at synth with the
   * parser the functions use, so a bad table never reaches a deployment.
   */
  readonly tiers?: unknown;
}

export interface EnvironmentConfig {
  /** Environment name, as given to `-c env=`; part of every stack, API, dashboard and alarm name. */
  readonly name: string;
  readonly account: string;
  readonly region: string;
  /**
   * Production rules: termination protection on the stacks, and admin principals required for the
   * administrative routes.
   */
  readonly production: boolean;
  /** Team that owns the deployment; tagged on every resource. */
  readonly owner: string;
  readonly alarms: AlarmsConfig;
  readonly elastiCache: ElastiCacheConfig;
  readonly upstash: UpstashConfig;
  readonly functions: FunctionsConfig;
  readonly trafficShift: TrafficShiftConfig;
  readonly api: ApiConfig;
  readonly rateLimit: RateLimitRuntimeConfig;
}
