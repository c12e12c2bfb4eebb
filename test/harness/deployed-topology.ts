/**
 * The deployed topology on one machine: every Lambda function bundled by esbuild as the CDK
 * construct bundles it, each container of each function a Node process of its own (module loaded
 * once at init, warm state kept between invocations, one invocation at a time), all invoked with
 * API Gateway proxy events against one shared backend (a redis-server, or the Upstash-compatible
 * server in front of it).
 *
 * What it shows that single-process tests cannot: state that lives in one container (connections,
 * circuit breakers, deny caches) against changes made through another, faults that hit one
 * container (a killed process, a blocked event loop) or all of them (Redis paused, killed,
 * restarted). Every invocation is recorded with its container, status and latency, so a scenario
 * can assert over every answer it caused.
 *
 * Unlike real Lambda, a function does not scale out: a call waits for a free container of its
 * function (the least busy one, or the one asked for). A dead container stays dead (its
 * invocations are recorded as `crashed`) until `replace()` starts a fresh, cold one.
 */
import { performance } from 'node:perf_hooks';
import { ROUTE_NAMES, type RouteName } from '../../lambda/shared/routes';
import type { ApiReply, ApiTransport } from '../support/http-scenarios';
import {
  BundledFunction,
  bundleHandlers,
  FunctionExitedError,
  InvocationTimeoutError,
  type Bundles,
  type ExitStatus,
} from '../support/lambda-bundle';
import { apiGatewayEvent, routeNameFor, type ApiCall } from '../support/lambda-events';
import { replyOf } from '../support/lambda-runtime';

export interface TopologyOptions {
  /** Environment of every function (backend, tiers, fail mode, deadline), as deployed. */
  readonly env: Readonly<Record<string, string>>;
  /** Containers per function. @default 2 for check, 1 for the others */
  readonly containers?: Partial<Readonly<Record<RouteName, number>>>;
  /** Bundles to reuse (bundling takes seconds); the caller then removes them. @default bundled here */
  readonly bundles?: Bundles;
  /** How long an invocation may take before it is recorded as `timeout`. @default 10,000 ms */
  readonly invocationTimeoutMs?: number;
}

export interface InvokeTarget {
  /** Index of the container of the call's function. @default the least busy one */
  readonly container?: number;
  /** Block that container's event loop this long once the invocation's backend request is sent. */
  readonly blockEventLoopMs?: number;
}

/** One invocation as the caller saw it. */
export interface InvocationRecord {
  readonly route: RouteName;
  readonly container: number;
  readonly pid: number;
  /** HTTP status, or what happened instead of an answer. */
  readonly status: number | 'timeout' | 'crashed';
  /** Latency seen by the caller (queueing behind another invocation of the container excluded). */
  readonly ms: number;
  /** performance.now() when the invocation was sent and when its answer came. */
  readonly sentAt: number;
  readonly answeredAt: number;
  /** The answer; undefined for `timeout` and `crashed`. */
  readonly reply: ApiReply | undefined;
  /** Whether the container's event loop was blocked during the invocation. */
  readonly blocked: boolean;
  /** TCP connections the container opened during the invocation (0 when warm connections were reused). */
  readonly newSockets: number;
  /** For `crashed`: how the container's process ended. */
  readonly exit?: ExitStatus;
}

/** One Lambda execution environment: a process, serving one invocation at a time. */
export class LambdaContainer {
  private queue: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(
    readonly route: RouteName,
    readonly index: number,
    private readonly fn: BundledFunction,
  ) {}

  get pid(): number {
    return this.fn.pid;
  }

  /** How the process ended; undefined while it is alive. */
  get exit(): ExitStatus | undefined {
    return this.fn.exit;
  }

  get alive(): boolean {
    return this.fn.exit === undefined;
  }

  /** Invocations queued or running. */
  get load(): number {
    return this.waiting;
  }

  /** The function's own output (structured logs, EMF), for assertions and failure messages. */
  get output(): readonly string[] {
    return this.fn.output;
  }

  ready(): Promise<unknown> {
    return this.fn.ready();
  }

  invoke(call: ApiCall, timeoutMs: number, blockEventLoopMs?: number): Promise<InvocationRecord> {
    this.waiting += 1;
    const turn = this.queue.then(() => this.invokeNow(call, timeoutMs, blockEventLoopMs));
    this.queue = turn.catch(() => undefined);
    return turn.finally(() => (this.waiting -= 1));
  }

  private async invokeNow(call: ApiCall, timeoutMs: number, blockEventLoopMs: number | undefined): Promise<InvocationRecord> {
    const sentAt = performance.now();
    const base = { route: this.route, container: this.index, pid: this.pid, sentAt };
    try {
      const message = await this.fn.invoke(apiGatewayEvent(call), {
        timeoutMs,
        ...(blockEventLoopMs === undefined ? {} : { blockEventLoopMs }),
      });
      const { result } = message;
      const text = result.isBase64Encoded ? Buffer.from(result.body, 'base64').toString('utf8') : result.body;
      const answeredAt = performance.now();
      const reply = replyOf(result.statusCode, result.headers ?? {}, text);
      return {
        ...base,
        status: result.statusCode,
        ms: answeredAt - sentAt,
        answeredAt,
        reply,
        blocked: message.blocked,
        newSockets: message.newSockets,
      };
    } catch (error) {
      const answeredAt = performance.now();
      const failed = { ...base, ms: answeredAt - sentAt, answeredAt, reply: undefined, blocked: false, newSockets: 0 };
      if (error instanceof FunctionExitedError) return { ...failed, status: 'crashed', exit: error.exit };
      if (error instanceof InvocationTimeoutError) return { ...failed, status: 'timeout' };
      throw error;
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitStatus> {
    return this.fn.kill(signal);
  }

  stop(): Promise<void> {
    return this.fn.stop();
  }
}

export class DeployedTopology {
  /** Every invocation made through the topology, in the order they were answered. */
  readonly records: InvocationRecord[] = [];
  private readonly fleet: Record<RouteName, LambdaContainer[]>;

  private constructor(
    private readonly bundles: Bundles,
    private readonly ownsBundles: boolean,
    private readonly env: Readonly<Record<string, string>>,
    private readonly timeoutMs: number,
    counts: Readonly<Record<RouteName, number>>,
  ) {
    this.fleet = Object.fromEntries(
      ROUTE_NAMES.map((route) => [route, Array.from({ length: counts[route] }, (_, index) => this.launch(route, index))]),
    ) as Record<RouteName, LambdaContainer[]>;
  }

  /** Bundles the handlers (unless given), starts every container and waits for their init. */
  static async start(options: TopologyOptions): Promise<DeployedTopology> {
    const counts = Object.fromEntries(
      ROUTE_NAMES.map((route) => [route, options.containers?.[route] ?? (route === 'check' ? 2 : 1)]),
    ) as Record<RouteName, number>;
    const bundles = options.bundles ?? (await bundleHandlers());
    const topology = new DeployedTopology(
      bundles,
      options.bundles === undefined,
      options.env,
      options.invocationTimeoutMs ?? 10_000,
      counts,
    );
    try {
      await Promise.all(topology.all().map((container) => container.ready()));
    } catch (error) {
      await topology.stop();
      throw error;
    }
    return topology;
  }

  private launch(route: RouteName, index: number): LambdaContainer {
    return new LambdaContainer(route, index, BundledFunction.start(this.bundles, route, { ...this.env }));
  }

  containers(route: RouteName): readonly LambdaContainer[] {
    return this.fleet[route];
  }

  all(): LambdaContainer[] {
    return ROUTE_NAMES.flatMap((route) => this.fleet[route]);
  }

  /** Delivers the call to a container of the function API Gateway would invoke for it, and records the outcome. */
  async invoke(call: ApiCall, target: InvokeTarget = {}): Promise<InvocationRecord> {
    const route = routeNameFor(call);
    const containers = this.fleet[route];
    const container =
      target.container === undefined
        ? containers.reduce((best, candidate) => (candidate.load < best.load ? candidate : best))
        : containers[target.container];
    if (!container) throw new Error(`${route} has no container ${target.container}`);
    const record = await container.invoke(call, this.timeoutMs, target.blockEventLoopMs);
    this.records.push(record);
    return record;
  }

  /** The scenario transport over this topology; a timeout or crash is a rejected call. */
  transport(): ApiTransport {
    return async (call) => {
      const record = await this.invoke(call);
      if (record.reply === undefined) throw new Error(`${record.route}#${record.container} (pid ${record.pid}): ${record.status}`);
      return record.reply;
    };
  }

  /** Starts a fresh (cold) container in place of container `index` of `route`, stopping the old one if alive. */
  async replace(route: RouteName, index: number): Promise<LambdaContainer> {
    const old = this.fleet[route][index];
    if (!old) throw new Error(`${route} has no container ${index}`);
    await old.stop();
    const fresh = this.launch(route, index);
    this.fleet[route][index] = fresh;
    await fresh.ready();
    return fresh;
  }

  /** Stops every container; removes the bundles if it made them. Idempotent. */
  async stop(): Promise<void> {
    await Promise.all(this.all().map((container) => container.stop()));
    if (this.ownsBundles) await this.bundles.remove();
  }
}
