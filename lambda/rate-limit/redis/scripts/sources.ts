/**
 * The readable Lua of each script, without the store constants (the generator puts them first).
 * This is the source the shipped text is made from (`npm run generate:lua`); the library itself
 * imports only the generated text (scripts/index.ts), so a bundle carries the scripts once and small.
 */
import { OVERRIDE_LUA } from './override.lua';
import { RESET_LUA } from './reset.lua';
import { USAGE_LUA } from './usage.lua';

export const SCRIPT_SOURCES = Object.freeze({
  usage: USAGE_LUA,
  override: OVERRIDE_LUA,
  reset: RESET_LUA,
});
export type ScriptName = keyof typeof SCRIPT_SOURCES;
