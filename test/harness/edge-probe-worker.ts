/**
 * A module worker for the edge test bed itself: it bundles the unmodified `@upstash/redis` client
 * (nothing of this repository) and, per request, runs an INCR and a Lua script that reads the
 * server's TIME through the Upstash-compatible server. It reports which runtime it ran in, so the
 * test can tell that the code really ran inside workerd or edge-runtime and not in Node.
 */
import { Redis } from '@upstash/redis';

interface ProbeEnvironment {
  readonly UPSTASH_REDIS_REST_URL: string;
  readonly UPSTASH_REDIS_REST_TOKEN: string;
}

declare const EdgeRuntime: string | undefined;

const TIME_SCRIPT = "local t = redis.call('TIME') return {t[1], t[2]}";

function runtimeName(): string {
  if (typeof EdgeRuntime === 'string') return `edge-runtime:${EdgeRuntime}`;
  const { navigator } = globalThis as { navigator?: { userAgent?: string } };
  if (navigator?.userAgent === 'Cloudflare-Workers') return 'workerd';
  return 'unknown';
}

export default {
  async fetch(request: Request, env: ProbeEnvironment): Promise<Response> {
    const redis = new Redis({
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
      enableAutoPipelining: false,
      enableTelemetry: false,
      retry: { retries: 0 },
    });
    const key = new URL(request.url).searchParams.get('key') ?? 'edge-probe';
    try {
      const counter = await redis.incr(key);
      const [seconds] = await redis.eval<[], [string, string]>(TIME_SCRIPT, [], []);
      return Response.json({
        runtime: runtimeName(),
        hasNodeProcess: typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string',
        counter,
        serverSeconds: Number(seconds),
      });
    } catch (error) {
      return Response.json({ runtime: runtimeName(), error: String(error) }, { status: 500 });
    }
  },
};
