import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@chat/platform';
import { TestIdentityProvider, claimsFor } from '@chat/testkit/identity-provider';
import { discoverJwksUri, discoveryUrlOf } from './oidc-discovery.js';
import { startTokenVerification } from './token-verification.js';
import { TokenRejectedError } from './token-rejection.js';

const SETTINGS = { TOKEN_MAX_TTL_S: 3600, JWT_CLOCK_SKEW_S: 30, JWT_NAME_CLAIM: 'name', JWKS_REFRESH_S: 600 };

describe('OpenID Connect discovery', () => {
  let idp: TestIdentityProvider;
  beforeAll(async () => {
    idp = await TestIdentityProvider.start();
  });
  afterAll(() => idp.stop());

  it('finds the JWKS through <issuer>/.well-known/openid-configuration, with or without a trailing slash', async () => {
    expect(discoveryUrlOf('https://id.example/realms/a/')).toBe('https://id.example/realms/a/.well-known/openid-configuration');
    expect(await discoverJwksUri(idp.issuer)).toBe(idp.jwksUrl);
    expect(idp.requests.discovery).toBe(1);
  });

  it('refuses a document that names another issuer, or no jwks_uri', async () => {
    idp.discoveryOverrides = { issuer: 'https://impostor.example' };
    await expect(discoverJwksUri(idp.issuer)).rejects.toThrow(
      `the discovery document at ${idp.issuer}/.well-known/openid-configuration names issuer "https://impostor.example", not OIDC_ISSUER "${idp.issuer}"`,
    );
    idp.discoveryOverrides = { jwks_uri: 'file:///etc/passwd' };
    await expect(discoverJwksUri(idp.issuer)).rejects.toThrow('has no http(s) jwks_uri (got "file:///etc/passwd")');
    idp.discoveryOverrides = {};
  });

  it('gives a verifier that takes the issuer\'s keys and requires its iss unless JWT_ISSUER says otherwise', async () => {
    const key = idp.createKey('ES256');
    idp.publish(key);
    const tokens = await startTokenVerification({ settings: { ...SETTINGS, OIDC_ISSUER: idp.issuer }, hmacSecret: undefined, logger: silentLogger() });
    try {
      expect(tokens.issuer).toBe(idp.issuer);
      expect(tokens.verifier.verify(idp.sign(key, claimsFor('ivy', { iss: idp.issuer }))).id).toBe('ivy');
      let err: unknown;
      try {
        tokens.verifier.verify(idp.sign(key, claimsFor('ivy')));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TokenRejectedError);
      expect((err as TokenRejectedError).reason).toBe('wrong_issuer');
    } finally {
      tokens.stop();
    }
  });
});
