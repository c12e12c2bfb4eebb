/**
 * Settle: reconciles a reservation with the tokens actually used. The reservation becomes a charge
 * at its admission time and releases its lease; a lease that expired keeps its reserved charge (the
 * work may have run), overage is charged either way. Idempotent.
 *
 * Operation arguments: requestId, actual tokens, token history ms. The policies (P may be 0) are
 * the tier whose usage after the settlement the reply carries.
 * Reply: result (1 settled, 2 already settled, 3 expired, 4 unknown), now, reserved, charged, then
 * used, reserved, reset per policy.
 */
import { BASE_LUA } from './base.lua';

export const SETTLE_SCRIPT = `${BASE_LUA}
local function settle(requestId, actualTokens, tokenHistoryMs)
  local text = redis.call('HGET', RECORDS, requestId)
  if not text then return 4, 0, 0 end
  local admittedAt, reserved, state, leaseExpiry, charged, forgetAt = string.match(text, '^(%d+):(%d+):(%a):(%d+):(%d+):(%d+)$')
  if not admittedAt or tonumber(forgetAt) <= now then return 4, 0, 0 end
  admittedAt, reserved, leaseExpiry = tonumber(admittedAt), tonumber(reserved), tonumber(leaseExpiry)
  if state == 's' then return 2, reserved, tonumber(charged) end
  local expired = leaseExpiry <= now
  local charge = actualTokens
  if expired and charge < reserved then charge = reserved end

  redis.call('ZREM', LEASES, requestId)
  local wasReserved = redis.call('ZREM', LEDGER, ledgerMember(reserved, 'r', admittedAt, requestId)) == 1
  redis.call('ZADD', LEDGER, admittedAt, ledgerMember(charge, 's', admittedAt, requestId))
  keepFor(LEDGER, admittedAt + tokenHistoryMs + TTL_MARGIN_MS - now)
  -- Move the stored sums of every token window that still counts the admission.
  local sums, names = readTokenSums()
  if #names > 0 then
    local parts = {}
    for i = 1, #names do
      local sum = sums[names[i]]
      if admittedAt > sum.cutoff then
        if wasReserved then sum.reserved = sum.reserved - reserved end
        sum.used = sum.used + charge
      end
      parts[i] = encodeTokenSum(names[i], sum)
    end
    redis.call('SET', TOKEN_SUMS, table.concat(parts, '|'), 'KEEPTTL')
  end
  redis.call('HSET', RECORDS, requestId, integer(admittedAt) .. ':' .. integer(reserved) .. ':s:' .. integer(leaseExpiry) .. ':' ..
    integer(charge) .. ':' .. forgetAt)
  if expired then return 3, reserved, charge end
  return 1, reserved, charge
end

local result, reserved, charged = settle(ARGV[OP_ARG], tonumber(ARGV[OP_ARG + 1]), tonumber(ARGV[OP_ARG + 2]))
local reply = { result, now, reserved, charged }
if #policies > 0 then appendUsage(reply, viewPolicies({ reserve = false, tokens = 0 }), false, {}) end
return reply
`;
