import { Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { ElastiCacheConfig, EnvironmentConfig } from '../config';
import { ElastiCacheBackend } from '../constructs/rate-limit-backend';
import { RateLimitService } from '../constructs/rate-limit-service';
import { RedisNetworkAccess } from '../constructs/redis-network-access';
import { ExistingSecret } from '../constructs/secret-reference';
import { addServiceOutputs } from './outputs';
import { serviceSettings } from './service-settings';

export interface ElastiCacheRateLimitStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/**
 * The rate-limit API on the existing ElastiCache cluster: functions in the cluster's VPC (private
 * subnets), one ingress rule on the cluster's security group or an existing trusted clients
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
    const authTokenSecret = ec.auth.kind === 'auth-token' ? new ExistingSecret(this, 'RedisAuthTokenSecret', ec.auth.secret) : undefined;

    this.network = new RedisNetworkAccess(this, 'RedisNetworkAccess', {
      vpc,
      redisSecurityGroupId: ec.access.kind === 'ingress-rule' ? ec.access.redisSecurityGroupId : undefined,
      clientSecurityGroupId: ec.access.kind === 'client-security-group' ? ec.access.clientSecurityGroupId : undefined,
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
      iamAuth: ec.auth.kind === 'iam' ? { userId: ec.auth.userId, replicationGroupId: ec.clusterId } : undefined,
      vpcPlacement: this.network.placement,
    });

    this.service = new RateLimitService(this, 'RateLimit', {
      backend,
      ...serviceSettings(props.config, 'elasticache', {
        // CloudWatch publishes cache metrics per node: a standalone node under the cluster id, a
        // replication group's members under their own ids (validated to be listed).
        cacheClusterIds: ec.topology.kind === 'replication-group' ? ec.topology.monitoredNodeIds : [ec.clusterId],
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
