/**
 * The scripts as they are sent to Redis: the store constants as Lua locals, then the minified
 * script (minified.generated.ts, made from sources.ts by `npm run generate:lua`; a test fails when
 * it is stale). The constants stay outside the minified text so that the scripts and the memory
 * store keep reading one set of numbers.
 */
import { CONSTANTS_LUA } from './constants.lua';
import { MINIFIED_SCRIPTS } from './minified.generated';
import type { ScriptName } from './sources';

export type { ScriptName } from './sources';

export const SCRIPTS: Readonly<Record<ScriptName, string>> = Object.freeze({
  usage: `${CONSTANTS_LUA}\n${MINIFIED_SCRIPTS.usage}`,
  override: `${CONSTANTS_LUA}\n${MINIFIED_SCRIPTS.override}`,
  reset: `${CONSTANTS_LUA}\n${MINIFIED_SCRIPTS.reset}`,
});
