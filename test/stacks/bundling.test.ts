/**
 * The only tests that run esbuild (the others skip bundling for speed): they
 * prove that bundling is local, needs no Docker, and produces what the Lambda
 * Node.js runtime expects.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { FUNCTION_BUNDLING } from '../../lib/constructs/function-bundling';
import { RateLimitFunction } from '../../lib/constructs/rate-limit-function';
import { createTestApp } from '../support/cdk-app';

interface BundledAsset {
  readonly code: string;
  readonly files: string[];
}

/** Bundles one function for real and returns its output. */
function bundle(entry: string): BundledAsset {
  const app = createTestApp({ bundlingStacks: ['**'] });
  const stack = new Stack(app, 'Bundling', { env: { account: '123456789012', region: 'us-east-1' } });
  new RateLimitFunction(stack, 'Probe', { entry, description: 'bundling probe', environment: {} });
  const assembly = app.synth();
  const template = assembly.getStackArtifact(stack.artifactId).template as { Resources: Record<string, any> };
  const fn = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::Lambda::Function');
  const assetDir = path.join(assembly.directory, `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
  return { code: fs.readFileSync(path.join(assetDir, 'index.js'), 'utf8'), files: fs.readdirSync(assetDir).sort() };
}

describe('local esbuild bundling', () => {
  const dockerBefore = process.env.CDK_DOCKER;
  let probe: BundledAsset;
  let handler: BundledAsset;

  beforeAll(() => {
    // Any attempt to fall back to Docker would run this non-existent binary and fail.
    process.env.CDK_DOCKER = '/nonexistent/docker-must-not-be-used';
    probe = bundle(path.join(__dirname, 'fixtures', 'bundling-probe-handler.ts'));
    handler = bundle(path.join(__dirname, '..', '..', 'lambda', 'handlers', 'check.ts'));
  });

  afterAll(() => {
    if (dockerBefore === undefined) delete process.env.CDK_DOCKER;
    else process.env.CDK_DOCKER = dockerBefore;
  });

  test('bundles a real handler into one CommonJS file with a source map', () => {
    expect(handler.files).toEqual(['index.js', 'index.js.map']);
    expect(handler.code).toMatch(/module\.exports/);
    expect(handler.code).toContain('sourceMappingURL=index.js.map');
  });

  test('minifies (the bundled libraries end up on very long lines)', () => {
    const longestLine = Math.max(...probe.code.split('\n').map((line) => line.length));
    expect(longestLine).toBeGreaterThan(10_000);
  });

  test('keeps the AWS SDK v3 external (the runtime provides it) and bundles everything else', () => {
    expect(probe.code).toMatch(/require\("@aws-sdk\/client-secrets-manager"\)/);
    expect(probe.code).not.toMatch(/require\("ioredis"\)/);
    expect(probe.code.length).toBeGreaterThan(50_000); // ioredis is inside
  });

  test('bundles only the Node.js code of dependencies that choose theirs when they load', () => {
    // debug's browser half, and redis-errors' classes for Node.js before 7 (which name
    // themselves with a string), are left out by the aliases of FUNCTION_BUNDLING.
    expect(probe.code).not.toContain('WebkitAppearance');
    expect(probe.code).not.toContain('"RedisError"');
    // debug loads supports-color inside a try, for terminals only: it stays a plain require.
    expect(probe.code).toContain('require("supports-color")');
  });

  test('renames classes (no keepNames) but keeps error names set as a property', () => {
    // keepNames would pin every function and class name with a helper like this one.
    expect(probe.code).not.toMatch(/=\(\w+,\w+\)=>\w+\(\w+,"name",\{value:\w+,configurable:!0\}\)/);
    expect(probe.code).toContain('"ProbeError"');
  });
});

describe('the bundling aliases', () => {
  it.each(Object.entries(FUNCTION_BUNDLING.alias))('%s: the alias names the file Node.js loads for the package', (name, target) => {
    // Same module object: Node's own choice, when the package loads, is the aliased file.
    expect(require(name)).toBe(require(target));
  });
});
