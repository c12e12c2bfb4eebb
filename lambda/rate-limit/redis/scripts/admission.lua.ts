/**
 * Lua of the two admission operations (check, reserve): anomaly counting and the admission
 * itself, defined inside usage.lua.ts's branch for these two operations, after base.lua.ts. The
 * rule it implements is the memory store's (store/memory-store.ts), which reads as its
 * specification.
 *
 * Operation arguments (from OP_ARG): anomaly threshold (0 = off), attempts denied locally since
 * the last call, record retention ms, lease ms; a reservation adds the tokens to reserve and the
 * token history ms (the longest token window of the tier table). The requestId (ARGV[2]) names
 * the record; without one nothing is remembered.
 *
 * Reply: outcome (0 denied, 1 admitted, 2 replay), now, denied policy (1-based, 0 = none), retry
 * ms, cause (0 usage, 1 reservations in flight), reserved tokens, admittedAt (replay), anomaly
 * counted (0/1), anomaly attempts, anomaly window end, warned (0/1), attempts to report (0 = none),
 * then used, reserved, reset, limit per policy, then per policy the ms until a shadow policy that
 * did not pass would have (0 for every other policy).
 *
 * Shadow policies are evaluated and, on an admission, counted like the others, but never deny.
 *
 * Anomaly attempts are counted on the tier's first enforcing request policy (see the memory store
 * for the rule); countAnomaly returns the counter to keep, whether it changed, the attempts, and
 * the attempts to report (0: none).
 *
 * A reservation writes its ledger entry (none when no tier counts tokens) and its lease, and adds its tokens to this tier's sums. The
 * ledger drops entries older than the token history, and has its TTL renewed, at most once per
 * sixteenth of the history (the state remembers when): its TTL always outlives the newest entry by
 * the history.
 */
export const ADMISSION_LUA = String.raw`
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

local function writeReservation(asked, views)
  local history = asked.tokenHistoryMs
  if history > 0 then
    redis.call('ZADD', LEDGER, now, ledgerMember(asked.tokens, false, now, requestId))
    if now - state.trimmedAt >= history / 16 then
      redis.call('ZREMRANGEBYSCORE', LEDGER, '-inf', '(' .. integer(now - history))
      redis.call('PEXPIRE', LEDGER, history + math.floor(history / 16) + TTL_MARGIN_MS)
      state.trimmedAt = now
    end
  end
  state.leases[#state.leases + 1] = { expiry = now + asked.leaseMs, admittedAt = now, tokens = asked.tokens, requestId = requestId }
  for i = 1, #views do
    local view = views[i]
    if view.policy.kind == 't' then
      view.reserved = view.reserved + asked.tokens
      view.oldest = view.oldest or now
    end
  end
end

-- One admission attempt: replay, denial or admission. Nothing is written before every policy passed.
local function admit(asked)
  local rule = { threshold = tonumber(ARGV[OP_ARG]), locallyDenied = tonumber(ARGV[OP_ARG + 1]) }
  local retentionMs = tonumber(ARGV[OP_ARG + 2])
  asked.leaseMs = tonumber(ARGV[OP_ARG + 3])

  local views = viewPolicies(asked)
  local replayOf = record
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
  if admitted and asked.reserve then writeReservation(asked, views) end
  if admitted and requestId then
    local reserved = 0
    if asked.reserve then reserved = asked.tokens end
    writeRecord({
      admittedAt = now, reserved = reserved, settled = false, leaseExpiry = now + asked.leaseMs, charged = reserved,
      forgetAt = now + retentionMs,
    })
  end
  if (admitted and asked.reserve) or state.changed then saveState(views) end

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
