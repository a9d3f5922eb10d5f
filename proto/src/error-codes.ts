/**
 * The protocol's error codes (docs/protocol.md, "Errors"). Every typed error in
 * every package maps to exactly one of these; clients switch on them.
 */
export const ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'too_large',
  'rate_limited',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const known = new Set<string>(ERROR_CODES);

/** Narrows a code read off the bus; anything unknown becomes `internal`. */
export function toErrorCode(code: string): ErrorCode {
  return known.has(code) ? (code as ErrorCode) : 'internal';
}

/** WebSocket close codes of docs/protocol.md, "Close codes". */
export const CloseCode = {
  GOING_AWAY: 1001,
  /** A binary frame: the protocol is JSON text frames only. */
  UNSUPPORTED_DATA: 1003,
  TOO_LARGE: 1009,
  /** The session may have missed events (its conversations were followed late, after an outage): reconnect and sync. */
  TRY_AGAIN_LATER: 1013,
  TOKEN_EXPIRED: 4001,
  SLOW_CONSUMER: 4003,
  RATE_LIMIT_ABUSED: 4029,
} as const;

/**
 * The base of every package's typed errors: a stable protocol `code`, the
 * class name as `name`, and the underlying `cause`. Each package keeps its own
 * subclass (PlatformError, ChatError, GatewayError, ...) in its errors.ts.
 */
export abstract class CodedError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
