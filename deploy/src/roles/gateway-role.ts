import type { Bus, Logger, Registry } from '@chat/platform';
import { limitsFromEnv } from '@chat/platform';
import { BotTokenVerifier, type ConnectionLimit, Gateway, type GatewayEnv, type GrpcTls, HmacTokenAuthority, botCallVerifier, cachedTokenVerifier, readOpenFileLimit, resolveMaxConnections } from '@chat/edge-gateway';
import { resolveWebDir } from './web-dir.js';

/**
 * Starts an edge gateway on a bus. The same wiring in standalone (LocalBus,
 * serving the web client) and cluster mode (NATS).
 */
export function startGatewayRole(options: {
  bus: Bus;
  config: GatewayEnv;
  secret: string;
  registry: Registry;
  logger: Logger;
  serveWeb: boolean;
  /** MAX_CONNECTIONS as resolved (and checked against the open-file limit) by resolveMaxConnections before anything started; resolved here if not given. */
  connectionLimit?: ConnectionLimit;
  ready?: () => boolean;
  /** GRPC_TLS_CERT/GRPC_TLS_KEY as loaded (and checked) by loadGrpcTls before anything started. */
  grpcTls?: GrpcTls | undefined;
}): Promise<Gateway> {
  const { config } = options;
  const authority = new HmacTokenAuthority(options.secret);
  const limit = options.connectionLimit ?? resolveMaxConnections(config.MAX_CONNECTIONS, readOpenFileLimit());
  if (limit.openFileLimit === undefined) options.logger.warn({ maxConnections: limit.max }, 'open-file limit unknown (no /proc/self/limits): MAX_CONNECTIONS not checked against it');
  else options.logger.info({ maxConnections: limit.max, openFileLimit: limit.openFileLimit, derived: limit.derived }, 'WebSocket sessions admitted up to MAX_CONNECTIONS');
  return Gateway.start({
    bus: options.bus,
    registry: options.registry,
    logger: options.logger.child({ component: 'gateway' }),
    port: config.PORT,
    opsPort: config.OPS_PORT,
    maxConnections: limit.max,
    verifier: authority,
    devLogin: config.DEV_LOGIN ? { authority, ttlSeconds: config.DEV_TOKEN_TTL_S } : undefined,
    shardCount: config.SHARDS,
    limits: limitsFromEnv(config),
    rate: {
      perSec: config.RATE_LIMIT_PER_SEC,
      burst: config.RATE_LIMIT_BURST,
      strikes: config.RATE_LIMIT_STRIKES,
      strikeWindowMs: config.RATE_LIMIT_STRIKE_WINDOW_MS,
    },
    maxConnectionsPerUser: config.MAX_CONNECTIONS_PER_USER,
    backpressureLimit: config.BACKPRESSURE_LIMIT_BYTES,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    retryBudgetMs: config.REQUEST_RETRY_MS,
    heartbeatMs: config.HEARTBEAT_MS,
    drainTimeoutMs: config.DRAIN_TIMEOUT_MS,
    drainHoldMs: config.DRAIN_HOLD_MS,
    drainSpreadMs: config.DRAIN_SPREAD_MS,
    webDir: options.serveWeb ? resolveWebDir(config.WEB_DIR) : undefined,
    ready: options.ready,
    presenceHeartbeatMs: config.PRESENCE_HEARTBEAT_MS,
    grpc:
      config.GRPC_PORT === undefined
        ? undefined
        : {
            port: config.GRPC_PORT,
            tls: options.grpcTls,
            // User JWTs, and bot tokens (claimed by their prefix, verified by the query service, re-checked while a stream runs).
            verifiers: (backend) => [cachedTokenVerifier(authority), botCallVerifier(new BotTokenVerifier(backend, options.logger.child({ component: 'bot-tokens' })))],
            watchBufferEvents: config.GRPC_WATCH_BUFFER_EVENTS,
          },
  });
}
