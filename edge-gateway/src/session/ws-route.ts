import type { TemplatedApp } from 'uWebSockets.js';
import type { ProtocolLimits } from '@chat/proto';
import type { FrameHandler } from './frame-handler.js';
import type { SessionLifecycle } from './session-lifecycle.js';
import type { SessionData } from './session.js';
import { type UpgradeDeps, admitUpgrade } from './upgrade.js';

export interface WsRouteOptions {
  limits: ProtocolLimits;
  backpressureLimit: number;
  /** The hello's heartbeat: uWS closes a socket silent for 2.5 of them. */
  heartbeatMs: number;
  /** Who may upgrade; its `capacity` also counts the open sockets. */
  upgrade: UpgradeDeps;
  lifecycle: SessionLifecycle;
  frames: FrameHandler;
}

/**
 * The WebSocket endpoint, /v1/ws: admits upgrades (admitUpgrade), counts
 * each socket in the gateway's cap and its user's budget for as long as it is
 * open, and hands opens and closes to the session lifecycle and frames to the
 * frame handler.
 */
export function registerWsRoute(app: TemplatedApp, o: WsRouteOptions): void {
  const capacity = o.upgrade.capacity;
  app.ws<SessionData>('/v1/ws', {
    // uWS drops bigger frames abruptly (1006); keep its hard limit above ours so we can answer 1009.
    maxPayloadLength: Math.max(1024 * 1024, o.limits.maxFrameBytes * 4),
    maxBackpressure: o.backpressureLimit * 2,
    closeOnBackpressureLimit: 0,
    idleTimeout: Math.max(16, Math.ceil((o.heartbeatMs * 2.5) / 1000)),
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => admitUpgrade(res, req, context, o.upgrade),
    open: (ws) => {
      ws.getUserData().slot.opened = true;
      capacity.opened();
      o.lifecycle.opened(ws);
    },
    message: (ws, message, isBinary) => o.frames.handle(ws, message, isBinary),
    close: (ws, code, message) => {
      o.lifecycle.closed(ws, code, message);
      ws.getUserData().slot.release();
      capacity.closed();
    },
  });
}
