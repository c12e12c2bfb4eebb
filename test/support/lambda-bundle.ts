/**
 * Handlers bundled as they are deployed, and run in a fresh Node process the way the Lambda
 * runtime runs them: the module is loaded once (init), then `handler` is invoked per event.
 *
 * Bundling mirrors the CDK construct (lib/constructs/rate-limit-function.ts): esbuild, CJS,
 * minified with kept names, source maps, `@aws-sdk/*` external. The AWS SDK is found through
 * NODE_PATH, as the Lambda Node.js runtime provides it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { build } from 'esbuild';
import { ROUTE_NAMES, type RouteName } from '../../lambda/shared/routes';

const ROOT = resolve(__dirname, '..', '..');
const MARK = '@@runner ';

export interface Bundles {
  readonly dir: string;
  readonly files: Readonly<Record<RouteName, string>>;
  readonly bytes: Readonly<Record<RouteName, number>>;
  remove(): Promise<void>;
}

export async function bundleHandlers(): Promise<Bundles> {
  const dir = await mkdtemp(join(tmpdir(), 'rate-limit-bundles-'));
  await build({
    entryPoints: Object.fromEntries(ROUTE_NAMES.map((name) => [name, join(ROOT, 'lambda', 'handlers', `${name}.ts`)])),
    outdir: dir,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    keepNames: true,
    sourcemap: true,
    sourcesContent: false,
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
  });
  await writeFile(join(dir, 'runner.js'), RUNNER);
  const files = {} as Record<RouteName, string>;
  const bytes = {} as Record<RouteName, number>;
  for (const name of ROUTE_NAMES) {
    files[name] = join(dir, `${name}.js`);
    bytes[name] = (await stat(files[name])).size;
  }
  return { dir, files, bytes, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * The runner: loads the bundle, reports init, then invokes `handler` for each event read from
 * stdin. It counts TCP client sockets the process opens (diagnostics channel `net.client.socket`,
 * which ioredis and fetch both go through), so a test can see a connection being reused.
 * Protocol lines are prefixed so they stand apart from the function's own logs on stdout.
 */
const RUNNER = `'use strict';
const dc = require('node:diagnostics_channel');
const readline = require('node:readline');
let sockets = 0;
// Held in a module variable: channels are weakly referenced and a collected one loses its subscribers.
const socketChannel = dc.channel('net.client.socket');
socketChannel.subscribe(() => { sockets += 1; });
const say = (message) => process.stdout.write(${JSON.stringify(MARK)} + JSON.stringify(message) + '\\n');
const sdkLoaded = () => Object.keys(require.cache).some((file) => file.includes('@aws-sdk'));
const started = process.hrtime.bigint();
const mod = require(process.argv[2]);
say({ type: 'ready', initMs: Number(process.hrtime.bigint() - started) / 1e6, sockets, sdkLoaded: sdkLoaded() });
let invocation = 0;
const context = () => {
  invocation += 1;
  const deadline = Date.now() + 5000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:' + process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: '256',
    awsRequestId: 'invocation-' + invocation,
    logGroupName: '/aws/lambda/' + process.env.AWS_LAMBDA_FUNCTION_NAME,
    logStreamName: 'runner',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
};
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const message = JSON.parse(line);
  if (message.type === 'exit') process.exit(0);
  const before = sockets;
  const start = process.hrtime.bigint();
  try {
    const result = await mod.handler(message.event, context());
    say({ type: 'result', result, newSockets: sockets - before, totalSockets: sockets, ms: Number(process.hrtime.bigint() - start) / 1e6, sdkLoaded: sdkLoaded() });
  } catch (error) {
    say({ type: 'error', message: String((error && error.stack) || error) });
  }
});
`;

export interface ReadyMessage {
  readonly initMs: number;
  readonly sockets: number;
  readonly sdkLoaded: boolean;
}

export interface InvocationMessage {
  readonly result: APIGatewayProxyResult;
  /** TCP client sockets opened during this invocation. */
  readonly newSockets: number;
  /** TCP client sockets opened since the process started (init included). */
  readonly totalSockets: number;
  readonly ms: number;
  readonly sdkLoaded: boolean;
}

/** One bundled function in its own Node process. */
export class BundledFunction {
  private readonly messages: Array<Record<string, unknown>> = [];
  private readonly waiters: Array<(message: Record<string, unknown>) => void> = [];
  /** Everything else the process wrote (its JSON logs and EMF records). */
  readonly output: string[] = [];
  private exited = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith(MARK)) {
        this.output.push(line);
        return;
      }
      const message = JSON.parse(line.slice(MARK.length)) as Record<string, unknown>;
      const waiter = this.waiters.shift();
      if (waiter) waiter(message);
      else this.messages.push(message);
    });
    createInterface({ input: child.stderr }).on('line', (line) => this.output.push(line));
    child.on('exit', () => {
      this.exited = true;
      for (const waiter of this.waiters.splice(0)) waiter({ type: 'exit' });
    });
  }

  static start(bundles: Bundles, route: RouteName, env: Record<string, string>): BundledFunction {
    const child = spawn(process.execPath, [join(bundles.dir, 'runner.js'), bundles.files[route]], {
      cwd: bundles.dir,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_PATH: join(ROOT, 'node_modules'),
        NODE_OPTIONS: '--enable-source-maps',
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_NAME: `creator-rate-limit-${route}`,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
        ...env,
      },
      stdio: 'pipe',
    });
    return new BundledFunction(child);
  }

  private next(timeoutMs = 15_000): Promise<Record<string, unknown>> {
    const queued = this.messages.shift();
    if (queued) return Promise.resolve(queued);
    if (this.exited) return Promise.reject(new Error(`function process exited:\n${this.output.join('\n')}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms:\n${this.output.join('\n')}`)), timeoutMs);
      this.waiters.push((message) => {
        clearTimeout(timer);
        if (message.type === 'exit') reject(new Error(`function process exited:\n${this.output.join('\n')}`));
        else resolve(message);
      });
    });
  }

  async ready(): Promise<ReadyMessage> {
    const message = await this.next();
    if (message.type !== 'ready') throw new Error(`expected ready, got ${JSON.stringify(message)}`);
    return message as unknown as ReadyMessage;
  }

  async invoke(event: APIGatewayProxyEvent): Promise<InvocationMessage> {
    this.child.stdin.write(`${JSON.stringify({ type: 'invoke', event })}\n`);
    const message = await this.next();
    if (message.type !== 'result') throw new Error(`invocation failed: ${JSON.stringify(message)}\n${this.output.join('\n')}`);
    return message as unknown as InvocationMessage;
  }

  /** Asks the process to exit and waits for it. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.write(`${JSON.stringify({ type: 'exit' })}\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
