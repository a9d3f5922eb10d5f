import { type JsonWebKey, type KeyObject, createPublicKey } from 'node:crypto';
import type { Logger } from '@chat/platform';
import { DEFAULT_FETCH_TIMEOUT_MS, fetchJson } from './fetch-json.js';
import { IdentityProviderError } from './token-rejection.js';

/** The asymmetric JWS algorithms verified with an identity provider's keys. */
export type PublicKeyAlg = 'RS256' | 'ES256' | 'EdDSA';

/** One public key of a key set, usable for exactly one algorithm (the one its type allows). */
export interface VerificationKey {
  kid: string | undefined;
  alg: PublicKeyAlg;
  key: KeyObject;
}

/** What the JWT verifier needs of a set of public keys: the keys now, and a way to ask for fresh ones. */
export interface PublicKeySource {
  /** The current keys; never waits. */
  keys(): readonly VerificationKey[];
  /**
   * A token named a key the set does not have: fetch the set again, rate
   * limited. Returns about how many ms until the fetched keys should be in.
   */
  refetchSoon(): number;
}

/** How often the key set is fetched again in the background (JWKS_REFRESH_S). */
export const DEFAULT_JWKS_REFRESH_MS = 10 * 60_000;
/** At most one fetch caused by unknown `kid`s per this window, so forged kids cannot make the gateway hammer the provider. */
export const DEFAULT_MIN_REFETCH_MS = 10_000;
/** Smallest RSA modulus accepted; shorter keys are skipped as unsafe. */
const MIN_RSA_BITS = 2048;
/** Keys used at most from one set; a provider publishes a handful. */
const MAX_KEYS = 100;

export interface JwksKeySetOptions {
  url: string;
  logger: Logger;
  refreshMs?: number;
  minRefetchMs?: number;
  fetchTimeoutMs?: number;
}

/**
 * An identity provider's JSON Web Key Set, fetched before use and kept in
 * memory so tokens are verified without waiting: refreshed every `refreshMs`
 * in the background, and fetched again when a token names an unknown key
 * (key rotation), at most once per `minRefetchMs` and one fetch at a time.
 * A fetch that fails, or yields no usable key, keeps the last good set and is
 * logged. Keys of other types, curves or algorithms than RS256, ES256
 * (P-256) and EdDSA (Ed25519), or marked for encryption, are skipped.
 */
export class JwksKeySet implements PublicKeySource {
  readonly #o: Required<JwksKeySetOptions>;
  #keys: readonly VerificationKey[] = [];
  #inFlight: Promise<void> | undefined;
  #lastRefetchAt = -Infinity;
  #deferred: ReturnType<typeof setTimeout> | undefined;
  #refreshTimer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  private constructor(options: JwksKeySetOptions) {
    this.#o = { refreshMs: DEFAULT_JWKS_REFRESH_MS, minRefetchMs: DEFAULT_MIN_REFETCH_MS, fetchTimeoutMs: DEFAULT_FETCH_TIMEOUT_MS, ...options };
  }

  /**
   * Fetches the key set and starts refreshing it. Rejects with
   * IdentityProviderError naming the URL when it cannot be fetched or has no
   * usable key: a gateway must not start unable to verify anyone.
   */
  static async load(options: JwksKeySetOptions): Promise<JwksKeySet> {
    const set = new JwksKeySet(options);
    set.#keys = await set.#fetch();
    set.#o.logger.info({ url: set.#o.url, kids: set.#keys.map((k) => k.kid ?? null) }, 'identity provider keys loaded');
    set.#refreshTimer = setInterval(() => set.#refresh('scheduled'), set.#o.refreshMs);
    set.#refreshTimer.unref();
    return set;
  }

  keys(): readonly VerificationKey[] {
    return this.#keys;
  }

  refetchSoon(): number {
    const landsWithin = this.#o.fetchTimeoutMs;
    if (this.#stopped || this.#inFlight) return landsWithin;
    const wait = this.#lastRefetchAt + this.#o.minRefetchMs - Date.now();
    if (wait <= 0) {
      this.#lastRefetchAt = Date.now();
      this.#refresh('unknown key');
      return landsWithin;
    }
    // Too soon after the last one: one fetch at the end of the window, however many unknown kids come meanwhile.
    this.#deferred ??= setTimeout(() => {
      this.#deferred = undefined;
      this.#lastRefetchAt = Date.now();
      this.#refresh('unknown key');
    }, wait);
    this.#deferred.unref();
    return wait + landsWithin;
  }

  /** Stops the background refreshes; the keys stay usable. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#refreshTimer);
    clearTimeout(this.#deferred);
    this.#deferred = undefined;
  }

  #refresh(why: string): void {
    if (this.#stopped || this.#inFlight) return;
    this.#inFlight = this.#fetch().then(
      (keys) => {
        const before = new Set(this.#keys.map((k) => k.kid));
        const added = keys.filter((k) => !before.has(k.kid)).map((k) => k.kid ?? null);
        if (added.length > 0 || keys.length !== this.#keys.length) {
          this.#o.logger.info({ url: this.#o.url, why, kids: keys.map((k) => k.kid ?? null), added }, 'identity provider keys changed');
        }
        this.#keys = keys;
      },
      (err: unknown) => this.#o.logger.warn({ err, url: this.#o.url, why, kept: this.#keys.length }, 'identity provider keys not refreshed; keeping the last good set'),
    );
    void this.#inFlight.finally(() => (this.#inFlight = undefined));
  }

  async #fetch(): Promise<VerificationKey[]> {
    const { url } = this.#o;
    const doc = await fetchJson(url, 'JSON Web Key Set', this.#o.fetchTimeoutMs);
    const jwks = (doc as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(jwks)) throw new IdentityProviderError(`the JSON Web Key Set at ${url} has no "keys" array`);
    const keys: VerificationKey[] = [];
    for (const jwk of jwks.slice(0, MAX_KEYS)) {
      const key = toVerificationKey(jwk);
      if (typeof key === 'string') this.#o.logger.debug({ url, kid: (jwk as { kid?: unknown })?.kid, skipped: key }, 'identity provider key skipped');
      else keys.push(key);
    }
    if (keys.length === 0) throw new IdentityProviderError(`the JSON Web Key Set at ${url} has no usable key (RS256, ES256 on P-256, or EdDSA on Ed25519)`);
    return keys;
  }
}

/** A JWK as a verification key, or why it cannot be one. */
export function toVerificationKey(value: unknown): VerificationKey | string {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const jwk = value as JsonWebKey & { kid?: unknown; use?: unknown; alg?: unknown };
  if (jwk.use !== undefined && jwk.use !== 'sig') return `use ${String(jwk.use)}`;
  const alg: PublicKeyAlg | undefined =
    jwk.kty === 'RSA' ? 'RS256' : jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256' : jwk.kty === 'OKP' && jwk.crv === 'Ed25519' ? 'EdDSA' : undefined;
  if (!alg) return `unsupported key type ${String(jwk.kty)}${jwk.crv ? ` on ${String(jwk.crv)}` : ''}`;
  // A key published for another algorithm (e.g. PS256) must not verify this one's signatures.
  if (jwk.alg !== undefined && jwk.alg !== alg) return `alg ${String(jwk.alg)}`;
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return 'kid is not a string';
  let key: KeyObject;
  try {
    // Only the public members: a set that wrongly carries private ones must not make us hold them.
    const { kty, n, e, crv, x, y } = jwk;
    key = createPublicKey({ key: { kty, n, e, crv, x, y } as JsonWebKey, format: 'jwk' });
  } catch (err) {
    return `unreadable: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (alg === 'RS256' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) return `RSA key under ${MIN_RSA_BITS} bits`;
  return { kid: jwk.kid, alg, key };
}
