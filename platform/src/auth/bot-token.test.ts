import { describe, expect, it } from 'vitest';
import { BOT_TOKEN_PREFIX, botTokenHash, isBotTokenHash, isWellFormedBotToken, looksLikeBotToken, newBotToken } from './bot-token.js';

describe('bot tokens', () => {
  it('are the prefix and 256 random bits, different every time', () => {
    const a = newBotToken();
    const b = newBotToken();
    expect(a.startsWith(BOT_TOKEN_PREFIX)).toBe(true);
    expect(Buffer.from(a.slice(BOT_TOKEN_PREFIX.length), 'base64url')).toHaveLength(32);
    expect(isWellFormedBotToken(a)).toBe(true);
    expect(a).not.toBe(b);
  });

  it('are told from JWTs and malformed tokens', () => {
    expect(looksLikeBotToken('eyJhbGciOiJIUzI1NiJ9.e30.x')).toBe(false);
    expect(looksLikeBotToken('chatbot_short')).toBe(true);
    expect(isWellFormedBotToken('chatbot_short')).toBe(false);
    expect(isWellFormedBotToken(`${newBotToken()}x`)).toBe(false);
  });

  it('hash to the SHA-256 of the whole token in hex', () => {
    // sha256("chatbot_x"), computed independently with `printf chatbot_x | sha256sum`.
    expect(botTokenHash('chatbot_x')).toBe(EXPECTED_HASH);
    expect(isBotTokenHash(botTokenHash(newBotToken()))).toBe(true);
    expect(isBotTokenHash('ABC')).toBe(false);
  });
});

const EXPECTED_HASH = '9a9c45e66eb61adf429b86063c7913e6354807aa5a35830f7406bbff93d93951';
