import type { Metadata } from '@grpc/grpc-js';
import type { AuthenticatedUser } from '../auth/token-authority.js';
import { UnauthorizedError } from '../errors.js';

/**
 * One way to verify a bearer token: a user JWT (TokenVerifier satisfies it as
 * is), a bot token, ... It returns the caller, or throws UnauthorizedError when
 * the token is not one of its kind or is not valid; any other error (its
 * backend unreachable) fails the call with that error's code.
 */
export interface CallTokenVerifier {
  verify(token: string): AuthenticatedUser | Promise<AuthenticatedUser>;
}

/** Who is calling, from a call's `authorization: Bearer <token>` metadata. */
export interface CallAuthenticator {
  /** Resolves with the caller, or rejects with UnauthorizedError (UNAUTHENTICATED) or another typed error. */
  authenticate(metadata: Metadata): Promise<AuthenticatedUser>;
}

/**
 * Tries each verifier in order; the first that accepts the token names the
 * caller. A token every verifier refuses is refused with the first refusal's
 * reason (the user JWT verifier comes first, so its reason is the one a user
 * sees). Adding a kind of token is adding a verifier to the list.
 */
export class BearerAuthenticator implements CallAuthenticator {
  constructor(private readonly verifiers: readonly CallTokenVerifier[]) {
    if (verifiers.length === 0) throw new RangeError('BearerAuthenticator needs at least one verifier');
  }

  async authenticate(metadata: Metadata): Promise<AuthenticatedUser> {
    const token = bearerToken(metadata);
    if (token === null) throw new UnauthorizedError('missing "authorization: Bearer <token>" metadata');
    let refusal: UnauthorizedError | undefined;
    for (const verifier of this.verifiers) {
      try {
        return await verifier.verify(token);
      } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
        refusal ??= err;
      }
    }
    throw refusal!;
  }
}

/** The token of the call's `authorization` metadata, or null when it has none in the Bearer form. */
export function bearerToken(metadata: Metadata): string | null {
  const values = metadata.get('authorization');
  if (values.length !== 1 || typeof values[0] !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(values[0]);
  return match ? match[1]! : null;
}
