import { Match, type Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_DEPLOYMENT_CONFIG as CONFIG } from '../../lib/config';
import { synthRateLimitApp } from '../support/cdk-app';
import { resourcesOfType } from '../support/cdk-template';

const synthesized = synthRateLimitApp();

describe.each([
  ['ElastiCache', synthesized.elastiCache, 'creator-rate-limit-elasticache'],
  ['Upstash', synthesized.upstash, 'creator-rate-limit-upstash'],
])('%s stack: API and monitoring', (_name: string, template: Template, apiName: string) => {
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

    test('serves the four routes of DESIGN.md section 5 through Lambda proxy integrations', () => {
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
      expect(routes).toEqual(['GET /v1/status/{creatorId}', 'POST /v1/check', 'POST /v1/reset', 'POST /v1/settle']);
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

    test('answers gateway-side validation failures with problem+json 400s', () => {
      for (const responseType of ['BAD_REQUEST_BODY', 'BAD_REQUEST_PARAMETERS']) {
        template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
          ResponseType: responseType,
          StatusCode: '400',
          ResponseParameters: { 'gatewayresponse.header.Content-Type': "'application/problem+json'" },
          ResponseTemplates: { 'application/json': Match.serializedJson(Match.objectLike({ status: 400, 'invalid-params': Match.anyValue() })) },
        });
      }
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
          Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000, DataTraceEnabled: false }),
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

    test('has no resource policy unless reset callers are restricted', () => {
      template.hasResourceProperties('AWS::ApiGateway::RestApi', { Policy: Match.absent() });
    });
  });

  describe('monitoring', () => {
    test.each(['Errors', 'Throttles'])('alarms on %s of each function', (metricName) => {
      const alarms = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).filter(
        (alarm) => alarm.Properties?.Namespace === 'AWS/Lambda' && alarm.Properties?.MetricName === metricName,
      );
      expect(alarms).toHaveLength(4);
    });

    test('alarms on p99 duration of each function', () => {
      const alarms = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).filter(
        (alarm) => alarm.Properties?.MetricName === 'Duration' && alarm.Properties?.ExtendedStatistic === 'p99',
      );
      expect(alarms).toHaveLength(4);
      for (const alarm of alarms) expect(alarm.Properties?.Threshold).toBe(1000);
    });

    test('alarms on the API 5xx rate and p99 latency', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/ApiGateway',
        MetricName: '5XXError',
        Statistic: 'Average',
        Threshold: 0.01,
        Dimensions: Match.arrayWith([{ Name: 'ApiName', Value: apiName }, { Name: 'Stage', Value: Match.anyValue() }]),
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/ApiGateway',
        MetricName: 'Latency',
        ExtendedStatistic: 'p99',
        Threshold: 1500,
      });
    });

    test.each(['Degraded', 'Unavailable', 'Anomaly'])(
      'alarms on %s over every data point of the service (dimension set {service})',
      (metricName) => {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'CreatorRateLimit',
          MetricName: metricName,
          Dimensions: [{ Name: 'service', Value: 'creator-rate-limit' }],
          Statistic: 'Sum',
          Period: 300,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        });
      },
    );

    test('sends every alarm, and its recovery, to one encrypted topic', () => {
      const [topicId] = Object.keys(resourcesOfType(template, 'AWS::SNS::Topic'));
      for (const alarm of Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm'))) {
        expect(alarm.Properties?.AlarmActions).toEqual([{ Ref: topicId }]);
        expect(alarm.Properties?.OKActions).toEqual([{ Ref: topicId }]);
      }
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('AlarmTopicKey'), 'Arn'] } });
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: CONFIG.alarmEmail });
    });

    test('lets only CloudWatch from this account publish through the key and topic', () => {
      const condition = { StringEquals: { 'aws:SourceAccount': CONFIG.account } };
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Condition: condition }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Condition: condition }),
          ]),
        },
      });
    });

    test('publishes a dashboard with the decision metrics, broken down by tier', () => {
      const dashboards = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Dashboard'));
      expect(dashboards).toHaveLength(1);
      const body = JSON.stringify(dashboards[0].Properties?.DashboardBody);
      for (const metricName of ['Allowed', 'Denied', 'Degraded', 'Unavailable', 'Anomaly', 'BackendLatency']) {
        expect(body).toContain(`\\"${metricName}\\"`);
      }
      for (const tier of ['starter', 'pro', 'business']) {
        expect(body).toContain(`\\"service\\",\\"creator-rate-limit\\",\\"tier\\",\\"${tier}\\"`);
      }
    });
  });

  test('outputs the API URL and the function names', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(
      ['AlarmTopicArn', 'ApiUrl', 'CheckFunctionName', 'DashboardName', 'ResetFunctionName', 'SettleFunctionName', 'StatusFunctionName'].sort(),
    );
    template.hasOutput('CheckFunctionName', { Value: { Ref: Match.stringLikeRegexp('FunctionsCheckFunction') } });
    template.hasOutput('ApiUrl', { Value: { 'Fn::Join': ['', Match.arrayWith(['https://', '/'])] } });
  });
});
