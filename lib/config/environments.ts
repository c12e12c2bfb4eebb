/**
 * The committed configuration of every deployment environment. `-c env=NAME` picks one.
 *
 * Values marked PLACEHOLDER are not known in this repository. They have the real format (so the
 * template validates and the committed cdk.context.json lookups match them) but must be replaced
 * before the first real deploy: docs/deployment.md says where to find each one and how to refresh
 * cdk.context.json afterwards.
 */
import type { EnvironmentConfig } from './types';

export const STAGING: EnvironmentConfig = {
  name: 'staging',
  account: '234567890123', // PLACEHOLDER: the staging account id
  region: 'us-east-1',
  production: false,
  owner: 'platform-team',
  alarms: {
    pageEmail: 'platform-alerts-staging@example.com', // PLACEHOLDER
    ticketEmail: 'platform-tickets@example.com', // PLACEHOLDER
  },
  elastiCache: {
    vpcId: 'vpc-0b2c3d4e5f6a78901', // PLACEHOLDER: VPC of the staging cluster
    clusterId: 'huntaze-redis-staging', // PLACEHOLDER
    topology: { kind: 'standalone-node' },
    host: 'huntaze-redis-staging.asmyhp.0001.use1.cache.amazonaws.com', // PLACEHOLDER
    port: 6379,
    tls: true,
    clusterMode: false,
    auth: { kind: 'auth-token', secret: { secretName: 'huntaze/redis-staging/auth-token' } }, // PLACEHOLDER
    access: { kind: 'ingress-rule', redisSecurityGroupId: 'sg-0a1b2c3d4e5f60718' }, // PLACEHOLDER
    subnetType: 'private-with-egress',
    secretsManagerEndpoint: false,
  },
  upstash: {
    credentialsSecret: { secretName: 'huntaze/rate-limit-staging/upstash' }, // PLACEHOLDER
  },
  functions: {
    memorySizeMb: 256,
    timeoutSeconds: 5,
    reservedConcurrency: { check: 20, settle: 20, status: 10, reset: 2, setOverride: 1, getOverride: 1, removeOverride: 1 },
    checkProvisionedConcurrency: 0,
    logRetentionDays: 14,
  },
  // Staging takes every change first; a short canary keeps the pipeline quick.
  trafficShift: 'canary-10-percent-5-minutes',
  api: {
    stageName: 'staging',
    throttlingRateLimit: 100,
    throttlingBurstLimit: 200,
    adminThrottlingRateLimit: 5,
    adminThrottlingBurstLimit: 10,
    executionLogging: false,
    accessLogRetentionDays: 30,
  },
  rateLimit: {
    failMode: 'closed',
  },
};

export const PRODUCTION: EnvironmentConfig = {
  name: 'production',
  account: '123456789012', // PLACEHOLDER: the production account id
  region: 'us-east-1',
  production: true,
  owner: 'platform-team',
  alarms: {
    pageEmail: 'platform-oncall@example.com', // PLACEHOLDER: the pager's e-mail integration
    ticketEmail: 'platform-tickets@example.com', // PLACEHOLDER
  },
  elastiCache: {
    vpcId: 'vpc-0a1b2c3d4e5f67890', // PLACEHOLDER: VPC of huntaze-redis-production
    clusterId: 'huntaze-redis-production',
    // The endpoint (no `-001` node suffix, no `master.`/`clustercfg.` prefix) is a standalone
    // node's. VERIFY with `aws elasticache describe-cache-clusters --show-cache-node-info`.
    topology: { kind: 'standalone-node' },
    host: 'huntaze-redis-production.asmyhp.0001.use1.cache.amazonaws.com',
    port: 6379,
    tls: true, // VERIFY: TransitEncryptionEnabled of the cluster
    clusterMode: false,
    auth: { kind: 'auth-token', secret: { secretName: 'huntaze/redis-production/auth-token' } }, // PLACEHOLDER / VERIFY: AuthTokenEnabled
    access: { kind: 'ingress-rule', redisSecurityGroupId: 'sg-0f1e2d3c4b5a69788' }, // PLACEHOLDER: security group of the cluster
    subnetType: 'private-with-egress',
    secretsManagerEndpoint: false,
  },
  upstash: {
    credentialsSecret: { secretName: 'huntaze/rate-limit/upstash' }, // PLACEHOLDER
  },
  functions: {
    memorySizeMb: 256,
    timeoutSeconds: 5,
    reservedConcurrency: { check: 50, settle: 50, status: 20, reset: 5, setOverride: 2, getOverride: 2, removeOverride: 2 },
    // Check is the hot path of every AI request; keep a few VPC environments warm.
    checkProvisionedConcurrency: 5,
    logRetentionDays: 30,
  },
  trafficShift: 'canary-10-percent-10-minutes',
  api: {
    stageName: 'prod',
    throttlingRateLimit: 500,
    throttlingBurstLimit: 1000,
    adminThrottlingRateLimit: 5,
    adminThrottlingBurstLimit: 10,
    executionLogging: false,
    adminPrincipalArns: ['arn:aws:iam::123456789012:role/platform-admin'], // PLACEHOLDER: the admin role(s)
    accessLogRetentionDays: 90,
  },
  rateLimit: {
    failMode: 'closed',
  },
};

/** Every environment `-c env=NAME` can select, by name. */
export const ENVIRONMENTS: Readonly<Record<string, EnvironmentConfig>> = Object.freeze({
  [STAGING.name]: STAGING,
  [PRODUCTION.name]: PRODUCTION,
});
