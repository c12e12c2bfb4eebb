/**
 * Typed per-environment configuration. `selectEnvironment` turns the one CLI switch,
 * `-c env=NAME`, into a validated EnvironmentConfig; everything else is committed code.
 */
import { ENVIRONMENTS } from './environments';
import { validateEnvironmentConfig } from './validate';
import type { EnvironmentConfig } from './types';

export * from './types';
export * from './naming';
export { ENVIRONMENTS, PRODUCTION, STAGING } from './environments';
export { ConfigurationError, TRAFFIC_SHIFTS, validateEnvironmentConfig } from './validate';

/** Anything that can answer `tryGetContext` (a construct node). */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

/** The context key that selects the environment. */
export const ENVIRONMENT_CONTEXT_KEY = 'env';

/**
 * The environment named by `-c env=NAME`, validated. Refuses a missing or unknown name rather than
 * guessing one: deploying staging's values to production (or the reverse) must not be possible by
 * forgetting a flag.
 */
export function selectEnvironment(
  context: ContextSource,
  environments: Readonly<Record<string, EnvironmentConfig>> = ENVIRONMENTS,
): EnvironmentConfig {
  const known = Object.keys(environments).join(', ');
  const name = context.tryGetContext(ENVIRONMENT_CONTEXT_KEY);
  if (name === undefined || name === null || name === '') {
    throw new Error(`No environment selected: pass -c ${ENVIRONMENT_CONTEXT_KEY}=NAME (one of ${known})`);
  }
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(environments, name)) {
    throw new Error(
      `Unknown environment ${JSON.stringify(name)} in -c ${ENVIRONMENT_CONTEXT_KEY}: choose one of ${known} (lib/config/environments.ts)`,
    );
  }
  const config = environments[name];
  if (config.name !== name) throw new Error(`Environment "${name}" is registered under another name ("${config.name}")`);
  validateEnvironmentConfig(config);
  return config;
}
