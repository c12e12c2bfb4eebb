/**
 * `npm run bench [-- --quick] [--reps N] [--out FILE.md] [--svg FILE.svg] [--json FILE.json]`
 *
 * Starts its own redis-server on a free loopback port (no persistence), measures this project's
 * limiter side by side with rate-limiter-flexible, @upstash/ratelimit and a bare-EVALSHA floor,
 * plus the Lambda budget, and writes the Markdown report with its SVG chart (docs/benchmarks.md
 * and docs/benchmarks.svg by default).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { runBench } from './bench';
import { renderChart } from './chart';
import { parseOptions, UsageError } from './options';
import { renderReport } from './report';

async function main(): Promise<void> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      if (error.message) console.error(error.message);
      console.error(error.usage);
      process.exitCode = error.message ? 2 : 0;
      return;
    }
    throw error;
  }
  const started = Date.now();
  const log = (message: string): void => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
  const result = await runBench(options, log);
  const svg = renderChart(result);
  const markdown = renderReport(result, {
    chartLink: path.relative(path.dirname(options.outMarkdown), options.outSvg).split(path.sep).join('/'),
  });
  await mkdir(path.dirname(options.outMarkdown), { recursive: true });
  await mkdir(path.dirname(options.outSvg), { recursive: true });
  await writeFile(options.outMarkdown, markdown);
  await writeFile(options.outSvg, svg);
  if (options.outJson) {
    await mkdir(path.dirname(options.outJson), { recursive: true });
    await writeFile(options.outJson, JSON.stringify(result, null, 2) + '\n');
  }
  log(`wrote ${path.relative(process.cwd(), options.outMarkdown)} and ${path.relative(process.cwd(), options.outSvg)}`);
}

main().then(
  // Lingering sockets (HTTP keep-alive of the Upstash client) must not keep the process alive.
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
