/**
 * Lua every script starts with: the clock, the tier's policies, and the usage of each policy kind.
 * Only Lua 5.1's base, string, table and math functions and redis.call are used, so the scripts run
 * on any Redis-compatible server (a test lists the globals they read).
 *
 * Call layout (redis/codec.ts builds it; nothing else does):
 *   KEYS: 1 token sums, 2 token ledger, 3 leases, 4 records, 5 record expiry index, 6 override,
 *         then one request log per request policy, in policy order (redis/keys.ts).
 *   ARGV: 1 clock: '' reads the server's TIME; an epoch-ms number replaces it, which only the
 *         differential tests send (to drive Redis and the memory store with one controlled clock),
 *         2 policy count P, then P x (name, kind r|t|c, limit, window or lease ms, mode e|s), then
 *         the operation's own arguments from index OP_ARG.
 *
 * Stored values (text, fixed-width decimal numbers of TIME_DIGITS digits where noted):
 *   request log (string, per request policy): header of 4 numbers (when the key's TTL ends, then the
 *       anomaly counter: window start, attempts, warned 0/1), then the admission times, oldest first.
 *       An admission APPENDs its time; entries that left the window are dropped in one rewrite once
 *       there are enough of them (COMPACT_MIN_ENTRIES and a quarter of the limit).
 *   token sums (string): 'name:settled:reserved:cutoff:windowMs' per token policy, joined by '|':
 *       running sums of the ledger entries newer than cutoff, advanced as entries leave the window.
 *   token ledger (sorted set): score = admission time, member =
 *       '<tokens>:<r|s>:<admission time>:<requestId>' (r reserved, s settled).
 *   leases (sorted set): score = lease expiry, member = requestId (every unsettled reservation).
 *   records (hash): requestId -> 'admittedAt:reserved:r|s:leaseExpiry:charged:forgetAt'.
 *   record expiry index (sorted set): score = forgetAt, member = requestId.
 *   override (string): 'expiresAt|setAt|name=limit,name=limit|reason' (expiresAt 0 = until removed);
 *       a policy named in it is evaluated with that limit. Read whenever policies are given.
 */
import { CONSTANTS_LUA } from './constants.lua';

export const BASE_LUA = String.raw`
${CONSTANTS_LUA}
local LOG_HEADER_FIELDS = 4

local now
if ARGV[1] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  now = tonumber(ARGV[1])
end

local TOKEN_SUMS, LEDGER, LEASES, RECORDS, RECORD_EXPIRY, OVERRIDE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

local policies = {}
local hasTokens = false
local logKeyIndex = 6
for i = 1, tonumber(ARGV[2]) do
  local at = 2 + (i - 1) * 5
  local policy = {
    name = ARGV[at + 1], kind = ARGV[at + 2], limit = tonumber(ARGV[at + 3]), windowMs = tonumber(ARGV[at + 4]),
    shadow = ARGV[at + 5] == 's',
  }
  if policy.kind == 'r' then
    logKeyIndex = logKeyIndex + 1
    policy.key = KEYS[logKeyIndex]
  elseif policy.kind == 't' then
    hasTokens = true
  end
  policies[i] = policy
end
local OP_ARG = 3 + #policies * 5

-- One MGET reads the override and every request log (as many commands as a single GET would
-- cost): the override adds no command to a check. readLog takes the logs from here.
local prefetchedLogs = {}
if #policies > 0 then
  local keys = { OVERRIDE }
  for i = 1, #policies do
    if policies[i].key then keys[#keys + 1] = policies[i].key end
  end
  local values = redis.call('MGET', unpack(keys))
  for i = 2, #keys do prefetchedLogs[keys[i]] = values[i] end

  -- The creator's override, when one is in force: its limits replace the policies' of the same name.
  local text = values[1]
  local expiresAt, limits = nil, nil
  if text then expiresAt, limits = string.match(text, '^(%d+)|%d+|([^|]*)|') end
  if expiresAt and (tonumber(expiresAt) == 0 or tonumber(expiresAt) > now) then
    local overridden = {}
    for name, limit in string.gmatch(limits, '([^,=]+)=(%d+)') do overridden[name] = tonumber(limit) end
    for i = 1, #policies do
      local limit = overridden[policies[i].name]
      if limit then policies[i].limit = limit end
    end
  end
end

local function integer(value) return string.format('%.0f', value) end
local function encodeTime(value) return string.format('%0' .. TIME_DIGITS .. '.0f', value) end

-- Sets a key's TTL to at least ms (never shortens it: other tiers may need it longer).
local function keepFor(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end

-- Request logs.

-- The index-th number (0-based) of a log's text.
local function numberAt(text, index)
  local from = index * TIME_DIGITS + 1
  return tonumber(string.sub(text, from, from + TIME_DIGITS - 1))
end

-- A log as the MGET above read it (the scripts read each log once, before writing any).
local function readLog(key)
  local text = prefetchedLogs[key]
  local log = { key = key, text = text, count = 0, expiresAt = 0, anomaly = { start = 0, attempts = 0, warned = 0 } }
  if text then
    log.count = #text / TIME_DIGITS - LOG_HEADER_FIELDS
    log.expiresAt = numberAt(text, 0)
    log.anomaly = { start = numberAt(text, 1), attempts = numberAt(text, 2), warned = numberAt(text, 3) }
  end
  return log
end

-- The index-th admission time (0-based) of a log.
local function entryAt(log, index) return numberAt(log.text, LOG_HEADER_FIELDS + index) end

-- Index of the first admission newer than cutoff (binary search: times are in order).
local function firstAfter(log, cutoff)
  local low, high = 0, log.count
  while low < high do
    local middle = math.floor((low + high) / 2)
    if entryAt(log, middle) > cutoff then high = middle else low = middle + 1 end
  end
  return low
end

-- Requests: at most limit admissions in any window; denied, the request passes once the admission
-- limit places from the newest leaves the window.
local function requestView(policy)
  local log = readLog(policy.key)
  local first = firstAfter(log, now - policy.windowMs)
  local view = { policy = policy, log = log, first = first, used = log.count - first, reserved = 0, cause = 0 }
  if view.used > 0 then view.oldest = entryAt(log, first) end
  view.pass = view.used < policy.limit
  if not view.pass then
    view.blocker = entryAt(log, log.count - policy.limit)
    view.retry = view.blocker + policy.windowMs - now
  end
  return view
end

local function logHeader(expiresAt, anomaly)
  return encodeTime(expiresAt) .. encodeTime(anomaly.start) .. encodeTime(anomaly.attempts) .. encodeTime(anomaly.warned)
end

-- Writes a log: the admission (when admit) and the anomaly counter (when anomalyChanged). Its TTL
-- never ends before the newest admission leaves the window, nor before an open anomaly window ends.
local function saveLog(view, admit, anomaly, anomalyChanged)
  local log, windowMs = view.log, view.policy.windowMs
  local needed = 0
  if admit then needed = now + windowMs end
  if anomaly.start > 0 and anomaly.start + ANOMALY_WINDOW_MS > needed then needed = anomaly.start + ANOMALY_WINDOW_MS end
  local expiresAt = log.expiresAt
  local extend = expiresAt < needed + TTL_AHEAD_MS
  if extend then expiresAt = needed + math.max(windowMs, TTL_MARGIN_MS) end
  local entry = ''
  if admit then entry = encodeTime(now) end
  local compact = admit and view.first >= COMPACT_MIN_ENTRIES and view.first * 4 >= view.policy.limit
  if not log.text or compact then
    local kept = ''
    if log.text then kept = string.sub(log.text, (LOG_HEADER_FIELDS + view.first) * TIME_DIGITS + 1) end
    redis.call('SET', log.key, logHeader(expiresAt, anomaly) .. kept .. entry, 'PX', expiresAt - now)
    return
  end
  if admit then redis.call('APPEND', log.key, entry) end
  if extend then
    redis.call('SETRANGE', log.key, 0, logHeader(expiresAt, anomaly))
    redis.call('PEXPIRE', log.key, expiresAt - now)
  elseif anomalyChanged then
    redis.call('SETRANGE', log.key, TIME_DIGITS, string.sub(logHeader(expiresAt, anomaly), TIME_DIGITS + 1))
  end
end

-- Tokens.

-- The admission time is part of the member, so a requestId used again later never collides.
local function ledgerMember(tokens, state, admittedAt, requestId)
  return integer(tokens) .. ':' .. state .. ':' .. integer(admittedAt) .. ':' .. requestId
end

local function parseLedgerMember(member)
  local tokens, state, requestId = string.match(member, '^(%d+):(%a):%d+:(.*)$')
  return tonumber(tokens), state, requestId
end

-- The token sums as stored: name -> { used, reserved, cutoff, windowMs }, and their names in order.
local function readTokenSums()
  local sums, names = {}, {}
  local text = redis.call('GET', TOKEN_SUMS)
  if text then
    for name, used, reserved, cutoff, windowMs in string.gmatch(text, '([^:|]+):(%d+):(%d+):(%d+):(%d+)') do
      sums[name] = { used = tonumber(used), reserved = tonumber(reserved), cutoff = tonumber(cutoff), windowMs = tonumber(windowMs) }
      names[#names + 1] = name
    end
  end
  return sums, names
end

local function encodeTokenSum(name, sum)
  return name .. ':' .. integer(sum.used) .. ':' .. integer(sum.reserved) .. ':' .. integer(sum.cutoff) .. ':' .. integer(sum.windowMs)
end

-- Tokens: settled charges plus unsettled reservations inside the window. The stored sums are moved
-- forward by subtracting the ledger entries that left the window since; a policy without sums (or
-- whose window changed) is summed from the ledger once.
local function tokenView(policy, stored, asked)
  local view = { policy = policy, used = 0, reserved = 0, cause = 0 }
  local cutoff = now - policy.windowMs
  local from = cutoff
  if stored and stored.windowMs == policy.windowMs then
    view.used, view.reserved, from = stored.used, stored.reserved, stored.cutoff
  else
    local members = redis.call('ZRANGEBYSCORE', LEDGER, '(' .. integer(cutoff), '+inf')
    for i = 1, #members do
      local tokens, state = parseLedgerMember(members[i])
      if state == 'r' then view.reserved = view.reserved + tokens else view.used = view.used + tokens end
    end
  end
  -- Subtract the entries that left the window since the sums were stored, up to the first one
  -- still inside it (the oldest counted). Page by offset, not by score: many entries can share one
  -- millisecond. A page holds 64 entries, each with its score.
  local offset = 0
  while not view.oldest do
    local page = redis.call('ZRANGEBYSCORE', LEDGER, '(' .. integer(from), '+inf', 'WITHSCORES', 'LIMIT', offset, 64)
    for i = 1, #page, 2 do
      local at = tonumber(page[i + 1])
      if at > cutoff then view.oldest = at; break end
      local tokens, state = parseLedgerMember(page[i])
      if state == 'r' then view.reserved = view.reserved - tokens else view.used = view.used - tokens end
    end
    if #page < 128 then break end
    offset = offset + 64
  end
  view.cutoff = math.max(cutoff, from)
  local function fits(total) return total + asked.tokens <= policy.limit and total < policy.limit end
  view.pass = fits(view.used + view.reserved)
  if not view.pass then
    -- Walk the window oldest first until enough has left it; note the reservations still in flight.
    local entries = redis.call('ZRANGEBYSCORE', LEDGER, '(' .. integer(cutoff), '+inf', 'WITHSCORES')
    local left, inFlight, earliestLease = view.used + view.reserved, 0, nil
    view.retry = policy.windowMs
    local found = false
    for i = 1, #entries, 2 do
      local tokens, state, requestId = parseLedgerMember(entries[i])
      left = left - tokens
      if not found and fits(left) then
        found = true
        view.retry = tonumber(entries[i + 1]) + policy.windowMs - now
      end
      if state == 'r' then
        local lease = tonumber(redis.call('ZSCORE', LEASES, requestId))
        if lease and lease > now then
          inFlight = inFlight + tokens
          if not earliestLease or lease < earliestLease then earliestLease = lease end
        end
      end
    end
    -- Reservations in flight are the reason when the request would fit without them: they usually
    -- settle within seconds, so the wait is at most until the earliest of their leases ends.
    if inFlight > 0 and fits(view.used + view.reserved - inFlight) then
      view.cause = 1
      view.retry = math.min(view.retry, earliestLease - now)
    end
  end
  return view
end

-- Leases (the in-flight cap): only reservations are held to it. A slot frees whenever a request
-- settles, which cannot be predicted: a denial suggests polling soon, never later than the
-- earliest lease ends.
local function leaseView(policy, asked)
  local view = { policy = policy, reserved = 0, cause = 1 }
  view.used = redis.call('ZCOUNT', LEASES, '(' .. integer(now), '+inf')
  if view.used > 0 then
    local earliest = redis.call('ZRANGEBYSCORE', LEASES, '(' .. integer(now), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    view.earliest = tonumber(earliest[2])
  end
  view.pass = not asked.reserve or view.used < policy.limit
  if not view.pass then view.retry = math.min(LEASE_RETRY_CAP_MS, view.earliest - now) end
  return view
end

-- Every policy of the tier, evaluated without writing anything.
local function viewPolicies(asked)
  local views, tokenSums = {}, nil
  if hasTokens then tokenSums = readTokenSums() end
  for i = 1, #policies do
    local policy = policies[i]
    if policy.kind == 'r' then
      views[i] = requestView(policy)
    elseif policy.kind == 't' then
      views[i] = tokenView(policy, tokenSums[policy.name], asked)
    else
      views[i] = leaseView(policy, asked)
    end
  end
  return views
end

-- used, reserved, reset (when the next unit frees) of a view, before or after this admission.
local function usageOf(view, admitted, asked)
  local kind, windowMs = view.policy.kind, view.policy.windowMs
  if kind == 'r' then
    if admitted then return view.used + 1, 0, (view.oldest or now) + windowMs end
    local next = view.blocker or view.oldest
    if next then return view.used, 0, next + windowMs end
    return view.used, 0, now
  elseif kind == 't' then
    -- An admitted reservation is already in view.reserved (added before the sums were saved).
    local oldest = view.oldest
    if admitted and asked.reserve then oldest = oldest or now end
    if oldest then return view.used, view.reserved, oldest + windowMs end
    return view.used, view.reserved, now
  end
  local used, earliest = view.used, view.earliest
  if admitted and asked.reserve then
    used = used + 1
    if not earliest or now + asked.leaseMs < earliest then earliest = now + asked.leaseMs end
  end
  return used, 0, earliest or now
end

-- Appends used, reserved, reset and the limit applied (the override's or the tier's) of every policy to a reply.
local function appendUsage(reply, views, admitted, asked)
  for i = 1, #views do
    local used, reserved, reset = usageOf(views[i], admitted, asked)
    reply[#reply + 1] = used
    reply[#reply + 1] = reserved
    reply[#reply + 1] = reset
    reply[#reply + 1] = views[i].policy.limit
  end
  return reply
end
`;
