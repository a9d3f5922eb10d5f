import { createServer } from 'node:net';
import { PortTakenError } from './errors.js';

/** A port free on 127.0.0.1 a moment ago: the kernel picks one for a listener that is closed at once. */
export function freePort(): Promise<number> {
  return listenOnce(0);
}

/**
 * Fails with PortTakenError if `port` is in use on 127.0.0.1. Checked before
 * the JVM starts: otherwise the node would spend seconds starting only to die
 * on the bind, or a client would connect to whatever already listens there.
 */
export async function assertPortFree(port: number): Promise<void> {
  await listenOnce(port).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'EADDRINUSE' ? new PortTakenError(port, { cause: err }) : err;
  });
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = address !== null && typeof address !== 'string' ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}
