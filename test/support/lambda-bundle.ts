/**
 * Handlers bundled as they are deployed, and run in a fresh Node process the way the Lambda
 * runtime runs them: the module is loaded once (init), then `handler` is invoked per event.
 *
 * Bundling mirrors the CDK construct (lib/constructs/rate-limit-function.ts): esbuild, CJS,
 * minified (class names are not kept), source maps, and its FUNCTION_BUNDLING settings (target,
 * externals, aliases). The AWS SDK is found through NODE_PATH, as the Lambda Node.js runtime
 * provides it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { build } from 'esbuild';
import { FUNCTION_BUNDLING } from '../../lib/constructs/function-bundling';
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
    target: FUNCTION_BUNDLING.target,
    format: 'cjs',
    minify: FUNCTION_BUNDLING.minify,
    keepNames: FUNCTION_BUNDLING.keepNames,
    sourcemap: true,
    sourcesContent: false,
    external: [...FUNCTION_BUNDLING.external],
    alias: FUNCTION_BUNDLING.alias,
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
 * stdin, one at a time, like the Lambda runtime. It counts TCP client sockets the process opens
 * (diagnostics channel `net.client.socket`, which ioredis and fetch both go through), so a test can
 * see a connection being reused. Protocol lines are prefixed so they stand apart from the
 * function's own logs on stdout; each answer carries the id of its invocation.
 *
 * `blockMs` on an invocation blocks the event loop for that long once the invocation's first
 * backend request is on the wire (a long GC pause or a CPU-bound neighbour): the backend's answer
 * then waits in the socket while the request's deadline timer expires.
 */
const RUNNER = `'use strict';
const dc = require('node:diagnostics_channel');
const readline = require('node:readline');
let sockets = 0;
// Held in module variables: channels are weakly referenced and a collected one loses its subscribers.
const socketChannel = dc.channel('net.client.socket');
socketChannel.subscribe(() => { sockets += 1; });
const say = (message) => process.stdout.write(${JSON.stringify(MARK)} + JSON.stringify(message) + '\\n');
const sdkLoaded = () => Object.keys(require.cache).some((file) => file.includes('@aws-sdk'));
// Node loads fetch's implementation (undici) on first use; its internal module list says whether it has.
const fetchLoaded = () => process.moduleLoadList.some((name) => name.includes('undici'));
const busyWait = (ms) => { const end = Date.now() + ms; while (Date.now() < end) { /* blocked */ } };
// fetch (Upstash) writes its request some ticks after the call; ioredis (ElastiCache) writes it
// before the current callback's microtasks end, so the next check phase follows the write.
let blockAfterFetchSent;
const bodySentChannel = dc.channel('undici:request:bodySent');
bodySentChannel.subscribe(() => { const block = blockAfterFetchSent; blockAfterFetchSent = undefined; if (block) block(); });
const armBlock = (ms, onBlocked) => {
  const block = () => { busyWait(ms); onBlocked(); };
  if (process.env.RATE_LIMIT_BACKEND === 'upstash') blockAfterFetchSent = block;
  else setImmediate(block);
};
const started = process.hrtime.bigint();
const mod = require(process.argv[2]);
say({ type: 'ready', initMs: Number(process.hrtime.bigint() - started) / 1e6, sockets, sdkLoaded: sdkLoaded(), fetchLoaded: fetchLoaded(), pid: process.pid });
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
  const id = message.id;
  const before = sockets;
  const start = process.hrtime.bigint();
  let blocked = false;
  try {
    const pending = mod.handler(message.event, context());
    if (message.blockMs) armBlock(message.blockMs, () => { blocked = true; });
    const result = await pending;
    say({ type: 'result', id, result, newSockets: sockets - before, totalSockets: sockets, ms: Number(process.hrtime.bigint() - start) / 1e6, sdkLoaded: sdkLoaded(), blocked });
  } catch (error) {
    say({ type: 'error', id, message: String((error && error.stack) || error) });
  }
});
`;

export interface ReadyMessage {
  readonly initMs: number;
  readonly sockets: number;
  readonly sdkLoaded: boolean;
  /** Whether fetch's implementation (undici) was loaded by the end of init. */
  readonly fetchLoaded: boolean;
  readonly pid: number;
}

export interface InvocationMessage {
  readonly result: APIGatewayProxyResult;
  /** TCP client sockets opened during this invocation. */
  readonly newSockets: number;
  /** TCP client sockets opened since the process started (init included). */
  readonly totalSockets: number;
  readonly ms: number;
  readonly sdkLoaded: boolean;
  /** Whether the event loop was blocked during the invocation (InvokeOptions.blockEventLoopMs). */
  readonly blocked: boolean;
}

export interface InvokeOptions {
  /** How long to wait for the answer. @default 15,000 ms */
  readonly timeoutMs?: number;
  /** Block the function's event loop this long once its first backend request is sent. */
  readonly blockEventLoopMs?: number;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The function process ended (crashed, killed or stopped) before answering. */
export class FunctionExitedError extends Error {
  constructor(
    readonly exit: ExitStatus,
    output: readonly string[],
  ) {
    super(`function process exited (code ${exit.code}, signal ${exit.signal}):\n${output.slice(-20).join('\n')}`);
  }
}

/** No answer within the invocation's timeout (the process may still be running). */
export class InvocationTimeoutError extends Error {}

type Message = Record<string, unknown>;

/** One bundled function in its own Node process. */
export class BundledFunction {
  private readonly pending = new Map<number, (message: Message) => void>();
  private readyMessage: Message | undefined;
  private readyWaiters: Array<(message: Message) => void> = [];
  private nextId = 0;
  /** Everything else the process wrote (its JSON logs and EMF records). */
  readonly output: string[] = [];
  private exitStatus: ExitStatus | undefined;
  private readonly exited: Promise<ExitStatus>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith(MARK)) {
        this.output.push(line);
        return;
      }
      const message = JSON.parse(line.slice(MARK.length)) as Message;
      if (message.type === 'ready') {
        this.readyMessage = message;
        for (const waiter of this.readyWaiters.splice(0)) waiter(message);
        return;
      }
      const waiter = this.pending.get(message.id as number);
      this.pending.delete(message.id as number);
      waiter?.(message);
    });
    createInterface({ input: child.stderr }).on('line', (line) => this.output.push(line));
    // Writing to a process that just died must not crash the test run: the exit is reported instead.
    child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        const exit: Message = { type: 'exit' };
        for (const waiter of [...this.pending.values(), ...this.readyWaiters.splice(0)]) waiter(exit);
        this.pending.clear();
        resolve(this.exitStatus);
      });
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
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        ...env,
      },
      stdio: 'pipe',
    });
    return new BundledFunction(child);
  }

  /** The process id (one per Lambda container). */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** How the process ended; undefined while it runs. */
  get exit(): ExitStatus | undefined {
    return this.exitStatus;
  }

  private await(register: (resolve: (message: Message) => void) => void, timeoutMs: number): Promise<Message> {
    if (this.exitStatus) return Promise.reject(new FunctionExitedError(this.exitStatus, this.output));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new InvocationTimeoutError(`no answer within ${timeoutMs} ms:\n${this.output.slice(-20).join('\n')}`)),
        timeoutMs,
      );
      register((message) => {
        clearTimeout(timer);
        if (message.type === 'exit') reject(new FunctionExitedError(this.exitStatus!, this.output));
        else resolve(message);
      });
    });
  }

  async ready(timeoutMs = 15_000): Promise<ReadyMessage> {
    const message = this.readyMessage ?? (await this.await((resolve) => this.readyWaiters.push(resolve), timeoutMs));
    return message as unknown as ReadyMessage;
  }

  /**
   * Sends one event and waits for its answer. Rejects with FunctionExitedError if the process
   * ends first, InvocationTimeoutError if no answer comes in time; a late answer is discarded.
   */
  async invoke(event: APIGatewayProxyEvent, options: InvokeOptions = {}): Promise<InvocationMessage> {
    const id = (this.nextId += 1);
    const answer = this.await((resolve) => this.pending.set(id, resolve), options.timeoutMs ?? 15_000);
    answer.catch(() => this.pending.delete(id));
    this.child.stdin.write(`${JSON.stringify({ type: 'invoke', id, event, blockMs: options.blockEventLoopMs })}\n`);
    const message = await answer;
    if (message.type !== 'result') throw new Error(`invocation failed: ${JSON.stringify(message)}\n${this.output.join('\n')}`);
    return message as unknown as InvocationMessage;
  }

  /** Sends `signal` (SIGKILL: the container dies as on an out-of-memory or a crash) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitStatus> {
    if (!this.exitStatus) this.child.kill(signal);
    return this.exited;
  }

  /** Asks the process to exit and waits for it. */
  async stop(): Promise<void> {
    if (this.exitStatus) return;
    this.child.stdin.write(`${JSON.stringify({ type: 'exit' })}\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
