import {
  CONTEXT_KEYS,
  DEFAULT_DEPLOYMENT_CONFIG as CONFIG,
  loadDeploymentConfig,
  monitoredTierNames,
  validateDeploymentConfig,
  type DeploymentConfig,
} from '../../lib/config';

function load(context: Record<string, unknown>): DeploymentConfig {
  return loadDeploymentConfig({ tryGetContext: (key: string) => context[key] });
}

describe('default deployment config', () => {
  test('is valid and names the existing cluster', () => {
    expect(() => validateDeploymentConfig(CONFIG)).not.toThrow();
    expect(CONFIG.region).toBe('us-east-1');
    expect(CONFIG.elastiCache).toMatchObject({
      clusterId: 'huntaze-redis-production',
      host: 'huntaze-redis-production.asmyhp.0001.use1.cache.amazonaws.com',
      port: 6379,
      clusterMode: false,
    });
  });

  test('loading without context returns the defaults unchanged', () => {
    expect(load({})).toEqual(CONFIG);
  });

  test('monitors the library default tiers unless a tier table is configured', () => {
    expect(monitoredTierNames(CONFIG.rateLimit)).toEqual(['starter', 'pro', 'business']);
    expect(monitoredTierNames({ ...CONFIG.rateLimit, tiers: { gold: { policies: [{ name: 'rph', unit: 'requests', limit: 1, windowSeconds: 60 }] } } })).toEqual([
      'gold',
    ]);
  });
});

describe('-c overrides', () => {
  test('replace the placeholders for a real account', () => {
    const config = load({
      account: '210987654321',
      vpcId: 'vpc-0fedcba9876543210',
      redisSecurityGroupId: 'sg-0123456789abcdef0',
      alarmEmail: 'oncall@huntaze.example',
      upstashSecretName: 'prod/upstash',
    });
    expect(config.account).toBe('210987654321');
    expect(config.elastiCache.vpcId).toBe('vpc-0fedcba9876543210');
    expect(config.elastiCache.redisSecurityGroupId).toBe('sg-0123456789abcdef0');
    expect(config.alarmEmail).toBe('oncall@huntaze.example');
    expect(config.upstash.credentialsSecret).toEqual({ secretName: 'prod/upstash' });
  });

  test('parse booleans, numbers, lists and JSON from strings as the CLI passes them', () => {
    const config = load({
      redisTls: 'false',
      redisAuthSecretName: '',
      redisPort: '6380',
      secretsManagerEndpoint: 'true',
      resetAllowedPrincipalArns: 'arn:aws:iam::123456789012:role/a, arn:aws:iam::123456789012:role/b',
      reservedConcurrency: '{"check": 80}',
    });
    expect(config.elastiCache.tls).toBe(false);
    expect(config.elastiCache.port).toBe(6380);
    expect(config.elastiCache.secretsManagerEndpoint).toBe(true);
    expect(config.api.resetAllowedPrincipalArns).toEqual(['arn:aws:iam::123456789012:role/a', 'arn:aws:iam::123456789012:role/b']);
    expect(config.functions.reservedConcurrency).toEqual({ check: 80, settle: 50, status: 20, reset: 5 });
  });

  test('switching to IAM auth drops the default AUTH token secret; an empty secret name means no AUTH', () => {
    expect(load({ redisIamUser: 'rate-limiter' }).elastiCache).toMatchObject({ iamAuthUserId: 'rate-limiter', authTokenSecret: undefined });
    expect(load({ redisAuthSecretName: '' }).elastiCache).toMatchObject({ iamAuthUserId: undefined, authTokenSecret: undefined });
    expect(load({ redisAuthSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-AbCdEf' }).elastiCache.authTokenSecret).toEqual({
      secretCompleteArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-AbCdEf',
    });
  });

  test('an empty alarmEmail removes the subscription', () => {
    expect(load({ alarmEmail: '' }).alarmEmail).toBeUndefined();
  });

  test('every documented key is read', () => {
    const read = new Set<string>();
    loadDeploymentConfig({
      tryGetContext: (key: string) => {
        read.add(key);
        return undefined;
      },
    });
    expect([...read].sort()).toEqual(Object.keys(CONTEXT_KEYS).sort());
  });

  test.each([
    [{ account: '12345' }, /account must be a 12-digit AWS account id/],
    [{ vpcId: 'vpc-0abc' }, /is not a VPC id/],
    [{ redisSecurityGroupId: 'sg-xyz' }, /is not a security group id/],
    [{ redisTls: 'yes' }, /"redisTls" must be true or false/],
    [{ redisPort: '63a' }, /"redisPort" must be a whole number/],
    [{ failMode: 'sometimes' }, /"failMode" must be "closed" or "open"/],
    [{ redisSubnetType: 'public' }, /"redisSubnetType" must be/],
    [{ reservedConcurrency: '{"chek": 1}' }, /unknown function "chek"/],
    [{ reservedConcurrency: '0' }, /reservedConcurrency.check must be an integer >= 1/],
    [{ tiers: '{not json' }, /"tiers" is not valid JSON/],
    [{ tiers: '{"pro": {"policies": []}}' }, /rateLimit.tiers.pro.policies must be a non-empty array/],
    [{ tiers: '{"pro": {"policies": [{"name": "x", "unit": "bytes", "limit": 1}]}}' }, /policies\[0\] needs a name and a unit/],
    [{ alarmEmail: 'not-an-address' }, /is not an e-mail address/],
    [{ redisClusterMode: 'true' }, /monitoredCacheClusterIds must list the node cluster ids/],
  ])('reject %j', (context, message) => {
    expect(() => load(context)).toThrow(message);
  });
});
