import { type KeyObject, createHmac, createSecretKey, timingSafeEqual, verify as verifySignature } from 'node:crypto';
import { USER_ID_PATTERN } from '@chat/proto';
import type { AuthenticatedUser, TokenVerifier } from './token-authority.js';
import type { PublicKeySource, VerificationKey } from './jwks-key-set.js';
import { type TokenRejection, TokenRejectedError } from './token-rejection.js';

/** Longest a token may still be valid for (TOKEN_MAX_TTL_S): a token whose `exp` lies further ahead is refused. */
export const DEFAULT_TOKEN_MAX_TTL_S = 30 * 24 * 3600;
/** Allowance for clocks that disagree, applied to `exp` and `nbf` (JWT_CLOCK_SKEW_S). */
export const DEFAULT_CLOCK_SKEW_S = 30;
/** The claim holding the display name (JWT_NAME_CLAIM); the subject is used when it is missing or blank. */
export const DEFAULT_NAME_CLAIM = 'name';
/** Characters of the display name kept. */
const MAX_NAME_CHARS = 100;

/** What every accepted token must satisfy, whoever signed it. */
export interface TokenPolicy {
  /** `iss` must equal this when set. */
  issuer?: string | undefined;
  /** `aud` (a string or an array) must be or contain this when set. */
  audience?: string | undefined;
  maxTtlS?: number;
  clockSkewS?: number;
  nameClaim?: string;
}

export interface JwtVerifierOptions extends TokenPolicy {
  /** HS256 tokens are accepted only when a secret is given. */
  hmacSecret?: string | undefined;
  /** RS256, ES256 and EdDSA tokens are accepted only when a key source (an identity provider's key set) is given. */
  publicKeys?: PublicKeySource | undefined;
  /** Milliseconds since the epoch; Date.now by default. */
  now?: () => number;
}

/**
 * Verifies JWTs synchronously (see TokenVerifier for why) with node:crypto:
 * HS256 with the shared secret, RS256, ES256 and EdDSA with the identity
 * provider's keys. The algorithm picks the kind of key and a key is only ever
 * used for the one algorithm its type allows, so `alg: none`, an HS256 token
 * "signed" with a public key, or an RSA key made to check an ECDSA signature
 * are impossible. Then the claims: `exp` required, not passed and not further
 * ahead than maxTtlS; `nbf` not ahead (both with clockSkewS of slack); `iss`
 * and `aud` when the policy names them; `sub` a valid user id. Refusals are
 * TokenRejectedError with a reason; an unknown `kid` asks the key source to
 * fetch again and is refused as `unknown_key`, which the client may retry.
 */
export class JwtVerifier implements TokenVerifier {
  readonly #hmacKey: KeyObject | undefined;
  readonly #publicKeys: PublicKeySource | undefined;
  readonly #issuer: string | undefined;
  readonly #audience: string | undefined;
  readonly #maxTtlS: number;
  readonly #skewS: number;
  readonly #nameClaim: string;
  readonly #now: () => number;

  constructor(options: JwtVerifierOptions) {
    if (options.hmacSecret === undefined && options.publicKeys === undefined) throw new RangeError('JwtVerifier needs an HS256 secret, public keys, or both');
    this.#hmacKey = options.hmacSecret === undefined ? undefined : createSecretKey(Buffer.from(options.hmacSecret, 'utf8'));
    this.#publicKeys = options.publicKeys;
    this.#issuer = options.issuer;
    this.#audience = options.audience;
    this.#maxTtlS = options.maxTtlS ?? DEFAULT_TOKEN_MAX_TTL_S;
    this.#skewS = options.clockSkewS ?? DEFAULT_CLOCK_SKEW_S;
    this.#nameClaim = options.nameClaim ?? DEFAULT_NAME_CLAIM;
    this.#now = options.now ?? Date.now;
  }

  verify(token: string): AuthenticatedUser {
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p))) reject('malformed', 'token malformed: not a JWT (three base64url parts)');
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    const header = decodeObject(headerPart, 'header');
    const { alg, kid } = header;
    if (typeof alg !== 'string') reject('malformed', 'token malformed: its header has no alg');
    if (kid !== undefined && typeof kid !== 'string') reject('malformed', 'token malformed: its kid is not a string');
    // RFC 7515 4.1.11: extensions marked critical must be understood, and this verifier understands none.
    if (header.crit !== undefined) reject('malformed', 'token malformed: it has critical header extensions (crit), which are not supported');
    const signingInput = Buffer.from(`${headerPart}.${payloadPart}`, 'latin1');
    const signature = Buffer.from(signaturePart, 'base64url');
    if (alg === 'HS256') this.#verifyHmac(signingInput, signature);
    else if (alg === 'RS256' || alg === 'ES256' || alg === 'EdDSA') this.#verifyPublic(alg, kid, signingInput, signature);
    else reject('unsupported_alg', `token alg ${JSON.stringify(alg)} is not accepted (RS256, ES256, EdDSA${this.#hmacKey ? ', HS256' : ''})`);
    return this.#checkClaims(decodeObject(payloadPart, 'payload'));
  }

  #verifyHmac(input: Buffer, signature: Buffer): void {
    if (!this.#hmacKey) reject('unsupported_alg', 'token alg HS256 is not accepted: this gateway has no JWT_SECRET (sign tokens with the identity provider)');
    const expected = createHmac('sha256', this.#hmacKey).update(input).digest();
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) reject('bad_signature', 'token signature invalid');
  }

  #verifyPublic(alg: VerificationKey['alg'], kid: string | undefined, input: Buffer, signature: Buffer): void {
    if (!this.#publicKeys) reject('unsupported_alg', `token alg ${alg} is not accepted: no identity provider is configured (JWKS_URL or OIDC_ISSUER)`);
    const all = this.#publicKeys.keys();
    const named = kid === undefined ? all.filter((k) => k.alg === alg) : all.filter((k) => k.kid === kid);
    if (named.length === 0) {
      const retryAfterMs = this.#publicKeys.refetchSoon();
      reject('unknown_key', `token key ${kid === undefined ? `(no kid, ${alg})` : JSON.stringify(kid)} is unknown: fetching the identity provider's keys again, retry in ${Math.ceil(retryAfterMs / 1000)} s`, retryAfterMs);
    }
    const usable = named.filter((k) => k.alg === alg);
    if (usable.length === 0) reject('unsupported_alg', `token alg ${alg} does not match its key ${JSON.stringify(kid)}, which is for ${named[0]!.alg}`);
    const ok = usable.some((k) => {
      try {
        return alg === 'ES256'
          ? verifySignature('sha256', input, { key: k.key, dsaEncoding: 'ieee-p1363' }, signature)
          : verifySignature(alg === 'EdDSA' ? null : 'sha256', input, k.key, signature);
      } catch {
        return false;
      }
    });
    if (!ok) reject('bad_signature', 'token signature invalid');
  }

  #checkClaims(claims: Record<string, unknown>): AuthenticatedUser {
    const now = this.#now() / 1000;
    const { exp, nbf, iss, aud, sub } = claims;
    if (exp === undefined) reject('exp_missing', 'token has no exp: every token must say when it expires');
    if (typeof exp !== 'number' || !Number.isFinite(exp)) reject('malformed', 'token malformed: exp is not a number');
    if (now > exp + this.#skewS) reject('expired', 'token expired');
    if (exp - now > this.#maxTtlS + this.#skewS) {
      reject('exp_too_far', `token exp too far ahead: it is valid for ${Math.round(exp - now)} s, more than TOKEN_MAX_TTL_S (${this.#maxTtlS} s)`);
    }
    if (nbf !== undefined) {
      if (typeof nbf !== 'number' || !Number.isFinite(nbf)) reject('malformed', 'token malformed: nbf is not a number');
      if (nbf > now + this.#skewS) reject('not_yet_valid', `token not yet valid: nbf is ${Math.round(nbf - now)} s ahead`);
    }
    if (this.#issuer !== undefined && iss !== this.#issuer) reject('wrong_issuer', `token issuer ${JSON.stringify(iss ?? null)} is not the expected ${JSON.stringify(this.#issuer)}`);
    if (this.#audience !== undefined && !(aud === this.#audience || (Array.isArray(aud) && aud.includes(this.#audience)))) {
      reject('wrong_audience', `token audience ${JSON.stringify(aud ?? null)} does not include the expected ${JSON.stringify(this.#audience)}`);
    }
    if (typeof sub !== 'string' || !USER_ID_PATTERN.test(sub)) reject('bad_subject', 'token subject is not a valid user id');
    const claimed = claims[this.#nameClaim];
    // Cut in UTF-16 units like every protocol length; a pair cut in half (or a lone surrogate sent) becomes U+FFFD, as it would in UTF-8.
    const name = typeof claimed === 'string' ? claimed.trim().slice(0, MAX_NAME_CHARS).replace(/\p{Cs}/gu, '\uFFFD') : '';
    // The session ends when the token does, including the slack it was accepted with.
    return { id: sub, name: name.length > 0 ? name : sub, expiresAt: (exp + this.#skewS) * 1000 };
  }
}

function reject(reason: TokenRejection, message: string, retryAfterMs?: number): never {
  throw new TokenRejectedError(reason, message, retryAfterMs === undefined ? undefined : { retryAfterMs });
}

function decodeObject(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch (err) {
    throw new TokenRejectedError('malformed', `token malformed: its ${what} is not JSON`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) reject('malformed', `token malformed: its ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}
