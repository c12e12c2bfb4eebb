import { createHash } from 'node:crypto';

import { Redis as UpstashRedis } from '@upstash/redis';
import IORedis from 'ioredis';

import { RedisProcess, startRedis } from './redis-process';
import { UpstashCompatibleServer, startUpstashCompatibleServer } from './upstash-compatible-server';
import { b64, rawRequest } from './raw-http';

const TOKEN = 'test-token';
const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');

let redis: RedisProcess;
let emulator: UpstashCompatibleServer;
let direct: IORedis;
let client: UpstashRedis;

beforeAll(async () => {
  redis = await startRedis();
  emulator = await startUpstashCompatibleServer({ redisUrl: redis.url, token: TOKEN });
  direct = new IORedis(redis.url, { protocol: 2, lazyConnect: true });
  await direct.connect();
  // Auto-pipelining off: one awaited command = one HTTP request to `/`.
  client = new UpstashRedis({ url: emulator.url, token: TOKEN, enableAutoPipelining: false });
});

afterAll(async () => {
  direct?.disconnect();
  await emulator?.stop();
  await redis?.stop();
});

beforeEach(async () => {
  await direct.flushall();
  await direct.script('FLUSH');
  emulator.resetStats();
});

const post = (path: string, body: unknown, extra: { base64?: boolean; token?: string | null } = {}) =>
  rawRequest(emulator.url, path, { body, token: TOKEN, ...extra });

describe('strings, integers and nil through @upstash/redis', () => {
  it.each([
    ['unicode', 'héllo wörld 🎉 日本語'],
    ['text that is valid base64', 'SGVsbG8='],
    ['the literal OK', 'OK'],
    ['a percent sign', '%'],
    ['digits with a leading zero', '007'],
  ])('round-trips %s', async (_label, value) => {
    expect(await client.set('k', value)).toBe('OK');
    expect(await client.get('k')).toBe(value);
    expect(await direct.get('k')).toBe(value);
  });

  it('returns integers as numbers and missing keys as null', async () => {
    expect(await client.incr('counter')).toBe(1);
    expect(await client.incrby('counter', 41)).toBe(42);
    expect(await client.get('missing')).toBeNull();
    expect(await client.exists('counter', 'missing')).toBe(1);
  });

  it('returns hashes and sorted sets in the shapes the client deserializes', async () => {
    await client.hset('h', { name: 'ada', age: 36 });
    expect(await client.hgetall('h')).toEqual({ name: 'ada', age: 36 });
    await client.zadd('z', { score: 1.5, member: 'a' }, { score: 3, member: 'b' });
    expect(await client.zrange('z', 0, -1, { withScores: true })).toEqual(['a', 1.5, 'b', 3]);
  });

  it('decodes nested arrays with status replies from EVAL', async () => {
    const script = "return {1, 'two', {redis.status_reply('OK'), {'deep', 3}}, redis.status_reply('PONG'), false}";
    expect(await client.eval(script, [], [])).toEqual([1, 'two', ['OK', ['deep', 3]], 'PONG', null]);
  });
});

describe('wire encoding (raw HTTP)', () => {
  it('sends a top-level OK raw and every other string base64 at every depth', async () => {
    expect((await post('', ['SET', 'k', 'v'])).text).toBe('{"result":"OK"}');
    expect((await post('', ['PING'])).json).toEqual({ result: b64('PONG') });
    expect((await post('', ['GET', 'nope'])).text).toBe('{"result":null}');
    const nested = await post('', ['EVAL', "return {redis.status_reply('OK'), 7, {'x'}}", 0]);
    expect(nested.json).toEqual({ result: [b64('OK'), 7, [b64('x')]] });
  });

  it('encodes binary values byte for byte', async () => {
    await direct.set('bin', Buffer.from([0xff, 0xfe, 0x41, 0x00]));
    expect((await post('', ['GET', 'bin'])).json).toEqual({ result: '//5BAA==' });
  });

  it('sends plain text without the Upstash-Encoding header', async () => {
    await direct.set('k', 'plain ✓');
    expect((await post('', ['GET', 'k'], { base64: false })).json).toEqual({ result: 'plain ✓' });
    const plainClient = new UpstashRedis({ url: emulator.url, token: TOKEN, responseEncoding: false, enableAutoPipelining: false });
    expect(await plainClient.get('k')).toBe('plain ✓');
  });

  it('writes integer replies as exact JSON numbers, even beyond 2^53', async () => {
    const res = await post('', ['INCRBY', 'big', '9007199254740993']);
    expect(res.text).toBe('{"result":9007199254740993}');
  });

  it('converts JSON arguments to text per the protocol', async () => {
    await post('', ['SET', 'float', 1.5]);
    await post('', ['SET', 'trailing-zero', 2.5]);
    await post('/pipeline', [
      ['SET', 'exp', 1e21],
      ['SET', 'bool', true],
      ['SET', 'null', null],
    ]);
    // Integer literals are passed verbatim, beyond what a JS number can hold.
    await post('', '["SET","huge",101600000000150081467]');
    expect(await direct.mget('float', 'trailing-zero', 'exp', 'bool', 'null', 'huge')).toEqual([
      '1.5',
      '2.5',
      '1e+21',
      'true',
      '',
      '101600000000150081467',
    ]);
  });

  it('turns an undefined argument from the client into an empty string', async () => {
    await client.set('u', undefined as unknown as string);
    expect(await direct.get('u')).toBe('');
  });
});

describe('pipelines', () => {
  it('reports a failing command in its own entry without stopping the rest', async () => {
    const res = await post('/pipeline', [
      ['SET', 'k', 'v'],
      ['LPUSH', 'k', 'x'],
      ['GET', 'k'],
    ]);
    expect(res.status).toBe(200);
    const entries = res.json as Array<Record<string, unknown>>;
    expect(entries).toEqual([{ result: 'OK' }, { error: expect.stringMatching(/^WRONGTYPE/) }, { result: b64('v') }]);
    // Keys are exclusive: no `error: null` on success, no `result` on failure.
    expect(Object.keys(entries[0] ?? {})).toEqual(['result']);
    expect(Object.keys(entries[1] ?? {})).toEqual(['error']);
  });

  it('gives the client per-entry errors with keepErrors and throws without', async () => {
    const p = client.pipeline();
    p.set('k', 'v');
    p.lpush('k', 'x');
    p.get('k');
    const results = await p.exec({ keepErrors: true });
    expect(results[0]).toEqual({ result: 'OK', error: undefined });
    expect(results[1]?.result).toBeUndefined();
    expect(results[1]?.error).toMatch(/^WRONGTYPE/);
    expect(results[2]).toEqual({ result: 'v', error: undefined });

    const failing = client.pipeline();
    failing.get('k');
    failing.lpush('k', 'x');
    await expect(failing.exec()).rejects.toThrow(/Command 2 \[ lpush \] failed: WRONGTYPE/);
  });

  it('keeps the exact NOSCRIPT text', async () => {
    const res = await post('/pipeline', [['EVALSHA', 'a'.repeat(40), 0]]);
    expect(res.json).toEqual([{ error: 'NOSCRIPT No matching script. Please use EVAL.' }]);
  });
});

describe('transactions', () => {
  it('runs MULTI/EXEC atomically even with concurrent writers', async () => {
    const rounds = Array.from({ length: 20 }, async () => {
      const tx = client.multi();
      tx.set('shared', 1);
      tx.incr('shared');
      tx.incr('shared');
      tx.get('shared');
      const [results] = await Promise.all([tx.exec(), client.set('shared', 100)]);
      return results;
    });
    for (const results of await Promise.all(rounds)) expect(results).toEqual(['OK', 2, 3, 3]);
  });

  it('turns runtime errors into entries while the other commands still run', async () => {
    const res = await post('/multi-exec', [
      ['SET', 'k', 'v'],
      ['INCR', 'k'],
      ['SET', 'after', '1'],
    ]);
    expect(res.status).toBe(200);
    expect(res.json).toEqual([{ result: 'OK' }, { error: 'ERR value is not an integer or out of range' }, { result: 'OK' }]);
    expect(await direct.get('after')).toBe('1');
  });

  it('answers 400 EXECABORT when a command fails to queue, and runs nothing', async () => {
    const tx = client.multi();
    tx.set('should-not-exist', 1);
    tx.hset('h', {}); // HSET with no fields: wrong arity, rejected at queue time
    await expect(tx.exec()).rejects.toThrow(/^EXECABORT Transaction discarded because of previous errors\., command was: \[\[/);
    expect(await direct.exists('should-not-exist')).toBe(0);

    const raw = await post('/multi-exec', [['SET', 'x', '1'], ['NOSUCHCOMMAND']]);
    expect(raw.status).toBe(400);
    expect(raw.json).toEqual({ error: expect.stringMatching(/^EXECABORT/) });
  });

  it('keeps working after an aborted transaction (the connection is clean)', async () => {
    await post('/multi-exec', [['NOSUCHCOMMAND']]);
    const tx = client.multi();
    tx.set('k', 'v');
    tx.get('k');
    expect(await tx.exec()).toEqual(['OK', 'v']);
  });
});

describe('scripts', () => {
  it('createScript falls back from EVALSHA to EVAL on NOSCRIPT, then EVALSHA hits', async () => {
    const script = client.createScript<number>("return redis.call('INCR', KEYS[1])");
    expect(await script.exec(['n'], [])).toBe(1);
    expect(emulator.stats.httpRequests).toBe(2); // EVALSHA (NOSCRIPT) + EVAL
    emulator.resetStats();
    expect(await script.exec(['n'], [])).toBe(2);
    expect(emulator.stats.httpRequests).toBe(1); // EVALSHA only
  });

  it('runs allow-key-locking scripts and keeps the SHA the client computed', async () => {
    const source = "#!lua flags=allow-key-locking\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])";
    const originalSha = sha1(source);
    await expect(client.evalsha(originalSha, ['n'], [5])).rejects.toThrow(/NOSCRIPT/);
    expect(await client.eval(source, ['n'], [5])).toBe(5);
    expect(await client.evalsha(originalSha, ['n'], [5])).toBe(10);
    // Redis itself only knows the rewritten script.
    expect(await direct.script('EXISTS', originalSha)).toEqual([0]);
    expect(await client.scriptExists(originalSha, 'f'.repeat(40))).toEqual([1, 0]);

    await client.scriptFlush();
    expect(await client.scriptLoad(source)).toBe(originalSha);
    expect(await client.evalsha(originalSha, ['n'], [1])).toBe(11);
  });

  it('keeps the remaining shebang flags when allow-key-locking is removed', async () => {
    const source = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('SET', KEYS[1], 'x')";
    await expect(client.eval(source, ['k'], [])).rejects.toThrow(/Write commands are not allowed from read-only scripts/);
    const reader = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('GET', KEYS[1])";
    await direct.set('k', 'value');
    expect(await client.eval(reader, ['k'], [])).toBe('value');
  });

  it('works with the ratelimit-style evalsha-then-eval fallback inside pipelines', async () => {
    const source = '#!lua flags=allow-key-locking\nreturn #KEYS';
    const res = await post('/pipeline', [
      ['EVALSHA', sha1(source), 1, 'a'],
      ['EVAL', source, 2, 'a', 'b'],
      ['EVALSHA', sha1(source).toUpperCase(), 1, 'a'],
    ]);
    expect(res.json).toEqual([{ error: 'NOSCRIPT No matching script. Please use EVAL.' }, { result: 2 }, { result: 1 }]);
  });
});

describe('auth, sync tokens and HTTP details', () => {
  it('answers 401 with the Upstash text for a missing or wrong token', async () => {
    const wrong = new UpstashRedis({ url: emulator.url, token: 'nope', enableAutoPipelining: false });
    await expect(wrong.get('k')).rejects.toThrow('WRONGPASS invalid or missing auth token, command was: ["get","k"]');
    for (const token of [null, 'nope']) {
      const res = await post('', ['PING'], { token });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: 'WRONGPASS invalid or missing auth token' });
      expect(res.headers.get('upstash-sync-token')).toBeNull();
    }
    expect((await rawRequest(emulator.url, `?_token=${TOKEN}`, { body: ['PING'], token: null })).status).toBe(200);
  });

  it('returns a fresh sync token after every write', async () => {
    const rywClient = new UpstashRedis({ url: emulator.url, token: TOKEN, enableAutoPipelining: false });
    expect(rywClient.readYourWritesSyncToken).toBe('');
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      await rywClient.set('k', i);
      const token = rywClient.readYourWritesSyncToken ?? '';
      expect(token).not.toBe('');
      seen.add(token);
    }
    const p = rywClient.pipeline();
    p.set('a', 1);
    await p.exec();
    seen.add(rywClient.readYourWritesSyncToken ?? '');
    expect(seen.size).toBe(4);
  });

  it('always answers JSON, with 400 / 404 / 405 for bad requests', async () => {
    const cases = [
      { path: '', body: 'not json', status: 400, error: /failed to parse/ },
      { path: '', body: { a: 1 }, status: 400, error: /must be a JSON array/ },
      { path: '', body: [], status: 400, error: /empty command/ },
      { path: '', body: ['SET', ['nested'], 'x'], status: 400, error: /nested arrays/ },
      { path: '/pipeline', body: ['GET', 'k'], status: 400, error: /array of command arrays/ },
      { path: '/pipeline', body: [], status: 400, error: /empty pipeline/ },
      { path: '/nope', body: ['PING'], status: 404, error: /unknown endpoint/ },
    ];
    for (const c of cases) {
      const res = await post(c.path, c.body);
      expect({ path: c.path, status: res.status }).toEqual({ path: c.path, status: c.status });
      expect(res.headers.get('content-type')).toBe('application/json');
      expect((res.json as { error: string }).error).toMatch(c.error);
    }
    const del = await rawRequest(emulator.url, '', { method: 'DELETE', token: TOKEN });
    expect(del.status).toBe(405);
    expect(del.headers.get('content-type')).toBe('application/json');
    expect(del.json).toEqual({ error: expect.any(String) });
    const get = await rawRequest(emulator.url, '/get/k', { method: 'GET', token: TOKEN });
    expect(get.status).toBe(404);
    expect(get.json).toEqual({ error: expect.stringMatching(/path-style/) });
  });

  it('accepts the command endpoint with a trailing slash and ignores Content-Type', async () => {
    const res = await rawRequest(emulator.url, '/', {
      body: ['ECHO', 'hi'],
      token: TOKEN,
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(res.json).toEqual({ result: b64('hi') });
  });

  it('keeps HTTP/1.1 connections alive longer than undici does', async () => {
    const res = await post('', ['PING']);
    expect(res.headers.get('connection')).toBe('keep-alive');
    expect(res.headers.get('keep-alive')).toBe('timeout=10');
  });
});

describe('refused commands', () => {
  it('refuses connection-stateful commands through the client', async () => {
    await expect(client.exec(['SELECT', '1'])).rejects.toThrow(/ERR Command is not available: 'SELECT'/);
    await expect(client.exec(['CLIENT', 'LIST'])).rejects.toThrow(/Command is not available: 'CLIENT'/);
  });

  it('refuses blocking commands per entry in a pipeline and in transactions as a whole', async () => {
    await direct.xadd('s', '1-1', 'f', 'v');
    const res = await post('/pipeline', [
      ['BLPOP', 'q', 0],
      ['XREAD', 'BLOCK', 0, 'STREAMS', 's', '$'],
      ['XREAD', 'COUNT', 1, 'STREAMS', 's', '0'],
      ['PING'],
    ]);
    const entries = res.json as Array<{ result?: unknown; error?: string }>;
    expect(entries[0]?.error).toMatch(/Command is not available: 'BLPOP'/);
    expect(entries[1]?.error).toMatch(/Command is not available: 'XREAD'/);
    expect(entries[2]?.result).toEqual([[b64('s'), [[b64('1-1'), [b64('f'), b64('v')]]]]]);
    expect(entries[3]).toEqual({ result: b64('PONG') });

    const tx = await post('/multi-exec', [
      ['SET', 'k', '1'],
      ['WATCH', 'k'],
    ]);
    expect(tx.status).toBe(400);
    expect(tx.json).toEqual({ error: expect.stringMatching(/Command is not available: 'WATCH'/) });
    expect(await direct.exists('k')).toBe(0);
  });
});

describe('HTTP request accounting', () => {
  it('counts exactly one request per awaited command without auto-pipelining', async () => {
    await client.set('a', 1);
    await client.get('a');
    await client.del('a');
    expect(emulator.stats.httpRequests).toBe(3);
    expect(emulator.stats.byPath).toEqual({ '/': 3 });
  });

  it('shows that the default (auto-pipelining) client sends single commands to /pipeline', async () => {
    const auto = new UpstashRedis({ url: emulator.url, token: TOKEN });
    await auto.set('a', 1);
    await Promise.all([auto.get('a'), auto.get('b'), auto.incr('c')]);
    // One request for the set; then one batch for the reads and one for the write.
    expect(emulator.stats.byPath).toEqual({ '/pipeline': 3 });
  });
});

describe('mount prefix', () => {
  let mounted: UpstashCompatibleServer;

  beforeAll(async () => {
    mounted = await startUpstashCompatibleServer({ redis: { host: redis.host, port: redis.port }, token: TOKEN, basePath: '/redis/' });
  });

  afterAll(async () => {
    await mounted.stop();
  });

  it('serves the client under the prefix and nothing outside it', async () => {
    expect(mounted.url).toBe(`http://127.0.0.1:${mounted.port}/redis`);
    const prefixed = new UpstashRedis({ url: mounted.url, token: TOKEN, enableAutoPipelining: false });
    await prefixed.set('m', 'x');
    const p = prefixed.pipeline();
    p.get('m');
    expect(await p.exec()).toEqual(['x']);
    expect(mounted.stats.byPath).toEqual({ '/redis': 1, '/redis/pipeline': 1 });
    const outside = await rawRequest(`http://127.0.0.1:${mounted.port}`, '/pipeline', { body: [['PING']], token: TOKEN });
    expect(outside.status).toBe(404);
  });
});
