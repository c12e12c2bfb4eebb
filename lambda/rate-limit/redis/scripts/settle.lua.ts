/**
 * The settle operation (the body of usage.lua.ts's settle branch, after base.lua.ts): reconciles a
 * reservation with the tokens actually used. The reservation becomes a charge at its admission
 * time and releases its lease; a lease that expired keeps its reserved charge (the work may have
 * run), overage is charged either way. Idempotent.
 *
 * Operation arguments: actual tokens, token history ms (the requestId is ARGV[2]). The policies
 * (P may be 0) are the tier whose usage after the settlement the reply carries.
 * Reply: result (1 settled, 2 already settled, 3 expired, 4 unknown), now, reserved, charged, then
 * used, reserved, reset, limit per policy.
 *
 * The ledger entry is replaced by a settled one at the same admission time (unless it is already
 * older than the token history, where no window counts it); every stored token sum that counts the
 * admission moves its tokens from reserved to settled.
 */
export const SETTLE_LUA = String.raw`
local function settle(actualTokens, tokenHistoryMs)
  if not record then return 4, 0, 0 end
  if record.settled then return 2, record.reserved, record.charged end
  local admittedAt, reserved = record.admittedAt, record.reserved
  local expired = record.leaseExpiry <= now
  local charge = actualTokens
  if expired and charge < reserved then charge = reserved end

  for i = #state.leases, 1, -1 do
    if state.leases[i].requestId == requestId then table.remove(state.leases, i) end
  end
  -- Added before the reservation is removed, so the sorted set never empties (which would drop its TTL).
  local counted = admittedAt > now - tokenHistoryMs
  if counted then redis.call('ZADD', LEDGER, admittedAt, ledgerMember(charge, true, admittedAt, requestId)) end
  local wasReserved = redis.call('ZREM', LEDGER, ledgerMember(reserved, false, admittedAt, requestId)) == 1
  -- Without its reservation (a plain check's requestId), the entry may have created the ledger.
  local keepMs = admittedAt + tokenHistoryMs + TTL_MARGIN_MS - now
  if counted and not wasReserved and redis.call('PTTL', LEDGER) < keepMs then redis.call('PEXPIRE', LEDGER, keepMs) end
  for _, sum in pairs(state.sums or {}) do
    if admittedAt > sum.cutoff then
      if wasReserved then sum.reserved = sum.reserved - reserved end
      if counted then
        sum.used = sum.used + charge
        if sum.oldest == 0 or admittedAt < sum.oldest then sum.oldest = admittedAt end
      end
    end
  end
  record.settled, record.charged = true, charge
  writeRecord(record)
  if expired then return 3, reserved, charge end
  return 1, reserved, charge
end

local result, reserved, charged = settle(tonumber(ARGV[OP_ARG]), tonumber(ARGV[OP_ARG + 1]))
local reply = { result, now, reserved, charged }
local views = nil
if #policies > 0 then
  views = viewPolicies({ reserve = false, tokens = 0 })
  appendUsage(reply, views, false, {})
end
if result == 1 or result == 3 then saveState(views) end
return reply
`;
