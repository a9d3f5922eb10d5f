import { parseArgs } from 'node:util';
import { LocalCluster } from '../cluster/local-cluster.js';
import type { RunningSystem } from '../roles/standalone.js';
import { resolveWebDir } from '../roles/web-dir.js';

const COLORS = [36, 33, 35, 32, 34, 91, 92, 93, 94, 95, 96];

/**
 * `chat cluster [--gateways G] [--actors A] [--presence N] [--redis] [--port P] [--grpc-port Q] [--data-dir DIR]
 *   [--indexer] [--nats-nodes K] [--observability [--scrape-interval S] [--prometheus-port R]]`:
 * a local cluster of real processes (nats-server with JetStream in a
 * temporary directory, presence in memory or, with --redis, N instances on a
 * redis-server of its own, G gateways on consecutive ports from P (gRPC from Q), A actor
 * hosts sharing DIR), each process's lines prefixed with its name. With
 * --indexer (and SEARCH=postgres, PG_URL naming a running PostgreSQL), also
 * a `chat indexer` keeping the search index current. With
 * --observability, also a prometheus server (Debian's prometheus package)
 * scraping every process every S seconds (default 5) with
 * deploy/prometheus/rules.yml, on port R (default: a free port). With
 * --nats-nodes K (default 1), K nats-servers routed into one JetStream
 * cluster, the lease buckets and change stream replicated on up to 3.
 */
export async function startClusterCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<RunningSystem> {
  const { values } = parseArgs({
    args: argv,
    options: {
      gateways: { type: 'string', short: 'g', default: '2' },
      actors: { type: 'string', short: 'a', default: '3' },
      port: { type: 'string', short: 'p', default: env.PORT ?? '8080' },
      'grpc-port': { type: 'string', default: env.GRPC_PORT ?? '9090' },
      'data-dir': { type: 'string', default: env.DATA_DIR ?? './data/cluster' },
      presence: { type: 'string', default: '1' },
      redis: { type: 'boolean', default: false },
      indexer: { type: 'boolean', default: false },
      'nats-nodes': { type: 'string', default: '1' },
      observability: { type: 'boolean', default: false },
      'scrape-interval': { type: 'string', default: '5' },
      'prometheus-port': { type: 'string', default: '0' },
    },
  });
  const presence = positive('--presence', values.presence!);
  if (presence > 1 && !values.redis) throw new RangeError('--presence above 1 needs --redis: in memory each instance would know only part of the sessions');
  const gateways = positive('--gateways', values.gateways!);
  const actors = positive('--actors', values.actors!);
  const natsNodes = positive('--nats-nodes', values['nats-nodes']!);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535 - gateways) throw new RangeError(`--port must be a port number, got ${values.port}`);
  const grpcPort = Number(values['grpc-port']);
  if (!Number.isInteger(grpcPort) || grpcPort < 1 || grpcPort > 65_535 - gateways) throw new RangeError(`--grpc-port must be a port number, got ${values['grpc-port']}`);
  const scrapeInterval = Number(values['scrape-interval']);
  if (!(scrapeInterval > 0 && scrapeInterval <= 300)) throw new RangeError(`--scrape-interval must be seconds above 0 and at most 300, got ${values['scrape-interval']}`);
  const prometheusPort = Number(values['prometheus-port']);
  if (!Number.isInteger(prometheusPort) || prometheusPort < 0 || prometheusPort > 65_535) throw new RangeError(`--prometheus-port must be a port number, got ${values['prometheus-port']}`);
  const colors = new Map<string, number>();
  const cluster = await LocalCluster.start({
    gateways,
    actors,
    gatewayPort: port,
    grpcPort,
    dataDir: values['data-dir']!,
    presence,
    redis: values.redis!,
    ...(values.indexer ? { indexers: 1 } : {}),
    natsNodes,
    ...(values.observability ? { observability: { intervalSeconds: scrapeInterval, ...(prometheusPort ? { port: prometheusPort } : {}) } } : {}),
    // Gateways of the local cluster serve the web client too.
    env: { WEB_DIR: resolveWebDir(env.WEB_DIR ?? '') ?? '', ...pick(env, ['SHARDS', 'LEASE_TTL_MS', 'LOG_LEVEL', 'REQUEST_RETRY_MS', 'DRAIN_HOLD_MS', 'DRAIN_SPREAD_MS', 'SEARCH', 'PG_URL', 'PG_POOL_MAX', 'INDEXER_CONCURRENCY', 'INDEXER_BATCH', 'LEASE_REPLICAS', 'CHANGES_REPLICAS']) },
    onLine: (name, line) => {
      if (!colors.has(name)) colors.set(name, COLORS[colors.size % COLORS.length]!);
      const tag = `${name}`.padEnd(10);
      console.log(process.stdout.isTTY ? `\x1b[${colors.get(name)}m${tag}\x1b[0m | ${line}` : `${tag} | ${line}`);
    },
  });
  console.log('\nlocal cluster is up:');
  for (const [i, n] of cluster.natsNodes.entries()) {
    const name = cluster.natsNodes.length > 1 ? `nats-${i + 1}` : 'nats';
    console.log(`  ${name.padEnd(10)}  ${n.url}  (JetStream in ${n.storeDir}; monitoring ${n.monitorUrl})`);
  }
  if (cluster.redis) console.log(`  redis       ${cluster.redis.url}  (presence; no persistence)`);
  if (cluster.prometheus) {
    const p = cluster.prometheus;
    console.log(`  prometheus  ${p.url}  (scrapes every role every ${p.intervalSeconds} s; rules ${p.rulesFile}; targets at ${p.url}/targets)`);
    console.log(`              every dashboard panel's value now: node deploy/grafana/panel-values.mjs --prometheus ${p.url}`);
  }
  for (const p of cluster.processes) {
    const what =
      p.role === 'gateway'
        ? `chat at ${p.url}  (ws ${p.url.replace('http', 'ws')}/v1/ws, gRPC 127.0.0.1:${p.grpcPort}, /healthz /readyz /metrics at ${p.opsUrl})`
        : `/healthz /readyz /metrics at ${p.opsUrl}`;
    console.log(`  ${p.name.padEnd(10)}  pid ${String(p.child.pid).padEnd(7)} ${what}`);
  }
  console.log(`  data        ${values['data-dir']} (SQLite shared by the actor hosts; JWT secret)\n  Ctrl-C stops everything.\n`);
  for (const p of cluster.processes) {
    void p.exited.then(({ code, signal }) => console.log(`${p.name} exited (${signal ?? `code ${code}`})`));
  }
  return { port, stop: () => cluster.stop() };
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new RangeError(`${flag} must be a whole number from 1 to 64, got ${value}`);
  return n;
}

function pick(env: NodeJS.ProcessEnv, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) if (env[k]) out[k] = env[k]!;
  return out;
}
