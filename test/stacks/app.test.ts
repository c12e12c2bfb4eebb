/** What bin/app.ts builds for an environment: stacks, protection, tags and the account baseline. */
import { PRODUCTION, STAGING } from '../../lib/config';
import { synthRateLimitApp } from '../support/cdk-app';
import { resourcesOfType } from '../support/cdk-template';

const production = synthRateLimitApp(PRODUCTION);
const staging = synthRateLimitApp(STAGING);

test('production stacks have termination protection, staging stacks do not', () => {
  expect(production.stacks.elastiCache.terminationProtection).toBe(true);
  expect(production.stacks.upstash.terminationProtection).toBe(true);
  expect(staging.stacks.elastiCache.terminationProtection).toBe(false);
  expect(staging.stacks.upstash.terminationProtection).toBe(false);
});

test.each([
  ['production', production],
  ['staging', staging],
])('every taggable resource of the %s service stacks carries Environment, Service and Owner', (environment, synthesized) => {
  for (const template of [synthesized.elastiCache, synthesized.upstash]) {
    const resources = Object.entries(
      (template.toJSON() as { Resources: Record<string, { Type: string; Properties?: { Tags?: unknown } }> }).Resources,
    );
    const tagged = resources.filter(([, resource]) => Array.isArray(resource.Properties?.Tags));
    expect(tagged.length).toBeGreaterThan(20);
    for (const [id, resource] of tagged) {
      const tags = Object.fromEntries(
        (resource.Properties!.Tags as Array<{ Key: string; Value: string }>).map((tag) => [tag.Key, tag.Value]),
      );
      expect({ id, tags }).toEqual({
        id,
        tags: expect.objectContaining({ Environment: environment, Service: 'creator-rate-limit', Owner: 'platform-team' }),
      });
    }
  }
});

test('the service stacks never set the account-level API Gateway role; the optional baseline stack does', () => {
  for (const synthesized of [production, staging]) {
    synthesized.elastiCache.resourceCountIs('AWS::ApiGateway::Account', 0);
    synthesized.upstash.resourceCountIs('AWS::ApiGateway::Account', 0);
  }
  const baseline = production.apiGatewayAccount;
  baseline.resourceCountIs('AWS::ApiGateway::Account', 1);
  const [roleId, role] = Object.entries(resourcesOfType(baseline, 'AWS::IAM::Role'))[0];
  expect(role.Properties?.AssumeRolePolicyDocument.Statement).toEqual([
    { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' } },
  ]);
  baseline.hasResourceProperties('AWS::ApiGateway::Account', { CloudWatchRoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] } });
  expect(production.stacks.apiGatewayAccount.stackName).toBe('CreatorRateLimit-ApiGatewayAccount');
});
