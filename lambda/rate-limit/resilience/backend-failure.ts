/**
 * What a failed backend call means. Two kinds of failure must never be confused:
 *
 * - The backend is unavailable: no answer in time, no connection, credentials refused, or an error
 *   it would give every caller (LOADING, OOM, READONLY, an HTTP 5xx). This concerns every creator:
 *   it feeds the circuit breaker and the fail mode decides.
 * - The backend answered, with an error about one creator's keys or this one call: WRONGTYPE (a key
 *   under the creator's prefix holds another type), or a script runtime error (a key holds bytes the
 *   script cannot decode). The backend is healthy: the call fails on its own, in either fail mode,
 *   and other creators are not affected.
 *
 * Both transports are covered: ioredis raises a Redis error reply as an error whose message is the
 * reply ("WRONGTYPE Operation ... script: <sha>, on @user_script:386."); @upstash/redis raises it
 * as an UpstashError whose message is the reply followed by ", command was: [...]".
 */
import { CircuitOpenError } from './circuit-breaker';
import { DeadlineExceededError } from './deadline';
import type { UnavailableReason } from '../core/errors';

export interface UnavailableFailure {
  readonly kind: 'unavailable';
  readonly reason: UnavailableReason;
  /** One line naming the cause, safe to show a caller (no address, key or credential). */
  readonly summary: string;
}
export interface DataFailure {
  readonly kind: 'data';
  /** WRONGTYPE, or ERR for a script runtime error. */
  readonly code: string;
  readonly summary: string;
}
export type BackendFailure = UnavailableFailure | DataFailure;

/** Error replies about one creator's data or one call (see the module comment). */
const DATA_ERROR_CODES = new Set(['WRONGTYPE']);
/**
 * An ERR raised while the script ran: a Lua runtime error ("ERR user_script:114: bad argument ...")
 * or a command of the script refusing what a key holds ("ERR value is not an integer ... script:
 * <sha>, on @user_script:52."). Other codes from inside a script (OOM, BUSY, READONLY) concern the
 * whole server and stay outages.
 */
const SCRIPT_RUNTIME_ERROR = /^ERR (?:user_script:\d+:|.* on @user_script:\d+\.?$)/s;
const CREDENTIAL_ERROR_CODES = new Set(['WRONGPASS', 'NOAUTH', 'NOPERM']);
/** Error codes of the network layer (Node, undici) that mean the connection failed or was lost. */
const CONNECTION_ERROR_CODES =
  /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|UND_ERR_\w+|ERR_TLS_\w+|CERT_\w+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_\w+)$/;
/** A transport's own message may quote the network error: "... last connection error: connect ECONNREFUSED ...". */
const CONNECTION_CODE_IN_TEXT = /\b(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)\b/;
/** Messages ioredis and this library's transports give to a connection that is not there. */
const CONNECTION_MESSAGES =
  /Connection is closed|Stream isn't writeable|connection is closed|not connected within|refused the connection|certificate|fetch failed/i;

/** What `error`, thrown by a backend call, says about the backend. Never throws. */
export function classifyBackendFailure(error: unknown): BackendFailure {
  if (error instanceof DeadlineExceededError) {
    return { kind: 'unavailable', reason: 'timeout', summary: `no answer within ${error.timeoutMs} ms` };
  }
  if (error instanceof CircuitOpenError) return circuitOpenFailure(error);
  // The fetch of @upstash/redis aborted by its own signal (AbortSignal.timeout). Checked by name:
  // the DOMException it throws may come from another realm than this module's Error.
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return { kind: 'unavailable', reason: 'timeout', summary: 'no answer in time (request aborted)' };
  }
  if (!isErrorLike(error)) return { kind: 'unavailable', reason: 'server-error', summary: short(String(error)) };
  const reply = replyText(error);
  const code = /^([A-Z][A-Z_]+)\b/.exec(reply)?.[1];
  if (code !== undefined && (DATA_ERROR_CODES.has(code) || (code === 'ERR' && SCRIPT_RUNTIME_ERROR.test(reply)))) {
    return { kind: 'data', code, summary: withoutScriptLocation(reply) };
  }
  if (code !== undefined && CREDENTIAL_ERROR_CODES.has(code)) {
    return { kind: 'unavailable', reason: 'credentials', summary: short(reply) };
  }
  const networkCode = networkErrorCode(error) ?? CONNECTION_CODE_IN_TEXT.exec(reply)?.[1];
  if (networkCode !== undefined) {
    return { kind: 'unavailable', reason: 'connection', summary: `${connectionPhrase(networkCode)} (${networkCode})` };
  }
  if (CONNECTION_MESSAGES.test(reply)) {
    // "Redis refused the connection: WRONGPASS ..." (ioredis transport) names credentials too.
    const credentials = /WRONGPASS|NOAUTH|NOPERM/.test(reply);
    return { kind: 'unavailable', reason: credentials ? 'credentials' : 'connection', summary: short(reply) };
  }
  if (error.name === 'UpstashJSONParseError') {
    return { kind: 'unavailable', reason: 'server-error', summary: 'the REST endpoint answered with something that is not JSON' };
  }
  return { kind: 'unavailable', reason: 'server-error', summary: short(reply) };
}

/** A call the circuit breaker did not let through, named after the failure that opened it. */
export function circuitOpenFailure(error: CircuitOpenError): UnavailableFailure {
  const last = error.lastFailure ? `; the last one: ${error.lastFailure}` : '';
  return { kind: 'unavailable', reason: 'circuit-open', summary: `repeated failures paused calls for ${error.retryInMs} ms${last}` };
}

/** The error's text without what @upstash/redis appends (the whole command, keys and arguments). */
function replyText(error: Error): string {
  const message = String(error.message);
  const appended = message.indexOf(', command was: ');
  return (appended >= 0 ? message.slice(0, appended) : message).trim();
}

/** "WRONGTYPE Operation ... value script: <sha>, on @user_script:386." -> without the script part. */
function withoutScriptLocation(reply: string): string {
  return short(
    reply.replace(/\s*script: [0-9a-f]{40}, on @user_script:\d+\.?\s*$/, '').replace(/^ERR user_script:\d+: /, 'script error: '),
  );
}

/**
 * An Error, also one made in another realm (fetch's TypeError in a VM context, as under jest, is
 * not an instance of this realm's Error).
 */
function isErrorLike(value: unknown): value is Error {
  return value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as Error).message === 'string');
}

/** The first network error code on the error or its causes (undici nests it: TypeError -> cause). */
function networkErrorCode(error: Error): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && isErrorLike(current); depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_ERROR_CODES.test(code)) return code;
    // AggregateError (a host with several addresses): the first attempt's error says enough.
    current = current instanceof AggregateError ? current.errors[0] : current.cause;
  }
  return undefined;
}

function connectionPhrase(code: string): string {
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return 'connection lost';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not resolved';
  if (code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('UNABLE_TO')) return 'TLS handshake failed';
  return 'connection failed';
}

/**
 * Error texts can be long (scripts, commands): one line of reason is enough. Addresses are left
 * out: the text may reach a caller of the HTTP API.
 */
function short(text: string): string {
  const line = text.split('\n', 1)[0].replace(/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|\[[0-9a-f:]+\](?::\d+)?/gi, '<address>');
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
