/**
 * What the handlers write for CloudWatch: Powertools structured logs (Lambda context, cold start,
 * correlation id) and EMF metric records (names, units, dimension sets), captured from stdout.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { createApiHandlers } from '../../lambda/handlers/operations';
import { createLogger } from '../../lambda/shared/logger';
import type { Environment } from '../../lambda/shared/limiter';
import { uniqueCreator } from '../support/http-scenarios';
import { apiGatewayEvent, lambdaContext } from '../support/lambda-events';
import {
  captureOutput,
  elastiCacheEnv,
  publishingMetrics,
  unansweredEnv,
  useHandlerTestServers,
  testRuntime,
  TEST_TIERS_JSON,
} from '../support/lambda-runtime';

// Lambda sets this for on-demand environments; Powertools reports cold starts only then.
process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';

const servers = useHandlerTestServers();

type Record_ = Record<string, unknown>;

interface EmfRecord extends Record_ {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
}

const isEmf = (record: Record_): record is EmfRecord => typeof record._aws === 'object';

/** Runs `body` with stdout and stderr captured; returns the JSON lines written meanwhile. */
async function captured(body: () => Promise<unknown>): Promise<{ logs: Record_[]; emf: EmfRecord[] }> {
  const capture = captureOutput();
  try {
    await body();
  } finally {
    capture.restore();
  }
  const records = capture.records();
  return { logs: records.filter((record) => !isEmf(record)), emf: records.filter(isEmf) };
}

/** Handlers whose logs (DEBUG and up) and metrics are written; run them inside `captured`. */
function observedHandlers(env: Environment) {
  const runtime = testRuntime(env, { logger: createLogger({ logLevel: 'DEBUG' }), metrics: publishingMetrics() });
  return Object.assign(createApiHandlers(runtime), { runtime });
}

const check = (creatorId: string, tier = 'tiny') => apiGatewayEvent({ method: 'POST', path: '/v1/check', body: { creatorId, tier } });

describe('EMF metrics', () => {
  it('an allowed check: Allowed and BackendLatency under {service, tier} and {service}', async () => {
    const handlers = observedHandlers(elastiCacheEnv(servers.redis));
    const { emf } = await captured(() => handlers.check(check(uniqueCreator('allowed')), lambdaContext()));
    expect(emf).toHaveLength(1);
    const [record] = emf;
    expect(record._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'CreatorRateLimit',
        Dimensions: [['service', 'tier'], ['service']],
        Metrics: [
          { Name: 'BackendLatency', Unit: 'Milliseconds' },
          { Name: 'Allowed', Unit: 'Count' },
        ],
      },
    ]);
    expect(record).toMatchObject({ service: 'creator-rate-limit', tier: 'tiny', Allowed: 1 });
    expect(record.BackendLatency).toEqual(expect.any(Number));
  });

  it('a denial: Denied; an invalid request: no record at all; an unknown tier never becomes a dimension', async () => {
    const handlers = observedHandlers(elastiCacheEnv(servers.redis));
    const creatorId = uniqueCreator('denied');
    await captured(async () => {
      for (let index = 0; index < 3; index += 1) await handlers.check(check(creatorId), lambdaContext());
    });
    const denied = await captured(() => handlers.check(check(creatorId), lambdaContext()));
    expect(denied.emf.map((record) => [record.tier, record.Denied])).toEqual([['tiny', 1]]);

    const invalid = await captured(async () => {
      await handlers.check(check('someone', 'no-such-tier'), lambdaContext());
      await handlers.check(apiGatewayEvent({ method: 'POST', path: '/v1/check', body: '{' }), lambdaContext());
    });
    expect(invalid.emf).toEqual([]);
  });

  it('backend unavailable, fail mode closed: Unavailable; fail mode open: Degraded (not Allowed)', async () => {
    const down = (failMode: string) =>
      observedHandlers(unansweredEnv(servers.blackHole, { RATE_LIMIT_TIMEOUT_MS: '100', RATE_LIMIT_FAIL_MODE: failMode }));
    const closed = down('closed');
    // Closing waits for the warm-up, so its warning is captured too.
    const closedRun = await captured(async () => {
      await closed.check(check('someone', 'pro'), lambdaContext());
      await closed.runtime.close();
    });
    expect(closedRun.emf.map((record) => [record.tier, record.Unavailable, record.Allowed])).toEqual([['pro', 1, undefined]]);
    expect(closedRun.logs.find((log) => log.message === 'rate-limit backend unavailable')).toMatchObject({
      level: 'WARN',
      statusCode: 503,
    });

    const open = down('open');
    const openRun = await captured(async () => {
      await open.check(check('someone', 'pro'), lambdaContext());
      await open.runtime.close();
    });
    expect(openRun.emf.map((record) => [record.tier, record.Degraded, record.Allowed])).toEqual([['pro', 1, undefined]]);
  });

  it('an anomaly: a structured warning and an Anomaly metric, once per creator and window', async () => {
    const handlers = observedHandlers(elastiCacheEnv(servers.redis));
    const creatorId = uniqueCreator('anomaly');
    // tiny allows 3 requests a minute; more than 2 x 3 attempts within 5 minutes is an anomaly.
    const event = check(creatorId);
    const { logs, emf } = await captured(async () => {
      for (let index = 0; index < 12; index += 1) await handlers.check(event, lambdaContext());
    });
    const warnings = logs.filter((log) => String(log.message).startsWith('rate-limit anomaly'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 'WARN',
      correlation_id: event.requestContext.requestId,
      anomaly: { creatorId, tier: 'tiny', threshold: 6, windowSeconds: 300 },
    });
    const anomalies = emf.filter((record) => record.Anomaly !== undefined);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ tier: 'tiny', Anomaly: 1, Denied: 1 });
  });

  it('a shadow policy that would deny: an INFO line and a ShadowDenied metric under {service, policy}', async () => {
    const handlers = observedHandlers(elastiCacheEnv(servers.redis));
    const creatorId = uniqueCreator('shadow');
    // dark: a shadow per-minute policy of 1 beside an enforcing hourly 100.
    const { logs, emf } = await captured(async () => {
      for (let index = 0; index < 3; index += 1)
        expect((await handlers.check(check(creatorId, 'dark'), lambdaContext())).statusCode).toBe(200);
    });
    const lines = logs.filter((log) => log.message === 'rate-limit shadow policy would have denied');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'INFO', shadow: { creatorId, tier: 'dark', policy: 'requests-per-minute', limit: 1 } });
    const shadow = emf.filter((record) => record.ShadowDenied !== undefined);
    expect(shadow).toHaveLength(2);
    expect(shadow[0]).toMatchObject({ policy: 'requests-per-minute', ShadowDenied: 1 });
    expect(shadow[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'policy']]);
    expect(shadow[0].tier).toBeUndefined();
  });

  it("an override change is audit-logged with the caller's IAM principal and the reason", async () => {
    const handlers = observedHandlers(elastiCacheEnv(servers.redis));
    const creatorId = uniqueCreator('audited');
    const userArn = 'arn:aws:iam::123456789012:user/platform-admin';
    const withIdentity = <T extends { requestContext: object }>(event: T): T => ({
      ...event,
      requestContext: { ...event.requestContext, identity: { userArn, caller: 'AIDAEXAMPLE' } },
    });
    const path = `/v1/overrides/${creatorId}`;
    const reason = 'launch week, OPS-812';
    const { logs } = await captured(async () => {
      const set = withIdentity(
        apiGatewayEvent({ method: 'PUT', path, body: { policies: { 'requests-per-hour': { limit: 500 } }, reason } }),
      );
      expect((await handlers.setOverride(set, lambdaContext())).statusCode).toBe(200);
      const removal = withIdentity(apiGatewayEvent({ method: 'DELETE', path }));
      expect((await handlers.removeOverride(removal, lambdaContext())).statusCode).toBe(200);
    });
    const audits = logs.filter((log) => typeof log.audit === 'object');
    expect(audits).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'rate-limit override set',
        audit: { action: 'set', creatorId, policies: { 'requests-per-hour': { limit: 500 } }, reason, caller: userArn },
      }),
      expect.objectContaining({
        level: 'INFO',
        message: 'rate-limit override removed',
        audit: { action: 'remove', creatorId, removed: true, reason, caller: userArn },
      }),
    ]);
  });

  it('settle, status and reset publish BackendLatency under the same dimension sets', async () => {
    const handlers = observedHandlers(elastiCacheEnv(servers.redis));
    const creatorId = uniqueCreator('others');
    const { emf } = await captured(async () => {
      await handlers.status(apiGatewayEvent({ method: 'GET', path: `/v1/status/${creatorId}?tier=starter` }), lambdaContext());
      await handlers.settle(
        apiGatewayEvent({ method: 'POST', path: '/v1/settle', body: { creatorId, tier: 'pro', requestId: 'x', tokens: 1 } }),
        lambdaContext(),
      );
      await handlers.reset(apiGatewayEvent({ method: 'POST', path: '/v1/reset', body: { creatorId } }), lambdaContext());
    });
    expect(
      emf.map((record) => [record.tier, record._aws.CloudWatchMetrics[0].Dimensions, Array.isArray(record.BackendLatency) ? 2 : 1]),
    ).toEqual([
      ['starter', [['service', 'tier'], ['service']], 1],
      // One backend call settles and reads the usage for the headers.
      ['pro', [['service', 'tier'], ['service']], 1],
      ['pro', [['service', 'tier'], ['service']], 2],
    ]);
  });
});

describe('structured logs', () => {
  it('carry the Lambda context, cold start, and the API Gateway request id as correlation id', async () => {
    const handlers = observedHandlers(elastiCacheEnv(servers.redis));
    const first = check('someone', 'no-such-tier');
    const second = check('someone', 'no-such-tier');
    const context = lambdaContext('creator-rate-limit-check');
    const { logs } = await captured(async () => {
      await handlers.check(first, context);
      await handlers.check(second, context);
    });
    const lines = logs.filter((log) => log.message === 'request rejected');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 'INFO',
      service: 'creator-rate-limit',
      cold_start: true,
      function_name: 'creator-rate-limit-check',
      function_request_id: context.awsRequestId,
      correlation_id: first.requestContext.requestId,
      route: 'check',
      statusCode: 400,
      detail: expect.stringContaining('tier'),
    });
    expect(lines[1]).toMatchObject({ cold_start: false, correlation_id: second.requestContext.requestId });
  });

  it('log a 200 at DEBUG only, so production (INFO) logs stay proportional to problems', async () => {
    const handlers = observedHandlers(elastiCacheEnv(servers.redis));
    const { logs } = await captured(() => handlers.check(check(uniqueCreator('debug'), 'pro'), lambdaContext()));
    expect(logs.map((log) => [log.level, log.message, log.statusCode])).toEqual([['DEBUG', 'request handled', 200]]);
  });

  it('a configuration error: 500 misconfigured for every request, logged at ERROR naming the variables', async () => {
    let handlers!: ReturnType<typeof observedHandlers>;
    const init = await captured(async () => {
      handlers = observedHandlers({ RATE_LIMIT_TIERS: TEST_TIERS_JSON });
    });
    expect(init.logs).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        error: expect.objectContaining({ name: 'RateLimitConfigError', message: expect.stringContaining('RATE_LIMIT_BACKEND') }),
      }),
    ]);
    const { logs } = await captured(async () => {
      const result: APIGatewayProxyResult = await handlers.check(check('someone', 'pro'), lambdaContext());
      expect(result.statusCode).toBe(500);
      expect(JSON.parse(result.body)).toMatchObject({ type: 'urn:creator-rate-limit:problem:misconfigured', status: 500 });
    });
    expect(logs).toEqual([expect.objectContaining({ level: 'ERROR', message: 'request failed', statusCode: 500 })]);
  });
});
