import { DEFAULT_FETCH_TIMEOUT_MS, fetchJson } from './fetch-json.js';
import { IdentityProviderError } from './token-rejection.js';

/** The discovery document's address for an OpenID Connect issuer (OpenID Connect Discovery 1.0, section 4). */
export function discoveryUrlOf(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * Reads the issuer's discovery document and returns its `jwks_uri`. The
 * document's `issuer` must be exactly `issuer` (as the specification
 * requires), so a mistyped or impersonated issuer fails here, at start, and
 * not at every login. Throws IdentityProviderError naming the URL and the problem.
 */
export async function discoverJwksUri(issuer: string, timeoutMs = DEFAULT_FETCH_TIMEOUT_MS): Promise<string> {
  const url = discoveryUrlOf(issuer);
  const doc = await fetchJson(url, 'OpenID Connect discovery document', timeoutMs);
  if (typeof doc !== 'object' || doc === null) throw new IdentityProviderError(`the discovery document at ${url} is not a JSON object`);
  const { issuer: stated, jwks_uri: jwksUri } = doc as { issuer?: unknown; jwks_uri?: unknown };
  if (stated !== issuer) {
    throw new IdentityProviderError(`the discovery document at ${url} names issuer ${JSON.stringify(stated)}, not OIDC_ISSUER ${JSON.stringify(issuer)}`);
  }
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri) || !/^https?:$/.test(new URL(jwksUri).protocol)) {
    throw new IdentityProviderError(`the discovery document at ${url} has no http(s) jwks_uri (got ${JSON.stringify(jwksUri)})`);
  }
  return jwksUri;
}
