/**
 * The contract shared by the CDK app (lib/) and the runtime (lambda/): routes, environment
 * variables, metrics, defaults and the tier table's format and parser. Nothing here imports a
 * package: the CDK app can load it without bundling anything of the runtime, and the functions
 * without anything of the CDK.
 *
 * Its frozen tables are marked `@__PURE__`, so a bundler drops the ones an entry does not use (the
 * Upstash edge entry has a size budget).
 */
export * from './routes';
export * from './environment';
export * from './metrics';
export { DEFAULT_TIERS, DEFAULT_LEASE_SECONDS, TIER_LIMITS, parseTierTable, parseTierTableJson } from '../rate-limit/core/tiers';
export type { Policy, PolicyUnit, TierDefinition, TierTable } from '../rate-limit/core/types';
