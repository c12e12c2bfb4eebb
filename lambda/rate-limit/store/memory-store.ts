/**
 * In-process store for local development and unit tests only. It mirrors the admission script
 * rule for rule (same windows, same trimming, same key lifetimes), so the conformance suite can
 * expect identical decisions from all backends. State lives in one process: never use it when more
 * than one process enforces the same limits.
 */
import type {
  Evaluation,
  EvaluationRequest,
  PolicySpec,
  PolicyUsage,
  RateLimitStore,
  SettleEvaluation,
} from './store';

const ANOMALY_WINDOW_MS = 300_000;
const TTL_MARGIN_MS = 60_000;
const RECORD_PRUNE_BATCH = 64;
/** A log is compacted once at least this many (and a quarter of the limit) entries left its window. */
const COMPACT_MIN_ENTRIES = 16;

/** A request window's log, as the script keeps it: entries leave it only in a compaction. */
interface RequestLog {
  /** Admission times, oldest first; those at or before now - window no longer count. */
  times: number[];
}

interface TokenWindow {
  windowMs: number;
  /** Ledger entries at or before this time are no longer counted. */
  cutoff: number;
}

interface LedgerEntry {
  ts: number;
  amount: number;
  settled: boolean;
  id: string;
}

interface ReservationRecord {
  ts: number;
  reserved: number;
  settled: boolean;
  leaseExpiry: number;
  charged: number;
  forgetAt: number;
}

/** A value that disappears at `expiresAt`, like a Redis key with a TTL. */
interface Expiring<T> {
  value: T;
  expiresAt: number;
}

interface Anomaly {
  /** When the counter's window opened (0 = no open window). */
  start: number;
  /** Attempts counted when it opened (the admissions of the 5 minutes before, and the attempt that
   *  opened it), plus the later attempts that did not admit. */
  attempts: number;
  warned: boolean;
}

/** A request window as its own key: the log, its lifetime, and (on the headline policy) the anomaly counter. */
interface StoredRequestWindow extends RequestLog {
  expiresAt: number;
  anomaly: Anomaly;
}

interface CreatorState {
  requestWindows: Map<string, StoredRequestWindow>;
  tokenWindows?: Expiring<Map<string, TokenWindow>>;
  ledger?: Expiring<LedgerEntry[]>;
  leases?: Expiring<Map<string, number>>;
  records?: Expiring<Map<string, ReservationRecord>>;
}

export class MemoryStore implements RateLimitStore {
  readonly backend = 'memory' as const;
  readonly mayResend = false;
  private readonly creators = new Map<string, CreatorState>();

  constructor(private readonly clock: () => number = Date.now) {}

  async evaluate(op: 'check' | 'status', request: EvaluationRequest): Promise<Evaluation> {
    return this.evaluateAt(op, request, this.clock());
  }

  /** One evaluation at one instant, synchronously: nothing else runs in between, as in the script. */
  private evaluateAt(op: 'check' | 'status', request: EvaluationRequest, now: number): Evaluation {
    const creator = this.creator(request.creatorId, now);
    const isCheck = op === 'check';
    const ledger = creator.ledger?.value ?? [];
    const leases = creator.leases?.value ?? new Map<string, number>();
    const records = creator.records?.value;
    const duplicate = isCheck && request.keepRecord ? records?.get(request.requestId) : undefined;

    // Evaluate every policy without changing anything.
    const views = request.policies.map((policy) => this.view(policy, creator, ledger, leases, now, request));
    let deniedIndex = -1;
    let retryMs = 0;
    views.forEach((view, index) => {
      if (view.pass) return;
      const retry = Math.max(1, view.retryMs);
      if (retry > retryMs) {
        retryMs = retry;
        deniedIndex = index;
      }
    });
    const allowed = deniedIndex === -1;
    const code: Evaluation['code'] = !isCheck ? 'status' : duplicate ? 'duplicate' : allowed ? 'allowed' : 'denied';

    // Anomaly attempts are counted on the first request policy's log, as the script does.
    const headlineIndex = isCheck && request.anomalyThreshold > 0 ? request.policies.findIndex((policy) => policy.unit === 'r') : -1;
    const headline = headlineIndex === -1 ? undefined : request.policies[headlineIndex];
    const anomaly: Anomaly = { ...(headline ? creator.requestWindows.get(headline.name)?.anomaly : undefined) ?? { start: 0, attempts: 0, warned: false } };
    const counted = headline
      ? countAnomaly(anomaly, views[headlineIndex]!.requestLog!, request, code === 'allowed', now)
      : undefined;

    const committed = code === 'allowed';
    if (committed) this.commit(request, creator, views, ledger, leases, now);
    this.saveRequestWindows(request, creator, views, committed, headline, anomaly, counted?.changed ?? false, now);
    if (isCheck) this.saveTokenWindows(request, creator, ledger, now, committed);

    return {
      code,
      now,
      deniedIndex,
      retryMs,
      anomalyAttempts: counted?.report ?? 0,
      reservedTokens: code === 'duplicate' ? duplicate!.reserved : committed && request.reserve ? request.tokens : 0,
      anomalyWindow: counted
        ? { attempts: counted.attempts, endsAt: anomaly.start > 0 ? anomaly.start + ANOMALY_WINDOW_MS : now, warned: anomaly.warned }
        : { attempts: 0, endsAt: now, warned: false },
      usage: views.map((view) => view.usage()),
    };
  }

  async settle(creatorId: string, requestId: string, actualTokens: number, status?: EvaluationRequest): Promise<SettleEvaluation> {
    const now = this.clock();
    const settled = this.settleAt(creatorId, requestId, actualTokens, now);
    return { ...settled, now, status: status && this.evaluateAt('status', status, now) };
  }

  private settleAt(creatorId: string, requestId: string, actualTokens: number, now: number): Pick<SettleEvaluation, 'outcome' | 'reserved' | 'charged'> {
    const creator = this.creator(creatorId, now);
    const record = creator.records?.value.get(requestId);
    if (!record) return { outcome: 'unknown', reserved: 0, charged: 0 };
    if (record.settled) return { outcome: 'already-settled', reserved: record.reserved, charged: record.charged };
    const expired = record.leaseExpiry <= now;
    const charge = expired && actualTokens < record.reserved ? record.reserved : actualTokens;
    creator.leases?.value.delete(requestId);

    const ledger = creator.ledger?.value;
    const entryIndex = ledger?.findIndex((entry) => entry.id === requestId && !entry.settled) ?? -1;
    const wasReserved = entryIndex !== -1;
    if (wasReserved) ledger!.splice(entryIndex, 1);
    const tokenWindows = [...(creator.tokenWindows?.value.values() ?? [])];
    const counted = tokenWindows.some((window) => record.ts > window.cutoff);
    if (counted || wasReserved) {
      const entries = creator.ledger?.value ?? [];
      insertByTime(entries, { ts: record.ts, amount: charge, settled: true, id: requestId });
      const maxTokenWindow = Math.max(0, ...tokenWindows.map((window) => window.windowMs));
      // Like the script: never shorten the ledger's lifetime, but always give it one.
      const wanted = record.ts + maxTokenWindow + TTL_MARGIN_MS;
      const current = creator.ledger?.expiresAt ?? Infinity;
      creator.ledger = { value: entries, expiresAt: current !== Infinity && current > wanted ? current : wanted };
    }
    Object.assign(record, { settled: true, charged: charge });
    return { outcome: expired ? 'expired' : 'settled', reserved: record.reserved, charged: charge };
  }

  async reset(creatorId: string): Promise<void> {
    this.creators.delete(creatorId);
  }

  async close(): Promise<void> {
    this.creators.clear();
  }

  /** The creator's structures, with the ones whose lifetime ended removed (Redis key expiry). */
  private creator(creatorId: string, now: number): CreatorState {
    let creator = this.creators.get(creatorId);
    if (!creator) {
      creator = { requestWindows: new Map() };
      this.creators.set(creatorId, creator);
    }
    for (const key of ['tokenWindows', 'ledger', 'leases', 'records'] as const) {
      if (creator[key] && creator[key]!.expiresAt <= now) delete creator[key];
    }
    for (const [name, window] of creator.requestWindows) if (window.expiresAt <= now) creator.requestWindows.delete(name);
    return creator;
  }

  private view(
    policy: PolicySpec,
    creator: CreatorState,
    ledger: LedgerEntry[],
    leases: Map<string, number>,
    now: number,
    request: EvaluationRequest,
  ): PolicyView {
    if (policy.unit === 'r') return requestView(policy, creator.requestWindows.get(policy.name), now);
    if (policy.unit === 't') return tokenView(policy, ledger, now, request.tokens);
    return leaseView(policy, leases, now, request.reserve);
  }

  private commit(
    request: EvaluationRequest,
    creator: CreatorState,
    views: PolicyView[],
    ledger: LedgerEntry[],
    leases: Map<string, number>,
    now: number,
  ): void {
    for (const view of views) view.commit(now, request);
    const leaseExpiry = now + request.leaseMs;
    const hasTokens = request.policies.some((policy) => policy.unit === 't');
    const hasLeases = request.policies.some((policy) => policy.unit === 'c');
    if (request.reserve && hasLeases) {
      for (const [id, expiry] of leases) if (expiry <= now) leases.delete(id);
      leases.set(request.requestId, leaseExpiry);
      creator.leases = { value: leases, expiresAt: now + request.leaseMs + TTL_MARGIN_MS };
    }
    if (request.reserve && hasTokens) {
      insertByTime(ledger, { ts: now, amount: request.tokens, settled: false, id: request.requestId });
      creator.ledger = { value: ledger, expiresAt: creator.ledger?.expiresAt ?? Infinity };
    }
    if (request.keepRecord) {
      const records = creator.records?.value ?? new Map<string, ReservationRecord>();
      const stale = [...records.entries()]
        .filter(([, record]) => record.forgetAt <= now)
        .sort(([idA, a], [idB, b]) => a.forgetAt - b.forgetAt || (idA < idB ? -1 : 1))
        .slice(0, RECORD_PRUNE_BATCH);
      for (const [id] of stale) records.delete(id);
      const reserved = request.reserve ? request.tokens : 0;
      records.set(request.requestId, {
        ts: now,
        reserved,
        settled: false,
        leaseExpiry,
        charged: reserved,
        forgetAt: now + request.retentionMs,
      });
      creator.records = { value: records, expiresAt: now + request.retentionMs + TTL_MARGIN_MS };
    }
  }

  /**
   * Request logs are written only when they change: on admission (the new entry) and, for the
   * headline policy, when the anomaly counter changed. Lifetimes are extended as the script extends
   * its TTLs.
   */
  private saveRequestWindows(
    request: EvaluationRequest,
    creator: CreatorState,
    views: PolicyView[],
    committed: boolean,
    headline: PolicySpec | undefined,
    anomaly: Anomaly,
    anomalyChanged: boolean,
    now: number,
  ): void {
    request.policies.forEach((policy, index) => {
      if (policy.unit !== 'r' || !(committed || (policy === headline && anomalyChanged))) return;
      const stored = creator.requestWindows.get(policy.name);
      const keptAnomaly = policy === headline ? anomaly : (stored?.anomaly ?? { start: 0, attempts: 0, warned: false });
      let needed = committed ? now + policy.windowMs : 0;
      if (keptAnomaly.start > 0) needed = Math.max(needed, keptAnomaly.start + ANOMALY_WINDOW_MS);
      let expiresAt = stored?.expiresAt ?? 0;
      if (expiresAt < needed + 1000) expiresAt = needed + Math.max(policy.windowMs, TTL_MARGIN_MS);
      creator.requestWindows.set(policy.name, { times: views[index]!.requestLog!.times, expiresAt, anomaly: keptAnomaly });
    });
  }

  /** The current tier's token windows (cutoffs), kept as long as the longest of them. */
  private saveTokenWindows(request: EvaluationRequest, creator: CreatorState, ledger: LedgerEntry[], now: number, committed: boolean): void {
    const tokenPolicies = request.policies.filter((policy) => policy.unit === 't');
    if (tokenPolicies.length === 0) return;
    const maxTokenWindow = Math.max(...tokenPolicies.map((policy) => policy.windowMs));
    creator.tokenWindows = {
      value: new Map(tokenPolicies.map((policy) => [policy.name, { windowMs: policy.windowMs, cutoff: now - policy.windowMs }])),
      expiresAt: now + maxTokenWindow + TTL_MARGIN_MS,
    };
    if (committed && request.reserve && creator.ledger) {
      const cutoff = now - maxTokenWindow;
      creator.ledger = {
        value: ledger.filter((entry) => entry.ts > cutoff),
        expiresAt: now + maxTokenWindow + TTL_MARGIN_MS,
      };
    }
  }
}

interface PolicyView {
  readonly pass: boolean;
  readonly retryMs: number;
  readonly requestLog?: RequestLog;
  commit(now: number, request: EvaluationRequest): void;
  usage(): PolicyUsage;
}

function requestView(policy: PolicySpec, stored: RequestLog | undefined, now: number): PolicyView {
  const log: RequestLog = { times: stored?.times ?? [] };
  const first = firstAfter(log.times, now - policy.windowMs);
  let used = log.times.length - first;
  const blocker = used >= policy.limit ? log.times[log.times.length - policy.limit] : undefined;
  let oldest = used > 0 ? log.times[first] : undefined;
  return {
    pass: used < policy.limit,
    retryMs: blocker === undefined ? 0 : blocker + policy.windowMs - now,
    requestLog: log,
    commit: (at) => {
      // Like the script: the entries that left the window are dropped once there are enough of them.
      const compact = first >= COMPACT_MIN_ENTRIES && first * 4 >= policy.limit;
      log.times = compact ? [...log.times.slice(first), at] : [...log.times, at];
      used += 1;
      oldest ??= at;
    },
    usage: () => {
      const next = blocker ?? oldest;
      return { used, reserved: 0, reset: next === undefined ? now : next + policy.windowMs };
    },
  };
}

/** Index of the first time after `cutoff` (times are in order). */
function firstAfter(times: readonly number[], cutoff: number): number {
  let index = 0;
  while (index < times.length && times[index]! <= cutoff) index += 1;
  return index;
}

function tokenView(policy: PolicySpec, ledger: LedgerEntry[], now: number, tokens: number): PolicyView {
  const horizon = now - policy.windowMs;
  const inWindow = ledger.filter((entry) => entry.ts > horizon);
  let used = 0;
  let reserved = 0;
  for (const entry of inWindow) {
    if (entry.settled) used += entry.amount;
    else reserved += entry.amount;
  }
  const total = used + reserved;
  const pass = total + tokens <= policy.limit && total < policy.limit;
  let retryMs = policy.windowMs;
  if (!pass) {
    let freed = 0;
    for (const entry of inWindow) {
      freed += entry.amount;
      const left = total - freed;
      if (left + tokens <= policy.limit && left < policy.limit) {
        retryMs = entry.ts + policy.windowMs - now;
        break;
      }
    }
  }
  let oldest = inWindow[0]?.ts;
  return {
    pass,
    retryMs,
    commit: (at, request) => {
      if (!request.reserve) return;
      reserved += request.tokens;
      oldest ??= at;
    },
    usage: () => ({ used, reserved, reset: oldest === undefined ? now : oldest + policy.windowMs }),
  };
}

function leaseView(policy: PolicySpec, leases: Map<string, number>, now: number, reserve: boolean): PolicyView {
  const live = [...leases.values()].filter((expiry) => expiry > now);
  let inflight = live.length;
  let earliest = live.length > 0 ? Math.min(...live) : undefined;
  const pass = !reserve || inflight < policy.limit;
  return {
    pass,
    // A slot frees when any request settles: suggest polling after 1 s at most.
    retryMs: pass ? 0 : Math.min(1000, earliest! - now),
    commit: (at, request) => {
      if (!request.reserve) return;
      inflight += 1;
      const expiry = at + request.leaseMs;
      if (earliest === undefined || expiry < earliest) earliest = expiry;
    },
    usage: () => ({ used: inflight, reserved: 0, reset: earliest ?? now }),
  };
}

/**
 * The script's anomaly rule (request-log.lua.ts): with no counter window open, the admissions of
 * the last 5 minutes still in the headline log; the first attempt that does not admit opens a
 * window holding those and itself, and the attempts are then the counter plus the admissions
 * logged after the window opened. Updates `anomaly` in place.
 */
function countAnomaly(
  anomaly: Anomaly,
  log: RequestLog,
  request: EvaluationRequest,
  admitted: boolean,
  now: number,
): { attempts: number; report: number; changed: boolean } {
  if (now - anomaly.start >= ANOMALY_WINDOW_MS) Object.assign(anomaly, { start: 0, attempts: 0, warned: false });
  const mine = admitted ? 1 : 0;
  const others = request.extraAttempts + (admitted ? 0 : 1);
  const admissionsAfter = (cutoff: number): number => log.times.length - firstAfter(log.times, cutoff);
  let changed = false;
  let attempts: number;
  if (anomaly.start === 0) {
    attempts = admissionsAfter(now - ANOMALY_WINDOW_MS) + mine;
    if (others > 0) {
      attempts += others;
      Object.assign(anomaly, { start: now, attempts });
      changed = true;
    }
  } else {
    if (others > 0) {
      anomaly.attempts += others;
      changed = true;
    }
    attempts = anomaly.attempts + admissionsAfter(anomaly.start) + mine;
  }
  let report = 0;
  if (attempts > request.anomalyThreshold && !anomaly.warned) {
    if (anomaly.start === 0) Object.assign(anomaly, { start: now, attempts });
    anomaly.warned = true;
    changed = true;
    report = attempts;
  }
  return { attempts, report, changed };
}

/** Keeps the ledger ordered by time (then by id), as a sorted set would. */
function insertByTime(ledger: LedgerEntry[], entry: LedgerEntry): void {
  let index = ledger.length;
  while (index > 0 && isAfter(ledger[index - 1]!, entry)) index -= 1;
  ledger.splice(index, 0, entry);
}

function isAfter(a: LedgerEntry, b: LedgerEntry): boolean {
  return a.ts > b.ts || (a.ts === b.ts && memberOf(a) > memberOf(b));
}

function memberOf(entry: LedgerEntry): string {
  return `${entry.amount}:${entry.settled ? 's' : 'r'}:${entry.id}`;
}
