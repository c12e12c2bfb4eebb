// Pure functions of the emulator, tested directly: no servers are involved
// because these modules never touch the network.
import { createHash } from 'node:crypto';

import { refusalFor } from './upstash-emulator/command-policy';
import { FaultInjector } from './upstash-emulator/faults';
import { JsonNumber, parseJson } from './upstash-emulator/json-parse';
import { encodeResult } from './upstash-emulator/reply-encoding';
import { BadRequestError, toCommand, toCommandList } from './upstash-emulator/request-body';
import { ScriptRewriter, stripAllowKeyLocking } from './upstash-emulator/script-rewriter';

describe('parseJson', () => {
  it('parses like JSON.parse except that numbers keep their literal text', () => {
    const text = '[ "a\\n\\u00e9\\"", 1.50, -0, 101600000000150081467, true, false, null, {"k": [1e3]} ]';
    expect(parseJson(text)).toEqual([
      'a\né"',
      new JsonNumber('1.50'),
      new JsonNumber('-0'),
      new JsonNumber('101600000000150081467'),
      true,
      false,
      null,
      { k: [new JsonNumber('1e3')] },
    ]);
  });

  it.each(['', '[', '[1,]', '["a"', '[01]', '{"a" 1}', '[1] x', '"\\x"', '"\u0001"', 'nul', '[.5]'])('rejects invalid JSON %j', (text) => {
    expect(() => parseJson(text)).toThrow(/at position \d+/);
  });

  it('refuses absurd nesting instead of overflowing the stack', () => {
    expect(() => parseJson('['.repeat(10_000))).toThrow(/nesting too deep/);
  });
});

describe('request body conversion', () => {
  it('turns JSON elements into Redis argument text', () => {
    expect(toCommand(parseJson('["SET", "k", 1.50, 1e21, 12345678901234567890, true, false, null]'))).toEqual([
      'SET',
      'k',
      '1.5',
      '1e+21',
      '12345678901234567890',
      'true',
      'false',
      '',
    ]);
  });

  it('rejects shapes that are not commands', () => {
    expect(() => toCommand(parseJson('{"a":1}'))).toThrow(BadRequestError);
    expect(() => toCommand(parseJson('[]'))).toThrow(/empty command/);
    expect(() => toCommand(parseJson('[""]'))).toThrow(/empty command name/);
    expect(() => toCommand(parseJson('["SET",{"a":1}]'))).toThrow(/index 1/);
    expect(() => toCommandList(parseJson('[["PING"],"GET"]'))).toThrow(/array of command arrays/);
    expect(toCommandList(parseJson('[["PING"],["GET",1]]'))).toEqual([['PING'], ['GET', '1']]);
  });
});

describe('encodeResult', () => {
  const bytes = (text: string): Buffer => Buffer.from(text);

  it('applies the top-level OK exception only at the top', () => {
    expect(encodeResult(bytes('OK'), 'base64')).toBe('"OK"');
    expect(encodeResult([bytes('OK')], 'base64')).toBe('["T0s="]');
  });

  it('encodes strings at every depth, keeps integers and nil, and renders nested errors as strings', () => {
    const reply = [bytes('a'), '9007199254740993', null, [bytes('b'), [new Error('ERR inner')]]];
    expect(encodeResult(reply, 'base64')).toBe(
      `["YQ==",9007199254740993,null,["Yg==",["${Buffer.from('ERR inner').toString('base64')}"]]]`,
    );
    expect(encodeResult(reply, 'plain')).toBe('["a",9007199254740993,null,["b",["ERR inner"]]]');
  });

  it('replaces invalid UTF-8 in plain mode and keeps the bytes in base64 mode', () => {
    const invalid = Buffer.from([0xff, 0x41]);
    expect(JSON.parse(encodeResult(invalid, 'plain'))).toBe('\uFFFDA');
    expect(encodeResult(invalid, 'base64')).toBe('"/0E="');
  });
});

describe('stripAllowKeyLocking', () => {
  it.each([
    ['#!lua flags=allow-key-locking\nreturn 1', '-- #!lua flags=allow-key-locking\nreturn 1'],
    ['#!lua flags=no-writes,allow-key-locking\nreturn 1', '#!lua flags=no-writes\nreturn 1'],
    ['#!lua flags=allow-key-locking,no-writes\r\nreturn 1', '#!lua flags=no-writes\r\nreturn 1'],
    ['#!lua flags=allow-key-locking', '-- #!lua flags=allow-key-locking'],
  ])('rewrites %j', (input, expected) => {
    expect(stripAllowKeyLocking(input)).toBe(expected);
  });

  it.each(['return 1', '#!lua\nreturn 1', '#!lua flags=no-writes\nreturn 1', '-- #!lua flags=allow-key-locking'])(
    'leaves %j alone',
    (input) => {
      expect(stripAllowKeyLocking(input)).toBeNull();
    },
  );
});

describe('ScriptRewriter', () => {
  it('maps the original SHA to the rewritten one for EVALSHA and SCRIPT EXISTS, case-insensitively', () => {
    const rewriter = new ScriptRewriter();
    const source = '#!lua flags=allow-key-locking\nreturn 1';
    const evalCommand = rewriter.prepare(['eval', source, '0']);
    expect(evalCommand.args).toEqual(['eval', '-- #!lua flags=allow-key-locking\nreturn 1', '0']);

    const sha = (s: string): string => createHash('sha1').update(s).digest('hex');
    const original = sha(source);
    const rewritten = sha('-- #!lua flags=allow-key-locking\nreturn 1');
    expect(rewriter.prepare(['EVALSHA', original.toUpperCase(), '0']).args).toEqual(['EVALSHA', rewritten, '0']);
    expect(rewriter.prepare(['script', 'exists', original, 'abc']).args).toEqual(['script', 'exists', rewritten, 'abc']);

    const load = rewriter.prepare(['SCRIPT', 'LOAD', source]);
    expect(load.mapReply?.(Buffer.from(rewritten))).toEqual(Buffer.from(original));

    rewriter.prepare(['SCRIPT', 'FLUSH']).mapReply?.(Buffer.from('OK'));
    expect(rewriter.prepare(['EVALSHA', original, '0']).args).toEqual(['EVALSHA', original, '0']);
  });
});

describe('refusalFor', () => {
  it.each([['SELECT', '1'], ['client', 'list'], ['blpop', 'q', '0'], ['XREAD', 'block', '0', 'STREAMS', 's', '$'], ['multi']])(
    'refuses %j',
    (...command) => {
      expect(refusalFor(command as [string, ...string[]])).toMatch(/^ERR Command is not available: '[A-Z]+'/);
    },
  );

  it.each([
    ['GET', 'k'],
    ['XREAD', 'STREAMS', 'block', '0'],
    ['PUBLISH', 'c', 'm'],
    ['EVAL', 'return 1', '0'],
  ])('allows %j', (...command) => {
    expect(refusalFor(command as [string, ...string[]])).toBeNull();
  });
});

describe('FaultInjector', () => {
  it('counts remaining requests down and then stops affecting them', () => {
    const faults = new FaultInjector();
    expect(faults.take()).toBeNull();
    faults.set('http500', 2);
    expect([faults.take(), faults.take(), faults.take()]).toEqual(['http500', 'http500', null]);
  });

  it('releases parked requests when the mode leaves hang, and stops them on shutdown', async () => {
    const faults = new FaultInjector();
    faults.set('hang');
    const first = faults.waitWhileHung();
    faults.mode = 'none';
    await expect(first).resolves.toBe('released');
    faults.set('hang');
    const second = faults.waitWhileHung();
    faults.stopHung();
    await expect(second).resolves.toBe('stopped');
  });
});
