/**
 * The usage script: every operation on a creator's usage (check, reserve, status, settle) in one
 * script, which runs the operation named by its last argument. One script rather than four: the
 * shared Lua (base.lua.ts, the bulk of it) ships once, and one load readies every operation.
 *
 * Each operation returns as soon as the Lua it needs has been defined: a script defines its local
 * functions on every call (each definition is a closure Redis builds), so status defines neither
 * settle nor admission functions, and settle no admission function. Settle comes before admission
 * because its functions are the cheaper to define (callgrind, 4-policy tier: they add 1% to a
 * check, where the admission functions made a reserve + settle pair 1.8% dearer).
 *
 * Replies: admission.lua.ts (check, reserve), settle.lua.ts (settle); status replies now, then
 * used, reserved, reset and limit per policy. A reservation's operation arguments are the check's
 * then the tokens to reserve and the token history ms.
 */
import { ADMISSION_LUA } from './admission.lua';
import { BASE_LUA } from './base.lua';
import { SETTLE_LUA } from './settle.lua';

const STATUS_LUA = String.raw`
local operation = ARGV[#ARGV]
if operation == 'status' then return appendUsage({ now }, viewPolicies({ reserve = false, tokens = 0 }), false, {}) end
`;

const SETTLE_OPERATION_LUA = String.raw`
if operation == 'settle' then return settleAndReport() end
`;

const ADMISSION_OPERATIONS_LUA = String.raw`
if operation == 'check' then return admit({ reserve = false, tokens = 0 }) end
if operation == 'reserve' then
  return admit({ reserve = true, tokens = tonumber(ARGV[OP_ARG + 4]), tokenHistoryMs = tonumber(ARGV[OP_ARG + 5]) })
end
error('unknown operation ' .. tostring(operation))
`;

export const USAGE_LUA = [BASE_LUA, STATUS_LUA, SETTLE_LUA, SETTLE_OPERATION_LUA, ADMISSION_LUA, ADMISSION_OPERATIONS_LUA].join('');
