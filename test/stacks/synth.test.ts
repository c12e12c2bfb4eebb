/**
 * `npx cdk synth` as a platform engineer runs it, offline: no AWS credentials, no Docker, lookups
 * served from the committed cdk.context.json only. Both stacks must come out, with no warning.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = join(__dirname, '..', '..');

it('synthesizes both stacks offline with the CDK CLI, without warnings', async () => {
  const out = mkdtempSync(join(tmpdir(), 'cdk-out-'));
  try {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: mkdtempSync(join(tmpdir(), 'cdk-home-')), // no ~/.aws, no cached credentials
      CDK_DOCKER: '/nonexistent/docker', // any Docker fallback would fail loudly
      CI: 'true',
    };
    const { stdout, stderr } = await promisify(execFile)(
      'npx',
      ['cdk', 'synth', '--quiet', '--no-lookups', '--no-notices', '--output', out],
      { cwd: root, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stderr).not.toMatch(/\[Warning|warning:|\[Error/i);
    expect(stdout).not.toMatch(/\[Warning/);
    const templates = readdirSync(out).filter((file) => file.endsWith('.template.json'));
    expect(templates.sort()).toEqual(['CreatorRateLimit-ElastiCache.template.json', 'CreatorRateLimit-Upstash.template.json']);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 300_000);
