/**
 * Typed per-environment configuration: `-c env=NAME` selects a committed environment, and every
 * invalid value stops synthesis with a message naming the field.
 */
import { DEFAULT_TIMEOUT_MS, parseTierTable } from '../../lambda/contract';
import {
  ENVIRONMENTS,
  PRODUCTION,
  STAGING,
  backendTimeoutMs,
  environmentTags,
  metricsNamespace,
  resourceName,
  selectEnvironment,
  serviceName,
  stackName,
  validateEnvironmentConfig,
  type EnvironmentConfig,
} from '../../lib/config';
import { withChanges } from '../support/cdk-app';

function select(context: Record<string, unknown>): EnvironmentConfig {
  return selectEnvironment({ tryGetContext: (key: string) => context[key] });
}

describe('committed environments', () => {
  test('staging and production exist and are valid', () => {
    expect(Object.keys(ENVIRONMENTS).sort()).toEqual(['production', 'staging']);
    for (const config of Object.values(ENVIRONMENTS)) expect(() => validateEnvironmentConfig(config)).not.toThrow();
  });

  test('production names the existing cluster and is protected', () => {
    expect(PRODUCTION.production).toBe(true);
    expect(PRODUCTION.region).toBe('us-east-1');
    expect(PRODUCTION.elastiCache).toMatchObject({
      clusterId: 'huntaze-redis-production',
      host: 'huntaze-redis-production.asmyhp.0001.use1.cache.amazonaws.com',
      port: 6379,
      clusterMode: false,
    });
    expect(PRODUCTION.api.adminPrincipalArns?.length).toBeGreaterThan(0);
    expect(STAGING.production).toBe(false);
  });

  test('-c env=NAME selects the environment of that name', () => {
    expect(select({ env: 'staging' })).toBe(STAGING);
    expect(select({ env: 'production' })).toBe(PRODUCTION);
  });

  test('a missing or unknown environment is refused, listing the known ones', () => {
    expect(() => select({})).toThrow('No environment selected: pass -c env=NAME (one of staging, production)');
    expect(() => select({ env: 'prod' })).toThrow('Unknown environment "prod" in -c env: choose one of staging, production');
  });

  test('the environment is validated when selected', () => {
    const broken = withChanges(STAGING, { account: '42' });
    expect(() => selectEnvironment({ tryGetContext: () => 'staging' }, { staging: broken })).toThrow(
      'Invalid configuration of environment "staging": account must be a 12-digit AWS account id, got "42"',
    );
  });
});

describe('names carry the environment and the variant', () => {
  test.each([
    [STAGING, 'elasticache', 'CreatorRateLimit-staging-ElastiCache', 'creator-rate-limit-elasticache-staging'],
    [STAGING, 'upstash', 'CreatorRateLimit-staging-Upstash', 'creator-rate-limit-upstash-staging'],
    [PRODUCTION, 'elasticache', 'CreatorRateLimit-production-ElastiCache', 'creator-rate-limit-elasticache-production'],
    [PRODUCTION, 'upstash', 'CreatorRateLimit-production-Upstash', 'creator-rate-limit-upstash-production'],
  ] as const)('%#: %s', (config, variant, stack, resource) => {
    expect(stackName(config, variant)).toBe(stack);
    expect(resourceName(config, variant)).toBe(resource);
  });

  test('metrics are separated per variant (service) and per environment (namespace)', () => {
    expect(serviceName('elasticache')).toBe('creator-rate-limit-elasticache');
    expect(serviceName('upstash')).toBe('creator-rate-limit-upstash');
    expect(metricsNamespace(STAGING)).toBe('CreatorRateLimit/staging');
    expect(metricsNamespace(PRODUCTION)).toBe('CreatorRateLimit/production');
  });

  test('tags name the environment, service and owner', () => {
    expect(environmentTags(PRODUCTION)).toMatchObject({
      Environment: 'production',
      Service: 'creator-rate-limit',
      Owner: PRODUCTION.owner,
    });
  });

  test('each variant gets the library default deadline of its backend unless configured', () => {
    expect(backendTimeoutMs(PRODUCTION, 'elasticache')).toBe(DEFAULT_TIMEOUT_MS.elasticache);
    expect(backendTimeoutMs(PRODUCTION, 'upstash')).toBe(DEFAULT_TIMEOUT_MS.upstash);
    expect(backendTimeoutMs(withChanges(PRODUCTION, { upstash: { backendTimeoutMs: 900 } }), 'upstash')).toBe(900);
  });
});

describe('validation names the field', () => {
  const invalid: Array<[string, EnvironmentConfig, string]> = [
    ['empty owner', withChanges(STAGING, { owner: '' }), 'owner is missing'],
    ['bad VPC id', withChanges(STAGING, { elastiCache: { vpcId: 'vpc-123' } }), 'elastiCache.vpcId "vpc-123" is not a VPC id'],
    [
      'bad security group',
      withChanges(STAGING, { elastiCache: { access: { kind: 'ingress-rule', redisSecurityGroupId: 'sg-xyz' } } }),
      'elastiCache.access.redisSecurityGroupId "sg-xyz" is not a security group id',
    ],
    [
      'bad clients security group',
      withChanges(STAGING, { elastiCache: { access: { kind: 'client-security-group', clientSecurityGroupId: 'nope' } } }),
      'elastiCache.access.clientSecurityGroupId "nope" is not a security group id',
    ],
    [
      'replication group without node ids',
      withChanges(STAGING, { elastiCache: { topology: { kind: 'replication-group', monitoredNodeIds: [] } } }),
      'elastiCache.topology.monitoredNodeIds must list 1 to 10 member node ids',
    ],
    [
      'cluster mode on a standalone node',
      withChanges(STAGING, { elastiCache: { clusterMode: true, host: 'clustercfg.huntaze.asmyhp.use1.cache.amazonaws.com' } }),
      'elastiCache.topology must be a replication-group',
    ],
    [
      'IAM auth on a standalone node',
      withChanges(STAGING, { elastiCache: { auth: { kind: 'iam', userId: 'rate-limiter' } } }),
      'elastiCache.auth iam needs a replication group',
    ],
    ['AUTH without TLS', withChanges(STAGING, { elastiCache: { tls: false } }), 'elastiCache.auth auth-token needs in-transit encryption'],
    [
      'secret with name and ARN',
      withChanges(STAGING, {
        upstash: {
          credentialsSecret: { secretName: 'a', secretCompleteArn: 'arn:aws:secretsmanager:us-east-1:234567890123:secret:a-AbCdEf' },
        },
      }),
      'upstash.credentialsSecret must give exactly one of secretName or secretCompleteArn',
    ],
    [
      'backend deadline above the function timeout',
      withChanges(STAGING, { upstash: { backendTimeoutMs: 4500 } }),
      'upstash.backendTimeoutMs (4500 ms) must leave at least 1 s',
    ],
    [
      'function timeout over 28 s',
      withChanges(STAGING, { functions: { timeoutSeconds: 29 } }),
      'functions.timeoutSeconds must be an integer from 1 to 28',
    ],
    [
      'provisioned above reserved concurrency',
      withChanges(STAGING, { functions: { checkProvisionedConcurrency: 21 } }),
      'functions.checkProvisionedConcurrency must be an integer from 0 to 20, got 21',
    ],
    [
      'a missing reserved concurrency',
      withChanges(STAGING, { functions: { reservedConcurrency: { check: 1, settle: 1, status: 1 } as never } }),
      'functions.reservedConcurrency.reset is missing',
    ],
    [
      'log retention CloudWatch refuses',
      withChanges(STAGING, { functions: { logRetentionDays: 10 } }),
      'functions.logRetentionDays must be one of 1, 3, 5, 7, 14',
    ],
    [
      'unknown traffic shift',
      withChanges(STAGING, { trafficShift: 'yolo' as never }),
      'trafficShift must be one of canary-10-percent-5-minutes',
    ],
    ['stage name with a dash', withChanges(STAGING, { api: { stageName: 'pre-prod' } }), 'api.stageName "pre-prod" may only contain'],
    [
      'admin throttle looser than the stage',
      withChanges(STAGING, { api: { adminThrottlingRateLimit: 1000 } }),
      'api.adminThrottlingRateLimit must not be looser',
    ],
    [
      'bad admin principal',
      withChanges(STAGING, { api: { adminPrincipalArns: ['platform-admin'] } }),
      'api.adminPrincipalArns has "platform-admin"',
    ],
    [
      'production without admins',
      withChanges(PRODUCTION, { api: { adminPrincipalArns: undefined } }),
      'api.adminPrincipalArns is required in production',
    ],
    ['bad alarm e-mail', withChanges(STAGING, { alarms: { pageEmail: 'oncall' } }), 'alarms.pageEmail "oncall" is not an e-mail address'],
    [
      'unknown fail mode',
      withChanges(STAGING, { rateLimit: { failMode: 'sometimes' as never } }),
      'rateLimit.failMode must be one of closed, open',
    ],
  ];
  test.each(invalid)('%s', (_name, config, message) => {
    expect(() => validateEnvironmentConfig(config)).toThrow(message);
  });

  test('every message says which environment', () => {
    expect(() => validateEnvironmentConfig(withChanges(PRODUCTION, { region: 'mars' }))).toThrow(
      'Invalid configuration of environment "production": region "mars" is not an AWS region name',
    );
  });
});

describe('the tier table is validated at synth with the parser the functions use', () => {
  const tiers = (table: unknown): EnvironmentConfig => withChanges(STAGING, { rateLimit: { tiers: table } });
  const cases: unknown[] = [
    { gold: { policies: [{ name: 'rph', unit: 'requests', limit: 10, windowSeconds: 0 }] } },
    { gold: { policies: [{ name: 'rph', unit: 'gallons', limit: 10, windowSeconds: 60 }] } },
    { gold: { policies: [] } },
    {},
    [],
  ];
  test.each(cases)('a table the parser refuses is refused, with the parser message: %j', (table) => {
    let parserMessage = '';
    try {
      parseTierTable(table, 'rateLimit.tiers');
    } catch (error) {
      parserMessage = (error as Error).message;
    }
    expect(parserMessage).not.toBe('');
    expect(() => validateEnvironmentConfig(tiers(table))).toThrow(`rateLimit.tiers is invalid: ${parserMessage}`);
  });

  test('a table the parser accepts is accepted', () => {
    expect(() =>
      validateEnvironmentConfig(tiers({ gold: { policies: [{ name: 'rph', unit: 'requests', limit: 10, windowSeconds: 60 }] } })),
    ).not.toThrow();
  });
});
