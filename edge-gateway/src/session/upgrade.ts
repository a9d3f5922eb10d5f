import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import { type AuthenticatedUser, type TokenVerifier, extractToken } from '../auth/token-authority.js';
import { TokenRejectedError } from '../auth/token-rejection.js';
import { respond } from '../http/http-util.js';
import { GatewayFullError, TooManyConnectionsError } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import { SessionRateLimiter, type StrikePolicy } from '../rate-limit/session-rate-limiter.js';
import type { UserBudgets } from '../rate-limit/user-budgets.js';
import type { SessionData } from './session.js';
import type { ConnectionCap } from './connection-cap.js';

export interface UpgradeDeps {
  draining(): boolean;
  verifier: TokenVerifier;
  budgets: UserBudgets;
  /** The gateway-wide session cap (MAX_CONNECTIONS). */
  capacity: ConnectionCap;
  maxConnectionsPerUser: number;
  strikePolicy: StrikePolicy;
  metrics: GatewayMetrics;
}

/**
 * The WebSocket upgrade: refuses it while draining (503), while the gateway
 * holds MAX_CONNECTIONS sessions (503 with Retry-After, the connection closed
 * so its descriptor is freed at once), without a valid token (401) or past
 * the user's socket cap (429), else upgrades with the session's data. The
 * cap is checked before the token: refusing costs no signature check. Synchronous from start to res.upgrade(): see TokenVerifier
 * for the uWS bug an await here would hit.
 */
export function admitUpgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t, deps: UpgradeDeps): void {
  const key = req.getHeader('sec-websocket-key');
  const protocol = req.getHeader('sec-websocket-protocol');
  const extensions = req.getHeader('sec-websocket-extensions');
  const token = extractToken(req.getHeader('authorization'), req.getQuery());
  if (deps.draining()) {
    deps.metrics.upgradesRejected.inc({ reason: 'draining' });
    respond(res, '503 Service Unavailable', 'gateway is shutting down');
    return;
  }
  if (deps.capacity.full) {
    deps.metrics.upgradesRejected.inc({ reason: 'gateway_full' });
    respond(res, '503 Service Unavailable', new GatewayFullError(deps.capacity.max).message, undefined, { 'Retry-After': String(deps.capacity.retryAfterSeconds()) }, true);
    return;
  }
  if (!token) {
    deps.metrics.upgradesRejected.inc({ reason: 'unauthorized' });
    respond(res, '401 Unauthorized', 'missing token: send Authorization: Bearer <jwt> or ?token=<jwt>', undefined, { 'X-Token-Error': 'missing' });
    return;
  }
  let user: AuthenticatedUser;
  try {
    user = deps.verifier.verify(token);
  } catch (err) {
    deps.metrics.upgradesRejected.inc({ reason: 'unauthorized' });
    respond(res, '401 Unauthorized', err instanceof Error ? err.message : 'unauthorized', undefined, rejectionHeaders(err));
    return;
  }
  // Counted from here until the socket closes, so that sockets being set up count too.
  const slot = deps.budgets.reserve(user.id);
  if (!slot) {
    deps.metrics.upgradesRejected.inc({ reason: 'too_many_connections' });
    respond(res, '429 Too Many Requests', new TooManyConnectionsError(deps.maxConnectionsPerUser).message);
    return;
  }
  const data: SessionData = {
    sessionId: randomUUID(),
    user,
    slot,
    rate: new SessionRateLimiter(slot.bucket, deps.strikePolicy),
    open: false,
    greeted: false,
    inFlight: 0,
    expiryTimer: undefined,
    outbox: [],
    lanes: new Map(),
  };
  res.upgrade(data, key, protocol, extensions, context);
  // uWS opens the socket inside upgrade(); if it did not, the socket is gone and no close will come.
  if (!slot.opened) slot.release();
}

/**
 * The machine-readable side of a 401 (docs/protocol.md "Connecting"):
 * `X-Token-Error` names the reason; for `unknown_key` (keys being fetched
 * again) `Retry-After` says when the same token may be accepted.
 */
function rejectionHeaders(err: unknown): Record<string, string> {
  if (!(err instanceof TokenRejectedError)) return {};
  const headers: Record<string, string> = { 'X-Token-Error': err.reason };
  if (err.retryable) headers['Retry-After'] = String(Math.max(1, Math.ceil((err.retryAfterMs ?? 1000) / 1000)));
  return headers;
}
