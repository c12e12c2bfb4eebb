import { Match, type Template } from 'aws-cdk-lib/assertions';
import { PRODUCTION as CONFIG } from '../../lib/config';
import { synthRateLimitApp } from '../support/cdk-app';
import { ROUTE_LIST } from '../../lambda/contract';
import { PROBLEM_TYPE } from '../../lambda/shared/http';
import { GATEWAY_PROBLEM_TYPE } from '../../lib/constructs/gateway-responses';
import { resourcesOfType } from '../support/cdk-template';

const synthesized = synthRateLimitApp(CONFIG);
const API_NAMES = { ElastiCache: 'creator-rate-limit-elasticache-production', Upstash: 'creator-rate-limit-upstash-production' };
const SERVICE_NAMES = { ElastiCache: 'creator-rate-limit-elasticache', Upstash: 'creator-rate-limit-upstash' };

function alarms(template: Template): Array<Record<string, any>> {
  return Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties ?? {});
}

/** The metric-math alarm whose name ends in `suffix`. */
function alarmNamed(template: Template, suffix: string): Record<string, any> {
  const found = alarms(template).filter((alarm) => String(alarm.AlarmName).endsWith(`-${suffix}`));
  expect(found).toHaveLength(1);
  return found[0];
}

describe.each([
  ['ElastiCache', synthesized.elastiCache],
  ['Upstash', synthesized.upstash],
] as const)('%s stack: API and monitoring', (variant, template: Template) => {
  const apiName = API_NAMES[variant];
  const service = SERVICE_NAMES[variant];
  describe('API Gateway', () => {
    test('is a regional REST API with its own name and no account-level CloudWatch role', () => {
      template.hasResourceProperties('AWS::ApiGateway::RestApi', {
        Name: apiName,
        EndpointConfiguration: { Types: ['REGIONAL'] },
      });
      template.resourceCountIs('AWS::ApiGateway::Account', 0);
    });

    test('requires IAM authorization on every method', () => {
      const methods = Object.values(resourcesOfType(template, 'AWS::ApiGateway::Method'));
      expect(methods.length).toBeGreaterThanOrEqual(4);
      for (const method of methods) expect(method.Properties?.AuthorizationType).toBe('AWS_IAM');
    });

    test('serves the routes of the contract through Lambda proxy integrations', () => {
      const resources = resourcesOfType(template, 'AWS::ApiGateway::Resource');
      const pathOf = (id: string): string => {
        const resource = resources[id];
        if (!resource) return '';
        const parent = resource.Properties?.ParentId;
        const parentPath = parent && 'Ref' in parent ? pathOf(parent.Ref) : '';
        return `${parentPath}/${resource.Properties?.PathPart}`;
      };
      const routes = Object.values(resourcesOfType(template, 'AWS::ApiGateway::Method'))
        .filter((method) => method.Properties?.Integration.Type === 'AWS_PROXY')
        .map((method) => `${method.Properties?.HttpMethod} ${pathOf(method.Properties?.ResourceId.Ref)}`)
        .sort();
      expect(routes).toEqual(ROUTE_LIST.map((route) => `${route.method} ${route.resource}`).sort());
    });

    test('validates request bodies and parameters on every route', () => {
      const validators = resourcesOfType(template, 'AWS::ApiGateway::RequestValidator');
      const [validatorId] = Object.keys(validators);
      expect(Object.values(validators).map((v) => v.Properties)).toEqual([
        expect.objectContaining({ ValidateRequestBody: true, ValidateRequestParameters: true }),
      ]);
      const proxyMethods = Object.values(resourcesOfType(template, 'AWS::ApiGateway::Method')).filter(
        (method) => method.Properties?.Integration.Type === 'AWS_PROXY',
      );
      for (const method of proxyMethods) {
        expect(method.Properties?.RequestValidatorId).toEqual({ Ref: validatorId });
        if (method.Properties?.HttpMethod === 'POST') {
          expect(method.Properties?.RequestModels).toEqual({ 'application/json': { Ref: expect.stringMatching(/JsonObjectBody/) } });
        } else {
          expect(method.Properties?.RequestParameters).toEqual({
            'method.request.path.creatorId': true,
            'method.request.querystring.tier': false,
          });
        }
      }
      template.hasResourceProperties('AWS::ApiGateway::Model', {
        ContentType: 'application/json',
        Schema: { $schema: 'http://json-schema.org/draft-04/schema#', title: 'JsonObjectBody', type: 'object' },
      });
    });

    test('answers every gateway-generated error with problem+json and a stable type', () => {
      const responses = Object.values(resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse')).map(
        (response) => response.Properties ?? {},
      );
      const byType = new Map(responses.map((response) => [response.ResponseType as string, response]));
      const expected: Array<[string, string | undefined, string]> = [
        ['THROTTLED', '429', GATEWAY_PROBLEM_TYPE.throttled],
        ['QUOTA_EXCEEDED', '429', GATEWAY_PROBLEM_TYPE.throttled],
        ['MISSING_AUTHENTICATION_TOKEN', '403', GATEWAY_PROBLEM_TYPE.forbidden],
        ['INVALID_SIGNATURE', '403', GATEWAY_PROBLEM_TYPE.forbidden],
        ['EXPIRED_TOKEN', '403', GATEWAY_PROBLEM_TYPE.forbidden],
        ['ACCESS_DENIED', '403', GATEWAY_PROBLEM_TYPE.forbidden],
        ['BAD_REQUEST_BODY', '400', PROBLEM_TYPE.invalidRequest],
        ['BAD_REQUEST_PARAMETERS', '400', PROBLEM_TYPE.invalidRequest],
        ['RESOURCE_NOT_FOUND', '404', PROBLEM_TYPE.notFound],
        ['REQUEST_TOO_LARGE', '413', GATEWAY_PROBLEM_TYPE.payloadTooLarge],
        ['INTEGRATION_TIMEOUT', '504', GATEWAY_PROBLEM_TYPE.gatewayTimeout],
        // The defaults keep the status API Gateway chose.
        ['DEFAULT_4XX', undefined, GATEWAY_PROBLEM_TYPE.clientError],
        ['DEFAULT_5XX', undefined, GATEWAY_PROBLEM_TYPE.gatewayError],
      ];
      for (const [responseType, status, problemType] of expected) {
        const response = byType.get(responseType);
        expect({ responseType, status: response?.StatusCode }).toEqual({ responseType, status });
        expect(response?.ResponseParameters['gatewayresponse.header.Content-Type']).toBe("'application/problem+json'");
        // The template must be JSON once API Gateway substitutes its variables.
        const body = (response?.ResponseTemplates['application/json'] as string)
          .replace('$context.error.messageString', '"Forbidden"')
          .replace(/\$context\.[a-zA-Z.]+/g, 'x');
        expect(JSON.parse(body)).toMatchObject({ type: problemType, ...(status ? { status: Number(status) } : {}) });
      }
    });

    test('throttling answers 429 with Retry-After and a type distinct from a quota denial', () => {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: 'THROTTLED',
        StatusCode: '429',
        ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Retry-After': "'1'" }),
      });
      expect(GATEWAY_PROBLEM_TYPE.throttled).not.toBe(PROBLEM_TYPE.quotaExceeded);
    });

    test('answers signed requests to unknown routes with 404 from a mock integration', () => {
      const mocks = Object.values(resourcesOfType(template, 'AWS::ApiGateway::Method')).filter(
        (method) => method.Properties?.Integration.Type === 'MOCK',
      );
      expect(mocks).toHaveLength(2);
      for (const mock of mocks) {
        expect(mock.Properties?.HttpMethod).toBe('ANY');
        expect(mock.Properties?.Integration.IntegrationResponses).toEqual([expect.objectContaining({ StatusCode: '404' })]);
      }
    });

    test('throttles the stage, and the administrative reset route more strictly', () => {
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        StageName: 'prod',
        TracingEnabled: true,
        MethodSettings: Match.arrayWith([
          Match.objectLike({
            HttpMethod: '*',
            ResourcePath: '/*',
            ThrottlingRateLimit: 500,
            ThrottlingBurstLimit: 1000,
            DataTraceEnabled: false,
          }),
          Match.objectLike({ HttpMethod: 'POST', ResourcePath: '/~1v1~1reset', ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 }),
        ]),
      });
    });

    test('writes JSON access logs to a log group with retention', () => {
      const stage = Object.values(resourcesOfType(template, 'AWS::ApiGateway::Stage'))[0];
      const settings = stage.Properties?.AccessLogSetting as { DestinationArn: unknown; Format: string };
      const format = JSON.parse(settings.Format) as Record<string, string>;
      expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', userArn: '$context.identity.userArn' });
      // Every value is quoted, so "-" placeholders keep each line valid JSON.
      for (const value of Object.values(format)) expect(typeof value).toBe('string');
      expect(settings.DestinationArn).toEqual({
        'Fn::Join': ['', [`arn:aws:logs:us-east-1:${CONFIG.account}:log-group:`, { Ref: expect.stringMatching(/AccessLogs/) }]],
      });
      const logGroupId = (settings.DestinationArn as { 'Fn::Join': [string, [string, { Ref: string }]] })['Fn::Join'][1][1].Ref;
      expect(resourcesOfType(template, 'AWS::Logs::LogGroup')[logGroupId].Properties?.RetentionInDays).toBe(90);
    });

    test('in production, denies the administrative routes to every principal but the named admins', () => {
      const adminRoutes = ROUTE_LIST.filter((route) => route.administrative);
      expect(adminRoutes.map((route) => route.name)).toContain('reset');
      template.hasResourceProperties('AWS::ApiGateway::RestApi', {
        Policy: {
          Statement: [
            Match.objectLike({
              Effect: 'Deny',
              Action: 'execute-api:Invoke',
              Resource: adminRoutes.length === 1 ? `execute-api:/*/POST/v1/reset` : Match.arrayWith(['execute-api:/*/POST/v1/reset']),
              Condition: { ArnNotLike: { 'aws:PrincipalArn': [...(CONFIG.api.adminPrincipalArns ?? [])] } },
            }),
          ],
        },
      });
    });

    test('invokes the live alias of each function, never $LATEST', () => {
      const proxyMethods = Object.values(resourcesOfType(template, 'AWS::ApiGateway::Method')).filter(
        (method) => method.Properties?.Integration.Type === 'AWS_PROXY',
      );
      for (const method of proxyMethods) {
        expect(JSON.stringify(method.Properties?.Integration.Uri)).toMatch(/LiveAlias/);
      }
    });
  });

  describe('monitoring', () => {
    test('names every alarm and the dashboard after the environment and variant', () => {
      for (const alarm of alarms(template)) expect(alarm.AlarmName).toMatch(new RegExp(`^${apiName}-[A-Za-z0-9]+$`));
      template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: apiName });
    });

    test.each(['Check', 'Settle', 'Status', 'Reset'])(
      '%s: error and throttle rates need 20 invocations a minute and 3 bad minutes of 5',
      (fn) => {
        for (const kind of ['ErrorRate', 'ThrottleRate']) {
          const alarm = alarmNamed(template, `${fn}${kind}`);
          expect(alarm).toMatchObject({ EvaluationPeriods: 5, DatapointsToAlarm: 3, Threshold: 1, TreatMissingData: 'notBreaching' });
          const expression = alarm.Metrics.find((metric: { Expression?: string }) => metric.Expression).Expression as string;
          expect(expression).toMatch(/^IF\(\(.+\) >= 20, 100 \* \(.+\) \/ \(.+\), 0\)$/);
          // The rate is measured on the live alias, the versions CodeDeploy shifts between.
          const dimensions = alarm.Metrics.filter((metric: any) => metric.MetricStat).map(
            (metric: any) => metric.MetricStat.Metric.Dimensions,
          );
          for (const dims of dimensions) expect(dims.map((d: { Name: string }) => d.Name).sort()).toEqual(['FunctionName', 'Resource']);
        }
      },
    );

    test('p99 durations open tickets and ignore minutes with too few samples', () => {
      const p99 = alarms(template).filter((alarm) => alarm.MetricName === 'Duration' && alarm.ExtendedStatistic === 'p99');
      expect(p99).toHaveLength(ROUTE_LIST.length);
      for (const alarm of p99) {
        expect(alarm).toMatchObject({
          Threshold: 1000,
          EvaluateLowSampleCountPercentile: 'ignore',
          AlarmActions: [{ Ref: expect.stringMatching(/TicketTopic/) }],
        });
      }
    });

    test('the API 5XX rate and the 4XX spike (quota denials excluded) page', () => {
      const fiveXx = alarmNamed(template, 'Api5xxRate');
      expect(fiveXx.AlarmActions).toEqual([{ Ref: expect.stringMatching(/PageTopic/) }]);
      const fourXx = alarmNamed(template, 'Api4xxSpike');
      const expression = fourXx.Metrics.find((metric: { Expression?: string }) => metric.Expression).Expression as string;
      expect(expression).toContain('>= 50');
      expect(expression).toContain('FILL(clientErrors, 0) - FILL(denied, 0)');
      const denied = fourXx.Metrics.find((metric: { Id: string }) => metric.Id === 'denied').MetricStat.Metric;
      expect(denied).toEqual({
        Namespace: 'CreatorRateLimit/production',
        MetricName: 'Denied',
        Dimensions: [{ Name: 'service', Value: service }],
      });
      const clientErrors = fourXx.Metrics.find((metric: { Id: string }) => metric.Id === 'clientErrors').MetricStat.Metric;
      expect(clientErrors.Dimensions).toEqual([
        { Name: 'ApiName', Value: apiName },
        { Name: 'Stage', Value: CONFIG.api.stageName },
      ]);
      expect(fourXx.AlarmActions).toEqual([{ Ref: expect.stringMatching(/PageTopic/) }]);
    });

    test.each([
      ['Unavailable', 'PageTopic'],
      ['Degraded', 'PageTopic'],
    ])("%s is a rate of requests, in this variant's own service dimension, that pages", (metricName, topic) => {
      const alarm = alarmNamed(template, metricName);
      const custom = alarm.Metrics.find((metric: any) => metric.MetricStat?.Metric.MetricName === metricName).MetricStat.Metric;
      expect(custom).toEqual({
        Namespace: 'CreatorRateLimit/production',
        MetricName: metricName,
        Dimensions: [{ Name: 'service', Value: service }],
      });
      expect(alarm.AlarmActions).toEqual([{ Ref: expect.stringMatching(topic) }]);
    });

    test('anomalies open a ticket: a business signal, not a page', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'CreatorRateLimit/production',
        MetricName: 'Anomaly',
        Dimensions: [{ Name: 'service', Value: service }],
        AlarmActions: [{ Ref: Match.stringLikeRegexp('TicketTopic') }],
      });
    });

    test('every alarm notifies exactly one of the two encrypted topics, on alarm and on recovery', () => {
      const topics = Object.keys(resourcesOfType(template, 'AWS::SNS::Topic'));
      expect(topics).toHaveLength(2);
      for (const alarm of alarms(template)) {
        expect(alarm.AlarmActions).toHaveLength(1);
        expect(topics).toContain(alarm.AlarmActions[0].Ref);
        expect(alarm.OKActions).toEqual(alarm.AlarmActions);
        expect(alarm.AlarmDescription).toMatch(/^\[(page|ticket)\] /);
      }
      template.resourceCountIs('AWS::KMS::Key', 1);
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: CONFIG.alarms.pageEmail,
        TopicArn: { Ref: Match.stringLikeRegexp('PageTopic') },
      });
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: CONFIG.alarms.ticketEmail,
        TopicArn: { Ref: Match.stringLikeRegexp('TicketTopic') },
      });
    });

    test('lets only CloudWatch from this account publish through the key and topics', () => {
      const condition = { StringEquals: { 'aws:SourceAccount': CONFIG.account } };
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              Condition: condition,
            }),
          ]),
        },
      });
      template.resourcePropertiesCountIs(
        'AWS::SNS::TopicPolicy',
        {
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
              Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Condition: condition }),
            ]),
          },
        },
        2,
      );
    });

    test('publishes a dashboard with the decision metrics, broken down by tier', () => {
      const dashboards = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Dashboard'));
      expect(dashboards).toHaveLength(1);
      const body = JSON.stringify(dashboards[0].Properties?.DashboardBody);
      for (const metricName of ['Allowed', 'Denied', 'Degraded', 'Unavailable', 'Anomaly', 'BackendLatency']) {
        expect(body).toContain(`\\"${metricName}\\"`);
      }
      for (const tier of ['starter', 'pro', 'business']) {
        expect(body).toContain(`\\"service\\",\\"${service}\\",\\"tier\\",\\"${tier}\\"`);
      }
    });
  });

  describe('safe deployments', () => {
    test('every function is published as a version behind a live alias', () => {
      template.resourceCountIs('AWS::Lambda::Alias', ROUTE_LIST.length);
      template.resourceCountIs('AWS::Lambda::Version', ROUTE_LIST.length);
      template.resourcePropertiesCountIs('AWS::Lambda::Alias', { Name: 'live' }, ROUTE_LIST.length);
    });

    test('keeps provisioned environments on the check alias only', () => {
      const aliases = Object.entries(resourcesOfType(template, 'AWS::Lambda::Alias'));
      for (const [id, alias] of aliases) {
        const expected = id.includes('Check')
          ? { ProvisionedConcurrentExecutions: CONFIG.functions.checkProvisionedConcurrency }
          : undefined;
        expect(alias.Properties?.ProvisionedConcurrencyConfig).toEqual(expected);
      }
    });

    test('CodeDeploy shifts traffic with a canary and rolls back on the error and Unavailable alarms', () => {
      const groups = Object.values(resourcesOfType(template, 'AWS::CodeDeploy::DeploymentGroup'));
      expect(groups).toHaveLength(ROUTE_LIST.length);
      for (const group of groups) {
        expect(group.Properties?.DeploymentConfigName).toBe('CodeDeployDefault.LambdaCanary10Percent10Minutes');
        expect(group.Properties?.AutoRollbackConfiguration).toEqual({
          Enabled: true,
          Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', 'DEPLOYMENT_STOP_ON_ALARM'],
        });
        const names = JSON.stringify(group.Properties?.AlarmConfiguration.Alarms);
        expect(names).toMatch(/ErrorRate/);
        expect(names).toMatch(/Unavailable/);
      }
      const aliases = Object.values(template.findResources('AWS::Lambda::Alias')) as Array<{ UpdatePolicy?: Record<string, any> }>;
      for (const alias of aliases) expect(alias.UpdatePolicy?.CodeDeployLambdaAliasUpdate).toBeDefined();
    });
  });

  test('outputs the API URL and the function names', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'ApiUrl',
        'CheckFunctionName',
        'DashboardName',
        'GetOverrideFunctionName',
        'PageTopicArn',
        'RemoveOverrideFunctionName',
        'ResetFunctionName',
        'SetOverrideFunctionName',
        'SettleFunctionName',
        'StatusFunctionName',
        'TicketTopicArn',
      ].sort(),
    );
    template.hasOutput('CheckFunctionName', { Value: { Ref: Match.stringLikeRegexp('FunctionsCheckFunction') } });
    template.hasOutput('ApiUrl', { Value: { 'Fn::Join': ['', Match.arrayWith(['https://', '/'])] } });
  });
});
