/**
 * docs/openapi.yaml: a valid OpenAPI 3.1 document that describes exactly the routes of the route
 * table and every problem type the functions produce; the contract check that the scenario tests
 * run on every call really rejects what breaks the document; and the local server serves it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ROUTE_LIST } from '../../lambda/contract';
import { createApiHandlers } from '../../lambda/handlers/operations';
import { PROBLEM_TYPE } from '../../lambda/shared/http';
import { startDevServer } from '../../scripts/dev-server';
import { httpTransport } from '../support/http-client';
import type { ApiReply } from '../support/http-scenarios';
import { apiGatewayEvent, lambdaContext, routeNameFor, type ApiCall } from '../support/lambda-events';
import { closeRuntimes, replyOf, testRuntime, TEST_TIERS_JSON } from '../support/lambda-runtime';
import { contractViolations, OPENAPI_PATH, openApiDocument } from '../support/openapi-contract';

const ROOT = resolve(__dirname, '..', '..');

/** Validates a document with @seriousme/openapi-schema-validator (ESM only, hence a child process). */
function validateOpenApi(path: string): { valid: boolean; version?: string; errors?: unknown } {
  const script = [
    "import { Validator } from '@seriousme/openapi-schema-validator';",
    'const validator = new Validator();',
    'const result = await validator.validate(process.argv[1]);',
    'console.log(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors }));',
  ].join('\n');
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script, path], { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`validator failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { valid: boolean; version?: string; errors?: unknown };
}

describe('the document', () => {
  it('is valid OpenAPI 3.1', () => {
    expect(validateOpenApi(OPENAPI_PATH)).toEqual({ valid: true, version: '3.1' });
  });

  it('would be rejected with a structural error (the validator is not a formality)', () => {
    const broken = openApiDocument();
    const copy = JSON.parse(JSON.stringify(broken));
    delete copy.paths['/v1/check'].post.responses['200'].description; // a Response Object requires one
    const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    try {
      writeFileSync(join(dir, 'broken.json'), JSON.stringify(copy));
      expect(validateOpenApi(join(dir, 'broken.json')).valid).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('documents every route of the route table with its method and path, and no route it lacks', () => {
    const document = openApiDocument();
    const documented: string[] = [];
    for (const [path, item] of Object.entries<Record<string, { 'x-local-only'?: boolean }>>(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (['get', 'put', 'post', 'delete', 'patch'].includes(method) && !operation['x-local-only']) {
          documented.push(`${method.toUpperCase()} ${path}`);
        }
      }
    }
    expect(documented.sort()).toEqual(ROUTE_LIST.map((route) => `${route.method} ${route.resource}`).sort());
    expect(document.paths['/v1/openapi.json'].get['x-local-only']).toBe(true);
  });

  it('names every problem type the functions produce', () => {
    const text = readFileSync(OPENAPI_PATH, 'utf8');
    for (const type of Object.values(PROBLEM_TYPE)) expect(text).toContain(`'${type}'`);
  });

  it('requires SigV4 (IAM) on every route of the API', () => {
    const document = openApiDocument();
    expect(document.security).toEqual([{ sigv4: [] }]);
    expect(document.components.securitySchemes.sigv4).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      'x-amazon-apigateway-authtype': 'awsSigv4',
    });
    for (const route of ROUTE_LIST) {
      expect(document.paths[route.resource][route.method.toLowerCase()].security).toBeUndefined();
    }
  });
});

describe('the contract check', () => {
  // Replies from the real handlers on the memory backend, unchecked, so the test can alter them.
  let send: (call: ApiCall) => Promise<ApiReply>;
  beforeAll(() => {
    const handlers = createApiHandlers(testRuntime({ RATE_LIMIT_BACKEND: 'memory', RATE_LIMIT_TIERS: TEST_TIERS_JSON }));
    send = async (call) => {
      const route = routeNameFor(call);
      const result = await handlers[route](apiGatewayEvent(call), lambdaContext());
      return replyOf(result.statusCode, result.headers ?? {}, result.body);
    };
  });
  afterAll(closeRuntimes);

  const check: ApiCall = { method: 'POST', path: '/v1/check', body: { creatorId: 'contract', tier: 'pro' } };
  const violations = (call: ApiCall, reply: Pick<ApiReply, 'status' | 'headers' | 'text'>) =>
    contractViolations({ method: call.method, path: call.path, body: Buffer.from(JSON.stringify(call.body ?? '')) }, reply);

  it('accepts a real decision, and rejects it with a field the document does not describe', async () => {
    const reply = await send(check);
    expect(violations(check, reply)).toEqual([]);
    const extended = JSON.stringify({ ...reply.body, surprise: 1 });
    expect(violations(check, { ...reply, text: extended }).join()).toMatch(/response body: .*surprise/);
  });

  it('rejects a missing required header, an undocumented status and a wrong media type', async () => {
    const reply = await send(check);
    const { ratelimit: _dropped, ...withoutRateLimit } = reply.headers;
    expect(violations(check, { ...reply, headers: withoutRateLimit })).toEqual(['required header RateLimit is missing']);
    expect(violations(check, { ...reply, status: 201 })).toEqual(['status 201 is not documented for POST /v1/check']);
    expect(violations(check, { ...reply, headers: { ...reply.headers, 'content-type': 'text/plain' } }).join()).toMatch(/Content-Type/);
    expect(violations(check, { ...reply, headers: { ...reply.headers, 'x-ratelimit-remaining': '-1' } }).join()).toMatch(
      /X-RateLimit-Remaining/,
    );
  });

  it('requires a request that breaks the document to be refused', async () => {
    const misspelt: ApiCall = { method: 'POST', path: '/v1/check', body: { creatorId: 'contract', tier: 'pro', token: 5 } };
    const refused = await send(misspelt);
    expect(refused.status).toBe(400);
    expect(violations(misspelt, refused)).toEqual([]);
    // Had the server admitted it, the check would say so.
    expect(violations(misspelt, await send(check)).join()).toMatch(/breaks the document .*token.* but was answered 200/);
    const unknownQuery: ApiCall = { method: 'GET', path: '/v1/status/contract?teir=pro' };
    expect(violations(unknownQuery, await send({ method: 'GET', path: '/v1/status/contract' })).join()).toMatch(/query parameter teir/);
  });

  it('requires an unrouted request to be a 404 problem', async () => {
    const unknown: ApiCall = { method: 'POST', path: '/v1/unknown', body: {} };
    const reply = await send(unknown);
    expect(violations(unknown, reply)).toEqual([]);
    expect(violations(unknown, await send(check)).join()).toMatch(/must be 404/);
  });

  it('checks a 429 against the quota-exceeded problem', async () => {
    const creator: ApiCall = { method: 'POST', path: '/v1/check', body: { creatorId: 'contract-429', tier: 'tiny' } };
    for (let index = 0; index < 3; index += 1) await send(creator);
    const denied = await send(creator);
    expect(denied.status).toBe(429);
    expect(violations(creator, denied)).toEqual([]);
    const { 'retry-after': _retryAfter, ...withoutRetryAfter } = denied.headers;
    expect(violations(creator, { ...denied, headers: withoutRetryAfter })).toEqual(['required header Retry-After is missing']);
  });
});

describe('the local server', () => {
  it('serves the document as JSON at GET /v1/openapi.json', async () => {
    const server = await startDevServer({ port: 0, env: { RATE_LIMIT_BACKEND: 'memory' } });
    try {
      const reply = await httpTransport(server.url)({ method: 'GET', path: '/v1/openapi.json' });
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      expect(reply.body).toEqual(parseYaml(readFileSync(OPENAPI_PATH, 'utf8')));
    } finally {
      await server.close();
    }
  });
});
