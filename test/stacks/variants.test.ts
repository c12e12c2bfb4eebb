/**
 * Configurations other than the committed ones, built the way a platform engineer would edit
 * lib/config/environments.ts, and validated like `-c env=NAME` validates them.
 */
import { ROUTE_LIST } from '../../lambda/contract';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { STAGING as CONFIG, type EnvironmentConfig } from '../../lib/config';
import { synthStack, withChanges } from '../support/cdk-app';
import { lambdaFunctions, resourcesOfType, secretLeaks } from '../support/cdk-template';

const REDIS_SG = (CONFIG.elastiCache.access as { redisSecurityGroupId: string }).redisSecurityGroupId;

function elastiCache(changes: Partial<EnvironmentConfig['elastiCache']>): EnvironmentConfig {
  return withChanges(CONFIG, { elastiCache: changes });
}

function environments(template: Template): Array<Record<string, string>> {
  return Object.values(lambdaFunctions(template)).map((fn) => fn.Properties?.Environment.Variables as Record<string, string>);
}

function policyStatements(template: Template): Array<Record<string, any>> {
  return Object.values(resourcesOfType(template, 'AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties?.PolicyDocument.Statement as Array<Record<string, any>>,
  );
}

function actionsOf(statements: Array<Record<string, any>>): string[] {
  return statements.flatMap((statement) => [statement.Action].flat() as string[]);
}

describe('ElastiCache IAM authentication on a replication group', () => {
  const template = synthStack(
    'elasticache',
    elastiCache({
      auth: { kind: 'iam', userId: 'rate-limiter' },
      topology: { kind: 'replication-group', monitoredNodeIds: ['huntaze-redis-staging-001', 'huntaze-redis-staging-002'] },
    }),
  );

  test('passes the user instead of an AUTH secret', () => {
    for (const env of environments(template)) {
      expect(env.ELASTICACHE_REDIS_IAM_USER).toBe('rate-limiter');
      expect(env.ELASTICACHE_REDIS_AUTH_SECRET_ARN).toBeUndefined();
    }
  });

  test('grants elasticache:Connect on the replication group and the user only, and no Secrets Manager access', () => {
    const connect = policyStatements(template).filter((statement) => statement.Action === 'elasticache:Connect');
    expect(connect).toHaveLength(ROUTE_LIST.length);
    for (const statement of connect) {
      expect(statement.Resource).toEqual([
        `arn:aws:elasticache:us-east-1:${CONFIG.account}:replicationgroup:huntaze-redis-staging`,
        `arn:aws:elasticache:us-east-1:${CONFIG.account}:user:rate-limiter`,
      ]);
    }
    expect(actionsOf(policyStatements(template)).filter((action) => action.startsWith('secretsmanager:'))).toEqual([]);
  });
});

describe('ElastiCache without AUTH or TLS', () => {
  const template = synthStack('elasticache', elastiCache({ auth: { kind: 'none' }, tls: false }));

  test('sets TLS off and passes no credentials', () => {
    for (const env of environments(template)) {
      expect(env.ELASTICACHE_REDIS_TLS).toBe('false');
      expect(Object.keys(env).filter((name) => /AUTH|IAM_USER/.test(name))).toEqual([]);
    }
    expect(actionsOf(policyStatements(template)).filter((action) => /^(secretsmanager|elasticache):/.test(action))).toEqual([]);
  });
});

describe('ElastiCache cluster mode (configuration endpoint)', () => {
  const nodes = ['huntaze-redis-production-0001-001', 'huntaze-redis-production-0002-001'];
  const template = synthStack(
    'elasticache',
    elastiCache({
      clusterMode: true,
      host: 'clustercfg.huntaze-redis-production.asmyhp.use1.cache.amazonaws.com',
      topology: { kind: 'replication-group', monitoredNodeIds: nodes },
    }),
  );

  test('tells the functions to use a cluster client', () => {
    for (const env of environments(template)) {
      expect(env.ELASTICACHE_REDIS_CLUSTER).toBe('true');
      expect(env.ELASTICACHE_REDIS_HOST).toBe('clustercfg.huntaze-redis-production.asmyhp.use1.cache.amazonaws.com');
    }
  });

  test.each([
    ['EngineCPUUtilization', 'MAX([cpu0, cpu1])'],
    ['DatabaseMemoryUsagePercentage', 'MAX([memory0, memory1])'],
    ['CurrConnections', 'FILL(connections0, 0) + FILL(connections1, 0)'],
    ['Evictions', 'FILL(evictions0, 0) + FILL(evictions1, 0)'],
  ])('watches %s on every listed node through metric math', (metricName, expression) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: expression, ReturnData: true }),
        ...nodes.map((node) =>
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: { Namespace: 'AWS/ElastiCache', MetricName: metricName, Dimensions: [{ Name: 'CacheClusterId', Value: node }] },
            }),
            ReturnData: false,
          }),
        ),
      ]),
    });
  });
});

describe('ElastiCache in isolated subnets with a Secrets Manager endpoint', () => {
  // A second, test-only VPC lookup result: two AZs of isolated subnets, no NAT.
  const vpcId = 'vpc-0123456789abcdef0';
  const isolated = ['subnet-0123456789abcdef1', 'subnet-0123456789abcdef2'];
  const context = {
    [`vpc-provider:account=${CONFIG.account}:filter.vpc-id=${vpcId}:region=us-east-1:returnAsymmetricSubnets=true`]: {
      vpcId,
      vpcCidrBlock: '10.40.0.0/16',
      ownerAccountId: CONFIG.account,
      availabilityZones: [],
      subnetGroups: [
        {
          name: 'Isolated',
          type: 'Isolated',
          subnets: isolated.map((subnetId, index) => ({
            subnetId,
            cidr: `10.40.${index * 16}.0/20`,
            availabilityZone: `us-east-1${'ab'[index]}`,
            routeTableId: `rtb-0123456789abcdef${index}`,
          })),
        },
      ],
    },
  };
  const isolatedVpc = { vpcId, subnetType: 'private-isolated' } as const;

  test('refuses isolated subnets when the AUTH secret would be unreachable', () => {
    expect(() => synthStack('elasticache', elastiCache(isolatedVpc), { context })).toThrow(
      /isolated subnets have no route to Secrets Manager/,
    );
  });

  describe('with secretsManagerEndpoint: true', () => {
    const template = synthStack('elasticache', elastiCache({ ...isolatedVpc, secretsManagerEndpoint: true }), { context });

    test('places the functions in the isolated subnets', () => {
      for (const fn of Object.values(lambdaFunctions(template))) expect(fn.Properties?.VpcConfig.SubnetIds).toEqual(isolated);
    });

    test('creates a private-DNS Secrets Manager endpoint reachable from the Lambda security group only', () => {
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        ServiceName: 'com.amazonaws.us-east-1.secretsmanager',
        VpcEndpointType: 'Interface',
        PrivateDnsEnabled: true,
        SubnetIds: isolated,
      });
      const ingress = Object.values(resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress')).map((rule) => rule.Properties);
      expect(ingress).toHaveLength(2);
      const lambdaSg = { 'Fn::GetAtt': [Match.stringLikeRegexp('LambdaSecurityGroup'), 'GroupId'] };
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        GroupId: REDIS_SG,
        FromPort: 6379,
        SourceSecurityGroupId: lambdaSg,
      });
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('SecretsManagerEndpoint'), 'GroupId'] },
        FromPort: 443,
        ToPort: 443,
        SourceSecurityGroupId: lambdaSg,
      });
      // Still exactly one rule on the Redis security group.
      expect(ingress.filter((rule) => rule?.GroupId === REDIS_SG)).toHaveLength(1);
    });
  });
});

describe('administrative routes restricted to listed principals (api.adminPrincipalArns)', () => {
  const admin = `arn:aws:iam::${CONFIG.account}:role/platform-admin`;
  const template = synthStack('upstash', withChanges(CONFIG, { api: { adminPrincipalArns: [admin] } }));

  test('denies reset and the override routes to every other principal in the API resource policy', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Policy: {
        Statement: [
          {
            Sid: 'AdministrativeRoutesForListedPrincipalsOnly',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'execute-api:Invoke',
            Resource: [
              'execute-api:/*/DELETE/v1/overrides/*',
              'execute-api:/*/GET/v1/overrides/*',
              'execute-api:/*/POST/v1/reset',
              'execute-api:/*/PUT/v1/overrides/*',
            ],
            Condition: { ArnNotLike: { 'aws:PrincipalArn': [admin] } },
          },
        ],
      },
    });
  });
});

describe('API execution logging (api.executionLogging)', () => {
  const template = synthStack('upstash', withChanges(CONFIG, { api: { executionLogging: true } }));

  test('logs errors but never request or response bodies', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({ HttpMethod: '*', LoggingLevel: 'ERROR', DataTraceEnabled: false })]),
    });
  });
});

describe('custom tiers, fail-open, deadline and concurrency', () => {
  const tiers = {
    free: { policies: [{ name: 'requests-per-hour', unit: 'requests', limit: 10, windowSeconds: 3600 }] },
    team: { policies: [{ name: 'requests-per-hour', unit: 'requests', limit: 1000, windowSeconds: 3600 }] },
  };
  const template = synthStack(
    'upstash',
    withChanges(CONFIG, {
      rateLimit: { tiers, failMode: 'open' },
      upstash: { backendTimeoutMs: 150 },
      functions: {
        reservedConcurrency: { check: 10, settle: 10, status: 10, reset: 10, setOverride: 10, getOverride: 10, removeOverride: 10 },
      },
    }),
  );

  test('passes the tier table, fail mode and deadline to every function', () => {
    for (const env of environments(template)) {
      expect(JSON.parse(env.RATE_LIMIT_TIERS)).toEqual(tiers);
      expect(env.RATE_LIMIT_FAIL_MODE).toBe('open');
      expect(env.RATE_LIMIT_TIMEOUT_MS).toBe('150');
    }
    for (const fn of Object.values(lambdaFunctions(template))) expect(fn.Properties?.ReservedConcurrentExecutions).toBe(10);
  });

  test('breaks the dashboard down by the configured tiers', () => {
    const body = JSON.stringify(Object.values(resourcesOfType(template, 'AWS::CloudWatch::Dashboard'))[0].Properties?.DashboardBody);
    for (const tier of ['free', 'team']) expect(body).toContain(`\\"tier\\",\\"${tier}\\"`);
    expect(body).not.toContain('\\"tier\\",\\"starter\\"');
  });
});

describe('secrets by complete ARN, encrypted with a customer-managed key', () => {
  const secretArn = `arn:aws:secretsmanager:us-east-1:${CONFIG.account}:secret:huntaze/rate-limit/upstash-AbCdEf`;
  const keyArn = `arn:aws:kms:us-east-1:${CONFIG.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  const template = synthStack(
    'upstash',
    withChanges(CONFIG, { upstash: { credentialsSecret: { secretCompleteArn: secretArn, encryptionKeyArn: keyArn } } }),
  );

  test('passes and grants the exact secret ARN, and decrypt through Secrets Manager only', () => {
    for (const env of environments(template)) expect(env.UPSTASH_REDIS_SECRET_ARN).toBe(secretArn);
    const statements = policyStatements(template);
    const read = statements.filter((statement) => JSON.stringify(statement.Action).includes('secretsmanager:GetSecretValue'));
    expect(read.map((statement) => statement.Resource)).toEqual(ROUTE_LIST.map(() => secretArn));
    const decrypt = statements.filter((statement) => statement.Action === 'kms:Decrypt');
    expect(decrypt).toHaveLength(ROUTE_LIST.length);
    for (const statement of decrypt) {
      expect(statement.Resource).toBe(keyArn);
      expect(statement.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } });
    }
    expect(secretLeaks(template)).toEqual([]);
  });
});

describe('an existing "Redis clients" security group instead of an ingress rule', () => {
  const clients = 'sg-0c1d2e3f4a5b6c7d8';
  const template = synthStack('elasticache', elastiCache({ access: { kind: 'client-security-group', clientSecurityGroupId: clients } }));

  test('changes nothing outside the stack: no ingress or egress rule on any existing group', () => {
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
  });

  test('every function wears its own group and the clients group', () => {
    for (const fn of Object.values(lambdaFunctions(template))) {
      expect(fn.Properties?.VpcConfig.SecurityGroupIds).toEqual([
        { 'Fn::GetAtt': [expect.stringMatching(/LambdaSecurityGroup/), 'GroupId'] },
        clients,
      ]);
    }
  });

  test("the functions' own group opens the Redis port towards the VPC only, plus HTTPS", () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [
        Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 }),
        Match.objectLike({ CidrIp: '10.30.0.0/16', FromPort: 6379, ToPort: 6379 }),
      ],
    });
  });
});
