import { Construct } from 'constructs';
import type { IRateLimitBackend } from './rate-limit-backend';
import { RateLimitApi, type RateLimitApiProps } from './rate-limit-api';
import { RateLimitFunctions, type RateLimitFunctionsProps } from './rate-limit-functions';
import { RateLimitMonitoring, type RateLimitMonitoringProps } from './rate-limit-monitoring';

export interface RateLimitServiceProps {
  /** The Redis the functions use. */
  readonly backend: IRateLimitBackend;
  /** Function settings (runtime contract, sizing, concurrency). */
  readonly functions?: Omit<RateLimitFunctionsProps, 'backend'>;
  /** API settings. */
  readonly api: Omit<RateLimitApiProps, 'functions'>;
  /** Alarm and dashboard settings. */
  readonly monitoring: Omit<RateLimitMonitoringProps, 'functions' | 'api' | 'stage'>;
}

/**
 * The whole rate-limit service for one backend: functions, REST API and
 * monitoring. Both stacks use it, so the two deployments differ only in the
 * backend (and the network around it).
 */
export class RateLimitService extends Construct {
  public readonly functions: RateLimitFunctions;
  public readonly api: RateLimitApi;
  public readonly monitoring: RateLimitMonitoring;

  constructor(scope: Construct, id: string, props: RateLimitServiceProps) {
    super(scope, id);
    this.functions = new RateLimitFunctions(this, 'Functions', { ...props.functions, backend: props.backend });
    const byRoute = {
      check: this.functions.functions.check.function,
      settle: this.functions.functions.settle.function,
      status: this.functions.functions.status.function,
      reset: this.functions.functions.reset.function,
    };
    this.api = new RateLimitApi(this, 'Api', { ...props.api, functions: byRoute });
    this.monitoring = new RateLimitMonitoring(this, 'Monitoring', {
      ...props.monitoring,
      functions: byRoute,
      api: this.api.api,
      stage: this.api.stage,
    });
  }
}
