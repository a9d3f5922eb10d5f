import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../errors.js';
import { devUserIdFor, extractToken, HmacTokenAuthority } from './token-authority.js';

const SECRET = 'test-secret-that-is-long-enough-for-hs256';
const authority = new HmacTokenAuthority(SECRET);

/** A token signed with `secret` carrying exactly `claims` (for shapes issue() never makes). */
function sign(claims: Record<string, unknown>, secret = SECRET, alg: jwt.Algorithm = 'HS256'): string {
  return jwt.sign(claims, secret, { algorithm: alg, noTimestamp: true });
}

function rejection(token: string, by: HmacTokenAuthority = authority): UnauthorizedError {
  let err: unknown = null;
  try {
    by.verify(token);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UnauthorizedError);
  expect((err as UnauthorizedError).code).toBe('unauthorized');
  return err as UnauthorizedError;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

describe('HmacTokenAuthority', () => {
  it('verifies the tokens it issues', async () => {
    const before = Date.now();
    const token = authority.issue({ id: 'alice', name: 'Alice Smith' }, 3600);
    const user = authority.verify(token);
    expect(user.id).toBe('alice');
    expect(user.name).toBe('Alice Smith');
    // exp has one-second resolution; the session lasts until exp plus the clock-skew allowance (30 s).
    expect(user.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3600_000 + 30_000);
    expect(user.expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000 + 30_000);
  });

  it('verifies a token issued by another authority with the same secret', async () => {
    const token = new HmacTokenAuthority(SECRET).issue({ id: 'bob', name: 'Bob' }, 60);
    expect((authority.verify(token)).id).toBe('bob');
  });

  it('refuses an expired token', async () => {
    const token = sign({ sub: 'alice', name: 'Alice', exp: nowSeconds() - 60 });
    expect((rejection(token)).message).toBe('token expired');
  });

  it('refuses a token signed with another secret', async () => {
    const token = new HmacTokenAuthority('some-other-secret-of-decent-length').issue({ id: 'alice', name: 'Alice' }, 3600);
    expect((rejection(token)).message).toBe('token signature invalid');
  });

  it('refuses a token whose payload was altered', async () => {
    const token = authority.issue({ id: 'alice', name: 'Alice' }, 3600);
    const [header, , signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'mallory', name: 'M', exp: nowSeconds() + 3600 })).toString('base64url');
    expect((rejection(`${header}.${forged}.${signature}`)).message).toBe('token signature invalid');
  });

  it.each(['', 'garbage', 'a.b.c', 'eyJhbGciOiJIUzI1NiJ9.e30', 'not a token at all'])('refuses garbage %j', async (token) => {
    expect((rejection(token)).message).toMatch(/^token malformed: /);
  });

  it('refuses an unsigned (alg none) or differently signed token', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'alice', exp: nowSeconds() + 60 })).toString('base64url');
    expect((rejection(`${header}.${payload}.`)).message).toBe('token alg "none" is not accepted (RS256, ES256, EdDSA, HS256)');
    const hs512 = sign({ sub: 'alice', exp: nowSeconds() + 60 }, SECRET + SECRET, 'HS512');
    expect((rejection(hs512)).message).toBe('token alg "HS512" is not accepted (RS256, ES256, EdDSA, HS256)');
  });

  it.each([['a.b'], ['a b'], [''], ['x'.repeat(65)], ['ünï']])('refuses sub %j, which is not a valid user id', async (sub) => {
    const token = authority.issue({ id: sub, name: 'N' }, 60);
    expect((rejection(token)).message).toBe('token subject is not a valid user id');
  });

  it('refuses a token without a sub', async () => {
    const token = sign({ name: 'Nobody', exp: nowSeconds() + 60 });
    expect((rejection(token)).message).toBe('token subject is not a valid user id');
  });

  it('uses sub as the name when the name is missing or blank, and trims and caps it', async () => {
    expect((authority.verify(sign({ sub: 'carol', exp: nowSeconds() + 60 }))).name).toBe('carol');
    expect((authority.verify(sign({ sub: 'carol', name: 42, exp: nowSeconds() + 60 }))).name).toBe('carol');
    expect((authority.verify(authority.issue({ id: 'carol', name: '   ' }, 60))).name).toBe('carol');
    expect((authority.verify(authority.issue({ id: 'carol', name: '  Carol  ' }, 60))).name).toBe('Carol');
    expect((authority.verify(authority.issue({ id: 'carol', name: 'x'.repeat(300) }, 60))).name).toBe('x'.repeat(100));
  });

  it('refuses a token without exp, or with an exp further ahead than the longest lifetime (30 days)', async () => {
    expect(rejection(sign({ sub: 'dave' })).message).toBe('token has no exp: every token must say when it expires');
    expect(rejection(sign({ sub: 'dave', exp: 1e20 })).message).toMatch(/^token exp too far ahead: .* more than TOKEN_MAX_TTL_S \(2592000 s\)$/);
    expect(authority.verify(sign({ sub: 'dave', exp: nowSeconds() + 29 * 24 * 3600 })).id).toBe('dave');
  });

  it('puts iss and aud in its tokens when it has them, so they pass the same checks', async () => {
    const strict = new HmacTokenAuthority(SECRET, { issuer: 'https://chat.example', audience: 'chat' });
    expect(strict.verify(strict.issue({ id: 'erin', name: 'Erin' }, 60)).id).toBe('erin');
    expect(rejection(authority.issue({ id: 'erin', name: 'Erin' }, 60), strict).message).toBe('token issuer null is not the expected "https://chat.example"');
  });
});

describe('devUserIdFor', () => {
  it.each([
    ['alice', 'alice'],
    ['Alice Smith', 'alice-smith'],
    ['  Alice   Smith  ', 'alice-smith'],
    ['Ünïcode', 'unicode'],
    ['José Álvarez', 'jose-alvarez'],
    ['bob_2-x', 'bob_2-x'],
    ['bot-x', 'bot-x'],
    ['robot_1', 'robot_1'],
    ['a.b*c>d', 'a-b-c-d'],
    ['--dash--', 'dash'],
    ['Ｆｕｌｌｗｉｄｔｈ', 'fullwidth'],
  ])('%j → %j', (name, id) => {
    expect(devUserIdFor(name)).toBe(id);
  });

  // The last three would be bot ids: reserved, so no one signs in as a bot.
  it.each(['', '  ', '---', '!!!', '日本語', 'bot_3f9c0a1e2b4d6f70', 'BOT_x', ' bot_'])('%j → null', (name) => {
    expect(devUserIdFor(name)).toBeNull();
  });

  it('caps the id at 64 characters', () => {
    expect(devUserIdFor('x'.repeat(100))).toBe('x'.repeat(64));
  });

  it('gives the same name the same id', () => {
    expect(devUserIdFor('Alice Smith')).toBe(devUserIdFor('alice smith'));
  });
});

describe('extractToken', () => {
  it('takes a bearer token from the Authorization header', () => {
    expect(extractToken('Bearer abc.def.ghi', undefined)).toBe('abc.def.ghi');
    expect(extractToken('bearer   abc ', '')).toBe('abc');
  });

  it('prefers the header over the query', () => {
    expect(extractToken('Bearer from-header', 'token=from-query')).toBe('from-header');
  });

  it('falls back to ?token= when the header is absent or not a bearer token', () => {
    expect(extractToken('', 'token=from-query')).toBe('from-query');
    expect(extractToken('Basic dXNlcjpwYXNz', 'a=1&token=from-query&b=2')).toBe('from-query');
    expect(extractToken('Bearer', 'token=q')).toBe('q');
    expect(extractToken('', 'token=a%2Bb%3D')).toBe('a+b=');
  });

  it('returns null when there is no token anywhere', () => {
    expect(extractToken('', undefined)).toBeNull();
    expect(extractToken('', '')).toBeNull();
    expect(extractToken('', 'token=')).toBeNull();
    expect(extractToken('Bearer two words', 'other=1')).toBeNull();
  });
});
