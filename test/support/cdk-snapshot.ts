/**
 * Makes synthesized templates comparable across machines and checkouts.
 *
 * Asset hashes change with the bundled code, the esbuild version, and (because
 * the bundling options hold absolute paths) with the checkout folder even when
 * bundling is skipped. Snapshots should catch infrastructure changes, not
 * those, so every 64-hex hash is replaced by a fixed marker. Nothing else in
 * these templates depends on the machine: account, region and the VPC come
 * from the committed config and cdk.context.json.
 */
const ASSET_HASH = /[0-9a-f]{64}/g;
export const ASSET_HASH_PLACEHOLDER = 'ASSET-HASH';
/**
 * `fn.currentVersion` names its AWS::Lambda::Version `...CurrentVersion<8 hex><32 hex>`, the 32
 * hex hashing the function's configuration and code, so it changes with every bundle as well.
 */
const VERSION_HASH = /(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}/g;
export const VERSION_HASH_PLACEHOLDER = 'VERSION-HASH';

function normalizeString(value: string): string {
  return value.replace(ASSET_HASH, ASSET_HASH_PLACEHOLDER).replace(VERSION_HASH, `$1${VERSION_HASH_PLACEHOLDER}`);
}

export function normalizeTemplate<T>(template: T): T {
  return normalize(template) as T;
}

function normalize(value: unknown): unknown {
  if (typeof value === 'string') return normalizeString(value);
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      result[normalizeString(key)] = normalize(child);
    }
    return result;
  }
  return value;
}
