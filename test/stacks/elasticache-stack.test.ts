import { Match, type Template } from 'aws-cdk-lib/assertions';
import { ROUTE_LIST } from '../../lambda/contract';
import { PRODUCTION as CONFIG } from '../../lib/config';
import { synthRateLimitApp } from '../support/cdk-app';
import { normalizeTemplate } from '../support/cdk-snapshot';
import { committedSubnetIds, lambdaFunctions, resourcesOfType, secretLeaks } from '../support/cdk-template';

const REDIS_SG = (CONFIG.elastiCache.access as { redisSecurityGroupId: string }).redisSecurityGroupId;
const AUTH_SECRET_PARTIAL_ARN = `arn:aws:secretsmanager:us-east-1:${CONFIG.account}:secret:huntaze/redis-production/auth-token`;

describe('ElastiCache stack (production environment)', () => {
  let template: Template;
  let lambdaSgLogicalId: string;

  beforeAll(() => {
    template = synthRateLimitApp(CONFIG).elastiCache;
    const groups = Object.keys(resourcesOfType(template, 'AWS::EC2::SecurityGroup'));
    expect(groups).toHaveLength(1);
    lambdaSgLogicalId = groups[0];
  });

  test('matches the snapshot (asset hashes normalised)', () => {
    expect(normalizeTemplate(template.toJSON())).toMatchSnapshot();
  });

  describe('network', () => {
    test('uses the VPC from the committed cdk.context.json, not the dummy lookup result', () => {
      template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: CONFIG.elastiCache.vpcId });
      expect(JSON.stringify(template.toJSON())).not.toContain('vpc-12345');
    });

    test('adds exactly one ingress rule: Lambda SG -> Redis SG on TCP 6379', () => {
      const ingress = Object.values(resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress'));
      expect(ingress).toHaveLength(1);
      expect(ingress[0].Properties).toEqual({
        GroupId: REDIS_SG,
        SourceSecurityGroupId: { 'Fn::GetAtt': [lambdaSgLogicalId, 'GroupId'] },
        IpProtocol: 'tcp',
        FromPort: 6379,
        ToPort: 6379,
        Description: expect.any(String),
      });
    });

    test('never changes the imported Redis security group beyond that ingress rule', () => {
      // No egress rule on it (an egress resource would replace its allow-all egress).
      const egress = Object.values(resourcesOfType(template, 'AWS::EC2::SecurityGroupEgress'));
      expect(egress.filter((rule) => rule.Properties?.GroupId === REDIS_SG)).toEqual([]);
      // Not re-created or otherwise managed.
      for (const sg of Object.values(resourcesOfType(template, 'AWS::EC2::SecurityGroup'))) {
        expect(JSON.stringify(sg)).not.toContain(REDIS_SG);
      }
    });

    test('Lambda security group only allows Redis and HTTPS out', () => {
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: Match.anyValue() }],
        SecurityGroupIngress: Match.absent(),
      });
      const egress = Object.values(resourcesOfType(template, 'AWS::EC2::SecurityGroupEgress'));
      expect(egress.map((rule) => rule.Properties)).toEqual([
        {
          GroupId: { 'Fn::GetAtt': [lambdaSgLogicalId, 'GroupId'] },
          DestinationSecurityGroupId: REDIS_SG,
          IpProtocol: 'tcp',
          FromPort: 6379,
          ToPort: 6379,
          Description: expect.any(String),
        },
      ]);
    });

    test('places every function in the private subnets with the Lambda security group', () => {
      const privateSubnets = committedSubnetIds(CONFIG.elastiCache.vpcId, 'Private');
      expect(privateSubnets).toHaveLength(3);
      const functions = Object.values(lambdaFunctions(template));
      expect(functions).toHaveLength(ROUTE_LIST.length);
      for (const fn of functions) {
        expect(fn.Properties?.VpcConfig).toEqual({
          SubnetIds: privateSubnets,
          SecurityGroupIds: [{ 'Fn::GetAtt': [lambdaSgLogicalId, 'GroupId'] }],
        });
      }
      const everySubnet = JSON.stringify(template.toJSON());
      for (const publicSubnet of committedSubnetIds(CONFIG.elastiCache.vpcId, 'Public')) expect(everySubnet).not.toContain(publicSubnet);
    });

    test('keeps the ENI permissions until the security group is gone (clean stack deletion)', () => {
      const vpcPolicies = Object.keys(resourcesOfType(template, 'AWS::IAM::Policy')).filter((id) => id.includes('VpcAccessPolicy'));
      expect(vpcPolicies).toHaveLength(ROUTE_LIST.length);
      const sg = resourcesOfType(template, 'AWS::EC2::SecurityGroup')[lambdaSgLogicalId];
      expect([...(sg.DependsOn ?? [])].sort()).toEqual([...vpcPolicies].sort());
    });

    test('creates no VPC endpoint by default (the VPC is expected to have a NAT gateway)', () => {
      template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    });

    test('creates no ElastiCache resource and no VPC resources', () => {
      const types = Object.values((template.toJSON() as { Resources: Record<string, { Type: string }> }).Resources).map((r) => r.Type);
      expect(types.filter((type) => type.startsWith('AWS::ElastiCache::'))).toEqual([]);
      for (const type of ['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::NatGateway', 'AWS::EC2::RouteTable']) {
        template.resourceCountIs(type, 0);
      }
    });
  });

  describe('functions', () => {
    test('pin runtime, architecture, memory, timeout, tracing and reserved concurrency', () => {
      for (const route of ROUTE_LIST) {
        const reserved = CONFIG.functions.reservedConcurrency[route.name];
        template.hasResourceProperties('AWS::Lambda::Function', {
          // The description names the route, e.g. "(PUT /v1/overrides/{creatorId})".
          Description: Match.stringLikeRegexp(`\\(${route.method} ${route.resource.replace(/[{}]/g, '\\$&')}\\)`),
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          MemorySize: 256,
          Timeout: 5,
          TracingConfig: { Mode: 'Active' },
          ReservedConcurrentExecutions: reserved,
          LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN', LogGroup: { Ref: Match.anyValue() } },
        });
      }
    });

    test('write to explicit log groups with retention, one per function', () => {
      const logGroups = resourcesOfType(template, 'AWS::Logs::LogGroup');
      for (const fn of Object.values(lambdaFunctions(template))) {
        const logGroupId = fn.Properties?.LoggingConfig.LogGroup.Ref as string;
        expect(logGroups[logGroupId].Properties?.RetentionInDays).toBe(30);
      }
    });

    test('get the environment contract, with the secret passed by ARN only', () => {
      for (const fn of Object.values(lambdaFunctions(template))) {
        expect(fn.Properties?.Environment.Variables).toEqual({
          RATE_LIMIT_BACKEND: 'elasticache',
          ELASTICACHE_REDIS_HOST: 'huntaze-redis-production.asmyhp.0001.use1.cache.amazonaws.com',
          ELASTICACHE_REDIS_PORT: '6379',
          ELASTICACHE_REDIS_TLS: 'true',
          ELASTICACHE_REDIS_CLUSTER: 'false',
          ELASTICACHE_REDIS_AUTH_SECRET_ARN: AUTH_SECRET_PARTIAL_ARN,
          RATE_LIMIT_FAIL_MODE: 'closed',
          RATE_LIMIT_TIMEOUT_MS: '300',
          POWERTOOLS_SERVICE_NAME: 'creator-rate-limit-elasticache',
          POWERTOOLS_METRICS_NAMESPACE: 'CreatorRateLimit/production',
          NODE_OPTIONS: '--enable-source-maps',
        });
      }
    });

    test('each role may read only the AUTH token secret, and write only to its own log group', () => {
      const policies = Object.entries(resourcesOfType(template, 'AWS::IAM::Policy')).filter(([id]) => id.includes('DefaultPolicy'));
      expect(policies).toHaveLength(ROUTE_LIST.length);
      for (const [, policy] of policies) {
        const statements = policy.Properties?.PolicyDocument.Statement as Array<Record<string, any>>;
        expect(statements).toEqual([
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [expect.stringMatching(/LogGroup/), 'Arn'] },
          },
          { Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' },
          {
            Effect: 'Allow',
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Resource: `${AUTH_SECRET_PARTIAL_ARN}-??????`,
          },
        ]);
      }
      expect(JSON.stringify(template.toJSON())).not.toContain('elasticache:Connect');
    });

    test('use dedicated roles, not the AWS managed Lambda policies', () => {
      const lambdaRoles = Object.values(resourcesOfType(template, 'AWS::IAM::Role')).filter((role) =>
        JSON.stringify(role.Properties?.AssumeRolePolicyDocument).includes('lambda.amazonaws.com'),
      );
      expect(lambdaRoles).toHaveLength(ROUTE_LIST.length);
      for (const role of lambdaRoles) {
        expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
        expect(role.Properties?.AssumeRolePolicyDocument.Statement).toEqual([
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ]);
      }
    });
  });

  test('puts no secret value anywhere in the template', () => {
    expect(secretLeaks(template)).toEqual([]);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  describe('monitoring of the imported cluster (a standalone node: metrics under the cluster id)', () => {
    test.each([
      ['EngineCPUUtilization', 'Maximum', 80, 60, 'PageTopic', 5, 3],
      ['DatabaseMemoryUsagePercentage', 'Maximum', 85, 60, 'PageTopic', 5, 3],
      ['CurrConnections', 'Maximum', 5000, 300, 'TicketTopic', 3, 2],
      ['Evictions', 'Sum', 1, 300, 'TicketTopic', 1, undefined],
    ] as const)(
      'alarms on %s of huntaze-redis-production',
      (metricName, statistic, threshold, period, topic, evaluationPeriods, datapointsToAlarm) => {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/ElastiCache',
          MetricName: metricName,
          Dimensions: [{ Name: 'CacheClusterId', Value: 'huntaze-redis-production' }],
          Statistic: statistic,
          Period: period,
          Threshold: threshold,
          EvaluationPeriods: evaluationPeriods,
          DatapointsToAlarm: datapointsToAlarm ?? Match.absent(),
          AlarmActions: [{ Ref: Match.stringLikeRegexp(topic) }],
        });
      },
    );
  });
});
