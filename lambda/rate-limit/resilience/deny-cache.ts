/**
 * A bounded, per-process cache of denials. Once a creator is denied, later checks in the same warm
 * container are denied locally, with zero backend commands. It never caches an allow.
 *
 * Coherence: a denial is served locally for at most DENIAL_COHERENCE_MS after the backend call that
 * computed it was made (and never past the moment the backend said the request would pass). After
 * that, the next check it covers asks the backend again, so a change made by any other process
 * (a reset, a settle that refunds tokens or releases a lease) is honoured here within that bound.
 * Checks that arrive while that one refresh is in flight wait for its answer instead of asking too:
 * denied traffic costs at most one backend call per creator, tier and second in each process.
 * Changes made by this process itself (reset, settle) drop its cached denials at once (`forget`).
 */
import type { RateLimitErrorDetails } from '../core/errors';

/** How long a denial may be served without asking the backend again: the coherence guarantee. */
export const DENIAL_COHERENCE_MS = 1000;

export interface CachedDenial extends RateLimitErrorDetails {
  /** Local time (Date.now) until which the denial holds: the backend's retry time. */
  readonly until: number;
  /** Local time (Date.now) at which the backend call that computed the denial was made. */
  readonly checkedAt: number;
  /** Unit of the policy that denied: decides which later checks the denial covers. */
  readonly unit: 'requests' | 'tokens' | 'concurrent';
  /** For a token denial: the smallest reservation it covers. */
  readonly tokens: number;
  /** The creator's anomaly window as the backend last saw it (endsAt in local time). */
  readonly anomaly: { readonly attempts: number; readonly threshold: number; readonly endsAt: number; readonly warned: boolean };
}

interface Entry {
  denial: CachedDenial;
  /** Denials served from this entry since the last backend call (reported for anomaly counting). */
  served: number;
  /** Whether one check was already let through to report an anomaly. */
  probed: boolean;
  /**
   * The one backend call re-checking a denial older than DENIAL_COHERENCE_MS: `true` from the
   * moment `consult` picked a check to make it until `track` receives the call, then the call's
   * settlement (which other checks of the creator wait for).
   */
  refresh: boolean | Promise<void>;
}

export const DEFAULT_DENY_CACHE_SIZE = 10_000;

export class DenyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxEntries = DEFAULT_DENY_CACHE_SIZE,
    private readonly clock: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * What the cache says about one check, in one lookup (checks sit on every AI request): the cached
   * denial that answers it; or a promise to wait for, when another check is re-asking the backend
   * about the denial that covers this one (then consult again); or else the number of denials served
   * locally since the last backend call, which that call must count for anomalies. `mayServe` is
   * false for checks that must reach the backend whatever is cached (those with a caller requestId).
   * A check picked to refresh a stale denial gets the number, and its call must be given to `track`.
   */
  consult(creatorId: string, tier: string, mayServe: boolean, reserve: boolean, tokens: number): CachedDenial | Promise<void> | number {
    const key = cacheKey(creatorId, tier);
    const entry = this.entries.get(key);
    if (!entry) return 0;
    if (mayServe && this.isStale(entry) && covers(entry.denial, reserve, tokens)) {
      if (entry.refresh instanceof Promise) return entry.refresh;
      entry.refresh = true;
      return this.take(key, entry);
    }
    const denial = mayServe ? this.serve(entry, reserve, tokens) : undefined;
    return denial ?? this.take(key, entry);
  }

  /**
   * Called with every check's backend call, right after `consult`: when that check was picked to
   * refresh a stale denial, the others wait for this call. Once it settles, the stale denial is
   * dropped unless the call replaced it with a new one (`remember`): an admission, or an error,
   * means it no longer holds, and the waiting checks then ask the backend themselves.
   */
  track(creatorId: string, tier: string, call: Promise<unknown>): void {
    const key = cacheKey(creatorId, tier);
    const entry = this.entries.get(key);
    if (entry?.refresh !== true) return;
    const settled = (): void => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    };
    entry.refresh = call.then(settled, settled);
  }

  /** Older than the coherence bound, though not yet expired: must be confirmed by the backend. */
  private isStale(entry: Entry): boolean {
    const now = this.clock();
    return now < entry.denial.until && now - entry.denial.checkedAt >= DENIAL_COHERENCE_MS;
  }

  /**
   * The cached denial that covers this check, if any, counting it as served. A request-window
   * denial covers every check; a token denial covers reservations at least as large; an in-flight
   * denial covers reservations.
   */
  private serve(entry: Entry, reserve: boolean, tokens: number): CachedDenial | undefined {
    if (entry.denial.until <= this.clock() || this.isStale(entry)) {
      return undefined; // expired: left in place so its served count reaches the next backend call
    }
    if (!covers(entry.denial, reserve, tokens)) return undefined;
    if (this.wouldCrossAnomalyThreshold(entry)) {
      // Let this one check reach the backend: the script counts the locally served attempts and
      // reports the anomaly, once per window, exactly as if nothing had been cached.
      entry.probed = true;
      return undefined;
    }
    entry.served += 1;
    return entry.denial;
  }

  private take(key: string, entry: Entry): number {
    const { served } = entry;
    if (entry.denial.until <= this.clock()) this.entries.delete(key);
    else entry.served = 0;
    return served;
  }

  remember(creatorId: string, tier: string, denial: CachedDenial): void {
    const key = cacheKey(creatorId, tier);
    const served = this.entries.get(key)?.served ?? 0;
    this.entries.delete(key); // re-insert at the end: Map order is the eviction order
    this.entries.set(key, { denial, served, probed: false, refresh: false });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  private wouldCrossAnomalyThreshold(entry: Entry): boolean {
    const { attempts, threshold, endsAt, warned } = entry.denial.anomaly;
    if (threshold <= 0 || entry.probed) return false;
    const inWindow = this.clock() < endsAt;
    if (inWindow && warned) return false;
    return (inWindow ? attempts : 0) + entry.served + 1 > threshold;
  }

  /** Drops every cached denial of a creator (reset, or a settle that may have freed capacity). */
  forget(creatorId: string): void {
    const prefix = `${creatorId}\u0000`;
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}

/**
 * Which checks a denial answers: a request-window denial covers every check; a token denial covers
 * reservations at least as large; an in-flight denial covers reservations.
 */
function covers(denial: CachedDenial, reserve: boolean, tokens: number): boolean {
  const { unit } = denial;
  return unit === 'requests' || (unit === 'tokens' && reserve && tokens >= denial.tokens) || (unit === 'concurrent' && reserve);
}

// NUL cannot occur in a creator id (control characters are rejected), so the key is unambiguous.
function cacheKey(creatorId: string, tier: string): string {
  return `${creatorId}\u0000${tier}`;
}
