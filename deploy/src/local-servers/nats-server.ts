import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ServerProcess, findBinary, freePort, startServerProcess } from './server-process.js';

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /**
   * Enable JetStream with its store in the temporary directory (default true;
   * leave it off with a configFile that has a `jetstream` block of its own).
   */
  jetstream?: boolean;
  /** Port to listen on (default: a free port chosen at start). */
  port?: number;
  /**
   * Run in a process group of its own, so a terminal's Ctrl-C (SIGINT to the
   * foreground group) does not reach it and the owner can stop it last, after
   * the processes that use it (the local cluster launcher). Default false.
   */
  ownProcessGroup?: boolean;
  /**
   * A server configuration file (`-c`), e.g. with authorization and TLS. The
   * address and ports above still apply: flags win over the file.
   */
  configFile?: string;
  /** Extra environment of the server, for the `$VARIABLE`s a configuration file refers to. */
  env?: Record<string, string>;
  /** Join a cluster (nats-cluster.ts): this server's name, its route port, and the other members' route URLs. */
  cluster?: NatsClusterMembership;
  /**
   * The server's `max_payload` in bytes (default nats-server's, 1 MiB), set
   * through a configuration file the server's directory holds. Not with
   * `configFile`: put it in that file instead.
   */
  maxPayload?: number;
}

/** One server's place in a NATS cluster. */
export interface NatsClusterMembership {
  /** The cluster's name, the same on every member. */
  name: string;
  /** This server's unique name (JetStream places replicas by it). */
  serverName: string;
  /** Port other members connect to. */
  routePort: number;
  /** `nats-route://127.0.0.1:<port>` of the other members. */
  routes: string[];
}

/** A running `nats-server` child process (the local cluster launcher's, or a test's). */
export interface NatsServerProcess extends ServerProcess {
  /** Client URL, `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** Temporary directory (JetStream store when enabled); kept across restart(), removed by stop(). */
  readonly storeDir: string;
  /** The monitoring endpoint (`/varz`, `/connz`, `/subsz`), `http://127.0.0.1:<port>`; kept across restart(). */
  readonly monitorUrl: string;
}

/**
 * Starts a real `nats-server` (the Debian package, found on PATH or in
 * /usr/sbin) on 127.0.0.1 with a temporary directory, and resolves once it
 * accepts TCP connections. Fails with the server's output if it exits or
 * does not become ready, and with an error naming the Debian package if the
 * binary is missing.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerProcess> {
  const jetstream = options.jetstream ?? true;
  if (options.maxPayload !== undefined && options.configFile !== undefined) throw new RangeError('maxPayload goes into the configFile when there is one');
  const monitorPort = await freePort();
  const server = await startServerProcess({
    name: 'nats-server',
    binary: findBinary('nats-server', 'nats-server'),
    args: (port, dir) => [
      ...(options.configFile !== undefined ? ['-c', options.configFile] : []),
      ...(options.maxPayload !== undefined ? ['-c', maxPayloadConfig(dir, options.maxPayload)] : []),
      ...['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)],
      ...(jetstream ? ['-js', '-sd', dir] : []),
      ...(options.cluster ? clusterArgs(options.cluster) : []),
    ],
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
    ...(options.ownProcessGroup !== undefined ? { ownProcessGroup: options.ownProcessGroup } : {}),
  });
  return Object.assign(server, { url: `nats://127.0.0.1:${server.port}`, storeDir: server.dir, monitorUrl: `http://127.0.0.1:${monitorPort}` });
}

function clusterArgs(c: NatsClusterMembership): string[] {
  return ['--server_name', c.serverName, '--cluster_name', c.name, '--cluster', `nats://127.0.0.1:${c.routePort}`, '--routes', c.routes.join(',')];
}

/** A configuration file in `dir` that sets only max_payload (nats-server has no flag for it). */
function maxPayloadConfig(dir: string, bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1) throw new RangeError(`max_payload must be a positive number of bytes, not ${bytes}`);
  const file = join(dir, 'max-payload.conf');
  writeFileSync(file, `max_payload: ${bytes}\n`);
  return file;
}
