/** The scripts by operation: each is the shared Lua (base, and admission where needed) plus a short body. */
import { CHECK_SCRIPT } from './check.lua';
import { OVERRIDE_SCRIPT } from './override.lua';
import { RESERVE_SCRIPT } from './reserve.lua';
import { RESET_SCRIPT } from './reset.lua';
import { SETTLE_SCRIPT } from './settle.lua';
import { STATUS_SCRIPT } from './status.lua';

export const SCRIPTS = Object.freeze({
  check: CHECK_SCRIPT,
  reserve: RESERVE_SCRIPT,
  status: STATUS_SCRIPT,
  settle: SETTLE_SCRIPT,
  override: OVERRIDE_SCRIPT,
  reset: RESET_SCRIPT,
});
export type ScriptName = keyof typeof SCRIPTS;
