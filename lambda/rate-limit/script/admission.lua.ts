/**
 * The admission script: one EVALSHA per check, status or settle, identical on ElastiCache and
 * Upstash. It lives in a TypeScript module (not a .lua file) so esbuild bundles it with no loader.
 *
 * Data structures (all keys of one creator share a hash tag; see keys.ts):
 *
 * KEYS[1] state  (string) packed, little-endian:
 *     header   '<ddd'  anomaly window start (ms), attempts in it, warned flag
 *     segments one per policy name, in the order of the last call:
 *       byte nameLength, name, kind byte
 *       kind 'r' (request window): '<I4I4I4d' N (ring size = limit), n (entries in window),
 *                 h (next slot), W (window ms), then a ring of N '<d' admission times.
 *                 The ring holds the last N admissions, so "at most N in any window W" is exact:
 *                 a request passes iff the N-th most recent admission has left the window.
 *                 Expired entries are dropped from the tail as time passes (amortised O(1)), so
 *                 one check reads and writes O(1) entries and never scans.
 *       kind 't' (token window): '<dddd' settled sum, reserved sum, cutoff (ms; ledger entries
 *                 at or before it are no longer counted), W (window ms).
 * KEYS[2] ledger (zset) score = admission time, member = "<amount>:<r|s>:<requestId>" (r = reserved,
 *                 s = settled). Token sums move incrementally: entries crossing a policy's cutoff
 *                 are subtracted once, so the sums are exact rolling windows.
 * KEYS[3] leases (zset) score = lease expiry, member = requestId (the in-flight set).
 * KEYS[4] records (hash) requestId -> "ts:reserved:r|s:leaseExpiry:charged".
 * KEYS[5] record expiry index (zset) score = when the record may be forgotten.
 *
 * ARGV: 1 op ('check' | 'status' | 'settle'), 2 requestId, 3 tokens (reserve, or actual for settle),
 *       4 keep record (0/1), 5 reserve (0/1), 6 anomaly threshold (0 = off), 7 extra attempts
 *       (denials served from a local cache since the last call), 8 record retention ms,
 *       9 lease ms, 10 policy count P, then P x (name, unit r|t|c, limit, window or lease ms).
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
local kState, kLedger, kLeases, kRecords, kRecExp = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local pack, unpack = struct.pack, struct.unpack
local ANOMALY_WINDOW = 300000
local TTL_MARGIN = 60000

local function num(x) return string.format('%.0f', x) end

local function parseState(s)
  local segs, anom = {}, {0, 0, 0}
  if not s or #s < 24 then return segs, anom end
  anom[1], anom[2], anom[3] = unpack('<ddd', s)
  local pos, len = 25, #s
  while pos <= len do
    local nlen = string.byte(s, pos)
    local seg = { start = pos, name = string.sub(s, pos + 1, pos + nlen), kind = string.sub(s, pos + nlen + 1, pos + nlen + 1) }
    local data = pos + nlen + 2
    if seg.kind == 'r' then
      seg.N, seg.n, seg.h, seg.W = unpack('<I4I4I4d', s, data)
      seg.ring = data + 20
      pos = seg.ring + seg.N * 8
      seg.stop = pos - 1
    else
      seg.used, seg.reserved, seg.cutoff, seg.W = unpack('<dddd', s, data)
      pos = data + 32
    end
    segs[#segs + 1] = seg
    segs['=' .. seg.name] = seg
  end
  return segs, anom
end

local function slot(s, seg, i) return (unpack('<d', s, seg.ring + i * 8)) end

local function parseMember(m)
  local amount, state = string.match(m, '^(%d+):(%a):')
  return tonumber(amount), state
end

local function memberOf(amount, state, id) return num(amount) .. ':' .. state .. ':' .. id end

local function encodeTokens(seg)
  return string.char(#seg.name) .. seg.name .. 't' .. pack('<dddd', seg.used, seg.reserved, seg.cutoff, seg.W)
end

-- Request window. The ring's capacity C is at least the limit: it never shrinks below the entries
-- still counted, so moving to a smaller tier and back forgets nothing. A request passes iff fewer
-- than 'limit' entries are inside the window; when denied, it passes once the entry at position
-- n - limit (from the oldest) leaves, which is ring slot (h - limit) mod C.
local function loadRequests(s, old, limit, W)
  local p = { kind = 'r', W = W, limit = limit }
  if old and old.kind == 'r' and old.N >= limit then
    local C, n, h = old.N, old.n, old.h
    while n > 0 and slot(s, old, (h - n) % C) <= now - W do n = n - 1 end
    if n > 0 or C == limit then
      p.N, p.n, p.h = C, n, h
      p.bytes = string.sub(s, old.ring, old.ring + C * 8 - 1)
      if n > 0 then p.oldest = slot(s, old, (h - n) % C) end
      if n >= limit then p.blocker = slot(s, old, (h - limit) % C) end
      return p
    end
  end
  -- New policy, a limit above the ring's capacity, or an empty oversized ring: rebuild with
  -- capacity = limit, keeping every entry still inside the window (they all fit).
  local kept = {}
  if old and old.kind == 'r' then
    for k = old.n, 1, -1 do
      local ts = slot(s, old, (old.h - k) % old.N)
      if ts > now - W then kept[#kept + 1] = ts end
    end
  end
  local parts = {}
  for i = 1, #kept do parts[i] = pack('<d', kept[i]) end
  p.N, p.n = limit, #kept
  p.h = p.n % limit
  p.bytes = table.concat(parts) .. string.rep('\0', (limit - p.n) * 8)
  p.oldest = kept[1]
  return p
end

-- Token window: advance the cutoff, subtracting ledger entries that left the window, and find the
-- oldest entry still inside it (for reset). A new policy is summed from the ledger once.
local function loadTokens(old, W)
  local p = { kind = 't', W = W }
  local newCutoff = now - W
  local from
  if old and old.kind == 't' and old.W == W then
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

local function loadLeases(limit, leaseMs)
  local p = { kind = 'c', N = limit, W = leaseMs }
  p.inflight = redis.call('ZCOUNT', kLeases, '(' .. num(now), '+inf')
  if p.inflight > 0 then
    local first = redis.call('ZRANGEBYSCORE', kLeases, '(' .. num(now), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    p.earliest = tonumber(first[2])
  end
  return p
end

-- Time (ms from now) until a denied token policy would admit 'tokens': walk the window oldest first.
local function tokenRetry(p, limit, tokens)
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
  local segs, anom = parseState(s)
  local counted, maxTokenW = false, 0
  local out = { pack('<ddd', anom[1], anom[2], anom[3]) }
  for i = 1, #segs do
    local seg = segs[i]
    if seg.kind == 't' then
      if seg.W > maxTokenW then maxTokenW = seg.W end
      if ts > seg.cutoff then
        counted = true
        if wasReserved then seg.reserved = seg.reserved - reserved end
        seg.used = seg.used + charge
      end
      out[#out + 1] = encodeTokens(seg)
    else
      out[#out + 1] = string.sub(s, seg.start, seg.stop)
    end
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
local count = tonumber(ARGV[10])
local isCheck = op == 'check'

local s = redis.call('GET', kState)
local segs, anom = parseState(s)

local duplicate = nil
if isCheck and keepRecord then duplicate = redis.call('HGET', kRecords, id) end

-- Evaluate every policy without writing anything.
local policies, allowed, deniedIndex, retryMs = {}, true, 0, 0
local hasTokens, hasLeases = false, false
for i = 1, count do
  local base = 10 + (i - 1) * 4
  local name, unit, limit, window = ARGV[base + 1], ARGV[base + 2], tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
  local old = segs['=' .. name]
  local p, pass, retry
  if unit == 'r' then
    p = loadRequests(s, old, limit, window)
    pass = p.n < limit
    if not pass then retry = p.blocker + window - now end
  elseif unit == 't' then
    hasTokens = true
    p = loadTokens(old, window)
    local total = p.used + p.reserved
    pass = total + tokens <= limit and total < limit
    if not pass then retry = tokenRetry(p, limit, tokens) end
  else
    hasLeases = true
    p = loadLeases(limit, window)
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

-- Commit: only a fresh admission that passed every policy writes usage.
if code == 1 then
  local ledgerMember = memberOf(tokens, 'r', id)
  for i = 1, count do
    local p = policies[i]
    if p.kind == 'r' then
      p.bytes = string.sub(p.bytes, 1, p.h * 8) .. pack('<d', now) .. string.sub(p.bytes, p.h * 8 + 9)
      p.h = (p.h + 1) % p.N
      if p.n == 0 then p.oldest = now end
      p.n = p.n + 1
    elseif p.kind == 't' and reserve then
      p.reserved = p.reserved + tokens
      if not p.oldest then p.oldest = now end
    elseif p.kind == 'c' and reserve then
      p.inflight = p.inflight + 1
      if not p.earliest or now + leaseMs < p.earliest then p.earliest = now + leaseMs end
    end
  end
  local leaseExpiry = now + leaseMs
  if reserve and hasLeases then
    redis.call('ZREMRANGEBYSCORE', kLeases, '-inf', num(now))
    redis.call('ZADD', kLeases, leaseExpiry, id)
    redis.call('PEXPIRE', kLeases, leaseMs + TTL_MARGIN)
  end
  if reserve and hasTokens then
    redis.call('ZADD', kLedger, now, ledgerMember)
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

-- Anomaly: attempts (allowed, denied or replayed) in a 5-minute window, reported once per window.
local anomalyAttempts = 0
if isCheck and threshold > 0 then
  if now - anom[1] >= ANOMALY_WINDOW then anom[1], anom[2], anom[3] = now, 0, 0 end
  anom[2] = anom[2] + 1 + extra
  if anom[2] > threshold and anom[3] == 0 then anom[3], anomalyAttempts = 1, anom[2] end
end

-- Write the state back (checks only): current policies first, then other tiers' request windows
-- that still hold entries inside their window. Token windows of other tiers are dropped: they are
-- rebuilt exactly from the ledger when needed.
if isCheck then
  local out = { pack('<ddd', anom[1], anom[2], anom[3]) }
  local maxW, maxTokenW = ANOMALY_WINDOW, 0
  for i = 1, count do
    local p = policies[i]
    if p.kind == 'r' then
      out[#out + 1] = string.char(#p.name) .. p.name .. 'r' .. pack('<I4I4I4d', p.N, p.n, p.h, p.W) .. p.bytes
    elseif p.kind == 't' then
      out[#out + 1] = encodeTokens(p)
      if p.W > maxTokenW then maxTokenW = p.W end
    end
    if p.kind ~= 'c' and p.W > maxW then maxW = p.W end
  end
  for i = 1, #segs do
    local seg = segs[i]
    if seg.kind == 'r' and seg.n > 0 then
      local current = false
      for j = 1, count do if policies[j].name == seg.name then current = true end end
      if not current and slot(s, seg, (seg.h - 1) % seg.N) > now - seg.W then
        out[#out + 1] = string.sub(s, seg.start, seg.stop)
        if seg.W > maxW then maxW = seg.W end
      end
    end
  end
  redis.call('SET', kState, table.concat(out), 'PX', maxW + TTL_MARGIN)
  if code == 1 and reserve and hasTokens then
    redis.call('ZREMRANGEBYSCORE', kLedger, '-inf', num(now - maxTokenW))
    redis.call('PEXPIRE', kLedger, maxTokenW + TTL_MARGIN)
  end
end

local reply = { code, now, deniedIndex, retryMs, anomalyAttempts, 0, anom[2], anom[1] + ANOMALY_WINDOW, anom[3] }
if code == 2 then
  reply[6] = tonumber(string.match(duplicate, '^%d+:(%d+):'))
elseif code == 1 then
  reply[6] = reserve and tokens or 0
end
for i = 1, count do
  local p = policies[i]
  if p.kind == 'r' then
    reply[#reply + 1] = p.n
    reply[#reply + 1] = 0
    -- When the next unit frees: the oldest entry leaves, or (at or over the limit) the blocker does.
    local next = p.blocker or p.oldest
    reply[#reply + 1] = next and (next + p.W) or now
  elseif p.kind == 't' then
    reply[#reply + 1] = p.used
    reply[#reply + 1] = p.reserved
    reply[#reply + 1] = p.oldest and (p.oldest + p.W) or now
  else
    reply[#reply + 1] = p.inflight
    reply[#reply + 1] = 0
    reply[#reply + 1] = p.earliest or now
  end
end
return reply
`;
