import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@chat/platform';
import { type TestKey, TestIdentityProvider, claimsFor, signHs256, unsignedJwt } from '@chat/testkit/identity-provider';
import { JwksKeySet } from './jwks-key-set.js';
import { JwtVerifier, type JwtVerifierOptions } from './jwt-verifier.js';
import { type TokenRejection, TokenRejectedError } from './token-rejection.js';

const SECRET = 'jwt-verifier-test-secret-0123456789abcdef';
const nowS = () => Math.floor(Date.now() / 1000);

describe('JwtVerifier with an identity provider', () => {
  let idp: TestIdentityProvider;
  let keys: JwksKeySet;
  let rsa: TestKey, ec: TestKey, ed: TestKey;

  beforeAll(async () => {
    idp = await TestIdentityProvider.start();
    rsa = idp.createKey('RS256');
    ec = idp.createKey('ES256');
    ed = idp.createKey('EdDSA');
    for (const k of [rsa, ec, ed]) idp.publish(k);
    keys = await JwksKeySet.load({ url: idp.jwksUrl, logger: silentLogger() });
  });
  afterAll(async () => {
    keys.stop();
    await idp.stop();
  });

  const verifier = (options: Partial<JwtVerifierOptions> = {}) => new JwtVerifier({ publicKeys: keys, ...options });

  /** The reason and message a token is refused with. */
  function refusal(v: JwtVerifier, token: string): { reason: TokenRejection; message: string } {
    try {
      v.verify(token);
    } catch (err) {
      expect(err).toBeInstanceOf(TokenRejectedError);
      return { reason: (err as TokenRejectedError).reason, message: (err as Error).message };
    }
    throw new Error('the token was accepted');
  }

  it.each(['RS256', 'ES256', 'EdDSA'] as const)('accepts a %s token signed with a published key', (alg) => {
    const key = { RS256: rsa, ES256: ec, EdDSA: ed }[alg];
    const user = verifier().verify(idp.sign(key, claimsFor('alice', { name: 'Alice A.' })));
    expect(user).toMatchObject({ id: 'alice', name: 'Alice A.' });
    expect(user.expiresAt).toBeGreaterThan(Date.now());
  });

  it('takes the display name from JWT_NAME_CLAIM, else the subject', () => {
    const v = verifier({ nameClaim: 'preferred_username' });
    expect(v.verify(idp.sign(rsa, claimsFor('bob', { name: 'x', preferred_username: 'Bobby' }))).name).toBe('Bobby');
    expect(v.verify(idp.sign(rsa, claimsFor('bob', { name: 'x' }))).name).toBe('bob');
  });

  it('keeps a display name to 100 UTF-16 units of well-formed text', () => {
    const name = (claim: string) => verifier().verify(idp.sign(rsa, claimsFor('dana', { name: claim }))).name;
    // 99 units then an emoji: the cut falls inside the pair, whose half must not survive alone.
    expect(name('a'.repeat(99) + '\u{1F600}')).toBe('a'.repeat(99) + '\uFFFD');
    expect(name('x\ud800y')).toBe('x\uFFFDy');
    expect(name('\u{1F600}'.repeat(50))).toBe('\u{1F600}'.repeat(50));
  });

  it('refuses a token without exp, or with exp beyond the longest lifetime (exp=1e20)', () => {
    expect(refusal(verifier(), idp.sign(rsa, { sub: 'carol' })).reason).toBe('exp_missing');
    expect(refusal(verifier(), idp.sign(rsa, { sub: 'carol', exp: 1e20 })).reason).toBe('exp_too_far');
    const short = verifier({ maxTtlS: 3600 });
    expect(refusal(short, idp.sign(rsa, claimsFor('carol', {}, 7200)))).toMatchObject({ reason: 'exp_too_far', message: expect.stringContaining('TOKEN_MAX_TTL_S (3600 s)') });
    expect(short.verify(idp.sign(rsa, claimsFor('carol', {}, 3000))).id).toBe('carol');
  });

  it('refuses an expired token and one not yet valid, allowing the clock skew', () => {
    expect(refusal(verifier(), idp.sign(rsa, { sub: 'dan', exp: nowS() - 60 })).reason).toBe('expired');
    expect(verifier().verify(idp.sign(rsa, { sub: 'dan', exp: nowS() - 10 })).id).toBe('dan');
    expect(refusal(verifier({ clockSkewS: 0 }), idp.sign(rsa, { sub: 'dan', exp: nowS() - 10 })).reason).toBe('expired');
    expect(refusal(verifier(), idp.sign(rsa, claimsFor('dan', { nbf: nowS() + 120 }))).reason).toBe('not_yet_valid');
    expect(verifier().verify(idp.sign(rsa, claimsFor('dan', { nbf: nowS() + 10 }))).id).toBe('dan');
  });

  it('enforces the issuer and the audience (a string or an array) when set', () => {
    const v = verifier({ issuer: idp.issuer, audience: 'chat' });
    expect(v.verify(idp.sign(ec, claimsFor('erin', { iss: idp.issuer, aud: 'chat' }))).id).toBe('erin');
    expect(v.verify(idp.sign(ec, claimsFor('erin', { iss: idp.issuer, aud: ['other', 'chat'] }))).id).toBe('erin');
    expect(refusal(v, idp.sign(ec, claimsFor('erin', { iss: 'https://evil.example', aud: 'chat' })))).toMatchObject({
      reason: 'wrong_issuer',
      message: `token issuer "https://evil.example" is not the expected ${JSON.stringify(idp.issuer)}`,
    });
    expect(refusal(v, idp.sign(ec, claimsFor('erin', { iss: idp.issuer, aud: ['other'] }))).reason).toBe('wrong_audience');
    expect(refusal(v, idp.sign(ec, claimsFor('erin', { iss: idp.issuer }))).reason).toBe('wrong_audience');
  });

  it('refuses alg none, HS256 "signed" with a public key, and an alg that does not fit its key', () => {
    expect(refusal(verifier(), unsignedJwt(claimsFor('mallory')))).toMatchObject({ reason: 'unsupported_alg', message: 'token alg "none" is not accepted (RS256, ES256, EdDSA)' });
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
    // Without JWT_SECRET, HS256 is not accepted at all; with one, only that secret verifies it.
    expect(refusal(verifier(), signHs256(pem, claimsFor('mallory'), { kid: rsa.kid })).reason).toBe('unsupported_alg');
    expect(refusal(verifier({ hmacSecret: SECRET }), signHs256(pem, claimsFor('mallory'), { kid: rsa.kid })).reason).toBe('bad_signature');
    // An ES256 signature presented as coming from the RSA key (and the reverse) is refused for its alg.
    expect(refusal(verifier(), idp.sign(ec, claimsFor('mallory'), { kid: rsa.kid })).reason).toBe('unsupported_alg');
    expect(refusal(verifier(), idp.sign(rsa, claimsFor('mallory'), { alg: 'EdDSA' })).reason).toBe('unsupported_alg');
    expect(refusal(verifier(), idp.sign(rsa, claimsFor('mallory'), { crit: ['b64'], b64: false })).reason).toBe('malformed');
    // PS256, RS512, ...: never.
    expect(refusal(verifier(), idp.sign(rsa, claimsFor('mallory'), { alg: 'PS256' })).reason).toBe('unsupported_alg');
  });

  it('refuses a token whose payload was altered, or signed by a key with a published kid it does not own', () => {
    const token = idp.sign(ed, claimsFor('frank'));
    const [h, , s] = token.split('.');
    const forged = Buffer.from(JSON.stringify(claimsFor('admin'))).toString('base64url');
    expect(refusal(verifier(), `${h}.${forged}.${s}`).reason).toBe('bad_signature');
    const impostor = idp.createKey('EdDSA', 'impostor');
    expect(refusal(verifier(), idp.sign(impostor, claimsFor('frank'), { kid: ed.kid })).reason).toBe('bad_signature');
  });

  it('accepts HS256 next to the provider only with a secret, and the provider tokens alongside', () => {
    const both = verifier({ hmacSecret: SECRET });
    expect(both.verify(signHs256(SECRET, claimsFor('gina'))).id).toBe('gina');
    expect(both.verify(idp.sign(rsa, claimsFor('gina'))).id).toBe('gina');
    expect(refusal(verifier(), signHs256(SECRET, claimsFor('gina')))).toMatchObject({
      reason: 'unsupported_alg',
      message: 'token alg HS256 is not accepted: this gateway has no JWT_SECRET (sign tokens with the identity provider)',
    });
    expect(refusal(new JwtVerifier({ hmacSecret: SECRET }), idp.sign(rsa, claimsFor('gina'))).reason).toBe('unsupported_alg');
  });

  it('refuses a token with a sub that is not a valid user id', () => {
    expect(refusal(verifier(), idp.sign(rsa, claimsFor('a.b'))).reason).toBe('bad_subject');
    expect(refusal(verifier(), idp.sign(rsa, { exp: nowS() + 60 })).reason).toBe('bad_subject');
  });

  it('refuses an unknown kid as retryable unknown_key', () => {
    const unknown = idp.createKey('RS256', 'not-published-yet');
    let err: unknown;
    try {
      verifier().verify(idp.sign(unknown, claimsFor('hank')));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TokenRejectedError);
    expect((err as TokenRejectedError).reason).toBe('unknown_key');
    expect((err as TokenRejectedError).retryable).toBe(true);
    expect((err as TokenRejectedError).retryAfterMs).toBeGreaterThan(0);
    expect((err as Error).message).toMatch(/^token key "not-published-yet" is unknown: fetching the identity provider's keys again, retry in \d+ s$/);
  });
});
