import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_SHARDS } from '@chat/proto';
import { envBool, envInt, envOptionalInt, envString, limitsEnv } from '@chat/platform';
import { DEFAULT_PRESENCE_HEARTBEAT_MS } from './presence/session-reporter.js';
import { DEFAULT_CLOCK_SKEW_S, DEFAULT_NAME_CLAIM, DEFAULT_TOKEN_MAX_TTL_S } from './auth/jwt-verifier.js';
import { DEFAULT_JWKS_REFRESH_MS } from './auth/jwks-key-set.js';

export const DEFAULT_PORT = 8080;
/** The address `chat gateway` listens on (HOST): every interface. */
export const DEFAULT_HOST = '0.0.0.0';
/** The gRPC API's port (GRPC_PORT) when none is set. */
export const DEFAULT_GRPC_PORT = 9090;
/** Events one WatchEvents stream may have waiting (unsent to its client) before it is closed with RESOURCE_EXHAUSTED. */
export const DEFAULT_WATCH_BUFFER_EVENTS = 1000;
export const DEFAULT_RATE_PER_SEC = 50;
export const DEFAULT_RATE_BURST = 200;
/** Frames sent while told to wait (see SessionRateLimiter) that close a session with 4029... */
export const DEFAULT_RATE_STRIKES = 400;
/** ...within this window: strikes drain evenly over it, so a sustained flood is closed and a rare overshoot forgiven. */
export const DEFAULT_RATE_STRIKE_WINDOW_MS = 60_000;
/** Sockets one user may hold on one gateway (tabs and devices); the next upgrade gets 429. */
export const DEFAULT_MAX_CONNECTIONS_PER_USER = 20;
export const DEFAULT_BACKPRESSURE_BYTES = 1024 * 1024;
/** Per attempt; a request delivered to a host that then died fails over after this. Actor work takes milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 2000;
export const DEFAULT_RETRY_BUDGET_MS = 10_000;
export const DEFAULT_HEARTBEAT_MS = 25_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 5000;
/** On SIGTERM, how long a gateway stays up but not ready, so load balancers stop routing to it before anyone is disconnected. */
export const DEFAULT_DRAIN_HOLD_MS = 5000;
/** Then the window its sessions are closed over, so their reconnects do not arrive in one wave. */
export const DEFAULT_DRAIN_SPREAD_MS = 5000;
export const DEFAULT_TOKEN_TTL_S = 7 * 24 * 3600;

/** Environment of the `gateway` role (and of the gateway half of `standalone`). */
export const gatewayEnvSchema = z.object({
  PORT: envInt(DEFAULT_PORT, 0, 65_535),
  /**
   * /healthz, /readyz and /metrics on a port of their own (0 picks a free
   * one); unset, they are served on PORT (standalone only: `chat gateway`
   * always has an ops port, see clusterGatewayEnvSchema).
   */
  OPS_PORT: envOptionalInt(0, 65_535),
  /** WebSocket sessions this gateway admits; unset, derived from the open-file limit (resolveMaxConnections). */
  MAX_CONNECTIONS: envOptionalInt(1, 10_000_000),
  /** The IP address the WebSocket/HTTP port listens on: 0.0.0.0 (or ::) for every interface, 127.0.0.1 for this machine only. */
  HOST: envHost(DEFAULT_HOST),
  /** HS256 tokens are accepted only when it is set (standalone generates one; see startStandalone). */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** An identity provider's JSON Web Key Set: RS256, ES256 and EdDSA tokens signed with its keys are accepted. */
  JWKS_URL: envHttpUrl(),
  /** An OpenID Connect issuer: its JWKS is found through <issuer>/.well-known/openid-configuration; tokens must carry it as `iss`. */
  OIDC_ISSUER: envHttpUrl(),
  /** Tokens must carry this `iss` (default OIDC_ISSUER when that is set). */
  JWT_ISSUER: z.string().optional(),
  /** Tokens must carry this `aud` (or an array containing it). */
  JWT_AUDIENCE: z.string().optional(),
  /** Tokens whose `exp` lies further ahead than this are refused (an `exp` in the year 5000 is no expiry). */
  TOKEN_MAX_TTL_S: envInt(DEFAULT_TOKEN_MAX_TTL_S, 60, 10 * 365 * 24 * 3600),
  /** Slack for clocks that disagree, on `exp` and `nbf`. */
  JWT_CLOCK_SKEW_S: envInt(DEFAULT_CLOCK_SKEW_S, 0, 600),
  /** The token claim holding the display name; the subject when it is missing. */
  JWT_NAME_CLAIM: envString(DEFAULT_NAME_CLAIM),
  /** How often the identity provider's keys are fetched again in the background. */
  JWKS_REFRESH_S: envInt(DEFAULT_JWKS_REFRESH_MS / 1000, 10, 7 * 24 * 3600),
  DEV_LOGIN: envBool(false),
  SHARDS: envInt(DEFAULT_SHARDS, 1, 65_536),
  RATE_LIMIT_PER_SEC: envInt(DEFAULT_RATE_PER_SEC, 1, 1_000_000),
  RATE_LIMIT_BURST: envInt(DEFAULT_RATE_BURST, 1, 1_000_000),
  RATE_LIMIT_STRIKES: envInt(DEFAULT_RATE_STRIKES, 1, 1_000_000),
  RATE_LIMIT_STRIKE_WINDOW_MS: envInt(DEFAULT_RATE_STRIKE_WINDOW_MS, 1000, 24 * 3600 * 1000),
  MAX_CONNECTIONS_PER_USER: envInt(DEFAULT_MAX_CONNECTIONS_PER_USER, 1, 1_000_000),
  BACKPRESSURE_LIMIT_BYTES: envInt(DEFAULT_BACKPRESSURE_BYTES, 16 * 1024, 1024 * 1024 * 1024),
  REQUEST_TIMEOUT_MS: envInt(DEFAULT_REQUEST_TIMEOUT_MS, 100, 120_000),
  REQUEST_RETRY_MS: envInt(DEFAULT_RETRY_BUDGET_MS, 0, 600_000),
  HEARTBEAT_MS: envInt(DEFAULT_HEARTBEAT_MS, 1000, 600_000),
  DRAIN_TIMEOUT_MS: envInt(DEFAULT_DRAIN_TIMEOUT_MS, 0, 600_000),
  DRAIN_HOLD_MS: envInt(DEFAULT_DRAIN_HOLD_MS, 0, 600_000),
  DRAIN_SPREAD_MS: envInt(DEFAULT_DRAIN_SPREAD_MS, 0, 600_000),
  DEV_TOKEN_TTL_S: envInt(DEFAULT_TOKEN_TTL_S, 60, 365 * 24 * 3600),
  WEB_DIR: envString(''),
  /** Session heartbeats to presence; keep well under the presence service's PRESENCE_TTL_MS. */
  PRESENCE_HEARTBEAT_MS: envInt(DEFAULT_PRESENCE_HEARTBEAT_MS, 100, 600_000),
  /** The gRPC API's port: 0 picks a free one, `off` serves no gRPC. */
  GRPC_PORT: envPortOrOff(DEFAULT_GRPC_PORT),
  /** PEM files; both or neither (checked with loadGrpcTls before anything starts). */
  GRPC_TLS_CERT: z.string().optional(),
  GRPC_TLS_KEY: z.string().optional(),
  /** Events a WatchEvents stream may have waiting for a slow client before it is closed with RESOURCE_EXHAUSTED. */
  GRPC_WATCH_BUFFER_EVENTS: envInt(DEFAULT_WATCH_BUFFER_EVENTS, 1, 1_000_000),
  ...limitsEnv,
});

/** An IP address to listen on (a host name would make "loopback only" guesswork). */
export function envHost(defaultValue: string) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return defaultValue;
      const host = v.trim();
      if (isIP(host) === 0) {
        ctx.addIssue({ code: 'custom', message: 'expected an IP address to listen on, such as 0.0.0.0 (every interface), :: or 127.0.0.1 (this machine only)' });
        return z.NEVER;
      }
      return host;
    });
}

/** DEV_LOGIN where unset means "decide by HOST" (standalone): true, false, or undefined. */
export function envDevLogin() {
  return z
    .string()
    .optional()
    .transform((v, ctx): boolean | undefined => {
      if (v === undefined) return undefined;
      const parsed = envBool(false).safeParse(v);
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: 'expected true or false (unset: on when HOST is a loopback address)' });
      return z.NEVER;
    });
}

/** An optional http(s) URL. */
function envHttpUrl() {
  return z
    .string()
    .optional()
    .refine((v) => v === undefined || (URL.canParse(v) && /^https?:$/.test(new URL(v).protocol)), 'expected an http(s) URL');
}

/** Whether `host` (an IP address) is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return /^127\./.test(host) || host === '::1' || /^::ffff:127\./i.test(host);
}

/**
 * The checks between token settings, for the final schemas (standalone,
 * cluster gateway) to apply with superRefine: zod cannot extend a refined
 * schema. `requireVerifier` (cluster) demands JWT_SECRET or an identity provider.
 */
export function checkTokenSettings(requireVerifier: boolean) {
  return (
    c: { JWT_SECRET?: string | undefined; JWKS_URL?: string | undefined; OIDC_ISSUER?: string | undefined; DEV_LOGIN?: boolean | undefined; DEV_TOKEN_TTL_S: number; TOKEN_MAX_TTL_S: number },
    ctx: z.RefinementCtx,
  ): void => {
    const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (c.JWKS_URL !== undefined && c.OIDC_ISSUER !== undefined) problem('JWKS_URL', 'set JWKS_URL or OIDC_ISSUER, not both (OIDC_ISSUER finds its JWKS by itself)');
    if (c.DEV_TOKEN_TTL_S > c.TOKEN_MAX_TTL_S) problem('DEV_TOKEN_TTL_S', `must not exceed TOKEN_MAX_TTL_S (${c.TOKEN_MAX_TTL_S}): dev login would issue tokens the gateway refuses`);
    const provider = c.JWKS_URL !== undefined || c.OIDC_ISSUER !== undefined;
    if (requireVerifier && c.JWT_SECRET === undefined) {
      if (!provider) problem('JWT_SECRET', 'required in cluster mode unless JWKS_URL or OIDC_ISSUER is set: the HS256 secret all gateways verify tokens with');
      else if (c.DEV_LOGIN === true) problem('DEV_LOGIN', 'needs JWT_SECRET: dev login signs HS256 tokens with it');
    }
  };
}

/** A port variable that may also be `off`: a number from 0 (a free port) to 65535, or undefined for off. */
function envPortOrOff(defaultValue: number) {
  return z
    .string()
    .optional()
    .transform((v, ctx): number | undefined => {
      if (v === undefined) return defaultValue;
      if (v.trim().toLowerCase() === 'off') return undefined;
      const n = Number(v);
      if (!/^\d+$/.test(v.trim()) || n > 65_535) {
        ctx.addIssue({ code: 'custom', message: 'expected a port from 0 to 65535, or off' });
        return z.NEVER;
      }
      return n;
    });
}

export type GatewayEnv = z.output<typeof gatewayEnvSchema>;
