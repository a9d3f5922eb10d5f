import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '@chat/platform';
import { capturingLogger } from '@chat/testkit/capturing-logger';
import { TestIdentityProvider } from '@chat/testkit/identity-provider';
import { JwksKeySet, toVerificationKey } from './jwks-key-set.js';
import { IdentityProviderError } from './token-rejection.js';

const kidsOf = (set: JwksKeySet) => set.keys().map((k) => k.kid);

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Polls on the event loop's check phase (setImmediate), so it works while timers are faked; the deadline is real. */
async function settle(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

/** Real time passing while timers are faked: room for a fetch that should not happen to show up at the provider. */
async function realPause(ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) await new Promise((r) => setImmediate(r));
}

describe('JwksKeySet', () => {
  let idp: TestIdentityProvider;
  const sets: JwksKeySet[] = [];
  const load = async (options: Partial<Parameters<typeof JwksKeySet.load>[0]> = {}) => {
    const set = await JwksKeySet.load({ url: idp.jwksUrl, logger: silentLogger(), ...options });
    sets.push(set);
    return set;
  };

  beforeEach(async () => {
    idp = await TestIdentityProvider.start();
  });
  afterEach(async () => {
    for (const s of sets.splice(0)) s.stop();
    await idp.stop();
  });

  it('loads the published keys of every supported type before use', async () => {
    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) idp.publish(idp.createKey(alg));
    const set = await load();
    expect(set.keys().map((k) => [k.kid, k.alg])).toEqual([
      ['rs256-1', 'RS256'],
      ['es256-2', 'ES256'],
      ['eddsa-3', 'EdDSA'],
    ]);
    expect(idp.requests.jwks).toBe(1);
  });

  it('fails to load, naming the URL, when the set cannot be fetched or has no usable key', async () => {
    idp.jwksStatus = 503;
    await expect(load()).rejects.toThrow(new IdentityProviderError(`cannot fetch the JSON Web Key Set from ${idp.jwksUrl}: HTTP 503`));
    idp.jwksStatus = undefined;
    await expect(load()).rejects.toThrow(`the JSON Web Key Set at ${idp.jwksUrl} has no usable key (RS256, ES256 on P-256, or EdDSA on Ed25519)`);
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    await expect(JwksKeySet.load({ url: `http://127.0.0.1:${closed}/jwks`, logger: silentLogger() })).rejects.toThrow(
      `cannot fetch the JSON Web Key Set from http://127.0.0.1:${closed}/jwks: ECONNREFUSED`,
    );
  });

  it('fetches again on an unknown kid, picking up a rotated key; at most one fetch in flight and one per window', async () => {
    idp.publish(idp.createKey('RS256', 'old'));
    const set = await load({ minRefetchMs: 1500 });
    // The window is judged on a faked clock, so a slow machine cannot stretch it; the fetches stay real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      idp.publish(idp.createKey('ES256', 'new'));
      // A burst of unknown kids: one fetch now...
      for (let i = 0; i < 50; i++) set.refetchSoon();
      await settle(() => kidsOf(set).includes('new'));
      expect(idp.requests.jwks).toBe(2);
      // ...then, within the window, however many more: one fetch at its end, not before.
      const waits = Array.from({ length: 50 }, () => set.refetchSoon());
      expect(Math.min(...waits)).toBeGreaterThan(0);
      await vi.advanceTimersByTimeAsync(1499);
      await realPause(300);
      expect(idp.requests.jwks).toBe(2);
      await vi.advanceTimersByTimeAsync(1);
      await settle(() => idp.requests.jwks === 3);
      // No unknown kid since: no more fetches, however long.
      await vi.advanceTimersByTimeAsync(5000);
      await realPause(300);
      expect(idp.requests.jwks).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refreshes in the background, and keeps the last good set (logging it) when a refresh fails', async () => {
    const { logger, lines } = capturingLogger();
    const old = idp.createKey('EdDSA', 'old');
    idp.publish(old);
    const set = await load({ refreshMs: 200, logger });
    idp.jwksStatus = 500;
    await until(() => lines.some((l) => l.msg === 'identity provider keys not refreshed; keeping the last good set'));
    expect(kidsOf(set)).toEqual(['old']);
    idp.jwksStatus = undefined;
    idp.unpublish(old);
    idp.publish(idp.createKey('EdDSA', 'next'));
    // A key the provider withdrew is gone after the next refresh.
    await until(() => kidsOf(set).join() === 'next');
    set.stop();
    // A fetch already under way when it stopped may still land; none starts after.
    await new Promise((r) => setTimeout(r, 300));
    const served = idp.requests.jwks;
    await new Promise((r) => setTimeout(r, 600));
    expect(idp.requests.jwks).toBe(served);
  });

  it('skips keys it must not use: encryption keys, other algorithms or curves, short RSA, symmetric', async () => {
    const rsa = idp.createKey('RS256');
    const jwk = rsa.publicKey.export({ format: 'jwk' });
    expect(toVerificationKey({ ...jwk, kid: 'a' })).toMatchObject({ kid: 'a', alg: 'RS256' });
    expect(toVerificationKey({ ...jwk, use: 'enc' })).toBe('use enc');
    expect(toVerificationKey({ ...jwk, alg: 'PS256' })).toBe('alg PS256');
    expect(toVerificationKey({ kty: 'oct', k: 'c2VjcmV0' })).toBe('unsupported key type oct');
    expect(toVerificationKey({ kty: 'EC', crv: 'P-384', x: 'x', y: 'y' })).toBe('unsupported key type EC on P-384');
    const { generateKeyPairSync } = await import('node:crypto');
    const short = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    expect(toVerificationKey(short)).toBe('RSA key under 2048 bits');
  });
});
