/**
 * Override: writes, reads or deletes a creator's override, on the same clock as the admission
 * scripts (so "expired" means the same thing to both). The value's layout is in base.lua.ts.
 *
 * KEYS: 1 the creator's override key.
 * ARGV: 1 clock ('' reads TIME), 2 operation: 'set' | 'get' | 'remove'; for 'set': 3 expiresAt
 *       (0 = until removed), 4 limits ('name=limit,...'), 5 reason.
 * Reply: now, then for 'set' the value written, for 'get' the value in force ('' when none), for 'remove'
 *       1 when one was in force (else 0).
 */
import { CLOCK_LUA } from './base.lua';

export const OVERRIDE_LUA = String.raw`
${CLOCK_LUA}
local OVERRIDE, operation = KEYS[1], ARGV[2]

local function inForce()
  local text = redis.call('GET', OVERRIDE)
  if not text then return '' end
  local expiresAt = tonumber(string.match(text, '^(%d+)|'))
  if not expiresAt or (expiresAt > 0 and expiresAt <= now) then return '' end
  return text
end

if operation == 'set' then
  local expiresAt = tonumber(ARGV[3])
  local text = ARGV[3] .. '|' .. string.format('%d', now) .. '|' .. ARGV[4] .. '|' .. ARGV[5]
  if expiresAt == 0 then
    redis.call('SET', OVERRIDE, text)
  elseif expiresAt > now then
    -- The key outlives its expiry by a margin: the expiry in the value decides, on the script clock.
    redis.call('SET', OVERRIDE, text, 'PX', expiresAt - now + TTL_MARGIN_MS)
  else
    -- Already lapsed: nothing to keep in force (the reply still describes what was asked).
    redis.call('DEL', OVERRIDE)
  end
  return { now, text }
elseif operation == 'get' then
  return { now, inForce() }
end
local existed = 0
if inForce() ~= '' then existed = 1 end
redis.call('DEL', OVERRIDE)
return { now, existed }
`;
