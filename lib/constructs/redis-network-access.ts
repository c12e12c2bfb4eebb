import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { VpcPlacement } from './rate-limit-backend';

export interface RedisNetworkAccessProps {
  /** VPC of the existing cluster. */
  readonly vpc: ec2.IVpc;
  /**
   * Security group attached to the existing cluster: the construct adds one ingress rule to it
   * (Lambda SG -> Redis SG on the port). Give this or `clientSecurityGroupId`.
   */
  readonly redisSecurityGroupId?: string;
  /**
   * An existing "Redis clients" security group that the cluster's group already accepts. The
   * functions wear it besides their own group, and nothing outside this construct is modified:
   * for teams whose cluster security group is owned by another stack or by Terraform.
   */
  readonly clientSecurityGroupId?: string;
  /**
   * @default 6379
   */
  readonly port?: number;
  /**
   * Subnets for the functions. Public subnets are refused: a function there
   * gets neither a public IP nor internet access.
   * @default { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }
   */
  readonly subnets?: ec2.SubnetSelection;
  /**
   * Create a Secrets Manager interface endpoint with private DNS in the same
   * subnets, for VPCs without a NAT gateway. Private DNS applies to the whole
   * VPC, so only one such endpoint can exist per VPC.
   * @default false
   */
  readonly secretsManagerEndpoint?: boolean;
  /**
   * The functions call Secrets Manager at runtime (AUTH token secret). Used to
   * refuse isolated subnets with no way to reach it.
   * @default false
   */
  readonly requiresSecretsManager?: boolean;
}

/**
 * Network access from new Lambda functions to the existing Redis cluster: a Lambda security group
 * and either exactly one ingress rule on the cluster's security group (Lambda SG -> Redis SG on
 * the Redis port) or an existing clients security group the cluster already trusts; optionally a
 * Secrets Manager endpoint. The cluster itself is not touched.
 */
export class RedisNetworkAccess extends Construct {
  public readonly lambdaSecurityGroup: ec2.SecurityGroup;
  /** The cluster's security group, when this construct adds the ingress rule. */
  public readonly redisSecurityGroup?: ec2.ISecurityGroup;
  /** The existing clients security group, when the functions use it instead. */
  public readonly clientSecurityGroup?: ec2.ISecurityGroup;
  public readonly secretsManagerEndpoint?: ec2.InterfaceVpcEndpoint;
  /** Where the functions go: the selected subnets and the Lambda security group. */
  public readonly placement: VpcPlacement;

  constructor(scope: Construct, id: string, props: RedisNetworkAccessProps) {
    super(scope, id);
    const port = props.port ?? 6379;
    const subnets = props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    validate(props, subnets);

    // Egress is explicit: Redis, plus HTTPS for AWS APIs (Secrets Manager) through the NAT
    // gateway (or NAT instance, or firewall endpoint) or VPC endpoints.
    this.lambdaSecurityGroup = new ec2.SecurityGroup(this, 'LambdaSecurityGroup', {
      vpc: props.vpc,
      description: 'Rate-limit Lambda functions: Redis and HTTPS egress only',
      allowAllOutbound: false,
    });
    this.lambdaSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs via NAT or VPC endpoints');

    const securityGroups: ec2.ISecurityGroup[] = [this.lambdaSecurityGroup];
    if (props.redisSecurityGroupId !== undefined) {
      // Imported with allowAllOutbound: true so CDK never writes egress rules for it: an egress
      // rule resource on an imported group replaces its allow-all egress (aws/aws-cdk#22140).
      // `mutable` stays true because the one ingress rule below is the point of this mode.
      this.redisSecurityGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'RedisSecurityGroup', props.redisSecurityGroupId, {
        allowAllOutbound: true,
        mutable: true,
      });
      // One call creates both halves: egress on the Lambda SG and the single ingress rule (a
      // standalone AWS::EC2::SecurityGroupIngress) on the Redis SG.
      this.lambdaSecurityGroup.connections.allowTo(
        this.redisSecurityGroup,
        ec2.Port.tcp(port),
        `Rate-limit Lambda functions to Redis on ${port}`,
      );
    } else {
      // mutable: false makes CDK drop any rule someone might add to the imported group later:
      // this mode promises to change nothing outside the stack.
      this.clientSecurityGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'RedisClientSecurityGroup', props.clientSecurityGroupId!, {
        allowAllOutbound: true,
        mutable: false,
      });
      securityGroups.push(this.clientSecurityGroup);
      // The cluster's group is not known here; the Redis port is opened towards the VPC only.
      this.lambdaSecurityGroup.addEgressRule(ec2.Peer.ipv4(props.vpc.vpcCidrBlock), ec2.Port.tcp(port), `Redis on ${port} inside the VPC`);
    }

    if (props.secretsManagerEndpoint) {
      this.secretsManagerEndpoint = new ec2.InterfaceVpcEndpoint(this, 'SecretsManagerEndpoint', {
        vpc: props.vpc,
        service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        subnets,
        privateDnsEnabled: true,
        // Only the functions may use it, not the whole VPC CIDR.
        open: false,
      });
      this.secretsManagerEndpoint.connections.allowDefaultPortFrom(
        this.lambdaSecurityGroup,
        'Rate-limit Lambda functions to Secrets Manager',
      );
    }

    this.placement = { vpc: props.vpc, subnets, securityGroups };
  }
}

function validate(props: RedisNetworkAccessProps, subnets: ec2.SubnetSelection): void {
  const port = props.port ?? 6379;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`RedisNetworkAccess: port must be an integer between 1 and 65535, got ${port}`);
  }
  if ((props.redisSecurityGroupId === undefined) === (props.clientSecurityGroupId === undefined)) {
    throw new Error(
      'RedisNetworkAccess: give exactly one of redisSecurityGroupId (add an ingress rule) or clientSecurityGroupId (use a trusted clients group)',
    );
  }
  for (const id of [props.redisSecurityGroupId, props.clientSecurityGroupId]) {
    if (id !== undefined && !/^sg-([0-9a-f]{8}|[0-9a-f]{17})$/.test(id)) {
      throw new Error(`RedisNetworkAccess: "${id}" is not a security group id`);
    }
  }
  if (subnets.subnetType === ec2.SubnetType.PUBLIC) {
    throw new Error('RedisNetworkAccess: functions cannot use public subnets (no public IP, no internet access); choose private subnets');
  }
  // Checked on the selected subnets rather than the selection, so that a
  // subnetGroupName pointing at isolated subnets is caught too. (The dummy VPC
  // CDK returns before a lookup lists the same ids as private and isolated;
  // requiring "not private" keeps this from firing on it.)
  const isolatedIds = new Set(props.vpc.isolatedSubnets.map((subnet) => subnet.subnetId));
  const privateIds = new Set(props.vpc.privateSubnets.map((subnet) => subnet.subnetId));
  const selected = props.vpc.selectSubnets(subnets).subnetIds;
  const allIsolated = selected.length > 0 && selected.every((subnetId) => isolatedIds.has(subnetId) && !privateIds.has(subnetId));
  if (allIsolated && props.requiresSecretsManager && !props.secretsManagerEndpoint) {
    throw new Error(
      'RedisNetworkAccess: isolated subnets have no route to Secrets Manager; enable secretsManagerEndpoint or use private subnets with a NAT gateway',
    );
  }
}
