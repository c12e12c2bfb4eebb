/**
 * The scripts are called by SHA-1 names generated with their text: each name must be the one
 * redis-server gives the shipped text, or every EVALSHA would miss and fall back to EVAL.
 */
import { SCRIPT_SHA1, SCRIPTS, type ScriptName } from '../../../../lambda/rate-limit/redis/scripts';
import { useRedisClient } from '../../../support/backends';

const server = useRedisClient();

it.each(Object.keys(SCRIPTS) as ScriptName[])(
  'the generated SHA-1 of the %s script is the name redis-server loads it under',
  async (name) => {
    await server.client.script('FLUSH');
    expect(await server.client.script('LOAD', SCRIPTS[name])).toBe(SCRIPT_SHA1[name]);
    expect(await server.client.script('EXISTS', SCRIPT_SHA1[name])).toEqual([1]);
  },
);
