import { CfnOutput, type Stack } from 'aws-cdk-lib';
import type { RateLimitService } from '../constructs/rate-limit-service';
import { RATE_LIMIT_ROUTES } from '../constructs/routes';

/** Stack outputs platform engineers and callers need after a deploy. */
export function addServiceOutputs(stack: Stack, service: RateLimitService): void {
  new CfnOutput(stack, 'ApiUrl', {
    description: 'Base URL of the rate-limit API (append v1/check, ...); requests must be SigV4-signed',
    value: service.api.api.url,
  });
  for (const route of RATE_LIMIT_ROUTES) {
    const id = route.name.charAt(0).toUpperCase() + route.name.slice(1);
    new CfnOutput(stack, `${id}FunctionName`, {
      description: `Lambda function serving ${route.method} /${route.pathParts.join('/')}`,
      value: service.functions.functions[route.name].function.functionName,
    });
  }
  new CfnOutput(stack, 'AlarmTopicArn', {
    description: 'SNS topic that receives every alarm of this stack',
    value: service.monitoring.alarmTopic.topicArn,
  });
  new CfnOutput(stack, 'DashboardName', {
    description: 'CloudWatch dashboard with the decision metrics',
    value: service.monitoring.dashboard.dashboardName,
  });
}
