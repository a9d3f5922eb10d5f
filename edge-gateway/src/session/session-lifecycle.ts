import { CloseCode, eventFrame } from '@chat/proto';
import type { Clock, Logger } from '@chat/platform';
import type { EventDelivery } from '../delivery/event-delivery.js';
import type { UserRegistrar } from '../auth/user-registrar.js';
import type { GatewayMetrics } from '../metrics.js';
import type { SessionReporter } from '../presence/session-reporter.js';
import type { Outbox } from './outbox.js';
import type { SessionRegistry } from './session-registry.js';
import type { Session } from './session.js';

/**
 * The reason uWS gives the close handler after it dropped a connection for a
 * text frame that is not valid UTF-8 (uWebSockets' ERR_INVALID_TEXT). It
 * validates text frames before the message handler and, on failure, closes
 * the TCP connection at once without a close frame (WebSocketContext.h,
 * handleFragment: forceClose, i.e. us_socket_close, which closes the file
 * descriptor before the close handler runs), so the client sees 1006 and no
 * 1007 can be sent: docs/protocol.md, "Close codes".
 */
const UWS_INVALID_UTF8 = 'Received invalid UTF-8';

export interface SessionLifecycleOptions {
  sessions: SessionRegistry;
  presence: SessionReporter;
  registrar: UserRegistrar;
  delivery: EventDelivery;
  outbox: Outbox;
  metrics: GatewayMetrics;
  clock: Clock;
  logger: Logger;
  /** The server's heartbeat interval, announced in hello (docs/protocol.md, "hello"). */
  heartbeatMs: number;
}

/**
 * What happens when a WebSocket session opens and closes: it joins and leaves
 * the session registry (which follows its user's events) and the presence
 * reports, is closed when its token expires, and gets hello once its user is
 * registered and followed, so every event after hello reaches it.
 */
export class SessionLifecycle {
  constructor(private readonly o: SessionLifecycleOptions) {}

  /** uWS's open handler, after the connection was counted. */
  opened(ws: Session): void {
    const data = ws.getUserData();
    data.open = true;
    this.o.metrics.connections.inc();
    this.o.metrics.connectionsTotal.inc();
    // Subscribe before hello: a request the client sends after hello reaches the
    // bus after the subscriptions (the user's and their conversations'), so
    // every event it causes is delivered.
    this.o.sessions.add(data.user.id, ws);
    this.o.presence.up({ userId: data.user.id, sessionId: data.sessionId });
    if (data.user.expiresAt !== undefined) {
      const ms = Math.max(0, data.user.expiresAt - this.o.clock.now());
      data.expiryTimer = setTimeout(() => {
        if (!data.open) return;
        data.open = false;
        this.o.metrics.closes.inc({ reason: 'token_expired' });
        ws.end(CloseCode.TOKEN_EXPIRED, 'token expired');
      }, Math.min(ms, 2 ** 31 - 1));
      data.expiryTimer.unref();
    }
    // The user is registered with the directory (best effort, bounded) and their conversations are
    // followed before hello, so that whoever this session talks to can find them and every event
    // after hello reaches it; frames meant for it wait in its outbox.
    const hello = () => {
      if (!data.open) return; // closed while registering: uWS forbids touching it
      this.o.outbox.greet(
        ws,
        eventFrame('hello', {
          user: { id: data.user.id, name: data.user.name },
          sessionId: data.sessionId,
          heartbeatMs: this.o.heartbeatMs,
          serverTime: this.o.clock.now(),
        }),
      );
    };
    const registered = this.o.registrar.knows(data.user) ? undefined : this.o.registrar.ensure(data.user);
    void Promise.all([registered, this.o.delivery.ready(data.user.id)]).then(hello);
  }

  /** uWS's close handler, before the connection's slot is given back. */
  closed(ws: Session, code: number, message: ArrayBuffer): void {
    const data = ws.getUserData();
    if (data.open && code !== 1000 && code !== 1001) {
      const reason = Buffer.from(message).toString('utf8');
      // uWS dropped the connection itself for a text frame that was not UTF-8 (see UWS_INVALID_UTF8).
      if (code === 1006 && reason === UWS_INVALID_UTF8) this.o.metrics.closes.inc({ reason: 'invalid_utf8' });
      // Closed by the client or the network, not by us: worth a line when diagnosing.
      this.o.logger.debug({ userId: data.user.id, sessionId: data.sessionId, code, reason }, 'session closed by peer');
    }
    data.open = false;
    if (data.expiryTimer) clearTimeout(data.expiryTimer);
    this.o.metrics.connections.dec();
    this.o.sessions.remove(data.user.id, ws);
    // Also ends the session's typing: the presence service announces `active: false` for it.
    this.o.presence.down({ userId: data.user.id, sessionId: data.sessionId });
  }
}
