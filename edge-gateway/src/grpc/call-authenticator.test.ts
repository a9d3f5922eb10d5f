import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { HmacTokenAuthority } from '../auth/token-authority.js';
import { BackendUnavailableError, UnauthorizedError } from '../errors.js';
import { BearerAuthenticator, bearerToken } from './call-authenticator.js';

const authority = new HmacTokenAuthority('call-authenticator-test-secret-0123456789');

function withAuthorization(value?: string): Metadata {
  const m = new Metadata();
  if (value !== undefined) m.set('authorization', value);
  return m;
}

describe('BearerAuthenticator', () => {
  it('accepts a user JWT from `authorization: Bearer`', async () => {
    const token = authority.issue({ id: 'alice', name: 'Alice' }, 60);
    const user = await new BearerAuthenticator([authority]).authenticate(withAuthorization(`Bearer ${token}`));
    expect(user).toMatchObject({ id: 'alice', name: 'Alice' });
  });

  it('refuses missing or malformed metadata, and a token no verifier accepts, with the first refusal', async () => {
    const auth = new BearerAuthenticator([authority, { verify: async () => Promise.reject(new UnauthorizedError('not a bot token')) }]);
    await expect(auth.authenticate(withAuthorization())).rejects.toThrow(/missing "authorization: Bearer <token>"/);
    await expect(auth.authenticate(withAuthorization('Basic abc'))).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(auth.authenticate(withAuthorization('Bearer nope'))).rejects.toThrow('token malformed or not acceptable');
  });

  it('asks the next verifier when one refuses, and fails with a verifier’s own error when it cannot answer', async () => {
    const bot = { verify: async (t: string) => (t === 'bot-secret' ? { id: 'summarizer', name: 'Summarizer', expiresAt: undefined } : Promise.reject(new UnauthorizedError('unknown bot'))) };
    expect(await new BearerAuthenticator([authority, bot]).authenticate(withAuthorization('Bearer bot-secret'))).toMatchObject({ id: 'summarizer' });
    const down = { verify: async () => Promise.reject(new BackendUnavailableError('timeout', 'no answer')) };
    await expect(new BearerAuthenticator([authority, down]).authenticate(withAuthorization('Bearer bot-secret'))).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('reads one Bearer token and nothing else', () => {
    expect(bearerToken(withAuthorization('bearer abc.def'))).toBe('abc.def');
    expect(bearerToken(withAuthorization('Bearer a b'))).toBeNull();
    expect(bearerToken(withAuthorization())).toBeNull();
  });
});
