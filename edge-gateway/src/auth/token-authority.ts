import { type KeyObject, createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { BOT_ID_PREFIX, USER_ID_PATTERN } from '@chat/proto';
import { JwtVerifier, type TokenPolicy } from './jwt-verifier.js';

/** Who a verified token says the caller is. */
export interface AuthenticatedUser {
  id: string;
  name: string;
  /** Token expiry in ms since the epoch; the session is closed with 4001 then. */
  expiresAt: number | undefined;
  /** True for a bot account authenticated by its bot token (auth/bot-tokens.ts); absent for JWTs. */
  bot?: boolean;
}

/**
 * Verifies the tokens clients present at the upgrade. Synchronous on purpose:
 * the gateway must upgrade inside uWS's upgrade handler. An upgrade finished
 * later, from `res.cork()`, is sometimes closed by uWS v20.30 right after the
 * 101 (its cork() misreads the reallocated socket as an HTTP response with
 * `Connection: close`; uNetworking/uWebSockets#1928), so no await may sit
 * between the upgrade request and `res.upgrade()`. Hence JwtVerifier
 * (auth/jwt-verifier.ts) on node:crypto, with an identity provider's keys
 * fetched ahead: jose verifies only asynchronously (WebCrypto).
 */
export interface TokenVerifier {
  /** Returns the token's user, or throws UnauthorizedError saying why. */
  verify(token: string): AuthenticatedUser;
}

/**
 * HS256 tokens with a shared secret: issuing for dev login, and verifying
 * them (with JwtVerifier's default policy: `exp` required and bounded).
 * Tokens carry the user id in `sub`, the display name in `name`, and `iss`
 * and `aud` when the gateway enforces them (JWT_ISSUER, JWT_AUDIENCE), so
 * that its own tokens pass the checks every token passes.
 */
export class HmacTokenAuthority implements TokenVerifier {
  /**
   * A KeyObject made once: given raw bytes, jsonwebtoken probes them as a
   * private and then a public key (two thrown errors) on every sign, about
   * 0.7 ms per login in a CPU profile.
   */
  readonly #key: KeyObject;
  readonly #verifier: JwtVerifier;

  constructor(
    secret: string,
    private readonly claims: TokenPolicy = {},
  ) {
    this.#key = createSecretKey(Buffer.from(secret, 'utf8'));
    this.#verifier = new JwtVerifier({ hmacSecret: secret, ...claims });
  }

  verify(token: string): AuthenticatedUser {
    return this.#verifier.verify(token);
  }

  /** Signs a token for `user` valid for `ttlSeconds`. */
  issue(user: { id: string; name: string }, ttlSeconds: number): string {
    return jwt.sign({ sub: user.id, name: user.name }, this.#key, {
      algorithm: 'HS256',
      expiresIn: ttlSeconds,
      ...(this.claims.issuer === undefined ? {} : { issuer: this.claims.issuer }),
      ...(this.claims.audience === undefined ? {} : { audience: this.claims.audience }),
    });
  }
}

/**
 * The user id dev login gives a display name: lower-cased, runs of other
 * characters turned into `-`. The same name always logs in as the same user.
 * Returns null when nothing usable is left.
 */
export function devUserIdFor(name: string): string | null {
  const id = name
    .normalize('NFKD')
    // Drop the combining marks NFKD splits off ('ü' → 'u'), so accents do not become '-'.
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
  // Bot ids are reserved: a name like "bot_3f9c…" must not sign in as that bot.
  return USER_ID_PATTERN.test(id) && !id.startsWith(BOT_ID_PREFIX) ? id : null;
}

/** The bearer token of an upgrade request: the Authorization header, else `?token=`. */
export function extractToken(authorization: string, query: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (match) return match[1]!;
  if (query) {
    const token = new URLSearchParams(query).get('token');
    if (token) return token;
  }
  return null;
}
