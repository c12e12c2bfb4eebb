/**
 * The synthesized API against the contract (lambda/contract): every route exists with its method,
 * resource and function, nothing else does, and the functions get only the contract's variables.
 */
import * as fs from 'node:fs';
import type { Template } from 'aws-cdk-lib/assertions';
import { ENV, ROUTE_LIST } from '../../lambda/contract';
import { STAGING } from '../../lib/config';
import { handlerEntry } from '../../lib/constructs/rate-limit-functions';
import { synthRateLimitApp } from '../support/cdk-app';
import { lambdaFunctions, resourcesOfType } from '../support/cdk-template';

const synthesized = synthRateLimitApp(STAGING);

/** `METHOD /path` of every method, with the logical id of the function its integration invokes. */
function methods(template: Template): Array<{ route: string; integration: string; target?: string }> {
  const resources = resourcesOfType(template, 'AWS::ApiGateway::Resource');
  const pathOf = (id: string | undefined): string => {
    const resource = id === undefined ? undefined : resources[id];
    if (!resource) return '';
    const parent = resource.Properties?.ParentId;
    return `${pathOf(parent && 'Ref' in parent ? parent.Ref : undefined)}/${resource.Properties?.PathPart}`;
  };
  return Object.values(resourcesOfType(template, 'AWS::ApiGateway::Method')).map((method) => {
    const uri = JSON.stringify(method.Properties?.Integration.Uri ?? '');
    const alias = /"Ref":"([A-Za-z0-9]+LiveAlias[A-Za-z0-9]+)"/.exec(uri)?.[1];
    return {
      route: `${method.Properties?.HttpMethod} ${pathOf(method.Properties?.ResourceId.Ref) || '/'}`,
      integration: method.Properties?.Integration.Type as string,
      target: alias,
    };
  });
}

describe.each([
  ['ElastiCache', synthesized.elastiCache],
  ['Upstash', synthesized.upstash],
])('%s stack against the route contract', (_name, template: Template) => {
  test('every route of the contract has its method and resource, served by its own function', () => {
    const proxied = methods(template).filter((method) => method.integration === 'AWS_PROXY');
    expect(proxied.map((method) => method.route).sort()).toEqual(ROUTE_LIST.map((route) => `${route.method} ${route.resource}`).sort());
    // One distinct alias per route, and that alias belongs to the function whose description is the route's.
    expect(new Set(proxied.map((method) => method.target)).size).toBe(ROUTE_LIST.length);
    const aliases = resourcesOfType(template, 'AWS::Lambda::Alias');
    const functions = lambdaFunctions(template);
    for (const route of ROUTE_LIST) {
      const method = proxied.find((m) => m.route === `${route.method} ${route.resource}`)!;
      const functionId = aliases[method.target!].Properties?.FunctionName.Ref as string;
      expect(functions[functionId].Properties?.Description).toBe(`${route.description} [${_name.toLowerCase()}]`);
    }
  });

  test('nothing else exists: the only other methods are the mock 404s for unknown routes', () => {
    const others = methods(template).filter((method) => method.integration !== 'AWS_PROXY');
    expect(others.map((method) => `${method.integration} ${method.route}`).sort()).toEqual(['MOCK ANY /', 'MOCK ANY /{proxy+}']);
    expect(Object.keys(lambdaFunctions(template))).toHaveLength(ROUTE_LIST.length);
  });

  test('the functions get only variables the contract defines (plus NODE_OPTIONS)', () => {
    const known = new Set<string>([...Object.values(ENV), 'NODE_OPTIONS']);
    for (const fn of Object.values(lambdaFunctions(template))) {
      for (const name of Object.keys(fn.Properties?.Environment.Variables ?? {}))
        expect({ name, known: known.has(name) }).toEqual({ name, known: true });
    }
  });
});

test('every route has its handler file, named after the route', () => {
  for (const route of ROUTE_LIST) {
    for (const backend of ['elasticache', 'upstash'] as const) {
      expect(handlerEntry(route.name, backend)).toMatch(new RegExp(`lambda/handlers/${backend}/${route.name}\\.ts$`));
      expect(fs.existsSync(handlerEntry(route.name, backend))).toBe(true);
    }
  }
});
