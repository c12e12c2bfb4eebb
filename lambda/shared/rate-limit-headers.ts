/**
 * Rate-limit response headers.
 *
 * IETF httpapi "RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers-11):
 * - `RateLimit-Policy`: one quota policy item per policy of the tier, `"name";q=<quota>` plus
 *   `w=<window seconds>` for request and token windows. The draft's quota units registry has
 *   `requests` (the default, so not written), `content-bytes` and `concurrent-requests`; there is
 *   no unit for LLM tokens, so token policies carry the vendor parameter `crl-unit="llm-tokens"`
 *   (the draft asks for a vendor prefix on service-specific parameters; `crl` = creator rate
 *   limit). In-flight policies use `qu="concurrent-requests"` and `crl-lease=<lease seconds>`
 *   instead of a window: their slots are held by leases, not counted over time.
 * - `RateLimit`: one service limit item per policy, `"name";r=<remaining>;t=<seconds>`, where `t`
 *   is the whole number of seconds (rounded up) until the next unit of that policy frees up; 0
 *   when nothing is counted, i.e. the full quota is available.
 *
 * Shadow policies never deny, so they are left out: a client must not slow down for them. Limits
 * are the ones the backend applied (a creator's override included).
 *
 * Compatibility headers describe one policy: the tier's headline policy on a 200, the policy that
 * denied on a 429. `X-RateLimit-Reset` is an epoch time in seconds (rounded up), as GitHub sends
 * it; the library's `reset` is the same instant in milliseconds.
 */
import type { PolicyStatus, RateLimitError, RateLimitStatus, TierDefinition } from './library';

export const TOKEN_UNIT_PARAMETER = 'crl-unit="llm-tokens"';

type Headers = Record<string, string>;

/** A Structured Field string: quoted, with `\` and `"` escaped. Policy names never need it, but a header must never break. */
function sfString(value: string): string {
  return `"${value.replace(/[\\"]/g, (character) => `\\${character}`).replace(/[^\x20-\x7e]/g, '?')}"`;
}

interface PolicyShape {
  readonly name: string;
  readonly unit: PolicyStatus['unit'];
  readonly limit: number;
  /** Window for requests and tokens, lease for concurrent. */
  readonly seconds: number;
}

function policyItem(policy: PolicyShape): string {
  const base = `${sfString(policy.name)};q=${policy.limit}`;
  switch (policy.unit) {
    case 'requests':
      return `${base};w=${policy.seconds}`;
    case 'tokens':
      return `${base};w=${policy.seconds};${TOKEN_UNIT_PARAMETER}`;
    case 'concurrent':
      return `${base};qu="concurrent-requests";crl-lease=${policy.seconds}`;
  }
}

function secondsUntil(resetMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((resetMs - nowMs) / 1000));
}

function epochSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** Headers of a 200 that carries current usage (check decision, status). */
export function statusHeaders(status: RateLimitStatus): Headers {
  const enforcing = status.policies.filter((policy) => !policy.shadow);
  return {
    'RateLimit-Policy': enforcing
      .map((policy) => policyItem({ name: policy.name, unit: policy.unit, limit: policy.limit, seconds: policy.windowSeconds }))
      .join(', '),
    RateLimit: enforcing
      .map((policy) => `${sfString(policy.name)};r=${policy.remaining};t=${secondsUntil(policy.reset, status.at)}`)
      .join(', '),
    'X-RateLimit-Limit': String(status.limit),
    'X-RateLimit-Remaining': String(status.remaining),
    'X-RateLimit-Reset': String(epochSeconds(status.reset)),
  };
}

/**
 * Headers of a 429. `RateLimit` has one item per policy as the backend saw them when it denied; the
 * policy that denied says r=0 and t=Retry-After. (An error without policy statuses falls back to
 * that one item.) `RateLimit-Policy` lists every policy of the tier from its definition.
 */
export function deniedHeaders(error: RateLimitError, tier: TierDefinition | undefined, nowMs = Date.now()): Headers {
  const deniedItem = `${sfString(error.policy)};r=0;t=${error.retryAfter}`;
  const enforcing = error.policies.filter((policy) => !policy.shadow);
  const items = enforcing.map((policy) =>
    policy.name === error.policy ? deniedItem : `${sfString(policy.name)};r=${policy.remaining};t=${secondsUntil(policy.reset, nowMs)}`,
  );
  const headers: Headers = {
    'Retry-After': String(error.retryAfter),
    RateLimit: items.length > 0 ? items.join(', ') : deniedItem,
    'X-RateLimit-Limit': String(error.limit),
    'X-RateLimit-Remaining': '0',
    'X-RateLimit-Reset': String(epochSeconds(error.reset)),
  };
  // The limits the backend applied when the error has them (an override included), else the tier's.
  const policies: PolicyShape[] =
    enforcing.length > 0
      ? enforcing.map((policy) => ({ name: policy.name, unit: policy.unit, limit: policy.limit, seconds: policy.windowSeconds }))
      : (tier?.policies ?? [])
          .filter((policy) => policy.mode !== 'shadow')
          .map((policy) => ({
            name: policy.name,
            unit: policy.unit,
            limit: policy.limit,
            seconds: policy.unit === 'concurrent' ? policy.leaseSeconds : policy.windowSeconds,
          }));
  headers['RateLimit-Policy'] = policies.length > 0 ? policies.map(policyItem).join(', ') : `${sfString(error.policy)};q=${error.limit}`;
  return headers;
}
