/**
 * The Redis scripts against their specification, the memory store: random sequences of check,
 * reserve, settle, status, reset and override set/get/remove for a few creators and tiers (shadow
 * policies among them), on one controlled clock, run
 * against both (the scripts on a real redis-server, through the codec, with the test-only clock
 * argument). Every reply must be the same, and so must the state each one exposes.
 */
import fc from 'fast-check';
import { IoredisTransport } from '../../../lambda/rate-limit/redis/ioredis-transport';
import { RedisScriptStore } from '../../../lambda/rate-limit/redis/script-store';
import { MemoryStore } from '../../../lambda/rate-limit/store/memory-store';
import type { PolicySpec, RateLimitStore } from '../../../lambda/rate-limit/store/store';
import { uniqueKeyPrefix, useRedisClient } from '../../support/backends';

/** Tiers that share policy names (usage is stored by name), with windows short enough to roll. */
const TIERS: Record<string, { policies: PolicySpec[]; leaseMs: number }> = {
  burst: { policies: [{ name: 'per-2s', kind: 'requests', limit: 3, windowMs: 2000 }], leaseMs: 4000 },
  layered: {
    policies: [
      { name: 'per-2s', kind: 'requests', limit: 3, windowMs: 2000 },
      { name: 'per-10s', kind: 'requests', limit: 5, windowMs: 10_000 },
    ],
    leaseMs: 4000,
  },
  metered: {
    policies: [
      { name: 'per-10s', kind: 'requests', limit: 5, windowMs: 10_000 },
      { name: 'tokens-5s', kind: 'tokens', limit: 100, windowMs: 5000 },
      { name: 'in-flight', kind: 'concurrent', limit: 2, windowMs: 3000 },
    ],
    leaseMs: 3000,
  },
  /** A window longer than the 5-minute anomaly window. */
  patient: { policies: [{ name: 'per-10min', kind: 'requests', limit: 8, windowMs: 600_000 }], leaseMs: 4000 },
  /**
   * Shadow policies of every kind; the shadow "per-2s" shares its name with the enforcing one of
   * other tiers and must never count against it (nor it against the shadow one).
   */
  shadowed: {
    policies: [
      { name: 'per-10s', kind: 'requests', limit: 5, windowMs: 10_000 },
      { name: 'per-2s', kind: 'requests', limit: 1, windowMs: 2000, shadow: true },
      { name: 'tokens-5s', kind: 'tokens', limit: 40, windowMs: 5000, shadow: true },
      { name: 'in-flight', kind: 'concurrent', limit: 1, windowMs: 3000, shadow: true },
    ],
    leaseMs: 3000,
  },
  tokensOnly: {
    policies: [
      { name: 'tokens-5s', kind: 'tokens', limit: 100, windowMs: 5000 },
      { name: 'in-flight', kind: 'concurrent', limit: 1, windowMs: 3000 },
    ],
    leaseMs: 3000,
  },
};
const TOKEN_HISTORY_MS = 5000;
const REQUEST_POLICY_NAMES = ['per-2s', 'per-10s', 'per-10min', 'shadow:per-2s'];
const OVERRIDABLE = ['per-2s', 'per-10s', 'tokens-5s', 'in-flight'];
const retentionOf = (tier: string) => Math.max(TIERS[tier].leaseMs, ...TIERS[tier].policies.map((policy) => policy.windowMs));

const creator = fc.constantFrom('alice', 'bob');
const tier = fc.constantFrom(...Object.keys(TIERS));
const requestId = fc.constantFrom('q1', 'q2', 'q3', 'q4');

const command = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 400, max: 6000 })),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('check' as const),
      creator,
      tier,
      requestId: fc.option(requestId, { nil: undefined }),
      threshold: fc.constantFrom(0, 4),
      locallyDenied: fc.constantFrom(0, 0, 1, 2),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('reserve' as const),
      creator,
      tier,
      requestId,
      tokens: fc.integer({ min: 0, max: 70 }),
      threshold: fc.constantFrom(0, 4),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('settle' as const),
      creator,
      requestId,
      tokens: fc.integer({ min: 0, max: 90 }),
      statusOf: fc.option(tier, { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('status' as const), creator, tier }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reset' as const), creator }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('setOverride' as const),
      creator,
      limits: fc.dictionary(fc.constantFrom(...OVERRIDABLE), fc.integer({ min: 1, max: 12 }), { minKeys: 1 }),
      expiresIn: fc.option(fc.integer({ min: 1, max: 8000 }), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('getOverride' as const), creator }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removeOverride' as const), creator }) },
);
type Command = typeof command extends fc.Arbitrary<infer T> ? T : never;

/** Runs one command against a store and returns what it answered. */
async function apply(store: RateLimitStore, step: Exclude<Command, { op: 'advance' }>, now: number): Promise<unknown> {
  switch (step.op) {
    case 'check': {
      const { policies, leaseMs } = TIERS[step.tier];
      const record = step.requestId === undefined ? undefined : { requestId: step.requestId, retentionMs: retentionOf(step.tier), leaseMs };
      return store.check({
        creatorId: step.creator,
        policies,
        anomaly: { threshold: step.threshold, locallyDenied: step.locallyDenied },
        record,
      });
    }
    case 'reserve': {
      const { policies, leaseMs } = TIERS[step.tier];
      return store.reserve({
        creatorId: step.creator,
        policies,
        anomaly: { threshold: step.threshold, locallyDenied: 0 },
        record: { requestId: step.requestId, retentionMs: retentionOf(step.tier), leaseMs },
        tokens: step.tokens,
        tokenHistoryMs: TOKEN_HISTORY_MS,
      });
    }
    case 'settle':
      return store.settle({
        creatorId: step.creator,
        requestId: step.requestId,
        actualTokens: step.tokens,
        tokenHistoryMs: TOKEN_HISTORY_MS,
        statusOf: step.statusOf === undefined ? undefined : TIERS[step.statusOf].policies,
      });
    case 'status':
      return store.status({ creatorId: step.creator, policies: TIERS[step.tier].policies });
    case 'reset':
      return store.reset(step.creator, REQUEST_POLICY_NAMES);
    case 'setOverride': {
      const expiresAt = step.expiresIn === undefined ? undefined : now + step.expiresIn;
      return {
        override: await store.setOverride(step.creator, { limits: step.limits, expiresAt, reason: `differential | ${step.creator}` }),
      };
    }
    case 'getOverride':
      return { override: await store.getOverride(step.creator) };
    case 'removeOverride':
      return { removed: await store.removeOverride(step.creator) };
  }
}

/** The kinds of answer, and the paths of the rule, that an answer shows. */
function kindsOf(answer: unknown, policies: readonly PolicySpec[] | undefined): string[] {
  if (answer === undefined) return ['reset'];
  const outcome = answer as {
    kind?: string;
    cause?: string;
    result?: string;
    override?: unknown;
    removed?: boolean;
    usage?: { limit?: number }[];
    shadowDenials?: unknown[];
  };
  if ('override' in outcome) return [outcome.override ? 'override' : 'no-override'];
  if ('removed' in outcome) return [outcome.removed ? 'removed' : 'nothing-to-remove'];
  const kinds = [outcome.kind === 'denied' ? `denied:${outcome.cause}` : (outcome.kind ?? outcome.result ?? 'status')];
  if ((outcome.shadowDenials?.length ?? 0) > 0 && outcome.kind === 'admitted') kinds.push('shadow-would-deny');
  if (policies && outcome.usage?.some((usage, index) => usage.limit !== policies[index].limit)) kinds.push('override-applied');
  return kinds;
}

function policiesOf(step: Exclude<Command, { op: 'advance' }>): readonly PolicySpec[] | undefined {
  return 'tier' in step ? TIERS[step.tier].policies : undefined;
}

function sameAnswer(index: number, step: Command, fromMemory: unknown, fromRedis: unknown): void {
  try {
    expect(fromRedis).toEqual(fromMemory);
  } catch (error) {
    throw new Error(`after step ${index} ${JSON.stringify(step)}: ${(error as Error).message}`, { cause: error });
  }
}

const server = useRedisClient();
let transport: IoredisTransport;

beforeAll(() => {
  transport = new IoredisTransport(server.client, 5000);
});

it('memory store and Redis scripts give the same answers to any sequence of operations', async () => {
  let runs = 0;
  // The kinds of answers the sequences produced: the comparison covered each path of the rule.
  const seen = new Set<string>();
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 80, size: 'max' }), async (steps) => {
      runs += 1;
      let now = 1_900_000_000_000;
      const clock = () => now;
      const memory = new MemoryStore(clock);
      const scripts = new RedisScriptStore('elasticache', transport, { keyPrefix: uniqueKeyPrefix(), testClock: clock });
      for (const [index, step] of steps.entries()) {
        if (step.op === 'advance') {
          now += step.ms;
          continue;
        }
        const fromMemory = await apply(memory, step, now);
        for (const kind of kindsOf(fromMemory, policiesOf(step))) seen.add(kind);
        sameAnswer(index, step, fromMemory, await apply(scripts, step, now));
        // The state a status exposes, for every tier, after every step.
        for (const name of Object.keys(TIERS)) {
          const read = { op: 'status', creator: step.creator, tier: name } as const;
          sameAnswer(index, read, await apply(memory, read, now), await apply(scripts, read, now));
        }
      }
    }),
    { numRuns: 150 },
  );
  expect(runs).toBeGreaterThanOrEqual(150);
  expect([...seen].sort()).toEqual(
    [
      'admitted',
      'already-settled',
      'denied:reservations',
      'denied:usage',
      'expired',
      'replay',
      'reset',
      'settled',
      'status',
      'unknown',
      'override',
      'no-override',
      'removed',
      'nothing-to-remove',
      'override-applied',
      'shadow-would-deny',
    ].sort(),
  );
}, 300_000);
