import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { HmacTokenAuthority } from '../auth/token-authority.js';
import { BackendUnavailableError, UnauthorizedError } from '../errors.js';
import { BearerAuthenticator, type CallTokenVerifier, bearerToken } from './call-authenticator.js';

// No clock-skew allowance: a JWT call's watch then fires right at exp.
const authority = new HmacTokenAuthority('call-authenticator-test-secret-0123456789', { clockSkewS: 0 });

function withAuthorization(value?: string): Metadata {
  const m = new Metadata();
  if (value !== undefined) m.set('authorization', value);
  return m;
}

/** A verifier of `bot-<name>` tokens, claimed by prefix, whose watch reports what it was asked. */
function fakeBots(revoked = new Set<string>()): CallTokenVerifier & { watched: string[] } {
  const watched: string[] = [];
  return {
    watched,
    handles: (t) => t.startsWith('bot-'),
    verify: async (t) => (revoked.has(t) ? Promise.reject(new UnauthorizedError('bot token revoked')) : { id: t, name: t, expiresAt: undefined }),
    watch: (t, onRevoked) => {
      watched.push(t);
      if (revoked.has(t)) onRevoked(new UnauthorizedError('bot token revoked'));
      return { stop: () => {} };
    },
  };
}

describe('BearerAuthenticator', () => {
  it('accepts a user JWT from `authorization: Bearer`', async () => {
    const token = authority.issue({ id: 'alice', name: 'Alice' }, 60);
    const { user } = await new BearerAuthenticator([authority]).authenticate(withAuthorization(`Bearer ${token}`));
    expect(user).toMatchObject({ id: 'alice', name: 'Alice' });
  });

  it('refuses missing or malformed metadata, and a token no verifier accepts, with the first refusal', async () => {
    const auth = new BearerAuthenticator([authority, { verify: async () => Promise.reject(new UnauthorizedError('not that kind either')) }]);
    await expect(auth.authenticate(withAuthorization())).rejects.toThrow(/missing "authorization: Bearer <token>"/);
    await expect(auth.authenticate(withAuthorization('Basic abc'))).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(auth.authenticate(withAuthorization('Bearer nope'))).rejects.toThrow('token malformed: not a JWT');
  });

  it('asks only the verifier that claims a token, so its refusal is the one reported', async () => {
    const auth = new BearerAuthenticator([authority, fakeBots(new Set(['bot-old']))]);
    expect((await auth.authenticate(withAuthorization('Bearer bot-new'))).user).toMatchObject({ id: 'bot-new' });
    await expect(auth.authenticate(withAuthorization('Bearer bot-old'))).rejects.toThrow('bot token revoked');
  });

  it('fails with a verifier’s own error when it cannot answer', async () => {
    const down: CallTokenVerifier = { handles: () => true, verify: async () => Promise.reject(new BackendUnavailableError('timeout', 'no answer')) };
    await expect(new BearerAuthenticator([authority, down]).authenticate(withAuthorization('Bearer x'))).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('watches a long-lived call with the accepting verifier, or until a JWT expires', async () => {
    const revoked = new Set<string>();
    const bots = fakeBots(revoked);
    const auth = new BearerAuthenticator([authority, bots]);
    const call = await auth.authenticate(withAuthorization('Bearer bot-a'));
    revoked.add('bot-a');
    const reasons: string[] = [];
    call.watch((err) => reasons.push(err.message));
    expect(bots.watched).toEqual(['bot-a']);
    expect(reasons).toEqual(['bot token revoked']);

    const shortLived = authority.issue({ id: 'bob', name: 'Bob' }, 1);
    const jwtCall = await auth.authenticate(withAuthorization(`Bearer ${shortLived}`));
    const expired = await new Promise<string>((resolve) => jwtCall.watch((err) => resolve(err.message)));
    expect(expired).toBe('token expired');
  });

  it('reads one Bearer token and nothing else', () => {
    expect(bearerToken(withAuthorization('bearer abc.def'))).toBe('abc.def');
    expect(bearerToken(withAuthorization('Bearer a b'))).toBeNull();
    expect(bearerToken(withAuthorization())).toBeNull();
  });
});
