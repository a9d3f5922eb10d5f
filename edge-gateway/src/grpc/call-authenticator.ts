import type { Metadata } from '@grpc/grpc-js';
import type { AuthenticatedUser } from '../auth/token-authority.js';
import { BotTokenVerifier } from '../auth/bot-tokens.js';
import { UnauthorizedError } from '../errors.js';

/** A re-check of a token while a long-lived call runs; stop() ends it. */
export interface TokenWatch {
  stop(): void;
}

/**
 * One way to verify a bearer token: a user JWT (TokenVerifier satisfies it as
 * is), a bot token, ... verify() returns the caller, or throws
 * UnauthorizedError when the token is not valid; any other error (its backend
 * unreachable) fails the call with that error's code.
 */
export interface CallTokenVerifier {
  verify(token: string): AuthenticatedUser | Promise<AuthenticatedUser>;
  /** Whether the token is of this verifier's kind (e.g. by its prefix): then only this verifier is asked. */
  handles?(token: string): boolean;
  /** Re-checks the token while a long-lived call runs and calls onRevoked once if it is refused. */
  watch?(token: string, onRevoked: (err: UnauthorizedError) => void): TokenWatch;
}

/** An authenticated call: who is calling, and how to learn that their token stopped being valid. */
export interface AuthenticatedCall {
  user: AuthenticatedUser;
  /**
   * For long-lived calls (streams): calls onRevoked once when the token is no
   * longer valid (a bot token revoked, a JWT expired), until stopped.
   */
  watch(onRevoked: (err: UnauthorizedError) => void): TokenWatch;
}

/** Who is calling, from a call's `authorization: Bearer <token>` metadata. */
export interface CallAuthenticator {
  /** Resolves with the caller, or rejects with UnauthorizedError (UNAUTHENTICATED) or another typed error. */
  authenticate(metadata: Metadata): Promise<AuthenticatedCall>;
}

/**
 * Verifies bearer tokens with a list of verifiers. A verifier that claims the
 * token (handles()) is the only one asked; otherwise those without handles()
 * are tried in order and the first that accepts it names the caller. A token
 * all of them refuse is refused with the first refusal's reason. Adding a kind
 * of token is adding a verifier to the list.
 */
export class BearerAuthenticator implements CallAuthenticator {
  constructor(private readonly verifiers: readonly CallTokenVerifier[]) {
    if (verifiers.length === 0) throw new RangeError('BearerAuthenticator needs at least one verifier');
  }

  async authenticate(metadata: Metadata): Promise<AuthenticatedCall> {
    const token = bearerToken(metadata);
    if (token === null) throw new UnauthorizedError('missing "authorization: Bearer <token>" metadata');
    const claimed = this.verifiers.find((v) => v.handles?.(token) === true);
    const candidates = claimed ? [claimed] : this.verifiers.filter((v) => !v.handles);
    let refusal: UnauthorizedError | undefined;
    for (const verifier of candidates) {
      let user: AuthenticatedUser;
      try {
        user = await verifier.verify(token);
      } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
        refusal ??= err;
        continue;
      }
      return { user, watch: (onRevoked) => (verifier.watch ? verifier.watch(token, onRevoked) : watchExpiry(user, onRevoked)) };
    }
    throw refusal ?? new UnauthorizedError('token not accepted');
  }
}

/** Bot tokens (`chat bot create`) as a call verifier: claimed by prefix, re-checked while a stream runs. */
export function botCallVerifier(bots: BotTokenVerifier): CallTokenVerifier {
  return {
    handles: (token) => BotTokenVerifier.handles(token),
    verify: (token) => bots.verify(token),
    watch: (token, onRevoked) => bots.watch(token, onRevoked),
  };
}

/** A token with an expiry (a JWT) revokes itself then; one without never does. */
function watchExpiry(user: AuthenticatedUser, onRevoked: (err: UnauthorizedError) => void): TokenWatch {
  if (user.expiresAt === undefined) return { stop: () => {} };
  const timer = setTimeout(() => onRevoked(new UnauthorizedError('token expired')), Math.min(Math.max(0, user.expiresAt - Date.now()), 2 ** 31 - 1));
  timer.unref();
  return { stop: () => clearTimeout(timer) };
}

/** The token of the call's `authorization` metadata, or null when it has none in the Bearer form. */
export function bearerToken(metadata: Metadata): string | null {
  const values = metadata.get('authorization');
  if (values.length !== 1 || typeof values[0] !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(values[0]);
  return match ? match[1]! : null;
}
