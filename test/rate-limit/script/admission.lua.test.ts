/**
 * The admission script's straight-line path against its general code, on a real redis-server.
 *
 * A plain check of one policy (3 arguments) may take the straight-line path; the same check with
 * an explicit 0 for the extra attempts (4 arguments) always runs the general code. Each case writes
 * one crafted log under two keys, checks one key each way, and requires the same answer and the
 * same log afterwards. Whether the straight-line path answered shows in the reply's shape (3
 * values), so the cases also pin down which states it handles.
 */
import { Redis } from 'ioredis';
import { ADMISSION_SCRIPT } from '../../../lambda/rate-limit/redis/scripts/admission.lua';
import { startRedis, type RedisProcess } from '../../harness/redis-process';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const HEADER_BYTES = 32;

interface LogState {
  /** When the key's TTL ends, relative to now (ms). */
  expiresIn: number;
  /** Anomaly window start relative to now (ms, negative), or undefined for none. */
  anomalyStartedAgo?: number;
  anomalyCount?: number;
  warned?: boolean;
  /** Ages of the logged admissions (ms before now), oldest first. */
  ages: number[];
}

interface Case {
  name: string;
  log: LogState;
  limit: number;
  threshold: number;
  /** Whether the straight-line path should answer (short reply). */
  straight: boolean;
}

function int64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(BigInt(value));
  return bytes;
}

function encodeLog(state: LogState, now: number): Buffer {
  const anomalyStart = state.anomalyStartedAgo === undefined ? 0 : now - state.anomalyStartedAgo;
  return Buffer.concat([
    int64(now + state.expiresIn),
    int64(anomalyStart),
    int64(state.anomalyCount ?? 0),
    int64(state.warned ? 1 : 0),
    ...state.ages.map((age) => int64(now - age)),
  ]);
}

function decodeEntries(log: Buffer): number[] {
  const entries: number[] = [];
  for (let at = HEADER_BYTES; at < log.length; at += 8) entries.push(Number(log.readBigInt64BE(at)));
  return entries;
}

const dead = (count: number): number[] => Array.from({ length: count }, (_, i) => HOUR + 20 * MINUTE - i * 1000);
const live = (count: number): number[] => Array.from({ length: count }, (_, i) => 50 * MINUTE - i * 1000);
const fresh = { expiresIn: 2 * HOUR };

const CASES: Case[] = [
  { name: 'every entry inside the window', log: { ...fresh, ages: live(5) }, limit: 100, threshold: 300, straight: true },
  { name: 'a few entries left the window', log: { ...fresh, ages: [...dead(3), ...live(5)] }, limit: 100, threshold: 300, straight: true },
  { name: '15 entries left the window (below the compaction minimum)', log: { ...fresh, ages: [...dead(15), ...live(2)] }, limit: 100, threshold: 300, straight: true },
  { name: '16 left, under a quarter of the limit', log: { ...fresh, ages: [...dead(16), ...live(2)] }, limit: 100, threshold: 300, straight: true },
  { name: 'every entry left the window', log: { ...fresh, ages: dead(10) }, limit: 100, threshold: 300, straight: true },
  { name: 'anomaly detection off', log: { ...fresh, ages: [...dead(2), ...live(2)] }, limit: 100, threshold: 0, straight: true },
  { name: 'an open anomaly window far from its threshold', log: { ...fresh, anomalyStartedAgo: MINUTE, anomalyCount: 3, ages: live(4) }, limit: 100, threshold: 300, straight: true },
  { name: 'an anomaly window that already warned', log: { ...fresh, anomalyStartedAgo: MINUTE, anomalyCount: 400, warned: true, ages: live(4) }, limit: 100, threshold: 300, straight: true },
  { name: 'an anomaly window that closed', log: { ...fresh, anomalyStartedAgo: 6 * MINUTE, anomalyCount: 400, ages: live(4) }, limit: 100, threshold: 300, straight: true },
  // The general code's cases: each must fall through and still agree.
  { name: 'compaction due (16 left, a quarter of the limit)', log: { ...fresh, ages: [...dead(16), ...live(2)] }, limit: 60, threshold: 300, straight: false },
  { name: 'at the limit after the expired entries', log: { ...fresh, ages: [...dead(3), ...live(4)] }, limit: 4, threshold: 300, straight: false },
  { name: 'TTL too short for the new entry', log: { expiresIn: HOUR - MINUTE, ages: live(3) }, limit: 100, threshold: 300, straight: false },
  { name: 'an open anomaly window crossing its threshold', log: { ...fresh, anomalyStartedAgo: MINUTE, anomalyCount: 298, ages: live(4) }, limit: 100, threshold: 300, straight: false },
];

let redis: RedisProcess;
let client: Redis;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis({ host: redis.host, port: redis.port });
});

afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

async function serverNow(): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('admission script: the straight-line path writes and answers as the general code does', () => {
  it.each(CASES)('$name', async ({ log, limit, threshold, straight }) => {
    const now = await serverNow();
    const creator = `{straight-${Math.random().toString(36).slice(2)}}`;
    const [viaStraight, viaGeneral] = [`${creator}:a`, `${creator}:b`];
    for (const key of [viaStraight, viaGeneral]) await client.set(key, encodeLog(log, now), 'PX', log.expiresIn);

    const args = [String(limit), String(HOUR), String(threshold)];
    const short = (await client.eval(ADMISSION_SCRIPT, 1, viaStraight, ...args)) as number[];
    const general = (await client.eval(ADMISSION_SCRIPT, 1, viaGeneral, ...args, '0')) as number[];

    expect(short.length === 3).toBe(straight);
    // The general reply: code, now, denied index, retry, report, reserved, attempts, anomaly end,
    // warned, then used, reserved, reset.
    const [code, generalNow] = general;
    const [shortNow, shortUsed, shortReset] = straight ? short : [short[1]!, short[9]!, short[11]!];
    expect(short.length === 3 || short[0] === code).toBe(true);
    expect(shortUsed).toBe(general[9]);
    // A reset at "now + window" belongs to each call's own clock; any other is a logged entry.
    if (general[11] === generalNow! + HOUR) expect(shortReset).toBe(shortNow! + HOUR);
    else expect(shortReset).toBe(general[11]);

    const [afterStraight, afterGeneral] = await Promise.all([client.getBuffer(viaStraight), client.getBuffer(viaGeneral)]);
    const [entriesStraight, entriesGeneral] = [decodeEntries(afterStraight!), decodeEntries(afterGeneral!)];
    if (code === 1) {
      // Both appended their own "now" (or compacted, then appended): the same log otherwise.
      expect(entriesStraight.at(-1)).toBe(shortNow);
      expect(entriesGeneral.at(-1)).toBe(generalNow);
      entriesStraight.pop();
      entriesGeneral.pop();
    }
    expect(entriesStraight).toEqual(entriesGeneral);
    // Header: expiry and anomaly fields, equal up to the two calls' own clocks.
    const headerStraight = [0, 8, 16, 24].map((at) => Number(afterStraight!.readBigInt64BE(at)));
    const headerGeneral = [0, 8, 16, 24].map((at) => Number(afterGeneral!.readBigInt64BE(at)));
    expect(Math.abs(headerStraight[0]! - headerGeneral[0]!)).toBeLessThanOrEqual(generalNow! - shortNow!);
    expect(headerStraight.slice(1)).toEqual(headerGeneral.slice(1).map((v, i) => (i === 0 && v === generalNow ? shortNow : v)));
    const [ttlStraight, ttlGeneral] = await Promise.all([client.pttl(viaStraight), client.pttl(viaGeneral)]);
    expect(Math.abs(ttlStraight - ttlGeneral)).toBeLessThan(1000);
  });
});
