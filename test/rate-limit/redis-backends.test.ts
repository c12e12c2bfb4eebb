/**
 * What only a real Redis can show: exactness under heavy concurrency, one round trip per check,
 * the key layout (one hash tag, a TTL on every key) and the server clock.
 */
import { creatorKeyBase, creatorKeys, keyList, recordKey, requestLogKey } from '../../lambda/rate-limit/redis/keys';
import { STORE_CONSTANTS } from '../../lambda/rate-limit/store/constants';
import type { TierTable } from '../../lambda/rate-limit';
import { REDIS_BACKENDS, uniqueKeyPrefix, useTestServers } from '../support/backends';
import { overrideCoherenceScenario } from '../support/conformance-scenarios';
import { SINGLE, exactnessScenarios } from '../support/exactness-scenarios';

const servers = useTestServers();

/** Redis's hash tag rule: the first "{...}" with something inside decides the slot. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open !== -1 && close > open + 1 ? key.slice(open + 1, close) : key;
}

/** Successful calls per command since the last CONFIG RESETSTAT (CONFIG itself left out). */
async function commandStats(): Promise<Record<string, number>> {
  const info = await servers.inspector.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),.*failed_calls=(\d+)/gm)) {
    if (!match[1].startsWith('config')) calls[match[1]] = Number(match[2]) - Number(match[3]);
  }
  return calls;
}

/** Redis's count of socket reads it processed (INFO stats), across all clients. */
async function readsProcessed(): Promise<number> {
  return Number(/total_reads_processed:(\d+)/.exec(await servers.inspector.info('stats'))![1]);
}

describe.each(REDIS_BACKENDS)('%s backend on a real Redis', (backend) => {
  exactnessScenarios((options) => servers.limiter(backend, options));
  overrideCoherenceScenario((options) => servers.limiter(backend, options), uniqueKeyPrefix);

  it('decides on the Redis server clock', async () => {
    const limiter = servers.limiter(backend, { tiers: SINGLE });
    const [beforeSeconds, beforeMicros] = await servers.inspector.time();
    const decision = await limiter.check('clocked', 'hundred');
    const [afterSeconds, afterMicros] = await servers.inspector.time();
    const before = Number(beforeSeconds) * 1000 + Math.floor(Number(beforeMicros) / 1000);
    const after = Number(afterSeconds) * 1000 + Math.floor(Number(afterMicros) / 1000);
    expect(decision.at).toBeGreaterThanOrEqual(before);
    expect(decision.at).toBeLessThanOrEqual(after);
    expect(decision.reset).toBe(decision.at + 3600_000);
  });

  it('keeps all keys of a creator under one non-empty hash tag, each with a TTL', async () => {
    const prefix = `layout-${backend}`;
    const limiter = servers.limiter(backend, { keyPrefix: prefix }); // default tiers: requests, tokens, in-flight
    const creators = ['plain', '}starts-with-brace', 'has{braces}inside', '%7B'];
    for (const creator of creators) {
      const decision = await limiter.check(creator, 'pro', { tokens: 100, requestId: `req-${creators.indexOf(creator)}` });
      await limiter.settle(creator, 'pro', decision.requestId, 40);
      await limiter.check(creator, 'pro', { requestId: `plain-${creators.indexOf(creator)}` });
    }
    // Per creator: the state (token sums; the lease was released), the request log, the ledger and
    // one key per record. No reset happened, so there is no generation key.
    const ours = await servers.inspector.keys(`${prefix}:*`);
    expect(ours.length).toBe(creators.length * 5);
    for (const creator of creators) {
      const keys = creatorKeys(creator, prefix);
      const index = creators.indexOf(creator);
      const all = [...keyList(keys, ['requests-per-hour']), recordKey(keys.base, `req-${index}`), recordKey(keys.base, `plain-${index}`)];
      const mine = ours.filter((key) => all.includes(key));
      expect(mine).toHaveLength(5);
      expect(new Set(mine.map(hashTag)).size).toBe(1);
      expect(hashTag(mine[0])).not.toBe(mine[0]);
    }
    for (const key of ours) expect(await servers.inspector.pttl(key)).toBeGreaterThan(0);
  });

  it('drops the entries that left the window, so a busy log stays under limit + 16 entries', async () => {
    const prefix = `compact-${backend}`;
    const tiers: TierTable = { burst: { policies: [{ name: 'per-1s', unit: 'requests', limit: 40, windowSeconds: 1 }] } };
    const limiter = servers.limiter(backend, { tiers, keyPrefix: prefix, denyCache: false });
    const key = requestLogKey(creatorKeyBase('busy', prefix), 'per-1s');
    let admitted = 0;
    let longest = 0;
    const until = Date.now() + 3500;
    while (Date.now() < until) {
      const decision = await limiter.check('busy', 'burst').catch(() => undefined);
      if (decision) admitted += 1;
      longest = Math.max(longest, await servers.inspector.strlen(key));
    }
    expect(admitted).toBeGreaterThanOrEqual(3 * 40); // several windows' worth went through the log
    // Text log: a header of 4 numbers, then one number per admission, TIME_DIGITS digits each.
    const { TIME_DIGITS } = STORE_CONSTANTS;
    expect(longest).toBeGreaterThan(TIME_DIGITS * (4 + 40));
    expect(longest).toBeLessThanOrEqual(TIME_DIGITS * (4 + 40 + 16)); // header + live entries + fewer than 16 dropped-late ones
    expect((await limiter.status('busy', 'burst')).remaining).toBeLessThanOrEqual(40);
  });
});

describe('round trips', () => {
  it('elasticache: after warm-up each check is exactly one command from the client (EVALSHA)', async () => {
    const limiter = servers.limiter('elasticache', { tiers: SINGLE });
    await limiter.check('warm', 'hundred');
    const monitor = await servers.inspector.duplicate().monitor();
    const seen: Array<{ command: string; source: string }> = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ command: args[0].toLowerCase(), source }));
    for (let i = 0; i < 20; i += 1) await limiter.check(`rt-${i % 4}`, 'hundred');
    await new Promise((resolve) => setTimeout(resolve, 200));
    monitor.disconnect();
    const fromClient = seen.filter((entry) => entry.source !== 'lua');
    expect(fromClient.map((entry) => entry.command)).toEqual(Array(20).fill('evalsha'));
  });

  it('elasticache: a single-policy check costs 4 Redis commands including those inside the script, admitted or denied', async () => {
    const limiter = servers.limiter('elasticache', { tiers: SINGLE, keyPrefix: 'cost' });
    // A creator's first admission creates the log (SET with its TTL); later ones append to it. One
    // MGET reads the log and the creator's override together: an override costs no command.
    for (let i = 0; i < 5; i += 1) await limiter.check(`cost-${i}`, 'hundred');
    await servers.inspector.config('RESETSTAT');
    for (let i = 0; i < 50; i += 1) await limiter.check(`cost-${i % 5}`, 'hundred');
    const stats = await commandStats();
    expect(stats).toEqual({ evalsha: 50, time: 50, mget: 50, append: 50 });
    // The log the first admission created outlives its newest entry by a window, and no more than
    // two: every entry still counted is kept, and an idle creator's log goes away.
    const ttl = await servers.inspector.pttl(requestLogKey(creatorKeyBase('cost-0', 'cost'), 'requests-per-hour'));
    expect(ttl).toBeGreaterThan(3600_000);
    expect(ttl).toBeLessThanOrEqual(7200_000);

    // A denial that reaches Redis (deny cache off) reads once and writes only the anomaly counter.
    const strict = servers.limiter('elasticache', { tiers: SINGLE, denyCache: false });
    for (let i = 0; i < 100; i += 1) await strict.check('cost-denied', 'hundred');
    await servers.inspector.config('RESETSTAT');
    for (let i = 0; i < 10; i += 1) await expect(strict.check('cost-denied', 'hundred')).rejects.toThrow(/rate limit/i);
    expect(await commandStats()).toEqual({ evalsha: 10, time: 10, mget: 10, setrange: 10 });
  });

  it('elasticache: on the default tier, a check and a reservation touch the token ledger only to write', async () => {
    // `pro`: a request window, a token window and an in-flight cap. Once the creator's state holds
    // the token sums (with the time of their oldest entry, still inside the window), a plain check
    // reads nothing but the one MGET, and a reservation adds its ledger entry, state and record.
    const limiter = servers.limiter('elasticache', { keyPrefix: 'ledger-reads' });
    await limiter.check('reader', 'pro', { tokens: 10, requestId: 'first' });
    await limiter.check('reader', 'pro'); // loads the usage script
    await servers.inspector.config('RESETSTAT');
    for (let i = 0; i < 5; i += 1) await limiter.check('reader', 'pro');
    expect(await commandStats()).toEqual({ evalsha: 5, time: 5, mget: 5, append: 5 });
    await servers.inspector.config('RESETSTAT');
    await limiter.check('reader', 'pro', { tokens: 10, requestId: 'second' });
    expect(await commandStats()).toEqual({ evalsha: 1, time: 1, mget: 1, append: 1, zadd: 1, set: 2 });
  });

  it('elasticache: settle is one script call of 7 commands; settleWithStatus reads usage in the same MGET', async () => {
    // The default `pro` tier: a request window, a token window and an in-flight cap.
    const limiter = servers.limiter('elasticache');
    await limiter.check('settler', 'pro', { tokens: 100, requestId: 'plain' });
    await limiter.check('settler', 'pro', { tokens: 100, requestId: 'with-status' });

    await servers.inspector.config('RESETSTAT');
    await limiter.settle('settler', 'pro', 'plain', 50);
    const plain = await commandStats();
    await servers.inspector.config('RESETSTAT');
    await limiter.settleWithStatus('settler', 'pro', 'with-status', 50);
    const withStatus = await commandStats();

    // One MGET reads the state, the generation and the record; the status reads (override, request
    // log) join that same MGET, so asking for usage adds no command. The ledger entry is replaced
    // (ZREM, ZADD), the state (lease released) and the record (settled) are written once each.
    expect(plain).toEqual({ evalsha: 1, time: 1, mget: 1, zrem: 1, zadd: 1, set: 2 });
    expect(withStatus).toEqual(plain);
  });

  it('elasticache: checks sent in one tick leave in writes of up to 8 commands, each answered on its own', async () => {
    const limiter = servers.limiter('elasticache', { tiers: SINGLE });
    await limiter.check('warm', 'hundred');
    const readsBefore = await readsProcessed();
    // 64 checks at once, 8 per creator: without coalescing, Redis reads about one command per read.
    const decisions = await Promise.all(Array.from({ length: 64 }, (_, i) => limiter.check(`burst-${i % 8}`, 'hundred')));
    const reads = (await readsProcessed()) - readsBefore - 1; // minus the INFO that reads the counter
    expect(reads).toBeGreaterThanOrEqual(1);
    expect(reads).toBeLessThanOrEqual(1 + 64 / 8); // the tick's first command leaves alone, the rest by 8
    for (let creator = 0; creator < 8; creator += 1) {
      const remaining = decisions.filter((_, i) => i % 8 === creator).map((decision) => decision.remaining);
      expect(remaining.sort((a, b) => b - a)).toEqual([99, 98, 97, 96, 95, 94, 93, 92]);
    }
    // One check at a time is never held back: each one is its own write.
    const sequentialBefore = await readsProcessed();
    for (let i = 0; i < 5; i += 1) await limiter.check('one-by-one', 'hundred');
    expect((await readsProcessed()) - sequentialBefore - 1).toBe(5);
  });

  it('upstash: after warm-up each check is exactly one HTTP request', async () => {
    const limiter = servers.limiter('upstash', { tiers: SINGLE });
    await limiter.check('warm', 'hundred');
    servers.upstash.resetStats();
    for (let i = 0; i < 20; i += 1) await limiter.check(`rt-${i % 4}`, 'hundred').catch(() => undefined);
    expect(servers.upstash.stats.httpRequests).toBe(20);
  });

  it('warm-up loads the one script every usage operation runs: check, reserve, settle and status then need no EVAL', async () => {
    for (const backend of REDIS_BACKENDS) {
      const limiter = servers.limiter(backend);
      await servers.inspector.script('FLUSH');
      expect(await limiter.warmUp()).toBe(true);
      await servers.inspector.config('RESETSTAT');
      await limiter.check('warmed', 'pro');
      await limiter.check('warmed', 'pro', { tokens: 10, requestId: 'job' });
      await limiter.settle('warmed', 'pro', 'job', 5);
      await limiter.status('warmed', 'pro');
      const stats = await commandStats();
      expect(stats.eval).toBeUndefined();
      expect(stats.evalsha).toBe(4);
    }
  });

  it('falls back to EVAL once when the server lost its scripts (NOSCRIPT), then uses EVALSHA again', async () => {
    for (const backend of REDIS_BACKENDS) {
      const limiter = servers.limiter(backend, { tiers: SINGLE });
      await servers.inspector.script('FLUSH');
      await servers.inspector.config('RESETSTAT');
      await limiter.check('flushed', 'hundred');
      await limiter.check('flushed', 'hundred');
      const stats = await commandStats();
      // The first EVALSHA fails (NOSCRIPT), EVAL reloads the script, the next EVALSHA hits.
      expect(stats.eval).toBe(1);
      expect(stats.evalsha).toBe(1);
    }
  });
});
