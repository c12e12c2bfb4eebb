/**
 * The handlers against the contract module (lambda/contract), which the CDK app reads too: every
 * route of the contract is served by its own function with the contract's method, resource and
 * query parameters and by no other function, every backend has an entry per route, and every
 * metric the handlers can publish is one the contract names (so an alarm never watches a metric
 * nobody publishes, and a renamed metric fails here rather than silently in CloudWatch).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';
import {
  BACKEND_NAMES,
  DEFAULT_METRICS_NAMESPACE,
  DEFAULT_SERVICE_NAME,
  METRIC,
  METRIC_DIMENSIONS,
  ROUTE_LIST,
  ROUTE_NAMES,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
  type RouteContract,
} from '../../lambda/contract';
import { createApiHandlers, OPERATIONS } from '../../lambda/handlers/operations';
import type { ApiHandler } from '../../lambda/shared/api-handler';
import type { Environment } from '../../lambda/shared/limiter';
import { allowedMethods, findRoute } from '../../lambda/shared/routes';
import { uniqueCreator } from '../support/http-scenarios';
import { apiGatewayEvent, lambdaContext } from '../support/lambda-events';
import {
  captureOutput,
  closeRuntimes,
  publishingMetrics,
  silentLogger,
  testRuntime,
  TEST_TIERS_JSON,
  unansweredEnv,
  useHandlerTestServers,
} from '../support/lambda-runtime';

const servers = useHandlerTestServers();
afterAll(closeRuntimes);

/** The memory backend: the metrics and routing under test do not depend on the store. */
const memoryEnv: Environment = { RATE_LIMIT_BACKEND: 'memory', RATE_LIMIT_TIERS: TEST_TIERS_JSON };

/** A concrete path for the route's resource, e.g. /v1/status/{creatorId} -> /v1/status/contract-someone. */
const concretePath = (route: RouteContract): string => route.resource.replace(/\{[^}]+\}/g, 'contract-someone');

/** A well-formed request for the route, with `query` appended. */
function eventFor(route: RouteContract, query = '') {
  const creatorId = uniqueCreator(`contract-${route.name}`);
  const body =
    route.name === 'setOverride'
      ? { policies: { 'requests-per-hour': { limit: 5 } }, reason: 'contract test' }
      : route.jsonBody
        ? { creatorId, tier: 'pro', ...(route.name === 'settle' ? { requestId: 'r', tokens: 0 } : {}) }
        : undefined;
  return apiGatewayEvent({ method: route.method, path: `${concretePath(route)}${query}`, body });
}

const replyBody = (result: APIGatewayProxyResult) => JSON.parse(result.body) as { field?: string };

describe('routes: the handlers serve exactly the contract', () => {
  const handlers = () => createApiHandlers(testRuntime(memoryEnv));

  it('has one operation per contract route, and no other', () => {
    expect(Object.keys(OPERATIONS).sort()).toEqual([...ROUTE_NAMES].sort());
    for (const name of ROUTE_NAMES) expect(OPERATIONS[name].route).toBe(name);
  });

  it.each(ROUTE_LIST.map((route) => [route.name, route] as const))(
    '%s: the route table matches its method and resource only',
    (_name, route) => {
      const match = findRoute(route.method, concretePath(route));
      expect(match?.route.name).toBe(route.name);
      expect(match?.pathParameters).toEqual(
        Object.fromEntries([...route.resource.matchAll(/\{([^}]+)\}/g)].map(([, name]) => [name, 'contract-someone'])),
      );
      // Other methods at the path are 405s naming exactly the contract's methods there.
      const methodsHere = ROUTE_LIST.filter((other) => other.resource === route.resource)
        .map((other) => other.method)
        .sort();
      expect(allowedMethods(concretePath(route))).toEqual(methodsHere);
      expect(allowedMethods('/ignored', route.resource)).toEqual(methodsHere);
      for (const method of ['GET', 'POST', 'PUT', 'DELETE'].filter((m) => !methodsHere.includes(m as RouteContract['method']))) {
        expect(findRoute(method, concretePath(route))).toBeUndefined();
      }
    },
  );

  it.each(ROUTE_LIST.map((route) => [route.name, route] as const))(
    '%s: its function answers it, and every other function refuses it',
    async (_name, route) => {
      const all = handlers();
      const own = await all[route.name](eventFor(route), lambdaContext());
      expect(own.statusCode).toBe(200);
      for (const other of ROUTE_NAMES.filter((name) => name !== route.name)) {
        const refused = await all[other](eventFor(route), lambdaContext());
        expect([other, refused.statusCode]).toEqual([other, 404]);
      }
    },
  );

  it.each(ROUTE_LIST.map((route) => [route.name, route] as const))(
    '%s: takes the contract query parameters and refuses any other',
    async (_name, route) => {
      const handler: ApiHandler = handlers()[route.name];
      for (const parameter of route.queryParameters) {
        // A valid value for the one parameter the contract has today (tier); a parameter added to
        // the contract without handler support fails here as a 400 naming it.
        const accepted = await handler(eventFor(route, `?${parameter}=pro`), lambdaContext());
        expect([parameter, accepted.statusCode]).toEqual([parameter, 200]);
      }
      const refused = await handler(eventFor(route, '?not-in-the-contract=1'), lambdaContext());
      expect(refused.statusCode).toBe(400);
      expect(replyBody(refused).field).toBe('not-in-the-contract');
    },
  );

  it.each(BACKEND_NAMES.filter((backend) => backend !== 'memory'))('every route has an entry for %s exporting handler', (backend) => {
    for (const name of ROUTE_NAMES) {
      const entry = path.join(__dirname, '..', '..', 'lambda', 'handlers', backend, `${name}.ts`);
      expect([entry, existsSync(entry)]).toEqual([entry, true]);
      // Importing outside Lambda (no AWS_LAMBDA_FUNCTION_NAME) has no side effects.

      expect(typeof (require(entry) as { handler?: unknown }).handler).toBe('function');
    }
  });
});

interface EmfRecord {
  readonly _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
  readonly [key: string]: unknown;
}

/** The EMF records the handlers write while `body` runs. */
async function publishedDuring(body: () => Promise<unknown>): Promise<EmfRecord[]> {
  const capture = captureOutput();
  try {
    await body();
  } finally {
    capture.restore();
  }
  return capture.records().filter((record): record is Record<string, unknown> & EmfRecord => typeof record._aws === 'object');
}

describe('metrics: everything the handlers publish is in the contract', () => {
  const observed = (env: Environment) => {
    const runtime = testRuntime(env, { logger: silentLogger(), metrics: publishingMetrics() });
    return Object.assign(createApiHandlers(runtime), { runtime });
  };
  const check = (creatorId: string, tier: string) => apiGatewayEvent({ method: 'POST', path: '/v1/check', body: { creatorId, tier } });

  it('every outcome of every route publishes only contract metrics, and every contract metric is published by some outcome', async () => {
    const saved = { service: process.env.POWERTOOLS_SERVICE_NAME, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE };
    delete process.env.POWERTOOLS_SERVICE_NAME;
    delete process.env.POWERTOOLS_METRICS_NAMESPACE;
    const records: EmfRecord[] = [];
    try {
      const working = observed(memoryEnv);
      const creatorId = uniqueCreator('contract-metrics');
      records.push(
        ...(await publishedDuring(async () => {
          // tiny: 3 requests a minute; 12 attempts are denials and, above 2 x 3, an anomaly.
          for (let attempt = 0; attempt < 12; attempt += 1) await working.check(check(creatorId, 'tiny'), lambdaContext());
          await working.settle(
            apiGatewayEvent({ method: 'POST', path: '/v1/settle', body: { creatorId, tier: 'tiny', requestId: 'r', tokens: 0 } }),
            lambdaContext(),
          );
          await working.status(apiGatewayEvent({ method: 'GET', path: `/v1/status/${creatorId}?tier=tiny` }), lambdaContext());
          await working.reset(apiGatewayEvent({ method: 'POST', path: '/v1/reset', body: { creatorId } }), lambdaContext());
          // dark: its shadow per-minute policy (limit 1) would deny the second admission.
          for (let attempt = 0; attempt < 2; attempt += 1) await working.check(check(creatorId, 'dark'), lambdaContext());
        })),
      );
      for (const failMode of ['closed', 'open']) {
        const down = observed(unansweredEnv(servers.blackHole, { RATE_LIMIT_TIMEOUT_MS: '100', RATE_LIMIT_FAIL_MODE: failMode }));
        records.push(
          ...(await publishedDuring(async () => {
            const reply = await down.check(check('contract-down', 'pro'), lambdaContext());
            if (failMode === 'closed') expect(reply.headers?.['Retry-After']).toBe(String(UNAVAILABLE_RETRY_AFTER_SECONDS));
            await down.runtime.close();
          })),
        );
      }
    } finally {
      if (saved.service !== undefined) process.env.POWERTOOLS_SERVICE_NAME = saved.service;
      if (saved.namespace !== undefined) process.env.POWERTOOLS_METRICS_NAMESPACE = saved.namespace;
    }

    const directives = records.flatMap((record) => record._aws.CloudWatchMetrics);
    const published = new Set(directives.flatMap((directive) => directive.Metrics.map((metric) => metric.Name)));
    const contract = new Set<string>(Object.values(METRIC));
    expect([...published].filter((name) => !contract.has(name))).toEqual([]);
    expect([...contract].filter((name) => !published.has(name))).toEqual([]);

    // Under the contract's namespace and dimension names, with the contract's default service name.
    expect(new Set(directives.map((directive) => directive.Namespace))).toEqual(new Set([DEFAULT_METRICS_NAMESPACE]));
    const dimensionNames = new Set<string>(Object.values(METRIC_DIMENSIONS));
    for (const set of directives.flatMap((directive) => directive.Dimensions)) {
      expect(set.filter((name) => !dimensionNames.has(name))).toEqual([]);
      expect(set).toContain(METRIC_DIMENSIONS.service);
    }
    expect(new Set(records.map((record) => record[METRIC_DIMENSIONS.service]))).toEqual(new Set([DEFAULT_SERVICE_NAME]));
  });
});
