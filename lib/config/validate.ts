/**
 * Synth-time validation of an environment's configuration. Every message names the field, so a
 * bad value stops `cdk synth` with something to fix instead of failing a deploy (or, worse,
 * answering every request with a 500 after a successful one).
 */
import * as logs from 'aws-cdk-lib/aws-logs';
import { FAIL_MODES, MAX_TIMEOUT_MS, ROUTE_NAMES, parseTierTable } from '../../lambda/contract';
import { TRAFFIC_SHIFT_CONFIGS } from '../constructs/safe-deployment';
import { backendTimeoutMs } from './naming';
import type { EnvironmentConfig, SecretReferenceConfig, TrafficShiftConfig } from './types';

/** Alarms on metric math reference at most 10 metrics; each monitored node is one. */
export const MAX_MONITORED_NODES = 10;

export const TRAFFIC_SHIFTS = Object.keys(TRAFFIC_SHIFT_CONFIGS) as TrafficShiftConfig[];

const ID_17 = '([0-9a-f]{8}|[0-9a-f]{17})';
const CACHE_ID = /^[a-z][a-z0-9-]{0,39}$/;
const ELASTICACHE_USER_ID = /^[a-zA-Z][a-zA-Z0-9-]{0,39}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):.+/;

export class ConfigurationError extends Error {
  constructor(environment: string, field: string, problem: string) {
    super(`Invalid configuration of environment "${environment}": ${field} ${problem}`);
    this.name = 'ConfigurationError';
  }
}

/** Throws a ConfigurationError naming the first invalid field. */
export function validateEnvironmentConfig(config: EnvironmentConfig): void {
  const env = typeof config.name === 'string' && config.name !== '' ? config.name : '(unnamed)';
  const fail = (field: string, problem: string): never => {
    throw new ConfigurationError(env, field, problem);
  };
  const required = (field: string, value: unknown): void => {
    if (value === undefined || value === null || value === '') fail(field, 'is missing');
  };
  const integerIn = (field: string, value: number, min: number, max: number): void => {
    required(field, value);
    if (!Number.isInteger(value) || value < min || value > max)
      fail(field, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  };
  const secret = (field: string, ref: SecretReferenceConfig | undefined): void => {
    required(field, ref);
    const hasName = !!ref!.secretName;
    const hasArn = !!ref!.secretCompleteArn;
    if (hasName === hasArn) fail(field, 'must give exactly one of secretName or secretCompleteArn');
    if (hasName && !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(ref!.secretName!))
      fail(`${field}.secretName`, `"${ref!.secretName}" is not a valid secret name`);
    if (hasArn && !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(ref!.secretCompleteArn!)) {
      fail(`${field}.secretCompleteArn`, `"${ref!.secretCompleteArn}" is not a complete secret ARN (ending in -<6 characters>)`);
    }
    if (ref!.encryptionKeyArn !== undefined && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/.test(ref!.encryptionKeyArn)) {
      fail(`${field}.encryptionKeyArn`, `"${ref!.encryptionKeyArn}" is not a KMS key ARN`);
    }
  };
  const retention = (field: string, days: number): void => {
    required(field, days);
    // RetentionDays is a numeric enum: its values are the day counts CloudWatch Logs accepts.
    const allowed = Object.values(logs.RetentionDays)
      .map(Number)
      .filter((value) => Number.isInteger(value) && value > 0);
    if (!allowed.includes(Number(days))) fail(field, `must be one of ${allowed.join(', ')}, got ${String(days)}`);
  };

  if (!/^[a-z][a-z0-9-]{1,19}$/.test(String(config.name)))
    fail('name', 'must be 2-20 lower-case letters, digits or "-", starting with a letter');
  if (!/^\d{12}$/.test(String(config.account))) fail('account', `must be a 12-digit AWS account id, got "${String(config.account)}"`);
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(String(config.region))) fail('region', `"${String(config.region)}" is not an AWS region name`);
  if (typeof config.production !== 'boolean') fail('production', 'must be true or false');
  required('owner', config.owner);
  required('alarms', config.alarms);
  for (const key of ['pageEmail', 'ticketEmail'] as const) {
    const email = config.alarms[key];
    if (email !== undefined && !EMAIL.test(email)) fail(`alarms.${key}`, `"${email}" is not an e-mail address`);
  }

  const functions = config.functions;
  required('functions', functions);
  integerIn('functions.memorySizeMb', functions.memorySizeMb, 128, 10240);
  // Below the 29 s API Gateway integration timeout, so the function always answers first.
  integerIn('functions.timeoutSeconds', functions.timeoutSeconds, 1, 28);
  required('functions.reservedConcurrency', functions.reservedConcurrency);
  for (const route of ROUTE_NAMES) integerIn(`functions.reservedConcurrency.${route}`, functions.reservedConcurrency[route], 1, 10000);
  for (const route of Object.keys(functions.reservedConcurrency)) {
    if (!(ROUTE_NAMES as readonly string[]).includes(route))
      fail(`functions.reservedConcurrency.${route}`, `is not a function (known: ${ROUTE_NAMES.join(', ')})`);
  }
  // Provisioned environments count against the function's reserved concurrency.
  integerIn('functions.checkProvisionedConcurrency', functions.checkProvisionedConcurrency, 0, functions.reservedConcurrency.check);
  retention('functions.logRetentionDays', functions.logRetentionDays);
  if (!TRAFFIC_SHIFTS.includes(config.trafficShift))
    fail('trafficShift', `must be one of ${TRAFFIC_SHIFTS.join(', ')}, got "${String(config.trafficShift)}"`);

  const ec = config.elastiCache;
  required('elastiCache', ec);
  if (!new RegExp(`^vpc-${ID_17}$`).test(String(ec.vpcId)))
    fail('elastiCache.vpcId', `"${String(ec.vpcId)}" is not a VPC id (vpc-<8 or 17 hex>)`);
  if (!CACHE_ID.test(String(ec.clusterId)))
    fail('elastiCache.clusterId', `"${String(ec.clusterId)}" is not an ElastiCache cluster or replication group id`);
  if (typeof ec.host !== 'string' || ec.host === '' || /[:/\s]/.test(ec.host))
    fail('elastiCache.host', `must be a bare DNS name (no scheme, port or path), got "${String(ec.host)}"`);
  integerIn('elastiCache.port', ec.port, 1, 65535);
  if (typeof ec.tls !== 'boolean') fail('elastiCache.tls', 'must be true or false');
  if (typeof ec.clusterMode !== 'boolean') fail('elastiCache.clusterMode', 'must be true or false');
  if (ec.host.startsWith('clustercfg.') !== ec.clusterMode) {
    fail(
      'elastiCache.clusterMode',
      ec.clusterMode
        ? 'is true but host is not a configuration endpoint (clustercfg.…)'
        : `is false but ${ec.host} is a configuration endpoint`,
    );
  }
  required('elastiCache.topology', ec.topology);
  if (ec.topology.kind === 'replication-group') {
    const nodes = ec.topology.monitoredNodeIds;
    if (!Array.isArray(nodes) || nodes.length === 0 || nodes.length > MAX_MONITORED_NODES) {
      fail(
        'elastiCache.topology.monitoredNodeIds',
        `must list 1 to ${MAX_MONITORED_NODES} member node ids (e.g. ${ec.clusterId}-001 or ${ec.clusterId}-0001-001): CloudWatch publishes cache metrics per node, never under the group id`,
      );
    }
    for (const node of nodes as readonly unknown[]) {
      if (typeof node !== 'string' || !CACHE_ID.test(node))
        fail('elastiCache.topology.monitoredNodeIds', `has ${JSON.stringify(node)}, which is not a cache node id`);
    }
  } else if (ec.topology.kind !== 'standalone-node') {
    fail('elastiCache.topology.kind', 'must be "standalone-node" or "replication-group"');
  } else if (ec.clusterMode) {
    fail('elastiCache.topology', 'must be a replication-group (listing its member nodes) when clusterMode is true');
  }
  required('elastiCache.auth', ec.auth);
  switch (ec.auth.kind) {
    case 'none':
      break;
    case 'auth-token':
      secret('elastiCache.auth.secret', ec.auth.secret);
      if (!ec.tls)
        fail('elastiCache.auth', 'auth-token needs in-transit encryption (elastiCache.tls: true); ElastiCache refuses AUTH without TLS');
      break;
    case 'iam':
      if (!ELASTICACHE_USER_ID.test(String(ec.auth.userId)))
        fail('elastiCache.auth.userId', `"${String(ec.auth.userId)}" is not an ElastiCache user id`);
      if (!ec.tls) fail('elastiCache.auth', 'iam needs in-transit encryption (elastiCache.tls: true)');
      if (ec.topology.kind !== 'replication-group')
        fail(
          'elastiCache.auth',
          'iam needs a replication group (elastiCache.topology.kind: "replication-group"); standalone nodes have no user groups',
        );
      break;
    default:
      fail('elastiCache.auth.kind', 'must be "none", "auth-token" or "iam"');
  }
  required('elastiCache.access', ec.access);
  if (ec.access.kind === 'ingress-rule') {
    if (!new RegExp(`^sg-${ID_17}$`).test(String(ec.access.redisSecurityGroupId))) {
      fail(
        'elastiCache.access.redisSecurityGroupId',
        `"${String(ec.access.redisSecurityGroupId)}" is not a security group id (sg-<8 or 17 hex>)`,
      );
    }
  } else if (ec.access.kind === 'client-security-group') {
    if (!new RegExp(`^sg-${ID_17}$`).test(String(ec.access.clientSecurityGroupId))) {
      fail(
        'elastiCache.access.clientSecurityGroupId',
        `"${String(ec.access.clientSecurityGroupId)}" is not a security group id (sg-<8 or 17 hex>)`,
      );
    }
  } else {
    fail('elastiCache.access.kind', 'must be "ingress-rule" or "client-security-group"');
  }
  if (ec.subnetType !== 'private-with-egress' && ec.subnetType !== 'private-isolated') {
    fail('elastiCache.subnetType', `must be "private-with-egress" or "private-isolated", got "${String(ec.subnetType)}"`);
  }
  if (ec.subnetGroupName !== undefined && ec.subnetGroupName.trim() === '')
    fail('elastiCache.subnetGroupName', 'must not be empty (omit it to use every subnet of the type)');
  if (typeof ec.secretsManagerEndpoint !== 'boolean') fail('elastiCache.secretsManagerEndpoint', 'must be true or false');

  required('upstash', config.upstash);
  secret('upstash.credentialsSecret', config.upstash.credentialsSecret);

  // A cold start reads the secret and connects before the first backend call; leave a second of
  // the function timeout so the function answers (503 or fail-open) instead of being killed.
  for (const variant of ['elastiCache', 'upstash'] as const) {
    const field = `${variant}.backendTimeoutMs`;
    const ms = backendTimeoutMs(config, variant === 'elastiCache' ? 'elasticache' : 'upstash');
    integerIn(field, ms, 10, MAX_TIMEOUT_MS);
    if (ms > functions.timeoutSeconds * 1000 - 1000) {
      fail(field, `(${ms} ms) must leave at least 1 s of functions.timeoutSeconds (${functions.timeoutSeconds} s)`);
    }
  }

  const api = config.api;
  required('api', api);
  if (!/^[A-Za-z0-9_]{1,128}$/.test(String(api.stageName)))
    fail('api.stageName', `"${String(api.stageName)}" may only contain letters, digits and underscores`);
  for (const [field, value] of [
    ['api.throttlingRateLimit', api.throttlingRateLimit],
    ['api.adminThrottlingRateLimit', api.adminThrottlingRateLimit],
  ] as const) {
    if (typeof value !== 'number' || !(value > 0)) fail(field, `must be a number above 0, got ${String(value)}`);
  }
  integerIn('api.throttlingBurstLimit', api.throttlingBurstLimit, 1, 5000);
  integerIn('api.adminThrottlingBurstLimit', api.adminThrottlingBurstLimit, 1, api.throttlingBurstLimit);
  if (api.adminThrottlingRateLimit > api.throttlingRateLimit)
    fail('api.adminThrottlingRateLimit', 'must not be looser than api.throttlingRateLimit');
  if (typeof api.executionLogging !== 'boolean') fail('api.executionLogging', 'must be true or false');
  retention('api.accessLogRetentionDays', api.accessLogRetentionDays);
  if (api.adminPrincipalArns !== undefined) {
    if (api.adminPrincipalArns.length === 0)
      fail('api.adminPrincipalArns', 'must list at least one principal ARN (omit it outside production to rely on IAM policies)');
    for (const arn of api.adminPrincipalArns)
      if (!PRINCIPAL_ARN.test(arn)) fail('api.adminPrincipalArns', `has "${arn}", which is not an IAM principal ARN`);
  }
  if (config.production && (api.adminPrincipalArns === undefined || api.adminPrincipalArns.length === 0)) {
    fail('api.adminPrincipalArns', 'is required in production: name the admin principals allowed to reset creators and change overrides');
  }

  required('rateLimit', config.rateLimit);
  if (!(FAIL_MODES as readonly string[]).includes(config.rateLimit.failMode)) {
    fail('rateLimit.failMode', `must be one of ${FAIL_MODES.join(', ')}, got "${String(config.rateLimit.failMode)}"`);
  }
  if (config.rateLimit.tiers !== undefined) {
    // The very parser the functions run on RATE_LIMIT_TIERS at cold start.
    try {
      parseTierTable(config.rateLimit.tiers, 'rateLimit.tiers');
    } catch (error) {
      throw new ConfigurationError(env, 'rateLimit.tiers', `is invalid: ${(error as Error).message}`);
    }
  }
}
