import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { types } from 'cassandra-driver';
import type { Logger } from '@chat/platform';
import { EmulatedCluster } from '../emulated-cluster.js';
import { CqlConnection } from './cql-connection.js';
import { PreparedStatements } from './prepared-statements.js';
import type { ServerState } from './request-runner.js';
import type { SchemaChange } from './results.js';

/** How an unreachable cluster (`cluster.setReachable(false)`) shows on the wire. */
export type UnreachableMode = 'hold' | 'close';

/** Where and what to serve; every field has a default. */
export interface CqlServerOptions {
  /** The cluster to serve (default: a new EmulatedCluster with its defaults). */
  cluster?: EmulatedCluster;
  /** The address to listen on (default 127.0.0.1). */
  host?: string;
  /** The port (default 0: a free one, see CqlServer.port). */
  port?: number;
  /** The data centre system.local reports; the driver's localDataCenter must name it (default datacenter1). */
  dataCenter?: string;
  /**
   * While the cluster is unreachable: 'hold' (default) keeps connections
   * open and leaves requests unanswered, so the driver's read timeout fires
   * (OperationTimedOutError; NoHostAvailableError for an idempotent request
   * once its retry finds no other host) and it works again the moment the
   * cluster is reachable; 'close' drops every connection and stops
   * listening (a connect is refused, as by a node that is down), so the
   * driver marks the node down and fails at once with NoHostAvailableError,
   * and works again after its reconnection policy's next attempt.
   */
  unreachable?: UnreachableMode;
  /** Where to log each connection and request (debug level); nothing is logged without one. */
  logger?: Logger;
}

/** A running server. */
export interface CqlServer {
  /** The port it listens on (the free one picked when asked for port 0). */
  readonly port: number;
  readonly host: string;
  readonly cluster: EmulatedCluster;
  /** Open client connections (the driver holds a control connection and a pool). */
  readonly connections: number;
  /** Forgets every prepared statement, as a node restart does: the driver re-prepares on its next EXECUTE. Returns how many. */
  forgetPrepared(): number;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

/**
 * Serves `cluster` over the CQL native protocol v4 on a TCP port, so the real
 * cassandra-driver (and so `createScyllaClient`) connects to it as to a
 * single ScyllaDB/Cassandra 3.x node in `dataCenter` owning the whole ring:
 * it negotiates v4, reads system.local/peers and system_schema, prepares,
 * executes, pages and batches, and gets the emulator's errors (injected
 * faults included) as the ResponseErrors a node sends. Many connections at
 * once; no authentication, compression or tracing. Imports nothing of
 * vitest, and logs only to the logger it is given.
 */
export async function startCqlServer(options: CqlServerOptions = {}): Promise<CqlServer> {
  const cluster = options.cluster ?? new EmulatedCluster();
  const host = options.host ?? '127.0.0.1';
  const mode = options.unreachable ?? 'hold';
  const logger = options.logger;
  const connections = new Set<CqlConnection>();
  const hostId = types.Uuid.random();
  const generation = Math.floor(Date.now() / 1000);
  let schemaVersion = types.Uuid.random();

  const state: ServerState = {
    cluster,
    prepared: new PreparedStatements(),
    system: (address) => ({ address, dataCenter: options.dataCenter ?? 'datacenter1', hostId, schemaVersion, generation, schema: cluster.schema }),
    schemaChanged: (change: SchemaChange) => {
      schemaVersion = types.Uuid.random();
      for (const c of connections) c.pushSchemaChange(change);
    },
  };

  let closed = false;
  const server: Server = createServer((socket: Socket) => {
    const connection = new CqlConnection(socket, state, localAddress(socket, host), logger);
    connections.add(connection);
    logger?.debug({ remote: `${socket.remoteAddress}:${socket.remotePort}`, connections: connections.size }, 'cql emulator: connection opened');
    socket.on('close', () => {
      connections.delete(connection);
      logger?.debug({ connections: connections.size }, 'cql emulator: connection closed');
    });
  });
  server.on('error', (err) => logger?.warn({ err }, 'cql emulator: server error'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger?.debug({ host, port }, 'cql emulator: listening');

  // Listens again on the same port once the cluster is reachable (mode 'close'); retried should the port be busy meanwhile.
  const relisten = (): void => {
    if (closed || !cluster.isReachable || server.listening) return;
    const retry = (): void => void setTimeout(relisten, 100).unref();
    server.once('error', retry);
    server.listen(port, host, () => server.off('error', retry));
  };

  const unsubscribe = cluster.onReachabilityChange((reachable) => {
    logger?.debug({ reachable, mode }, 'cql emulator: reachability changed');
    if (mode === 'hold') {
      if (reachable) for (const c of [...connections]) c.release();
      return;
    }
    if (reachable) return relisten();
    // A refused connect fails the driver's attempt at once; one accepted then closed waits out its read timeout.
    server.close();
    for (const c of [...connections]) c.destroy();
  });

  return {
    port,
    host,
    cluster,
    get connections() {
      return connections.size;
    },
    forgetPrepared: () => state.prepared.forget(),
    close: async () => {
      closed = true;
      unsubscribe();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of connections) c.destroy();
      await done;
    },
  };
}

/** The address the client reached the server at (what system.local reports), IPv4-mapped IPv6 unwrapped. */
function localAddress(socket: Socket, fallback: string): string {
  const address = socket.localAddress ?? fallback;
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
