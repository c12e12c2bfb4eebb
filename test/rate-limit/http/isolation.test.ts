/**
 * The library stays free of AWS and CDK code: only the http backend's signer (lambda/rate-limit/
 * http/sigv4.ts) imports AWS packages, and the http client loads it only when a request is signed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const LIBRARY = join(__dirname, '..', '..', '..', 'lambda', 'rate-limit');
const AWS_IMPORT = /(?:from\s+|import\(\s*|require\(\s*)'(@aws-sdk\/[^']+|@smithy\/[^']+|aws-cdk-lib[^']*|@aws-lambda-powertools\/[^']+)'/g;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

it('imports AWS packages only in the http backend signer', () => {
  const importers: Record<string, string[]> = {};
  for (const file of sources(LIBRARY)) {
    const text = readFileSync(file, 'utf8').replace(/^\s*import type .*$/gm, '');
    const packages = [...text.matchAll(AWS_IMPORT)].map((match) => match[1]);
    if (packages.length > 0) importers[relative(LIBRARY, file)] = packages;
  }
  expect(importers).toEqual({
    [join('http', 'sigv4.ts')]: ['@smithy/hash-node', '@smithy/signature-v4', '@aws-sdk/credential-provider-node'],
  });
});

it('loads the signer lazily: the http client refers to it only through a dynamic import', () => {
  const client = readFileSync(join(LIBRARY, 'http', 'http-rate-limiter.ts'), 'utf8');
  expect(client).toMatch(/import\('\.\/sigv4'\)/);
  expect(client).not.toMatch(/^import (?!type )[^;]*'\.\/sigv4'/m);
});
