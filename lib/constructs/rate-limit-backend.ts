import { Stack, ArnFormat } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { ENV } from '../../lambda/contract';
import type { IReadableSecret } from './secret-reference';

/** Where VPC-attached functions run. */
export interface VpcPlacement {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroups: readonly ec2.ISecurityGroup[];
}

/**
 * What a rate-limit backend needs from the functions that use it: the
 * environment contract (lambda/contract/environment.ts), an optional VPC placement and
 * the IAM permissions to read its credentials. Backends create no resources;
 * they describe how to reach one that exists.
 */
export interface IRateLimitBackend {
  /** Value of `RATE_LIMIT_BACKEND`. */
  readonly kind: 'elasticache' | 'upstash';
  /** Environment variables for the functions. Never contains a secret value, only ARNs. */
  readonly environment: Readonly<Record<string, string>>;
  /** Present when the backend is only reachable from inside a VPC. */
  readonly vpcPlacement?: VpcPlacement;
  /** Grants the function what it needs to authenticate to the backend. */
  grantAccess(fn: lambda.IFunction): void;
}

/** IAM authentication to ElastiCache (Redis OSS 7+, TLS, replication group or serverless). */
export interface ElastiCacheIamAuth {
  /** ElastiCache user id (equal to the user name for IAM-enabled users). */
  readonly userId: string;
  /** Replication group id the token is signed for; `elasticache:Connect` is granted on it. */
  readonly replicationGroupId: string;
}

export interface ElastiCacheBackendProps {
  /** Primary endpoint, or the configuration endpoint in cluster mode. No scheme, no port. */
  readonly host: string;
  /**
   * @default 6379
   */
  readonly port?: number;
  /**
   * In-transit encryption is enabled on the cluster.
   * @default true
   */
  readonly tls?: boolean;
  /**
   * Cluster mode enabled (`host` is the configuration endpoint).
   * @default false
   */
  readonly clusterMode?: boolean;
  /**
   * Secret holding the AUTH token, as a plain string or JSON `{password, username?}`.
   * @default - no AUTH token
   */
  readonly authTokenSecret?: IReadableSecret;
  /**
   * IAM authentication instead of an AUTH token.
   * @default - no IAM authentication
   */
  readonly iamAuth?: ElastiCacheIamAuth;
  /** Subnets and security groups from which the cluster accepts connections. */
  readonly vpcPlacement: VpcPlacement;
}

/** The existing ElastiCache cluster, reached over TCP from inside its VPC. */
export class ElastiCacheBackend implements IRateLimitBackend {
  public readonly kind = 'elasticache' as const;
  public readonly environment: Readonly<Record<string, string>>;
  public readonly vpcPlacement: VpcPlacement;
  private readonly authTokenSecret?: IReadableSecret;
  private readonly iamAuth?: ElastiCacheIamAuth;

  constructor(props: ElastiCacheBackendProps) {
    const port = props.port ?? 6379;
    const tls = props.tls ?? true;
    const clusterMode = props.clusterMode ?? false;
    validateHost(props.host);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`ElastiCacheBackend: port must be an integer between 1 and 65535, got ${port}`);
    }
    if (props.authTokenSecret && props.iamAuth) {
      throw new Error('ElastiCacheBackend: choose one of authTokenSecret or iamAuth, not both');
    }
    // ElastiCache only accepts AUTH tokens and IAM tokens over TLS; without it
    // every connection would fail at runtime, so refuse the combination here.
    if ((props.authTokenSecret || props.iamAuth) && !tls) {
      throw new Error('ElastiCacheBackend: AUTH tokens and IAM authentication require in-transit encryption (tls: true)');
    }
    if (props.host.startsWith('clustercfg.') && !clusterMode) {
      throw new Error(
        `ElastiCacheBackend: ${props.host} is a configuration endpoint, which needs a cluster-mode client; set clusterMode: true`,
      );
    }
    if (props.iamAuth) {
      if (!/^[a-zA-Z][a-zA-Z0-9-]{0,39}$/.test(props.iamAuth.userId)) {
        throw new Error(`ElastiCacheBackend: iamAuth.userId "${props.iamAuth.userId}" is not a valid ElastiCache user id`);
      }
      if (!/^[a-zA-Z][a-zA-Z0-9-]{0,39}$/.test(props.iamAuth.replicationGroupId)) {
        throw new Error(
          `ElastiCacheBackend: iamAuth.replicationGroupId "${props.iamAuth.replicationGroupId}" is not a valid replication group id`,
        );
      }
    }
    if (props.vpcPlacement.securityGroups.length === 0) {
      throw new Error('ElastiCacheBackend: vpcPlacement needs at least one security group that the cluster accepts');
    }

    this.vpcPlacement = props.vpcPlacement;
    this.authTokenSecret = props.authTokenSecret;
    this.iamAuth = props.iamAuth;

    const environment: Record<string, string> = {
      [ENV.backend]: 'elasticache',
      [ENV.elastiCacheHost]: props.host,
      [ENV.elastiCachePort]: String(port),
      [ENV.elastiCacheTls]: String(tls),
      [ENV.elastiCacheCluster]: String(clusterMode),
    };
    if (props.authTokenSecret) environment[ENV.elastiCacheAuthSecretArn] = props.authTokenSecret.secretArn;
    if (props.iamAuth) environment[ENV.elastiCacheIamUser] = props.iamAuth.userId;
    this.environment = environment;
  }

  public grantAccess(fn: lambda.IFunction): void {
    this.authTokenSecret?.grantRead(fn);
    if (this.iamAuth) {
      // The token is a SigV4 presigned request for elasticache:Connect; IAM
      // evaluates it against both the cache and the user resource.
      const stack = Stack.of(fn);
      const arn = (resource: string, resourceName: string): string =>
        stack.formatArn({ service: 'elasticache', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ElastiCacheIamAuthConnect',
          actions: ['elasticache:Connect'],
          resources: [arn('replicationgroup', this.iamAuth.replicationGroupId.toLowerCase()), arn('user', this.iamAuth.userId)],
        }),
      );
    }
  }
}

export interface UpstashBackendProps {
  /** Secret whose SecretString is JSON `{"url": "...", "token": "..."}`. */
  readonly credentialsSecret: IReadableSecret;
}

/** Upstash Redis over its REST API (HTTPS), reachable without a VPC. */
export class UpstashBackend implements IRateLimitBackend {
  public readonly kind = 'upstash' as const;
  public readonly environment: Readonly<Record<string, string>>;
  public readonly vpcPlacement = undefined;
  private readonly credentialsSecret: IReadableSecret;

  constructor(props: UpstashBackendProps) {
    this.credentialsSecret = props.credentialsSecret;
    // Only the ARN travels in the environment; the URL and token are read at
    // runtime so they never appear in the template or the function configuration.
    this.environment = {
      [ENV.backend]: 'upstash',
      [ENV.upstashSecretArn]: props.credentialsSecret.secretArn,
    };
  }

  public grantAccess(fn: lambda.IFunction): void {
    this.credentialsSecret.grantRead(fn);
  }
}

function validateHost(host: string): void {
  if (host.length === 0 || /[:/\s]/.test(host)) {
    throw new Error(`ElastiCacheBackend: host must be a bare DNS name (no scheme, port or path), got "${host}"`);
  }
}
