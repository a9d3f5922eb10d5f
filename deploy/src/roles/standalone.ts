import type { z } from 'zod';
import { ConfigError, LocalBus, type Logger, createMetricsRegistry, envInt, loadEnvConfig, openMetricsWhenTracing, startTracing } from '@chat/platform';
import { StaticOwnership, actorsEnvSchema } from '@chat/conversation-actors';
import { checkTokenSettings, envDevLogin, envHost, gatewayEnvSchema, loadGrpcTls, readOpenFileLimit, resolveMaxConnections } from '@chat/edge-gateway';
import { PresenceFanout, PresenceService, openPresenceBackend, presenceEnvSchema } from '@chat/presence';
import { startActorsRole } from './actors-role.js';
import { devLoginEnabled, startGatewayRole } from './gateway-role.js';
import { loadOrCreateDevSecret } from './jwt-secret.js';

/** Where standalone listens unless HOST says otherwise: this machine only, where dev login is safe. */
export const STANDALONE_DEFAULT_HOST = '127.0.0.1';

/**
 * Standalone: every role in one process on embedded parts. Listens on
 * 127.0.0.1 unless HOST says otherwise; dev login is on when it listens on
 * loopback only, or when DEV_LOGIN=true (then with a warning at start).
 */
export const standaloneEnvSchema = gatewayEnvSchema
  .extend(actorsEnvSchema.shape)
  .extend(presenceEnvSchema.shape)
  .extend({
    HOST: envHost(STANDALONE_DEFAULT_HOST),
    // Unset: on exactly when HOST is a loopback address (devLoginEnabled).
    DEV_LOGIN: envDevLogin(),
    // One process, no peer to reconnect to: holding or spreading closes would only delay the stop.
    DRAIN_HOLD_MS: envInt(0, 0, 600_000),
    DRAIN_SPREAD_MS: envInt(0, 0, 600_000),
  })
  .superRefine(checkTokenSettings(false));

export type StandaloneEnv = z.output<typeof standaloneEnvSchema>;

/** A running role (or all of them); `stop()` shuts it down gracefully. */
export interface RunningSystem {
  /** The public port (a gateway's), or the ops port of a role that has no other. */
  port: number;
  /** Where /healthz, /readyz and /metrics are served: a gateway's OPS_PORT, or `port`. */
  opsPort?: number | undefined;
  /** The gateway's gRPC API port, where it serves one. */
  grpcPort?: number | undefined;
  /** How long stop() may take before the process gives up on it (default 15 s): a gateway's drain hold and spread come on top. */
  stopWithinMs?: number;
  stop(): Promise<void>;
}

/**
 * The HS256 secret standalone verifies (and dev login signs) with:
 * JWT_SECRET, else one generated once in DATA_DIR; none when an identity
 * provider is configured and dev login is off, so that only its tokens count.
 */
function standaloneSecret(config: StandaloneEnv): string | undefined {
  if (config.JWT_SECRET !== undefined) return config.JWT_SECRET;
  const provider = config.JWKS_URL !== undefined || config.OIDC_ISSUER !== undefined;
  return provider && !devLoginEnabled(config) ? undefined : loadOrCreateDevSecret(config.DATA_DIR);
}

/** A gateway's longest graceful stop: hold, spread, the requests in flight, then the gRPC calls, plus a margin. */
export function gatewayStopWithinMs(config: { DRAIN_HOLD_MS: number; DRAIN_SPREAD_MS: number; DRAIN_TIMEOUT_MS: number }): number {
  return config.DRAIN_HOLD_MS + config.DRAIN_SPREAD_MS + 2 * config.DRAIN_TIMEOUT_MS + 5000;
}

/**
 * Starts gateway, actor host, query service and presence service in this
 * process over the in-process bus, with the SQLite store in DATA_DIR and
 * presence in memory (or in Redis when REDIS_URL is set). The same code as the cluster roles: only the parts
 * behind the interfaces differ.
 */
export async function startStandalone(logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningSystem> {
  const config = loadEnvConfig(standaloneEnvSchema, env);
  // The PostgreSQL index is kept by the `chat indexer`, which follows change notices on NATS: a cluster-only setup.
  if (config.SEARCH === 'postgres') {
    throw new ConfigError(['SEARCH: postgres needs the cluster roles (chat actors and chat indexer on NATS); standalone searches its SQLite store (SEARCH=store)']);
  }
  const grpcTls = loadGrpcTls(config.GRPC_TLS_CERT, config.GRPC_TLS_KEY);
  const connectionLimit = resolveMaxConnections(config.MAX_CONNECTIONS, readOpenFileLimit());
  const tracing = await startTracing({ role: 'standalone', logger, env });
  const registry = createMetricsRegistry('standalone');
  openMetricsWhenTracing(registry);
  const bus = new LocalBus((err, subject) => logger.error({ err, subject }, 'bus handler failed'));
  let presenceBackend;
  try {
    ({ backend: presenceBackend } = await openPresenceBackend(config, { registry, logger }));
  } catch (err) {
    await tracing.shutdown();
    throw err;
  }
  const presence = new PresenceService({ bus, backend: presenceBackend, logger: logger.child({ component: 'presence' }), registry });
  presence.start();
  const fanout = new PresenceFanout({ bus, logger: logger.child({ component: 'presence-fanout' }) });
  fanout.start();
  const stopPresence = async () => {
    await fanout.stop();
    await presence.stop();
    await presenceBackend.close();
  };
  let actors;
  try {
    actors = await startActorsRole({ bus, config, ownership: () => new StaticOwnership(config.SHARDS), registry, logger });
  } catch (err) {
    await stopPresence();
    await bus.close();
    await tracing.shutdown();
    throw err;
  }
  let gateway;
  try {
    gateway = await startGatewayRole({
      bus,
      config,
      secret: standaloneSecret(config),
      registry,
      logger,
      serveWeb: true,
      grpcTls,
      connectionLimit,
      // Not ready while the store cannot write (disk full, read-only): every write would fail.
      ready: () => actors.writable(),
    });
  } catch (err) {
    await actors.stop();
    await stopPresence();
    await bus.close();
    await tracing.shutdown();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    port: gateway.port,
    opsPort: gateway.opsPort,
    grpcPort: gateway.grpcPort,
    stopWithinMs: gatewayStopWithinMs(config),
    stop: () =>
      (stopping ??= (async () => {
        await gateway.stop();
        await stopPresence();
        await actors.stop();
        await bus.close();
        await tracing.shutdown();
      })()),
  };
}
