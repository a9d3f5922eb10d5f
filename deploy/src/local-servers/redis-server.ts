import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ServerProcess, findBinary, startServerProcess } from './server-process.js';

/** A running `redis-server` child process (the local cluster launcher's, or a test's). */
export interface RedisServerProcess extends ServerProcess {
  /** Client URL, `redis://127.0.0.1:<port>`. */
  readonly url: string;
}

/**
 * Starts a real `redis-server` (the Debian package) on 127.0.0.1 with no
 * persistence, as production presence runs it: a restart comes back empty.
 * With `replicaOf` (a port on 127.0.0.1), it starts as that server's replica.
 * Resolves once it accepts TCP connections.
 */
export async function startRedisServer(options: { port?: number; replicaOf?: number } = {}): Promise<RedisServerProcess> {
  const server = await startServerProcess({
    name: 'redis-server',
    binary: findBinary('redis-server', 'redis-server'),
    args: (port, dir) => [
      ...['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
      ...(options.replicaOf !== undefined ? ['--replicaof', '127.0.0.1', String(options.replicaOf)] : []),
    ],
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  return Object.assign(server, { url: `redis://127.0.0.1:${server.port}` });
}

/** Options of {@link startRedisSentinel}. */
export interface RedisSentinelOptions {
  /** Port of the primary to watch, on 127.0.0.1. */
  primaryPort: number;
  /** The name clients ask the sentinel for (`redis-sentinel://…/<name>`). */
  name: string;
  /** How long the primary must not answer before it is failed over. Default 1000 ms. */
  downAfterMs?: number;
  /** Sentinels that must agree the primary is down before a failover. Default 1 (this one alone). */
  quorum?: number;
}

/**
 * Starts a Redis Sentinel (redis-server in sentinel mode) on 127.0.0.1
 * watching one primary, with a quorum of one by default, so it alone fails
 * the primary over to a replica; sentinels watching the same primary find
 * each other through it. It rewrites its configuration file in its
 * temporary directory as sentinels do.
 */
export async function startRedisSentinel(options: RedisSentinelOptions): Promise<ServerProcess> {
  const downAfterMs = options.downAfterMs ?? 1000;
  return startServerProcess({
    name: 'redis-sentinel',
    binary: findBinary('redis-server', 'redis-server'),
    args: (port, dir) => {
      const file = join(dir, 'sentinel.conf');
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${options.name} 127.0.0.1 ${options.primaryPort} ${options.quorum ?? 1}`,
          `sentinel down-after-milliseconds ${options.name} ${downAfterMs}`,
          `sentinel failover-timeout ${options.name} ${Math.max(3000, downAfterMs * 3)}`,
          `sentinel parallel-syncs ${options.name} 1`,
          '',
        ].join('\n'),
      );
      return [file, '--sentinel'];
    },
  });
}
