import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks, ServerlessChecks, type NagPack } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildRateLimitApp } from '../../lib/app';
import { PRODUCTION, STAGING } from '../../lib/config';
import { createTestApp, synthRateLimitApp } from '../support/cdk-app';

interface Acknowledgement {
  /** Construct path relative to the stack. */
  readonly path: string;
  readonly id: string;
  readonly reason: string;
  readonly onStack: boolean;
}

/**
 * The cdk-nag acknowledgements in a stack. CDK records some of its own (e.g.
 * CloudFormation-Validate::W3010 on stacks that read availability zones from
 * a VPC lookup); those are not ours to review and are left out.
 */
function acknowledgements(stack: Stack): Acknowledgement[] {
  return allAcknowledgements(stack).filter((ack) => /^(AwsSolutions|Serverless)-/.test(ack.id));
}

function allAcknowledgements(stack: Stack): Acknowledgement[] {
  return stack.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([qualifiedId, reason]) => ({
          path: construct.node.path.slice(stack.node.path.length + 1),
          // Unprefixed ids are recorded in the annotation namespace; cdk-nag strips it too.
          id: qualifiedId.replace(/^annotation::/i, ''),
          reason,
          onStack: construct === stack,
        })),
      ),
  );
}

/**
 * Runs a pack with acknowledgements ignored, to see what each one hides.
 * cdk-nag has no public switch for that, so its private check is replaced on
 * this one instance.
 */
function findingsIgnoringAcknowledgements(pack: NagPack, scope: IConstruct): Array<{ rule: string; path: string }> {
  (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  const report = pack.validateScope(scope);
  return report.violations.flatMap((violation) =>
    (violation.violatingResources as Array<{ constructPath?: string }>).map((resource) => ({
      rule: violation.ruleName,
      path: resource.constructPath ?? '',
    })),
  );
}

const staging = synthRateLimitApp(STAGING).stacks;
const production = synthRateLimitApp(PRODUCTION).stacks;

describe.each([
  ['staging ElastiCache', staging.elastiCache],
  ['staging Upstash', staging.upstash],
  ['production ElastiCache', production.elastiCache],
  ['production Upstash', production.upstash],
  ['API Gateway account baseline', production.apiGatewayAccount],
])('cdk-nag on the %s stack', (_name: string, stack: Stack) => {
  test.each([
    ['AwsSolutions', () => new AwsSolutionsChecks()],
    ['Serverless', () => new ServerlessChecks()],
  ])('%s pack: no unacknowledged finding, warnings included', (_pack: string, makePack: () => NagPack) => {
    const report = makePack().validateScope(stack);
    expect(report.violations.map((violation) => `${violation.ruleName}: ${JSON.stringify(violation.violatingResources)}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  test('every acknowledgement has a written reason and sits below the stack', () => {
    const acks = acknowledgements(stack);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.onStack).toBe(false);
      expect(ack.reason.length).toBeGreaterThanOrEqual(60);
    }
  });

  test('every acknowledgement hides a real finding inside its own construct, none is stale', () => {
    const findings = [
      ...findingsIgnoringAcknowledgements(new AwsSolutionsChecks(), stack),
      ...findingsIgnoringAcknowledgements(new ServerlessChecks(), stack),
    ];
    for (const ack of acknowledgements(stack)) {
      const scopePath = `${stack.node.path}/${ack.path}`;
      const hidden = findings.filter((f) => f.rule === ack.id && (f.path === scopePath || f.path.startsWith(`${scopePath}/`)));
      expect({ ack: `${ack.id} @ ${ack.path}`, hides: hidden.length > 0 }).toEqual({ ack: `${ack.id} @ ${ack.path}`, hides: true });
    }
  });

  test('CDK adds no acknowledgement of its own beyond the literal-AZ one', () => {
    const others = allAcknowledgements(stack).filter((ack) => !/^(AwsSolutions|Serverless)-/.test(ack.id));
    for (const ack of others) expect(ack.id).toBe('CloudFormation-Validate::W3010');
  });

  test('the acknowledgements are exactly the reviewed list', () => {
    expect(
      acknowledgements(stack)
        .map((ack) => `${ack.id} @ ${ack.path}`)
        .sort(),
    ).toMatchSnapshot();
  });
});

test('the app registers both packs, so a new unacknowledged finding fails synthesis', () => {
  const app = createTestApp();
  const { upstash } = buildRateLimitApp(app, STAGING);
  upstash.service.functions.functions.check.function.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }),
  );
  expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Action::dynamodb:\*\]/);
});
