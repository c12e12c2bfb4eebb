/**
 * The store constants as Lua locals, so the scripts and the memory store read the same numbers.
 */
import { STORE_CONSTANTS } from '../../store/constants';

export const CONSTANTS_LUA = Object.entries(STORE_CONSTANTS)
  .map(([name, value]) => `local ${name} = ${value}`)
  .join('\n');
