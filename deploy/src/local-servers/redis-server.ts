import { type ServerProcess, findBinary, startServerProcess } from './server-process.js';

/** A running `redis-server` child process (the local cluster launcher's, or a test's). */
export interface RedisServerProcess extends ServerProcess {
  /** Client URL, `redis://127.0.0.1:<port>`. */
  readonly url: string;
}

/**
 * Starts a real `redis-server` (the Debian package) on 127.0.0.1 with no
 * persistence, as production presence runs it: a restart comes back empty.
 * Resolves once it accepts TCP connections.
 */
export async function startRedisServer(options: { port?: number } = {}): Promise<RedisServerProcess> {
  const server = await startServerProcess({
    name: 'redis-server',
    binary: findBinary('redis-server', 'redis-server'),
    args: (port, dir) => ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  return Object.assign(server, { url: `redis://127.0.0.1:${server.port}` });
}
