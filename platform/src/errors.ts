import { CodedError } from '@chat/proto';

/**
 * Typed errors of the platform layer. Each carries the protocol error code a
 * client would see if it surfaced through a request, and its cause.
 */
export abstract class PlatformError extends CodedError {}

/** A bus request got no reply within its timeout. Retryable. */
export class BusTimeoutError extends PlatformError {
  readonly code = 'unavailable';
  constructor(readonly subject: string, readonly timeoutMs: number, options?: { cause?: unknown }) {
    super(`no reply on ${subject} within ${timeoutMs} ms`, options);
  }
}

/** Nobody subscribes to the subject a request went to (e.g. no shard owner yet). Retryable. */
export class BusNoRespondersError extends PlatformError {
  readonly code = 'unavailable';
  constructor(readonly subject: string, options?: { cause?: unknown }) {
    super(`no responders on ${subject}`, options);
  }
}

/** The bus was closed or is not connected. Retryable elsewhere or later. */
export class BusClosedError extends PlatformError {
  readonly code = 'unavailable';
  constructor(message = 'the bus is closed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A NATS server turned the connection down: wrong or missing credentials, or a
 * failed TLS handshake. Not retried: trying again with the same settings would
 * fail the same way.
 */
export class BusRefusedError extends PlatformError {
  readonly code = 'unavailable';
  constructor(message: string, readonly reason: 'authorization' | 'tls', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One or more environment variables are invalid; the message names each of them. */
export class ConfigError extends PlatformError {
  readonly code = 'internal';
  constructor(readonly problems: readonly string[], options?: { cause?: unknown }) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`, options);
  }
}

/** The lease table could not be reached or answered an error. Retryable. */
export class LeaseUnavailableError extends PlatformError {
  readonly code = 'unavailable';
}

/** A server could not listen on its port: taken by another process, or not permitted. */
export class PortUnavailableError extends PlatformError {
  readonly code = 'unavailable';
  constructor(readonly port: number, readonly setting: string, options?: { cause?: unknown }) {
    const why = (options?.cause as { code?: string } | undefined)?.code === 'EADDRINUSE' ? 'it is in use' : 'it is in use or not permitted';
    super(`cannot listen on port ${port}: ${why} (set ${setting} to a free port)`, options);
  }
}

/** The change feed (a JetStream stream) could not be reached or refused a request. Retryable. */
export class ChangeFeedUnavailableError extends PlatformError {
  readonly code = 'unavailable';
}
