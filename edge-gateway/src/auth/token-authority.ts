import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { USER_ID_PATTERN } from '@chat/proto';
import { UnauthorizedError } from '../errors.js';

/** Who a verified token says the caller is. */
export interface AuthenticatedUser {
  id: string;
  name: string;
  /** Token expiry in ms since the epoch; the session is closed with 4001 then. */
  expiresAt: number | undefined;
}

/** Verifies the tokens clients present at the upgrade. */
export interface TokenVerifier {
  /** Resolves the token's user, or rejects with UnauthorizedError saying why. */
  verify(token: string): Promise<AuthenticatedUser>;
}

/**
 * HS256 tokens with a shared secret: verification for every gateway, and
 * issuing for dev login. Tokens carry the user id in `sub` and the display
 * name in `name`.
 */
export class HmacTokenAuthority implements TokenVerifier {
  readonly #key: Uint8Array;

  constructor(secret: string) {
    this.#key = new TextEncoder().encode(secret);
  }

  async verify(token: string): Promise<AuthenticatedUser> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'] }));
    } catch (err) {
      const reason =
        err instanceof joseErrors.JWTExpired
          ? 'token expired'
          : err instanceof joseErrors.JWSSignatureVerificationFailed
            ? 'token signature invalid'
            : 'token malformed or not acceptable';
      throw new UnauthorizedError(reason, { cause: err });
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || !USER_ID_PATTERN.test(sub)) throw new UnauthorizedError('token subject is not a valid user id');
    const rawName = typeof payload.name === 'string' ? payload.name.trim() : '';
    const name = rawName.length > 0 ? rawName.slice(0, 100) : sub;
    return { id: sub, name, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined };
  }

  /** Signs a token for `user` valid for `ttlSeconds`. */
  issue(user: { id: string; name: string }, ttlSeconds: number): Promise<string> {
    return new SignJWT({ name: user.name })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.#key);
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
  return USER_ID_PATTERN.test(id) ? id : null;
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
