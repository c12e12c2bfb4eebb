/**
 * The custom CloudWatch metrics the functions publish (EMF) and the CDK app alarms on. Names and
 * dimensions are defined here once so an alarm can never watch a metric nobody publishes.
 */

export const DEFAULT_METRICS_NAMESPACE = 'CreatorRateLimit';

export const METRIC = /* @__PURE__ */ Object.freeze({
  /** A check admitted by the backend. */
  allowed: 'Allowed',
  /** A check denied (HTTP 429). */
  denied: 'Denied',
  /** A check let through without the backend because it failed and the fail mode is open. */
  degraded: 'Degraded',
  /** A request answered 503 because the backend failed and the fail mode is closed. */
  unavailable: 'Unavailable',
  /** The library reported a creator exceeding the anomaly threshold. */
  anomaly: 'Anomaly',
  /**
   * A shadow policy would have denied an admitted check; published per policy (dimensions
   * {service, policy}; policy names come from the tier table, so the cardinality is bounded).
   */
  shadowDenied: 'ShadowDenied',
  /** Duration of one library call that reached the backend, in milliseconds. */
  backendLatency: 'BackendLatency',
} as const);

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Every data point carries {service}; when the request's tier is known, also {service, tier}. */
export const METRIC_DIMENSIONS = /* @__PURE__ */ Object.freeze({ service: 'service', tier: 'tier', policy: 'policy' } as const);
