import type { Bus, Logger, Registry } from '@chat/platform';
import { ConfigError, limitsFromEnv } from '@chat/platform';
import {
  BotTokenVerifier,
  type ConnectionLimit,
  Gateway,
  type GatewayEnv,
  type GrpcTls,
  HmacTokenAuthority,
  botCallVerifier,
  cachedTokenVerifier,
  isLoopbackHost,
  readOpenFileLimit,
  resolveMaxConnections,
  startTokenVerification,
} from '@chat/edge-gateway';
import { resolveWebDir } from './web-dir.js';

/** A gateway's settings; DEV_LOGIN unset means "on when listening on loopback only" (the standalone default). */
export type GatewayRoleEnv = Omit<GatewayEnv, 'DEV_LOGIN'> & { DEV_LOGIN: boolean | undefined };

/** Whether dev login is on: as DEV_LOGIN says, else only when HOST is a loopback address. */
export function devLoginEnabled(config: Pick<GatewayRoleEnv, 'DEV_LOGIN' | 'HOST'>): boolean {
  return config.DEV_LOGIN ?? isLoopbackHost(config.HOST);
}

/**
 * Starts an edge gateway on a bus. The same wiring in standalone (LocalBus,
 * serving the web client) and cluster mode (NATS). Fetches the identity
 * provider's keys first when one is configured (failing to start if it cannot);
 * the WebSocket upgrade and the gRPC API verify tokens with the same verifier.
 */
export async function startGatewayRole(options: {
  bus: Bus;
  config: GatewayRoleEnv;
  /** The HS256 secret (JWT_SECRET or standalone's generated one); HS256 tokens are refused without one. */
  secret: string | undefined;
  registry: Registry;
  logger: Logger;
  serveWeb: boolean;
  /** MAX_CONNECTIONS as resolved (and checked against the open-file limit) by resolveMaxConnections before anything started; resolved here if not given. */
  connectionLimit?: ConnectionLimit;
  ready?: () => boolean;
  /** GRPC_TLS_CERT/GRPC_TLS_KEY as loaded (and checked) by loadGrpcTls before anything started. */
  grpcTls?: GrpcTls | undefined;
}): Promise<Gateway> {
  const { config, logger } = options;
  const limit = options.connectionLimit ?? resolveMaxConnections(config.MAX_CONNECTIONS, readOpenFileLimit());
  if (limit.openFileLimit === undefined) logger.warn({ maxConnections: limit.max }, 'open-file limit unknown (no /proc/self/limits): MAX_CONNECTIONS not checked against it');
  else logger.info({ maxConnections: limit.max, openFileLimit: limit.openFileLimit, derived: limit.derived }, 'WebSocket sessions admitted up to MAX_CONNECTIONS');
  const tokens = await startTokenVerification({ settings: config, hmacSecret: options.secret, logger: logger.child({ component: 'identity' }) });
  const devLogin = devLoginEnabled(config);
  if (devLogin && options.secret === undefined) {
    tokens.stop();
    throw new ConfigError(['DEV_LOGIN: needs JWT_SECRET: dev login signs HS256 tokens with it']);
  }
  if (devLogin && !isLoopbackHost(config.HOST)) {
    logger.warn({ host: config.HOST }, 'dev login is on beyond loopback: anyone who reaches this port can sign in as anyone (DEV_LOGIN=true); never in production');
  }
  // Dev login's tokens carry the iss and aud every token is checked for.
  const authority = options.secret === undefined ? undefined : new HmacTokenAuthority(options.secret, { issuer: tokens.issuer, audience: tokens.audience });
  const verifier = tokens.verifier;
  const started = Gateway.start({
    bus: options.bus,
    registry: options.registry,
    logger: logger.child({ component: 'gateway' }),
    port: config.PORT,
    opsPort: config.OPS_PORT,
    maxConnections: limit.max,
    host: config.HOST,
    onStop: () => tokens.stop(),
    verifier,
    devLogin: devLogin && authority ? { authority, ttlSeconds: config.DEV_TOKEN_TTL_S } : undefined,
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
            verifiers: (backend) => [cachedTokenVerifier(verifier), botCallVerifier(new BotTokenVerifier(backend, logger.child({ component: 'bot-tokens' })))],
            watchBufferEvents: config.GRPC_WATCH_BUFFER_EVENTS,
          },
  });
  // A gateway that did not start does not stop the key refreshes it was given.
  return started.catch((err: unknown) => {
    tokens.stop();
    throw err;
  });
}
