import type { ProtocolLimits } from '@chat/proto';
import type { Bus, Clock, Logger, Registry } from '@chat/platform';
import type { HmacTokenAuthority, TokenVerifier } from './auth/token-authority.js';
import type { CallTokenVerifier } from './grpc/call-authenticator.js';
import type { GrpcTls } from './grpc/grpc-tls.js';
import type { BotTokenBackend } from './auth/bot-tokens.js';

/** What Gateway.start is given: its collaborators, ports, limits and drain timings. */
export interface GatewayOptions {
  bus: Bus;
  registry: Registry;
  logger: Logger;
  clock?: Clock;
  /** 0 picks a free port (tests). */
  port: number;
  /**
   * The port of /healthz, /readyz and /metrics (0 picks a free one), apart
   * from the public port; undefined serves them on `port` (standalone's
   * convenience).
   */
  opsPort?: number | undefined;
  /**
   * WebSocket sessions this gateway admits (MAX_CONNECTIONS, see
   * resolveMaxConnections): past it upgrades get 503 with Retry-After and
   * /readyz is false.
   */
  maxConnections: number;
  /** The IP address to listen on; default every interface (0.0.0.0). */
  host?: string | undefined;
  /** Runs once the gateway has stopped: release what was started for it (the identity provider's key refreshes). */
  onStop?: (() => void) | undefined;
  verifier: TokenVerifier;
  /** Present where dev login is enabled (the standalone default). */
  devLogin?: { authority: HmacTokenAuthority; ttlSeconds: number } | undefined;
  shardCount: number;
  limits: ProtocolLimits;
  /**
   * Per user on this gateway: `perSec` tokens a second up to `burst`, shared by
   * the user's sockets; `strikes` frames sent while told to wait, within
   * `strikeWindowMs`, close a session with 4029 (SessionRateLimiter).
   */
  rate: { perSec: number; burst: number; strikes: number; strikeWindowMs: number };
  /** Sockets one user may hold on this gateway; the next upgrade gets HTTP 429. */
  maxConnectionsPerUser: number;
  backpressureLimit: number;
  requestTimeoutMs: number;
  /** How long a request that finds no owner (a shard between hosts) is retried before `unavailable`. */
  retryBudgetMs: number;
  heartbeatMs: number;
  drainTimeoutMs: number;
  /**
   * On stop, how long /readyz answers 503 while everything is still served, so
   * a load balancer stops sending new clients before anyone is disconnected
   * (default 0).
   */
  drainHoldMs?: number;
  /** On stop, the window over which sessions are closed with 1001, in even waves, so clients do not reconnect all at once (default 0: at once). */
  drainSpreadMs?: number;
  /** Folder of the built web client to serve at `/`; none if undefined. */
  webDir?: string | undefined;
  /** Extra readiness condition (e.g. the standalone actor host has started). */
  ready?: () => boolean;
  /** Interval of the session heartbeats to the presence service; default DEFAULT_PRESENCE_HEARTBEAT_MS. */
  presenceHeartbeatMs?: number | undefined;
  /** The gRPC API (docs/grpc-api.md); not served when undefined. */
  grpc?: GatewayGrpcOptions | undefined;
}

/** How a gateway serves the gRPC API (docs/grpc-api.md). */
export interface GatewayGrpcOptions {
  /** 0 picks a free port. */
  port: number;
  tls?: GrpcTls | undefined;
  /**
   * Who may call (see BearerAuthenticator): the user JWT verifier, bot tokens,
   * ...; given the gateway's backend client, for verifiers that ask the cluster.
   */
  verifiers: (backend: BotTokenBackend) => readonly CallTokenVerifier[];
  /** Events a WatchEvents stream may have waiting before it is closed with RESOURCE_EXHAUSTED. */
  watchBufferEvents: number;
}
