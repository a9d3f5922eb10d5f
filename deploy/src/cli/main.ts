import { LocalCassandraError } from '@chat/local-cassandra';
import { ConfigError, type Logger, createLogger } from '@chat/platform';
import { CodedError } from '@chat/proto';
import { type RunningSystem, startStandalone } from '../roles/standalone.js';
import { startClusterGateway } from '../roles/gateway.js';
import { startClusterActors } from '../roles/actors.js';
import { startClusterPresence } from '../roles/presence.js';
import { startClusterIndexer } from '../roles/indexer.js';
import { resolveCassandraJarsCommand, startCassandraCommand } from './cassandra-command.js';
import { startClusterCommand } from './cluster-command.js';
import { runMigrate } from './migrate-command.js';
import { BOT_USAGE, BotUsageError, botExitCode, runBotCommand } from './bot-command.js';

/**
 * The `chat` command: `chat <role>`, configured by environment variables
 * (README.md lists them). Each role runs until SIGTERM or SIGINT, then stops
 * gracefully.
 */
const ROLES: Record<string, (logger: Logger, args: string[]) => Promise<RunningSystem>> = {
  standalone: (logger) => startStandalone(logger),
  gateway: (logger) => startClusterGateway(logger),
  actors: (logger) => startClusterActors(logger),
  presence: (logger) => startClusterPresence(logger),
  indexer: (logger) => startClusterIndexer(logger),
  cluster: (_logger, args) => startClusterCommand(args),
  cassandra: () => startCassandraCommand(),
};

const USAGE = `usage: chat <role>

roles:
  standalone   gateway, conversation actors and presence in one process, on an
               in-process bus, in-memory presence and SQLite in DATA_DIR
  gateway      a WebSocket and gRPC edge gateway on NATS (needs NATS_URL, JWT_SECRET)
  actors       a conversation actor host on NATS, taking shard leases (NATS_URL, DATA_DIR)
  presence     the presence service on NATS (NATS_URL)
  indexer      keeps the PostgreSQL search index current from the store, following
               the actor hosts' change notices on NATS (SEARCH=postgres, PG_URL,
               NATS_URL, the store's settings as on the actor hosts)
  migrate      create the ScyllaDB keyspace if missing and apply the pending schema
               migrations, then exit (SCYLLA_CONTACT_POINTS, SCYLLA_KEYSPACE,
               SCYLLA_REPLICATION=SimpleStrategy:1 | NetworkTopologyStrategy:dc1=3,...)
  bot          bot accounts for the gRPC API, in the store (DATA_DIR / STORE, as actors):
               bot create --name <name>   prints {"userId": ..., "token": ...}
               bot list                   one JSON line per bot
               bot revoke <userId>        its token is refused from the next check
  cluster      a local cluster of real processes: nats-server (JetStream, temporary
               directory), presence, G gateways and A actor hosts
               [--gateways 2] [--actors 3] [--port 8080] [--grpc-port 9090]
               [--data-dir ./data/cluster] [--presence 1] [--redis]
               [--indexer]: also a chat indexer (SEARCH=postgres, PG_URL set)
               [--nats-nodes 1]: K nats-servers in one JetStream cluster
               [--observability [--scrape-interval 5] [--prometheus-port R]]:
               also a prometheus server (Debian's prometheus package) scraping
               every process with deploy/prometheus/rules.yml
  cassandra    one local Apache Cassandra node (Java 17; jars from Maven Central,
               cached) on 127.0.0.1:CASSANDRA_PORT (9042), data in a temporary
               directory: a real CQL server for STORE=scylla; CASSANDRA_HEAP (1g);
               --resolve-only fetches the jars into the cache and exits

environment: PORT, HOST, OPS_PORT, GRPC_PORT (9090 | off), GRPC_TLS_CERT, GRPC_TLS_KEY, DATA_DIR, NATS_URL, NATS_CREDS | NATS_USER and
NATS_PASSWORD | NATS_TOKEN, NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY, JWT_SECRET, JWKS_URL, OIDC_ISSUER, JWT_AUDIENCE, DEV_LOGIN,
SHARDS, LEASE_TTL_MS, LEASE_REPLICAS, MAX_CONNECTIONS,
STORE (sqlite | scylla) and SCYLLA_*, SEARCH (store | postgres), PG_URL, PG_POOL_MAX, INDEXER_CONCURRENCY, INDEXER_BATCH,
CHANGES_REPLICAS, CHANGES_MAX_AGE_MS, CHANGES_MAX_BYTES, LOG_LEVEL and the limits; see README.md`;

/** `chat migrate`: one-shot; exit code 0 done, 2 bad configuration, 1 failed. */
async function migrate(): Promise<number> {
  try {
    const outcome = await runMigrate(process.env, (line) => console.log(`chat migrate: ${line}`));
    const what = outcome.applied.length === 0 ? 'already current' : `applied ${outcome.applied.join(', ')}`;
    console.log(`chat migrate: keyspace ${outcome.keyspace} at schema version ${outcome.version} (${what})`);
    return 0;
  } catch (err) {
    console.error(`chat migrate: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof ConfigError ? 2 : 1;
  }
}

/** `chat bot ...`: one-shot; exit code 0 done, 2 bad arguments or configuration, 1 failed. */
async function bot(args: string[]): Promise<number> {
  if (args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
    console.log(BOT_USAGE);
    return 0;
  }
  try {
    await runBotCommand(args);
    return 0;
  } catch (err) {
    console.error(`chat bot: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof BotUsageError) console.error(`\n${BOT_USAGE}`);
    return botExitCode(err);
  }
}

/** `chat cassandra --resolve-only`: one-shot; exit code 0 resolved (or already cached), 1 failed. */
async function resolveCassandraJars(): Promise<number> {
  try {
    console.log(`cassandra: ${await resolveCassandraJarsCommand()}`);
    return 0;
  } catch (err) {
    console.error(`chat cassandra: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

async function main(argv: string[]): Promise<number> {
  const role = argv[0];
  if (role === undefined || role === '--help' || role === '-h' || role === 'help') {
    console.log(USAGE);
    return role === undefined ? 2 : 0;
  }
  if (role === 'migrate') return migrate();
  if (role === 'bot') return bot(argv.slice(1));
  if (role === 'cassandra' && argv[1] === '--resolve-only') return resolveCassandraJars();
  const start = ROLES[role];
  if (!start) {
    console.error(`chat: unknown role ${JSON.stringify(role)}\n\n${USAGE}`);
    return 2;
  }
  const started = performance.now();
  let logger: Logger;
  try {
    logger = createLogger({ role });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`chat ${role}: ${oneLine(err)}`);
    return 2;
  }
  let system: RunningSystem;
  // Starting may wait on nothing but promises (a role cleaning up after a failed listen):
  // without a handle Node would exit 0 mid-start, saying nothing.
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    system = await start(logger, argv.slice(1));
  } catch (err) {
    const code = startFailureExitCode(err);
    // A bad setting, a taken port, NATS not there, Java missing: the message says what to do; a stack trace would not.
    if (code === 2 || err instanceof CodedError || err instanceof LocalCassandraError) console.error(`chat ${role}: ${oneLine(err as Error)}`);
    else logger.fatal({ err }, 'failed to start');
    // Whatever the role left open (a NATS connection, a worker) must not keep a failed process alive.
    process.exit(code);
  } finally {
    clearInterval(keepAlive);
  }
  const where =
    role === 'standalone' || role === 'gateway' || role === 'cluster'
      ? `chat is ready at http://localhost:${system.port}${system.grpcPort === undefined ? '' : `, gRPC API at localhost:${system.grpcPort}`}${system.opsPort === undefined || system.opsPort === system.port ? '' : `, /healthz /readyz /metrics on port ${system.opsPort}`}`
      : role === 'cassandra'
        ? `Cassandra ready: SCYLLA_CONTACT_POINTS=127.0.0.1:${system.port}`
        : `${role} ready; /healthz, /readyz and /metrics on port ${system.port}`;
  logger.info({ port: system.port, grpcPort: system.grpcPort, opsPort: system.opsPort, startupMs: Math.round(performance.now() - started) }, where);

  let shuttingDown = false;
  const shutdown = (signal: string) => {
    // Ctrl-C signals the whole process group, and a launcher may send SIGTERM too: stop once.
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    // Not unref'd: it also keeps the process alive until stop() is done. stop() waits on handles
    // that do not (the SQLite writer's thread), and with nothing else left the process would end
    // half-way, before the bus is closed and the last spans are exported.
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, Math.max(15_000, system.stopWithinMs ?? 0));
    system.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return -1;
}

/** 2 for a bad setting or argument, 1 for anything else that stopped a start. */
function startFailureExitCode(err: unknown): number {
  if (err instanceof ConfigError || err instanceof RangeError) return 2;
  if (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) return 2;
  return 1;
}

/** The error's message with its causes', on one line: `cannot connect to NATS at ...: ECONNREFUSED`. */
function oneLine(err: Error): string {
  // Its problems already name each setting; the cause is the validator's raw report.
  if (err instanceof ConfigError) return `invalid configuration: ${err.problems.join('; ')}`;
  const parts = [err.message];
  for (let cause = err.cause; cause instanceof Error && parts.length < 4; cause = cause.cause) {
    if (!parts.some((p) => p.includes(cause instanceof Error ? cause.message : ''))) parts.push(cause.message);
  }
  return parts.join(': ').replace(/\s*\n\s*/g, '; ');
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exitCode = code;
});
