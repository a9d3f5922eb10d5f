import { Server, ServerCredentials, logVerbosity, setLogVerbosity, setLogger } from '@grpc/grpc-js';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import { loadFileDescriptorSetFromBuffer, loadSync } from '@grpc/proto-loader';
import { API_DESCRIPTOR_SET_BASE64, type ChatApiServer, ChatApiService } from '@chat/proto';
import type { Logger } from '@chat/platform';
import type { GrpcTls } from './grpc-tls.js';
import { type ConnectionAdmission, GrpcConnectionGate } from './grpc-connection-gate.js';

/** The name health checks ask about for the chat API (the empty name means the whole server). */
export const CHAT_API_SERVICE_NAME = 'chat.v1.ChatApi';

export interface GrpcApiServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** The IP address to listen on; default every interface (0.0.0.0). */
  host?: string | undefined;
  /** Certificate and key to serve TLS with; plaintext when absent. */
  tls?: GrpcTls | undefined;
  implementation: ChatApiServer;
  /**
   * The largest request message accepted (MAX_FRAME_BYTES, as for a WebSocket
   * frame): a bigger one is refused RESOURCE_EXHAUSTED before it is decoded,
   * and nothing accepted makes a bus message the start-up check did not allow for.
   */
  maxMessageBytes: number;
  /**
   * The gateway's connection budget (MAX_CONNECTIONS): each gRPC connection
   * holds a slot while open, and one over budget is refused (UNAVAILABLE).
   */
  connections: ConnectionAdmission;
  logger: Logger;
}

/**
 * The gateway's gRPC listener: the ChatApi service, the standard
 * grpc.health.v1.Health service (SERVING until the gateway drains) and server
 * reflection (v1 and v1alpha) describing both, so tools such as grpcurl
 * can call it without the .proto files.
 */
export class GrpcApiServer {
  readonly #server: Server;
  readonly #health = new HealthImplementation({ '': 'SERVING', [CHAT_API_SERVICE_NAME]: 'SERVING' });
  #gate: GrpcConnectionGate | undefined;

  private constructor(private readonly o: GrpcApiServerOptions) {
    this.#server = new Server({
      'grpc.max_receive_message_length': o.maxMessageBytes,
      // grpc-js's channelz bookkeeping (on by default) costs ~5% of the main thread per call and
      // keeps per-call records that outlive young-generation GC; nothing here reads it.
      'grpc.enable_channelz': 0,
    });
    this.#server.addService(ChatApiService, o.implementation);
    this.#health.addToServer(this.#server);
    const api = loadFileDescriptorSetFromBuffer(Buffer.from(API_DESCRIPTOR_SET_BASE64, 'base64'));
    // Health's own definition too, so reflection lists both services a client can call.
    new ReflectionService({ ...api, ...loadSync(healthProtoPath) }).addToServer(this.#server);
  }

  /** Listens on `options.host` (default every interface) at `options.port`; fails with GrpcListenError if it cannot. */
  static async start(options: GrpcApiServerOptions): Promise<GrpcApiServer> {
    routeGrpcLogs(options.logger);
    const server = new GrpcApiServer(options);
    await server.#bind();
    return server;
  }

  /** The port actually listened on. */
  get port(): number {
    return this.#gate?.port ?? 0;
  }

  /** Health answers NOT_SERVING from now on (the gateway is draining). */
  notServing(): void {
    this.#health.setStatus('', 'NOT_SERVING');
    this.#health.setStatus(CHAT_API_SERVICE_NAME, 'NOT_SERVING');
  }

  /**
   * Stops accepting calls, waits for the calls in flight to finish (at most
   * `timeoutMs`), then closes every connection.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.notServing();
    this.#gate?.close();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, timeoutMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.o.logger.info({ port: this.port }, 'gRPC server stopped');
  }

  async #bind(): Promise<void> {
    const credentials = this.o.tls
      ? ServerCredentials.createSsl(null, [{ cert_chain: this.o.tls.cert, private_key: this.o.tls.key }], false)
      : ServerCredentials.createInsecure();
    // Our own listener, not bindAsync: it counts connections against the gateway's budget (grpc-connection-gate.ts).
    this.#gate = await GrpcConnectionGate.listen({
      port: this.o.port,
      host: this.o.host ?? '0.0.0.0',
      tls: this.o.tls,
      credentials,
      server: this.#server,
      admission: this.o.connections,
    });
    this.o.logger.info({ port: this.port, tls: this.o.tls !== undefined }, 'gRPC server listening');
  }
}

/**
 * grpc-js writes its own diagnostics to stderr through a process-wide logger
 * (a failed bind prints "E No address added ..." before our GrpcListenError
 * says the same, better). Send them to the structured log instead: its errors
 * as warnings (ours carry the outcome), the rest at debug.
 */
function routeGrpcLogs(logger: Logger): void {
  const log = logger.child({ component: 'grpc-js' });
  const line = (args: unknown[]) => args.map(String).join(' ');
  setLogger({
    error: (...args: unknown[]) => log.warn(line(args)),
    info: (...args: unknown[]) => log.debug(line(args)),
    debug: (...args: unknown[]) => log.debug(line(args)),
  });
  setLogVerbosity(logVerbosity.ERROR);
}
