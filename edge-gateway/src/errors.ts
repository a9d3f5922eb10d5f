import { CodedError, type ErrorCode } from '@chat/proto';

/**
 * Typed errors of the edge gateway. `code` is what the client sees in the
 * error reply; `cause` keeps what went wrong underneath for the log.
 */
export abstract class GatewayError extends CodedError {}

/** A token that is missing, malformed, expired or wrongly signed. */
export class UnauthorizedError extends GatewayError {
  readonly code = 'unauthorized';
}

/**
 * A session over its rate limit; retry after `retryAfterMs`. `costly` names
 * an op charged more than one token (opCost), so that a long wait explains itself.
 */
export class RateLimitedError extends GatewayError {
  readonly code = 'rate_limited';
  constructor(
    readonly retryAfterMs: number,
    costly?: { op: string; cost: number },
  ) {
    super(
      costly
        ? `rate limit exceeded: this ${costly.op} counts as ${costly.cost} requests; retry in ${retryAfterMs} ms`
        : `rate limit exceeded; retry in ${retryAfterMs} ms`,
    );
  }
}

/**
 * A WebSocket upgrade refused because the user already holds the most
 * sockets allowed on this gateway (answered HTTP 429 at the upgrade).
 */
export class TooManyConnectionsError extends GatewayError {
  readonly code = 'rate_limited';
  constructor(readonly max: number) {
    super(`too many connections: this user already has ${max} open sockets on this gateway (MAX_CONNECTIONS_PER_USER); close one and retry`);
  }
}

/**
 * A WebSocket upgrade (answered HTTP 503 with Retry-After) or a gRPC
 * connection (its calls answered UNAVAILABLE) refused because this gateway
 * holds MAX_CONNECTIONS sessions and gRPC connections: another gateway, or
 * this one a little later, will take it.
 */
export class GatewayFullError extends GatewayError {
  readonly code = 'unavailable';
  constructor(readonly max: number) {
    super(`gateway full: it holds its most connections (${max}, MAX_CONNECTIONS: WebSocket sessions and gRPC connections); retry later or elsewhere`);
  }
}

/** The caller is not a member of the conversation (as this gateway follows their conversations). */
export class NotAMemberError extends GatewayError {
  readonly code = 'forbidden';
  constructor(conversationId: string) {
    super(`not a member of conversation ${conversationId}`);
  }
}

/**
 * A failure reported by the service behind the bus, with its protocol code.
 * `noRetry`: the service said resending cannot help now (e.g. its store cannot
 * write), so even an `unavailable` goes to the client at once.
 */
export class RemoteError extends GatewayError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterMs?: number,
    readonly noRetry = false,
  ) {
    super(message);
  }
}

/**
 * The backend could not be reached: nobody serves the subject (e.g. a shard
 * between owners), the bus is disconnected, or no reply came in time. Only a
 * `timeout` may have taken effect.
 */
export class BackendUnavailableError extends GatewayError {
  readonly code = 'unavailable';
  constructor(
    readonly reason: 'no_responders' | 'disconnected' | 'timeout',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The gateway is shutting down and takes no new requests. */
export class DrainingError extends GatewayError {
  readonly code = 'unavailable';
  constructor() {
    super('gateway is shutting down; reconnect to another gateway');
  }
}

/** The gateway could not listen (port taken, or not permitted). */
export class ListenError extends GatewayError {
  readonly code = 'internal';
  constructor(
    readonly port: number,
    readonly host?: string,
  ) {
    super(
      host === undefined
        ? `cannot listen on port ${port}: it is in use or not permitted (set PORT to a free port)`
        : `cannot listen on ${host} port ${port}: the port is in use or not permitted, or ${host} is not an address of this machine (set PORT to a free port, HOST to one of its addresses)`,
    );
  }
}

/** A gRPC call whose arguments fail the op's schema (the same rules as a WebSocket frame's). */
export class InvalidRequestError extends GatewayError {
  readonly code = 'bad_request';
}

/** The gRPC server could not listen (port taken, or not permitted). */
export class GrpcListenError extends GatewayError {
  readonly code = 'internal';
  constructor(
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(`cannot listen for gRPC on port ${port}: it is in use or not permitted (set GRPC_PORT to a free port, or off)`, options);
  }
}
