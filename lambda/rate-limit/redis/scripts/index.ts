/**
 * The scripts as they are sent to Redis, and the SHA-1 names EVALSHA calls them by. Both are
 * generated (minified.generated.ts, made from sources.ts and the store constants by `npm run
 * generate:lua`; a test fails when it is stale): the store constants as Lua locals, then the
 * minified script. The constants are written into the text from store/constants.ts, so the scripts
 * and the memory store read one set of numbers.
 */
import { SHIPPED_SCRIPT_SHA1, SHIPPED_SCRIPTS } from './minified.generated';
import type { ScriptName } from './sources';

export type { ScriptName } from './sources';

export const SCRIPTS: Readonly<Record<ScriptName, string>> = SHIPPED_SCRIPTS;
export const SCRIPT_SHA1: Readonly<Record<ScriptName, string>> = SHIPPED_SCRIPT_SHA1;
