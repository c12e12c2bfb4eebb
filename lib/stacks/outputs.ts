import { CfnOutput, type Stack } from 'aws-cdk-lib';
import type { RateLimitService } from '../constructs/rate-limit-service';
import { ROUTE_LIST } from '../../lambda/contract';
import { pascalCase } from '../constructs/rate-limit-functions';

/** Stack outputs platform engineers and callers need after a deploy. */
export function addServiceOutputs(stack: Stack, service: RateLimitService): void {
  new CfnOutput(stack, 'ApiUrl', {
    description: 'Base URL of the rate-limit API (append v1/check, ...); requests must be SigV4-signed',
    value: service.api.api.url,
  });
  for (const route of ROUTE_LIST) {
    const id = pascalCase(route.name);
    new CfnOutput(stack, `${id}FunctionName`, {
      description: `Lambda function serving ${route.method} ${route.resource} (through its live alias)`,
      value: service.functions.functions[route.name].function.functionName,
    });
  }
  new CfnOutput(stack, 'PageTopicArn', {
    description: 'SNS topic of the alarms that need someone now: subscribe the pager',
    value: service.monitoring.pageTopic.topicArn,
  });
  new CfnOutput(stack, 'TicketTopicArn', {
    description: 'SNS topic of the alarms that can wait for working hours (latency, anomalies, evictions)',
    value: service.monitoring.ticketTopic.topicArn,
  });
  new CfnOutput(stack, 'DashboardName', {
    description: 'CloudWatch dashboard with the decision metrics',
    value: service.monitoring.dashboard.dashboardName,
  });
}
