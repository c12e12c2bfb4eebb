import { Tags, Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { environmentTags, stackName, STACK_PREFIX, type EnvironmentConfig } from './config';
import { ApiGatewayAccountStack } from './stacks/api-gateway-account-stack';
import { ElastiCacheRateLimitStack } from './stacks/elasticache-stack';
import { UpstashRateLimitStack } from './stacks/upstash-stack';

export interface RateLimitApp {
  readonly elastiCache: ElastiCacheRateLimitStack;
  readonly upstash: UpstashRateLimitStack;
  /** Optional, one per account and region; deploy it by name only when the account lacks the role. */
  readonly apiGatewayAccount: ApiGatewayAccountStack;
}

/** Name of the account baseline stack: per account and region, not per environment. */
export function apiGatewayAccountStackName(): string {
  return `${STACK_PREFIX}-ApiGatewayAccount`;
}

/**
 * Adds the stacks of one environment to the app, tags them and registers the cdk-nag packs.
 * Shared by bin/app.ts and the tests so that both synthesize the same thing.
 */
export function buildRateLimitApp(app: App, config: EnvironmentConfig): RateLimitApp {
  // The account is part of the config, never CDK_DEFAULT_ACCOUNT: the VPC lookup is keyed by it
  // and must resolve from cdk.context.json without credentials.
  const env = { account: config.account, region: config.region };
  // Production stacks cannot be deleted by a stray `cdk destroy`; protection is lifted by hand.
  const terminationProtection = config.production;
  const elastiCache = new ElastiCacheRateLimitStack(app, stackName(config, 'elasticache'), {
    env,
    config,
    terminationProtection,
    description: `Creator AI rate limiting on the existing ElastiCache cluster (VPC-attached Lambda + API Gateway), environment ${config.name}`,
  });
  const upstash = new UpstashRateLimitStack(app, stackName(config, 'upstash'), {
    env,
    config,
    terminationProtection,
    description: `Creator AI rate limiting on Upstash Redis REST (Lambda outside any VPC + API Gateway), environment ${config.name}`,
  });
  const apiGatewayAccount = new ApiGatewayAccountStack(app, apiGatewayAccountStackName(), {
    env,
    description: 'Account baseline (optional, once per account and region): the API Gateway CloudWatch Logs role',
  });

  for (const stack of [elastiCache, upstash]) {
    for (const [key, value] of Object.entries(environmentTags(config))) Tags.of(stack).add(key, value);
  }
  Tags.of(apiGatewayAccount).add('ManagedBy', 'aws-cdk');
  Tags.of(apiGatewayAccount).add('Owner', config.owner);

  // Findings fail `cdk synth`; every acknowledgement sits on the construct it concerns.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { elastiCache, upstash, apiGatewayAccount };
}
