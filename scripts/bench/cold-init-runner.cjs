'use strict';
/**
 * One cold start, run by scripts/bench/lambda-budget.ts in a fresh Node process:
 *   node cold-init-runner.cjs <bundle.js> <event JSON>
 * Loads the bundle (its init code runs, as in a Lambda init phase), invokes `handler` once with the
 * event and a minimal Lambda context, and reports over IPC: Node start-up until this line, the time
 * to require the bundle, the time to answer, and the status code. Then exits.
 */
// `performance` is Node's global: no require runs before the first reading.
const startupMs = performance.now();
const [bundle, eventText] = process.argv.slice(2);

function report(message, code) {
  if (!process.send) {
    process.stderr.write(`${JSON.stringify(message)}\n`);
    process.exit(code);
  }
  process.send(message, () => process.exit(code));
}

try {
  const beforeRequire = performance.now();
  const { handler } = require(bundle);
  const requireMs = performance.now() - beforeRequire;
  const context = {
    functionName: 'bench-cold-start',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench-cold-start',
    memoryLimitInMB: '256',
    awsRequestId: 'bench-cold-start-request',
    logGroupName: '/aws/lambda/bench-cold-start',
    logStreamName: 'bench',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 5000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  const beforeInvoke = performance.now();
  Promise.resolve(handler(JSON.parse(eventText), context)).then(
    (response) => {
      const invokeMs = performance.now() - beforeInvoke;
      report({ ok: true, status: response && response.statusCode, startupMs, requireMs, invokeMs }, 0);
    },
    (error) => report({ ok: false, error: String((error && error.stack) || error) }, 1),
  );
} catch (error) {
  report({ ok: false, error: String((error && error.stack) || error) }, 1);
}
