import { GatewayError, UnauthorizedError } from '../errors.js';

/**
 * Why a token was refused, machine-readable: the gateway sends it in the
 * `X-Token-Error` header of its 401 (docs/protocol.md "Connecting").
 * `unknown_key` is the one a client should retry with the same token: the
 * gateway is fetching the identity provider's keys again, and a token signed
 * with a key published since then is accepted once they have arrived.
 */
export type TokenRejection =
  | 'malformed'
  | 'unsupported_alg'
  | 'unknown_key'
  | 'bad_signature'
  | 'exp_missing'
  | 'expired'
  | 'exp_too_far'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'bad_subject';

/** A token refused by the verifier: UnauthorizedError (HTTP 401, gRPC UNAUTHENTICATED) with its reason. */
export class TokenRejectedError extends UnauthorizedError {
  /** For `unknown_key`: how soon the keys fetched again should be in (the client may retry then). */
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly reason: TokenRejection,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** Whether the same token may be accepted later without anything changing on the client's side. */
  get retryable(): boolean {
    return this.reason === 'unknown_key';
  }
}

/** The identity provider's keys or discovery document could not be fetched or used. */
export class IdentityProviderError extends GatewayError {
  readonly code = 'internal';
}
