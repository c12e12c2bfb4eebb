import { Construct } from 'constructs';
import type { RouteName } from '../../lambda/contract';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IRateLimitBackend } from './rate-limit-backend';
import { RateLimitApi, type RateLimitApiProps } from './rate-limit-api';
import { RateLimitFunctions, type RateLimitFunctionsProps } from './rate-limit-functions';
import { RateLimitMonitoring, type RateLimitMonitoringProps } from './rate-limit-monitoring';
import { SafeDeployment, type TrafficShift } from './safe-deployment';

export interface RateLimitServiceProps {
  /** The Redis the functions use. */
  readonly backend: IRateLimitBackend;
  /** Function settings (runtime contract, sizing, concurrency). */
  readonly functions?: Omit<RateLimitFunctionsProps, 'backend'>;
  /** API settings. */
  readonly api: Omit<RateLimitApiProps, 'functions'>;
  /** Alarm and dashboard settings. */
  readonly monitoring: Omit<RateLimitMonitoringProps, 'functions' | 'apiName' | 'stageName'>;
  /** How CodeDeploy shifts traffic to new versions. */
  readonly trafficShift: TrafficShift;
}

/**
 * The whole rate-limit service for one backend: functions behind `live` aliases, the REST API that
 * invokes the aliases, monitoring, and CodeDeploy traffic shifting gated by the monitoring's
 * alarms. Both stacks use it, so the two deployments differ only in the backend (and the network
 * around it).
 */
export class RateLimitService extends Construct {
  public readonly functions: RateLimitFunctions;
  public readonly api: RateLimitApi;
  public readonly monitoring: RateLimitMonitoring;
  public readonly deployment: SafeDeployment;

  constructor(scope: Construct, id: string, props: RateLimitServiceProps) {
    super(scope, id);
    this.functions = new RateLimitFunctions(this, 'Functions', { ...props.functions, backend: props.backend });
    const aliases = {} as Record<RouteName, lambda.Alias>;
    for (const [route, fn] of Object.entries(this.functions.functions)) aliases[route as RouteName] = fn.alias;

    this.api = new RateLimitApi(this, 'Api', { ...props.api, functions: aliases });
    this.monitoring = new RateLimitMonitoring(this, 'Monitoring', {
      ...props.monitoring,
      functions: aliases,
      apiName: props.api.restApiName,
      stageName: this.api.stageName,
    });
    this.deployment = new SafeDeployment(this, 'Deployment', {
      aliases,
      rollbackAlarms: this.monitoring.deploymentAlarms,
      trafficShift: props.trafficShift,
    });
  }
}
