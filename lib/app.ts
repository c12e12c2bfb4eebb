import { Tags, Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { DeploymentConfig } from './config';
import { ElastiCacheRateLimitStack } from './stacks/elasticache-stack';
import { UpstashRateLimitStack } from './stacks/upstash-stack';

export interface RateLimitApp {
  readonly elastiCache: ElastiCacheRateLimitStack;
  readonly upstash: UpstashRateLimitStack;
}

/**
 * Adds both stacks to the app, tags them and registers the cdk-nag packs.
 * Shared by bin/app.ts and the tests so that both synthesize the same thing.
 */
export function buildRateLimitApp(app: App, config: DeploymentConfig): RateLimitApp {
  // The account is part of the config, never CDK_DEFAULT_ACCOUNT: the VPC
  // lookup is keyed by it and must resolve from cdk.context.json without credentials.
  const env = { account: config.account, region: config.region };
  const elastiCache = new ElastiCacheRateLimitStack(app, `${config.stackPrefix}-ElastiCache`, {
    env,
    config,
    description: 'Creator AI rate limiting on the existing ElastiCache cluster (VPC-attached Lambda + API Gateway)',
  });
  const upstash = new UpstashRateLimitStack(app, `${config.stackPrefix}-Upstash`, {
    env,
    config,
    description: 'Creator AI rate limiting on Upstash Redis REST (Lambda outside any VPC + API Gateway)',
  });

  for (const [key, value] of Object.entries(config.tags)) Tags.of(app).add(key, value);

  // Findings fail `cdk synth`; every acknowledgement sits on the construct it concerns.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { elastiCache, upstash };
}
