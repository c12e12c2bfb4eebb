import { Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/**
 * The account baseline the service stacks rely on but never create: the API Gateway CloudWatch
 * Logs role of this account and region (`AWS::ApiGateway::Account`). Without it, a stage with
 * access or execution logging fails to deploy and rolls its stack back.
 *
 * It is one setting per account and region, shared by every REST API there: deploy this stack
 * once, and only if `aws apigateway get-account` shows no `cloudwatchRoleArn` (deploying it over
 * another team's role replaces their setting). Deleting the stack leaves the setting in place.
 */
export class ApiGatewayAccountStack extends Stack {
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    this.role = new iam.Role(this, 'CloudWatchLogsRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway writes access and execution logs of every REST API in this account and region with this role',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
    });
    new apigateway.CfnAccount(this, 'Account', { cloudWatchRoleArn: this.role.roleArn });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'The AWS managed policy API Gateway documents for its account-level logging role; API Gateway creates log groups named after API ids it chooses, so the policy cannot be scoped to known log groups.',
    });
  }
}
