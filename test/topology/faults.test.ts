/**
 * Fault scenarios in the deployed topology (bundled handlers, 3 check containers, one container of
 * each other function), on both backends and both fail modes. Every answer's status and latency is
 * recorded by the harness; the assertions are over all of them:
 * - closed mode never answers 429 or 500 for an outage: 503 (Retry-After: 60) while the backend is
 *   away, within the deadline plus a margin, and 200 again once it is back;
 * - open mode never admits past a limit while Redis answers: degraded admissions only during the
 *   outage, exact counting before and after it;
 * - a blocked event loop does not turn an answer that Redis gave in time into a 503 (or a
 *   degraded admission);
 * - one creator's poisoned key (a value of the wrong type) fails that creator only: it never
 *   opens the circuit for every other creator.
 */
import type { Bundles } from '../support/lambda-bundle';
import { bundleHandlers } from '../support/lambda-bundle';
import type { DeployedTopology, InvocationRecord } from '../harness/deployed-topology';
import { startRedis, type RedisProcess } from '../harness/redis-process';
import type { UpstashCompatibleServer } from '../harness/upstash-compatible-server';
import {
  CHECK_CONTAINERS,
  check,
  describeRecords,
  poisonCreator,
  sleep,
  startTopology,
  startUpstashFor,
  TOPOLOGY_BACKENDS,
  topologyEnv,
  uniqueCreator,
  type TopologyBackend,
} from './topology-backends';

jest.setTimeout(180_000);

/** The backend deadline of the functions here. */
const TIMEOUT_MS = 300;
/** An answer during an outage comes within the deadline plus this (IPC, a loaded machine). */
const LATENCY_MARGIN_MS = 1500;
/** How long the backend may take to be used again once it is back (breaker cool-down, reconnect). */
const RECOVERY_MS = 5000;

let bundles: Bundles;
beforeAll(async () => {
  bundles = await bundleHandlers();
});
afterAll(async () => {
  await bundles?.remove();
});

const containers = Array.from({ length: CHECK_CONTAINERS }, (_, index) => index);

/** Checks fresh creators on every check container, round after round, for `durationMs`. */
async function loadDuring(topology: DeployedTopology, durationMs: number, label: string): Promise<InvocationRecord[]> {
  const records: InvocationRecord[] = [];
  const until = Date.now() + durationMs;
  while (Date.now() < until) {
    records.push(
      ...(await Promise.all(containers.map((container) => topology.invoke(check(uniqueCreator(label), 'burst'), { container })))),
    );
  }
  return records;
}

/** Polls every check container with fresh creators until each answers a non-degraded 200, within RECOVERY_MS. */
async function recovered(topology: DeployedTopology): Promise<InvocationRecord[]> {
  const started = Date.now();
  const records: InvocationRecord[] = [];
  await Promise.all(
    containers.map(async (container) => {
      while (Date.now() - started < RECOVERY_MS) {
        const record = await topology.invoke(check(uniqueCreator('recovery'), 'burst'), { container });
        records.push(record);
        if (record.status === 200 && record.reply?.body.degraded === false) return;
        await sleep(100);
      }
    }),
  );
  const healthy = containers.filter((container) =>
    records.some((record) => record.container === container && record.status === 200 && record.reply?.body.degraded === false),
  );
  expect({ healthy, records: describeRecords(records) }).toMatchObject({ healthy: containers });
  return records;
}

function expectOutageAnswers(records: readonly InvocationRecord[], mode: 'closed' | 'open'): void {
  const wrong = records.filter((record) =>
    mode === 'closed'
      ? record.status !== 503 || record.reply?.headers['retry-after'] !== '60'
      : record.status !== 200 || record.reply?.body.degraded !== true,
  );
  expect(describeRecords(wrong)).toBe('');
  const slow = records.filter((record) => record.ms > TIMEOUT_MS + LATENCY_MARGIN_MS);
  expect(describeRecords(slow)).toBe('');
}

/** A creator exhausted on `burst` (10 a minute) while Redis answers. */
async function exhausted(topology: DeployedTopology): Promise<string> {
  const creatorId = uniqueCreator('exhausted');
  const records = await Promise.all(Array.from({ length: 12 }, () => topology.invoke(check(creatorId, 'burst'))));
  expect(records.map((record) => record.status).sort()).toEqual([...Array(10).fill(200), 429, 429]);
  return creatorId;
}

/** Admissions of `creatorId` that were counted by Redis (not degraded), over everything recorded. */
function countedAdmissions(topology: DeployedTopology, creatorId: string): number {
  return topology.records.filter(
    (record) => record.status === 200 && record.reply?.body.creatorId === creatorId && record.reply.body.degraded === false,
  ).length;
}

describe.each(TOPOLOGY_BACKENDS.flatMap((backend) => (['closed', 'open'] as const).map((mode) => [backend, mode] as const)))(
  '%s, fail mode %s',
  (backend: TopologyBackend, mode) => {
    let redis: RedisProcess;
    let upstash: UpstashCompatibleServer | undefined;
    let topology: DeployedTopology;

    beforeAll(async () => {
      redis = await startRedis();
      // The REST server gives up on a stalled Redis after 2 s; the functions' deadline is shorter.
      if (backend === 'upstash') upstash = await startUpstashFor(redis, 2000);
      topology = await startTopology(
        bundles,
        topologyEnv(backend, redis, upstash, { RATE_LIMIT_FAIL_MODE: mode, RATE_LIMIT_TIMEOUT_MS: String(TIMEOUT_MS) }),
      );
      // Warm containers, as in production: each has answered once before a fault is injected.
      await recovered(topology);
    });
    afterAll(async () => {
      await topology?.stop();
      await upstash?.stop();
      await redis?.stop();
    });

    it("Redis paused: every answer during the pause is the fail mode's, in time; all containers recover", async () => {
      const creatorId = await exhausted(topology);
      redis.pause();
      let during: InvocationRecord[];
      let exhaustedDuring: InvocationRecord[];
      try {
        during = await loadDuring(topology, 2000, 'paused');
        exhaustedDuring = await Promise.all(containers.map((container) => topology.invoke(check(creatorId, 'burst'), { container })));
      } finally {
        redis.resume();
      }
      expectOutageAnswers(during, mode);
      // The exhausted creator: denied (a denial the backend computed) or the fail mode's answer, never a 500.
      expect(
        exhaustedDuring.filter((record) => record.status === 500 || record.status === 'timeout' || record.status === 'crashed'),
      ).toEqual([]);
      if (mode === 'closed') expect(exhaustedDuring.filter((record) => record.status === 200)).toEqual([]);
      await recovered(topology);
      // Open mode: nothing past the limit was counted while Redis answered.
      expect((await topology.invoke(check(creatorId, 'burst'))).status).toBe(429);
      expect(countedAdmissions(topology, creatorId)).toBe(10);
    });

    it("Redis killed, then restarted empty: the fail mode's answers while it is down, exact counting after", async () => {
      await redis.kill();
      let during: InvocationRecord[];
      try {
        during = await loadDuring(topology, 1500, 'killed');
      } finally {
        await redis.restart();
      }
      expectOutageAnswers(during, mode);
      await recovered(topology);
      const creatorId = uniqueCreator('after-restart');
      const records = await Promise.all(Array.from({ length: 30 }, () => topology.invoke(check(creatorId, 'burst'))));
      const statuses = records.map((record) => (record.reply?.body.degraded ? 'degraded' : record.status));
      expect({
        admitted: statuses.filter((status) => status === 200).length,
        denied: statuses.filter((status) => status === 429).length,
      }).toEqual({
        admitted: 10,
        denied: 20,
      });
    });

    it('an event loop blocked while Redis answers in time does not make the answer a 503 or a degraded admission', async () => {
      const outcomes: InvocationRecord[] = [];
      for (const container of containers) {
        const record = await topology.invoke(check(uniqueCreator('blocked'), 'burst'), { container, blockEventLoopMs: TIMEOUT_MS * 3 });
        outcomes.push(record);
      }
      expect(outcomes.every((record) => record.blocked)).toBe(true);
      const wrong = outcomes.filter((record) => record.status !== 200 || record.reply?.body.degraded !== false);
      expect(`${describeRecords(wrong)} ${wrong.map((record) => record.reply?.body.type ?? '').join(' ')}`.trim()).toBe('');
    });

    it('a poisoned key fails its creator only: every other creator is still admitted by every container', async () => {
      const poisoned = uniqueCreator('poisoned');
      expect((await topology.invoke(check(poisoned, 'tokens', { tokens: 10, requestId: `${poisoned}-r` }))).status).toBe(200);
      expect(await poisonCreator(redis, poisoned)).toBeGreaterThan(0);
      // More failures per container than the circuit breaker's threshold (5).
      const poisonedAnswers = await Promise.all(
        containers.flatMap((container) =>
          Array.from({ length: 8 }, () => topology.invoke(check(poisoned, 'tokens', { tokens: 10 }), { container })),
        ),
      );
      // A backend error is never a quota denial; in closed mode it never admits either.
      expect(
        describeRecords(
          poisonedAnswers.filter((record) => record.status === 429 || record.status === 'timeout' || record.status === 'crashed'),
        ),
      ).toBe('');
      if (mode === 'closed') expect(describeRecords(poisonedAnswers.filter((record) => record.status === 200))).toBe('');
      const others = await Promise.all(
        containers.map((container) => topology.invoke(check(uniqueCreator('neighbour'), 'burst'), { container })),
      );
      const wrong = others.filter((record) => record.status !== 200 || record.reply?.body.degraded !== false);
      expect(describeRecords(wrong)).toBe('');
    });
  },
);
