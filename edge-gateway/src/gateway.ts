import { randomUUID } from 'node:crypto';
import uWS, { type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import { type SessionRef, createOpSchemas } from '@chat/proto';
import { type Clock, type OpsServer, startOpsServer, systemClock } from '@chat/platform';
import { BackendClient } from './routing/backend-client.js';
import { DEFAULT_RETRY_POLICY } from './routing/lane.js';
import { EventDelivery } from './delivery/event-delivery.js';
import { FrameHandler } from './session/frame-handler.js';
import { SessionRegistry } from './session/session-registry.js';
import { Outbox } from './session/outbox.js';
import { UserBudgets } from './rate-limit/user-budgets.js';
import { registerWsRoute } from './session/ws-route.js';
import { ConnectionCap } from './session/connection-cap.js';
import { SessionLifecycle } from './session/session-lifecycle.js';
import { closeForResync, closeGoingAway, closeSessionsSpread } from './session/server-closes.js';
import { createOpHandlers } from './ops/op-handlers.js';
import { GatewayMetrics } from './metrics.js';
import { InFlightRequests } from './in-flight-requests.js';
import { UserRegistrar } from './auth/user-registrar.js';
import { registerHttpRoutes } from './http/http-routes.js';
import { listenExclusive } from './http/exclusive-listen.js';
import { DEFAULT_PRESENCE_HEARTBEAT_MS, SessionReporter } from './presence/session-reporter.js';
import { PresenceClient } from './presence/presence-client.js';
import { createPresenceOps } from './presence/presence-ops.js';
import { EventSinks } from './delivery/event-sinks.js';
import { SinkRegistrations } from './delivery/sink-registrations.js';
import { ChatApiService } from './grpc/chat-api-service.js';
import { BearerAuthenticator } from './grpc/call-authenticator.js';
import { GrpcApiServer } from './grpc/grpc-server.js';
import { capAdmission } from './grpc/cap-admission.js';
import type { GatewayOptions } from './gateway-options.js';
import { DEFAULT_HOST } from './config.js';

export type { GatewayGrpcOptions, GatewayOptions } from './gateway-options.js';

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
  readonly #sinkRegistrations: SinkRegistrations;
  readonly #api: ChatApiService | undefined;
  #grpc: GrpcApiServer | undefined;
  #listenSocket: us_listen_socket | undefined;
  #port = 0;
  #draining = false;
  /** Stopping: not ready any more, though still serving until the hold ends. */
  #stopping: Promise<void> | undefined;
  #started = false;
  readonly #inFlight = new InFlightRequests();

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
    this.#sinkRegistrations = new SinkRegistrations({ sinks: this.#sinks, sessions: this.#sessions, delivery: this.#delivery, presence: this.#presence });
    const handlers = createOpHandlers(backend, this.#clock, retry, presenceOps);
    const schemas = createOpSchemas(o.limits);
    const inFlight = this.#inFlight.change;
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
          register: (userId, sink) => this.#sinkRegistrations.register(userId, sink),
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
    this.#app = uWS.App();
    registerWsRoute(this.#app, {
      limits: o.limits,
      backpressureLimit: o.backpressureLimit,
      heartbeatMs: o.heartbeatMs,
      upgrade: {
        draining: () => this.#draining,
        verifier: o.verifier,
        budgets: this.#budgets,
        capacity: this.#capacity,
        maxConnectionsPerUser: o.maxConnectionsPerUser,
        strikePolicy: { strikes: o.rate.strikes, windowMs: o.rate.strikeWindowMs },
        metrics: this.metrics,
      },
      lifecycle: new SessionLifecycle({
        sessions: this.#sessions,
        presence: this.#presence,
        registrar: this.#registrar,
        delivery: this.#delivery,
        outbox: this.#outbox,
        metrics: this.metrics,
        clock: this.#clock,
        logger: o.logger,
        heartbeatMs: o.heartbeatMs,
      }),
      frames: this.#frames,
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
          maxMessageBytes: options.limits.maxFrameBytes,
          // gRPC connections draw on the same budget as WebSocket sessions (MAX_CONNECTIONS).
          connections: capAdmission(gateway.#capacity, gateway.metrics),
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
    const closing = { outbox: this.#outbox, metrics: this.metrics, logger: this.o.logger };
    await closeSessionsSpread([...this.#sessions.all()], this.o.drainSpreadMs ?? 0, closing);
    this.#draining = true;
    if (this.#inFlight.count > 0) await this.#inFlight.settled(this.o.drainTimeoutMs);
    // Replies of the requests that just finished go out before the sockets close.
    this.#outbox.flush();
    for (const ws of [...this.#sessions.all()]) closeGoingAway(ws, this.metrics);
    await this.#grpc?.stop(this.o.drainTimeoutMs);
    this.#delivery.stop();
    this.#presence.stop();
    // Last: /healthz answers and /readyz says 503 for the whole drain.
    await this.#ops?.close();
    this.o.onStop?.();
    this.o.logger.info({ port: this.#port }, 'gateway stopped');
  }

  async #listen(host: string, port: number): Promise<void> {
    const listening = await listenExclusive(this.#app, host, port);
    this.#listenSocket = listening.socket;
    this.#port = listening.port;
    this.o.logger.info({ host, port: this.#port }, 'gateway listening');
  }

  /** The user's sessions may have missed events (their conversations were followed late): they reconnect and sync. */
  #reconnect(userId: string): void {
    for (const sink of [...(this.#sinks.of(userId) ?? [])]) sink.interrupt('events may have been missed: resume WatchEvents with your watermarks');
    for (const ws of [...(this.#sessions.sessionsOf(userId) ?? [])]) closeForResync(ws, this.metrics);
  }

  /** The sessions a presence heartbeat reports: every open one. */
  *#liveSessions(): Iterable<SessionRef> {
    for (const ws of this.#sessions.all()) {
      const data = ws.getUserData();
      if (data.open) yield { userId: data.user.id, sessionId: data.sessionId };
    }
    yield* this.#sinkRegistrations.presenceSessions();
  }
}

