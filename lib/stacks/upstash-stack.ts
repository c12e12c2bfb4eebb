import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';
import { UpstashBackend } from '../constructs/rate-limit-backend';
import { RateLimitService } from '../constructs/rate-limit-service';
import { ExistingSecret } from '../constructs/secret-reference';
import { addServiceOutputs } from './outputs';
import { serviceSettings } from './service-settings';

export interface UpstashRateLimitStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/**
 * The same rate-limit API against Upstash Redis over HTTPS: no VPC, the URL and token read at
 * runtime from a Secrets Manager secret referenced by name.
 */
export class UpstashRateLimitStack extends Stack {
  public readonly service: RateLimitService;

  constructor(scope: Construct, id: string, props: UpstashRateLimitStackProps) {
    super(scope, id, props);
    const credentialsSecret = new ExistingSecret(this, 'UpstashCredentialsSecret', props.config.upstash.credentialsSecret);

    this.service = new RateLimitService(this, 'RateLimit', {
      backend: new UpstashBackend({ credentialsSecret }),
      ...serviceSettings(props.config, 'upstash'),
    });
    addServiceOutputs(this, this.service);
  }
}
