/**
 * npm run smoke -- --url <ApiUrl> [--region us-east-1] [--tier starter]
 *
 * SigV4-signed smoke test of a deployed stage (scripts/smoke-test/smoke.ts), with the default AWS
 * credential chain (environment, profile, SSO, instance or task role). Exit 0 when every step
 * passed, 1 otherwise: suitable as a pipeline step after `cdk deploy`.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SmokeTestError, runSmokeTest } from './smoke-test/smoke';

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<void> {
  const apiUrl = argument('url') ?? process.env.SMOKE_API_URL;
  if (!apiUrl) throw new SmokeTestError('missing --url <ApiUrl> (the stack output ApiUrl), or SMOKE_API_URL');
  const region = argument('region') ?? process.env.AWS_REGION ?? /execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(apiUrl)?.[1];
  if (!region) throw new SmokeTestError('missing --region (could not read it from the URL)');
  await runSmokeTest({ apiUrl, region, credentials: defaultProvider(), tier: argument('tier') });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
