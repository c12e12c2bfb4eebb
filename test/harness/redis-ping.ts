import { Socket, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface PingTarget {
  host: string;
  port: number;
  /** PEM of the CA that signed the server certificate; presence switches the probe to TLS. */
  tlsCa?: Buffer | string;
  timeoutMs?: number;
}

/**
 * Sends one inline `PING` over a fresh connection and resolves with the first
 * reply line (e.g. `+PONG`, or `-NOAUTH ...` on a password-protected server).
 *
 * A raw socket instead of a Redis client on purpose: no reconnect logic, no
 * offline queue, no auth handshake. It answers exactly "did the server reply
 * within the deadline", which is what readiness and pause checks need.
 * Rejects on timeout, connection errors, or a close before a full line.
 */
export function pingRedis(target: PingTarget): Promise<string> {
  const timeoutMs = target.timeoutMs ?? 1000;
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    let buffered = '';
    const socket: Socket =
      target.tlsCa === undefined
        ? netConnect({ host: target.host, port: target.port })
        : tlsConnect({
            host: target.host,
            port: target.port,
            ca: target.tlsCa,
            // The chain is still verified against the CA; only the host name
            // check is skipped, because test certificates are issued for
            // "localhost" while we always dial the 127.0.0.1 literal.
            checkServerIdentity: () => undefined,
          });
    const finish = (err: Error | null, line?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(line ?? '');
    };
    const timer = setTimeout(() => finish(new Error(`PING to ${target.host}:${target.port} timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('utf8');
    socket.once('error', (err) => finish(err));
    socket.once('close', () => finish(new Error('connection closed before a PING reply')));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\r\n');
      if (end >= 0) finish(null, buffered.slice(0, end));
    });
    socket.write('PING\r\n');
  });
}
