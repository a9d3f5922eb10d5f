import { type Logger, connectNatsBus, createMetricsRegistry, loadEnvConfig } from '@chat/platform';
import { clusterGatewayEnvSchema, natsServers } from './cluster-env.js';
import { loadGrpcTls } from '@chat/edge-gateway';
import { startGatewayRole } from './gateway-role.js';
import type { RunningSystem } from './standalone.js';

/** `chat gateway`: a stateless edge gateway on NATS. Ready while connected. */
export async function startClusterGateway(logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningSystem> {
  const config = loadEnvConfig(clusterGatewayEnvSchema, env);
  const grpcTls = loadGrpcTls(config.GRPC_TLS_CERT, config.GRPC_TLS_KEY);
  const registry = createMetricsRegistry('gateway');
  const bus = await connectNatsBus({ servers: natsServers(config.NATS_URL), name: `gateway-${process.pid}`, logger, requestTimeoutMs: config.REQUEST_TIMEOUT_MS, registry });
  let gateway;
  try {
    gateway = await startGatewayRole({ bus, config, secret: config.JWT_SECRET, registry, logger, serveWeb: config.WEB_DIR !== '', grpcTls });
  } catch (err) {
    await bus.close();
    throw err;
  }
  return {
    port: gateway.port,
    grpcPort: gateway.grpcPort,
    stop: async () => {
      await gateway.stop();
      await bus.close();
    },
  };
}
