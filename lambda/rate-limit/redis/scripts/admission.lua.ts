/**
 * Lua shared by the two admission scripts (check, reserve): records, anomaly counting, and the
 * admission itself. Expects base.lua.ts before it. The rule it implements is the memory store's
 * (store/memory-store.ts), which reads as its specification.
 *
 * Operation arguments (from OP_ARG): anomaly threshold (0 = off), attempts denied locally since
 * the last call, requestId ('' = no record), record retention ms, lease ms; a reservation adds the
 * tokens to reserve and the token history ms (the longest token window of the tier table).
 *
 * Reply: outcome (0 denied, 1 admitted, 2 replay), now, denied policy (1-based, 0 = none), retry
 * ms, cause (0 usage, 1 reservations in flight), reserved tokens, admittedAt (replay), anomaly
 * counted (0/1), anomaly attempts, anomaly window end, warned (0/1), attempts to report (0 = none),
 * then used, reserved, reset, limit per policy, then per policy the ms until a shadow policy that
 * did not pass would have (0 for every other policy).
 *
 * Shadow policies are evaluated and, on an admission, counted like the others, but never deny.
 */
export const ADMISSION_LUA = String.raw`
-- A record, if there is one still within its retention.
local function readRecord(requestId)
  local text = redis.call('HGET', RECORDS, requestId)
  if not text then return nil end
  local admittedAt, reserved, state, leaseExpiry, charged, forgetAt = string.match(text, '^(%d+):(%d+):(%a):(%d+):(%d+):(%d+)$')
  if not admittedAt or tonumber(forgetAt) <= now then return nil end
  return {
    admittedAt = tonumber(admittedAt), reserved = tonumber(reserved), settled = state == 's',
    leaseExpiry = tonumber(leaseExpiry), charged = tonumber(charged), forgetAt = tonumber(forgetAt),
  }
end

local function writeRecord(requestId, record)
  local state = 'r'
  if record.settled then state = 's' end
  redis.call('HSET', RECORDS, requestId, integer(record.admittedAt) .. ':' .. integer(record.reserved) .. ':' .. state .. ':' ..
    integer(record.leaseExpiry) .. ':' .. integer(record.charged) .. ':' .. integer(record.forgetAt))
end

-- Anomaly attempts, counted on the tier's first enforcing request policy (see the memory store for the rule).
-- Returns the counter to keep, whether it changed, the attempts, and the attempts to report (0: none).
local function countAnomaly(view, rule, admitted)
  local log, windowMs = view.log, view.policy.windowMs
  local counter = { start = log.anomaly.start, attempts = log.anomaly.attempts, warned = log.anomaly.warned }
  if now - counter.start >= ANOMALY_WINDOW_MS then counter = { start = 0, attempts = 0, warned = 0 } end
  local function admissionsAfter(since)
    return log.count - firstAfter(log, math.max(since, now - windowMs))
  end
  local mine, notAdmitted = 0, rule.locallyDenied
  if admitted then mine = 1 else notAdmitted = notAdmitted + 1 end
  local changed, attempts = false, 0
  if counter.start == 0 then
    attempts = admissionsAfter(now - ANOMALY_WINDOW_MS) + mine + notAdmitted
    if notAdmitted > 0 then counter, changed = { start = now, attempts = attempts, warned = 0 }, true end
  else
    if notAdmitted > 0 then counter.attempts, changed = counter.attempts + notAdmitted, true end
    attempts = counter.attempts + admissionsAfter(counter.start) + mine
  end
  local report = 0
  if attempts > rule.threshold and counter.warned == 0 then
    if counter.start == 0 then counter.start, counter.attempts = now, attempts end
    counter.warned, changed, report = 1, true, attempts
  end
  return counter, changed, attempts, report
end

-- Writes an admission of a reservation: its tokens in the ledger and its lease.
local function writeReservation(requestId, asked)
  redis.call('ZADD', LEDGER, now, ledgerMember(asked.tokens, 'r', now, requestId))
  redis.call('ZREMRANGEBYSCORE', LEDGER, '-inf', '(' .. integer(now - asked.tokenHistoryMs))
  redis.call('PEXPIRE', LEDGER, asked.tokenHistoryMs + TTL_MARGIN_MS)
  redis.call('ZREMRANGEBYSCORE', LEASES, '-inf', integer(now))
  redis.call('ZADD', LEASES, now + asked.leaseMs, requestId)
  keepFor(LEASES, asked.leaseMs + TTL_MARGIN_MS)
end

-- Remembers an admission under its requestId, forgetting a bounded batch of stale records.
local function writeAdmissionRecord(record, asked)
  local stale = redis.call('ZRANGEBYSCORE', RECORD_EXPIRY, '-inf', integer(now), 'LIMIT', 0, RECORD_PRUNE_BATCH)
  if #stale > 0 then
    redis.call('HDEL', RECORDS, unpack(stale))
    redis.call('ZREM', RECORD_EXPIRY, unpack(stale))
  end
  local reserved = 0
  if asked.reserve then reserved = asked.tokens end
  writeRecord(record.requestId, {
    admittedAt = now, reserved = reserved, settled = false, leaseExpiry = now + record.leaseMs, charged = reserved,
    forgetAt = now + record.retentionMs,
  })
  redis.call('ZADD', RECORD_EXPIRY, now + record.retentionMs, record.requestId)
  keepFor(RECORDS, record.retentionMs + TTL_MARGIN_MS)
  keepFor(RECORD_EXPIRY, record.retentionMs + TTL_MARGIN_MS)
end

-- The current tier's token sums (other tiers' are dropped: they are rebuilt from the ledger).
local function saveTokenSums(views)
  local parts, longest = {}, 0
  for i = 1, #views do
    local view = views[i]
    if view.policy.kind == 't' then
      parts[#parts + 1] = encodeTokenSum(view.policy.name, { used = view.used, reserved = view.reserved, cutoff = view.cutoff, windowMs = view.policy.windowMs })
      longest = math.max(longest, view.policy.windowMs)
    end
  end
  redis.call('SET', TOKEN_SUMS, table.concat(parts, '|'), 'PX', longest + TTL_MARGIN_MS)
end

-- One admission attempt: replay, denial or admission. Nothing is written before every policy passed.
local function admit(asked)
  local rule = { threshold = tonumber(ARGV[OP_ARG]), locallyDenied = tonumber(ARGV[OP_ARG + 1]) }
  local record = nil
  if ARGV[OP_ARG + 2] ~= '' then
    record = { requestId = ARGV[OP_ARG + 2], retentionMs = tonumber(ARGV[OP_ARG + 3]), leaseMs = tonumber(ARGV[OP_ARG + 4]) }
  end
  asked.leaseMs = 0
  if record then asked.leaseMs = record.leaseMs end

  local views = viewPolicies(asked)
  local replayOf = nil
  if record then replayOf = readRecord(record.requestId) end
  local binding = 0
  for i = 1, #views do
    local view = views[i]
    if not view.pass then
      view.retry = math.max(1, view.retry)
      if not view.policy.shadow and (binding == 0 or view.retry > views[binding].retry) then binding = i end
    end
  end
  local admitted = not replayOf and binding == 0

  local headline, counter, changed, attempts, report = nil, nil, false, 0, 0
  if rule.threshold > 0 then
    for i = 1, #views do
      if views[i].policy.kind == 'r' and not views[i].policy.shadow then headline = views[i]; break end
    end
  end
  if headline then counter, changed, attempts, report = countAnomaly(headline, rule, admitted) end

  for i = 1, #views do
    local view = views[i]
    if view.policy.kind == 'r' then
      if view == headline and (admitted or changed) then
        saveLog(view, admitted, counter, changed)
      elseif admitted then
        saveLog(view, true, view.log.anomaly, false)
      end
    end
  end
  if admitted and asked.reserve then
    writeReservation(record.requestId, asked)
    for i = 1, #views do
      if views[i].policy.kind == 't' then views[i].reserved = views[i].reserved + asked.tokens end
    end
  end
  if admitted and record then writeAdmissionRecord(record, asked) end
  if hasTokens then
    saveTokenSums(views)
  elseif admitted and asked.reserve then
    -- A reservation under a tier without token policies: the stored sums (of another tier) do not
    -- count it yet; drop them, to be summed again from the ledger.
    redis.call('DEL', TOKEN_SUMS)
  end

  local reply = { 1, now, 0, 0, 0, 0, 0, 0, 0, now, 0, 0 }
  if replayOf then
    reply[1], reply[6], reply[7] = 2, replayOf.reserved, replayOf.admittedAt
  elseif binding > 0 then
    reply[1], reply[3], reply[4], reply[5] = 0, binding, views[binding].retry, views[binding].cause
  elseif asked.reserve then
    reply[6] = asked.tokens
  end
  if headline then
    reply[8], reply[9], reply[11], reply[12] = 1, attempts, counter.warned, report
    if counter.start > 0 then reply[10] = counter.start + ANOMALY_WINDOW_MS end
  end
  appendUsage(reply, views, admitted, asked)
  for i = 1, #views do
    local wouldDeny = 0
    if views[i].policy.shadow and not views[i].pass then wouldDeny = views[i].retry end
    reply[#reply + 1] = wouldDeny
  end
  return reply
end
`;
