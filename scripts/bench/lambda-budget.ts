/**
 * The Lambda budget: the minified bundle of every handler, the bundle of its dependencies alone,
 * and the cold initialisation (fresh Node process: load the bundle, answer the first API Gateway
 * event) compared with an empty handler bundled the same way, in the same run.
 *
 * Each stack deploys the entries of its backend (lambda/handlers/<backend>/<route>.ts): the
 * ElastiCache ones cold-start against the bench's redis-server, the Upstash ones against an
 * Upstash-compatible REST server in front of it.
 *
 * Bundling uses the settings of lib/constructs/rate-limit-function.ts (what gets deployed): CJS,
 * platform node, target node24, minify (without keepNames), @aws-sdk/* external. Sizes exclude the
 * source map.
 *
 * "Dependencies alone" is a bundle of a generated entry that imports exactly what the handler's own
 * files import from packages (the same specifiers and the same named bindings, read from the source
 * of every project file esbuild kept in the handler's bundle) and nothing else.
 */
import { spawn } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import * as ts from 'typescript';
import { ALIAS_ARGUMENTS, FUNCTION_BUNDLING } from '../../lib/constructs/function-bundling';
import { startUpstashCompatibleServer } from '../../test/harness/upstash-compatible-server';
import type { RedisAddress } from './limiters';
import { REPO_ROOT, type BenchOptions } from './options';
import { median } from './stats';

export const HANDLERS = ['check', 'settle', 'status', 'reset'] as const;
export type HandlerName = (typeof HANDLERS)[number];

/** The backends a stack deploys, each with its own handler entries. */
export const VARIANTS = ['elasticache', 'upstash'] as const;
export type Variant = (typeof VARIANTS)[number];

/** As deployed (lib/constructs/rate-limit-function.ts, with its FUNCTION_BUNDLING settings). */
const BUNDLE_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: FUNCTION_BUNDLING.target,
  format: 'cjs',
  minify: FUNCTION_BUNDLING.minify,
  keepNames: FUNCTION_BUNDLING.keepNames,
  external: [...FUNCTION_BUNDLING.external],
  alias: FUNCTION_BUNDLING.alias,
  write: false,
  metafile: true,
  logLevel: 'silent',
};

export interface BundleFigure {
  readonly name: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

export interface HandlerBudget extends BundleFigure {
  readonly handler: HandlerName;
  readonly variant: Variant;
  readonly dependencies: BundleFigure;
  /** The generated dependencies-only entry (for the report). */
  readonly dependencyImports: readonly string[];
  /** Bytes of the handler bundle that come from project files (esbuild's attribution). */
  readonly projectBytes: number;
  /** Bytes of the handler bundle per package, largest first (esbuild's attribution). */
  readonly packages: ReadonlyArray<{ readonly name: string; readonly bytes: number }>;
  readonly ratioToDependencies: number;
  readonly coldStart: ColdStartFigure;
}

export interface ColdStartFigure {
  readonly runs: number;
  /** Spawn to answer, wall clock in the parent (median). */
  readonly wallMs: number;
  /** Inside the child: Node start-up until the runner begins, require of the bundle, first invocation. */
  readonly startupMs: number;
  readonly requireMs: number;
  readonly invokeMs: number;
  readonly statusCodes: readonly number[];
  readonly failures: number;
  readonly firstFailure: string | undefined;
}

export interface LambdaBudget {
  readonly settings: string;
  readonly empty: BundleFigure & { readonly coldStart: ColdStartFigure };
  /** The ElastiCache stack's functions. */
  readonly handlers: readonly HandlerBudget[];
  /** The Upstash stack's functions. */
  readonly upstashHandlers: readonly HandlerBudget[];
}

const EMPTY_HANDLER = `export const handler = async () => ({ statusCode: 200, headers: {}, body: '{}' });\n`;

export async function measureLambdaBudget(
  redis: RedisAddress,
  options: Pick<BenchOptions, 'coldStarts'>,
  progress: (message: string) => void = () => undefined,
): Promise<LambdaBudget> {
  const upstash = await startUpstashCompatibleServer({ redis: { host: redis.host, port: redis.port }, token: 'bench-cold-start-token' });
  const backends: Readonly<Record<Variant, NodeJS.ProcessEnv>> = {
    elasticache: { RATE_LIMIT_BACKEND: 'elasticache', ELASTICACHE_REDIS_HOST: redis.host, ELASTICACHE_REDIS_PORT: String(redis.port) },
    upstash: { RATE_LIMIT_BACKEND: 'upstash', UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token },
  };
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-lambda-'));
  try {
    const empty = await bundleSource('empty', EMPTY_HANDLER, dir);
    const handlers: Array<Omit<HandlerBudget, 'coldStart'> & { file: string }> = [];
    // Handlers with the same package imports share one dependencies-only bundle.
    const dependencyBundles = new Map<string, Promise<Bundled>>();
    for (const variant of VARIANTS) {
      for (const handler of HANDLERS) {
        const name = `${variant}/${handler}`;
        progress(`bundling ${name}`);
        const entry = path.join(REPO_ROOT, 'lambda', 'handlers', variant, `${handler}.ts`);
        const bundled = await bundleEntry(name.replace('/', '-'), entry, dir);
        const imports = await dependencyImports(bundled.metafile);
        const source = imports.join('\n') + '\n';
        if (!dependencyBundles.has(source)) {
          dependencyBundles.set(source, bundleSource(`dependencies-${dependencyBundles.size + 1}`, source, dir, dependencyKeeper(imports)));
        }
        const dependencies = await dependencyBundles.get(source)!;
        handlers.push({
          handler,
          variant,
          name,
          bytes: bundled.bytes,
          gzipBytes: bundled.gzipBytes,
          file: bundled.file,
          dependencies: { name: dependencies.name, bytes: dependencies.bytes, gzipBytes: dependencies.gzipBytes },
          dependencyImports: imports,
          projectBytes: projectBytesOf(bundled.metafile),
          packages: packageBytesOf(bundled.metafile),
          ratioToDependencies: bundled.bytes / dependencies.bytes,
        });
      }
    }

    // Cold starts, round-robin over the bundles so that machine noise is spread evenly.
    const runs = new Map<string, ColdStartRun[]>();
    const targets = [
      { name: 'empty', file: empty.file, handler: undefined as HandlerName | undefined, backend: backends.elasticache },
      ...handlers.map((h) => ({ name: h.name, file: h.file, handler: h.handler, backend: backends[h.variant] })),
    ];
    for (let run = 0; run < options.coldStarts; run++) {
      progress(`cold starts ${run + 1}/${options.coldStarts}`);
      for (const target of targets) {
        const result = await coldStart(target.file, eventFor(target.handler, run), target.backend);
        runs.set(target.name, [...(runs.get(target.name) ?? []), result]);
      }
    }
    const budgets = handlers.map(({ file: _file, ...rest }) => ({ ...rest, coldStart: summarizeColdStarts(runs.get(rest.name) ?? []) }));
    return {
      settings:
        `esbuild: bundle, platform node, format cjs, target ${FUNCTION_BUNDLING.target}, minify, ` +
        `external ${FUNCTION_BUNDLING.external.join(' ')}, alias ${ALIAS_ARGUMENTS.join(' ')} ` +
        '(as lib/constructs/rate-limit-function.ts); sizes without the source map',
      empty: { name: 'empty', bytes: empty.bytes, gzipBytes: empty.gzipBytes, coldStart: summarizeColdStarts(runs.get('empty') ?? []) },
      handlers: budgets.filter((h) => h.variant === 'elasticache'),
      upstashHandlers: budgets.filter((h) => h.variant === 'upstash'),
    };
  } finally {
    await upstash.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

interface Bundled extends BundleFigure {
  readonly file: string;
  readonly metafile: Metafile;
}

async function bundleEntry(name: string, entry: string, dir: string): Promise<Bundled> {
  return bundle(name, { ...BUNDLE_OPTIONS, entryPoints: [entry] }, dir);
}

async function bundleSource(name: string, source: string, dir: string, footer = ''): Promise<Bundled> {
  return bundle(
    name,
    { ...BUNDLE_OPTIONS, stdin: { contents: source + footer, resolveDir: REPO_ROOT, sourcefile: `${name}.ts`, loader: 'ts' } },
    dir,
  );
}

async function bundle(name: string, buildOptions: BuildOptions, dir: string): Promise<Bundled> {
  const outdir = path.join(dir, name);
  await mkdir(outdir, { recursive: true });
  const outfile = path.join(outdir, 'index.js');
  const result = await build({ ...buildOptions, absWorkingDir: REPO_ROOT, outfile });
  const output = result.outputFiles?.find((file) => file.path.endsWith('.js'));
  if (!output || !result.metafile) throw new Error(`esbuild produced no bundle for ${name}`);
  await writeFile(outfile, output.contents);
  return { name, bytes: output.contents.length, gzipBytes: gzipSync(output.contents).length, file: outfile, metafile: result.metafile };
}

const BUILTINS = new Set(builtinModules);

function isPackageSpecifier(specifier: string): boolean {
  return !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.startsWith('node:') && !BUILTINS.has(specifier);
}

/**
 * The import statements the handler's project files make into packages, as kept by esbuild
 * (imports used only as types are dropped by it and never reach the metafile), with the named
 * bindings read from the source.
 */
export async function dependencyImports(metafile: Metafile): Promise<string[]> {
  const bindings = new Map<string, Set<string>>();
  for (const [file, input] of Object.entries(metafile.inputs)) {
    if (file.includes('node_modules/') || !/\.[cm]?[jt]s$/.test(file)) continue;
    const kept = new Set(input.imports.filter((i) => i.original !== undefined && isPackageSpecifier(i.original)).map((i) => i.original!));
    if (kept.size === 0) continue;
    const source = await readFile(path.join(REPO_ROOT, file), 'utf8');
    for (const [specifier, names] of packageBindings(file, source)) {
      if (!kept.has(specifier)) continue;
      const set = bindings.get(specifier) ?? new Set<string>();
      for (const name of names) set.add(name);
      bindings.set(specifier, set);
    }
  }
  let alias = 0;
  return [...bindings.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([specifier, names]) => {
      const list = [...names].sort();
      const star = list.includes('*');
      const named = list.filter((name) => name !== '*').map((name) => `${name === 'default' ? 'default' : name} as d${alias++}`);
      const parts = [
        star ? `import * as d${alias++} from '${specifier}';` : '',
        named.length > 0 ? `import { ${named.join(', ')} } from '${specifier}';` : '',
      ];
      return parts.filter(Boolean).join('\n') || `import '${specifier}';`;
    });
}

/** Keeps every imported binding alive, so the bundler cannot drop what the handler would use. */
function dependencyKeeper(imports: readonly string[]): string {
  const names = imports.join('\n').match(/\bd\d+\b/g) ?? [];
  return `\n(globalThis as any).__benchDependencies = [${[...new Set(names)].join(', ')}];\n`;
}

/** Package specifier -> value bindings imported (`*` for a namespace, side-effect or dynamic import). */
export function packageBindings(fileName: string, source: string): Map<string, Set<string>> {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found = new Map<string, Set<string>>();
  const add = (specifier: string, name: string): void => {
    if (!isPackageSpecifier(specifier)) return;
    const set = found.get(specifier) ?? new Set<string>();
    set.add(name);
    found.set(specifier, set);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const specifier = node.moduleSpecifier.text;
      const clause = node.importClause;
      if (!clause) add(specifier, '*');
      else if (!clause.isTypeOnly) {
        if (clause.name) add(specifier, 'default');
        const bindings = clause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) add(specifier, '*');
        if (bindings && ts.isNamedImports(bindings)) {
          for (const element of bindings.elements) {
            if (!element.isTypeOnly) add(specifier, (element.propertyName ?? element.name).text);
          }
        }
      }
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) {
      const specifier = node.moduleSpecifier.text;
      const clause = node.exportClause;
      if (!clause || ts.isNamespaceExport(clause)) add(specifier, '*');
      else for (const element of clause.elements) if (!element.isTypeOnly) add(specifier, (element.propertyName ?? element.name).text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text, '*');
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function outputInputs(metafile: Metafile): Array<[string, number]> {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined) ?? Object.values(metafile.outputs)[0];
  return Object.entries(output.inputs).map(([file, input]) => [file, input.bytesInOutput]);
}

function projectBytesOf(metafile: Metafile): number {
  return outputInputs(metafile)
    .filter(([file]) => !file.includes('node_modules/'))
    .reduce((sum, [, bytes]) => sum + bytes, 0);
}

function packageBytesOf(metafile: Metafile): Array<{ name: string; bytes: number }> {
  const totals = new Map<string, number>();
  for (const [file, bytes] of outputInputs(metafile)) {
    // The innermost node_modules/<package> of the path names the package.
    const match = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    if (match) totals.set(match[1], (totals.get(match[1]) ?? 0) + bytes);
  }
  return [...totals.entries()].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

// ---------------------------------------------------------------------------------------------
// Cold starts

interface ColdStartRun {
  readonly ok: boolean;
  readonly wallMs: number;
  readonly startupMs: number;
  readonly requireMs: number;
  readonly invokeMs: number;
  readonly statusCode: number;
  readonly error?: string;
}

const RUNNER = path.join(__dirname, 'cold-init-runner.cjs');
const COLD_START_LIMIT_MS = 20_000;

function coldStart(bundleFile: string, event: unknown, backend: NodeJS.ProcessEnv): Promise<ColdStartRun> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // As in Lambda: the function name is set (the handlers then initialise while the module
    // loads), the backend points at the bench's redis-server (directly, or through REST).
    AWS_LAMBDA_FUNCTION_NAME: 'bench-cold-start',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
    AWS_REGION: 'us-east-1',
    POWERTOOLS_SERVICE_NAME: 'bench',
    POWERTOOLS_METRICS_NAMESPACE: 'Bench',
    ...backend,
  };
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [RUNNER, bundleFile, JSON.stringify(event)], {
      env,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    let settled = false;
    const finish = (run: ColdStartRun): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve(run);
    };
    const failed = (error: string): ColdStartRun => ({
      ok: false,
      wallMs: performance.now() - started,
      startupMs: Number.NaN,
      requireMs: Number.NaN,
      invokeMs: Number.NaN,
      statusCode: 0,
      error,
    });
    const timer = setTimeout(() => finish(failed(`no answer within ${COLD_START_LIMIT_MS} ms`)), COLD_START_LIMIT_MS);
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.on(
      'message',
      (message: { ok: boolean; status?: number; startupMs?: number; requireMs?: number; invokeMs?: number; error?: string }) => {
        const wallMs = performance.now() - started;
        if (!message.ok) return finish(failed(message.error ?? 'runner failed'));
        finish({
          ok: true,
          wallMs,
          startupMs: message.startupMs ?? Number.NaN,
          requireMs: message.requireMs ?? Number.NaN,
          invokeMs: message.invokeMs ?? Number.NaN,
          statusCode: message.status ?? 0,
        });
      },
    );
    child.on('error', (error) => finish(failed(error.message)));
    child.on('exit', (code) => finish(failed(`runner exited (${code}) before answering: ${stderr.trim().slice(-500)}`)));
  });
}

function summarizeColdStarts(runs: readonly ColdStartRun[]): ColdStartFigure {
  const ok = runs.filter((run) => run.ok);
  return {
    runs: runs.length,
    wallMs: median(ok.map((run) => run.wallMs)),
    startupMs: median(ok.map((run) => run.startupMs)),
    requireMs: median(ok.map((run) => run.requireMs)),
    invokeMs: median(ok.map((run) => run.invokeMs)),
    statusCodes: [...new Set(ok.map((run) => run.statusCode))].sort(),
    failures: runs.length - ok.length,
    firstFailure: runs.find((run) => !run.ok)?.error,
  };
}

/** A minimal API Gateway REST (payload 1.0) event for the handler's route. */
export function eventFor(handler: HandlerName | undefined, run: number): unknown {
  const creatorId = `cold-start-${run}`;
  const base = {
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: { 'content-type': ['application/json'] },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    isBase64Encoded: false,
    requestContext: { requestId: `cold-start-request-${run}` },
  };
  switch (handler) {
    case undefined:
    case 'check':
      return { ...base, httpMethod: 'POST', resource: '/v1/check', path: '/v1/check', body: JSON.stringify({ creatorId, tier: 'pro' }) };
    case 'settle':
      return {
        ...base,
        httpMethod: 'POST',
        resource: '/v1/settle',
        path: '/v1/settle',
        body: JSON.stringify({ creatorId, tier: 'pro', requestId: `cold-start-${run}`, tokens: 0 }),
      };
    case 'status':
      return {
        ...base,
        httpMethod: 'GET',
        resource: '/v1/status/{creatorId}',
        path: `/v1/status/${creatorId}`,
        pathParameters: { creatorId },
        body: null,
      };
    case 'reset':
      return { ...base, httpMethod: 'POST', resource: '/v1/reset', path: '/v1/reset', body: JSON.stringify({ creatorId }) };
  }
}
