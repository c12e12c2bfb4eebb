import * as path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ALIAS_ARGUMENTS, FUNCTION_BUNDLING } from './function-bundling';
import type { VpcPlacement } from './rate-limit-backend';

/** Repository root: the lock file and the esbuild install live here. */
const PROJECT_ROOT = path.join(__dirname, '..', '..');

/**
 * Node.js 24 is pinned rather than NODEJS_LATEST so that an aws-cdk-lib upgrade
 * never changes the runtime (and the snapshots) silently. It is the newest
 * Lambda Node runtime, with the longest support window, and cdk-nag's
 * AwsSolutions-L1 accepts it.
 */
export const RATE_LIMIT_RUNTIME = lambda.Runtime.NODEJS_24_X;

export interface RateLimitFunctionProps {
  /** Absolute path of the handler entry file; it must export `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Environment variables. Only non-secret values and secret ARNs belong here. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Keep well under the 29 s API Gateway integration timeout: the handlers'
   * own backend deadline is a few hundred milliseconds.
   * @default Duration.seconds(5)
   */
  readonly timeout?: Duration;
  /**
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Caps concurrent executions, and with one Redis client per execution
   * environment, the connections this function can open.
   * @default - no reservation (shares the account's unreserved pool)
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * @default lambda.ApplicationLogLevel.INFO
   */
  readonly applicationLogLevel?: lambda.ApplicationLogLevel;
  /**
   * Runs the function in these subnets with these security groups.
   * @default - not attached to a VPC
   */
  readonly vpcPlacement?: VpcPlacement;
  /**
   * Execution environments kept initialised on the `live` alias (counted against the reserved
   * concurrency). Hides cold starts, which a VPC function pays in full on its first request.
   * @default 0 (none)
   */
  readonly provisionedConcurrency?: number;
}

/** The alias API Gateway invokes and CodeDeploy moves from version to version. */
export const LIVE_ALIAS_NAME = 'live';

/**
 * One Lambda function of the rate-limit API with the project's defaults:
 * pinned runtime on arm64, local esbuild bundling (no Docker), an explicit log
 * group with retention, JSON logs, X-Ray tracing, and a dedicated role whose
 * permissions are scoped to this function's own log group.
 */
export class RateLimitFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  /**
   * The `live` alias: API Gateway invokes it, never `$LATEST`, so a new version only receives
   * traffic as CodeDeploy shifts it.
   */
  public readonly alias: lambda.Alias;

  constructor(scope: Construct, id: string, props: RateLimitFunctionProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.seconds(5);
    const memorySize = props.memorySize ?? 256;
    validate(props, timeout, memorySize);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    // A dedicated role instead of the AWS managed AWSLambdaBasicExecutionRole
    // (logs:* on every log group) and AWSLambdaVPCAccessExecutionRole: CDK only
    // attaches those when it creates the role itself.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.description}`,
    });
    this.logGroup.grantWrite(this.role);

    const vpcPolicy = props.vpcPlacement ? this.attachVpcPolicy(props.vpcPlacement) : undefined;

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: RATE_LIMIT_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      // Powertools Logger follows AWS_LAMBDA_LOG_LEVEL, which this sets.
      applicationLogLevelV2: props.applicationLogLevel ?? lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        ...props.environment,
        // Stack traces point at the TypeScript sources through the bundled source map.
        NODE_OPTIONS: '--enable-source-maps',
      },
      vpc: props.vpcPlacement?.vpc,
      vpcSubnets: props.vpcPlacement?.subnets,
      securityGroups: props.vpcPlacement ? [...props.vpcPlacement.securityGroups] : undefined,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      projectRoot: PROJECT_ROOT,
      bundling: {
        // esbuild from devDependencies runs locally; Docker is never needed
        // (a missing esbuild would fall back to Docker, so fail loudly instead).
        forceDockerBundling: false,
        format: nodejs.OutputFormat.CJS,
        target: FUNCTION_BUNDLING.target,
        minify: FUNCTION_BUNDLING.minify,
        keepNames: FUNCTION_BUNDLING.keepNames,
        sourceMap: true,
        // Line mappings are enough for stack traces; embedding the sources
        // would roughly double the asset.
        sourcesContent: false,
        // Everything not listed in FUNCTION_BUNDLING.external (ioredis, @upstash/redis,
        // Powertools) is bundled, so the deployed code matches package-lock.json.
        externalModules: [...FUNCTION_BUNDLING.external],
        esbuildArgs: { '--alias': [...ALIAS_ARGUMENTS] },
      },
    });
    // Each deploy publishes a version (its logical id hashes the configuration and the code); the
    // old versions are retained, so a rollback has something to roll back to.
    this.alias = new lambda.Alias(this, 'LiveAlias', {
      aliasName: LIVE_ALIAS_NAME,
      version: this.function.currentVersion,
      provisionedConcurrentExecutions: props.provisionedConcurrency || undefined,
    });

    if (vpcPolicy) {
      // Lambda checks the ENI permissions when the function is created.
      this.function.node.addDependency(vpcPolicy);
    }

    // X-Ray's PutTraceSegments/PutTelemetryRecords, added by `tracing`, have
    // no resource-level permissions. Everything else in this policy is scoped.
    Validations.of(this.role.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the X-Ray actions xray:PutTraceSegments and xray:PutTelemetryRecords use "*": X-Ray does not support resource-level permissions for them.',
    });
    // Lambda's dead-letter queue applies to asynchronous invocations only;
    // these functions are invoked synchronously by API Gateway, which gets the error.
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Invoked synchronously by API Gateway only; errors go back to the caller, so a dead-letter queue would never receive anything.',
    });
  }

  /**
   * The ENI permissions Lambda needs to attach the function to the VPC, as a
   * separate policy so its wildcard is acknowledged on its own.
   */
  private attachVpcPolicy(placement: VpcPlacement): iam.Policy {
    const policy = new iam.Policy(this, 'VpcAccessPolicy', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      ],
    });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'The EC2 network-interface actions Lambda needs to attach a function to a VPC (the same set as the AWS managed AWSLambdaVPCAccessExecutionRole) do not support resource-level permissions for Describe*, and Lambda requires them on "*".',
    });
    // On stack deletion, Lambda releases the function's ENIs with this role's
    // permissions, which can take many minutes. Making the security groups depend
    // on the policy keeps the policy until the groups (and so the ENIs) are gone.
    for (const securityGroup of placement.securityGroups) {
      securityGroup.node.addDependency(policy);
    }
    return policy;
  }
}

function validate(props: RateLimitFunctionProps, timeout: Duration, memorySize: number): void {
  const seconds = timeout.toSeconds();
  if (seconds < 1 || seconds > 28) {
    throw new Error(`RateLimitFunction: timeout must be 1-28 s (below the 29 s API Gateway integration timeout), got ${seconds} s`);
  }
  if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240) {
    throw new Error(`RateLimitFunction: memorySize must be an integer between 128 and 10240 MB, got ${memorySize}`);
  }
  const reserved = props.reservedConcurrentExecutions;
  if (reserved !== undefined && (!Number.isInteger(reserved) || reserved < 1)) {
    throw new Error(`RateLimitFunction: reservedConcurrentExecutions must be an integer >= 1, got ${reserved}`);
  }
  const provisioned = props.provisionedConcurrency ?? 0;
  if (!Number.isInteger(provisioned) || provisioned < 0 || (reserved !== undefined && provisioned > reserved)) {
    throw new Error(
      `RateLimitFunction: provisionedConcurrency must be an integer from 0 to the reserved concurrency (${reserved ?? 'unreserved'}), got ${provisioned}`,
    );
  }
  for (const [name, value] of Object.entries(props.environment)) {
    if (/(PASSWORD|TOKEN|SECRET)$/.test(name) && !/^arn:/.test(value)) {
      // Secrets travel by ARN; a value here would land in the template in plain text.
      throw new Error(`RateLimitFunction: environment variable ${name} looks like a secret; pass a Secrets Manager ARN instead`);
    }
  }
}
