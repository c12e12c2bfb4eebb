import { Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ROUTE_LIST, resourceSegments, type RouteContract, type RouteName } from '../../lambda/contract';
import { GATEWAY_PROBLEM_TYPE, addProblemGatewayResponses } from './gateway-responses';

/** Stage-level throttle: steady-state requests per second and burst size. */
export interface ThrottleSettings {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface RateLimitApiProps {
  /** Name of the REST API; also the `ApiName` dimension of its metrics, so keep it unique per account. */
  readonly restApiName: string;
  /** The function (in practice its `live` alias) serving each route. */
  readonly functions: Readonly<Record<RouteName, lambda.IFunction>>;
  /**
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly throttling?: ThrottleSettings;
  /**
   * Throttle of the administrative routes (POST /v1/reset).
   * @default { rateLimit: 5, burstLimit: 10 }
   */
  readonly administrativeThrottling?: ThrottleSettings;
  /**
   * API Gateway execution logging at ERROR level. Requires the account-level
   * API Gateway CloudWatch Logs role in this account and region; this
   * construct never creates it, because that role is one setting per account
   * and region and another stack may own it.
   * @default false
   */
  readonly executionLogging?: boolean;
  /**
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly accessLogRetention?: logs.RetentionDays;
  /**
   * IAM principal ARNs (wildcards allowed) that may call administrative
   * routes. When set, the API resource policy denies those routes to anyone else,
   * whatever their IAM policies say.
   * @default - administrative routes are governed by callers' IAM policies only
   */
  readonly administrativePrincipalArns?: readonly string[];
}

/**
 * The REST API of the route contract (lambda/contract/routes.ts) in front of the rate-limit
 * functions: IAM (SigV4) authorization on every method, request validation, stage throttling,
 * JSON access logs, X-Ray tracing, and problem+json for every error API Gateway produces itself.
 *
 * The gateway validates only what it can report in the contract's format
 * (`application/problem+json` naming the field): POST bodies must be JSON
 * objects and path parameters must be present. Field-level validation stays in
 * the handlers, identical locally and deployed.
 */
export class RateLimitApi extends Construct {
  public readonly api: apigateway.RestApi;
  public readonly stage: apigateway.Stage;
  /** The stage name as a literal (for metric dimensions that must not reference the stage). */
  public readonly stageName: string;
  public readonly accessLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RateLimitApiProps) {
    super(scope, id);
    const throttling = props.throttling ?? { rateLimit: 500, burstLimit: 1000 };
    const adminThrottling = props.administrativeThrottling ?? { rateLimit: 5, burstLimit: 10 };
    const stageName = props.stageName ?? 'prod';
    validate(props, stageName, throttling, adminThrottling);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.THREE_MONTHS,
    });

    const adminRoutes = ROUTE_LIST.filter((route) => route.administrative);
    const methodOptions: Record<string, apigateway.MethodDeploymentOptions> = {};
    for (const route of adminRoutes) {
      methodOptions[`${route.resource}/${route.method}`] = {
        throttlingRateLimit: adminThrottling.rateLimit,
        throttlingBurstLimit: adminThrottling.burstLimit,
      };
    }

    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: props.restApiName,
      description: 'Per-creator AI rate limiting; SigV4-signed callers only',
      // Callers are services in the same region; an edge-optimized endpoint
      // would only add a CloudFront hop.
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      cloudWatchRole: false,
      policy: administrativePolicy(adminRoutes.map(resourcePathWithMethod), props.administrativePrincipalArns),
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
      deployOptions: {
        stageName,
        throttlingRateLimit: throttling.rateLimit,
        throttlingBurstLimit: throttling.burstLimit,
        methodOptions,
        tracingEnabled: true,
        metricsEnabled: false,
        loggingLevel: props.executionLogging ? apigateway.MethodLoggingLevel.ERROR : apigateway.MethodLoggingLevel.OFF,
        // Request and response bodies carry creator ids; never log them.
        dataTraceEnabled: false,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: accessLogFormat(),
      },
    });
    this.stage = this.api.deploymentStage;
    this.stageName = stageName;
    // RestApi always adds an "Endpoint" output under a hashed name; the stack
    // publishes the same URL as ApiUrl, so drop the duplicate.
    this.api.node.tryRemoveChild('Endpoint');
    if (props.administrativePrincipalArns !== undefined) {
      // API Gateway applies a resource policy only with a new deployment.
      this.api.latestDeployment?.addToLogicalId({ administrativePrincipalArns: props.administrativePrincipalArns });
    }

    this.addRoutes(props.functions);
    addProblemGatewayResponses(this.api);
    this.addUnknownRouteResponse();
    this.acknowledgeFindings(props.executionLogging ?? false);
  }

  private addRoutes(functions: Readonly<Record<RouteName, lambda.IFunction>>): void {
    const validator = this.api.addRequestValidator('RequestValidator', {
      requestValidatorName: 'body-and-parameters',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const jsonObject = this.api.addModel('JsonObjectBody', {
      contentType: 'application/json',
      modelName: 'JsonObjectBody',
      description: 'Any JSON object; fields are validated by the handler',
      schema: { schema: apigateway.JsonSchemaVersion.DRAFT4, title: 'JsonObjectBody', type: apigateway.JsonSchemaType.OBJECT },
    });

    for (const route of ROUTE_LIST) {
      let resource = this.api.root;
      for (const part of resourceSegments(route)) resource = resource.getResource(part) ?? resource.addResource(part);

      // Path parameters are required; the contract's query parameters are declared optional
      // (the handlers reject unknown ones with a 400 naming them).
      const requestParameters: Record<string, boolean> = {};
      for (const part of resourceSegments(route).filter((segment) => segment.startsWith('{'))) {
        requestParameters[`method.request.path.${part.slice(1, -1)}`] = true;
      }
      for (const query of route.queryParameters) requestParameters[`method.request.querystring.${query}`] = false;

      resource.addMethod(
        route.method,
        // allowTestInvoke: false skips the extra Lambda permission for the console's test-invoke stage.
        new apigateway.LambdaIntegration(functions[route.name], { proxy: true, allowTestInvoke: false }),
        {
          operationName: route.name,
          requestValidator: validator,
          requestParameters,
          requestModels: route.jsonBody ? { 'application/json': jsonObject } : undefined,
        },
      );
    }
  }

  /**
   * Signed requests to unknown paths get the contract's 404 from a mock
   * integration (no Lambda invocation) instead of API Gateway's 403
   * "Missing Authentication Token". Unsigned requests still get 403.
   */
  private addUnknownRouteResponse(): void {
    const notFound = new apigateway.MockIntegration({
      requestTemplates: { 'application/json': '{"statusCode": 404}' },
      passthroughBehavior: apigateway.PassthroughBehavior.WHEN_NO_TEMPLATES,
      integrationResponses: [
        {
          statusCode: '404',
          responseParameters: { 'method.response.header.Content-Type': "'application/problem+json'" },
          responseTemplates: {
            'application/json': JSON.stringify({
              type: GATEWAY_PROBLEM_TYPE.notFound,
              title: 'Not Found',
              status: 404,
              detail: 'Unknown route',
            }),
          },
        },
      ],
    });
    const options: apigateway.MethodOptions = {
      operationName: 'unknownRoute',
      methodResponses: [{ statusCode: '404', responseParameters: { 'method.response.header.Content-Type': true } }],
    };
    this.api.root.addMethod('ANY', notFound, options);
    this.api.root.addResource('{proxy+}').addMethod('ANY', notFound, options);
  }

  private acknowledgeFindings(executionLogging: boolean): void {
    // IAM (SigV4) is the authorization: callers are internal services with
    // AWS credentials, not end users with Cognito identities.
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'Every method uses IAM (SigV4) authorization; callers are internal services with AWS credentials, not Cognito users.',
    });
    if (!executionLogging) {
      Validations.of(this.stage).acknowledge({
        id: 'AwsSolutions-APIG6',
        reason: 'Execution logging is off in this environment (api.executionLogging); JSON access logs and X-Ray tracing are on.',
      });
    }
    Validations.of(this.stage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'Regional API reachable only with SigV4-signed requests from internal services; stage throttling bounds abuse. A WAF web ACL can be associated by the platform team if the account mandates one.',
    });
  }
}

/** `POST/v1/reset`; path parameters become `*` so the policy covers every creator. */
function resourcePathWithMethod(route: RouteContract): string {
  return `${route.method}${route.resource.replace(/\{[^}]+\}/g, '*')}`;
}

/**
 * Resource policy that reserves administrative routes for listed principals.
 * With IAM authorization in the same account, an identity policy alone grants
 * access, so the policy only needs the Deny.
 */
function administrativePolicy(
  adminMethodPaths: readonly string[],
  allowedPrincipalArns: readonly string[] | undefined,
): iam.PolicyDocument | undefined {
  if (allowedPrincipalArns === undefined || adminMethodPaths.length === 0) return undefined;
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'AdministrativeRoutesForListedPrincipalsOnly',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: adminMethodPaths.map((methodPath) => `execute-api:/*/${methodPath}`),
        conditions: { ArnNotLike: { 'aws:PrincipalArn': [...allowedPrincipalArns] } },
      }),
    ],
  });
}

/** Access log fields, all quoted so that "-" placeholders keep the line valid JSON. */
function accessLogFormat(): apigateway.AccessLogFormat {
  const F = apigateway.AccessLogField;
  return apigateway.AccessLogFormat.custom(
    JSON.stringify({
      requestId: F.contextRequestId(),
      extendedRequestId: F.contextExtendedRequestId(),
      requestTime: F.contextRequestTime(),
      httpMethod: F.contextHttpMethod(),
      resourcePath: F.contextResourcePath(),
      path: F.contextPath(),
      status: F.contextStatus(),
      protocol: F.contextProtocol(),
      responseLength: F.contextResponseLength(),
      responseLatency: F.contextResponseLatency(),
      integrationStatus: F.contextIntegrationStatus(),
      integrationLatency: F.contextIntegrationLatency(),
      sourceIp: F.contextIdentitySourceIp(),
      callerAccountId: F.contextIdentityAccountId(),
      userArn: F.contextIdentityUserArn(),
      userAgent: F.contextIdentityUserAgent(),
      errorType: F.contextErrorResponseType(),
      errorMessage: F.contextErrorMessage(),
      xrayTraceId: F.contextXrayTraceId(),
    }),
  );
}

function validate(props: RateLimitApiProps, stageName: string, throttling: ThrottleSettings, adminThrottling: ThrottleSettings): void {
  if (!/^[A-Za-z0-9_]{1,128}$/.test(stageName)) {
    throw new Error(`RateLimitApi: stageName "${stageName}" may only contain letters, digits and underscores`);
  }
  for (const [label, settings] of [
    ['throttling', throttling],
    ['administrativeThrottling', adminThrottling],
  ] as const) {
    if (settings.rateLimit <= 0 || settings.burstLimit < 1 || !Number.isInteger(settings.burstLimit)) {
      throw new Error(`RateLimitApi: ${label} needs rateLimit > 0 and an integer burstLimit >= 1`);
    }
  }
  if (adminThrottling.rateLimit > throttling.rateLimit) {
    throw new Error('RateLimitApi: administrativeThrottling must not be looser than the stage throttling');
  }
  if (props.administrativePrincipalArns !== undefined) {
    if (props.administrativePrincipalArns.length === 0) {
      throw new Error('RateLimitApi: administrativePrincipalArns must list at least one principal (omit it to rely on IAM policies)');
    }
    for (const arn of props.administrativePrincipalArns) {
      if (!/^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):.+/.test(arn)) {
        throw new Error(`RateLimitApi: "${arn}" is not an IAM principal ARN`);
      }
    }
  }
}
