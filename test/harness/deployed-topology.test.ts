/**
 * The deployed-topology harness itself: one process per container, warm state kept between
 * invocations, every invocation recorded, a killed container reported (and replaceable), on a real
 * redis-server with the bundled ElastiCache handlers.
 */
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DeployedTopology } from './deployed-topology';
import { startRedis, type RedisProcess } from './redis-process';
import { elastiCacheEnv } from '../support/lambda-runtime';
import { ROUTE_NAMES } from '../../lambda/contract';

const run = promisify(execFile);
let redis: RedisProcess;
let topology: DeployedTopology;

beforeAll(async () => {
  redis = await startRedis();
  topology = await DeployedTopology.start({ env: elastiCacheEnv(redis) as Record<string, string>, containers: { check: 3 } });
}, 120_000);

afterAll(async () => {
  await topology?.stop();
  await redis?.stop();
});

const check = (creatorId: string) => ({ method: 'POST', path: '/v1/check', body: { creatorId, tier: 'tiny' } });

async function redisClients(): Promise<number> {
  const { stdout } = await run('redis-cli', ['-h', redis.host, '-p', String(redis.port), 'CLIENT', 'LIST']);
  return stdout.split('\n').filter((line) => line.includes('cmd=')).length - 1; // minus redis-cli itself
}

it('runs every container in a process of its own', () => {
  const containers = topology.all();
  // Three check containers, one of every other function of the route contract.
  const expected = ROUTE_NAMES.flatMap((route) => (route === 'check' ? [route, route, route] : [route]));
  expect(containers.map((container) => container.route).sort()).toEqual([...expected].sort());
  const pids = new Set(containers.map((container) => container.pid));
  expect(pids.size).toBe(containers.length);
  expect(pids.has(process.pid)).toBe(false);
  expect(containers.every((container) => container.alive && container.pid > 0)).toBe(true);
});

it('keeps warm state between invocations: one connection per container, opened at init and reused', async () => {
  const creatorId = `warm-${randomUUID().slice(0, 8)}`;
  for (let round = 0; round < 3; round += 1) {
    for (const container of topology.containers('check').keys()) {
      const record = await topology.invoke(check(`${creatorId}-${container}`), { container });
      expect(record).toMatchObject({ route: 'check', container, status: 200, newSockets: 0 });
    }
  }
  // 6 containers, 6 connections: nothing reconnected per invocation.
  expect(await redisClients()).toBe(topology.all().length);
});

it('routes each call to its function and records every answer with its container, status and latency', async () => {
  const creatorId = `routed-${randomUUID().slice(0, 8)}`;
  const before = topology.records.length;
  const api = topology.transport();
  for (let index = 0; index < 3; index += 1) expect((await api(check(creatorId))).status).toBe(200);
  expect((await api(check(creatorId))).status).toBe(429);
  expect((await api({ method: 'GET', path: `/v1/status/${creatorId}?tier=tiny` })).body.remaining).toBe(0);
  expect((await api({ method: 'POST', path: '/v1/reset', body: { creatorId } })).status).toBe(200);
  const records = topology.records.slice(before);
  expect(records.map((record) => `${record.route} ${record.status}`)).toEqual([
    'check 200',
    'check 200',
    'check 200',
    'check 429',
    'status 200',
    'reset 200',
  ]);
  for (const record of records) {
    expect(record.ms).toBeGreaterThan(0);
    expect(record.answeredAt).toBeGreaterThanOrEqual(record.sentAt);
    expect(topology.containers(record.route)[record.container].pid).toBe(record.pid);
  }
});

it('serves one invocation at a time per container, concurrent calls spread over the containers', async () => {
  const creatorId = `spread-${randomUUID().slice(0, 8)}`;
  const records = await Promise.all(Array.from({ length: 12 }, (_, index) => topology.invoke(check(`${creatorId}-${index}`))));
  expect(records.every((record) => record.status === 200)).toBe(true);
  expect(new Set(records.map((record) => record.container)).size).toBe(3);
});

it('reports a killed container: its exit, and every invocation sent to it as crashed; replace() starts a cold one', async () => {
  const victim = topology.containers('check')[1];
  const oldPid = victim.pid;
  const exit = await victim.kill('SIGKILL');
  expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
  expect(victim.alive).toBe(false);

  const creatorId = `killed-${randomUUID().slice(0, 8)}`;
  const crashed = await topology.invoke(check(creatorId), { container: 1 });
  expect(crashed).toMatchObject({ status: 'crashed', pid: oldPid, exit: { signal: 'SIGKILL' }, reply: undefined });
  // The other containers are unaffected.
  expect((await topology.invoke(check(creatorId), { container: 0 })).status).toBe(200);

  const fresh = await topology.replace('check', 1);
  expect(fresh.pid).not.toBe(oldPid);
  expect((await topology.invoke(check(creatorId), { container: 1 })).status).toBe(200);
});
