import { type NatsServerProcess, startNatsServer } from './nats-server.js';
import { freePort } from './server-process.js';

/** How long a new cluster gets to elect its JetStream meta leader. */
const JETSTREAM_READY_TIMEOUT_MS = 30_000;

/** Options of {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Servers in the cluster (3 tolerates the loss of one with replicated JetStream assets). */
  nodes: number;
  /** Each server in a process group of its own (see NatsServerOptions.ownProcessGroup). */
  ownProcessGroup?: boolean;
}

/** Real nats-servers routed into one cluster, each with JetStream in its own temporary directory. */
export interface NatsCluster {
  readonly nodes: readonly NatsServerProcess[];
  /** Every member's client URL, comma-separated: what NATS_URL takes. */
  readonly urls: string;
  /** Resolves once every running member sees a JetStream meta leader (after a start, or a member's restart). */
  waitForJetStream(timeoutMs?: number): Promise<void>;
  /** Stops every member and removes their directories. */
  stop(): Promise<void>;
}

/**
 * Starts `nodes` nats-servers on 127.0.0.1 routed to each other as one
 * cluster with clustered JetStream, and resolves once JetStream has a meta
 * leader, so streams with up to `nodes` replicas can be created at once.
 * Fails (stopping what it started) with the servers' output otherwise.
 */
export async function startNatsCluster(options: NatsClusterOptions): Promise<NatsCluster> {
  if (!Number.isInteger(options.nodes) || options.nodes < 1) throw new RangeError(`a NATS cluster needs at least one server, not ${options.nodes}`);
  // The ports are picked before the servers bind them, one after another: another program (a test
  // running beside) may take one meanwhile. Then the whole cluster starts again on other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePorts(options);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test(String(err))) throw err;
    }
  }
}

async function startOnFreePorts(options: NatsClusterOptions): Promise<NatsCluster> {
  const routePorts: number[] = [];
  for (let i = 0; i < options.nodes; i++) routePorts.push(await freePort());
  const nodes: NatsServerProcess[] = [];
  const cluster: NatsCluster = {
    nodes,
    get urls() {
      return nodes.map((n) => n.url).join(',');
    },
    waitForJetStream: (timeoutMs = JETSTREAM_READY_TIMEOUT_MS) => waitForMetaLeader(nodes, timeoutMs),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
  try {
    for (let i = 0; i < options.nodes; i++) {
      nodes.push(
        await startNatsServer({
          ...(options.ownProcessGroup !== undefined ? { ownProcessGroup: options.ownProcessGroup } : {}),
          cluster: {
            name: 'chat',
            serverName: `nats-${i + 1}`,
            routePort: routePorts[i]!,
            routes: routePorts.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p}`),
          },
        }),
      );
    }
    await cluster.waitForJetStream();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** One nats-server seen as a cluster of one (its JetStream needs no election), so callers handle both alike. */
export function singleServerCluster(server: NatsServerProcess): NatsCluster {
  return { nodes: [server], urls: server.url, waitForJetStream: async () => {}, stop: () => server.stop() };
}

/** Polls each running member's /jsz until all name the same meta leader. */
async function waitForMetaLeader(nodes: readonly NatsServerProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const leaders = await Promise.all(
      nodes.map(async (n) => {
        try {
          const res = await fetch(`${n.monitorUrl}/jsz`, { signal: AbortSignal.timeout(1000) });
          const body = (await res.json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
          return { leader: body.meta_cluster?.leader ?? '', size: body.meta_cluster?.cluster_size ?? 0, up: true };
        } catch {
          return { leader: '', size: 0, up: false };
        }
      }),
    );
    const up = leaders.filter((l) => l.up);
    last = JSON.stringify(leaders);
    if (up.length > 0 && up.every((l) => l.leader !== '' && l.leader === up[0]!.leader && l.size === nodes.length)) return;
    if (Date.now() > deadline) {
      throw new Error(`the NATS cluster has no JetStream meta leader after ${timeoutMs} ms (${last}):\n${nodes.map((n) => n.output()).join('\n---\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
