/**
 * Lua for request windows, shared by both paths of the admission script (see admission.lua.ts).
 * It expects `now` (ms, from the server's TIME) to be defined before it.
 *
 * One string per request policy (`rl:{creator}:w:<policy>`), an append-only log of admission times:
 *
 *     header  4 x big-endian int64: when the key's TTL ends (ms), then the anomaly counter (only on
 *             the tier's first request policy): window start (ms, 0 = none), attempts that did not
 *             admit in that window, warned (0/1)
 *     entries big-endian int64 admission times (ms), oldest first
 *
 * "At most N in any window W" is exact: a check passes iff fewer than N entries are newer than
 * now - W. When denied, it passes once the entry N places from the end leaves the window, so
 * `retryAfter` and `reset` are exact too. Entries are never rewritten one by one: an admission
 * APPENDs 8 bytes, and the entries that left the window are dropped in one rewrite (SET) once there
 * are enough of them (at least 16 and a quarter of the limit), so the log stays under 1.25 N + 16
 * entries and the copying costs O(1) per admission. Because every entry still inside the window is
 * kept, usage survives tier changes exactly (a lower limit, then a higher one again).
 *
 * An admission is TIME, GET and APPEND: the same number of Redis calls as a fixed-window counter
 * (SET NX, INCRBY, PTTL). The TTL is extended (SETRANGE + PEXPIRE) only when it would end before
 * the new entry leaves the window, about once per window.
 *
 * Anomaly attempts: with no counter window open, the admissions of the last 5 minutes (read from
 * the log). The first attempt that does not admit (denied, replayed, or denied from a client's
 * local cache) opens a 5-minute counter window holding those admissions and itself; from then on
 * the attempts are the counter (plus later non-admitted attempts) and the admissions logged after
 * the window opened. So an admission writes nothing for anomaly detection, and while a creator is
 * only denied, a client's deny cache predicts the count exactly. The log holds every admission of
 * the last 5 minutes when the window is at least 5 minutes long (the usual headline policy); with
 * a shorter window, admissions already dropped from the log are not counted.
 */

/**
 * The log's constants and the local names of its codec. Plain values, no closures: the script
 * defines them before its straight-line admission path, which uses them too.
 */
export const REQUEST_LOG_CONSTANTS_LUA = String.raw`
local LOG_HEADER = 32
local ANOMALY_WINDOW = 300000
local TTL_MARGIN = 60000
-- The TTL is extended when it would end less than this before what it must outlive.
local TTL_AHEAD = 1000
-- An admission compacts the log once at least this many entries, and a quarter of the limit, left
-- the window.
local COMPACT_MIN_ENTRIES = 16
-- Local names (faster than a global lookup per call); not 'unpack', which the script uses as Lua's.
local binUnpack, binPack = struct.unpack, struct.pack
`;

/** The log's functions. Each one is a closure made on every call that reaches this code. */
export const REQUEST_LOG_LUA = String.raw`
-- The i-th entry (0-based) of a log.
local function entryAt(s, i)
  return (binUnpack('>i8', s, LOG_HEADER + 1 + i * 8))
end

-- Index (0-based) of the first entry newer than cutoff, at or after index 'from'. Galloping from
-- 'from', then binary search: the answer is nearly always 'from' itself, found with one read.
local function firstAfter(s, count, from, cutoff)
  local lo, hi, step = from, count, 1
  while lo < hi do
    local probe = lo + step - 1
    if probe >= hi then break end
    if binUnpack('>i8', s, LOG_HEADER + 1 + probe * 8) > cutoff then hi = probe; break end
    lo, step = probe + 1, step * 2
  end
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if binUnpack('>i8', s, LOG_HEADER + 1 + mid * 8) > cutoff then hi = mid else lo = mid + 1 end
  end
  return lo
end

-- Reads a log: the string (false if there is none), its entry count, and the index of the first
-- entry inside the window (entries before it no longer count). 'preread' is the key's value when
-- this call already read it (false: no such key), nil otherwise.
local function readLog(key, W, preread)
  local s = preread
  if s == nil then s = redis.call('GET', key) end
  if not s then return false, 0, 0 end
  local count = (#s - LOG_HEADER) / 8
  return s, count, firstAfter(s, count, 0, now - W)
end

-- The header's anomaly fields: window start, attempts that did not admit, warned.
local function anomalyFields(s)
  if not s then return 0, 0, 0 end
  local _, aStart, aCount, aWarned = binUnpack('>i8i8i8i8', s)
  return aStart, aCount, aWarned
end

-- Counts this attempt for anomaly detection on a log read by readLog. 'others' is the number of
-- attempts that did not admit (this one unless admitted, plus denials a client served from its
-- cache). The counter's window opens at the first attempt that does not admit (or at a warning)
-- and takes in the admissions of the 5 minutes before; from then on the attempts are the counter
-- plus the admissions logged after the window opened. So while a creator is only denied, the count
-- changes only by the denials themselves, which a client's deny cache can predict exactly.
-- Returns the anomaly fields to store, whether they changed, the attempts counted, and the
-- attempts to report (0 = none: at most one report per counter window).
local function countAnomaly(s, count, first, W, threshold, admitted, others)
  local aStart, aCount, aWarned = anomalyFields(s)
  if now - aStart >= ANOMALY_WINDOW then aStart, aCount, aWarned = 0, 0, 0 end
  local mine = 0
  if admitted then mine = 1 end
  -- Entries before 'first' left the window; with a window of at least 5 minutes they are older
  -- than anything counted here, so searches start there.
  local from = first
  if W < ANOMALY_WINDOW then from = 0 end
  local changed, attempts = false, 0
  if aStart == 0 then
    -- No open window: the admissions of the last 5 minutes, bounded above by those in the window.
    attempts = count - first + mine
    if W < ANOMALY_WINDOW or others > 0 or attempts > threshold then
      attempts = count - firstAfter(s, count, from, now - ANOMALY_WINDOW) + mine
    end
    if others > 0 then
      attempts = attempts + others
      aStart, aCount, changed = now, attempts, true
    end
  else
    if others > 0 then aCount, changed = aCount + others, true end
    attempts = aCount + count - first + mine
    if W < ANOMALY_WINDOW or not admitted or (attempts > threshold and aWarned == 0) then
      attempts = aCount + count - firstAfter(s, count, from, aStart) + mine
    end
  end
  local report = 0
  if attempts > threshold and aWarned == 0 then
    if aStart == 0 then aStart, aCount = now, attempts end
    aWarned, changed, report = 1, true, attempts
  end
  return aStart, aCount, aWarned, changed, attempts, report
end

-- Writes a log after a check: the admission (when 'admit') and the anomaly fields (when
-- 'anomalyChanged'). Callers call it only when one of the two holds. The TTL never ends before the
-- newest entry leaves the window, nor before an open anomaly window ends.
local function saveLog(key, s, count, first, limit, W, admit, aStart, aCount, aWarned, anomalyChanged)
  local exp = 0
  if s then exp = binUnpack('>i8', s) end
  local needed = 0
  if admit then needed = now + W end
  if aStart > 0 and aStart + ANOMALY_WINDOW > needed then needed = aStart + ANOMALY_WINDOW end
  local extend = exp < needed + TTL_AHEAD
  if extend then
    local margin = W
    if margin < TTL_MARGIN then margin = TTL_MARGIN end
    exp = needed + margin
  end
  if not s or (admit and first >= COMPACT_MIN_ENTRIES and first * 4 >= limit) then
    -- A new log, or enough entries left the window: write it whole, without them.
    local body = ''
    if s then body = string.sub(s, LOG_HEADER + 1 + first * 8) end
    if admit then body = body .. binPack('>i8', now) end
    redis.call('SET', key, binPack('>i8i8i8i8', exp, aStart, aCount, aWarned) .. body, 'PX', exp - now)
    return
  end
  if admit then redis.call('APPEND', key, binPack('>i8', now)) end
  if extend then
    redis.call('SETRANGE', key, 0, binPack('>i8i8i8i8', exp, aStart, aCount, aWarned))
    redis.call('PEXPIRE', key, exp - now)
  elseif anomalyChanged then
    redis.call('SETRANGE', key, 8, binPack('>i8i8i8', aStart, aCount, aWarned))
  end
end
`;
