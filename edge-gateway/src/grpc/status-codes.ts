import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import type { ErrorCode } from '@chat/proto';
import type { Logger } from '@chat/platform';
import { GatewayError, RateLimitedError, RemoteError } from '../errors.js';

/**
 * The protocol's error codes as gRPC status codes, one to one (each code has
 * its own status, so a client can switch on either). docs/grpc-api.md shows
 * this table; change both together.
 */
export const GRPC_STATUS_OF: { readonly [K in ErrorCode]: status } = {
  bad_request: status.INVALID_ARGUMENT,
  unauthorized: status.UNAUTHENTICATED,
  forbidden: status.PERMISSION_DENIED,
  not_found: status.NOT_FOUND,
  conflict: status.FAILED_PRECONDITION,
  too_large: status.OUT_OF_RANGE,
  rate_limited: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  internal: status.INTERNAL,
};

/** Metadata key carrying the protocol error code of a failed call. */
export const ERROR_CODE_KEY = 'chat-error-code';
/** Metadata key carrying how long to wait before a retry, for `rate_limited`. */
export const RETRY_AFTER_KEY = 'retry-after-ms';

/** A gRPC error for a protocol code; the code itself rides along in `chat-error-code` metadata. */
export function serviceError(code: ErrorCode, message: string, retryAfterMs?: number): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, code);
  if (retryAfterMs !== undefined) metadata.set(RETRY_AFTER_KEY, String(retryAfterMs));
  return { code: GRPC_STATUS_OF[code], details: message, metadata };
}

/**
 * Any failure of a handler as a gRPC error: typed errors keep their code and
 * message; anything else is logged and answered INTERNAL without details.
 */
export function toServiceError(err: unknown, logger: Logger, rpc: string): Partial<ServiceError> {
  if (err instanceof GatewayError) {
    const retryAfterMs = err instanceof RemoteError || err instanceof RateLimitedError ? err.retryAfterMs : undefined;
    return serviceError(err.code, err.message, retryAfterMs);
  }
  logger.error({ err, rpc }, 'gRPC call failed');
  return serviceError('internal', 'internal error');
}
