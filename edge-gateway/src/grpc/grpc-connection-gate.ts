import { type Server as NetServer, type Socket, createServer } from 'node:net';
import { type Http2Server, type Http2Session, type ServerHttp2Stream, constants as h2, createServer as createH2Server, createSecureServer as createH2SecureServer } from 'node:http2';
import type { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import { GrpcListenError } from '../errors.js';
import type { GrpcTls } from './grpc-tls.js';

/** The gateway's connection budget as the gRPC listener sees it (the ConnectionCap behind MAX_CONNECTIONS). */
export interface ConnectionAdmission {
  /** Takes a slot for a new connection; false when the gateway is full (nothing taken). */
  admit(): boolean;
  /** Gives back the slot of an admitted connection that closed. */
  release(): void;
  /** Counts a refused connection. */
  refused(): void;
  /** Why a connection is refused, as its client reads it (grpc-message). */
  readonly refusal: string;
}

/** Refused connections answered at once; past this many, further ones are dropped unanswered (a flood must not hold descriptors). */
const MAX_REFUSALS_IN_PROGRESS = 64;
/** A refused connection is destroyed after this long whatever it does. */
const REFUSAL_TIMEOUT_MS = 5000;
/** grpc-status UNAVAILABLE: clients retry it, elsewhere or later. */
const GRPC_UNAVAILABLE = '14';

export interface GrpcConnectionGateOptions {
  port: number;
  host: string;
  tls: GrpcTls | undefined;
  credentials: ServerCredentials;
  server: GrpcServer;
  admission: ConnectionAdmission;
}

/**
 * The gRPC port's listener. grpc-js listens with its own HTTP/2 servers and
 * offers no cap on connections, so this owns the TCP listener instead and
 * hands grpc-js only the connections the gateway's budget admits (grpc-js's
 * connection injector). Each admitted connection holds one slot of
 * MAX_CONNECTIONS until it closes, like a WebSocket session: both cost a file
 * descriptor, and the cap exists to keep descriptors below the open-file limit.
 *
 * A connection over budget is refused cleanly: a small HTTP/2 server of its
 * own (TLS when the API is served with TLS) answers every call on it with
 * UNAVAILABLE and the reason, then closes it, so a bot sees "gateway full"
 * instead of a reset, and retries.
 */
export class GrpcConnectionGate {
  readonly #listener: NetServer;
  readonly #refuser: Http2Server;
  readonly #refusing = new Set<Socket>();
  #port = 0;

  private constructor(private readonly o: GrpcConnectionGateOptions) {
    const injector = o.server.createConnectionInjector(o.credentials);
    this.#refuser = o.tls ? createH2SecureServer({ cert: o.tls.cert, key: o.tls.key, allowHTTP1: false }) : createH2Server();
    this.#refuser.on('stream', (stream) => this.#answerRefused(stream));
    this.#refuser.on('session', (session: Http2Session) => session.on('error', () => undefined));
    this.#listener = createServer({ noDelay: true }, (socket) => {
      socket.on('error', () => undefined);
      if (o.admission.admit()) {
        socket.once('close', () => o.admission.release());
        injector.injectConnection(socket);
        return;
      }
      o.admission.refused();
      if (this.#refusing.size >= MAX_REFUSALS_IN_PROGRESS) {
        socket.destroy();
        return;
      }
      this.#refusing.add(socket);
      // A fixed deadline, not an idle timeout: a client trickling bytes must not keep its refusal open.
      const deadline = setTimeout(() => socket.destroy(), REFUSAL_TIMEOUT_MS);
      deadline.unref();
      socket.once('close', () => {
        clearTimeout(deadline);
        this.#refusing.delete(socket);
      });
      this.#refuser.emit('connection', socket);
    });
  }

  /** Listens on host:port (0 picks a free port); fails with GrpcListenError if it cannot. */
  static async listen(options: GrpcConnectionGateOptions): Promise<GrpcConnectionGate> {
    const gate = new GrpcConnectionGate(options);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new GrpcListenError(options.port, { cause: err }));
      gate.#listener.once('error', onError);
      gate.#listener.listen({ port: options.port, host: options.host, exclusive: true }, () => {
        gate.#listener.off('error', onError);
        resolve();
      });
    });
    gate.#port = (gate.#listener.address() as { port: number }).port;
    return gate;
  }

  get port(): number {
    return this.#port;
  }

  /** Stops accepting connections; the admitted ones are grpc-js's to drain, the refused ones end now. */
  close(): void {
    this.#listener.close();
    for (const socket of this.#refusing) socket.destroy();
  }

  #answerRefused(stream: ServerHttp2Stream): void {
    stream.on('error', () => undefined);
    // Trailers-only response: the form gRPC gives a call that fails before any message.
    stream.respond({ [h2.HTTP2_HEADER_STATUS]: 200, 'content-type': 'application/grpc', 'grpc-status': GRPC_UNAVAILABLE, 'grpc-message': encodeGrpcMessage(this.o.admission.refusal) }, { endStream: true });
    // GOAWAY: no further calls on this connection; it ends once this answer is out.
    stream.session?.close();
  }
}

/** grpc-message is percent-encoded outside printable ASCII (and '%' itself). */
function encodeGrpcMessage(text: string): string {
  return text.replace(/[^\x20-\x24\x26-\x7e]/g, (c) => encodeURIComponent(c));
}
