/**
 * Each script through the codec, on a real redis-server: the call an operation makes, and the typed
 * outcome its reply decodes to. (The differential test compares whole sequences with the memory
 * store; these pin down single calls and the decoder's refusals.)
 */
import {
  decodeAdmission,
  decodeOverride,
  decodeRemoveOverride,
  decodeSettle,
  decodeStatus,
  encodeCheck,
  encodeGetOverride,
  encodeRemoveOverride,
  encodeReserve,
  encodeSetOverride,
  encodeSettle,
  encodeStatus,
  type ScriptCall,
} from '../../../lambda/rate-limit/redis/codec';
import { SCRIPTS } from '../../../lambda/rate-limit/redis/scripts';
import type { PolicySpec } from '../../../lambda/rate-limit/store/store';
import { uniqueKeyPrefix, useRedisClient } from '../../support/backends';

const POLICIES: PolicySpec[] = [
  { name: 'per-minute', kind: 'requests', limit: 2, windowMs: 60_000 },
  { name: 'tokens-hour', kind: 'tokens', limit: 500, windowMs: 3_600_000 },
  { name: 'in-flight', kind: 'concurrent', limit: 1, windowMs: 30_000 },
];
const NOW = 1_900_000_000_000;
const anomaly = { threshold: 0, locallyDenied: 0 };

const server = useRedisClient();

function run({ script, keys, args }: ScriptCall): Promise<unknown> {
  return server.client.eval(SCRIPTS[script], keys.length, ...keys, ...args);
}

it('check, reserve, status and settle each run the usage script under their name and decode to typed outcomes', async () => {
  const context = { keyPrefix: uniqueKeyPrefix(), clockMs: NOW };
  const creatorId = 'codec';
  const check = encodeCheck({ creatorId, policies: POLICIES, anomaly, record: undefined }, context);
  expect([check.script, check.args.at(-1)]).toEqual(['usage', 'check']);
  expect(decodeAdmission(await run(check), 3)).toEqual({
    kind: 'admitted',
    now: NOW,
    reservedTokens: 0,
    anomaly: undefined,
    shadowDenials: [],
    usage: [
      { used: 1, reserved: 0, reset: NOW + 60_000, limit: 2 },
      { used: 0, reserved: 0, reset: NOW, limit: 500 },
      { used: 0, reserved: 0, reset: NOW, limit: 1 },
    ],
  });

  const record = { requestId: 'job-1', retentionMs: 3_600_000, leaseMs: 30_000 };
  const reserve = encodeReserve(
    { creatorId, policies: POLICIES, anomaly, record, tokens: 300, tokenHistoryMs: 3_600_000 },
    { ...context, clockMs: NOW + 10 },
  );
  expect([reserve.script, reserve.args.at(-1)]).toEqual(['usage', 'reserve']);
  expect(decodeAdmission(await run(reserve), 3)).toMatchObject({
    kind: 'admitted',
    reservedTokens: 300,
    usage: [{ used: 2 }, { reserved: 300 }, { used: 1, reset: NOW + 10 + 30_000 }],
  });

  const replay = decodeAdmission(await run({ ...reserve, args: reserve.args.map((arg, i) => (i === 0 ? String(NOW + 20) : arg)) }), 3);
  expect(replay).toMatchObject({ kind: 'replay', admittedAt: NOW + 10, reservedTokens: 300 });

  const denied = decodeAdmission(
    await run(encodeCheck({ creatorId, policies: POLICIES, anomaly, record: undefined }, { ...context, clockMs: NOW + 30 })),
    3,
  );
  expect(denied).toMatchObject({ kind: 'denied', deniedIndex: 0, retryMs: 60_000 - 30, cause: 'usage' });

  const status = encodeStatus({ creatorId, policies: POLICIES }, { ...context, clockMs: NOW + 40 });
  expect([status.script, status.args.at(-1)]).toEqual(['usage', 'status']);
  expect(decodeStatus(await run(status), 3)).toMatchObject({
    now: NOW + 40,
    usage: [{ used: 2 }, { used: 0, reserved: 300 }, { used: 1 }],
  });

  const settle = encodeSettle(
    { creatorId, requestId: 'job-1', actualTokens: 120, tokenHistoryMs: 3_600_000, statusOf: POLICIES },
    { ...context, clockMs: NOW + 50 },
  );
  expect([settle.script, settle.args.at(-1)]).toEqual(['usage', 'settle']);
  expect(decodeSettle(await run(settle), 3)).toMatchObject({
    result: 'settled',
    reservedTokens: 300,
    chargedTokens: 120,
    usage: [{ used: 2 }, { used: 120, reserved: 0 }, { used: 0 }],
  });
  const again = encodeSettle(
    { creatorId, requestId: 'job-1', actualTokens: 0, tokenHistoryMs: 3_600_000, statusOf: undefined },
    { ...context, clockMs: NOW + 60 },
  );
  expect(decodeSettle(await run(again), 0)).toEqual({
    result: 'already-settled',
    now: NOW + 60,
    reservedTokens: 300,
    chargedTokens: 120,
    usage: undefined,
  });
});

it('an override is written, read with the limits it applies, lapses at its expiry, and is removed', async () => {
  const context = { keyPrefix: uniqueKeyPrefix(), clockMs: NOW };
  const creatorId = 'overridden';
  const reason = 'launch week | a reason may hold any character: ,=|';
  const set = encodeSetOverride(creatorId, { limits: { 'per-minute': 3, 'in-flight': 2 }, expiresAt: NOW + 1000, reason }, context);
  expect(set.script).toBe('override');
  expect(set.keys).toEqual([`${context.keyPrefix}:{${creatorId}}:o`]);
  const written = { limits: { 'per-minute': 3, 'in-flight': 2 }, expiresAt: NOW + 1000, reason, setAt: NOW };
  expect(decodeOverride(await run(set))).toEqual(written);
  expect(decodeOverride(await run(encodeGetOverride(creatorId, { ...context, clockMs: NOW + 999 })))).toEqual(written);

  // A check reads it in the same script call: three admissions pass a per-minute limit of 2.
  for (let i = 1; i <= 3; i += 1) {
    const admitted = decodeAdmission(
      await run(encodeCheck({ creatorId, policies: POLICIES, anomaly, record: undefined }, { ...context, clockMs: NOW + i })),
      3,
    );
    expect(admitted).toMatchObject({ kind: 'admitted', usage: [{ used: i, limit: 3 }, { limit: 500 }, { limit: 2 }] });
  }
  const status = decodeStatus(await run(encodeStatus({ creatorId, policies: POLICIES }, { ...context, clockMs: NOW + 1000 })), 3);
  expect(status.usage.map((usage) => usage.limit)).toEqual([2, 500, 1]); // lapsed at its expiry
  expect(decodeOverride(await run(encodeGetOverride(creatorId, { ...context, clockMs: NOW + 1000 })))).toBeUndefined();
  expect(decodeRemoveOverride(await run(encodeRemoveOverride(creatorId, { ...context, clockMs: NOW + 1000 })))).toBe(false);

  await run(
    encodeSetOverride(creatorId, { limits: { 'per-minute': 9 }, expiresAt: undefined, reason: 'r' }, { ...context, clockMs: NOW + 2000 }),
  );
  expect(decodeRemoveOverride(await run(encodeRemoveOverride(creatorId, { ...context, clockMs: NOW + 2001 })))).toBe(true);
  expect(await server.client.exists(set.keys[0])).toBe(0);
});

it('a shadow policy keeps its own log, never denies, and reports how long it would have', async () => {
  const context = { keyPrefix: uniqueKeyPrefix(), clockMs: NOW };
  const policies: PolicySpec[] = [
    { name: 'per-minute', kind: 'requests', limit: 5, windowMs: 60_000 },
    { name: 'per-minute-next', kind: 'requests', limit: 1, windowMs: 60_000, shadow: true },
  ];
  const checkAt = (at: number) =>
    run(encodeCheck({ creatorId: 'dark', policies, anomaly, record: undefined }, { ...context, clockMs: at })).then((reply) =>
      decodeAdmission(reply, 2),
    );
  expect(await checkAt(NOW)).toMatchObject({ kind: 'admitted', shadowDenials: [] });
  expect(await checkAt(NOW + 100)).toMatchObject({
    kind: 'admitted',
    shadowDenials: [{ index: 1, retryMs: 60_000 - 100 }],
    usage: [{ used: 2 }, { used: 2 }],
  });
  expect(await server.client.exists(`${context.keyPrefix}:{dark}:log:shadow:per-minute-next`)).toBe(1);
});

it('the usage script refuses an operation it does not know, writing nothing', async () => {
  const context = { keyPrefix: uniqueKeyPrefix(), clockMs: NOW };
  const check = encodeCheck({ creatorId: 'unknown-op', policies: POLICIES, anomaly, record: undefined }, context);
  await expect(run({ ...check, args: [...check.args.slice(0, -1), 'admit'] })).rejects.toThrow(/unknown operation admit/);
  expect(await server.client.keys(`${context.keyPrefix}*`)).toEqual([]);
});

it('without a test clock the scripts read the server clock', async () => {
  const call = encodeStatus({ creatorId: 'clocked', policies: POLICIES }, { keyPrefix: uniqueKeyPrefix() });
  expect(call.args[0]).toBe('');
  const [seconds] = await server.client.time();
  const { now } = decodeStatus(await run(call), 3);
  expect(Math.abs(now - Number(seconds) * 1000)).toBeLessThan(5000);
});

it('refuses replies of the wrong shape, naming what it got', () => {
  expect(() => decodeAdmission([1, 2, 3], 1)).toThrow(/malformed script reply: \[1,2,3\]/);
  expect(() => decodeStatus([NOW, 'x', 0, 0], 1)).toThrow(/malformed/);
  expect(() => decodeAdmission([7, NOW, 0, 0, 0, 0, 0, 0, 0, NOW, 0, 0], 0)).toThrow(/unknown admission outcome 7/);
  expect(() => decodeOverride([NOW, 'garbage'])).toThrow(/malformed override value: garbage/);
  expect(() => decodeOverride(['x'])).toThrow(/malformed override reply/);
  expect(() => decodeSettle([9, NOW, 0, 0], 0)).toThrow(/unknown settle result 9/);
});
