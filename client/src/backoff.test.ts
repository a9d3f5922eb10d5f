import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';
import { tokenExpired } from './connection.js';

describe('backoffDelay', () => {
  it('doubles per attempt, stays between half and all of the nominal delay, and caps', () => {
    const opts = { baseMs: 500, maxMs: 30_000 };
    expect(backoffDelay(0, opts, () => 0)).toBe(250);
    expect(backoffDelay(0, opts, () => 1)).toBe(500);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(3_000);
    expect(backoffDelay(50, opts, () => 1)).toBe(30_000);
    expect(backoffDelay(50, opts, () => 0)).toBe(15_000);
  });
});

describe('tokenExpired', () => {
  const token = (payload: object) => `h.${btoa(JSON.stringify(payload)).replace(/=+$/, '')}.s`;
  it('reads exp from the JWT payload', () => {
    expect(tokenExpired(token({ exp: 100 }), 200_000)).toBe(true);
    expect(tokenExpired(token({ exp: 300 }), 200_000)).toBe(false);
    expect(tokenExpired('not-a-jwt')).toBe(false);
  });
});
