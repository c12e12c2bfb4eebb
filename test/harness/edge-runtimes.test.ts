/**
 * The edge test bed works: a bundle of the official @upstash/redis client runs inside workerd and
 * inside edge-runtime, and reaches the Upstash-compatible server (and the real redis-server behind
 * it) over loopback HTTP. Also: a bundle that needs Node.js fails with a message that says so.
 */

import { EDGE_RUNTIMES, EdgeBundleError, bundleForEdge, startWorker, type EdgeHost } from './edge-runtimes';
import { useUpstashTestServers } from '../support/upstash-servers';

const TOKEN = 'edge-bed-token';
const servers = useUpstashTestServers(TOKEN);

describe.each(EDGE_RUNTIMES)('%s', (runtime) => {
  let host: EdgeHost;

  beforeAll(async () => {
    host = await startWorker(runtime, 'test/harness/edge-probe-worker.ts', {
      UPSTASH_REDIS_REST_URL: servers.upstash.url,
      UPSTASH_REDIS_REST_TOKEN: TOKEN,
    });
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('runs @upstash/redis inside the runtime against the loopback server, commands and scripts', async () => {
    const key = `edge-probe-${runtime}`;
    servers.upstash.resetStats();
    const before = Math.floor(Date.now() / 1000);
    const responses = await Promise.all(Array.from({ length: 10 }, () => host.fetch(`/?key=${key}`)));
    const bodies = responses.map((response) => {
      expect(response.status).toBe(200);
      return JSON.parse(response.body) as { runtime: string; hasNodeProcess: boolean; counter: number; serverSeconds: number };
    });

    // Really inside the runtime: it identifies itself, and Node's process object is not there.
    for (const body of bodies) {
      expect(body.runtime).toMatch(runtime === 'workerd' ? /^workerd$/ : /^edge-runtime:/);
      expect(body.hasNodeProcess).toBe(false);
      expect(body.serverSeconds).toBeGreaterThanOrEqual(before - 5);
    }
    // Every INCR reached the real redis-server, each exactly once.
    expect(bodies.map((body) => body.counter).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await servers.inspector.get(key)).toBe('10');
    // Two HTTP requests per worker request (INCR, EVAL), all over loopback HTTP.
    expect(servers.upstash.stats.httpRequests).toBe(20);
  });

  it('sees a wrong token as an error from the server', async () => {
    const other = await startWorker(runtime, 'test/harness/edge-probe-worker.ts', {
      UPSTASH_REDIS_REST_URL: servers.upstash.url,
      UPSTASH_REDIS_REST_TOKEN: 'not-the-token',
    });
    try {
      const response = await other.fetch('/?key=edge-probe-denied');
      expect(response.status).toBe(500);
      expect(JSON.parse(response.body).error).toMatch(/WRONGPASS|unauthori[sz]ed/i);
      expect(await servers.inspector.exists('edge-probe-denied')).toBe(0);
    } finally {
      await other.stop();
    }
  });
});

describe('bundleForEdge', () => {
  it('fails with a message naming the Node.js import when the graph needs Node', async () => {
    const attempt = bundleForEdge({ contents: "import { createHash } from 'node:crypto'; export default createHash;" }, 'esm');
    await expect(attempt).rejects.toThrow(EdgeBundleError);
    await expect(attempt).rejects.toThrow(/needs Node\.js[\s\S]*node:crypto/);
  });
});
