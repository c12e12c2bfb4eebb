/**
 * Invalid combinations are refused when the construct is created, with a
 * message that says what to change, instead of surfacing at deploy time or on
 * the first request.
 */
import type { RouteName } from '../../lambda/contract';
import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AlarmTopic } from '../../lib/constructs/alarm-topic';
import { RateLimitApi } from '../../lib/constructs/rate-limit-api';
import {
  ElastiCacheBackend,
  UpstashBackend,
  type ElastiCacheBackendProps,
  type VpcPlacement,
} from '../../lib/constructs/rate-limit-backend';
import { RateLimitFunction } from '../../lib/constructs/rate-limit-function';
import { RateLimitFunctions } from '../../lib/constructs/rate-limit-functions';
import { RateLimitMonitoring } from '../../lib/constructs/rate-limit-monitoring';
import { RedisNetworkAccess } from '../../lib/constructs/redis-network-access';
import { SafeDeployment } from '../../lib/constructs/safe-deployment';
import { ExistingSecret } from '../../lib/constructs/secret-reference';
import { createTestApp, REPO_ROOT } from '../support/cdk-app';

const ENTRY = path.join(REPO_ROOT, 'lambda', 'handlers', 'status.ts');

function newStack(): Stack {
  return new Stack(createTestApp(), 'Test', { env: { account: '123456789012', region: 'us-east-1' } });
}

function placement(stack: Stack): VpcPlacement {
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-0123456789abcdef0',
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    privateSubnetIds: ['subnet-0123456789abcdef1', 'subnet-0123456789abcdef2'],
  });
  const sg = ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', 'sg-0123456789abcdef0');
  return { vpc, subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, securityGroups: [sg] };
}

function upstash(stack: Stack): UpstashBackend {
  return new UpstashBackend({ credentialsSecret: new ExistingSecret(stack, 'Upstash', { secretName: 'upstash' }) });
}

describe('ElastiCacheBackend', () => {
  const valid = (stack: Stack): ElastiCacheBackendProps => ({
    host: 'huntaze-redis-production.asmyhp.0001.use1.cache.amazonaws.com',
    vpcPlacement: placement(stack),
  });

  test('defaults to port 6379, TLS on, cluster mode off', () => {
    const backend = new ElastiCacheBackend(valid(newStack()));
    expect(backend.environment).toEqual({
      RATE_LIMIT_BACKEND: 'elasticache',
      ELASTICACHE_REDIS_HOST: 'huntaze-redis-production.asmyhp.0001.use1.cache.amazonaws.com',
      ELASTICACHE_REDIS_PORT: '6379',
      ELASTICACHE_REDIS_TLS: 'true',
      ELASTICACHE_REDIS_CLUSTER: 'false',
    });
  });

  test.each<[string, (stack: Stack, base: ElastiCacheBackendProps) => Partial<ElastiCacheBackendProps>, RegExp]>([
    [
      'both AUTH secret and IAM auth',
      (s) => ({ authTokenSecret: new ExistingSecret(s, 'A', { secretName: 'a' }), iamAuth: { userId: 'u', replicationGroupId: 'rg' } }),
      /choose one of authTokenSecret or iamAuth/,
    ],
    [
      'an AUTH secret without TLS',
      (s) => ({ tls: false, authTokenSecret: new ExistingSecret(s, 'A', { secretName: 'a' }) }),
      /require in-transit encryption/,
    ],
    ['IAM auth without TLS', () => ({ tls: false, iamAuth: { userId: 'u', replicationGroupId: 'rg' } }), /require in-transit encryption/],
    [
      'a configuration endpoint without cluster mode',
      () => ({ host: 'clustercfg.rg.asmyhp.use1.cache.amazonaws.com' }),
      /needs a cluster-mode client/,
    ],
    ['a host with a scheme', () => ({ host: 'rediss://host' }), /bare DNS name/],
    ['a host with a port', () => ({ host: 'host:6379' }), /bare DNS name/],
    ['port 0', () => ({ port: 0 }), /port must be an integer between 1 and 65535/],
    ['an invalid IAM user id', () => ({ iamAuth: { userId: '1-bad', replicationGroupId: 'rg' } }), /not a valid ElastiCache user id/],
    ['no security group', (_s, base) => ({ vpcPlacement: { ...base.vpcPlacement, securityGroups: [] } }), /at least one security group/],
  ])('refuses %s', (_case, overrides, message) => {
    const stack = newStack();
    const base = valid(stack);
    expect(() => new ElastiCacheBackend({ ...base, ...overrides(stack, base) })).toThrow(message);
  });
});

describe('ExistingSecret', () => {
  test.each([
    [{}, /exactly one of secretName or secretCompleteArn/],
    [{ secretName: 'a', secretCompleteArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf' }, /exactly one/],
    [{ secretCompleteArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:redis' }, /not a complete secret ARN/],
    [{ secretName: 'has spaces' }, /not a valid secret name/],
    [{ secretName: 'a', encryptionKeyArn: 'alias/aws/secretsmanager' }, /not a KMS key ARN/],
  ])('refuses %j', (ref, message) => {
    expect(() => new ExistingSecret(newStack(), 'S', ref)).toThrow(message);
  });
});

describe('RateLimitFunction', () => {
  test.each<[string, Record<string, unknown>, RegExp]>([
    ['a timeout at or above the API Gateway limit', { timeout: Duration.seconds(29) }, /timeout must be 1-28 s/],
    ['a memory size out of range', { memorySize: 64 }, /memorySize must be an integer between 128 and 10240/],
    ['a reserved concurrency of 0', { reservedConcurrentExecutions: 0 }, /reservedConcurrentExecutions must be an integer >= 1/],
    [
      'a credential in the environment',
      { environment: { UPSTASH_REDIS_REST_TOKEN: 'AXxx' } },
      /looks like a secret; pass a Secrets Manager ARN/,
    ],
    [
      'more provisioned than reserved concurrency',
      { reservedConcurrentExecutions: 5, provisionedConcurrency: 6 },
      /provisionedConcurrency must be an integer from 0 to the reserved concurrency \(5\)/,
    ],
  ])('refuses %s', (_case, overrides, message) => {
    expect(() => new RateLimitFunction(newStack(), 'Fn', { entry: ENTRY, description: 'test', environment: {}, ...overrides })).toThrow(
      message,
    );
  });
});

describe('RateLimitFunctions', () => {
  test('refuses a backend deadline that leaves no headroom in the function timeout', () => {
    const stack = newStack();
    expect(
      () =>
        new RateLimitFunctions(stack, 'Fns', {
          backend: upstash(stack),
          timeout: Duration.seconds(2),
          backendTimeout: Duration.millis(1500),
        }),
    ).toThrow(/must leave at least 1 s of the function timeout/);
  });

  test('refuses a tier table that would overflow the 4 KB Lambda environment', () => {
    const stack = newStack();
    const tiers: Record<string, unknown> = {};
    for (let i = 0; i < 60; i++)
      tiers[`tier-${i}`] = { policies: [{ name: 'requests-per-hour', unit: 'requests', limit: 100, windowSeconds: 3600 }] };
    expect(() => new RateLimitFunctions(stack, 'Fns', { backend: upstash(stack), tiers })).toThrow(
      /Lambda environments are limited to 4 KB/,
    );
  });
});

describe('RedisNetworkAccess', () => {
  test('refuses public subnets', () => {
    const stack = newStack();
    const { vpc } = placement(stack);
    expect(
      () =>
        new RedisNetworkAccess(stack, 'Net', {
          vpc,
          redisSecurityGroupId: 'sg-0123456789abcdef0',
          subnets: { subnetType: ec2.SubnetType.PUBLIC },
        }),
    ).toThrow(/cannot use public subnets/);
  });

  test('needs exactly one of an ingress rule or a clients security group', () => {
    const stack = newStack();
    const { vpc } = placement(stack);
    const message = /give exactly one of redisSecurityGroupId \(add an ingress rule\) or clientSecurityGroupId/;
    expect(() => new RedisNetworkAccess(stack, 'Net1', { vpc })).toThrow(message);
    expect(
      () =>
        new RedisNetworkAccess(stack, 'Net2', {
          vpc,
          redisSecurityGroupId: 'sg-0123456789abcdef0',
          clientSecurityGroupId: 'sg-0123456789abcdef1',
        }),
    ).toThrow(message);
  });

  test('refuses a malformed security group id', () => {
    const stack = newStack();
    expect(() => new RedisNetworkAccess(stack, 'Net', { vpc: placement(stack).vpc, redisSecurityGroupId: 'redis-sg' })).toThrow(
      /is not a security group id/,
    );
  });
});

describe('RateLimitApi', () => {
  const functions = (stack: Stack): Record<RouteName, lambda.IFunction> => {
    const fn = lambda.Function.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:us-east-1:123456789012:function:f');
    return { check: fn, settle: fn, status: fn, reset: fn, setOverride: fn, getOverride: fn, removeOverride: fn };
  };

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['a stage name with dashes', { stageName: 'prod-1' }, /may only contain letters, digits and underscores/],
    [
      'an administrative throttle looser than the stage',
      { administrativeThrottling: { rateLimit: 1000, burstLimit: 10 } },
      /must not be looser/,
    ],
    ['an empty principal list', { administrativePrincipalArns: [] }, /at least one principal/],
    ['a principal that is not an IAM ARN', { administrativePrincipalArns: ['platform-admin'] }, /is not an IAM principal ARN/],
  ])('refuses %s', (_case, overrides, message) => {
    const stack = newStack();
    expect(() => new RateLimitApi(stack, 'Api', { restApiName: 'api', functions: functions(stack), ...overrides })).toThrow(message);
  });
});

describe('RateLimitMonitoring and AlarmTopic', () => {
  test('refuse missing or duplicate tiers, too many cache nodes for an alarm, and malformed e-mail', () => {
    const stack = newStack();
    const fn = lambda.Function.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:us-east-1:123456789012:function:f');
    const api = new RateLimitApi(stack, 'Api', {
      restApiName: 'api',
      functions: { check: fn, settle: fn, status: fn, reset: fn, setOverride: fn, getOverride: fn, removeOverride: fn },
    });
    const base = {
      namePrefix: 'd',
      functions: { check: fn },
      apiName: 'api',
      stageName: api.stageName,
      customMetrics: { namespace: 'CreatorRateLimit', serviceName: 'creator-rate-limit', tierNames: ['pro'] },
    };
    expect(() => new RateLimitMonitoring(stack, 'M1', { ...base, customMetrics: { ...base.customMetrics, tierNames: [] } })).toThrow(
      /at least one tier name/,
    );
    const nodes = Array.from({ length: 11 }, (_, i) => `node-${i}`);
    expect(() => new RateLimitMonitoring(stack, 'M5', { ...base, cacheCluster: { cacheClusterIds: nodes } })).toThrow(
      /between 1 and 10 cacheClusterIds/,
    );
    expect(
      () => new RateLimitMonitoring(stack, 'M2', { ...base, customMetrics: { ...base.customMetrics, tierNames: ['pro', 'pro'] } }),
    ).toThrow(/tier names must be unique/);
    expect(() => new RateLimitMonitoring(stack, 'M3', { ...base, cacheCluster: { cacheClusterIds: [] } })).toThrow(
      /between 1 and 10 cacheClusterIds/,
    );
    expect(() => new RateLimitMonitoring(stack, 'M4', { ...base, namePrefix: 'has spaces' })).toThrow(
      /namePrefix "has spaces" may only contain/,
    );
    expect(() => new AlarmTopic(stack, 'Topic', { email: 'oncall' })).toThrow(/is not an e-mail address/);
  });
});

describe('SafeDeployment', () => {
  test('refuses a function without a rollback alarm, and an unknown traffic shift', () => {
    const stack = newStack();
    const fn = new RateLimitFunction(stack, 'Fn', { entry: ENTRY, description: 'test', environment: {} });
    expect(
      () => new SafeDeployment(stack, 'D1', { aliases: { status: fn.alias }, rollbackAlarms: {}, trafficShift: 'all-at-once' }),
    ).toThrow(/function "status" has no rollback alarm/);
    const alarm = new cloudwatch.Alarm(stack, 'Alarm', { metric: fn.alias.metricErrors(), threshold: 1, evaluationPeriods: 1 });
    expect(
      () =>
        new SafeDeployment(stack, 'D2', {
          aliases: { status: fn.alias },
          rollbackAlarms: { status: [alarm] },
          trafficShift: 'yolo' as never,
        }),
    ).toThrow(/unknown trafficShift "yolo"/);
  });
});
