/**
 * Test-app factory for the CDK stacks.
 *
 * Jest does not read cdk.json or cdk.context.json, so a bare `new App()` would
 * synthesize with legacy feature-flag defaults and a dummy VPC (`vpc-12345`).
 * This factory feeds both files into the app so that tests see what
 * `npx cdk synth` produces.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
// Deletes the temporary cloud assemblies of each test file when it ends.
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { buildRateLimitApp, type RateLimitApp } from '../../lib/app';
import { STAGING, stackName, validateEnvironmentConfig, type EnvironmentConfig } from '../../lib/config';
import { ElastiCacheRateLimitStack } from '../../lib/stacks/elasticache-stack';
import { UpstashRateLimitStack } from '../../lib/stacks/upstash-stack';

export const REPO_ROOT = path.join(__dirname, '..', '..');

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8')) as Record<string, unknown>;
}

/** Feature flags from cdk.json plus the committed lookups from cdk.context.json. */
export function cdkContext(): Record<string, unknown> {
  const cdkJson = readJson('cdk.json') as { context?: Record<string, unknown> };
  return { ...(cdkJson.context ?? {}), ...readJson('cdk.context.json') };
}

export interface TestAppOptions {
  /**
   * Run esbuild for the listed stacks (names or globs). Bundling takes about a
   * second per function, so most tests skip it and get a placeholder asset.
   * @default [] (no bundling)
   */
  readonly bundlingStacks?: readonly string[];
  /** Extra context, e.g. `-c` overrides as the CLI would pass them. */
  readonly context?: Record<string, unknown>;
}

export function createTestApp(options: TestAppOptions = {}): App {
  return new App({
    context: {
      ...cdkContext(),
      'aws:cdk:bundling-stacks': [...(options.bundlingStacks ?? [])],
      ...options.context,
    },
  });
}

export interface SynthesizedRateLimitApp {
  readonly app: App;
  readonly stacks: RateLimitApp;
  readonly elastiCache: Template;
  readonly upstash: Template;
  readonly apiGatewayAccount: Template;
}

/**
 * Builds both stacks exactly as bin/app.ts does (including the cdk-nag packs,
 * so any unacknowledged finding fails synthesis) and synthesizes once.
 */
export function synthRateLimitApp(config: EnvironmentConfig = STAGING, options: TestAppOptions = {}): SynthesizedRateLimitApp {
  validateEnvironmentConfig(config);
  const app = createTestApp(options);
  const stacks = buildRateLimitApp(app, config);
  const assembly = app.synth();
  const template = (artifactId: string): Template =>
    Template.fromJSON(assembly.getStackArtifact(artifactId).template as Record<string, unknown>);
  return {
    app,
    stacks,
    elastiCache: template(stacks.elastiCache.artifactId),
    upstash: template(stacks.upstash.artifactId),
    apiGatewayAccount: template(stacks.apiGatewayAccount.artifactId),
  };
}

/**
 * Synthesizes one stack (faster than the whole app) with the same cdk-nag packs
 * as bin/app.ts, so variants are held to the same rules.
 */
export function synthStack(
  variant: 'elasticache' | 'upstash',
  config: EnvironmentConfig = STAGING,
  options: TestAppOptions = {},
): Template {
  // The same validation `-c env=NAME` runs, so a variant is held to what bin/app.ts accepts.
  validateEnvironmentConfig(config);
  const app = createTestApp(options);
  const env = { account: config.account, region: config.region };
  const id = stackName(config, variant);
  const stack =
    variant === 'elasticache'
      ? new ElastiCacheRateLimitStack(app, id, { env, config })
      : new UpstashRateLimitStack(app, id, { env, config });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return Template.fromJSON(app.synth().getStackArtifact(stack.artifactId).template as Record<string, unknown>);
}

/** A copy of `base` with some fields replaced, one level deep per section (for variant tests). */
export function withChanges(
  base: EnvironmentConfig,
  changes: { [K in keyof EnvironmentConfig]?: EnvironmentConfig[K] extends object ? Partial<EnvironmentConfig[K]> : EnvironmentConfig[K] },
): EnvironmentConfig {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    const current = (base as unknown as Record<string, unknown>)[key];
    result[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value) && typeof current === 'object'
        ? { ...(current as object), ...value }
        : value;
  }
  return result as unknown as EnvironmentConfig;
}
