import { describe, expect, it } from 'vitest';
import { newBotToken, silentLogger } from '@chat/platform';
import { UnauthorizedError } from '../errors.js';
import { type BotTokenBackend, BotTokenVerifier, authenticateBearer } from './bot-tokens.js';
import { HmacTokenAuthority } from './token-authority.js';

// What the verifier decides without the backend. Verification against the
// real query service and store, revocation and watch() included, is tested in
// deploy/src/roles/bot-tokens.test.ts.

/** A backend that must not be asked: these tokens are refused before any query. */
const unreachable: BotTokenBackend = {
  query: () => Promise.reject(new Error('the backend was queried')),
};

describe('BotTokenVerifier without the backend', () => {
  const verifier = new BotTokenVerifier(unreachable, silentLogger());

  it('refuses a token without the bot prefix, and one with it but the wrong shape, without a query', async () => {
    await expect(verifier.verify('eyJhbGciOiJIUzI1NiJ9.e30.sig')).rejects.toThrow(new UnauthorizedError('not a bot token'));
    await expect(verifier.verify('chatbot_short')).rejects.toThrow(new UnauthorizedError('bot token malformed'));
    await expect(verifier.verify(`${newBotToken()}=`)).rejects.toThrow(new UnauthorizedError('bot token malformed'));
  });

  it('authenticateBearer sends JWTs to the JWT verifier and bot tokens to the bot verifier', async () => {
    const jwt = new HmacTokenAuthority('a-secret-of-at-least-thirty-two-characters');
    const token = jwt.issue({ id: 'alice', name: 'Alice' }, 60);
    expect(await authenticateBearer(token, { jwt, bots: verifier })).toMatchObject({ id: 'alice', name: 'Alice' });
    expect(BotTokenVerifier.handles(token)).toBe(false);
    await expect(authenticateBearer('chatbot_short', { jwt, bots: verifier })).rejects.toThrow(/bot token malformed/);
    await expect(authenticateBearer('garbage', { jwt, bots: verifier })).rejects.toBeInstanceOf(UnauthorizedError);
  });
});
