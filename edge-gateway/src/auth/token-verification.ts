import type { Logger } from '@chat/platform';
import { JwksKeySet } from './jwks-key-set.js';
import { JwtVerifier } from './jwt-verifier.js';
import { discoverJwksUri } from './oidc-discovery.js';

/** The gateway settings that decide which tokens it accepts (see gatewayEnvSchema). */
export interface TokenSettings {
  JWKS_URL?: string | undefined;
  OIDC_ISSUER?: string | undefined;
  JWT_ISSUER?: string | undefined;
  JWT_AUDIENCE?: string | undefined;
  TOKEN_MAX_TTL_S: number;
  JWT_CLOCK_SKEW_S: number;
  JWT_NAME_CLAIM: string;
  JWKS_REFRESH_S: number;
}

/** A gateway's token verifier, with the background work it needs stopped with the gateway. */
export interface TokenVerification {
  verifier: JwtVerifier;
  /** The `iss` every token must carry, if any (JWT_ISSUER, else OIDC_ISSUER): dev login puts it in its tokens. */
  issuer: string | undefined;
  audience: string | undefined;
  /** Stops refreshing the identity provider's keys. */
  stop(): void;
}

/**
 * Builds the verifier a gateway uses at the WebSocket upgrade and for gRPC
 * calls alike. HS256 tokens are accepted when `hmacSecret` is given; RS256,
 * ES256 and EdDSA tokens when an identity provider is configured, whose keys
 * are fetched here, before the gateway listens (OIDC_ISSUER: through its
 * discovery document). Rejects with IdentityProviderError naming the URL
 * when they cannot be fetched.
 */
export async function startTokenVerification(options: { settings: TokenSettings; hmacSecret: string | undefined; logger: Logger }): Promise<TokenVerification> {
  const { settings: s, logger } = options;
  const jwksUrl = s.JWKS_URL ?? (s.OIDC_ISSUER === undefined ? undefined : await discoverJwksUri(s.OIDC_ISSUER));
  const keys = jwksUrl === undefined ? undefined : await JwksKeySet.load({ url: jwksUrl, logger, refreshMs: s.JWKS_REFRESH_S * 1000 });
  // Tokens of an OpenID provider name it as their issuer: anything else did not come from it.
  const issuer = s.JWT_ISSUER ?? s.OIDC_ISSUER;
  const verifier = new JwtVerifier({
    hmacSecret: options.hmacSecret,
    publicKeys: keys,
    issuer,
    audience: s.JWT_AUDIENCE,
    maxTtlS: s.TOKEN_MAX_TTL_S,
    clockSkewS: s.JWT_CLOCK_SKEW_S,
    nameClaim: s.JWT_NAME_CLAIM,
  });
  return { verifier, issuer, audience: s.JWT_AUDIENCE, stop: () => keys?.stop() };
}
