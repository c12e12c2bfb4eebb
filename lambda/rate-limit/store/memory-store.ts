/**
 * The admission rule, written once as readable code: this in-process store is the executable
 * specification that the Redis scripts implement (a differential property test holds them to the
 * same answers). It serves local development and unit tests; state lives in one process, so never
 * use it when more than one process enforces the same limits.
 *
 * It keeps plain lists and maps and never mirrors how Redis stores things (log compaction, sorted-set
 * order, key lifetimes): those may not change any answer. Expired state is swept a few creators per
 * call, so memory stays bounded by the creators active within their windows.
 */
import { STORE_CONSTANTS } from './constants';
import type {
  AdmissionOutcome,
  AdmissionRecord,
  AnomalyCount,
  AnomalyRule,
  CheckRequest,
  DenialCause,
  OverrideWrite,
  PolicySpec,
  PolicyUsage,
  RateLimitStore,
  ReserveRequest,
  SettleOutcome,
  SettleRequest,
  ShadowVerdict,
  StatusOutcome,
  StatusRequest,
  StoredOverride,
} from './store';
import { requestLogName } from './store';

const { ANOMALY_WINDOW_MS, LEASE_RETRY_CAP_MS } = STORE_CONSTANTS;
/** Creators examined for expiry per call: more than one creator is added per call, so dead ones go faster than new ones come. */
const SWEEP_BATCH = 4;

/** The anomaly counter of a creator's headline request policy. */
interface AnomalyCounter {
  /** When its window opened (0 = none open). */
  start: number;
  /** Attempts counted when it opened, plus the later attempts that did not admit. */
  attempts: number;
  warned: boolean;
}

interface TokenEntry {
  readonly requestId: string;
  /** Admission time: the entry counts while it is inside a token window. */
  readonly at: number;
  readonly tokens: number;
  /** False while reserved (unsettled), true once charged. */
  readonly settled: boolean;
}

interface StoredRecord {
  readonly admittedAt: number;
  readonly reserved: number;
  readonly leaseExpiry: number;
  readonly forgetAt: number;
  settled: boolean;
  charged: number;
}

/** The admissions a request policy counts. */
interface RequestLog {
  /** Admission times, oldest first. */
  times: number[];
  /** The longest window this policy name was used with: older admissions never count again. */
  windowMs: number;
}

interface CreatorState {
  /** Admissions per request log name (requestLogName: a shadow policy keeps its own). */
  readonly requestLogs: Map<string, RequestLog>;
  readonly anomalies: Map<string, AnomalyCounter>;
  /** Token reservations and charges, in admission order. */
  tokenEntries: TokenEntry[];
  /** In-flight leases: requestId -> expiry. */
  readonly leases: Map<string, number>;
  readonly records: Map<string, StoredRecord>;
  /** How long settled token entries must be kept (longest token window seen). */
  tokenHistoryMs: number;
}

/** One policy as seen at one instant, before anything is written. */
interface PolicyView {
  readonly pass: boolean;
  readonly retryMs: number;
  readonly cause: DenialCause;
  readonly usage: PolicyUsage;
  /** The usage once this admission is counted. */
  readonly usageAfterAdmission: PolicyUsage;
}

/** What an admission asks of the policies. */
interface Ask {
  readonly tokens: number;
  readonly reserve: boolean;
  readonly leaseMs: number;
}

const NO_ASK: Ask = { tokens: 0, reserve: false, leaseMs: 0 };

export class MemoryStore implements RateLimitStore {
  readonly backend = 'memory' as const;
  readonly mayResend = false;
  private readonly creators = new Map<string, CreatorState>();
  /** Overrides live apart from usage: a reset keeps them, and they lapse on their own clock. */
  private readonly overrides = new Map<string, StoredOverride>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Creators holding state (for tests of the sweep). */
  get creatorCount(): number {
    return this.creators.size;
  }

  async check(request: CheckRequest): Promise<AdmissionOutcome> {
    return this.admit(request, { tokens: 0, reserve: false, leaseMs: request.record?.leaseMs ?? 0 }, request.record, 0);
  }

  async reserve(request: ReserveRequest): Promise<AdmissionOutcome> {
    const ask = { tokens: request.tokens, reserve: true, leaseMs: request.record.leaseMs };
    return this.admit(request, ask, request.record, request.tokenHistoryMs);
  }

  async status(request: StatusRequest): Promise<StatusOutcome> {
    const now = this.clock();
    this.sweep(now);
    const creator = this.creators.get(request.creatorId);
    return { now, usage: this.withOverride(request.creatorId, request.policies, now).map((policy) => usageOf(policy, creator, now)) };
  }

  async settle(request: SettleRequest): Promise<SettleOutcome> {
    const now = this.clock();
    this.sweep(now);
    const creator = this.creators.get(request.creatorId);
    const settled = creator ? settleReservation(creator, request, now) : unknownSettlement;
    const usage =
      request.statusOf && this.withOverride(request.creatorId, request.statusOf, now).map((policy) => usageOf(policy, creator, now));
    return { ...settled, now, usage };
  }

  async warmUp(): Promise<void> {}

  async reset(creatorId: string): Promise<void> {
    this.creators.delete(creatorId);
  }

  async close(): Promise<void> {
    this.creators.clear();
    this.overrides.clear();
  }

  async setOverride(creatorId: string, override: OverrideWrite): Promise<StoredOverride> {
    const stored = { ...override, limits: { ...override.limits }, setAt: this.clock() };
    this.overrides.set(creatorId, stored);
    return stored;
  }

  async getOverride(creatorId: string): Promise<StoredOverride | undefined> {
    return this.liveOverride(creatorId, this.clock());
  }

  async removeOverride(creatorId: string): Promise<boolean> {
    const live = this.liveOverride(creatorId, this.clock()) !== undefined;
    this.overrides.delete(creatorId);
    return live;
  }

  /** The override in force: one whose expiry has passed no longer exists. */
  private liveOverride(creatorId: string, now: number): StoredOverride | undefined {
    const override = this.overrides.get(creatorId);
    if (override?.expiresAt !== undefined && override.expiresAt <= now) {
      this.overrides.delete(creatorId);
      return undefined;
    }
    return override;
  }

  /** The policies as this creator is held to them: a policy named in the override takes its limit. */
  private withOverride(creatorId: string, policies: readonly PolicySpec[], now: number): readonly PolicySpec[] {
    const limits = this.liveOverride(creatorId, now)?.limits;
    if (!limits) return policies;
    return policies.map((policy) => (Object.hasOwn(limits, policy.name) ? { ...policy, limit: limits[policy.name] } : policy));
  }

  /**
   * The admission rule. Every policy is evaluated (with the creator's override applied) before
   * anything is written; only an admission that passes every enforcing policy (and is not a replay)
   * is counted, in every policy, shadow ones included. Shadow policies never deny: the ones that
   * would have are reported. A denial consumes nothing.
   */
  private admit(
    request: CheckRequest | ReserveRequest,
    ask: Ask,
    record: AdmissionRecord | undefined,
    tokenHistoryMs: number,
  ): AdmissionOutcome {
    const now = this.clock();
    this.sweep(now);
    const existing = this.creators.get(request.creatorId);
    const policies = this.withOverride(request.creatorId, request.policies, now);
    const views = policies.map((policy) => viewOf(policy, existing, ask, now));
    const shadowDenials: ShadowVerdict[] = [];
    views.forEach((view, index) => {
      if (policies[index].shadow && !view.pass) shadowDenials.push({ index, retryMs: view.retryMs });
    });
    const original = record && existing?.records.get(record.requestId);
    const replayOf = original && original.forgetAt > now ? original : undefined;
    const binding = bindingDenial(views, policies);
    const admitted = !replayOf && binding === undefined;

    const creator = admitted || request.anomaly.threshold > 0 ? this.creatorFor(request.creatorId) : existing;
    const anomaly = creator && countAnomaly(creator, policies, request.anomaly, admitted, now);
    if (admitted) {
      countAdmission(this.creatorFor(request.creatorId), policies, ask, record, tokenHistoryMs, now);
    }

    const usageOf = (pick: (view: PolicyView) => PolicyUsage) =>
      views.map((view, index) => ({ ...pick(view), limit: policies[index].limit }));
    if (replayOf) {
      const usage = usageOf((view) => view.usage);
      return { kind: 'replay', now, usage, anomaly, shadowDenials, reservedTokens: replayOf.reserved, admittedAt: replayOf.admittedAt };
    }
    if (binding !== undefined) {
      const view = views[binding];
      const usage = usageOf((v) => v.usage);
      return { kind: 'denied', now, usage, anomaly, shadowDenials, deniedIndex: binding, retryMs: view.retryMs, cause: view.cause };
    }
    const reservedTokens = ask.reserve ? ask.tokens : 0;
    return { kind: 'admitted', now, usage: usageOf((view) => view.usageAfterAdmission), anomaly, shadowDenials, reservedTokens };
  }

  private creatorFor(creatorId: string): CreatorState {
    let creator = this.creators.get(creatorId);
    if (!creator) {
      creator = {
        requestLogs: new Map(),
        anomalies: new Map(),
        tokenEntries: [],
        leases: new Map(),
        records: new Map(),
        tokenHistoryMs: 0,
      };
      this.creators.set(creatorId, creator);
    }
    return creator;
  }

  /**
   * Forgets what no longer matters, a few creators per call: the oldest-inserted ones are looked
   * at, dropped when nothing of theirs is alive, moved to the back otherwise.
   */
  private sweep(now: number): void {
    let examined = 0;
    for (const [creatorId, creator] of this.creators) {
      if (examined === SWEEP_BATCH) break;
      examined += 1;
      this.creators.delete(creatorId);
      if (forgetExpired(creator, now)) this.creators.set(creatorId, creator);
    }
  }
}

/** The enforcing policy that denies, freeing last (undefined when every enforcing policy passes). */
function bindingDenial(views: readonly PolicyView[], policies: readonly PolicySpec[]): number | undefined {
  let binding: number | undefined;
  views.forEach((view, index) => {
    if (!view.pass && !policies[index].shadow && (binding === undefined || view.retryMs > views[binding].retryMs)) binding = index;
  });
  return binding;
}

/** A policy's usage as a status reads it (nothing asked), with the limit applied. */
function usageOf(policy: PolicySpec, creator: CreatorState | undefined, now: number): PolicyUsage {
  return { ...viewOf(policy, creator, NO_ASK, now).usage, limit: policy.limit };
}

function viewOf(policy: PolicySpec, creator: CreatorState | undefined, ask: Ask, now: number): PolicyView {
  switch (policy.kind) {
    case 'requests':
      return requestView(policy, creator?.requestLogs.get(requestLogName(policy))?.times ?? [], now);
    case 'tokens':
      return tokenView(policy, creator, ask, now);
    case 'concurrent':
      return leaseView(policy, creator, ask, now);
  }
}

/**
 * Requests: at most `limit` admissions in any window. Denied, the request passes once the admission
 * `limit` places from the newest leaves the window, so retry and reset are exact.
 */
function requestView(policy: PolicySpec, times: readonly number[], now: number): PolicyView {
  const counted = times.filter((time) => time > now - policy.windowMs);
  const used = counted.length;
  const blocker = used >= policy.limit ? counted[used - policy.limit] : undefined;
  const freesNext = blocker ?? counted[0];
  return {
    pass: used < policy.limit,
    retryMs: blocker === undefined ? 0 : Math.max(1, blocker + policy.windowMs - now),
    cause: 'usage',
    usage: { used, reserved: 0, reset: freesNext === undefined ? now : freesNext + policy.windowMs },
    usageAfterAdmission: { used: used + 1, reserved: 0, reset: (counted[0] ?? now) + policy.windowMs },
  };
}

/**
 * Tokens: settled charges plus unsettled reservations inside the window. A reservation passes when
 * it fits the budget (and the budget is not already spent). Denied, it passes once enough of the
 * oldest entries leave the window; when reservations still in flight are part of the reason, the
 * wait is at most until the earliest of their leases ends (they usually settle sooner).
 */
function tokenView(policy: PolicySpec, creator: CreatorState | undefined, ask: Ask, now: number): PolicyView {
  const inWindow = (creator?.tokenEntries ?? []).filter((entry) => entry.at > now - policy.windowMs).sort((a, b) => a.at - b.at);
  const sum = (entries: readonly TokenEntry[]) => entries.reduce((total, entry) => total + entry.tokens, 0);
  const used = sum(inWindow.filter((entry) => entry.settled));
  const reserved = sum(inWindow.filter((entry) => !entry.settled));
  const fits = (total: number) => total + ask.tokens <= policy.limit && total < policy.limit;
  const pass = fits(used + reserved);
  let retryMs = 0;
  let cause: DenialCause = 'usage';
  if (!pass) {
    let left = used + reserved;
    const freedBy = inWindow.find((entry) => fits((left -= entry.tokens)));
    retryMs = freedBy ? freedBy.at + policy.windowMs - now : policy.windowMs;
    const inFlight = inWindow.filter((entry) => !entry.settled && (creator?.leases.get(entry.requestId) ?? 0) > now);
    if (inFlight.length > 0 && fits(used + reserved - sum(inFlight))) {
      cause = 'reservations';
      const earliestLease = Math.min(...inFlight.map((entry) => creator!.leases.get(entry.requestId)!));
      retryMs = Math.min(retryMs, earliestLease - now);
    }
    retryMs = Math.max(1, retryMs);
  }
  const oldest = inWindow[0]?.at;
  return {
    pass,
    retryMs,
    cause,
    usage: { used, reserved, reset: oldest === undefined ? now : oldest + policy.windowMs },
    usageAfterAdmission: {
      used,
      reserved: reserved + (ask.reserve ? ask.tokens : 0),
      reset: oldest !== undefined ? oldest + policy.windowMs : ask.reserve ? now + policy.windowMs : now,
    },
  };
}

/**
 * Concurrent: reservations holding a live lease. Only reservations are held to the cap (a plain
 * check holds no lease). A slot frees whenever a request settles, which cannot be predicted: the
 * denial suggests polling soon, and never later than the earliest lease ends.
 */
function leaseView(policy: PolicySpec, creator: CreatorState | undefined, ask: Ask, now: number): PolicyView {
  const live = [...(creator?.leases.values() ?? [])].filter((expiry) => expiry > now);
  const earliest = live.length > 0 ? Math.min(...live) : undefined;
  const pass = !ask.reserve || live.length < policy.limit;
  const mine = now + ask.leaseMs;
  return {
    pass,
    retryMs: pass ? 0 : Math.max(1, Math.min(LEASE_RETRY_CAP_MS, earliest! - now)),
    cause: 'reservations',
    usage: { used: live.length, reserved: 0, reset: earliest ?? now },
    usageAfterAdmission: ask.reserve
      ? { used: live.length + 1, reserved: 0, reset: Math.min(earliest ?? mine, mine) }
      : { used: live.length, reserved: 0, reset: earliest ?? now },
  };
}

/** Writes an admission: one entry per request log; a reservation's tokens and lease; the record. */
function countAdmission(
  creator: CreatorState,
  policies: readonly PolicySpec[],
  ask: Ask,
  record: AdmissionRecord | undefined,
  tokenHistoryMs: number,
  now: number,
): void {
  for (const policy of policies) {
    if (policy.kind !== 'requests') continue;
    const name = requestLogName(policy);
    const log = creator.requestLogs.get(name) ?? { times: [], windowMs: 0 };
    log.windowMs = Math.max(log.windowMs, policy.windowMs);
    log.times = [...log.times.filter((time) => time > now - log.windowMs), now];
    creator.requestLogs.set(name, log);
  }
  if (ask.reserve && record) {
    creator.tokenEntries.push({ requestId: record.requestId, at: now, tokens: ask.tokens, settled: false });
    creator.leases.set(record.requestId, now + ask.leaseMs);
    creator.tokenHistoryMs = Math.max(creator.tokenHistoryMs, tokenHistoryMs);
  }
  if (record) {
    const reserved = ask.reserve ? ask.tokens : 0;
    creator.records.set(record.requestId, {
      admittedAt: now,
      reserved,
      leaseExpiry: now + record.leaseMs,
      forgetAt: now + record.retentionMs,
      settled: false,
      charged: reserved,
    });
  }
}

const unknownSettlement = { result: 'unknown', reservedTokens: 0, chargedTokens: 0 } as const;

/**
 * Settles a reservation with the tokens actually used: the reservation becomes a charge at its
 * admission time, and its lease is released. A lease that expired keeps its reserved charge (the
 * work may have run); overage is charged either way. Idempotent.
 */
function settleReservation(
  creator: CreatorState,
  request: SettleRequest,
  now: number,
): Pick<SettleOutcome, 'result' | 'reservedTokens' | 'chargedTokens'> {
  const record = creator.records.get(request.requestId);
  if (!record || record.forgetAt <= now) return unknownSettlement;
  if (record.settled) return { result: 'already-settled', reservedTokens: record.reserved, chargedTokens: record.charged };
  const expired = record.leaseExpiry <= now;
  const charge = expired ? Math.max(request.actualTokens, record.reserved) : request.actualTokens;
  creator.leases.delete(request.requestId);
  const isTheReservation = (entry: TokenEntry) => !entry.settled && entry.requestId === request.requestId && entry.at === record.admittedAt;
  creator.tokenEntries = creator.tokenEntries.filter((entry) => !isTheReservation(entry));
  creator.tokenEntries.push({ requestId: request.requestId, at: record.admittedAt, tokens: charge, settled: true });
  creator.tokenHistoryMs = Math.max(creator.tokenHistoryMs, request.tokenHistoryMs);
  record.settled = true;
  record.charged = charge;
  return { result: expired ? 'expired' : 'settled', reservedTokens: record.reserved, chargedTokens: charge };
}

/**
 * Anomaly attempts, counted on the tier's first enforcing request policy. With no counter window open, the
 * attempts are the admissions of the last 5 minutes that the policy still counts, plus this one.
 * The first attempt that does not admit (denied, replayed, or denied from a client's local cache)
 * opens a 5-minute window holding those attempts and itself; from then on the attempts are the
 * counter (plus later attempts that did not admit) and the admissions after it opened that the
 * policy still counts. So while a creator is only denied, the count moves only by the denials, which
 * a deny cache predicts exactly. One report per window, when the threshold is first crossed.
 */
function countAnomaly(
  creator: CreatorState,
  policies: readonly PolicySpec[],
  rule: AnomalyRule,
  admitted: boolean,
  now: number,
): AnomalyCount | undefined {
  const headline = policies.find((policy) => policy.kind === 'requests' && !policy.shadow);
  if (rule.threshold <= 0 || !headline) return undefined;
  const times = creator.requestLogs.get(headline.name)?.times ?? [];
  const admissionsAfter = (since: number) => times.filter((time) => time > Math.max(since, now - headline.windowMs)).length;
  let counter = creator.anomalies.get(headline.name) ?? { start: 0, attempts: 0, warned: false };
  if (now - counter.start >= ANOMALY_WINDOW_MS) counter = { start: 0, attempts: 0, warned: false };
  const mine = admitted ? 1 : 0;
  const notAdmitted = rule.locallyDenied + (admitted ? 0 : 1);
  let attempts: number;
  if (counter.start === 0) {
    attempts = admissionsAfter(now - ANOMALY_WINDOW_MS) + mine + notAdmitted;
    if (notAdmitted > 0) counter = { start: now, attempts, warned: false };
  } else {
    counter = { ...counter, attempts: counter.attempts + notAdmitted };
    attempts = counter.attempts + admissionsAfter(counter.start) + mine;
  }
  let report: number | undefined;
  if (attempts > rule.threshold && !counter.warned) {
    counter = counter.start === 0 ? { start: now, attempts, warned: true } : { ...counter, warned: true };
    report = attempts;
  }
  if (counter.start !== 0) creator.anomalies.set(headline.name, counter);
  const endsAt = counter.start === 0 ? now : counter.start + ANOMALY_WINDOW_MS;
  return { window: { attempts, endsAt, warned: counter.warned }, report };
}

/**
 * Drops the state of a creator that no longer matters: admissions older than any window they could
 * count in (the anomaly window included), closed anomaly windows, ended leases, token entries older
 * than the token history, records past their retention. True when something is left.
 */
function forgetExpired(creator: CreatorState, now: number): boolean {
  for (const [name, log] of creator.requestLogs) {
    const newest = log.times[log.times.length - 1] ?? 0;
    if (newest <= now - log.windowMs) creator.requestLogs.delete(name);
  }
  for (const [name, counter] of creator.anomalies) if (now - counter.start >= ANOMALY_WINDOW_MS) creator.anomalies.delete(name);
  for (const [id, expiry] of creator.leases) if (expiry <= now) creator.leases.delete(id);
  creator.tokenEntries = creator.tokenEntries.filter((entry) => entry.at > now - creator.tokenHistoryMs);
  for (const [id, record] of creator.records) if (record.forgetAt <= now) creator.records.delete(id);
  return creator.requestLogs.size + creator.anomalies.size + creator.leases.size + creator.tokenEntries.length + creator.records.size > 0;
}

/** The memory backend's factory (the `clock` option replaces Date.now, for tests). */
export function memoryStore(options: { readonly clock?: () => number }): RateLimitStore {
  return new MemoryStore(options.clock);
}
