import { Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { DeploymentConfig, ElastiCacheConfig } from '../config';
import { ElastiCacheBackend } from '../constructs/rate-limit-backend';
import { RateLimitService } from '../constructs/rate-limit-service';
import { RedisNetworkAccess } from '../constructs/redis-network-access';
import { ExistingSecret } from '../constructs/secret-reference';
import { addServiceOutputs } from './outputs';
import { serviceSettings } from './service-settings';

export interface ElastiCacheRateLimitStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/**
 * The rate-limit API on the existing ElastiCache cluster: functions in the
 * cluster's VPC (private subnets), one ingress rule on the cluster's security
 * group, no ElastiCache resource of its own.
 */
export class ElastiCacheRateLimitStack extends Stack {
  public readonly service: RateLimitService;
  public readonly network: RedisNetworkAccess;

  constructor(scope: Construct, id: string, props: ElastiCacheRateLimitStackProps) {
    super(scope, id, props);
    const ec = props.config.elastiCache;

    // Resolved at synth time from cdk.context.json (committed), never at deploy time.
    const vpc = ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: ec.vpcId });
    const authTokenSecret = ec.authTokenSecret ? new ExistingSecret(this, 'RedisAuthTokenSecret', ec.authTokenSecret) : undefined;

    this.network = new RedisNetworkAccess(this, 'RedisNetworkAccess', {
      vpc,
      redisSecurityGroupId: ec.redisSecurityGroupId,
      port: ec.port,
      subnets: subnetSelection(ec),
      secretsManagerEndpoint: ec.secretsManagerEndpoint,
      requiresSecretsManager: authTokenSecret !== undefined,
    });

    const backend = new ElastiCacheBackend({
      host: ec.host,
      port: ec.port,
      tls: ec.tls,
      clusterMode: ec.clusterMode,
      authTokenSecret,
      iamAuth: ec.iamAuthUserId ? { userId: ec.iamAuthUserId, replicationGroupId: ec.clusterId } : undefined,
      vpcPlacement: this.network.placement,
    });

    this.service = new RateLimitService(this, 'RateLimit', {
      backend,
      ...serviceSettings(props.config, {
        variant: 'elasticache',
        dashboardName: `${id}-decisions`,
        cacheCluster: { cacheClusterIds: ec.monitoredCacheClusterIds ?? [ec.clusterId] },
      }),
    });
    addServiceOutputs(this, this.service);
  }
}

function subnetSelection(ec: ElastiCacheConfig): ec2.SubnetSelection {
  if (ec.subnetGroupName !== undefined) return { subnetGroupName: ec.subnetGroupName };
  return {
    subnetType: ec.subnetType === 'private-isolated' ? ec2.SubnetType.PRIVATE_ISOLATED : ec2.SubnetType.PRIVATE_WITH_EGRESS,
  };
}
