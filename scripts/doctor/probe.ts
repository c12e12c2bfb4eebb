/**
 * The low-level view of a backend the doctor needs, over either client: ioredis (TCP, TLS, cluster)
 * or @upstash/redis (REST). Each method is one question; the checks decide what the answer means.
 */
export interface ConnectionFacts {
  /** Negotiated TLS protocol (e.g. "TLSv1.3"), or undefined for a plain connection. */
  readonly tlsProtocol: string | undefined;
  /** Nodes that run scripts: 1, or the masters of a cluster. */
  readonly scriptNodes: number;
}

/** A tiny script that reads the server clock, as the admission script does. */
export const CLOCK_SCRIPT = "local t = redis.call('TIME') return {t[1], t[2]}";

export interface BackendProbe {
  /** Opens the connection(s) and PINGs. Rejects with the server's or the network's error. */
  connect(): Promise<ConnectionFacts>;
  /** `INFO <section>` as key/value pairs (of the first node), or undefined when the service refuses INFO. */
  info(section: string): Promise<Record<string, string> | undefined>;
  /** The same section from every node that runs scripts (one entry per node); refused nodes left out. */
  infoEverywhere(section: string): Promise<Record<string, string>[]>;
  /** `CONFIG GET name`, or undefined when CONFIG is refused (ElastiCache and Upstash refuse it). */
  configGet(name: string): Promise<string | undefined>;
  /** `ACL WHOAMI`, or undefined when refused. */
  whoAmI(): Promise<string | undefined>;
  /** SCRIPT LOAD then EVALSHA of `script` on every node that runs scripts; returns each node's reply. */
  loadAndRunScript(script: string): Promise<unknown[]>;
  /** One EVALSHA of a script loaded by loadAndRunScript, on the first node. */
  runLoadedScript(): Promise<unknown>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error && !error.message.includes(error.cause.message) ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

/** The server refused the credentials, or wants some: the connection itself worked. */
export function isAuthError(error: unknown): boolean {
  return /NOAUTH|WRONGPASS|invalid password|invalid username-password|Unauthorized|missing auth token|NOPERM this user has no permissions to run the 'auth'/i.test(
    errorMessage(error),
  );
}

/** A reply meaning "this command is not available here", as opposed to a network failure. */
export function isRefusal(error: unknown): boolean {
  return /unknown command|NOPERM|not available|not allowed|disabled|unsupported|ERR unknown subcommand/i.test(errorMessage(error));
}

/** Parses an INFO reply ("key:value" lines, "# Section" headers). */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const separator = line.indexOf(':');
    if (line.startsWith('#') || separator <= 0) continue;
    fields[line.slice(0, separator)] = line.slice(separator + 1).trim();
  }
  return fields;
}
