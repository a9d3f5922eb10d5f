import type { AuthenticatedUser, TokenVerifier } from '../auth/token-authority.js';
import type { CallTokenVerifier } from './call-authenticator.js';

/** Tokens remembered at most; past it the oldest are forgotten (and verified again when they come back). */
export const DEFAULT_VERIFIED_TOKENS = 10_000;

/**
 * A JWT verifier for per-call authentication: a gRPC client sends its token
 * with every call, and verifying an HS256 signature costs ~50 µs of the
 * gateway's main thread each time (a tenth of a SendMessage). A token
 * verified once is remembered until its `exp` passes, then refused as the
 * verifier would refuse it; a token that failed is never remembered. Safe
 * because a signed token cannot change or be revoked before its expiry
 * (bot tokens, which can be, are verified per call by their own verifier).
 */
export function cachedTokenVerifier(verifier: TokenVerifier, options: { max?: number; now?: () => number } = {}): CallTokenVerifier {
  const max = options.max ?? DEFAULT_VERIFIED_TOKENS;
  const now = options.now ?? Date.now;
  const verified = new Map<string, AuthenticatedUser>();
  return {
    verify(token: string): AuthenticatedUser {
      const known = verified.get(token);
      if (known && (known.expiresAt === undefined || known.expiresAt > now())) return known;
      if (known) verified.delete(token);
      // Throws UnauthorizedError for an expired or bad token, exactly as without the cache.
      const user = verifier.verify(token);
      if (verified.size >= max) verified.delete(verified.keys().next().value!);
      verified.set(token, user);
      return user;
    },
  };
}
