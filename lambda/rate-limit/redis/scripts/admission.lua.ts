/**
 * The admission script: one EVALSHA per check, status or settle, identical on ElastiCache and
 * Upstash. It lives in TypeScript modules (not .lua files) so esbuild bundles it with no loader.
 *
 * Data structures (all keys of one creator share a hash tag; see keys.ts):
 *
 * request logs (`rl:{creator}:w:<policy>`), one per request policy: see request-log.lua.ts.
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
 * Two call shapes:
 *
 * Plain check (ARGV[1] is a number): a check of request policies only, with no reservation and
 *     no record: the common case, kept lean (every argument costs the client and the server).
 *     KEYS: one log key per request policy. ARGV: P x (limit, window ms), then the anomaly
 *     threshold (0 = off; counted on the first policy's log), then, only when not 0, the extra
 *     attempts (denials served from a local cache since the last call).
 * Everything else (ARGV[1] = 'check' | 'status' | 'settle'). KEYS: the five shared keys, then one
 *     log key per request policy. ARGV: 1 op, 2 requestId, 3 tokens (reserve, or actual for
 *     settle), 4 keep record (0/1), 5 reserve (0/1), 6 anomaly threshold, 7 extra attempts,
 *     8 record retention ms, 9 lease ms, 10 policy count P, then P x (name, unit r|t|c, limit,
 *     window or lease ms).
 *
 * Short reply (a plain admission with nothing else to tell: allowed, no anomaly report, one
 *       policy): now, used, reset ms.
 * Reply (check / status, both shapes): code (1 allowed, 0 denied, 2 duplicate, 3 status), now,
 *       denied policy index (1-based, 0 = none), retry ms, anomaly attempts to report (0 = none),
 *       reserved tokens, anomaly attempts counted, the anomaly window's end (ms), warned flag (0/1),
 *       then P x (used, reserved, reset ms).
 * Reply (settle): code (1 settled, 2 already settled, 3 expired, 4 unknown), now, reserved, charged.
 *       A settle that sends the tier's policies (the general shape, with keep record, reserve,
 *       threshold and extra attempts all 0) also reads the tier's usage after the settlement, in
 *       the same call: its reply is the status reply followed by code, reserved, charged.
 *
 * Time comes from the Redis server (TIME), so every caller shares one clock. Denials write only
 * the anomaly counter: they consume nothing.
 */
import { REQUEST_LOG_CONSTANTS_LUA, REQUEST_LOG_LUA } from './request-log.lua';

export const ADMISSION_SCRIPT = String.raw`
local op = ARGV[1]
local time = redis.call('TIME')
-- Arithmetic converts the reply's strings: Lua 5.1's tonumber parses a string twice, and on the
-- common path every conversion shows in the script's time.
local micros = time[2] + 0
local now = time[1] * 1000 + (micros - micros % 1000) / 1000
${REQUEST_LOG_CONSTANTS_LUA}
-- The common admission, in straight lines: one request policy, below its limit, and either no
-- log yet or a log that needs neither compaction, nor a longer TTL, nor anomaly work. It writes
-- exactly what the general code below would (one SET or one APPEND) without the closures and
-- tables that code builds, and answers with the short reply; anything else falls through.
-- The first log as read here (false: no log), so the general code need not read it again.
local firstLog = nil
-- Only a plain check of one policy has this shape: the general one has 5 keys and 10 arguments
-- or more.
if #KEYS == 1 and #ARGV == 3 then
  local key, limit, W = KEYS[1], ARGV[1] + 0, ARGV[2] + 0
  local s = redis.call('GET', key)
  firstLog = s
  if not s then
    -- No log, no anomaly attempts: one admission cannot exceed a threshold (an integer >= 1).
    local margin = W
    if margin < TTL_MARGIN then margin = TTL_MARGIN end
    local exp = now + W + margin
    redis.call('SET', key, binPack('>i8i8i8i8i8', exp, 0, 0, 0, now), 'PX', exp - now)
    return { now, 1, now + W }
  end
  local count = (#s - LOG_HEADER) / 8
  if count > 0 then
    local exp, aStart, aCount, aWarned, oldest = binUnpack('>i8i8i8i8i8', s)
    local first, cutoff = 0, now - W
    if oldest <= cutoff then
      -- Entries left the window (the usual state of a steady creator's log until compaction):
      -- binary search for the first that did not; entry 0 did. (Not firstAfter, below: defining
      -- that closure here would cost every check, most of which never search.)
      local lo, hi = 1, count
      while lo < hi do
        local mid = (lo + hi - (lo + hi) % 2) / 2
        if binUnpack('>i8', s, LOG_HEADER + 1 + mid * 8) > cutoff then hi = mid else lo = mid + 1 end
      end
      first, oldest = lo, now
      if lo < count then oldest = binUnpack('>i8', s, LOG_HEADER + 1 + lo * 8) end
    end
    local used = count - first
    -- No compaction due and no TTL to extend (saveLog's rules), then the anomaly rule.
    if used < limit and (first < COMPACT_MIN_ENTRIES or first * 4 < limit)
      and exp >= now + W + TTL_AHEAD and exp >= aStart + ANOMALY_WINDOW + TTL_AHEAD then
      -- Anomaly attempts are at most the counter plus the admissions inside the window (all of
      -- those of the last 5 minutes when the window is that long) plus this one.
      local threshold = ARGV[3]
      local quiet = threshold == '0'
      if not quiet then
        if now - aStart >= ANOMALY_WINDOW then aCount, aWarned = 0, 0 end
        quiet = aWarned == 1 or (W >= ANOMALY_WINDOW and aCount + used + 1 <= threshold + 0)
      end
      if quiet then
        redis.call('APPEND', key, binPack('>i8', now))
        return { now, used + 1, oldest + W }
      end
    end
  end
end

local plain = op ~= 'check' and op ~= 'status' and op ~= 'settle'
${REQUEST_LOG_LUA}

---------------------------------------------------------------------------------------------------
-- Plain check: request policies only. Every policy is evaluated before anything is written.
if plain then
  local P = #KEYS
  local threshold, extra = ARGV[2 * P + 1] + 0, (ARGV[2 * P + 2] or 0) + 0
  local logs, counts, firsts, limits, windows = {}, {}, {}, {}, {}
  local deniedIndex, retryMs = 0, 0
  for i = 1, P do
    local limit, W = ARGV[2 * i - 1] + 0, ARGV[2 * i] + 0
    local preread = nil
    if i == 1 then preread = firstLog end
    local s, count, first = readLog(KEYS[i], W, preread)
    logs[i], counts[i], firsts[i], limits[i], windows[i] = s, count, first, limit, W
    if count - first >= limit then
      local retry = entryAt(s, count - limit) + W - now
      if retry < 1 then retry = 1 end
      if retry > retryMs then retryMs, deniedIndex = retry, i end
    end
  end
  local admitted = deniedIndex == 0
  local reply = { 0, now, deniedIndex, retryMs, 0, 0, 0, now, 0 }
  if admitted then reply[1] = 1 end

  local aStart, aCount, aWarned, anomalyChanged = 0, 0, 0, false
  if threshold > 0 then
    local others = extra
    if not admitted then others = others + 1 end
    local attempts, report
    aStart, aCount, aWarned, anomalyChanged, attempts, report =
      countAnomaly(logs[1], counts[1], firsts[1], windows[1], threshold, admitted, others)
    reply[5], reply[7], reply[9] = report, attempts, aWarned
    if aStart > 0 then reply[8] = aStart + ANOMALY_WINDOW end
  end

  for i = 1, P do
    local s, count, first, W = logs[i], counts[i], firsts[i], windows[i]
    local used = count - first
    if admitted or (i == 1 and anomalyChanged) then
      if i == 1 and threshold > 0 then
        saveLog(KEYS[i], s, count, first, limits[i], W, admitted, aStart, aCount, aWarned, anomalyChanged)
      else
        local s1, c1, w1 = anomalyFields(s)
        saveLog(KEYS[i], s, count, first, limits[i], W, admitted, s1, c1, w1, false)
      end
    end
    -- When the next unit frees: the oldest entry leaves, or (at or over the limit) the blocker does.
    local at = 9 + (i - 1) * 3
    reply[at + 2] = 0
    if used >= limits[i] then
      reply[at + 1], reply[at + 3] = used, entryAt(s, count - limits[i]) + W
    elseif used > 0 then
      if admitted then used = used + 1 end
      reply[at + 1], reply[at + 3] = used, entryAt(s, first) + W
    elseif admitted then
      reply[at + 1], reply[at + 3] = 1, now + W
    else
      reply[at + 1], reply[at + 3] = 0, now
    end
  end
  return reply
end

local isSettle = op == 'settle'
local count = tonumber(ARGV[10]) or 0
local hasTokens, hasLeases = false, false
for i = 1, count do
  local unit = ARGV[10 + (i - 1) * 4 + 2]
  if unit == 't' then hasTokens = true elseif unit == 'c' then hasLeases = true end
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
-- The settlement, when this call is one; with the tier's policies the call goes on as a status.
local settled = nil
if isSettle then
  -- Settle: reconciles a reservation. Returns the settle code (1 settled, 2 already settled,
  -- 3 expired, 4 unknown), the tokens reserved and the tokens charged.
  local function settleReservation(id, actual)
    local rec = redis.call('HGET', kRecords, id)
    if not rec then return 4, 0, 0 end
    local ts, reserved, state, leaseExp, charged = string.match(rec, '^(%d+):(%d+):(%a):(%d+):(%d+)$')
    ts, reserved, leaseExp, charged = tonumber(ts), tonumber(reserved), tonumber(leaseExp), tonumber(charged)
    if state == 's' then return 2, reserved, charged end
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
    if expired then return 3, reserved, charge end
    return 1, reserved, charge
  end

  local code, reserved, charged = settleReservation(ARGV[2], tonumber(ARGV[3]))
  if count == 0 then return { code, now, reserved, charged } end
  settled = { code, reserved, charged }
end

local id, tokens = ARGV[2], tonumber(ARGV[3])
-- A settle's status asks for no tokens (ARGV[3] was the settled amount).
if isSettle then tokens = 0 end
local keepRecord, reserve = ARGV[4] == '1', ARGV[5] == '1'
local threshold, extra = tonumber(ARGV[6]), tonumber(ARGV[7])
local retentionMs, leaseMs = tonumber(ARGV[8]), tonumber(ARGV[9])
local isCheck = op == 'check'

-- A request policy's view: its log as read, and what the reply needs.
local function loadRequests(key, limit, W)
  local s, count, first = readLog(key, W)
  local p = { kind = 'r', key = key, W = W, s = s, count = count, first = first, n = count - first, limit = limit }
  if p.n > 0 then p.oldest = entryAt(s, first) end
  if p.n >= limit then p.blocker = entryAt(s, count - limit) end
  return p
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

-- Anomaly: counted on the first request policy's log (see request-log.lua.ts).
local anomalyRing, anomaly = nil, nil
if isCheck and threshold > 0 then
  for i = 1, count do
    if policies[i].kind == 'r' then anomalyRing = policies[i]; break end
  end
end
if anomalyRing then
  local a = anomalyRing
  local others = extra
  if code ~= 1 then others = others + 1 end
  anomaly = {}
  anomaly.start, anomaly.count, anomaly.warned, anomaly.changed, anomaly.attempts, anomaly.report =
    countAnomaly(a.s, a.count, a.first, a.W, threshold, code == 1, others)
end

-- Commit: only a fresh admission that passed every policy writes usage.
local committed = code == 1
for i = 1, count do
  local p = policies[i]
  if p.kind == 'r' then
    if p == anomalyRing and (committed or anomaly.changed) then
      saveLog(p.key, p.s, p.count, p.first, p.limit, p.W, committed, anomaly.start, anomaly.count, anomaly.warned, anomaly.changed)
    elseif committed then
      local aStart, aCount, aWarned = anomalyFields(p.s)
      saveLog(p.key, p.s, p.count, p.first, p.limit, p.W, true, aStart, aCount, aWarned, false)
    end
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

local reply = { code, now, deniedIndex, retryMs, 0, 0, 0, now, 0 }
if anomaly then
  reply[5], reply[7], reply[9] = anomaly.report, anomaly.attempts, anomaly.warned
  if anomaly.start > 0 then reply[8] = anomaly.start + ANOMALY_WINDOW end
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
if settled then
  local at = #reply
  reply[at + 1], reply[at + 2], reply[at + 3] = settled[1], settled[2], settled[3]
end
return reply
`;
