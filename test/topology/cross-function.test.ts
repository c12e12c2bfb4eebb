/**
 * Cross-function scenarios in the deployed topology: 3 check containers and one container of each
 * other function, every one a bundled handler in its own process, against one redis-server
 * (ElastiCache bundles) or the Upstash-compatible server in front of it (Upstash bundles).
 *
 * The coherence bound: a change of a creator's state made through one process (reset, refund via
 * settle, lease release) is honoured by every other process within 1 s. Each check container is
 * first made to see the creator denied (so whatever it keeps locally says "denied"), then the
 * change is made through another function, then every check container is polled until it admits.
 * The delay is measured from the answer of the change to the sending of the first admitted poll,
 * and must stay under the bound plus COHERENCE_MARGIN_MS. A failed attempt is retried once on a
 * fresh creator, so one stall of a loaded machine does not fail the run; a second failure does.
 */
import type { Bundles } from '../support/lambda-bundle';
import { bundleHandlers } from '../support/lambda-bundle';
import type { DeployedTopology, InvocationRecord } from '../harness/deployed-topology';
import { startRedis, type RedisProcess } from '../harness/redis-process';
import type { UpstashCompatibleServer } from '../harness/upstash-compatible-server';
import {
  CHECK_CONTAINERS,
  check,
  COHERENCE_BOUND_MS,
  COHERENCE_MARGIN_MS,
  describeRecords,
  pollContainer,
  startTopology,
  startUpstashFor,
  TOPOLOGY_BACKENDS,
  topologyEnv,
  uniqueCreator,
} from './topology-backends';

jest.setTimeout(120_000);

let bundles: Bundles;
let redis: RedisProcess;
let upstash: UpstashCompatibleServer;

beforeAll(async () => {
  [bundles, redis] = await Promise.all([bundleHandlers(), startRedis()]);
  upstash = await startUpstashFor(redis);
});

afterAll(async () => {
  await upstash?.stop();
  await redis?.stop();
  await bundles?.remove();
});

const containers = Array.from({ length: CHECK_CONTAINERS }, (_, index) => index);

interface CoherenceOutcome {
  /** Per check container: ms from the change's answer to the first admitted poll (Infinity if none). */
  readonly delays: number[];
  readonly polls: InvocationRecord[];
}

/**
 * Polls every check container with `poll` until it admits, from `changedAt` on; returns the
 * delays. Stops polling a container once the bound plus margin (and a little more) has passed.
 */
async function honouredBy(topology: DeployedTopology, poll: () => object, changedAt: number): Promise<CoherenceOutcome> {
  const limit = COHERENCE_BOUND_MS + COHERENCE_MARGIN_MS + 500;
  const perContainer = await Promise.all(
    containers.map((container) => pollContainer(topology, container, poll, (record) => record.status === 200, changedAt, limit)),
  );
  const delays = perContainer.map((records) => {
    const admitted = records.find((record) => record.status === 200);
    return admitted ? Math.max(0, admitted.sentAt - changedAt) : Infinity;
  });
  return { delays, polls: perContainer.flat() };
}

/** Runs `attempt` on a fresh creator; once more on another if a delay exceeded the bound plus margin. */
async function withinBound(label: string, attempt: (creatorId: string) => Promise<CoherenceOutcome>): Promise<void> {
  let outcome = await attempt(uniqueCreator(label));
  const late = (result: CoherenceOutcome) => result.delays.some((delay) => delay > COHERENCE_BOUND_MS + COHERENCE_MARGIN_MS);
  if (late(outcome)) outcome = await attempt(uniqueCreator(`${label}-retry`));
  const message = `delays per check container: ${outcome.delays.map((delay) => Math.round(delay)).join(', ')} ms; polls: ${describeRecords(outcome.polls)}`;
  expect({ message, late: late(outcome) }).toEqual({ message, late: false });
  // Nothing but admissions and quota denials while the change propagates.
  expect(outcome.polls.filter((record) => record.status !== 200 && record.status !== 429)).toEqual([]);
}

/** Every check container sees the creator denied by `call`. */
async function deniedEverywhere(topology: DeployedTopology, call: object): Promise<void> {
  for (const container of containers) {
    const record = await topology.invoke(call as never, { container });
    expect(`${record.status}`).toBe('429');
  }
}

describe.each(TOPOLOGY_BACKENDS)('deployed topology on %s', (backend) => {
  let topology: DeployedTopology;
  beforeAll(async () => {
    topology = await startTopology(bundles, topologyEnv(backend, redis, upstash));
  });
  afterAll(async () => {
    await topology?.stop();
  });

  it('admits exactly the limit under concurrent load spread over every check container', async () => {
    for (const round of [1, 2]) {
      const creatorId = uniqueCreator(`burst-${round}`);
      const records = await Promise.all(Array.from({ length: 40 }, () => topology.invoke(check(creatorId, 'burst'))));
      const statuses = records.map((record) => record.status);
      expect(new Set(records.map((record) => record.container)).size).toBe(CHECK_CONTAINERS);
      expect({
        admitted: statuses.filter((status) => status === 200).length,
        denied: statuses.filter((status) => status === 429).length,
      }).toEqual({
        admitted: 10,
        denied: 30,
      });
    }
  });

  it('reset through the reset function is honoured by every check container within 1 s', async () => {
    await withinBound('reset', async (creatorId) => {
      // The wide tier's 100 a minute, one denial per container, then the polls: well below the
      // anomaly threshold (2x the limit), past which a container lets one check through to the
      // backend to count attempts, which would hide stale local state.
      const admitted = await Promise.all(Array.from({ length: 100 }, () => topology.invoke(check(creatorId, 'wide'))));
      expect(admitted.filter((record) => record.status === 200)).toHaveLength(100);
      await deniedEverywhere(topology, check(creatorId, 'wide'));
      const reset = await topology.invoke({ method: 'POST', path: '/v1/reset', body: { creatorId, tier: 'wide' } });
      expect(reset.status).toBe(200);
      expect(reset.reply?.headers['x-ratelimit-remaining']).toBe('100');
      return honouredBy(topology, () => check(creatorId, 'wide'), reset.answeredAt);
    });
  });

  it('a refund through the settle function is honoured by every check container within 1 s', async () => {
    await withinBound('refund', async (creatorId) => {
      // The whole daily token budget reserved, then refunded in full by the settlement.
      const reserved = await topology.invoke(check(creatorId, 'tokens', { tokens: 900, requestId: `${creatorId}-r1` }));
      expect(reserved.status).toBe(200);
      await deniedEverywhere(topology, check(creatorId, 'tokens', { tokens: 300 }));
      const settle = await topology.invoke({
        method: 'POST',
        path: '/v1/settle',
        body: { creatorId, tier: 'tokens', requestId: `${creatorId}-r1`, tokens: 0 },
      });
      expect(settle.status).toBe(200);
      // The backend has the budget back: any later 429 is state kept in a check container.
      const status = await topology.invoke({ method: 'GET', path: `/v1/status/${creatorId}?tier=tokens` });
      expect(status.reply?.body.policies.find((policy: { name: string }) => policy.name === 'tokens-per-day')).toMatchObject({
        remaining: 900,
      });
      // Three reservations of 300 fit the refunded 900: one per container.
      return honouredBy(topology, () => check(creatorId, 'tokens', { tokens: 300 }), settle.answeredAt);
    });
  });

  it('lease release through the settle function is honoured by every check container within 1 s', async () => {
    await withinBound('lease', async (creatorId) => {
      const held = containers.map((index) => `${creatorId}-lease-${index}`);
      for (const requestId of held) expect((await topology.invoke(check(creatorId, 'leases', { tokens: 1, requestId }))).status).toBe(200);
      await deniedEverywhere(topology, check(creatorId, 'leases', { tokens: 1 }));
      let releasedAt = 0;
      for (const requestId of held) {
        const settle = await topology.invoke({
          method: 'POST',
          path: '/v1/settle',
          body: { creatorId, tier: 'leases', requestId, tokens: 1 },
        });
        expect(settle.reply?.body).toMatchObject({ outcome: 'settled' });
        releasedAt = settle.answeredAt;
      }
      return honouredBy(topology, () => check(creatorId, 'leases', { tokens: 1 }), releasedAt);
    });
  });

  it('after a denial, every check container admits again once the window has moved, and not before', async () => {
    const creatorId = uniqueCreator('recovery');
    const windowMs = TOPOLOGY_WINDOW_MS;
    const first = await topology.invoke(check(creatorId, 'brief'), { container: 0 });
    for (let index = 1; index < CHECK_CONTAINERS; index += 1) await topology.invoke(check(creatorId, 'brief'), { container: index });
    const admissions = topology.records.filter((record) => record.reply?.body?.creatorId === creatorId && record.status === 200);
    expect(admissions).toHaveLength(CHECK_CONTAINERS);
    const lastAdmitted = admissions[admissions.length - 1];
    await deniedEverywhere(topology, check(creatorId, 'brief'));
    // Every slot is free once the last admission is a window old; polls then have the bound to see it.
    const freeAt = lastAdmitted.answeredAt + windowMs;
    const polls = await Promise.all(
      containers.map((container) =>
        pollContainer(
          topology,
          container,
          () => check(creatorId, 'brief'),
          (record) => record.status === 200,
          freeAt,
          COHERENCE_BOUND_MS + COHERENCE_MARGIN_MS + 500,
        ),
      ),
    );
    const all = polls.flat();
    // Exact: no admission while the first admission is less than a window old (50 ms for clock reading).
    const early = all.filter((record) => record.status === 200 && record.answeredAt < first.sentAt + windowMs - 50);
    expect(describeRecords(early)).toBe('');
    const delays = polls.map((records) => {
      const admitted = records.find((record) => record.status === 200);
      return admitted ? Math.max(0, admitted.sentAt - freeAt) : Infinity;
    });
    expect({
      delays: delays.map(Math.round),
      late: delays.some((delay) => delay > COHERENCE_BOUND_MS + COHERENCE_MARGIN_MS),
    }).toMatchObject({ late: false });
    expect(all.filter((record) => record.status !== 200 && record.status !== 429)).toEqual([]);
  });
});

/** The `brief` tier's window. */
const TOPOLOGY_WINDOW_MS = 3000;
