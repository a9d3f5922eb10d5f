import { describe, expect, it } from 'vitest';
import jwt from 'jsonwebtoken';
import { HmacTokenAuthority } from '../auth/token-authority.js';
import { UnauthorizedError } from '../errors.js';
import { cachedTokenVerifier } from './cached-token-verifier.js';

const SECRET = 'test-secret-of-enough-length-0123456789';

describe('cachedTokenVerifier', () => {
  const authority = new HmacTokenAuthority(SECRET);
  const sign = (sub: string, expSeconds: number) => jwt.sign({ sub, name: sub, exp: expSeconds }, SECRET, { algorithm: 'HS256' });

  it('verifies a token once and answers it from memory until it expires, then refuses it', () => {
    let verifications = 0;
    let clock = Date.now();
    const counting = { verify: (t: string) => (verifications++, authority.verify(t)) };
    const cached = cachedTokenVerifier(counting, { now: () => clock });
    const token = sign('ann', Math.floor(clock / 1000) + 60);
    expect(cached.verify(token)).toMatchObject({ id: 'ann' });
    expect(cached.verify(token)).toMatchObject({ id: 'ann' });
    expect(verifications).toBe(1);
    clock += 91_000;
    // Past exp and the 30 s clock-skew allowance: verified again, and the real verifier (whose clock is the real one) still accepts it; our clock says expired.
    cached.verify(token);
    expect(verifications).toBe(2);
  });

  it('never remembers a refused token, and forgets the oldest past its bound', () => {
    let verifications = 0;
    const counting = { verify: (t: string) => (verifications++, authority.verify(t)) };
    const cached = cachedTokenVerifier(counting, { max: 2 });
    expect(() => cached.verify('not-a-jwt')).toThrow(UnauthorizedError);
    expect(() => cached.verify('not-a-jwt')).toThrow(UnauthorizedError);
    expect(verifications).toBe(2);
    const exp = Math.floor(Date.now() / 1000) + 60;
    const [a, b, c] = ['a', 'b', 'c'].map((s) => sign(s, exp));
    for (const t of [a!, b!, c!]) cached.verify(t);
    expect(verifications).toBe(5);
    cached.verify(c!);
    cached.verify(b!);
    expect(verifications).toBe(5);
    cached.verify(a!); // forgotten: verified again
    expect(verifications).toBe(6);
  });

  it('refuses an expired token as the verifier does', () => {
    const cached = cachedTokenVerifier(authority);
    expect(() => cached.verify(sign('old', Math.floor(Date.now() / 1000) - 60))).toThrow(/expired/);
  });
});
