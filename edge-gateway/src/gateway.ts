import { randomUUID } from 'node:crypto';
import uWS, { type ListenOptions, type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import { CloseCode, type ProtocolLimits, createOpSchemas, eventFrame } from '@chat/proto';
import { type Bus, type Clock, type Logger, type OpsServer, type Registry, startOpsServer, systemClock } from '@chat/platform';
import { BackendClient } from './routing/backend-client.js';
import { DEFAULT_RETRY_POLICY } from './routing/lane.js';
import { EventDelivery } from './delivery/event-delivery.js';
import { FrameHandler } from './session/frame-handler.js';
import { SessionRegistry } from './session/session-registry.js';
import type { Session, SessionData } from './session/session.js';
import { Outbox } from './session/outbox.js';
import { UserBudgets } from './rate-limit/user-budgets.js';
import type { HmacTokenAuthority, TokenVerifier } from './auth/token-authority.js';
import { admitUpgrade } from './session/upgrade.js';
import { ConnectionCap } from './session/connection-cap.js';
import { createOpHandlers } from './ops/op-handlers.js';
import { GatewayMetrics } from './metrics.js';
import { UserRegistrar } from './auth/user-registrar.js';
import { registerHttpRoutes } from './http/http-routes.js';
import { GatewayFullError, ListenError } from './errors.js';
import { DEFAULT_PRESENCE_HEARTBEAT_MS, SessionReporter } from './presence/session-reporter.js';
import { PresenceClient } from './presence/presence-client.js';
import { createPresenceOps } from './presence/presence-ops.js';
import { EventSinks, type EventSink } from './delivery/event-sinks.js';
import { ChatApiService } from './grpc/chat-api-service.js';
import { BearerAuthenticator, type CallTokenVerifier } from './grpc/call-authenticator.js';
import { GrpcApiServer } from './grpc/grpc-server.js';
import type { ConnectionAdmission } from './grpc/grpc-connection-gate.js';
import type { GrpcTls } from './grpc/grpc-tls.js';
import type { BotTokenBackend } from './auth/bot-tokens.js';
import { DEFAULT_HOST } from './config.js';

/**
 * uWS listens with SO_REUSEPORT by default, so a second process on the same
 * port would silently share it; exclusive makes a taken port an error. The
 * typings declare the option as an enum the runtime does not export.
 */
const EXCLUSIVE_PORT = (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: ListenOptions }).LIBUS_LISTEN_EXCLUSIVE_PORT;

/** Gap between two waves of session closes while stopping. */
const WAVE_MS = 50;

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

/**
 * The edge gateway: terminates WebSockets and HTTP with uWebSockets.js,
 * verifies tokens at the upgrade, validates and routes every frame over the
 * bus, and delivers events to its sessions. Stateless: sessions live in
 * memory only, and any gateway can serve any user.
 */
export class Gateway {
  readonly metrics: GatewayMetrics;
  readonly #app: TemplatedApp;
  readonly #sessions: SessionRegistry;
  readonly #delivery: EventDelivery;
  readonly #registrar: UserRegistrar;
  readonly #frames: FrameHandler;
  readonly #outbox: Outbox;
  readonly #clock: Clock;
  readonly #presence: SessionReporter;
  readonly #budgets: UserBudgets;
  readonly #capacity: ConnectionCap;
  #ops: OpsServer | undefined;
  readonly #sinks = new EventSinks();
  /** Each WatchEvents stream is a presence session of its user (a bot watching is online). */
  readonly #sinkSessions = new Map<EventSink, { userId: string; sessionId: string }>();
  readonly #api: ChatApiService | undefined;
  #grpc: GrpcApiServer | undefined;
  #listenSocket: us_listen_socket | undefined;
  #port = 0;
  #draining = false;
  /** Stopping: not ready any more, though still serving until the hold ends. */
  #stopping: Promise<void> | undefined;
  #started = false;
  #inFlight = 0;
  #idle: (() => void) | undefined;

  private constructor(private readonly o: GatewayOptions) {
    this.#clock = o.clock ?? systemClock;
    this.metrics = new GatewayMetrics(o.registry);
    const retry = { ...DEFAULT_RETRY_POLICY, budgetMs: o.retryBudgetMs };
    const backend = new BackendClient(o.bus, o.shardCount, o.requestTimeoutMs, retry, this.metrics);
    this.#registrar = new UserRegistrar(backend, o.logger);
    this.#outbox = new Outbox(o.backpressureLimit, this.metrics);
    this.#delivery = new EventDelivery({
      bus: o.bus,
      outbox: this.#outbox,
      backend,
      logger: o.logger,
      loadedLate: (userId) => this.#reconnect(userId),
    });
    // A user's events are followed while they have a session or an event sink (gRPC stream) here.
    this.#sessions = new SessionRegistry(
      (userId) => {
        if (!this.#sinks.has(userId)) this.#delivery.watch(userId);
      },
      (userId) => {
        if (!this.#sinks.has(userId)) this.#delivery.unwatch(userId);
      },
    );
    this.#delivery.attach(this.#sessions, this.#sinks);
    this.#presence = new SessionReporter({
      bus: o.bus,
      gatewayId: randomUUID(),
      heartbeatMs: o.presenceHeartbeatMs ?? DEFAULT_PRESENCE_HEARTBEAT_MS,
      sessions: () => this.#liveSessions(),
      clock: this.#clock,
      logger: o.logger,
    });
    const presenceOps = createPresenceOps({
      backend,
      isMember: (userId, conversationId) => this.#delivery.isMember(userId, conversationId),
      // Typing leases live in the presence service, which stops a quiet or disconnected typist even if this gateway dies.
      report: (typing, at) => this.#presence.typing(typing, at),
      presence: new PresenceClient(o.bus, o.requestTimeoutMs, this.metrics),
    });
    const handlers = createOpHandlers(backend, this.#clock, retry, presenceOps);
    const schemas = createOpSchemas(o.limits);
    const inFlight = (delta: 1 | -1) => {
      this.#inFlight += delta;
      if (this.#inFlight === 0 && this.#idle) this.#idle();
    };
    this.#frames = new FrameHandler({
      handlers,
      schemas,
      maxFrameBytes: o.limits.maxFrameBytes,
      outbox: this.#outbox,
      clock: this.#clock,
      logger: o.logger,
      metrics: this.metrics,
      draining: () => this.#draining,
      inFlight,
    });
    if (o.grpc) {
      this.#api = new ChatApiService({
        handlers,
        schemas,
        authenticator: new BearerAuthenticator(o.grpc.verifiers(backend)),
        registrar: this.#registrar,
        metrics: this.metrics,
        logger: o.logger.child({ component: 'grpc' }),
        watch: {
          register: (userId, sink) => this.#registerSink(userId, sink),
          historyPageLimit: o.limits.maxHistoryLimit,
          maxBufferedEvents: o.grpc.watchBufferEvents,
        },
        take: (userId, cost) => this.#budgets.take(userId, cost),
        draining: () => this.#draining,
        inFlight,
      });
    }
    this.#capacity = new ConnectionCap(o.maxConnections);
    this.#budgets = new UserBudgets({ perSec: o.rate.perSec, burst: o.rate.burst, maxConnections: o.maxConnectionsPerUser, clock: this.#clock });
    const strikePolicy = { strikes: o.rate.strikes, windowMs: o.rate.strikeWindowMs };
    this.#app = uWS.App();
    this.#app.ws<SessionData>('/v1/ws', {
      // uWS drops bigger frames abruptly (1006); keep its hard limit above ours so we can answer 1009.
      maxPayloadLength: Math.max(1024 * 1024, o.limits.maxFrameBytes * 4),
      maxBackpressure: o.backpressureLimit * 2,
      closeOnBackpressureLimit: 0,
      idleTimeout: Math.max(16, Math.ceil((o.heartbeatMs * 2.5) / 1000)),
      sendPingsAutomatically: true,
      upgrade: (res, req, context) =>
        admitUpgrade(res, req, context, {
          draining: () => this.#draining,
          verifier: o.verifier,
          budgets: this.#budgets,
          capacity: this.#capacity,
          maxConnectionsPerUser: o.maxConnectionsPerUser,
          strikePolicy,
          metrics: this.metrics,
        }),
      open: (ws) => {
        ws.getUserData().slot.opened = true;
        this.#capacity.opened();
        this.#onOpen(ws);
      },
      message: (ws, message, isBinary) => this.#frames.handle(ws, message, isBinary),
      close: (ws, code, message) => {
        this.#onClose(ws, code, message);
        ws.getUserData().slot.release();
        this.#capacity.closed();
      },
    });
    registerHttpRoutes(this.#app, {
      registry: o.registry,
      logger: o.logger,
      ready: () => this.isReady(),
      opsEndpoints: o.opsPort === undefined,
      devLogin: o.devLogin,
      registrar: this.#registrar,
      webDir: o.webDir,
    });
  }

  /** Creates a gateway and listens on `options.port` exclusively; fails if the port is taken. */
  static async start(options: GatewayOptions): Promise<Gateway> {
    const gateway = new Gateway(options);
    const host = options.host ?? DEFAULT_HOST;
    try {
      await gateway.#listen(host, options.port);
    } catch (err) {
      options.onStop?.();
      throw err;
    }
    if (options.opsPort !== undefined) {
      try {
        gateway.#ops = await startOpsServer({
          port: options.opsPort,
          host,
          setting: 'OPS_PORT',
          registry: options.registry,
          logger: options.logger,
          ready: () => gateway.isReady(),
        });
      } catch (err) {
        await gateway.stop();
        throw err;
      }
    }
    if (options.grpc && gateway.#api) {
      try {
        gateway.#grpc = await GrpcApiServer.start({
          port: options.grpc.port,
          host: options.host,
          tls: options.grpc.tls,
          implementation: gateway.#api.implementation(),
          connections: gateway.#grpcAdmission(),
          logger: options.logger.child({ component: 'grpc' }),
        });
      } catch (err) {
        await gateway.stop();
        throw err;
      }
    }
    gateway.#presence.start();
    gateway.#started = true;
    return gateway;
  }

  /**
   * gRPC connections draw on the same budget as WebSocket sessions
   * (MAX_CONNECTIONS): each holds a descriptor for as long as it is open,
   * whatever number of calls it carries.
   */
  #grpcAdmission(): ConnectionAdmission {
    const capacity = this.#capacity;
    const metrics = this.metrics;
    return {
      admit: () => {
        if (capacity.full) return false;
        capacity.opened();
        metrics.grpcConnections.inc();
        return true;
      },
      release: () => {
        capacity.closed();
        metrics.grpcConnections.dec();
      },
      refused: () => metrics.grpcConnectionsRejected.inc(),
      refusal: new GatewayFullError(capacity.max).message,
    };
  }

  /** The port actually listened on. */
  get port(): number {
    return this.#port;
  }

  /** The port of /healthz, /readyz and /metrics: the ops port, or the public one where there is none. */
  get opsPort(): number {
    return this.#ops?.port ?? this.#port;
  }

  /** The gRPC API's port; undefined when it is not served. */
  get grpcPort(): number | undefined {
    return this.#grpc?.port;
  }

  /**
   * /readyz: not stopping, the bus connected, the extra condition met, and
   * room for another session (at MAX_CONNECTIONS the load balancer should
   * send new clients elsewhere; /healthz stays 200, the process is fine).
   */
  isReady(): boolean {
    return this.#stopping === undefined && !this.#capacity.full && this.o.bus.isReady() && (this.o.ready?.() ?? true);
  }

  /**
   * Graceful stop, in the order a rolling update needs:
   * 1. hold (`drainHoldMs`): /readyz and gRPC health say not serving while
   *    everything is still served, so the load balancer routes new clients
   *    elsewhere first;
   * 2. stop listening, end WatchEvents streams (clients resume elsewhere);
   * 3. close sessions with 1001 in even waves over `drainSpreadMs`, the rest
   *    served meanwhile, so their reconnects and syncs do not arrive at once;
   * 4. refuse new requests, let those in flight finish (up to the drain
   *    timeout), close whatever is left.
   * A request whose session closes before its reply is retried by the client
   * elsewhere (sends are idempotent), so nothing acknowledged is lost.
   */
  stop(): Promise<void> {
    return (this.#stopping ??= this.#stop());
  }

  async #stop(): Promise<void> {
    this.#grpc?.notServing();
    // A gateway whose start failed never took traffic: nothing to hold for.
    const holdMs = this.#started ? (this.o.drainHoldMs ?? 0) : 0;
    if (holdMs > 0) {
      this.o.logger.info({ holdMs }, 'gateway stopping: not ready, still serving');
      await new Promise((r) => setTimeout(r, holdMs));
    }
    if (this.#listenSocket) uWS.us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = undefined;
    this.#api?.stopStreams();
    await this.#closeSessionsSpread(this.o.drainSpreadMs ?? 0);
    this.#draining = true;
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.o.drainTimeoutMs);
        this.#idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    // Replies of the requests that just finished go out before the sockets close.
    this.#outbox.flush();
    for (const ws of [...this.#sessions.all()]) this.#closeGoingAway(ws);
    await this.#grpc?.stop(this.o.drainTimeoutMs);
    this.#delivery.stop();
    this.#presence.stop();
    // Last: /healthz answers and /readyz says 503 for the whole drain.
    await this.#ops?.close();
    this.o.onStop?.();
    this.o.logger.info({ port: this.#port }, 'gateway stopped');
  }

  #listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      // uWS takes (host, port, options, cb) at run time; its typings list no such overload.
      const listen = this.#app.listen as unknown as (host: string, port: number, options: ListenOptions, cb: (socket: us_listen_socket | false) => void) => void;
      listen.call(this.#app, host, port, EXCLUSIVE_PORT, (socket) => {
        if (!socket) {
          reject(new ListenError(port, host));
          return;
        }
        this.#listenSocket = socket;
        this.#port = uWS.us_socket_local_port(socket as unknown as uWS.us_socket);
        this.o.logger.info({ host, port: this.#port }, 'gateway listening');
        resolve();
      });
    });
  }

  /** Closes the open sessions with 1001 in waves 50 ms apart spread over `spreadMs` (all at once for 0). */
  async #closeSessionsSpread(spreadMs: number): Promise<void> {
    const sessions = [...this.#sessions.all()];
    if (spreadMs <= 0 || sessions.length === 0) return;
    const waves = Math.max(1, Math.min(sessions.length, Math.floor(spreadMs / WAVE_MS)));
    const perWave = Math.ceil(sessions.length / waves);
    this.o.logger.info({ sessions: sessions.length, spreadMs, waves }, 'gateway stopping: closing sessions');
    for (let i = 0; i < sessions.length; i += perWave) {
      if (i > 0) await new Promise((r) => setTimeout(r, WAVE_MS));
      this.#outbox.flush();
      for (const ws of sessions.slice(i, i + perWave)) this.#closeGoingAway(ws);
    }
  }

  #closeGoingAway(ws: Session): void {
    const data = ws.getUserData();
    if (!data.open) return;
    data.open = false;
    this.metrics.closes.inc({ reason: 'shutdown' });
    ws.end(CloseCode.GOING_AWAY, 'server shutting down: reconnect and sync');
  }

  #onOpen(ws: Session): void {
    const data = ws.getUserData();
    data.open = true;
    this.metrics.connections.inc();
    this.metrics.connectionsTotal.inc();
    // Subscribe before hello: a request the client sends after hello reaches the
    // bus after the subscriptions (the user's and their conversations'), so
    // every event it causes is delivered.
    this.#sessions.add(data.user.id, ws);
    this.#presence.up({ userId: data.user.id, sessionId: data.sessionId });
    if (data.user.expiresAt !== undefined) {
      const ms = Math.max(0, data.user.expiresAt - this.#clock.now());
      data.expiryTimer = setTimeout(() => {
        if (!data.open) return;
        data.open = false;
        this.metrics.closes.inc({ reason: 'token_expired' });
        ws.end(CloseCode.TOKEN_EXPIRED, 'token expired');
      }, Math.min(ms, 2 ** 31 - 1));
      data.expiryTimer.unref();
    }
    // The user is registered with the directory (best effort, bounded) and their conversations are
    // followed before hello, so that whoever this session talks to can find them and every event
    // after hello reaches it; frames meant for it wait in its outbox.
    const hello = () => {
      if (!data.open) return; // closed while registering: uWS forbids touching it
      this.#outbox.greet(
        ws,
        eventFrame('hello', {
          user: { id: data.user.id, name: data.user.name },
          sessionId: data.sessionId,
          heartbeatMs: this.o.heartbeatMs,
          serverTime: this.#clock.now(),
        }),
      );
    };
    const registered = this.#registrar.knows(data.user) ? undefined : this.#registrar.ensure(data.user);
    void Promise.all([registered, this.#delivery.ready(data.user.id)]).then(hello);
  }

  /**
   * Delivers `userId`'s events to `sink` as to their sessions. `ready`
   * resolves once every event published after it reaches the sink (the
   * user's conversations are followed); `unregister` stops it.
   */
  #registerSink(userId: string, sink: EventSink): { ready: Promise<void>; unregister(): void } {
    if (this.#sinks.add(userId, sink) && !this.#sessions.has(userId)) this.#delivery.watch(userId);
    const presence = { userId, sessionId: `watch-${randomUUID()}` };
    this.#sinkSessions.set(sink, presence);
    this.#presence.up(presence);
    let registered = true;
    return {
      ready: this.#delivery.ready(userId),
      unregister: () => {
        if (!registered) return;
        registered = false;
        this.#sinkSessions.delete(sink);
        this.#presence.down(presence);
        if (this.#sinks.remove(userId, sink) && !this.#sessions.has(userId)) this.#delivery.unwatch(userId);
      },
    };
  }

  /** The user's sessions may have missed events (their conversations were followed late): they reconnect and sync. */
  #reconnect(userId: string): void {
    for (const sink of [...(this.#sinks.of(userId) ?? [])]) sink.interrupt('events may have been missed: resume WatchEvents with your watermarks');
    for (const ws of [...(this.#sessions.sessionsOf(userId) ?? [])]) {
      const data = ws.getUserData();
      if (!data.open) continue;
      data.open = false;
      this.metrics.closes.inc({ reason: 'resync' });
      ws.end(CloseCode.TRY_AGAIN_LATER, 'reconnect and sync: events may have been missed');
    }
  }

  #onClose(ws: Session, code: number, message: ArrayBuffer): void {
    const data = ws.getUserData();
    if (data.open && code !== 1000 && code !== 1001) {
      const reason = Buffer.from(message).toString('utf8');
      // uWS dropped the connection itself for a text frame that was not UTF-8 (see UWS_INVALID_UTF8).
      if (code === 1006 && reason === UWS_INVALID_UTF8) this.metrics.closes.inc({ reason: 'invalid_utf8' });
      // Closed by the client or the network, not by us: worth a line when diagnosing.
      this.o.logger.debug({ userId: data.user.id, sessionId: data.sessionId, code, reason }, 'session closed by peer');
    }
    data.open = false;
    if (data.expiryTimer) clearTimeout(data.expiryTimer);
    this.metrics.connections.dec();
    this.#sessions.remove(data.user.id, ws);
    // Also ends the session's typing: the presence service announces `active: false` for it.
    this.#presence.down({ userId: data.user.id, sessionId: data.sessionId });
  }

  /** The sessions a presence heartbeat reports: every open one. */
  *#liveSessions(): Iterable<{ userId: string; sessionId: string }> {
    for (const ws of this.#sessions.all()) {
      const data = ws.getUserData();
      if (data.open) yield { userId: data.user.id, sessionId: data.sessionId };
    }
    yield* this.#sinkSessions.values();
  }
}

