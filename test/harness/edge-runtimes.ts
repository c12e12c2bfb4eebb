/**
 * Runs code in the two edge runtimes the Upstash entry promises to support, offline and on loopback:
 *
 * - Cloudflare's `workerd`, through miniflare (the same binary `wrangler dev` runs);
 * - Vercel's `edge-runtime`, the VM that Next.js uses locally for middleware and edge routes.
 *
 * Code reaches them the way it reaches production: bundled by esbuild for a browser-like platform
 * (conditions `worker`, `browser`), so a Node built-in anywhere in the import graph fails the bundle
 * here exactly as it would fail a Worker deploy. Every worker follows the module-worker shape
 * (`export default { fetch(request, env) }`); the edge-runtime host adapts it to a fetch listener and
 * hands it `process.env` as `env`, which is where Next.js exposes environment variables.
 */
import { build, type Message } from 'esbuild';
import { EdgeRuntime } from 'edge-runtime';
import { Miniflare } from 'miniflare';
import { relative, resolve } from 'node:path';

export type EdgeRuntimeName = 'workerd' | 'edge-runtime';
export const EDGE_RUNTIMES: readonly EdgeRuntimeName[] = ['workerd', 'edge-runtime'];

/** Environment a worker sees: Worker bindings in workerd, `process.env` in edge-runtime. */
export type EdgeEnvironment = Readonly<Record<string, string>>;

export interface EdgeResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** A worker running inside one of the runtimes; `fetch` dispatches one request into it. */
export interface EdgeHost {
  readonly runtime: EdgeRuntimeName;
  fetch(path: string, init?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<EdgeResponse>;
  stop(): Promise<void>;
}

const REPOSITORY_ROOT = resolve(__dirname, '..', '..');

/** The bundle failed: the message lists what could not be resolved, which is what a reader needs. */
export class EdgeBundleError extends Error {
  override readonly name = 'EdgeBundleError';
}

function describe(messages: readonly Message[]): string {
  return messages
    .map((message) => {
      const where = message.location ? `${message.location.file}:${message.location.line}` : 'unknown location';
      return `  - ${message.text} (imported at ${where})`;
    })
    .join('\n');
}

/**
 * Bundles a module worker for an edge runtime. `format: 'esm'` is what workerd loads; `'iife'` with
 * a fetch listener is what edge-runtime evaluates. `contents` bundles source text instead of a file
 * (adapters), resolved from the repository root.
 */
export async function bundleForEdge(source: { entry: string } | { contents: string }, format: 'esm' | 'iife'): Promise<string> {
  const input =
    'entry' in source
      ? { entryPoints: [resolve(REPOSITORY_ROOT, source.entry)] }
      : { stdin: { contents: source.contents, resolveDir: REPOSITORY_ROOT, loader: 'ts' as const, sourcefile: 'edge-adapter.ts' } };
  const label = 'entry' in source ? source.entry : 'an adapter';
  try {
    const result = await build({
      ...input,
      bundle: true,
      write: false,
      platform: 'browser',
      conditions: ['worker', 'browser'],
      format,
      target: 'es2022',
      logLevel: 'silent',
    });
    return result.outputFiles[0].text;
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors ?? [];
    throw new EdgeBundleError(
      `esbuild could not bundle ${label} for an edge runtime (platform browser, conditions worker+browser). ` +
        `Something in its import graph needs Node.js, which Cloudflare Workers and the Vercel Edge Runtime do not provide:\n` +
        (errors.length > 0 ? describe(errors) : `  ${String(error)}`),
    );
  }
}

/** Adapts a module worker to the fetch-listener form that edge-runtime evaluates. */
export function fetchListenerAdapter(workerEntry: string): string {
  const specifier = `./${relative(REPOSITORY_ROOT, resolve(REPOSITORY_ROOT, workerEntry)).split('\\').join('/')}`;
  return [
    `import worker from ${JSON.stringify(specifier)};`,
    `addEventListener('fetch', (event) => event.respondWith(worker.fetch(event.request, process.env)));`,
  ].join('\n');
}

async function toEdgeResponse(response: { status: number; headers: Headers; text(): Promise<string> }): Promise<EdgeResponse> {
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** Starts workerd with one ES-module worker; `bindings` become its `env`. */
export async function startWorkerd(moduleSource: string, bindings: EdgeEnvironment = {}): Promise<EdgeHost> {
  const miniflare = new Miniflare({
    modules: true,
    script: moduleSource,
    bindings: { ...bindings },
    compatibilityDate: '2025-01-01',
  });
  await miniflare.ready;
  return {
    runtime: 'workerd',
    fetch: async (path, init = {}) => toEdgeResponse(await miniflare.dispatchFetch(new URL(path, 'http://worker.test').href, init)),
    stop: () => miniflare.dispose(),
  };
}

/** Evaluates a fetch-listener script in edge-runtime; `env` is exposed as `process.env`, as Next.js does. */
export async function startEdgeRuntime(scriptSource: string, env: EdgeEnvironment = {}): Promise<EdgeHost> {
  const runtime = new EdgeRuntime({
    initialCode: scriptSource,
    extend: (context) => Object.assign(context, { process: { env: { ...env } } }),
  });
  return {
    runtime: 'edge-runtime',
    fetch: async (path, init = {}) => {
      const response = await runtime.dispatchFetch(new URL(path, 'http://edge.test').href, init);
      await response.waitUntil();
      return toEdgeResponse(response);
    },
    stop: async () => undefined,
  };
}

/** Bundles a module worker and starts it in the named runtime. */
export async function startWorker(runtime: EdgeRuntimeName, workerEntry: string, env: EdgeEnvironment = {}): Promise<EdgeHost> {
  if (runtime === 'workerd') return startWorkerd(await bundleForEdge({ entry: workerEntry }, 'esm'), env);
  return startEdgeRuntime(await bundleForEdge({ contents: fetchListenerAdapter(workerEntry) }, 'iife'), env);
}
