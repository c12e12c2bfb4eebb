/**
 * `npx cdk synth -c env=NAME` as a platform engineer runs it, offline: no AWS credentials, no
 * Docker, lookups served from the committed cdk.context.json only. Every environment must come
 * out without a warning, and its templates must pass cfn-lint.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ENVIRONMENTS } from '../../lib/config';

const root = join(__dirname, '..', '..');
const run = promisify(execFile);

/**
 * cfn-lint rules ignored for every template, each with its reason. (Rules ignored for one resource
 * are in that resource's `cfn-lint` metadata, next to the code that needs it.)
 */
export const IGNORED_CFN_LINT_RULES: Readonly<Record<string, string>> = {
  // aws-cdk-lib adds an explicit DependsOn from each function to its execution role's policy and
  // role, which a GetAtt already implies. Redundant, harmless, and not ours to remove.
  W3005: 'CDK-generated redundant DependsOn on the Lambda execution role',
};

describe.each(Object.keys(ENVIRONMENTS))('cdk synth -c env=%s', (environment) => {
  const out = mkdtempSync(join(tmpdir(), `cdk-out-${environment}-`));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('synthesizes the environment offline with the CDK CLI, without warnings', async () => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: mkdtempSync(join(tmpdir(), 'cdk-home-')), // no ~/.aws, no cached credentials
      CDK_DOCKER: '/nonexistent/docker', // any Docker fallback would fail loudly
      CI: 'true',
    };
    const { stdout, stderr } = await run(
      'npx',
      ['cdk', 'synth', '-c', `env=${environment}`, '--quiet', '--no-lookups', '--no-notices', '--output', out],
      { cwd: root, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stderr).not.toMatch(/\[Warning|warning:|\[Error/i);
    expect(stdout).not.toMatch(/\[Warning/);
    const templates = readdirSync(out).filter((file) => file.endsWith('.template.json'));
    expect(templates.sort()).toEqual([
      'CreatorRateLimit-ApiGatewayAccount.template.json',
      `CreatorRateLimit-${environment}-ElastiCache.template.json`,
      `CreatorRateLimit-${environment}-Upstash.template.json`,
    ]);
  }, 300_000);

  it('passes cfn-lint', async () => {
    const templates = readdirSync(out)
      .filter((file) => file.endsWith('.template.json'))
      .map((file) => join(out, file));
    expect(templates).toHaveLength(3);
    const ignored = Object.keys(IGNORED_CFN_LINT_RULES);
    // cfn-lint exits non-zero on any finding; its output lists them.
    const result = await run('cfn-lint', ['--format', 'parseable', '--ignore-checks', ...ignored, '--', ...templates], {
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      ({ stdout }) => stdout,
      (error: { stdout?: string; stderr?: string; code?: unknown }) =>
        `exit ${String(error.code)}\n${error.stdout ?? ''}${error.stderr ?? ''}`,
    );
    expect(result.trim()).toBe('');
  }, 180_000);
});
