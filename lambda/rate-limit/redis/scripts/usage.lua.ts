/**
 * The usage script: every operation on a creator's usage (check, reserve, status, settle) in one
 * script, which runs the operation named by its last argument. One script rather than four: the
 * shared Lua (base.lua.ts, the bulk of it) ships once, and one load readies every operation.
 *
 * Each operation's own functions are defined inside its branch: a script defines its local
 * functions on every call (each definition is a closure Redis builds), so an operation pays only
 * for the functions it can call.
 *
 * Replies: admission.lua.ts (check, reserve), settle.lua.ts (settle); status replies now, then
 * used, reserved, reset and limit per policy. A reservation's operation arguments are the check's
 * then the tokens to reserve and the token history ms.
 */
import { ADMISSION_LUA } from './admission.lua';
import { BASE_LUA } from './base.lua';
import { SETTLE_LUA } from './settle.lua';

export const USAGE_LUA = String.raw`${BASE_LUA}
local operation = ARGV[#ARGV]
if operation == 'status' then return appendUsage({ now }, viewPolicies({ reserve = false, tokens = 0 }), false, {}) end
if operation == 'settle' then
${SETTLE_LUA}
end
if operation == 'check' or operation == 'reserve' then
${ADMISSION_LUA}
  if operation == 'check' then return admit({ reserve = false, tokens = 0 }) end
  return admit({ reserve = true, tokens = tonumber(ARGV[OP_ARG + 4]), tokenHistoryMs = tonumber(ARGV[OP_ARG + 5]) })
end
error('unknown operation ' .. tostring(operation))
`;
