/**
 * How every function is bundled (esbuild, run locally by the CDK construct). The construct, the
 * benchmark (scripts/bench/lambda-budget.ts) and the tests that run bundled handlers all read
 * this, so what they measure and run is what is deployed. No CDK import: plain settings.
 */
export const FUNCTION_BUNDLING = {
  /** The pinned Lambda runtime (RATE_LIMIT_RUNTIME in rate-limit-function.ts). */
  target: 'node24',
  minify: true,
  /**
   * No keepNames: it adds 15-21 KB of __name() calls to each bundle. Nothing depends on class
   * names: errors are told apart with instanceof, and the project's error classes set `name` as a
   * property, which minification leaves alone. Only errors whose `name` getter returns
   * constructor.name (ioredis's ReplyError, when logged as the cause of a data error) show a short
   * name; their message, the Redis reply, is unchanged.
   */
  keepNames: false,
  /**
   * Left out of the bundle:
   * - the AWS SDK v3, which the Node.js runtime ships (bundling it would only add cold-start
   *   weight);
   * - supports-color, which `debug` (ioredis's logging) loads inside a try only to colour output on a
   *   terminal: a function's output never is one, and without the module debug logs uncoloured.
   */
  external: ['@aws-sdk/*', 'supports-color'],
  /**
   * Two of ioredis's dependencies choose their code when they load, by the platform they find, so a
   * bundler keeps both versions. A Lambda function always loads the same one, named here (4.3 KiB
   * of each ElastiCache bundle; a test checks that these are the files Node loads):
   * - debug: its Node.js half, not the one for browsers and Electron renderers;
   * - redis-errors: its classes for Node.js 7 and later.
   */
  alias: {
    debug: 'debug/src/node.js',
    'redis-errors': 'redis-errors/lib/modern.js',
  },
} as const;

/** The aliases as esbuild's command line writes them (`from=to`), as the construct passes them. */
export const ALIAS_ARGUMENTS: readonly string[] = Object.entries(FUNCTION_BUNDLING.alias).map(([from, to]) => `${from}=${to}`);
