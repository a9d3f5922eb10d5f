import { type Logger, checkFramesFitBus, checkSharedSettings, connectNatsBus, createMetricsRegistry, loadEnvConfig, openMetricsWhenTracing, startTracing } from '@chat/platform';
import { clusterGatewayEnvSchema, natsConnectSettings } from './cluster-env.js';
import { loadGrpcTls, readOpenFileLimit, resolveMaxConnections } from '@chat/edge-gateway';
import { startGatewayRole } from './gateway-role.js';
import { type RunningSystem, gatewayStopWithinMs } from './standalone.js';

/** `chat gateway`: a stateless edge gateway on NATS. Ready while connected. */
export async function startClusterGateway(logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningSystem> {
  const config = loadEnvConfig(clusterGatewayEnvSchema, env);
  const nats = natsConnectSettings(config, 'gateway');
  const grpcTls = loadGrpcTls(config.GRPC_TLS_CERT, config.GRPC_TLS_KEY);
  const connectionLimit = resolveMaxConnections(config.MAX_CONNECTIONS, readOpenFileLimit());
  const tracing = await startTracing({ role: 'gateway', logger, env });
  const registry = createMetricsRegistry('gateway');
  openMetricsWhenTracing(registry);
  let bus;
  let gateway;
  try {
    bus = await connectNatsBus({ ...nats, name: `gateway-${process.pid}`, logger, requestTimeoutMs: config.REQUEST_TIMEOUT_MS, registry });
    // A frame the NATS servers cannot carry would be accepted here and fail on the bus: refuse the setting instead.
    checkFramesFitBus(bus, config.MAX_FRAME_BYTES);
    // A gateway with another SHARDS would route conversations to shards their owners do not serve.
    await checkSharedSettings({ connection: bus.connection, leaseBucket: config.LEASE_BUCKET, mine: { SHARDS: config.SHARDS }, who: `gateway ${process.pid}`, logger });
    gateway = await startGatewayRole({ bus, config, secret: config.JWT_SECRET, registry, logger, serveWeb: config.WEB_DIR !== '', grpcTls, connectionLimit });
  } catch (err) {
    await bus?.close();
    await tracing.shutdown();
    throw err;
  }
  const started = { bus, gateway };
  return {
    port: gateway.port,
    opsPort: gateway.opsPort,
    grpcPort: gateway.grpcPort,
    stopWithinMs: gatewayStopWithinMs(config),
    stop: async () => {
      await started.gateway.stop();
      await started.bus.close();
      // Last: the spans of the requests drained above are exported too.
      await tracing.shutdown();
    },
  };
}
