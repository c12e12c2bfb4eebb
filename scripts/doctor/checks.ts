/**
 * The doctor's checks, in order. Each one answers one question about the backend and says what to
 * do when the answer is wrong; later checks are skipped when what they need (a connection, working
 * scripts) failed earlier, so one root cause gives one failure, not nine.
 */
import { percentile } from '../bench/stats';
import { runLimiterRound } from './limiter-round';
import { CLOCK_SCRIPT, errorMessage, isAuthError, isRefusal, type BackendProbe, type ConnectionFacts } from './probe';
import { fail, pass, skip, warn, type CheckOutcome } from './report';
import { isLoopback, safeUrl, type ResolvedTarget } from './target';

export interface DoctorContext {
  readonly target: ResolvedTarget;
  readonly probe: BackendProbe;
  readonly tier: string;
  readonly samples: number;
  /** Facts established by earlier checks. */
  connection?: ConnectionFacts;
  connectError?: unknown;
  scriptsWork?: boolean;
  /** Server clock read inside a script, and the local clock at the middle of that round trip. */
  clockSample?: { serverMs: number; localMs: number; roundTripMs: number };
}

export interface Check {
  readonly name: string;
  /** What the progress line says while it runs. */
  readonly doing: string;
  run(context: DoctorContext): Promise<CheckOutcome>;
}

/** Clock difference above which `reset` timestamps handed to clients look wrong to them. */
const CLOCK_SKEW_WARN_MS = 1000;
const EVICTION_FIX =
  'every rate-limit key has a TTL, so volatile-* policies evict them as readily as allkeys-* ones, and an evicted key ' +
  'forgets usage (creators get quota back). Set maxmemory-policy to noeviction (ElastiCache: a custom parameter group), ' +
  'or give the rate limiter a dedicated cluster with memory to spare';

const endpoint = (target: ResolvedTarget): string =>
  target.backend.kind === 'redis' ? `${target.backend.host}:${target.backend.port}` : safeUrl(target.backend.url);

const connected = (context: DoctorContext): boolean => context.connection !== undefined;

function needsConnection(context: DoctorContext): CheckOutcome | undefined {
  return connected(context) ? undefined : skip('needs a working, authenticated connection');
}

const connectivity: Check = {
  name: 'connectivity',
  doing: 'connecting and sending PING',
  async run(context) {
    const started = performance.now();
    try {
      context.connection = await context.probe.connect();
    } catch (error) {
      context.connectError = error;
      // An authentication refusal proves the network path and the handshake work.
      if (isAuthError(error)) return pass(`reached ${endpoint(context.target)}; the server asks for credentials (see auth)`);
      const message = errorMessage(error);
      if (/cluster support disabled/i.test(message)) {
        return fail(`${endpoint(context.target)} is not a cluster: ${message}`, 'unset ELASTICACHE_REDIS_CLUSTER (or drop --cluster)');
      }
      return fail(
        `cannot reach ${endpoint(context.target)}: ${message}`,
        'check host, port and TLS settings, and that this machine can reach the endpoint (security groups, VPC, firewall)',
      );
    }
    const nodes = context.connection.scriptNodes > 1 ? ` (${context.connection.scriptNodes} masters)` : '';
    const server = await context.probe.info('server').catch(() => undefined);
    const version = server?.redis_version ? `, redis_version ${server.redis_version}` : '';
    return pass(`PING answered by ${endpoint(context.target)}${nodes} in ${Math.round(performance.now() - started)} ms${version}`);
  },
};

const tls: Check = {
  name: 'tls',
  doing: 'checking in-transit encryption',
  async run(context) {
    const backend = context.target.backend;
    const host = backend.kind === 'redis' ? backend.host : safeHost(backend.url);
    const encrypted = backend.kind === 'redis' ? backend.tls : backend.url.startsWith('https:');
    if (encrypted) {
      if (!connected(context) && !isAuthError(context.connectError)) return skip('no connection was established');
      const protocol = context.connection?.tlsProtocol ?? 'TLS';
      return pass(`${protocol}, server certificate verified for ${host}`);
    }
    if (isLoopback(host)) return skip(`plain text to ${host} (loopback; fine for a local server only)`);
    return warn(
      `traffic to ${host} is not encrypted`,
      backend.kind === 'redis'
        ? 'enable in-transit encryption on the cluster and set ELASTICACHE_REDIS_TLS=true (or --tls)'
        : 'use the https:// URL Upstash gives you',
    );
  },
};

const auth: Check = {
  name: 'auth',
  doing: 'checking authentication (credentials are never printed)',
  async run(context) {
    const backend = context.target.backend;
    if (isAuthError(context.connectError)) {
      const message = errorMessage(context.connectError);
      if (backend.kind === 'upstash')
        return fail(`the REST token was rejected: ${message}`, 'set UPSTASH_REDIS_REST_TOKEN (or --token) to the token of this database');
      return backend.password
        ? fail(
            `the credentials were rejected: ${message}`,
            'check ELASTICACHE_REDIS_USERNAME and ELASTICACHE_REDIS_PASSWORD (or the AUTH secret)',
          )
        : fail(
            `the server requires AUTH: ${message}`,
            'set ELASTICACHE_REDIS_PASSWORD (and _USERNAME for an ACL user), or ELASTICACHE_REDIS_AUTH_SECRET_ARN',
          );
    }
    const missing = needsConnection(context);
    if (missing) return missing;
    if (backend.kind === 'upstash') return pass('the REST token was accepted');
    if (!backend.password) {
      return isLoopback(backend.host)
        ? skip('the server accepts connections without AUTH (loopback; fine for a local server only)')
        : warn('the server accepts connections without AUTH', 'enable AUTH or RBAC on the cluster and give the functions its credentials');
    }
    const user = (await context.probe.whoAmI().catch(() => undefined)) ?? backend.username ?? 'default';
    return pass(`authenticated as ${user}`);
  },
};

const clusterMode: Check = {
  name: 'cluster mode',
  doing: 'comparing the configured mode with the server',
  async run(context) {
    const missing = needsConnection(context);
    if (missing) return missing;
    const backend = context.target.backend;
    const cluster = await context.probe.info('cluster').catch(() => undefined);
    if (backend.kind === 'upstash') {
      return skip('managed by Upstash (one REST endpoint; scripts run where their keys live)');
    }
    if (!cluster || cluster.cluster_enabled === undefined) return skip('the server does not report cluster_enabled');
    const serverIsCluster = cluster.cluster_enabled === '1';
    if (serverIsCluster && !backend.cluster) {
      return fail(
        'the server runs in cluster mode but the client is configured for a single node',
        'set ELASTICACHE_REDIS_CLUSTER=true (or --cluster)',
      );
    }
    if (!serverIsCluster) return pass('single node, as configured');
    const masters = context.connection!.scriptNodes;
    return pass(`cluster mode, as configured; ${masters} masters, each creator's keys share one hash slot`);
  },
};

const scripts: Check = {
  name: 'scripts',
  doing: 'SCRIPT LOAD and EVALSHA of a script that calls TIME',
  async run(context) {
    const missing = needsConnection(context);
    if (missing) return missing;
    let replies: unknown[];
    const started = performance.now();
    try {
      replies = await context.probe.loadAndRunScript(CLOCK_SCRIPT);
    } catch (error) {
      context.scriptsWork = false;
      const refused = isRefusal(error) ? 'the service refuses Lua scripts' : 'running a Lua script failed';
      return fail(
        `${refused}: ${errorMessage(error)}`,
        'the limiter decides every check in one Lua script: allow EVAL, EVALSHA and SCRIPT LOAD (ACL: +@scripting) for its user',
      );
    }
    const roundTripMs = performance.now() - started;
    const seconds = replies.map(clockFromReply);
    if (seconds.some((value) => value === undefined)) {
      context.scriptsWork = false;
      return fail(`TIME inside a script returned something unexpected: ${JSON.stringify(replies)}`);
    }
    context.scriptsWork = true;
    const localMs = Date.now() - roundTripMs / (2 * replies.length);
    context.clockSample = { serverMs: seconds[seconds.length - 1]!, localMs, roundTripMs: roundTripMs / replies.length };
    const where = replies.length > 1 ? ` on all ${replies.length} masters` : '';
    return pass(`SCRIPT LOAD, EVALSHA and TIME inside a script work${where}`);
  },
};

const clock: Check = {
  name: 'clock',
  doing: 'comparing the server clock with this machine',
  async run(context) {
    if (!context.clockSample) return skip('needs a working script (the server clock is read inside one, as the limiter does)');
    const { serverMs, localMs, roundTripMs } = context.clockSample;
    const skewMs = Math.round(serverMs - localMs);
    const uncertainty = Math.ceil(roundTripMs / 2);
    const text = `server clock is ${Math.abs(skewMs)} ms ${skewMs >= 0 ? 'ahead of' : 'behind'} this machine (+/- ${uncertainty} ms)`;
    if (Math.abs(skewMs) - uncertainty > CLOCK_SKEW_WARN_MS) {
      return warn(
        text,
        "decisions use only the server clock, so limits stay exact, but the reset timestamps clients receive are in the server's time: sync this machine or the server with NTP",
      );
    }
    return pass(`${text}; decisions use the server clock only`);
  },
};

const latency: Check = {
  name: 'latency',
  doing: 'timing round trips',
  async run(context) {
    const missing = needsConnection(context);
    if (missing) return missing;
    const viaScript = context.scriptsWork === true;
    const samples: number[] = [];
    try {
      for (let index = 0; index < context.samples; index += 1) {
        const started = performance.now();
        if (viaScript) await context.probe.runLoadedScript();
        else await context.probe.ping();
        samples.push(performance.now() - started);
      }
    } catch (error) {
      return fail(`a round trip failed after ${samples.length} of ${context.samples}: ${errorMessage(error)}`);
    }
    const p50 = percentile(samples, 50);
    const p99 = percentile(samples, 99);
    const deadline = context.target.timeoutMs;
    const text = `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms over ${samples.length} ${viaScript ? 'EVALSHA' : 'PING'} calls (deadline ${deadline} ms)`;
    if (p50 > deadline)
      return fail(text, `most checks would miss the deadline: raise RATE_LIMIT_TIMEOUT_MS or move the functions closer to the backend`);
    if (p99 > deadline / 2)
      return warn(text, 'the slowest calls come near the deadline: raise RATE_LIMIT_TIMEOUT_MS or move closer to the backend');
    return pass(text);
  },
};

const eviction: Check = {
  name: 'eviction policy',
  doing: 'reading maxmemory-policy',
  async run(context) {
    const missing = needsConnection(context);
    if (missing) return missing;
    const memory = await context.probe.infoEverywhere('memory').catch(() => []);
    const fromInfo = memory.map((fields) => fields.maxmemory_policy).filter((value): value is string => Boolean(value));
    const policies =
      fromInfo.length > 0
        ? fromInfo
        : [await context.probe.configGet('maxmemory-policy').catch(() => undefined)].filter((value): value is string => Boolean(value));
    if (policies.length === 0) {
      return skip(
        context.target.backend.kind === 'upstash'
          ? "not readable over REST: check the database's eviction setting in the Upstash console (it must stay off)"
          : "not readable (INFO memory and CONFIG GET refused): check the parameter group's maxmemory-policy",
      );
    }
    const distinct = [...new Set(policies)];
    const evicting = distinct.filter((policy) => policy !== 'noeviction');
    if (evicting.length > 0) return warn(`maxmemory-policy is ${distinct.join(', ')}: rate-limit keys can be evicted`, EVICTION_FIX);
    return pass('maxmemory-policy is noeviction: rate-limit keys are never evicted');
  },
};

const fullRound: Check = {
  name: 'full round',
  doing: 'check, status, settle and reset on a throwaway creator',
  async run(context) {
    const missing = needsConnection(context);
    if (missing) return missing;
    if (context.scriptsWork !== true) return skip('needs working scripts');
    return runLimiterRound(context.target, context.tier);
  },
};

export const CHECKS: readonly Check[] = [connectivity, tls, auth, clusterMode, scripts, clock, latency, eviction, fullRound];

/** TIME as a script reply ([seconds, microseconds], strings or numbers) in epoch ms. */
function clockFromReply(reply: unknown): number | undefined {
  if (!Array.isArray(reply) || reply.length !== 2) return undefined;
  const [seconds, micros] = reply.map(Number);
  if (!Number.isFinite(seconds) || !Number.isFinite(micros)) return undefined;
  return seconds * 1000 + micros / 1000;
}

function safeHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '(unparseable URL)';
  }
}
