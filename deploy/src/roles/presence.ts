import { type Logger, connectNatsBus, createMetricsRegistry, loadEnvConfig, startOpsServer, startTracing } from '@chat/platform';
import { PresenceFanout, PresenceService, openPresenceBackend, presenceEnvSchema } from '@chat/presence';
import { clusterPresenceEnvSchema, natsConnectSettings } from './cluster-env.js';
import type { RunningSystem } from './standalone.js';

/** `chat presence`'s whole environment: NATS and its ops port, plus the presence settings (REDIS_URL, TTLs). */
export const presenceRoleEnvSchema = clusterPresenceEnvSchema.extend(presenceEnvSchema.shape);

/**
 * `chat presence`: the presence service on NATS. It takes session and typing
 * updates and presence queries in the presence queue group and serves /healthz, /readyz
 * (ready while connected to NATS and serving) and /metrics on PORT. stop()
 * stops the service, then closes the backend, the bus and the ops endpoints.
 *
 * With REDIS_URL set, presence lives in Redis and any number of instances can
 * run at once (stateless). Without it, sessions are held in this process's
 * memory, so a cluster must run exactly one instance: several would each know
 * only the updates they happened to receive.
 */
export async function startClusterPresence(logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningSystem> {
  const config = loadEnvConfig(presenceRoleEnvSchema, env);
  const nats = natsConnectSettings(config, 'presence');
  const tracing = await startTracing({ role: 'presence', logger, env });
  const registry = createMetricsRegistry('presence');
  let started = false;
  let bus;
  try {
    bus = await connectNatsBus({ ...nats, name: `presence-${process.pid}`, logger, registry });
  } catch (err) {
    await tracing.shutdown();
    throw err;
  }
  const connected = bus;
  let ops;
  try {
    ops = await startOpsServer({ port: config.PORT, registry, logger, ready: () => started && connected.isReady() });
  } catch (err) {
    await bus.close();
    await tracing.shutdown();
    throw err;
  }
  let backend, kind;
  try {
    ({ backend, kind } = await openPresenceBackend(config, { registry, logger }));
  } catch (err) {
    await ops.close();
    await bus.close();
    await tracing.shutdown();
    throw err;
  }
  const service = new PresenceService({ bus, backend, logger: logger.child({ component: 'presence' }), registry });
  service.start();
  // `presence` events for each change, on the changed user's conversations (it asks the query service which).
  const fanout = new PresenceFanout({ bus, logger: logger.child({ component: 'presence-fanout' }) });
  fanout.start();
  started = true;
  logger.info(
    { ttlMs: config.PRESENCE_TTL_MS, typingExpiryMs: config.TYPING_EXPIRY_MS, backend: kind },
    kind === 'redis' ? 'presence service serving (Redis backend)' : 'presence service serving (in-memory backend: run one instance)',
  );
  return {
    port: ops.port,
    stop: async () => {
      started = false;
      await fanout.stop();
      await service.stop();
      await backend.close();
      await bus.close();
      await ops.close();
      await tracing.shutdown();
    },
  };
}
