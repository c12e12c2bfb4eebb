import type { Template } from 'aws-cdk-lib/assertions';
import { ROUTE_LIST } from '../../lambda/contract';
import { PRODUCTION as CONFIG } from '../../lib/config';
import { synthRateLimitApp } from '../support/cdk-app';
import { normalizeTemplate } from '../support/cdk-snapshot';
import { lambdaFunctions, resourcesOfType, secretLeaks } from '../support/cdk-template';

const UPSTASH_SECRET_PARTIAL_ARN = `arn:aws:secretsmanager:us-east-1:${CONFIG.account}:secret:huntaze/rate-limit/upstash`;

describe('Upstash stack (production environment)', () => {
  let template: Template;
  let elastiCache: Template;

  beforeAll(() => {
    const synthesized = synthRateLimitApp(CONFIG);
    template = synthesized.upstash;
    elastiCache = synthesized.elastiCache;
  });

  test('matches the snapshot (asset hashes normalised)', () => {
    expect(normalizeTemplate(template.toJSON())).toMatchSnapshot();
  });

  test('runs the functions outside any VPC', () => {
    const functions = Object.values(lambdaFunctions(template));
    expect(functions).toHaveLength(ROUTE_LIST.length);
    for (const fn of functions) expect(fn.Properties?.VpcConfig).toBeUndefined();
    const types = Object.values((template.toJSON() as { Resources: Record<string, { Type: string }> }).Resources).map((r) => r.Type);
    expect(types.filter((type) => type.startsWith('AWS::EC2::'))).toEqual([]);
    expect(types.filter((type) => type.startsWith('AWS::ElastiCache::'))).toEqual([]);
    expect(JSON.stringify(template.toJSON())).not.toContain('ec2:CreateNetworkInterface');
  });

  test('passes only the ARN of the Upstash secret, never its URL or token', () => {
    for (const fn of Object.values(lambdaFunctions(template))) {
      expect(fn.Properties?.Environment.Variables).toEqual({
        RATE_LIMIT_BACKEND: 'upstash',
        UPSTASH_REDIS_SECRET_ARN: UPSTASH_SECRET_PARTIAL_ARN,
        RATE_LIMIT_FAIL_MODE: 'closed',
        // The library's Upstash default: REST over the internet, not the ElastiCache 300 ms.
        RATE_LIMIT_TIMEOUT_MS: '1500',
        POWERTOOLS_SERVICE_NAME: 'creator-rate-limit-upstash',
        POWERTOOLS_METRICS_NAMESPACE: 'CreatorRateLimit/production',
        NODE_OPTIONS: '--enable-source-maps',
      });
    }
    expect(secretLeaks(template)).toEqual([]);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  test('lets each function read the Upstash secret and nothing else from Secrets Manager', () => {
    const policies = Object.values(resourcesOfType(template, 'AWS::IAM::Policy'));
    expect(policies).toHaveLength(ROUTE_LIST.length);
    for (const policy of policies) {
      const statements = policy.Properties?.PolicyDocument.Statement as Array<Record<string, any>>;
      const secretStatements = statements.filter((statement) => JSON.stringify(statement.Action).includes('secretsmanager:'));
      expect(secretStatements).toEqual([
        {
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Resource: `${UPSTASH_SECRET_PARTIAL_ARN}-??????`,
        },
      ]);
    }
  });

  test('builds the same functions as the ElastiCache stack, apart from backend and network', () => {
    const shape = (t: Template): unknown[] =>
      Object.values(lambdaFunctions(t))
        .map((fn) => {
          const { VpcConfig, Environment, Code, Role, LoggingConfig, Description, ...rest } = fn.Properties ?? {};
          const variables = { ...Environment.Variables };
          // Backend, deadline and service name are what distinguishes the variants.
          for (const name of Object.keys(variables)) {
            if (/^(ELASTICACHE_|UPSTASH_|RATE_LIMIT_BACKEND|RATE_LIMIT_TIMEOUT_MS|POWERTOOLS_SERVICE_NAME)/.test(name))
              delete variables[name];
          }
          return { ...rest, variables, description: String(Description).replace(/ \[\w+\]$/, '') };
        })
        .sort((a, b) => a.description.localeCompare(b.description));
    expect(shape(template)).toEqual(shape(elastiCache));
  });

  test('publishes and alarms under its own service name, never the ElastiCache one', () => {
    const json = JSON.stringify(template.toJSON());
    expect(json).toContain('creator-rate-limit-upstash');
    expect(json).not.toContain('creator-rate-limit-elasticache');
    expect(JSON.stringify(elastiCache.toJSON())).not.toContain('creator-rate-limit-upstash');
  });

  test('has no cache alarms (Upstash is monitored in its own console)', () => {
    expect(JSON.stringify(template.toJSON())).not.toContain('AWS/ElastiCache');
  });
});
