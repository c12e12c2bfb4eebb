/**
 * The numbers of the admission rule that every store shares. The memory store reads them here; the
 * Redis scripts receive them interpolated into their Lua (redis/scripts/constants.lua.ts), so the
 * two can never drift apart.
 */
export const STORE_CONSTANTS = Object.freeze({
  /** Anomaly attempts are counted over this long (the old system's "within 5 minutes"). */
  ANOMALY_WINDOW_MS: 300_000,
  /** Extra lifetime of stored state beyond the moment it stops mattering (absorbs clock steps). */
  TTL_MARGIN_MS: 60_000,
  /** A lifetime is extended when it would end less than this before what it must outlive. */
  TTL_AHEAD_MS: 1_000,
  /**
   * A request log drops its entries that left the window once at least this many (and a quarter of
   * the limit) did, so a busy log stays under 1.25 x limit + 16 entries. Storage only: decisions
   * never depend on when it happens.
   */
  COMPACT_MIN_ENTRIES: 16,
  /** The longest wait a denial by the in-flight cap suggests: a slot frees whenever a request settles. */
  LEASE_RETRY_CAP_MS: 1_000,
  /** Digits of one epoch-millisecond number in a Redis text log (enough until the year 2286). */
  TIME_DIGITS: 13,
});

export type StoreConstants = typeof STORE_CONSTANTS;
