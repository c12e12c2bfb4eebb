import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** Traffic-shifting strategies, by the names the environment configuration uses. */
export const TRAFFIC_SHIFT_CONFIGS = {
  'canary-10-percent-5-minutes': codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
  'canary-10-percent-10-minutes': codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_10MINUTES,
  'canary-10-percent-30-minutes': codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_30MINUTES,
  'linear-10-percent-every-1-minute': codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTE,
  'linear-10-percent-every-3-minutes': codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_3MINUTES,
  'all-at-once': codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
} as const;

export type TrafficShift = keyof typeof TRAFFIC_SHIFT_CONFIGS;

export interface SafeDeploymentProps {
  /** The `live` alias of each function, by name. */
  readonly aliases: Readonly<Record<string, lambda.Alias>>;
  /** Alarms that stop and roll back the deployment of each function. */
  readonly rollbackAlarms: Readonly<Record<string, readonly cloudwatch.IAlarm[]>>;
  readonly trafficShift: TrafficShift;
}

/**
 * One CodeDeploy deployment group per function: when a deploy publishes a new version, CodeDeploy
 * shifts the `live` alias to it step by step and rolls back automatically if any of the function's
 * alarms fires meanwhile (or the deployment fails or is stopped).
 */
export class SafeDeployment extends Construct {
  public readonly application: codedeploy.LambdaApplication;
  public readonly deploymentGroups: Readonly<Record<string, codedeploy.LambdaDeploymentGroup>>;

  constructor(scope: Construct, id: string, props: SafeDeploymentProps) {
    super(scope, id);
    const deploymentConfig = TRAFFIC_SHIFT_CONFIGS[props.trafficShift];
    if (deploymentConfig === undefined) {
      throw new Error(
        `SafeDeployment: unknown trafficShift "${String(props.trafficShift)}" (known: ${Object.keys(TRAFFIC_SHIFT_CONFIGS).join(', ')})`,
      );
    }
    this.application = new codedeploy.LambdaApplication(this, 'Application');
    const groups: Record<string, codedeploy.LambdaDeploymentGroup> = {};
    for (const [name, alias] of Object.entries(props.aliases)) {
      const alarms = props.rollbackAlarms[name];
      if (alarms === undefined || alarms.length === 0) {
        throw new Error(`SafeDeployment: function "${name}" has no rollback alarm; a canary nobody watches is only a slower deploy`);
      }
      const group = new codedeploy.LambdaDeploymentGroup(this, `${name.charAt(0).toUpperCase()}${name.slice(1)}`, {
        application: this.application,
        alias,
        deploymentConfig,
        alarms: [...alarms],
        autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
      });
      Validations.of(group.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]',
        reason:
          "CodeDeploy's own minimal policy for Lambda deployments (read alarms, move the alias, publish to its SNS triggers); CDK attaches it to the deployment group's service role and AWS keeps it current.",
      });
      groups[name] = group;
    }
    this.deploymentGroups = groups;
  }
}
