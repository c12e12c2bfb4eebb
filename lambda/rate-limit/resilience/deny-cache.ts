/**
 * A bounded, per-process cache of denials. Once a creator is denied, later checks in the same warm
 * container are denied locally, with zero backend commands, until the exact moment the backend said
 * the request would pass. It never caches an allow, so it can only make the limiter stricter for
 * the remaining lifetime of a denial that the backend itself computed.
 */
import type { RateLimitErrorDetails } from '../core/errors';

export interface CachedDenial extends RateLimitErrorDetails {
  /** Local monotonic-ish time (Date.now) until which the denial holds. */
  readonly until: number;
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
   * denial that answers it, or else the number of denials served locally since the last backend
   * call, which that call must count for anomalies. `mayServe` is false for checks that must reach
   * the backend whatever is cached (those with a caller requestId).
   */
  consult(creatorId: string, tier: string, mayServe: boolean, reserve: boolean, tokens: number): CachedDenial | number {
    const key = cacheKey(creatorId, tier);
    const entry = this.entries.get(key);
    if (!entry) return 0;
    const denial = mayServe ? this.serve(entry, reserve, tokens) : undefined;
    return denial ?? this.take(key, entry);
  }

  /**
   * The cached denial that covers this check, if any. A request-window denial covers every check;
   * a token denial covers reservations at least as large; an in-flight denial covers reservations.
   */
  match(creatorId: string, tier: string, reserve: boolean, tokens: number): CachedDenial | undefined {
    const entry = this.entries.get(cacheKey(creatorId, tier));
    return entry && this.serve(entry, reserve, tokens);
  }

  /** Takes the count of locally served denials for a creator's next backend call. */
  takeServed(creatorId: string, tier: string): number {
    const key = cacheKey(creatorId, tier);
    const entry = this.entries.get(key);
    return entry ? this.take(key, entry) : 0;
  }

  private serve(entry: Entry, reserve: boolean, tokens: number): CachedDenial | undefined {
    if (entry.denial.until <= this.clock()) {
      return undefined; // expired: left in place so its served count reaches the next backend call
    }
    const { unit } = entry.denial;
    const covers =
      unit === 'requests' || (unit === 'tokens' && reserve && tokens >= entry.denial.tokens) || (unit === 'concurrent' && reserve);
    if (!covers) return undefined;
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
    this.entries.set(key, { denial, served, probed: false });
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

// NUL cannot occur in a creator id (control characters are rejected), so the key is unambiguous.
function cacheKey(creatorId: string, tier: string): string {
  return `${creatorId}\u0000${tier}`;
}
