import { type KeyObject, createHmac, createSecretKey } from 'node:crypto';
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
  /** A KeyObject made once, not the secret's bytes on every sign. */
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
    // Signed with node:crypto like JwtVerifier checks it: no JWT library for one fixed algorithm.
    const iat = Math.floor(Date.now() / 1000);
    const claims = {
      sub: user.id,
      name: user.name,
      iat,
      exp: iat + ttlSeconds,
      ...(this.claims.issuer === undefined ? {} : { iss: this.claims.issuer }),
      ...(this.claims.audience === undefined ? {} : { aud: this.claims.audience }),
    };
    const input = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(claims)}`;
    return `${input}.${createHmac('sha256', this.#key).update(input).digest('base64url')}`;
  }
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
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
