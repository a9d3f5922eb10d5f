import type { z } from 'zod';
import { LocalBus, type Logger, createMetricsRegistry, envBool, envInt, loadEnvConfig, openMetricsWhenTracing, startTracing } from '@chat/platform';
import { StaticOwnership, actorsEnvSchema } from '@chat/conversation-actors';
import { gatewayEnvSchema, loadGrpcTls } from '@chat/edge-gateway';
import { PresenceFanout, PresenceService, openPresenceBackend, presenceEnvSchema } from '@chat/presence';
import { startActorsRole } from './actors-role.js';
import { startGatewayRole } from './gateway-role.js';
import { loadOrCreateDevSecret } from './jwt-secret.js';

/** Standalone: every role in one process on embedded parts; dev login on by default. */
export const standaloneEnvSchema = gatewayEnvSchema
  .extend(actorsEnvSchema.shape)
  .extend(presenceEnvSchema.shape)
  // One process, no peer to reconnect to: holding or spreading closes would only delay the stop.
  .extend({ DEV_LOGIN: envBool(true), DRAIN_HOLD_MS: envInt(0, 0, 600_000), DRAIN_SPREAD_MS: envInt(0, 0, 600_000) });

export type StandaloneEnv = z.output<typeof standaloneEnvSchema>;

/** A running role (or all of them); `stop()` shuts it down gracefully. */
export interface RunningSystem {
  port: number;
  /** The gateway's gRPC API port, where it serves one. */
  grpcPort?: number | undefined;
  /** How long stop() may take before the process gives up on it (default 15 s): a gateway's drain hold and spread come on top. */
  stopWithinMs?: number;
  stop(): Promise<void>;
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
  const grpcTls = loadGrpcTls(config.GRPC_TLS_CERT, config.GRPC_TLS_KEY);
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
      secret: config.JWT_SECRET ?? loadOrCreateDevSecret(config.DATA_DIR),
      registry,
      logger,
      serveWeb: true,
      grpcTls,
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
