import { createServer } from 'node:net';

/**
 * Asks the kernel for a currently unused TCP port on the loopback interface.
 *
 * The port is released before this resolves, so another process can grab it
 * in between; callers that bind it later must be ready to retry on
 * EADDRINUSE. That race is the price of letting a child process (which we
 * cannot hand a listening socket to) bind the port itself.
 */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected listen address: ${String(address)}`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
