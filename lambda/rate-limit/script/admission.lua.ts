/**
 * The admission script: one EVALSHA per check, status or settle, identical on ElastiCache and
 * Upstash. It lives in a TypeScript module (not a .lua file) so esbuild bundles it with no loader.
 *
 * Data structures (all keys of one creator share a hash tag; see keys.ts):
 *
 * KEYS: the five shared keys below (only when the call needs them: settle, token or in-flight
 *     policies, a reservation or a record), then one ring key per request policy.
 * ring keys, in policy order (`rl:{creator}:q:<policy>`): seven
 *     big-endian int64 header fields, then a ring of admission times (int64 ms), laid out so that
 *     BITFIELD can address every field as `i64 #<index>`:
 *       #0 C ring capacity (>= the limit)      #1 h next slot      #2 n entries still counted
 *       #3 when the key's TTL ends (ms)        #4..#6 anomaly window start, attempts, warned
 *       #7.. ring slots
 *     The ring holds the last C admissions, so "at most N in any window W" is exact: a request
 *     passes iff fewer than N admissions are inside the window; when denied, it passes once the
 *     admission N places back leaves it (slot h - N). Entries that left the window are dropped
 *     from the tail as time passes (amortised O(1)). A check reads the key once (GET) and, when
 *     it admits, writes only the slot and two header fields in place (one BITFIELD): no Lua
 *     string is rebuilt, which is what keeps a single-policy check as cheap as a fixed window.
 *     The TTL is extended (PEXPIRE) only when it would end before the newest entry leaves the
 *     window, i.e. about once per window.
 * shared 1 token state (string, only for tiers with token policies): per token policy
 *     byte nameLength, name, '<dddd' settled sum, reserved sum, cutoff (ms; ledger entries at or
 *     before it are no longer counted), W (window ms).
 * shared 2 ledger (zset) score = admission time, member = "<amount>:<r|s>:<requestId>" (r = reserved,
 *     s = settled). Token sums move incrementally: entries crossing a policy's cutoff are
 *     subtracted once, so the sums are exact rolling windows.
 * shared 3 leases (zset) score = lease expiry, member = requestId (the in-flight set).
 * shared 4 records (hash) requestId -> "ts:reserved:r|s:leaseExpiry:charged".
 * shared 5 record expiry index (zset) score = when the record may be forgotten.
 *
 * ARGV: 1 op ('check' | 'status' | 'settle'), 2 requestId, 3 tokens (reserve, or actual for settle),
 *       4 keep record (0/1), 5 reserve (0/1), 6 anomaly threshold (0 = off; counted on the first
 *       request policy's key), 7 extra attempts (denials served from a local cache since the last
 *       call), 8 record retention ms, 9 lease ms, 10 policy count P,
 *       then P x (name, unit r|t|c, limit, window or lease ms).
 *
 * Reply (check / status): code (1 allowed, 0 denied, 2 duplicate, 3 status), now, denied policy
 *       index (1-based, 0 = none), retry ms, anomaly attempts to report (0 = none), reserved
 *       tokens, attempts in the anomaly window, its end (ms), warned flag (0/1),
 *       then P x (used, reserved, reset ms).
 * Reply (settle): code (1 settled, 2 already settled, 3 expired, 4 unknown), now, reserved, charged.
 *
 * Time comes from the Redis server (TIME), so every caller shares one clock. Denials write only
 * the anomaly counter: they consume nothing.
 */
export const ADMISSION_SCRIPT = String.raw`
local op = ARGV[1]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ANOMALY_WINDOW = 300000
local TTL_MARGIN = 60000

local isSettle = op == 'settle'
local count = tonumber(ARGV[10]) or 0
local hasTokens, hasLeases = false, false
if not isSettle then
  for i = 1, count do
    local unit = ARGV[10 + (i - 1) * 4 + 2]
    if unit == 't' then hasTokens = true elseif unit == 'c' then hasLeases = true end
  end
end

-- The five shared keys (token sums, ledger, leases, records, record index) come first in KEYS only
-- when the call needs them; a plain check of request windows receives just its ring keys.
local needsShared = isSettle or hasTokens or hasLeases or ARGV[4] == '1' or ARGV[5] == '1'
local kState, kLedger, kLeases, kRecords, kRecExp
if needsShared then kState, kLedger, kLeases, kRecords, kRecExp = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5] end

-- Helpers for the ledger, leases and records, defined only when a call needs them: a plain
-- request check defines none (every closure made is work done on each call).
local num, parseTokenState, encodeTokens, memberOf, parseMember
if needsShared then
  num = function(x) return string.format('%.0f', x) end

  parseTokenState = function(s)
    local segs = {}
    if not s then return segs end
    local pos, len = 1, #s
    while pos < len do
      local nlen = string.byte(s, pos)
      local seg = { name = string.sub(s, pos + 1, pos + nlen) }
      seg.used, seg.reserved, seg.cutoff, seg.W = struct.unpack('<dddd', s, pos + nlen + 1)
      pos = pos + nlen + 33
      segs[#segs + 1] = seg
      segs['=' .. seg.name] = seg
    end
    return segs
  end

  encodeTokens = function(seg)
    return string.char(#seg.name) .. seg.name .. struct.pack('<dddd', seg.used, seg.reserved, seg.cutoff, seg.W)
  end

  memberOf = function(amount, state, id) return num(amount) .. ':' .. state .. ':' .. id end

  parseMember = function(m)
    local amount, state = string.match(m, '^(%d+):(%a):')
    return tonumber(amount), state
  end
end

---------------------------------------------------------------------------------------------------
if op == 'settle' then
  local id, actual = ARGV[2], tonumber(ARGV[3])
  local rec = redis.call('HGET', kRecords, id)
  if not rec then return {4, now, 0, 0} end
  local ts, reserved, state, leaseExp, charged = string.match(rec, '^(%d+):(%d+):(%a):(%d+):(%d+)$')
  ts, reserved, leaseExp, charged = tonumber(ts), tonumber(reserved), tonumber(leaseExp), tonumber(charged)
  if state == 's' then return {2, now, reserved, charged} end
  local expired = leaseExp <= now
  -- An expired lease keeps its reserved charge: the LLM call may have run. Overage still counts.
  local charge = actual
  if expired and charge < reserved then charge = reserved end
  redis.call('ZREM', kLeases, id)
  local wasReserved = redis.call('ZREM', kLedger, memberOf(reserved, 'r', id)) == 1
  local s = redis.call('GET', kState)
  local segs = parseTokenState(s)
  local counted, maxTokenW, out = false, 0, {}
  for i = 1, #segs do
    local seg = segs[i]
    if seg.W > maxTokenW then maxTokenW = seg.W end
    if ts > seg.cutoff then
      counted = true
      if wasReserved then seg.reserved = seg.reserved - reserved end
      seg.used = seg.used + charge
    end
    out[i] = encodeTokens(seg)
  end
  if counted or wasReserved then
    redis.call('ZADD', kLedger, ts, memberOf(charge, 's', id))
    -- Never shorten the ledger's TTL (later reservations may need it longer); always set one.
    local wanted = ts + maxTokenW + TTL_MARGIN - now
    if redis.call('PTTL', kLedger) < wanted then redis.call('PEXPIRE', kLedger, wanted) end
  end
  if s then redis.call('SET', kState, table.concat(out), 'KEEPTTL') end
  redis.call('HSET', kRecords, id, num(ts) .. ':' .. num(reserved) .. ':s:' .. num(leaseExp) .. ':' .. num(charge))
  if expired then return {3, now, reserved, charge} end
  return {1, now, reserved, charge}
end

---------------------------------------------------------------------------------------------------
local id, tokens = ARGV[2], tonumber(ARGV[3])
local keepRecord, reserve = ARGV[4] == '1', ARGV[5] == '1'
local threshold, extra = tonumber(ARGV[6]), tonumber(ARGV[7])
local retentionMs, leaseMs = tonumber(ARGV[8]), tonumber(ARGV[9])
local isCheck = op == 'check'
local RING = 7

-- Request window on its own ring key (see the header comment).
local function slotOf(s, i)
  local offset = (RING + i) * 8 + 1
  if not s or offset + 7 > #s then return 0 end
  return (struct.unpack('>i8', s, offset))
end

local function loadRequests(key, limit, W)
  local s = redis.call('GET', key)
  local C, h, n, exp, aStart, aCount, aWarned = 0, 0, 0, 0, 0, 0, 0
  if s then C, h, n, exp, aStart, aCount, aWarned = struct.unpack('>i8i8i8i8i8i8i8', s) end
  if C > 0 then
    while n > 0 and slotOf(s, (h - n) % C) <= now - W do n = n - 1 end
  end
  local kept, oldest, blocker = nil, nil, nil
  if C < limit or (n == 0 and C ~= limit) then
    -- New key, a limit above the capacity, or an idle oversized ring: rebuilt at capacity = limit
    -- (on commit), keeping every entry still counted (they all fit).
    kept = {}
    for k = n, 1, -1 do kept[#kept + 1] = slotOf(s, (h - k) % C) end
    C, h = limit, n % limit
    oldest = kept[1]
  elseif n > 0 then
    oldest = slotOf(s, (h - n) % C)
    if n >= limit then blocker = slotOf(s, (h - limit) % C) end
  end
  return { kind = 'r', key = key, W = W, s = s, C = C, h = h, n = n, exp = exp, aStart = aStart, aCount = aCount,
    aWarned = aWarned, aReset = false, kept = kept, oldest = oldest, blocker = blocker, name = false, limit = limit }
end

-- Writes a request ring: in place with BITFIELD, or whole (SET) when it was rebuilt. Extends the
-- TTL only when it would end before the newest entry (or the anomaly window) does.
local function saveRequests(p, committed, anomaly)
  local newest = 0
  if committed then newest = now
  elseif p.kept then newest = p.kept[#p.kept] or 0
  elseif p.n > 0 then newest = slotOf(p.s, (p.h - 1) % p.C) end
  local needed = newest + p.W
  if anomaly and p.aStart + ANOMALY_WINDOW > needed then needed = p.aStart + ANOMALY_WINDOW end
  local exp = p.exp
  if exp < needed + 1000 then
    local extension = p.W
    if extension < TTL_MARGIN then extension = TTL_MARGIN end
    exp = needed + extension
  end
  if p.kept and committed then
    local ring = {}
    for i = 1, #p.kept do ring[i] = struct.pack('>i8', p.kept[i]) end
    ring[#ring + 1] = struct.pack('>i8', now)
    local header = struct.pack('>i8i8i8i8i8i8i8', p.C, (p.h + 1) % p.C, p.n + 1, exp, p.aStart, p.aCount, p.aWarned)
    redis.call('SET', p.key, header .. table.concat(ring), 'PX', exp - now)
    return
  end
  local ops
  if committed and anomaly then
    ops = { 'SET', 'i64', '#' .. (RING + p.h), now, 'SET', 'i64', '#1', (p.h + 1) % p.C, 'SET', 'i64', '#2', p.n + 1, 'SET', 'i64', '#5', p.aCount }
  elseif committed then
    ops = { 'SET', 'i64', '#' .. (RING + p.h), now, 'SET', 'i64', '#1', (p.h + 1) % p.C, 'SET', 'i64', '#2', p.n + 1 }
  else
    ops = { 'SET', 'i64', '#5', p.aCount }
  end
  local size = #ops
  if anomaly and p.aReset then
    -- The anomaly window rolled over, or the warning was just given: rare, so written only then.
    ops[size + 1], ops[size + 2], ops[size + 3], ops[size + 4] = 'SET', 'i64', '#4', p.aStart
    ops[size + 5], ops[size + 6], ops[size + 7], ops[size + 8] = 'SET', 'i64', '#6', p.aWarned
    size = size + 8
  end
  if exp ~= p.exp then
    ops[size + 1], ops[size + 2], ops[size + 3], ops[size + 4] = 'SET', 'i64', '#3', exp
  end
  redis.call('BITFIELD', p.key, unpack(ops))
  if exp ~= p.exp then redis.call('PEXPIRE', p.key, exp - now) end
end

local tokenSegs, tokenState = {}, nil
local loadTokens, tokenRetry
if hasTokens then
  tokenState = redis.call('GET', kState)
  tokenSegs = parseTokenState(tokenState)

  -- Token window: advance the cutoff, subtracting ledger entries that left the window, and find
  -- the oldest entry still inside it (for reset). A new policy is summed from the ledger once.
  loadTokens = function(old, W)
    local p = { kind = 't', W = W }
    local newCutoff = now - W
    local from
    if old and old.W == W then
      p.used, p.reserved, p.cutoff = old.used, old.reserved, old.cutoff
      from = p.cutoff
    else
      p.used, p.reserved, p.cutoff = 0, 0, newCutoff
      from = newCutoff
      local items = redis.call('ZRANGEBYSCORE', kLedger, '(' .. num(newCutoff), '+inf')
      for i = 1, #items do
        local amount, state = parseMember(items[i])
        if state == 'r' then p.reserved = p.reserved + amount else p.used = p.used + amount end
      end
    end
    -- Page by offset, not by score: many entries can share one millisecond.
    local offset = 0
    while true do
      local items = redis.call('ZRANGEBYSCORE', kLedger, '(' .. num(from), '+inf', 'WITHSCORES', 'LIMIT', offset, 64)
      for i = 1, #items, 2 do
        local score = tonumber(items[i + 1])
        if score > newCutoff then p.oldest = score; break end
        local amount, state = parseMember(items[i])
        if state == 'r' then p.reserved = p.reserved - amount else p.used = p.used - amount end
      end
      if p.oldest or #items < 128 then break end
      offset = offset + 64
    end
    if newCutoff > p.cutoff then p.cutoff = newCutoff end
    return p
  end

  -- Time (ms from now) until a denied token policy would admit 'tokens': walk the window oldest first.
  tokenRetry = function(p, limit)
    local total = p.used + p.reserved
    local items = redis.call('ZRANGEBYSCORE', kLedger, '(' .. num(p.cutoff), '+inf', 'WITHSCORES')
    local freed = 0
    for i = 1, #items, 2 do
      freed = freed + parseMember(items[i])
      local left = total - freed
      if left + tokens <= limit and left < limit then return tonumber(items[i + 1]) + p.W - now end
    end
    return p.W
  end
end

local duplicate = nil
if isCheck and keepRecord then duplicate = redis.call('HGET', kRecords, id) end

-- Evaluate every policy without writing anything.
local policies, allowed, deniedIndex, retryMs = {}, true, 0, 0
local ringIndex = needsShared and 5 or 0
for i = 1, count do
  local base = 10 + (i - 1) * 4
  local name, unit, limit, window = ARGV[base + 1], ARGV[base + 2], tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
  local p, pass, retry
  if unit == 'r' then
    ringIndex = ringIndex + 1
    p = loadRequests(KEYS[ringIndex], limit, window)
    pass = p.n < limit
    if not pass then retry = p.blocker + window - now end
  elseif unit == 't' then
    p = loadTokens(tokenSegs['=' .. name], window)
    local total = p.used + p.reserved
    pass = total + tokens <= limit and total < limit
    if not pass then retry = tokenRetry(p, limit) end
  else
    p = { kind = 'c', W = window }
    p.inflight = redis.call('ZCOUNT', kLeases, '(' .. num(now), '+inf')
    if p.inflight > 0 then
      local first = redis.call('ZRANGEBYSCORE', kLeases, '(' .. num(now), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      p.earliest = tonumber(first[2])
    end
    -- Only reservations hold slots, so only reservations are held to the in-flight cap. A slot
    -- frees whenever a request settles, which cannot be predicted: suggest polling after 1 s at
    -- most, or sooner when a lease is about to expire.
    pass = (not reserve) or p.inflight < limit
    if not pass then retry = math.min(1000, p.earliest - now) end
  end
  p.name, p.limit = name, limit
  policies[i] = p
  if not pass then
    allowed = false
    if retry < 1 then retry = 1 end
    if retry > retryMs then retryMs, deniedIndex = retry, i end
  end
end

local code = 3
if isCheck then
  if duplicate then code = 2 elseif allowed then code = 1 else code = 0 end
end

-- Anomaly: attempts (allowed, denied or replayed) in a 5-minute window, counted on the first
-- request policy's key and reported once per window.
local anomalyAttempts, anomalyRing = 0, nil
if isCheck and threshold > 0 then
  for i = 1, count do
    if policies[i].kind == 'r' then anomalyRing = policies[i]; break end
  end
end
if anomalyRing then
  local a = anomalyRing
  if now - a.aStart >= ANOMALY_WINDOW then a.aStart, a.aCount, a.aWarned, a.aReset = now, 0, 0, true end
  a.aCount = a.aCount + 1 + extra
  if a.aCount > threshold and a.aWarned == 0 then a.aWarned, a.aReset, anomalyAttempts = 1, true, a.aCount end
end

-- Commit: only a fresh admission that passed every policy writes usage.
local committed = code == 1
for i = 1, count do
  local p = policies[i]
  if p.kind == 'r' then
    if committed or p == anomalyRing then saveRequests(p, committed, p == anomalyRing) end
    if committed then
      if p.n == 0 then p.oldest = now end
      p.n = p.n + 1
    end
  elseif committed and reserve and p.kind == 't' then
    p.reserved = p.reserved + tokens
    if not p.oldest then p.oldest = now end
  elseif committed and reserve and p.kind == 'c' then
    p.inflight = p.inflight + 1
    if not p.earliest or now + leaseMs < p.earliest then p.earliest = now + leaseMs end
  end
end
if committed then
  local leaseExpiry = now + leaseMs
  if reserve and hasLeases then
    redis.call('ZREMRANGEBYSCORE', kLeases, '-inf', num(now))
    redis.call('ZADD', kLeases, leaseExpiry, id)
    redis.call('PEXPIRE', kLeases, leaseMs + TTL_MARGIN)
  end
  if reserve and hasTokens then
    redis.call('ZADD', kLedger, now, memberOf(tokens, 'r', id))
  end
  if keepRecord then
    local stale = redis.call('ZRANGEBYSCORE', kRecExp, '-inf', num(now), 'LIMIT', 0, 64)
    if #stale > 0 then
      redis.call('HDEL', kRecords, unpack(stale))
      redis.call('ZREM', kRecExp, unpack(stale))
    end
    local reserved = reserve and tokens or 0
    redis.call('HSET', kRecords, id, num(now) .. ':' .. num(reserved) .. ':r:' .. num(leaseExpiry) .. ':' .. num(reserved))
    redis.call('ZADD', kRecExp, now + retentionMs, id)
    redis.call('PEXPIRE', kRecords, retentionMs + TTL_MARGIN)
    redis.call('PEXPIRE', kRecExp, retentionMs + TTL_MARGIN)
  end
end

-- Token state (checks only): the current tier's token windows. Other tiers' token windows are
-- dropped: they are rebuilt exactly from the ledger when needed.
if isCheck and hasTokens then
  local out, maxTokenW = {}, 0
  for i = 1, count do
    local p = policies[i]
    if p.kind == 't' then
      out[#out + 1] = encodeTokens(p)
      if p.W > maxTokenW then maxTokenW = p.W end
    end
  end
  redis.call('SET', kState, table.concat(out), 'PX', maxTokenW + TTL_MARGIN)
  if committed and reserve then
    redis.call('ZREMRANGEBYSCORE', kLedger, '-inf', num(now - maxTokenW))
    redis.call('PEXPIRE', kLedger, maxTokenW + TTL_MARGIN)
  end
end

local reply = { code, now, deniedIndex, retryMs, anomalyAttempts, 0, 0, now, 0 }
if anomalyRing then
  reply[7], reply[8], reply[9] = anomalyRing.aCount, anomalyRing.aStart + ANOMALY_WINDOW, anomalyRing.aWarned
end
if code == 2 then
  reply[6] = tonumber(string.match(duplicate, '^%d+:(%d+):'))
elseif code == 1 then
  reply[6] = reserve and tokens or 0
end
for i = 1, count do
  local p, at = policies[i], 9 + (i - 1) * 3
  if p.kind == 'r' then
    -- When the next unit frees: the oldest entry leaves, or (at or over the limit) the blocker does.
    local next = p.blocker or p.oldest
    reply[at + 1], reply[at + 2], reply[at + 3] = p.n, 0, next and (next + p.W) or now
  elseif p.kind == 't' then
    reply[at + 1], reply[at + 2], reply[at + 3] = p.used, p.reserved, p.oldest and (p.oldest + p.W) or now
  else
    reply[at + 1], reply[at + 2], reply[at + 3] = p.inflight, 0, p.earliest or now
  end
end
return reply
`;
