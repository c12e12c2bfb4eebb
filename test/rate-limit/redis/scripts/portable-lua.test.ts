/**
 * Only portable Lua: every script reads no global beyond Lua 5.1's base, string, table and math
 * functions and redis.call (no struct, cjson, cmsgpack or bit), so it runs on any Redis-compatible
 * server. The globals are listed from the compiled bytecode (luac's GETGLOBAL instructions).
 */
import { execFileSync } from 'node:child_process';
import { SCRIPTS } from '../../../../lambda/rate-limit/redis/scripts';

const ALLOWED_GLOBALS = new Set([
  'KEYS',
  'ARGV',
  'redis',
  'string',
  'table',
  'math',
  'tonumber',
  'tostring',
  'unpack',
  'pairs',
  'ipairs',
  'error',
]);

function globalsRead(script: string): Set<string> {
  const listing = execFileSync('luac5.1', ['-p', '-l', '-'], { input: script, encoding: 'utf8' });
  return new Set([...listing.matchAll(/\bGETGLOBAL\b.*;\s*(\S+)/g)].map((match) => match[1]));
}

function globalsWritten(script: string): Set<string> {
  const listing = execFileSync('luac5.1', ['-p', '-l', '-'], { input: script, encoding: 'utf8' });
  return new Set([...listing.matchAll(/\bSETGLOBAL\b.*;\s*(\S+)/g)].map((match) => match[1]));
}

describe.each(Object.entries(SCRIPTS))('the %s script', (_name, script) => {
  it('compiles and reads only allowed globals', () => {
    const read = globalsRead(script);
    expect(read.has('redis')).toBe(true); // the listing is parsed: a script always calls redis
    expect([...read].filter((name) => !ALLOWED_GLOBALS.has(name))).toEqual([]);
  });

  it('defines no globals (every name is local)', () => {
    expect([...globalsWritten(script)]).toEqual([]);
  });
});

it('the check catches a script that reads a non-portable global', () => {
  expect(globalsRead("local packed = struct.pack('>i8', 1) return redis.call('GET', KEYS[1])").has('struct')).toBe(true);
});
