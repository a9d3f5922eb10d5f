import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import {
  type NatsServerProcess,
  type PrometheusServerProcess,
  type RedisServerProcess,
  type ScrapeTarget,
  freePort,
  type NatsCluster,
  singleServerCluster,
  startNatsCluster,
  startNatsServer,
  startPrometheusServer,
  startRedisServer,
} from '../local-servers/index.js';
import { parseMetricsText } from '@chat/platform';
import { loadOrCreateDevSecret } from '../roles/jwt-secret.js';
import { chatBin } from '../paths.js';

const CHAT_BIN = chatBin();

export type Role = 'gateway' | 'actors' | 'presence' | 'indexer';

/** One `chat <role>` child process of a local cluster. */
export interface ClusterProcess {
  readonly name: string;
  readonly role: Role;
  readonly port: number;
  /** http://127.0.0.1:<port> (the gateway's public URL, or the ops endpoints of actors and presence). */
  readonly url: string;
  /** Where /healthz, /readyz and /metrics answer: a gateway's OPS_PORT (a free port), else `port`. */
  readonly opsPort: number;
  /** http://127.0.0.1:<opsPort>: what probes and Prometheus reach. */
  readonly opsUrl: string;
  /** A gateway's gRPC API port (GRPC_PORT); undefined for the other roles. */
  readonly grpcPort: number | undefined;
  readonly child: ChildProcess;
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last 64 KB of what it wrote. */
  output(): string;
}

export interface LocalClusterOptions {
  gateways: number;
  actors: number;
  /** First gateway port (next ones are consecutive); 0: free ports. */
  gatewayPort?: number;
  /** First gateway gRPC port (next ones are consecutive); 0: free ports. */
  grpcPort?: number;
  dataDir: string;
  /** Environment for every child (SHARDS, LEASE_TTL_MS, LOG_LEVEL, ...). */
  env?: Record<string, string>;
  /** Called with each line a child writes, prefixed by its name. */
  onLine?: (name: string, line: string) => void;
  /** Start a redis-server (no persistence) and keep presence in it; default false (presence in memory). */
  redis?: boolean;
  /** `chat indexer` processes started after the actor hosts (SEARCH=postgres and PG_URL in `env` or the environment). Default 0. */
  indexers?: number;
  /** Presence service instances; more than one needs `redis`. Default 1. */
  presence?: number;
  /**
   * Also start a prometheus server (Debian's prometheus package) scraping every
   * process of the cluster with deploy/prometheus/rules.yml, every
   * `intervalSeconds` (default 5). Default: none.
   */
  observability?: { intervalSeconds?: number; port?: number };
  /**
   * Start nats-server with this configuration file (e.g. authorization and TLS, and
   * JetStream: the file's own `jetstream` block), with `env` for the variables it
   * refers to. Default: no configuration, open to anyone, JetStream in a temporary directory.
   */
  natsConfig?: { file: string; env?: Record<string, string> };
  /**
   * nats-servers routed into one JetStream cluster (default 1: a single
   * server). Above 1, every role gets all of their URLs, and the lease
   * buckets and the change stream are replicated on up to 3 of them
   * (LEASE_REPLICAS, CHANGES_REPLICAS, unless `env` sets them). Not with `natsConfig`.
   */
  natsNodes?: number;
  /** The nats-server's `max_payload` in bytes (default nats-server's, 1 MiB). Not with `natsConfig` or `natsNodes`. */
  natsMaxPayload?: number;
  /** Environment of one role's processes on top of `env`: its NATS credentials and TLS files, say. */
  roleEnv?: (role: Role) => Record<string, string>;
}

/** The NATS security settings, never inherited by children: the cluster's own nats-server decides what they need (`roleEnv`). */
const NATS_SECURITY_VARS = ['NATS_CREDS', 'NATS_USER', 'NATS_PASSWORD', 'NATS_TOKEN', 'NATS_TLS_CA', 'NATS_TLS_CERT', 'NATS_TLS_KEY'];

/**
 * A cluster of real processes on this machine: nats-server with JetStream in a
 * temporary directory (or `natsNodes` of them routed into one NATS cluster), presence (one instance in memory, or several sharing a
 * redis-server), G gateways and A actor hosts sharing the SQLite file in
 * DATA_DIR and the JWT secret kept there (and, on demand, `chat indexer`
 * processes reading the same store: addIndexer); with `observability`, a prometheus
 * server scraping all of them. Used by `npm run cluster` and by the cluster
 * integration tests.
 */
export class LocalCluster {
  readonly processes: ClusterProcess[] = [];
  #actorCount = 0;
  #gatewayCount = 0;
  #presenceCount = 0;
  #indexerCount = 0;

  private constructor(
    /** The nats-server, or the NATS cluster of `natsNodes` servers. */
    readonly natsCluster: NatsCluster,
    /** The presence Redis, when started with `redis`. */
    readonly redis: RedisServerProcess | undefined,
    readonly secret: string,
    private readonly options: LocalClusterOptions,
    /** The Prometheus scraping the cluster, when started with `observability`. */
    readonly prometheus: PrometheusServerProcess | undefined,
  ) {}

  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const presence = options.presence ?? 1;
    if (presence > 1 && !options.redis) throw new RangeError('more than one presence instance needs redis: in memory each would know only part of the sessions');
    const natsNodes = options.natsNodes ?? 1;
    if (natsNodes > 1 && options.natsConfig) throw new RangeError('a NATS cluster (natsNodes above 1) cannot be started from a natsConfig file');
    if (natsNodes > 1 && options.natsMaxPayload !== undefined) throw new RangeError('natsMaxPayload is for a single nats-server');
    mkdirSync(options.dataDir, { recursive: true });
    const natsCluster =
      natsNodes > 1
        ? await startNatsCluster({ nodes: natsNodes, ownProcessGroup: true })
        : singleServerCluster(
            await startNatsServer({
              jetstream: options.natsConfig === undefined,
              ownProcessGroup: true,
              ...(options.natsConfig ? { configFile: options.natsConfig.file, env: options.natsConfig.env ?? {} } : {}),
              ...(options.natsMaxPayload !== undefined ? { maxPayload: options.natsMaxPayload } : {}),
            }),
          );
    let redis: RedisServerProcess | undefined;
    let prometheus: PrometheusServerProcess | undefined;
    try {
      redis = options.redis ? await startRedisServer() : undefined;
      if (options.observability) {
        const { intervalSeconds, port } = options.observability;
        prometheus = await startPrometheusServer({
          ownProcessGroup: true,
          ...(intervalSeconds !== undefined ? { intervalSeconds } : {}),
          ...(port !== undefined ? { port } : {}),
        });
      }
    } catch (err) {
      await redis?.stop();
      await natsCluster.stop();
      throw err;
    }
    const cluster = new LocalCluster(natsCluster, redis, loadOrCreateDevSecret(options.dataDir), options, prometheus);
    try {
      for (let i = 0; i < presence; i++) await cluster.addPresence();
      for (let i = 0; i < options.actors; i++) await cluster.addActorHost();
      for (let i = 0; i < (options.indexers ?? 0); i++) await cluster.addIndexer();
      for (let i = 0; i < options.gateways; i++) {
        await cluster.#spawnOnPorts('gateway', options.gatewayPort ? options.gatewayPort + i : undefined, options.grpcPort ? options.grpcPort + i : undefined);
      }
      await cluster.waitForShards();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get gateways(): ClusterProcess[] {
    return this.processes.filter((p) => p.role === 'gateway' && isRunning(p));
  }

  get actorHosts(): ClusterProcess[] {
    return this.processes.filter((p) => p.role === 'actors' && isRunning(p));
  }

  /** Starts one more actor host and waits until it is ready (it takes its share by hand-off). */
  addActorHost(): Promise<ClusterProcess> {
    return this.#spawnOnPorts('actors');
  }

  /**
   * A rolling-update step: SIGTERM `proc` (it drains as configured), wait for
   * it to exit, and start the same role again on the same ports. Resolves
   * with the new process once it is ready.
   */
  async restart(proc: ClusterProcess): Promise<ClusterProcess> {
    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    if (exit.code !== 0) throw new Error(`${proc.name} exited with ${exit.signal ?? `code ${exit.code}`} on SIGTERM:\n${proc.output()}`);
    return this.#spawn(proc.role, proc.port, proc.grpcPort, proc.role === 'gateway' ? proc.opsPort : undefined);
  }

  /**
   * Starts one `chat indexer` (SEARCH=postgres and PG_URL must be in `env` or
   * `roleEnv`) and waits until it is ready.
   */
  addIndexer(): Promise<ClusterProcess> {
    return this.#spawnOnPorts('indexer');
  }

  get indexers(): ClusterProcess[] {
    return this.processes.filter((p) => p.role === 'indexer' && isRunning(p));
  }

  /** Starts one more presence service instance. */
  addPresence(): Promise<ClusterProcess> {
    return this.#spawnOnPorts('presence');
  }

  get presences(): ClusterProcess[] {
    return this.processes.filter((p) => p.role === 'presence' && isRunning(p));
  }

  /** Starts one more gateway. */
  async addGateway(): Promise<ClusterProcess> {
    return this.#spawnOnPorts('gateway');
  }

  /**
   * Resolves once the running actor hosts together serve every shard exactly
   * once, each its balanced share (floor or ceil of shards / hosts): the
   * start-up hand-offs are over, so a request sent now finds a settled owner.
   */
  async waitForShards(timeoutMs = 30_000): Promise<void> {
    const shards = Number(this.options.env?.SHARDS ?? 256);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const owned = await Promise.all(this.actorHosts.map((p) => scrapeMetric(p.opsUrl, 'chat_shards_owned').catch(() => 0)));
      const low = Math.floor(shards / Math.max(1, owned.length));
      const high = Math.ceil(shards / Math.max(1, owned.length));
      if (owned.reduce((a, b) => a + b, 0) === shards && owned.every((n) => n >= low && n <= high)) return;
      if (Date.now() > deadline) throw new Error(`shards not fully owned within ${timeoutMs} ms: ${owned.join(', ')}`);
      await sleep(100);
    }
  }

  /** Stops everything: gateways first (clients get 1001), then actor hosts, presence, Prometheus, NATS. */
  async stop(): Promise<void> {
    const byRole = (role: Role) => this.processes.filter((p) => p.role === role && isRunning(p));
    for (const role of ['gateway', 'indexer', 'actors', 'presence'] as const) {
      await Promise.all(
        byRole(role).map(async (p) => {
          p.child.kill('SIGCONT');
          p.child.kill('SIGTERM');
          // A gateway holds and spreads its closes first (DRAIN_HOLD_MS + DRAIN_SPREAD_MS, 10 s by default).
          const done = await Promise.race([p.exited.then(() => true), sleep(30_000).then(() => false)]);
          if (!done) p.child.kill('SIGKILL');
        }),
      );
    }
    await this.prometheus?.stop();
    await this.natsCluster.stop();
    await this.redis?.stop();
  }

  /** The (first) nats-server. */
  get nats(): NatsServerProcess {
    return this.natsCluster.nodes[0]!;
  }

  /** Every nats-server: `nats` alone, or the members of the NATS cluster (`natsNodes`). */
  get natsNodes(): readonly NatsServerProcess[] {
    return this.natsCluster.nodes;
  }

  /** What NATS_URL every role gets: each nats-server's URL, comma-separated. */
  get natsUrl(): string {
    return this.natsCluster.urls;
  }

  /** What Prometheus scrapes: every process started so far (a stopped one stays, and shows as down). */
  scrapeTargets(): ScrapeTarget[] {
    return this.processes.map((p) => ({ job: `chat-${p.role}`, address: `127.0.0.1:${p.opsPort}` }));
  }

  /**
   * Starts one `chat <role>` on the given ports, or on free ones (a gateway's
   * OPS_PORT is always a free one). A free port
   * can be taken by another program between finding it and the child binding
   * it (tests run in parallel): then the child exits saying so, and it is
   * started again on other free ports, under the same name.
   */
  async #spawnOnPorts(role: Role, port?: number, grpcPort?: number): Promise<ClusterProcess> {
    for (let attempt = 1; ; attempt++) {
      const before = this.processes.length;
      try {
        const gateway = role === 'gateway';
        return await this.#spawn(role, port ?? (await freePort()), gateway ? (grpcPort ?? (await freePort())) : undefined, gateway ? await freePort() : undefined);
      } catch (err) {
        const raced = (port === undefined || role === 'gateway') && /cannot listen/.test(String(err));
        if (!raced || attempt >= 3) throw err;
        this.processes.splice(before);
        if (role === 'actors') this.#actorCount--;
        else if (role === 'gateway') this.#gatewayCount--;
        else if (role === 'indexer') this.#indexerCount--;
        else this.#presenceCount--;
        this.prometheus?.setTargets(this.scrapeTargets());
      }
    }
  }

  /** Starts one `chat <role>`; a gateway serves gRPC on `grpcPort` and its ops endpoints on `opsPort`. */
  async #spawn(role: Role, port: number, grpcPort?: number, opsPort?: number): Promise<ClusterProcess> {
    const index = role === 'actors' ? ++this.#actorCount : role === 'gateway' ? ++this.#gatewayCount : role === 'indexer' ? ++this.#indexerCount : ++this.#presenceCount;
    const name = role === 'presence' && index === 1 && (this.options.presence ?? 1) === 1 ? 'presence' : `${role}-${index}`;
    const inherited: NodeJS.ProcessEnv = { ...process.env };
    for (const variable of NATS_SECURITY_VARS) delete inherited[variable];
    const env: Record<string, string> = {
      ...inherited,
      NATS_URL: this.natsUrl,
      ...replicasOn(this.natsNodes.length),
      PORT: String(port),
      DATA_DIR: this.options.dataDir,
      JWT_SECRET: this.secret,
      DEV_LOGIN: 'true',
      // A local cluster with dev login: its gateways listen on this machine only (HOST), as standalone does.
      ...(role === 'gateway' ? { GRPC_PORT: String(grpcPort ?? 0), OPS_PORT: String(opsPort ?? 0), HOST: '127.0.0.1' } : {}),
      ...(role === 'presence' && this.redis ? { REDIS_URL: this.redis.url } : {}),
      ...this.options.env,
      ...this.options.roleEnv?.(role),
    } as Record<string, string>;
    const child = spawn(process.execPath, ['--enable-source-maps', CHAT_BIN, role], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      const text = String(chunk);
      output = (output + text).slice(-64 * 1024);
      if (this.options.onLine) for (const line of text.split('\n')) if (line) this.options.onLine(name, line);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const ops = opsPort ?? port;
    const proc: ClusterProcess = {
      name,
      role,
      port,
      url: `http://127.0.0.1:${port}`,
      opsPort: ops,
      opsUrl: `http://127.0.0.1:${ops}`,
      grpcPort: role === 'gateway' ? grpcPort : undefined,
      child,
      exited,
      output: () => output,
    };
    this.processes.push(proc);
    this.prometheus?.setTargets(this.scrapeTargets());
    await waitReady(proc);
    return proc;
  }
}

function isRunning(p: ClusterProcess): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/** Resolves once `p` answers /readyz with 200; fails with its output if it exits or is not ready within `timeoutMs`. */
export async function waitReady(p: ClusterProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isRunning(p)) throw new Error(`${p.name} exited before it was ready:\n${p.output()}`);
    try {
      if ((await fetch(`${p.opsUrl}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${p.name} not ready within ${timeoutMs} ms:\n${p.output()}`);
    await sleep(50);
  }
}

/** The value of an unlabelled metric (gauge or counter) on the /metrics at `url` (a process's opsUrl); 0 if absent. */
export async function scrapeMetric(url: string, name: string): Promise<number> {
  const samples = parseMetricsText(await (await fetch(`${url}/metrics`)).text());
  return samples.find((s) => s.name === name && Object.keys(s.labels).length === 0)?.value ?? 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** On a NATS cluster, the lease buckets and change stream are kept on up to 3 of its servers. */
function replicasOn(servers: number): Record<string, string> {
  if (servers < 2) return {};
  const replicas = String(Math.min(3, servers));
  return { LEASE_REPLICAS: replicas, CHANGES_REPLICAS: replicas };
}
