/**
 * What each entry module pulls into a bundle (esbuild, as deployers bundle it). The Upstash entry
 * must run in edge runtimes: no ioredis, no Node built-in, no Powertools. The ElastiCache entry must
 * not carry the Upstash client.
 */
import path from 'node:path';
import { build, type Metafile } from 'esbuild';

const LIBRARY = path.join(__dirname, '../../lambda/rate-limit');

interface Bundle {
  readonly inputs: string[];
  /** Imports left outside the bundle (node: built-ins, when marked external). */
  readonly externals: string[];
  readonly bytes: number;
}

async function bundle(options: { entry?: string; contents?: string; platform: 'browser' | 'node' }): Promise<Bundle> {
  const result = await build({
    ...(options.entry ? { entryPoints: [options.entry] } : { stdin: { contents: options.contents!, resolveDir: LIBRARY, loader: 'ts' } }),
    bundle: true,
    write: false,
    minify: true,
    metafile: true,
    format: 'esm',
    platform: options.platform,
    ...(options.platform === 'browser' ? { conditions: ['worker', 'browser'], external: ['node:*'] } : {}),
    logLevel: 'silent',
  });
  const metafile: Metafile = result.metafile;
  const output = Object.values(metafile.outputs)[0];
  return {
    inputs: Object.keys(metafile.inputs),
    externals: output.imports.filter((entry) => entry.external).map((entry) => entry.path),
    bytes: result.outputFiles[0].contents.byteLength,
  };
}

describe('entry bundles', () => {
  let upstash: Bundle;
  let upstashClientAlone: Bundle;
  let elasticache: Bundle;

  beforeAll(async () => {
    [upstash, upstashClientAlone, elasticache] = await Promise.all([
      bundle({ entry: path.join(LIBRARY, 'upstash.ts'), platform: 'browser' }),
      bundle({ contents: "export { Redis } from '@upstash/redis';", platform: 'browser' }),
      bundle({ entry: path.join(LIBRARY, 'elasticache.ts'), platform: 'node' }),
    ]);
  }, 60_000);

  it('the Upstash entry bundles for the browser/worker platform with no ioredis, no node: built-ins and no Powertools', () => {
    expect(upstash.inputs.some((input) => input.includes('@upstash/redis'))).toBe(true);
    expect(upstash.inputs.some((input) => input.endsWith('redis/script-store.ts'))).toBe(true);
    expect(upstash.inputs.filter((input) => /ioredis|@aws-lambda-powertools|@aws-sdk/.test(input))).toEqual([]);
    expect(upstash.inputs.filter((input) => input.endsWith('ioredis-transport.ts') || input.endsWith('elasticache-client.ts'))).toEqual([]);
    expect(upstash.externals).toEqual([]);
  });

  // The Lua ships minified (redis/scripts/index.ts): about 12 KB of the bundle instead of 22 KB.
  it('the Upstash entry stays within 1.6 times the Upstash client alone (minified)', () => {
    const ratio = upstash.bytes / upstashClientAlone.bytes;
    process.stdout.write(`upstash entry ${upstash.bytes} B, @upstash/redis alone ${upstashClientAlone.bytes} B: ${ratio.toFixed(2)}x\n`);
    expect(ratio).toBeLessThanOrEqual(1.6);
  });

  it('the ElastiCache entry carries ioredis and no Upstash client', () => {
    expect(elasticache.inputs.some((input) => input.includes('node_modules/ioredis/'))).toBe(true);
    expect(elasticache.inputs.filter((input) => input.includes('@upstash/'))).toEqual([]);
  });
});
