/**
 * The store constants as Lua locals. The generator (scripts/lua/minified-module.ts) puts them in
 * front of every shipped script, so the scripts and the memory store read the same numbers.
 */
import { STORE_CONSTANTS } from '../../store/constants';

export const CONSTANTS_LUA = Object.entries(STORE_CONSTANTS)
  .map(([name, value]) => `local ${name} = ${value}`)
  .join('\n');
