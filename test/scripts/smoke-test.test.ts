/**
 * The post-deploy smoke test against a loopback stand-in for a stage: it must sign with SigV4 for
 * execute-api, pass when the stage behaves, and stop with a non-zero result when it does not.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SmokeTestError, runSmokeTest } from '../../scripts/smoke-test/smoke';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

function stage(behaviour: { checkStatus: number }): Promise<{ url: string; close: () => Promise<void>; seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((request, response) => {
    const auth = request.headers.authorization ?? '';
    seen.push(`${request.method} ${request.url} ${auth ? 'signed' : 'unsigned'}`);
    if (
      !/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/execute-api\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/.test(
        auth,
      )
    ) {
      response.writeHead(403, { 'content-type': 'application/problem+json' });
      response.end(JSON.stringify({ type: 'urn:creator-rate-limit:problem:forbidden', title: 'Forbidden' }));
      return;
    }
    if (request.url?.startsWith('/prod/v1/check')) {
      response.writeHead(behaviour.checkStatus, {
        'content-type': 'application/json',
        'ratelimit-policy': '"requests-per-hour";q=50;w=3600',
      });
      response.end(JSON.stringify({ allowed: true }));
    } else if (request.url?.startsWith('/prod/v1/status/')) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ limit: 50, remaining: 49, reset: Date.now() + 1000 }));
    } else {
      response.writeHead(404);
      response.end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/prod/`, seen, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

test('passes against a stage that answers signed checks and refuses unsigned ones', async () => {
  const target = await stage({ checkStatus: 200 });
  try {
    const steps = await runSmokeTest({ apiUrl: target.url, region: 'us-east-1', credentials, creatorId: 'smoke 1', log: () => undefined });
    expect(steps.map((step) => step.ok)).toEqual([true, true, true]);
    expect(target.seen).toEqual([
      'POST /prod/v1/check signed',
      'GET /prod/v1/status/smoke%201?tier=starter signed',
      'POST /prod/v1/check unsigned',
    ]);
  } finally {
    await target.close();
  }
});

test('fails, naming the step, when the check does not answer 200 or 429', async () => {
  const target = await stage({ checkStatus: 500 });
  try {
    await expect(runSmokeTest({ apiUrl: target.url, region: 'us-east-1', credentials, log: () => undefined })).rejects.toThrow(
      new SmokeTestError(
        'smoke test failed at "signed POST /v1/check": HTTP 500, RateLimit-Policy: "requests-per-hour";q=50;w=3600, body {"allowed":true}',
      ),
    );
  } finally {
    await target.close();
  }
});

test('refuses a plain-http URL other than loopback', async () => {
  await expect(runSmokeTest({ apiUrl: 'http://example.com/prod/', region: 'us-east-1', credentials })).rejects.toThrow(
    /apiUrl must be https/,
  );
});
