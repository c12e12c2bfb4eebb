/**
 * Lua the usage script starts with (usage.lua.ts): the clock, the tier's policies, one read of the
 * creator's state, and the usage of each policy kind. Only Lua 5.1's base, string, table and math
 * functions and redis.call are used, so the scripts run on any Redis-compatible server (a test
 * lists the globals they read). Explanations live in these TypeScript comments; what ships is the
 * minified text (scripts/index.ts says how it is made).
 *
 * Call layout (redis/codec.ts builds it; nothing else does):
 *   KEYS: 1 state, 2 token ledger, 3 reset generation, 4 the request's record (any key when there is
 *         no requestId), 5 override, then one request log per request policy, in policy order.
 *   ARGV: 1 clock: '' reads the server's TIME; an epoch-ms number replaces it, which only the
 *         differential tests send (to drive Redis and the memory store with one controlled clock),
 *         2 requestId ('' = none), 3 policy count P, then P x (name, kind r|t|c, limit, window or
 *         lease ms, mode e|s), then the operation's own arguments from index OP_ARG, and last
 *         the operation's name (check, reserve, status, settle).
 *
 * One MGET reads everything a call decides on (state, generation, record, override, logs): as many
 * commands as a single GET. Stored values, all text (see redis/keys.ts for the key names):
 *   state (string): '<token sums>|<leases>|<ledger trimmed at>':
 *       token sums: 'name:settled:reserved:cutoff:windowMs:oldest' per token policy of the tier, joined
 *       by ','; running sums of the ledger entries newer than cutoff, and the admission time of the
 *       oldest of them (0: none), so the ledger is read only when that one leaves the window.
 *       leases: 'expiry:admittedAt:tokens:requestId' per unsettled reservation whose lease is live,
 *       joined by ',' (request ids cannot contain ',' or '|').
 *   request log (string, per request policy): header of 4 numbers of TIME_DIGITS digits (when the
 *       key's TTL ends, then the anomaly counter: window start, attempts, warned 0/1), then the
 *       admission times, oldest first. An admission APPENDs its time; entries that left the window
 *       are dropped in one rewrite once there are enough of them (COMPACT_MIN_ENTRIES and a quarter
 *       of the limit).
 *   token ledger (sorted set): score = admission time, member = '<tokens>:<r|s>:<admittedAt>:<requestId>'
 *       (r reserved, s settled); read only to move the sums and to explain a denial.
 *   record (string, one key per requestId, expiring with its retention):
 *       'generation:admittedAt:reserved:r|s:leaseExpiry:charged:forgetAt'.
 *   generation (string integer): bumped by a reset, so records written before it read as unknown.
 *   override (string): 'expiresAt|setAt|name=limit,name=limit|reason' (expiresAt 0 = until removed).
 */

/** The clock: the server's TIME, or the differential tests' clock. */
export const CLOCK_LUA = String.raw`
local now
if ARGV[1] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
`;

/**
 * The policies, then the one read. A policy named in the override (when it is in force) takes the
 * override's limit. The state is parsed here once: token sums by name, live leases in a list.
 */
const READ_LUA = String.raw`
local STATE, LEDGER, GENERATION, RECORD, OVERRIDE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local requestId = ARGV[2]
if requestId == '' then requestId = nil end

local policies = {}
local logKeyIndex = 5
for i = 1, tonumber(ARGV[3]) do
  local at = 3 + (i - 1) * 5
  local policy = {
    name = ARGV[at + 1], kind = ARGV[at + 2], limit = tonumber(ARGV[at + 3]), windowMs = tonumber(ARGV[at + 4]),
    shadow = ARGV[at + 5] == 's',
  }
  if policy.kind == 'r' then
    logKeyIndex = logKeyIndex + 1
    policy.key = KEYS[logKeyIndex]
  end
  policies[i] = policy
end
local OP_ARG = 4 + #policies * 5

local readKeys = { STATE, GENERATION, RECORD }
if #policies > 0 then
  readKeys[4] = OVERRIDE
  for i = 1, #policies do
    if policies[i].key then readKeys[#readKeys + 1] = policies[i].key end
  end
end
local values = redis.call('MGET', unpack(readKeys))
local stateText, generation, recordText = values[1], values[2] and tonumber(values[2]) or 0, values[3]
local logTexts = {}
for i = 5, #readKeys do logTexts[readKeys[i]] = values[i] end

if values[4] then
  local expiresAt, limits = string.match(values[4], '^(%d+)|%d+|([^|]*)|')
  if expiresAt and (tonumber(expiresAt) == 0 or tonumber(expiresAt) > now) then
    local overridden = {}
    for name, limit in string.gmatch(limits, '([^,=]+)=(%d+)') do overridden[name] = tonumber(limit) end
    for i = 1, #policies do
      local limit = overridden[policies[i].name]
      if limit then policies[i].limit = limit end
    end
  end
end

-- changed: the token sums moved or were summed again, so the stored ones are worth replacing.
local state = { sums = nil, leases = {}, trimmedAt = 0, changed = false }
if stateText then
  local sumsText, leasesText, trimmedAt = string.match(stateText, '^([^|]*)|([^|]*)|(%d+)$')
  state.sums, state.trimmedAt = {}, tonumber(trimmedAt)
  for name, used, reserved, cutoff, windowMs, oldest in string.gmatch(sumsText, '([^:,]+):(%d+):(%d+):(%d+):(%d+):(%d+)') do
    state.sums[name] = {
      used = tonumber(used), reserved = tonumber(reserved), cutoff = tonumber(cutoff), windowMs = tonumber(windowMs), oldest = tonumber(oldest),
    }
  end
  for expiry, admittedAt, tokens, id in string.gmatch(leasesText, '(%d+):(%d+):(%d+):([^,]+)') do
    expiry = tonumber(expiry)
    if expiry > now then
      state.leases[#state.leases + 1] = { expiry = expiry, admittedAt = tonumber(admittedAt), tokens = tonumber(tokens), requestId = id }
    end
  end
end
`;

/**
 * Text helpers, and the record of this call's requestId (nil when unknown, forgotten, or from
 * before a reset). Every stored number is an integer: '%d' formats one at half the cost of '%.0f'
 * (which goes through libc's floating-point printing), and the scripts format many per call.
 */
const RECORD_LUA = String.raw`
local TIME_FORMAT = '%0' .. TIME_DIGITS .. 'd'
local function integer(value) return string.format('%d', value) end
local function encodeTime(value) return string.format(TIME_FORMAT, value) end

local record = nil
if recordText then
  local written, admittedAt, reserved, settledFlag, leaseExpiry, charged, forgetAt =
    string.match(recordText, '^(%d+):(%d+):(%d+):(%a):(%d+):(%d+):(%d+)$')
  if written and tonumber(written) == generation and tonumber(forgetAt) > now then
    record = {
      admittedAt = tonumber(admittedAt), reserved = tonumber(reserved), settled = settledFlag == 's',
      leaseExpiry = tonumber(leaseExpiry), charged = tonumber(charged), forgetAt = tonumber(forgetAt),
    }
  end
end

local function writeRecord(value)
  local settledFlag = 'r'
  if value.settled then settledFlag = 's' end
  redis.call('SET', RECORD, integer(generation) .. ':' .. integer(value.admittedAt) .. ':' .. integer(value.reserved) .. ':' ..
    settledFlag .. ':' .. integer(value.leaseExpiry) .. ':' .. integer(value.charged) .. ':' .. integer(value.forgetAt),
    'PX', value.forgetAt - now + TTL_MARGIN_MS)
  -- After a reset, the generation must outlive every record written under it.
  if generation > 0 and redis.call('PTTL', GENERATION) < value.forgetAt - now + TTL_MARGIN_MS then
    redis.call('PEXPIRE', GENERATION, value.forgetAt - now + TTL_MARGIN_MS)
  end
end

-- The admission time is part of the member, so a requestId used again later never collides.
local function ledgerMember(tokens, settled, admittedAt, id)
  local flag = 'r'
  if settled then flag = 's' end
  return integer(tokens) .. ':' .. flag .. ':' .. integer(admittedAt) .. ':' .. id
end

local function parseLedgerMember(member)
  local tokens, flag, id = string.match(member, '^(%d+):(%a):%d+:(.*)$')
  return tonumber(tokens), flag == 's', id
end
`;

/**
 * Request logs. Requests: at most limit admissions in any window; denied, the request passes once
 * the admission limit places from the newest leaves the window. A log's TTL never ends before its
 * newest admission leaves the window, nor before an open anomaly window ends.
 */
const REQUEST_LOG_LUA = String.raw`
local LOG_HEADER_FIELDS = 4

local function numberAt(text, index)
  local from = index * TIME_DIGITS + 1
  return tonumber(string.sub(text, from, from + TIME_DIGITS - 1))
end

local function readLog(key)
  local text = logTexts[key]
  local log = { key = key, text = text, count = 0, expiresAt = 0, anomaly = { start = 0, attempts = 0, warned = 0 } }
  if text then
    log.count = #text / TIME_DIGITS - LOG_HEADER_FIELDS
    log.expiresAt = numberAt(text, 0)
    log.anomaly = { start = numberAt(text, 1), attempts = numberAt(text, 2), warned = numberAt(text, 3) }
  end
  return log
end

local function entryAt(log, index) return numberAt(log.text, LOG_HEADER_FIELDS + index) end

-- Index of the first admission newer than cutoff (binary search: times are in order). Entries are
-- compared as text: fixed-width decimals order like the numbers, and no probe converts one.
local function firstAfter(log, cutoff)
  local low, high, cutoffText = 0, log.count, encodeTime(cutoff)
  while low < high do
    local middle = math.floor((low + high) / 2)
    local from = (LOG_HEADER_FIELDS + middle) * TIME_DIGITS + 1
    if string.sub(log.text, from, from + TIME_DIGITS - 1) > cutoffText then high = middle else low = middle + 1 end
  end
  return low
end

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

-- Writes the admission (when admit) and the anomaly counter (when anomalyChanged).
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
`;

/**
 * Tokens: settled charges plus unsettled reservations inside the window. The stored sums move
 * forward only when their oldest entry leaves the window: the entries that left are subtracted
 * (paged by offset, not by score: many entries can share one millisecond) and the next oldest is
 * found. Pages start at 2 entries and double up to 64: at steady state one entry leaves per
 * admission, so the first page (the one that left and the next oldest) is usually the only one. A policy without sums (or whose window changed) is summed from the ledger once. Denied,
 * the ledger is walked oldest first until enough has left it; reservations still in flight are the
 * reason when the request would fit without them (they usually settle within seconds, so the wait is
 * at most until the earliest of their leases ends).
 */
const TOKENS_LUA = String.raw`
local LEDGER_PAGE_MAX = 64

local function liveLeaseOf(id)
  for i = 1, #state.leases do
    if state.leases[i].requestId == id then return state.leases[i] end
  end
  return nil
end

local function tokenView(policy, asked)
  local view = { policy = policy, used = 0, reserved = 0, cause = 0 }
  local cutoff = now - policy.windowMs
  local stored = state.sums and state.sums[policy.name]
  local from = cutoff
  if stored and stored.windowMs == policy.windowMs then
    view.used, view.reserved, from, view.oldest = stored.used, stored.reserved, stored.cutoff, stored.oldest
    if view.oldest == 0 then view.oldest = nil end
  else
    state.changed = true
    local entries = redis.call('ZRANGEBYSCORE', LEDGER, '(' .. integer(cutoff), '+inf', 'WITHSCORES')
    if #entries > 0 then view.oldest = tonumber(entries[2]) end
    for i = 1, #entries, 2 do
      local tokens, settled = parseLedgerMember(entries[i])
      if settled then view.used = view.used + tokens else view.reserved = view.reserved + tokens end
    end
    from = cutoff
  end
  if view.oldest and view.oldest <= cutoff then
    state.changed = true
    view.oldest = nil
    local offset, pageSize = 0, 2
    while not view.oldest do
      local page = redis.call('ZRANGEBYSCORE', LEDGER, '(' .. integer(from), '+inf', 'WITHSCORES', 'LIMIT', offset, pageSize)
      for i = 1, #page, 2 do
        local at = tonumber(page[i + 1])
        if at > cutoff then view.oldest = at; break end
        local tokens, settled = parseLedgerMember(page[i])
        if settled then view.used = view.used - tokens else view.reserved = view.reserved - tokens end
      end
      if #page < 2 * pageSize then break end
      offset = offset + pageSize
      pageSize = math.min(pageSize * 2, LEDGER_PAGE_MAX)
    end
  end
  view.cutoff = math.max(cutoff, from)
  local function fits(total) return total + asked.tokens <= policy.limit and total < policy.limit end
  view.pass = fits(view.used + view.reserved)
  if not view.pass then
    local entries = redis.call('ZRANGEBYSCORE', LEDGER, '(' .. integer(cutoff), '+inf', 'WITHSCORES')
    local left, inFlight, earliestLease = view.used + view.reserved, 0, nil
    view.retry = policy.windowMs
    local found = false
    for i = 1, #entries, 2 do
      local tokens, settled, id = parseLedgerMember(entries[i])
      left = left - tokens
      if not found and fits(left) then
        found = true
        view.retry = tonumber(entries[i + 1]) + policy.windowMs - now
      end
      local lease = not settled and liveLeaseOf(id)
      if lease then
        inFlight = inFlight + tokens
        if not earliestLease or lease.expiry < earliestLease then earliestLease = lease.expiry end
      end
    end
    if inFlight > 0 and fits(view.used + view.reserved - inFlight) then
      view.cause = 1
      view.retry = math.min(view.retry, earliestLease - now)
    end
  end
  return view
end
`;

/**
 * Leases (the in-flight cap): only reservations are held to it. A slot frees whenever a request
 * settles, which cannot be predicted: a denial suggests polling soon, never later than the earliest
 * lease ends.
 */
const LEASES_LUA = String.raw`
local function leaseView(policy, asked)
  local view = { policy = policy, reserved = 0, cause = 1, used = #state.leases }
  for i = 1, #state.leases do
    local expiry = state.leases[i].expiry
    if not view.earliest or expiry < view.earliest then view.earliest = expiry end
  end
  view.pass = not asked.reserve or view.used < policy.limit
  if not view.pass then view.retry = math.min(LEASE_RETRY_CAP_MS, view.earliest - now) end
  return view
end

local function viewPolicies(asked)
  local views = {}
  for i = 1, #policies do
    local policy = policies[i]
    if policy.kind == 'r' then
      views[i] = requestView(policy)
    elseif policy.kind == 't' then
      views[i] = tokenView(policy, asked)
    else
      views[i] = leaseView(policy, asked)
    end
  end
  return views
end

-- Writes the state: the token sums of the views given (this tier's token policies: other tiers'
-- are dropped, to be summed again from the ledger), else the sums as read, and the live leases.
local function saveState(views)
  local sums, leases, ttl = {}, {}, TTL_MARGIN_MS
  local function addSum(name, sum)
    sums[#sums + 1] = name .. ':' .. integer(sum.used) .. ':' .. integer(sum.reserved) .. ':' ..
      integer(sum.cutoff) .. ':' .. integer(sum.windowMs) .. ':' .. integer(sum.oldest or 0)
    ttl = math.max(ttl, sum.windowMs + TTL_MARGIN_MS)
  end
  if views then
    for i = 1, #views do
      local view = views[i]
      if view.policy.kind == 't' then
        addSum(view.policy.name, { used = view.used, reserved = view.reserved, cutoff = view.cutoff, windowMs = view.policy.windowMs, oldest = view.oldest })
      end
    end
  elseif state.sums then
    for name, sum in pairs(state.sums) do addSum(name, sum) end
  end
  for i = 1, #state.leases do
    local lease = state.leases[i]
    leases[i] = integer(lease.expiry) .. ':' .. integer(lease.admittedAt) .. ':' .. integer(lease.tokens) .. ':' .. lease.requestId
    ttl = math.max(ttl, lease.expiry - now + TTL_MARGIN_MS)
  end
  redis.call('SET', STATE, table.concat(sums, ',') .. '|' .. table.concat(leases, ',') .. '|' .. integer(state.trimmedAt), 'PX', ttl)
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
    -- An admitted reservation is already in view.reserved (added before the state was saved).
    local oldest = view.oldest
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

export const BASE_LUA = `${CLOCK_LUA}${READ_LUA}${RECORD_LUA}${REQUEST_LOG_LUA}${TOKENS_LUA}${LEASES_LUA}`;
